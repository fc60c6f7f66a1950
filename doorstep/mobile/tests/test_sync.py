"""The offline queue's receiving end (POST /m/api/items and …/resolve): exactly once, conflicts and their
resolution, revoked and foreign devices, malformed and oversized bodies."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid

import pytest
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorstep.accounts.services import revoke_sessions
from doorstep.audit.models import AuditEntry
from doorstep.mobile import devices, sealing
from doorstep.mobile.models import Device, ItemStatus, SyncItem
from doorstep.mobile.tests.conftest import ITEMS, enrol, iso
from doorstep.registry import services as registry_services
from doorstep.registry.models import Visit
from doorstep.registry.tests.conftest import make_house


@pytest.fixture
def household(world):
    house = make_house(world.grid_a)
    return registry_services.create_household(house=house, household_no="350503001")


@pytest.fixture
def household_b(world):
    house = make_house(world.grid_b)
    return registry_services.create_household(house=house, household_no="350503002")


def visit_record(household, **overrides):
    record = {
        "household": household.pk,
        "findings": "户内人员正常，宣传防诈",
        "visited_at": iso(timezone.now() - dt.timedelta(hours=3)),
        "photo": None,
    }
    record.update(overrides)
    return record


def test_a_visit_is_applied_once_and_a_resend_gets_the_same_answer(phone, household):
    client_id = str(uuid.uuid4())
    body = phone.body("visit", visit_record(household), client_id=client_id)

    first = phone.post(ITEMS, body)
    again = phone.post(ITEMS, body)

    assert first.status_code == 200
    data = first.json()
    assert data["status"] == "applied" and data["replayed"] is False
    assert data["id"] == client_id and data["detail"] == "已保存"
    assert data["object"]["url"] == f"/registry/households/{household.pk}/"
    assert again.status_code == 200
    assert again.json() == {**data, "replayed": True}
    assert Visit.objects.filter(household=household).count() == 1
    item = SyncItem.objects.get(client_id=client_id)
    assert item.status == ItemStatus.APPLIED and item.sealed is None
    assert item.object_type == "registry.visit" and item.object_id == Visit.objects.get().pk


def test_a_resend_with_another_payload_changes_nothing(phone, household):
    client_id = str(uuid.uuid4())
    phone.send("visit", visit_record(household), client_id=client_id)

    again = phone.send("visit", visit_record(household, findings="另一个内容"), client_id=client_id)

    assert again.json()["replayed"] is True
    assert list(Visit.objects.values_list("findings", flat=True)) == ["户内人员正常，宣传防诈"]


def test_the_applied_entry_is_audited_with_the_device_time_when_late(phone, household):
    recorded = timezone.now() - dt.timedelta(hours=3)
    response = phone.send("visit", visit_record(household), recorded_at=recorded)

    entry = AuditEntry.objects.get(action="mobile.item_applied")
    assert entry.after["kind"] == "visit"
    assert entry.after["client_id"] == response.json()["id"]
    assert entry.after["device"] == phone.device_id
    assert entry.note.startswith("离线记录，终端时间 ")
    assert timezone.localtime(recorded).strftime("%Y-%m-%d %H:%M") in entry.note
    assert AuditEntry.objects.filter(action="registry.record_visit").count() == 1


def test_a_record_sent_at_once_has_no_offline_note(phone, household):
    phone.send("visit", visit_record(household, visited_at=iso(timezone.now())))
    assert AuditEntry.objects.get(action="mobile.item_applied").note == ""


def test_a_time_inside_the_record_earlier_than_its_recording_is_noted(phone, household):
    """A visit entered afterwards — or backdated to look on time — is applied with the time the officer typed;
    the audit note says so even when the phone sent the record at once."""
    visited = timezone.now() - dt.timedelta(days=6)
    phone.send("visit", visit_record(household, visited_at=iso(visited)))
    note = AuditEntry.objects.get(action="mobile.item_applied").note
    assert note == f"补录，记录所填时间 {timezone.localtime(visited):%Y-%m-%d %H:%M:%S}"


def test_a_conflict_keeps_the_sealed_record_and_discard_empties_it(phone, household_b):
    response = phone.send("visit", visit_record(household_b))

    data = response.json()
    assert response.status_code == 200
    assert data["status"] == "conflict"
    assert data["detail"].startswith("该户已不在您的网格")
    assert [o["value"] for o in data["options"]] == ["discard", "retry"]
    assert all(o["label"] for o in data["options"])
    item = SyncItem.objects.get(client_id=data["id"])
    assert item.sealed and set(item.sealed) == {"epk", "iv", "ct"}
    assert AuditEntry.objects.filter(action="mobile.item_conflict", object_id=str(item.pk)).exists()

    resolved = phone.resolve(data["id"], "discard")

    assert resolved.status_code == 200
    assert resolved.json()["status"] == "discarded"
    item.refresh_from_db()
    assert item.status == ItemStatus.DISCARDED and item.sealed is None and item.resolved_at
    assert AuditEntry.objects.filter(action="mobile.item_discarded", object_id=str(item.pk)).exists()
    assert phone.resolve(data["id"], "discard").json()["replayed"] is True
    assert Visit.objects.count() == 0


def test_retry_after_the_conflict_is_gone_applies_the_kept_record(phone_for, world, household_b):
    from doorstep.org import services as org_services
    from doorstep.org.choices import Position

    phone = phone_for(world.auxiliary_a)
    data = phone.send("visit", visit_record(household_b)).json()
    assert data["status"] == "conflict"
    # the auxiliary is now also posted to grid B: the household is theirs again
    org_services.assign_to_grid(
        grid=world.grid_b,
        staff=world.auxiliary_a.staff,
        position=Position.AUXILIARY,
        started_on=timezone.localdate() - dt.timedelta(days=1),
    )

    retried = phone.resolve(data["id"], "retry")

    assert retried.status_code == 200
    assert retried.json()["status"] == "applied"
    assert Visit.objects.filter(household=household_b).count() == 1
    item = SyncItem.objects.get(client_id=data["id"])
    assert item.sealed is None and item.object_type == "registry.visit"
    assert phone.resolve(data["id"], "retry").json()["replayed"] is True
    assert Visit.objects.count() == 1


def test_retry_while_the_conflict_lasts_is_a_conflict_again(phone, household_b):
    data = phone.send("visit", visit_record(household_b)).json()

    again = phone.resolve(data["id"], "retry").json()

    assert again["status"] == "conflict"
    assert SyncItem.objects.get(client_id=data["id"]).sealed
    assert Visit.objects.count() == 0


def test_a_refusal_is_rejected_with_the_service_message_and_only_discard(phone, household):
    old = iso(timezone.now() - dt.timedelta(days=8))
    data = phone.send("visit", visit_record(household, visited_at=old)).json()

    assert data["status"] == "rejected"
    assert "补录期限" in data["detail"]
    assert data["options"] == [{"value": "discard", "label": "放弃这条记录"}]
    assert SyncItem.objects.get(client_id=data["id"]).sealed is None
    assert phone.resolve(data["id"], "retry").status_code == 400
    assert phone.resolve(data["id"], "discard").json()["status"] == "discarded"


def test_an_option_not_offered_is_refused(phone, household_b):
    data = phone.send("visit", visit_record(household_b)).json()
    response = phone.resolve(data["id"], "new_patrol")
    assert response.status_code == 400 and response.json()["detail"]


def test_resolve_of_another_users_item_is_404(phone, world, household_b):
    data = phone.send("visit", visit_record(household_b)).json()
    other = enrol(world.officer_b)
    response = other.resolve(data["id"], "discard")
    assert response.status_code == 404
    assert SyncItem.objects.get(client_id=data["id"]).status == ItemStatus.CONFLICT


def test_a_revoked_device_is_refused_and_nothing_is_written(phone, world, household):
    revoke_sessions(world.officer_a, by=world.admin, reason="手机丢失")
    phone.client.force_login(world.officer_a)  # even with a new session, the old device stays revoked

    response = phone.send("visit", visit_record(household))

    assert response.status_code == 403
    assert response.json()["code"] == "device_revoked" and response.json()["detail"]
    assert Visit.objects.count() == 0 and SyncItem.objects.count() == 0


def test_a_device_revoked_at_logout_is_refused(phone, household):
    assert phone.post(f"/m/api/device/{phone.device_id}/revoke", {}).status_code == 200
    response = phone.send("visit", visit_record(household))
    assert response.status_code == 403 and response.json()["code"] == "device_revoked"
    assert Visit.objects.count() == 0


def test_another_users_device_is_refused(phone, world, household):
    other = enrol(world.auxiliary_a)
    body = phone.body("visit", visit_record(household))
    body["device"] = other.device_id

    response = phone.post(ITEMS, body)

    # Not "revoked": the browser must not wipe that other user's queue (a shared phone, C2).
    assert response.status_code == 409 and response.json()["code"] == "device_other_user"
    assert response.json()["detail"]
    assert Visit.objects.count() == 0 and SyncItem.objects.count() == 0
    assert not devices.is_revoked(Device.objects.select_related("user").get(public_id=other.device_id))


def test_resolve_with_another_users_device_is_409_and_changes_nothing(phone, world, household_b):
    data = phone.send("visit", visit_record(household_b)).json()
    other = enrol(world.officer_b)
    response = phone.post(f"{ITEMS}/{data['id']}/resolve", {"device": other.device_id, "option": "discard"})
    assert response.status_code == 409 and response.json()["code"] == "device_other_user"
    assert SyncItem.objects.get(client_id=data["id"]).status == ItemStatus.CONFLICT


def test_not_signed_in_is_a_json_401(phone, household, client):
    body = phone.body("visit", visit_record(household))
    response = client.post(ITEMS, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "login" and response.json()["detail"]
    assert Visit.objects.count() == 0


def test_a_role_without_the_workspace_is_refused(world):
    from django.test import Client

    c = Client()
    c.force_login(world.dispatcher)
    response = c.post("/m/api/device", data="{}", content_type="application/json")
    assert response.status_code == 403 and response.json()["detail"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"id": "not-a-uuid"}, "记录编号无效"),
        ({"id": 12}, "记录编号无效"),
        ({"kind": "teleport"}, "未知的记录类别"),
        ({"recorded_at": "yesterday"}, "记录时间无效"),
        ({"recorded_at": "2026-11-28T10:00:00"}, "记录时间无效"),  # no offset
        ({"summary": "长" * 121}, "记录摘要无效"),
        ({"sealed": "abc"}, "记录无法解密"),
        ({"sealed": {"epk": "AA", "iv": "AA", "ct": "AA"}}, "记录无法解密"),
    ],
)
def test_malformed_bodies_are_400_in_chinese(phone, household, change, message):
    body = {**phone.body("visit", visit_record(household)), **change}
    response = phone.post(ITEMS, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert SyncItem.objects.count() == 0


def test_a_body_that_is_not_json_is_400(phone):
    assert phone.post(ITEMS, "{not json").status_code == 400
    assert phone.post(ITEMS, "[1, 2]").status_code == 400


def test_tampered_ciphertext_is_400_and_nothing_is_stored(phone, household):
    body = phone.body("visit", visit_record(household))
    ct = sealing.b64d(body["sealed"]["ct"])
    body["sealed"]["ct"] = sealing.b64e(bytes([ct[0] ^ 1]) + ct[1:])

    response = phone.post(ITEMS, body)

    assert response.status_code == 400
    assert response.json()["detail"] == "记录无法解密（终端密钥已更换），请重新录入"
    assert SyncItem.objects.count() == 0 and Visit.objects.count() == 0


def test_a_record_sealed_for_another_client_id_does_not_open(phone, household):
    body = phone.body("visit", visit_record(household))
    body["id"] = str(uuid.uuid4())
    assert phone.post(ITEMS, body).status_code == 400


def test_a_record_sealed_for_another_device_does_not_open(phone, household):
    second = enrol(phone.user)
    body = second.body("visit", visit_record(household))
    body["device"] = phone.device_id
    assert phone.post(ITEMS, body).status_code == 400


def test_a_body_over_12_mb_is_413(phone):
    response = phone.post(ITEMS, json.dumps({"pad": "x" * (12 * 1024 * 1024)}))
    assert response.status_code == 413
    assert response.json()["detail"]


def test_a_large_body_under_12_mb_is_read(phone, household, tmp_path, settings):
    """Over Django's 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE, under our limit: read, and the photo refused as
    not an image (it is padding) — never a RequestDataTooBig 400/500."""
    settings.MEDIA_ROOT = tmp_path
    body = phone.body("visit", visit_record(household, photo="data:image/jpeg;base64," + "QUFB" * 800_000))
    assert len(json.dumps(body)) > 3 * 1024 * 1024
    data = phone.post(ITEMS, body).json()
    assert data["status"] == "rejected" and data["detail"] == "上传的文件不是有效的图片"


def test_get_is_405(phone):
    assert phone.client.get(ITEMS).status_code == 405


def test_last_seen_is_updated(phone, household):
    assert phone.device.last_seen_at is None
    phone.send("visit", visit_record(household))
    assert phone.device.last_seen_at is not None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "device": JSONISH,
        "id": st.one_of(JSONISH, st.uuids().map(str)),
        "kind": st.one_of(JSONISH, st.sampled_from(["visit", "clock_in", "patrol_points"])),
        "recorded_at": st.one_of(JSONISH, st.just("2026-11-28T10:00:00+08:00")),
        "summary": JSONISH,
        "sealed": JSONISH,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(FIELDS, JSONISH))
def test_random_bodies_never_500(phone, body):
    if isinstance(body, dict) and body.get("device") == "__mine__":
        body["device"] = phone.device_id
    response = phone.post(ITEMS, json.dumps(body))
    assert response.status_code in (400, 403), response.content
    assert response.json()["detail"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(JSONISH, st.uuids().map(str)),
            "kind": st.one_of(JSONISH, st.sampled_from(["visit", "patrol_start", "alarm_arrive"])),
            "recorded_at": st.one_of(JSONISH, st.just("2026-11-28T10:00:00+08:00")),
            "sealed": JSONISH,
        },
    )
)
def test_random_bodies_of_a_valid_device_never_500(phone, fields):
    body = {"device": phone.device_id, **fields}
    response = phone.post(ITEMS, json.dumps(body))
    assert response.status_code == 400, response.content
    assert response.json()["detail"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    record=JSONISH, kind=st.sampled_from(["visit", "patrol_start", "patrol_points", "clock_in", "clock_out"])
)
def test_random_sealed_records_are_answered_never_500(phone, record, kind):
    response = phone.send(kind, record)
    assert response.status_code == 200, response.content
    assert response.json()["status"] in ("rejected", "conflict")


# --- concurrency (PostgreSQL: real row locks between two connections) ------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_of_the_same_id_apply_once(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to lose")
    house = make_house(world.grid_a)
    household = registry_services.create_household(house=house, household_no="350503009")
    phone = enrol(world.officer_a)
    body = json.dumps(phone.body("visit", visit_record(household)))
    barrier = threading.Barrier(2)
    results: list = []

    def post():
        try:
            from django.test import Client

            c = Client()
            c.force_login(world.officer_a)
            barrier.wait()
            results.append(c.post(ITEMS, data=body, content_type="application/json"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r.status_code for r in results] == [200, 200]
    answers = [r.json() for r in results]
    assert sorted(a["replayed"] for a in answers) == [False, True]
    assert {a["status"] for a in answers} == {"applied"}
    assert Visit.objects.filter(household=household).count() == 1
    assert SyncItem.objects.count() == 1


def test_a_nul_character_anywhere_in_the_body_is_400(phone, household):
    body = phone.body("visit", visit_record(household))
    for change in ({"device": phone.device_id + "\x00"}, {"summary": "a\x00"}, {"extra": {"k\x00": 1}}):
        response = phone.post(ITEMS, {**body, **change})
        assert response.status_code == 400 and response.json()["detail"]
    assert SyncItem.objects.count() == 0


def test_a_nul_character_inside_the_sealed_record_is_rejected(phone, household):
    data = phone.send("visit", visit_record(household, findings="正常\x00")).json()
    assert data["status"] == "rejected" and Visit.objects.count() == 0


def test_only_the_three_sealed_parts_are_kept_on_a_conflict(phone, household_b):
    body = phone.body("visit", visit_record(household_b))
    body["sealed"]["note"] = "明文"
    data = phone.post(ITEMS, body).json()
    assert data["status"] == "conflict"
    assert set(SyncItem.objects.get(client_id=data["id"]).sealed) == {"epk", "iv", "ct"}


def test_resolve_of_an_unknown_or_malformed_id_is_404_and_signed_out_is_401(phone, client):
    assert phone.resolve(str(uuid.uuid4()), "discard").status_code == 404
    assert phone.resolve("987654321", "discard").status_code == 404
    response = client.post(f"{ITEMS}/987654321/resolve", data="{}", content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "login"


def test_the_tick_discards_conflicts_a_revoked_phone_can_no_longer_resolve(phone, household_b, world):
    """After an administrator's sign-out everywhere the phone has wiped its copy: the server keeps nothing of
    the sealed record either (a conflict of a phone still in use stays)."""
    from doorstep.mobile import sync

    conflict = phone.send("visit", visit_record(household_b)).json()
    assert conflict["status"] == "conflict"
    assert sync.purge(timezone.now()) == 0  # the phone may still resolve it

    revoke_sessions(world.officer_a, by=world.admin, reason="手机丢失")
    assert sync.purge(timezone.now()) == 1

    item = SyncItem.objects.get(client_id=conflict["id"])
    assert item.status == "discarded" and item.sealed is None
    assert AuditEntry.objects.filter(action="mobile.item_discarded", object_id=str(item.pk)).exists()
