"""Every write of what residents send through the portal and of how staff handle it.

Residents (no account, `by=None`): submit_tip, submit_service, submit_dispute, book, cancel_booking.
Staff: accept, reply, finish, reject, hand_to_mediation, publish_slots, cancel_slot.

Each service validates, writes in one transaction and leaves an audit entry whose snapshot carries the phone
masked. Where a submission is placed: a standard address (a signed `address_code` from the portal's address
lookup) gives grid, community and station; otherwise the community or police room the resident chose; an item
with neither still gets saved and lands in the sub-bureau-wide queue. Text messages to residents go out after
commit and carry only the receipt code and the new status (no personal data); a failing message never undoes
the change.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core import crypto, sms
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.masking import mask_phone
from doorstep.core.photos import files_removed_on_rollback, normalise_photo
from doorstep.portal import access, phones, receipts
from doorstep.portal.choices import Kind, Status, VerificationPurpose
from doorstep.portal.models import AppointmentSlot, Submission

OLDEST_OCCURRENCE_DAYS = 3653  # more than ten years ago is a typo (and year 1 overflows in UTC: a 500)
log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_CONTENT = 2000
MAX_REPLY = 1000
MAX_NAME = 50
MAX_ADDRESS = 200
MAX_OTHER_PARTY = 100
BOOKING_DAYS = 14  # residents see and book slots this many days ahead
PUBLISH_DAYS = 60  # staff publish at most this far ahead
MAX_SLOTS_PER_CALL = 500
LIVE = (Status.NEW, Status.ACCEPTED)


# --- helpers -------------------------------------------------------------------------------------------------
@dataclass
class Place:
    """Where a submission belongs, worked out from what the resident gave."""

    address: Any = None
    grid: Any = None
    community: Any = None
    station: Any = None
    room: Any = None
    address_text: str = ""


def _address_from_code(code: str) -> Any:
    """The standard address behind a signed plate code (portal.officers), or None (forged, stale, rejected)."""
    from doorstep.portal.officers import address_from_code

    return address_from_code(code[:500]) if code else None


def resolve_place(
    *, community: Any = None, room: Any = None, address_text: str = "", address_code: str = ""
) -> Place:
    """Grid, community and station from the standard address when there is one, else from the room or
    community chosen; the police room is the community's."""
    text = (address_text or "").strip()[:MAX_ADDRESS]
    address = _address_from_code(address_code)
    place = Place(address_text=text)
    if address is not None:
        place.address = address
        place.grid = address.grid
        place.community = address.grid.community
        if not text:
            place.address_text = address.full_text[:MAX_ADDRESS]
    elif room is not None:
        place.community = room.community
    elif community is not None:
        place.community = community
    if place.community is not None:
        place.station = place.community.station
        place.room = room if room is not None else getattr(place.community, "police_room", None)
    return place


def _masked(item: Submission) -> dict[str, Any]:
    # the phone is an encrypted field: `snapshot` already keeps it masked (plus a short digest)
    return snapshot(item) or {}


def _clean_text(value: str | None, limit: int, *, required: str | None = None, code: str = "content") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ServiceError(required, code=code)
    if len(text) > limit:
        raise ServiceError(_("内容不能超过%(n)s字") % {"n": limit}, code=code)
    return text


def _contact(name: str | None, phone: str | None) -> tuple[str, str]:
    name = _clean_text(name, MAX_NAME, required=_("请填写姓名"), code="name")
    return name, phones.clean_mobile(phone)


def _create(kind: str, place: Place, **fields: Any) -> Submission:
    """Insert a submission with a fresh receipt code (a collision of 60-bit codes is retried)."""
    for _attempt in range(5):
        code = receipts.new_code()
        try:
            with transaction.atomic():
                return Submission.objects.create(
                    kind=kind,
                    receipt_code=code,
                    status=Status.NEW,
                    station=place.station,
                    community=place.community,
                    grid=place.grid,
                    address=place.address,
                    address_text=place.address_text,
                    room=place.room,
                    submitted_at=timezone.now(),
                    **fields,
                )
        except IntegrityError:
            if not Submission.objects.filter(receipt_code=code).exists():
                raise  # not a code collision
            continue
    raise RuleViolation(_("系统繁忙，请稍后再试"))


def _send_quietly(phone: str, text: str) -> None:
    try:
        sms.send(phone, text)
    except sms.SmsError:
        log.warning("portal notice to %s not sent", mask_phone(phone))


def _notify_after_commit(item: Submission, status_label: str) -> None:
    """Tell the resident the item moved on: receipt code and new status only."""
    if not item.phone:
        return
    text = _("【家门口派出所】您在网上警务室提交的事项（回执码%(code)s）%(status)s，请凭回执码查询详情。") % {
        "code": receipts.display(item.receipt_code),
        "status": status_label,
    }
    phone = item.phone
    transaction.on_commit(lambda: _send_quietly(phone, text))


# --- residents -----------------------------------------------------------------------------------------------
def submit_tip(
    *,
    content: str,
    community: Any = None,
    address_text: str = "",
    address_code: str = "",
    occurred_at: dt.datetime | None = None,
    photo: Any = None,
    anonymous: bool = False,
    name: str = "",
    phone: str = "",
) -> Submission:
    """线索举报. Anonymous: no name or phone is kept even when typed."""
    content = _clean_text(content, MAX_CONTENT, required=_("请填写线索内容"))
    if anonymous:
        name, phone = "", ""
    else:
        name, phone = _contact(name, phone)
    if occurred_at is not None and occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise ServiceError(_("发生时间不能晚于现在"), code="occurred_at")
    if occurred_at is not None and occurred_at < timezone.now() - dt.timedelta(days=OLDEST_OCCURRENCE_DAYS):
        raise ServiceError(_("发生时间不能早于十年前"), code="occurred_at")
    image = normalise_photo(photo, max_bytes=MAX_PHOTO_BYTES) if photo else None
    place = resolve_place(community=community, address_text=address_text, address_code=address_code)
    with files_removed_on_rollback() as store, transaction.atomic():
        item = _create(
            Kind.TIP,
            place,
            anonymous=anonymous,
            name=name,
            phone=phone,
            content=content,
            occurred_at=occurred_at,
        )
        if image is not None:
            store(item.photo, image)
            item.save(update_fields=["photo"])
        record_change(None, "portal.submit_tip", item, after=_masked(item))
    return item


def submit_service(
    *,
    business_type: Any,
    content: str,
    name: str,
    phone: str,
    community: Any = None,
    address_text: str = "",
    address_code: str = "",
) -> Submission:
    """办事咨询 about one business of the service desk."""
    if business_type is None or not business_type.active:
        raise ServiceError(_("请选择办理的业务"), code="business_type")
    content = _clean_text(content, MAX_CONTENT, required=_("请填写咨询的问题"))
    name, phone = _contact(name, phone)
    place = resolve_place(community=community, address_text=address_text, address_code=address_code)
    with transaction.atomic():
        item = _create(
            Kind.SERVICE, place, business_type=business_type, name=name, phone=phone, content=content
        )
        record_change(None, "portal.submit_service", item, after=_masked(item))
    return item


def submit_dispute(
    *,
    content: str,
    other_party: str,
    name: str,
    phone: str,
    community: Any = None,
    address_text: str = "",
    address_code: str = "",
) -> Submission:
    """纠纷调解 request: what happened and who the other party is (free text, named when handed to mediation)."""
    content = _clean_text(content, MAX_CONTENT, required=_("请填写事情经过"))
    other = _clean_text(other_party, MAX_OTHER_PARTY, required=_("请填写对方当事人"), code="other_party")
    other = " ".join(other.split())
    name, phone = _contact(name, phone)
    place = resolve_place(community=community, address_text=address_text, address_code=address_code)
    with transaction.atomic():
        item = _create(
            Kind.DISPUTE,
            place,
            name=name,
            phone=phone,
            content=content,
            other_party=other,
        )
        record_change(None, "portal.submit_dispute", item, after=_masked(item))
    return item


def bookable_slots(room: Any, *, now: dt.datetime | None = None) -> Any:
    """The slots of `room` a resident may book: published, not cancelled, starting in the coming
    BOOKING_DAYS days, with a free place."""
    now = now or timezone.now()
    return AppointmentSlot.objects.filter(
        room=room,
        cancelled=False,
        starts_at__gt=now,
        starts_at__lte=now + dt.timedelta(days=BOOKING_DAYS),
        booked__lt=F("capacity"),
    ).order_by("starts_at")


def book(
    *,
    slot_id: int,
    business_type: Any,
    name: str,
    phone: str,
    code: str,
    address_text: str = "",
    address_code: str = "",
) -> Submission:
    """预约办事: take one place of a slot. The slot row is locked, so two residents racing for its last
    place cannot both get it; the one-time code is checked (and used up) only once a place is free."""
    if business_type is None or not business_type.active:
        raise ServiceError(_("请选择办理的业务"), code="business_type")
    name, phone = _contact(name, phone)
    now = timezone.now()
    try:
        with transaction.atomic():
            slot = (
                AppointmentSlot.objects.select_for_update()
                .select_related("room__community__station")
                .filter(pk=slot_id, cancelled=False, starts_at__gt=now)
                .first()
            )
            if slot is None or slot.starts_at > now + dt.timedelta(days=BOOKING_DAYS):
                raise ServiceError(_("该时段已不可预约，请重新选择"), code="slot")
            if slot.booked >= slot.capacity:
                raise ServiceError(_("该时段已约满，请选择其他时段"), code="slot")
            same_phone = crypto.search_hash("phone", phone)
            if Submission.objects.filter(slot=slot, phone_search=same_phone, status__in=LIVE).exists():
                raise ServiceError(_("该手机号已预约了这个时段"), code="slot")
            right_code = phones.verify_code(phone, code, VerificationPurpose.SUBMISSION)
            if right_code:  # a wrong code leaves this block normally, so its counted try is committed
                slot.booked += 1
                slot.save(update_fields=["booked", "updated_at"])
                place = resolve_place(room=slot.room, address_text=address_text, address_code=address_code)
                if place.community is not None and place.community.pk != slot.room.community_id:
                    place = resolve_place(room=slot.room, address_text=address_text)
                item = _create(
                    Kind.APPOINTMENT,
                    place,
                    slot=slot,
                    business_type=business_type,
                    name=name,
                    phone=phone,
                )
                record_change(None, "portal.book", item, after=_masked(item))
    except IntegrityError as exc:  # the capacity constraint, should the lock not hold
        raise ServiceError(_("该时段已约满，请选择其他时段"), code="slot") from exc
    if not right_code:
        raise ServiceError(_("验证码不正确或已失效"), code="code")
    return item


def find(code: str | None) -> Submission | None:
    """The submission of a receipt code as typed by a resident, or None."""
    normalised = receipts.normalise(code)
    if normalised is None:
        return None
    return (
        Submission.objects.select_related("slot", "room", "business_type", "dispute")
        .filter(receipt_code=normalised)
        .first()
    )


def cancel_booking(*, receipt_code: str, phone: str) -> Submission:
    """A resident cancels their booking with its receipt code and the phone it was booked with; the place
    becomes free again. Any mismatch gives the same answer (no probing which part was wrong)."""
    wrong = ServiceError(_("回执码或手机号不正确"), code="receipt")
    normalised = receipts.normalise(receipt_code)
    try:
        phone = phones.clean_mobile(phone)
    except ServiceError as exc:
        raise wrong from exc
    if normalised is None:
        raise wrong
    with transaction.atomic():
        item = (
            Submission.objects.select_for_update()
            .filter(receipt_code=normalised, kind=Kind.APPOINTMENT)
            .first()
        )
        if item is None or item.phone != phone:
            raise wrong
        if item.status not in LIVE:
            raise RuleViolation(_("该预约已%(status)s，不能取消") % {"status": item.get_status_display()})
        before = _masked(item)
        slot = AppointmentSlot.objects.select_for_update().filter(pk=item.slot_id).first()
        if slot is not None:
            if slot.starts_at <= timezone.now():
                raise RuleViolation(_("预约时间已过，不能取消"))
            if slot.booked > 0:
                slot.booked -= 1
                slot.save(update_fields=["booked", "updated_at"])
        item.status = Status.CANCELLED
        item.save(update_fields=["status", "updated_at"])
        record_change(None, "portal.cancel_booking", item, before=before, after=_masked(item))
    return item


# --- staff ---------------------------------------------------------------------------------------------------
def _handle_locked(item: Submission, by: Any, allowed: tuple[str, ...]) -> tuple[Submission, dict[str, Any]]:
    if not access.may_handle(by, item):
        raise NotAllowed(_("您无权处理该事项"))
    locked = Submission.objects.select_for_update().get(pk=item.pk)
    if locked.status not in allowed:
        raise RuleViolation(
            _("该事项当前状态为“%(status)s”，不能办理") % {"status": locked.get_status_display()}
        )
    return locked, _masked(locked)


def _handled(item: Submission, by: Any) -> None:
    item.handled_by = by
    item.handled_at = timezone.now()


def accept(item: Submission, *, by: Any) -> Submission:
    """受理: the item is being dealt with."""
    with transaction.atomic():
        item, before = _handle_locked(item, by, (Status.NEW,))
        item.status = Status.ACCEPTED
        _handled(item, by)
        item.save()
        record_change(by, "portal.accept", item, before=before, after=_masked(item))
    return item


def reply(item: Submission, *, by: Any, text: str) -> Submission:
    """答复群众: a text the resident reads on the status page (a new item is accepted by it)."""
    text = _clean_text(text, MAX_REPLY, required=_("请填写答复内容"), code="reply")
    with transaction.atomic():
        item, before = _handle_locked(item, by, LIVE)
        item.reply = text
        item.status = Status.ACCEPTED
        _handled(item, by)
        item.save()
        record_change(by, "portal.reply", item, before=before, after=_masked(item))
        _notify_after_commit(item, _("已有答复"))
    return item


def finish(item: Submission, *, by: Any, text: str = "") -> Submission:
    """办结, with an optional last reply."""
    text = _clean_text(text, MAX_REPLY, code="reply")
    with transaction.atomic():
        item, before = _handle_locked(item, by, LIVE)
        if text:
            item.reply = text
        item.status = Status.DONE
        _handled(item, by)
        item.save()
        record_change(by, "portal.finish", item, before=before, after=_masked(item))
        _notify_after_commit(item, _("已办结"))
    return item


def reject(item: Submission, *, by: Any, reason: str) -> Submission:
    """不予受理, with the reason the resident reads; a rejected booking frees its place."""
    reason = _clean_text(reason, MAX_REPLY, required=_("请填写不予受理的理由"), code="reason")
    with transaction.atomic():
        item, before = _handle_locked(item, by, LIVE)
        item.reply = reason
        item.status = Status.REJECTED
        _handled(item, by)
        item.save()
        _free_place(item)
        record_change(by, "portal.reject", item, before=before, after=_masked(item))
        _notify_after_commit(item, _("不予受理"))
    return item


def _free_place(item: Submission) -> None:
    if item.slot_id is None:
        return
    slot = AppointmentSlot.objects.select_for_update().filter(pk=item.slot_id).first()
    if slot is not None and slot.booked > 0:
        slot.booked -= 1
        slot.save(update_fields=["booked", "updated_at"])


def place(item: Submission, *, by: Any, community: Any) -> Submission:
    """转派: put the item in `community`'s queue (its station follows; the grid only when the standard address
    lies in that community). The status is unchanged; the resident sees nothing of it."""
    if community is None:
        raise ServiceError(_("请选择社区"), code="community")
    if not access.may_place(by, item, community):
        raise NotAllowed(_("您无权转派该事项"))
    with transaction.atomic():
        item, before = _handle_locked(item, by, LIVE)
        if not access.may_place(by, item, community):
            raise NotAllowed(_("您无权转派该事项"))
        item.community = community
        item.station_id = community.station_id
        if item.grid_id is not None and item.grid.community_id != community.pk:
            item.grid = None
        item.save()
        record_change(by, "portal.place", item, before=before, after=_masked(item))
    return item


def hand_to_mediation(
    item: Submission,
    *,
    by: Any,
    dispute_type: Any,
    other_party: str,
    community: Any = None,
    place: str = "",
) -> Any:
    """转矛盾纠纷调解: open a dispute (source 网上警务室) with the resident as applicant (甲方) and the other
    party as named; the item follows the dispute from then on."""
    from doorstep.mediation.choices import Source
    from doorstep.mediation.services import PartyData, create_dispute

    other = _clean_text(other_party, MAX_OTHER_PARTY, required=_("请填写对方当事人"), code="other_party")
    with transaction.atomic():
        item, before = _handle_locked(item, by, LIVE)
        if item.dispute_id is not None:
            raise RuleViolation(_("该事项已转调解"))
        if not item.name:
            raise ServiceError(_("匿名事项无法转调解（没有申请人）"), code="dispute_type")
        community = community or item.community
        if community is None:
            raise ServiceError(_("请选择纠纷所在社区"), code="community")
        facts = item.content
        grid = item.grid if item.grid is not None and item.grid.community_id == community.pk else None
        where = (place or item.address_text or "").strip() or (
            item.room.address if item.room is not None else community.name
        )
        dispute = create_dispute(
            source=Source.PORTAL,
            community=community,
            grid=grid,
            dispute_type=dispute_type,
            place=where[:200],
            facts=(facts or _("（网上警务室提交）"))[:2000],
            occurred_at=item.occurred_at,
            parties=[
                PartyData(name=item.name, side="A", phone=item.phone),
                PartyData(name=other, side="B"),
            ],
            by=by,
        )
        item.dispute = dispute
        item.status = Status.ACCEPTED
        if item.community_id is None:
            item.community = community
            item.station_id = community.station_id
        _handled(item, by)
        item.save()
        record_change(by, "portal.hand_to_mediation", item, before=before, after=_masked(item))
    return dispute


def publish_slots(
    *,
    by: Any,
    room: Any,
    start: dt.date,
    end: dt.date,
    weekdays: list[int],
    start_times: list[dt.time],
    minutes: int,
    capacity: int,
) -> tuple[int, int]:
    """发布预约时段: one slot per chosen weekday and start time between `start` and `end`. Existing starts are
    skipped. Returns (created, skipped)."""
    if not access.may_publish_slots(by, room.community_id):
        raise NotAllowed(_("您无权发布该警务室的预约时段"))
    today = timezone.localdate()
    if start < today:
        raise ServiceError(_("开始日期不能早于今天"), code="start")
    if end < start:
        raise ServiceError(_("结束日期不能早于开始日期"), code="end")
    if end > today + dt.timedelta(days=PUBLISH_DAYS):
        raise ServiceError(_("最多只能发布%(n)s天内的时段") % {"n": PUBLISH_DAYS}, code="end")
    days = {d for d in weekdays if 0 <= d <= 6}
    if not days:
        raise ServiceError(_("请选择星期"), code="weekdays")
    times = sorted(set(start_times))
    if not times:
        raise ServiceError(_("请填写开始时间"), code="start_times")
    if not 5 <= minutes <= 480:
        raise ServiceError(_("每个时段5至480分钟"), code="minutes")
    if not 1 <= capacity <= 50:
        raise ServiceError(_("可约人数为1至50"), code="capacity")
    now = timezone.now()
    starts: list[dt.datetime] = []
    day = start
    while day <= end:
        if day.weekday() in days:
            for t in times:
                at = timezone.make_aware(dt.datetime.combine(day, t))
                if at > now:
                    starts.append(at)
        day += dt.timedelta(days=1)
    if len(starts) > MAX_SLOTS_PER_CALL:
        raise ServiceError(
            _("一次最多发布%(n)s个时段，请缩小日期范围") % {"n": MAX_SLOTS_PER_CALL}, code="end"
        )
    length = dt.timedelta(minutes=minutes)
    with transaction.atomic():
        existing = set(
            AppointmentSlot.objects.filter(room=room, starts_at__in=starts).values_list(
                "starts_at", flat=True
            )
        )
        new = [
            AppointmentSlot(room=room, starts_at=at, ends_at=at + length, capacity=capacity, created_by=by)
            for at in starts
            if at not in existing
        ]
        AppointmentSlot.objects.bulk_create(new)
        if new:
            record_change(
                by,
                "portal.publish_slots",
                room,
                after={
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "weekdays": sorted(days),
                    "times": [t.strftime("%H:%M") for t in times],
                    "minutes": minutes,
                    "capacity": capacity,
                    "created": len(new),
                },
            )
    return len(new), len(starts) - len(new)


def cancel_slot(slot: AppointmentSlot, *, by: Any) -> int:
    """取消时段: its live bookings become cancelled and each booked phone is told after commit (a message
    that fails is logged, the cancellation stands). Returns the number of bookings cancelled."""
    if not access.may_publish_slots(by, slot.room.community_id):
        raise NotAllowed(_("您无权取消该警务室的预约时段"))
    with transaction.atomic():
        slot = AppointmentSlot.objects.select_for_update().get(pk=slot.pk)
        if slot.cancelled:
            raise RuleViolation(_("该时段已取消"))
        before = snapshot(slot)
        bookings = list(Submission.objects.select_for_update().filter(slot=slot, status__in=LIVE))
        for item in bookings:
            item_before = _masked(item)
            item.status = Status.CANCELLED
            item.reply = _("警务室因故取消了该时段，请重新预约，给您带来不便敬请谅解。")
            _handled(item, by)
            item.save()
            record_change(by, "portal.slot_cancelled", item, before=item_before, after=_masked(item))
            _notify_after_commit(item, _("因警务室取消时段已取消"))
        slot.cancelled = True
        slot.booked = 0
        slot.save(update_fields=["cancelled", "booked", "updated_at"])
        record_change(by, "portal.cancel_slot", slot, before=before, after=snapshot(slot))
    return len(bookings)
