"""Appointment slots and bookings (预约办事): publishing, the one-time code, capacity under a row lock,
cancellation by the resident and by the police room (with text messages after commit)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.core import sms
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.portal import phones, services
from doorstep.portal.choices import Kind, Status, VerificationPurpose
from doorstep.portal.models import AppointmentSlot, Submission
from doorstep.portal.tests.test_submissions import business, lookup, receipt_code

PHONE = "13911112222"


@pytest.fixture(autouse=True)
def _clean(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SMS_GATEWAY = "memory"
    cache.clear()
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def make_slot(world, *, capacity=1, days=1, room=None, hour=9) -> AppointmentSlot:
    start = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=days), dt.time(hour))
    )
    return AppointmentSlot.objects.create(
        room=room or world.room_c1,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        capacity=capacity,
        created_by=world.director,
    )


def otp(client: Client, phone: str = PHONE) -> str:
    response = client.post("/portal/book/code/", {"phone": phone})
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    match = re.search(r"验证码(\d{6})", sms.outbox[-1].text)
    assert match and sms.outbox[-1].phone == phone
    return match.group(1)


def booking(world, slot, bt, code, phone=PHONE, **extra):
    return {
        "room": world.room_c1.pk,
        "slot": slot.pk,
        "business_type": bt.pk,
        "name": "孙八",
        "phone": phone,
        "code": code,
        **extra,
    }


def test_book_end_to_end_shows_room_time_and_status(world, client):
    slot = make_slot(world, capacity=2)
    make_slot(world, days=20)  # beyond 14 days: not offered
    bt = business()
    page = client.get("/portal/book/", {"room": world.room_c1.pk})
    text = page.content.decode()
    assert page.status_code == 200 and f'value="{slot.pk}"' in text and "西福警务室" in text
    assert text.count('name="slot"') == 1
    response = client.post("/portal/book/", booking(world, slot, bt, otp(client)))
    assert response.status_code == 200
    code = receipt_code(response)
    text = response.content.decode()
    assert "西福社区服务中心" in text and "预约成功" in text
    assert timezone.localtime(slot.starts_at).strftime("%H:%M") in text
    item = Submission.objects.get()
    assert item.kind == Kind.APPOINTMENT and item.slot == slot and item.room == world.room_c1
    assert (item.community, item.station) == (world.c1, world.s1)
    slot.refresh_from_db()
    assert slot.booked == 1
    status = lookup(client, code).content.decode()
    assert "预约办事" in status and 'data-testid="booking-time"' in status
    assert AuditEntry.objects.get(action="portal.book").after["phone"].startswith("139****2222 #")


def test_booking_needs_the_right_code(world, client):
    slot = make_slot(world)
    bt = business()
    otp(client)
    response = client.post("/portal/book/", booking(world, slot, bt, "000000"))
    assert response.status_code == 200
    assert "验证码不正确或已失效" in response.content.decode()
    response = client.post("/portal/book/", booking(world, slot, bt, ""))
    assert "此项为必填项" in response.content.decode()
    assert not Submission.objects.exists()
    slot.refresh_from_db()
    assert slot.booked == 0


def test_wrong_booking_codes_are_counted_and_kill_the_code(world, client, settings):
    """Each wrong code counts a try even though the booking is refused (the try is committed, not rolled back
    with the refusal); after CODE_ATTEMPTS wrong tries the right code no longer books."""
    from doorstep.portal import phones
    from doorstep.portal.models import PhoneCode

    settings.PORTAL_RATE_LIMITS = "submit_ip=100/3600,submit_phone=100/3600"
    slot = make_slot(world)
    bt = business()
    right = otp(client)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(phones.CODE_ATTEMPTS):
        assert (
            "验证码不正确或已失效"
            in client.post("/portal/book/", booking(world, slot, bt, wrong)).content.decode()
        )
    assert PhoneCode.objects.get().attempts == phones.CODE_ATTEMPTS
    assert (
        "验证码不正确或已失效"
        in client.post("/portal/book/", booking(world, slot, bt, right)).content.decode()
    )
    assert not Submission.objects.exists()


def test_full_slot_refuses_second_booking(world, client):
    slot = make_slot(world, capacity=1)
    bt = business()
    assert client.post("/portal/book/", booking(world, slot, bt, otp(client))).status_code == 200
    other = "13722223333"
    response = client.post("/portal/book/", booking(world, slot, bt, otp(client, other), phone=other))
    text = response.content.decode()
    assert "该时段已不可预约" in text  # a full slot is no longer among the choices
    assert Submission.objects.count() == 1
    # the service itself (the locked path), even when asked directly
    phones.send_code(other, VerificationPurpose.SUBMISSION)
    code = re.search(r"验证码(\d{6})", sms.outbox[-1].text).group(1)
    with pytest.raises(ServiceError, match="该时段已约满"):
        services.book(slot_id=slot.pk, business_type=bt, name="周九", phone=other, code=code)
    # the code was not used up by the refusal
    assert phones.verify_code(other, code, VerificationPurpose.SUBMISSION)
    slot.refresh_from_db()
    assert slot.booked == 1


def test_cancellation_by_resident_frees_the_place(world, client):
    slot = make_slot(world, capacity=1)
    bt = business()
    code = receipt_code(client.post("/portal/book/", booking(world, slot, bt, otp(client))))
    # wrong phone: refused, nothing changes
    response = client.post("/portal/receipt/", {"action": "cancel", "code": code, "phone": "13000000000"})
    assert "回执码或手机号不正确" in response.content.decode()
    assert Submission.objects.get().status == Status.NEW
    response = client.post("/portal/receipt/", {"action": "cancel", "code": code.lower(), "phone": PHONE})
    assert response.status_code == 200 and "预约已取消" in response.content.decode()
    assert Submission.objects.get().status == Status.CANCELLED
    slot.refresh_from_db()
    assert slot.booked == 0
    # the place is free again for someone else
    other = "13722223333"
    assert (
        client.post("/portal/book/", booking(world, slot, bt, otp(client, other), phone=other)).status_code
        == 200
    )
    assert Submission.objects.filter(status=Status.NEW).count() == 1


def test_code_request_rate_limited_per_phone(world, client, settings):
    settings.PORTAL_RATE_LIMITS = "code_phone=2/600"
    otp(client)
    otp(client)
    response = client.post("/portal/book/code/", {"phone": PHONE})
    assert response.status_code == 429 and response.json()["ok"] is False
    assert "操作过于频繁" in response.json()["detail"]
    bad = client.post("/portal/book/code/", {"phone": "123"})
    assert bad.status_code == 400 and "手机号" in bad.json()["detail"]


def test_booking_rate_limited_per_ip(world, client, settings):
    settings.PORTAL_RATE_LIMITS = "submit_ip=1/3600"
    slot = make_slot(world, capacity=5)
    bt = business()
    assert client.post("/portal/book/", booking(world, slot, bt, otp(client))).status_code == 200
    other = "13722223333"
    response = client.post("/portal/book/", booking(world, slot, bt, otp(client, other), phone=other))
    assert response.status_code == 429 and "操作过于频繁" in response.content.decode()
    assert Submission.objects.count() == 1


def test_bad_room_ids_are_not_errors(world, client):
    for value in ("²", "99999999999999999999", "abc"):
        assert client.get("/portal/book/", {"room": value}).status_code == 200


# --- staff: publish and cancel -------------------------------------------------------------------------------
def test_publish_slots_skips_existing_and_is_bounded(world):
    today = timezone.localdate()
    start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=7)
    created, skipped = services.publish_slots(
        by=world.director,
        room=world.room_c1,
        start=start,
        end=end,
        weekdays=list(range(7)),
        start_times=[dt.time(9), dt.time(15)],
        minutes=60,
        capacity=2,
    )
    assert (created, skipped) == (14, 0)
    created, skipped = services.publish_slots(
        by=world.officer_a,
        room=world.room_c1,
        start=start,
        end=end,
        weekdays=list(range(7)),
        start_times=[dt.time(9), dt.time(10)],
        minutes=30,
        capacity=1,
    )
    assert (created, skipped) == (7, 7)
    with pytest.raises(ServiceError, match="60"):
        services.publish_slots(
            by=world.director,
            room=world.room_c1,
            start=start,
            end=today + dt.timedelta(days=61),
            weekdays=[0],
            start_times=[dt.time(9)],
            minutes=60,
            capacity=1,
        )
    with pytest.raises(ServiceError, match="500"):
        services.publish_slots(
            by=world.director,
            room=world.room_c1,
            start=start,
            end=today + dt.timedelta(days=60),
            weekdays=list(range(7)),
            start_times=[dt.time(h, m) for h in range(8, 18) for m in (0, 30)],
            minutes=30,
            capacity=1,
        )
    with pytest.raises(NotAllowed):  # another station's room
        services.publish_slots(
            by=world.director,
            room=world.room_c3,
            start=start,
            end=end,
            weekdays=[0],
            start_times=[dt.time(9)],
            minutes=60,
            capacity=1,
        )


def test_slots_page_publish_and_scope(world, client_for):
    c = client_for(world.officer_a)
    response = c.get("/online/slots/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "西福警务室" in text and "仁风警务室" not in text
    today = timezone.localdate()
    response = c.post(
        "/online/slots/",
        {
            "room": world.room_c1.pk,
            "start": (today + dt.timedelta(days=1)).isoformat(),
            "end": (today + dt.timedelta(days=2)).isoformat(),
            "weekdays": [str(d) for d in range(7)],
            "start_times": "09:00，10:00",
            "minutes": 60,
            "capacity": 2,
        },
    )
    assert response.status_code == 302
    assert AppointmentSlot.objects.filter(room=world.room_c1).count() == 4
    # a room outside the territory is not a choice
    response = c.post(
        "/online/slots/",
        {
            "room": world.room_c3.pk,
            "start": (today + dt.timedelta(days=1)).isoformat(),
            "end": (today + dt.timedelta(days=2)).isoformat(),
            "weekdays": ["0"],
            "start_times": "09:00",
            "minutes": 60,
            "capacity": 2,
        },
    )
    assert response.status_code == 200 and not AppointmentSlot.objects.filter(room=world.room_c3).exists()
    # roles without slots: read-only or refused
    assert client_for(world.leader).post("/online/slots/", {}).status_code == 403
    assert client_for(world.patrol).get("/online/slots/").status_code == 403


def test_cancel_slot_cancels_bookings_and_texts_after_commit(
    world, client, client_for, django_capture_on_commit_callbacks
):
    slot = make_slot(world, capacity=2)
    bt = business()
    code = receipt_code(client.post("/portal/book/", booking(world, slot, bt, otp(client))))
    sms.outbox.clear()
    other_room_slot = make_slot(world, room=world.room_c3)
    staff = client_for(world.officer_a)
    assert staff.post(f"/online/slots/{other_room_slot.pk}/cancel/").status_code == 404
    assert staff.post("/online/slots/²/cancel/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff.post(f"/online/slots/{slot.pk}/cancel/")
    assert response.status_code == 302 and len(callbacks) == 1
    slot.refresh_from_db()
    assert slot.cancelled and slot.booked == 0
    assert Submission.objects.get().status == Status.CANCELLED
    assert len(sms.outbox) == 1 and sms.outbox[0].phone == PHONE
    assert code in sms.outbox[0].text and "孙八" not in sms.outbox[0].text
    assert "已取消" in lookup(client, code).content.decode()


def test_failing_sms_never_undoes_slot_cancellation(
    world, client, settings, django_capture_on_commit_callbacks
):
    slot = make_slot(world, capacity=2)
    bt = business()
    client.post("/portal/book/", booking(world, slot, bt, otp(client)))
    settings.SMS_GATEWAY = "doorstep.portal.tests.test_slots.BrokenGateway"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_slot(slot, by=world.director) == 1
    slot.refresh_from_db()
    assert slot.cancelled and Submission.objects.get().status == Status.CANCELLED


class BrokenGateway:
    def send(self, message):
        raise sms.SmsError("down")


def test_staff_sees_booking_and_rejecting_frees_the_place(world, client, client_for):
    slot = make_slot(world, capacity=1)
    bt = business()
    client.post("/portal/book/", booking(world, slot, bt, otp(client)))
    item = Submission.objects.get()
    staff = client_for(world.officer_a)
    page = staff.get(f"/online/items/{item.pk}/")
    assert page.status_code == 200 and "西福警务室" in page.content.decode()
    slots_page = staff.get("/online/slots/").content.decode()
    assert "1/1" in slots_page
    response = staff.post(
        f"/online/items/{item.pk}/", {"action": "reject", "reject-reason": "材料不全，请补齐后再约"}
    )
    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.booked == 0
    assert Submission.objects.get().status == Status.REJECTED
