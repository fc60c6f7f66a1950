"""Devices of the phone workspace: enrolment, revocation at logout, and revocation by an administrator
signing the user out everywhere (sessions_revoked_at) or deactivating the account."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from doorstep.accounts.services import reset_two_factor, revoke_sessions
from doorstep.audit.models import AuditEntry
from doorstep.mobile import devices, sealing
from doorstep.mobile.models import Device
from doorstep.mobile.tests.conftest import DEVICE, enrol


def test_enrol_answers_the_device_and_its_public_key(world):
    phone = enrol(world.officer_a, label="  华为 Mate\n浏览器 ")
    device = phone.device
    assert device.user == world.officer_a and device.label == "华为 Mate 浏览器"
    assert len(device.public_id) >= 20 and device.salt
    assert phone.public_key == sealing.public_key(device.salt)
    entry = AuditEntry.objects.get(action="mobile.device_enrol", object_id=str(device.pk))
    assert device.salt not in json.dumps(entry.after)


def test_each_enrolment_is_a_new_device(world):
    a, b = enrol(world.officer_a), enrol(world.officer_a)
    assert a.device_id != b.device_id and a.public_key != b.public_key


def test_enrol_needs_a_signed_in_workspace_user(world, client):
    assert client.post(DEVICE, data="{}", content_type="application/json").status_code == 401
    c = Client()
    c.force_login(world.evaluator)
    assert c.post(DEVICE, data="{}", content_type="application/json").status_code == 403
    assert Device.objects.count() == 0


def test_a_bad_label_is_400(world):
    c = Client()
    c.force_login(world.officer_a)
    response = c.post(DEVICE, data=json.dumps({"label": ["x"]}), content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"]


def test_the_owner_revokes_at_logout(phone):
    response = phone.post(f"/m/api/device/{phone.device_id}/revoke", {})
    assert response.status_code == 200
    device = phone.device
    assert device.revoked_at is not None and devices.is_revoked(device)
    assert AuditEntry.objects.filter(action="mobile.device_revoke", object_id=str(device.pk)).count() == 1
    assert phone.post(f"/m/api/device/{phone.device_id}/revoke", {}).status_code == 200
    assert AuditEntry.objects.filter(action="mobile.device_revoke").count() == 1


def test_another_users_device_cannot_be_revoked(phone, world):
    other = enrol(world.officer_b)
    response = other.post(f"/m/api/device/{phone.device_id}/revoke", {})
    assert response.status_code == 404
    assert not devices.is_revoked(phone.device)


@pytest.mark.parametrize("how", ["revoke_sessions", "reset_two_factor"])
def test_signing_out_everywhere_revokes_devices_enrolled_before(phone, world, how):
    before = phone.device
    assert not devices.is_revoked(before)
    if how == "revoke_sessions":
        revoke_sessions(world.officer_a, by=world.admin, reason="手机丢失")
    else:
        reset_two_factor(world.officer_a, by=world.admin, reason="手机丢失")

    assert devices.is_revoked(Device.objects.select_related("user").get(pk=before.pk))
    after = enrol(world.officer_a)  # enrolled after the sign-out: a new, valid device
    assert not devices.is_revoked(Device.objects.select_related("user").get(public_id=after.device_id))


def test_an_inactive_user_has_only_revoked_devices(phone, world):
    world.officer_a.is_active = False
    world.officer_a.save(update_fields=["is_active"])
    assert devices.is_revoked(Device.objects.select_related("user").get(public_id=phone.device_id))


def test_last_seen_is_written_at_most_once_a_minute(phone):
    device = phone.device
    devices.touch(device)
    first = Device.objects.get(pk=device.pk).last_seen_at
    devices.touch(Device.objects.get(pk=device.pk))
    assert Device.objects.get(pk=device.pk).last_seen_at == first
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=2))
    devices.touch(Device.objects.get(pk=device.pk))
    assert Device.objects.get(pk=device.pk).last_seen_at > first


def confirm(phone, device_id):
    return phone.post(DEVICE, {"label": "测试手机", "device": device_id})


def test_confirming_a_valid_device_answers_the_same_device(phone):
    response = confirm(phone, phone.device_id)
    assert response.status_code == 200
    assert response.json() == {"device": phone.device_id, "public_key": phone.public_key}
    assert Device.objects.count() == 1


@pytest.mark.parametrize("how", ["revoke_sessions", "logout"])
def test_confirming_a_revoked_device_enrols_a_new_one(phone, world, how):
    if how == "revoke_sessions":
        revoke_sessions(world.officer_a, by=world.admin, reason="手机丢失")
        phone.client.force_login(world.officer_a)  # the officer signs in again
    else:
        assert phone.post(f"/m/api/device/{phone.device_id}/revoke", {}).status_code == 200
    response = confirm(phone, phone.device_id)
    assert response.status_code == 201
    data = response.json()
    assert data["renewed"] is True and data["device"] != phone.device_id
    fresh = Device.objects.select_related("user").get(public_id=data["device"])
    assert fresh.user == world.officer_a and not devices.is_revoked(fresh)
    assert data["public_key"] == sealing.public_key(fresh.salt)


def test_confirming_an_unknown_device_enrols_a_new_one(phone):
    response = confirm(phone, "no-such-device")
    assert response.status_code == 201 and response.json()["renewed"] is True


def test_confirming_another_users_device_is_409_and_enrols_nothing(phone, world):
    other = enrol(world.officer_b)
    response = confirm(phone, other.device_id)
    assert response.status_code == 409
    assert response.json()["code"] == "device_other_user" and response.json()["detail"]
    assert Device.objects.count() == 2
    assert not devices.is_revoked(other.device)
