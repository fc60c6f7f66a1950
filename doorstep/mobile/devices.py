"""The phones a workspace is installed on (ADR 0024): enrolment, revocation, and whether a device may still
send. A device is revoked when it was revoked itself (logout of the workspace), when an administrator signed
its user out everywhere after it was enrolled (`User.sessions_revoked_at`, also set by a 2FA reset), or when
its user is no longer active: records still queued on it are then refused."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.mobile import access, sealing
from doorstep.mobile.models import Device

MAX_LABEL = 120
TOUCH_EVERY = dt.timedelta(minutes=1)


def _audit_view(device: Device) -> dict[str, Any]:
    """A device's audit snapshot: never its salt (with SECRET_KEY it is the device's private key)."""
    return {
        "user": device.user_id,
        "public_id": device.public_id,
        "label": device.label,
        "revoked_at": device.revoked_at.isoformat() if device.revoked_at else None,
        "revoked_reason": device.revoked_reason,
    }


def enrol(user: Any, label: str = "") -> Device:
    """登记终端: a new device for the user, with a random public id and key salt."""
    if not access.may_use(user):
        raise NotAllowed(_("您的角色不能使用移动警务"))
    if not isinstance(label, str):
        raise ServiceError(_("终端说明应为文字"), code="label")
    label = " ".join(label.split())[:MAX_LABEL]
    with transaction.atomic():
        device = Device.objects.create(
            user=user,
            public_id=secrets.token_urlsafe(16),
            salt=sealing.new_salt(),
            label=label,
        )
        record_change(user, "mobile.device_enrol", device, after=_audit_view(device))
    return device


def revoke(device: Device, *, by: Any, reason: str) -> Device:
    """吊销终端: the device's queued records can no longer be opened or sent. Revoking twice changes nothing."""
    if by is None or (by.pk != device.user_id and not getattr(by, "is_superuser", False)):
        raise NotAllowed(_("只能注销本人的终端"))
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is None:
            before = _audit_view(locked)
            locked.revoked_at = timezone.now()
            locked.revoked_reason = (reason or "")[:200]
            locked.save(update_fields=["revoked_at", "revoked_reason"])
            record_change(by, "mobile.device_revoke", locked, before=before, after=_audit_view(locked))
    device.revoked_at, device.revoked_reason = locked.revoked_at, locked.revoked_reason
    return device


def is_revoked(device: Device) -> bool:
    user = device.user
    if device.revoked_at is not None or not user.is_active:
        return True
    return bool(user.sessions_revoked_at and user.sessions_revoked_at > device.enrolled_at)


def device_of(user: Any, public_id: Any) -> Device | None:
    """The user's device with this public id (revoked or not), or None — never another user's."""
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32 or getattr(user, "pk", None) is None:
        return None
    return Device.objects.select_related("user").filter(user=user, public_id=public_id).first()


def touch(device: Device) -> None:
    """Note that the device was seen: written at most once a minute (a queue flush sends many items)."""
    now = timezone.now()
    if device.last_seen_at is not None and now - device.last_seen_at < TOUCH_EVERY:
        return
    Device.objects.filter(pk=device.pk).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - TOUCH_EVERY)
    ).update(last_seen_at=now)
    device.last_seen_at = now


def is_other_users(user: Any, public_id: Any) -> bool:
    """True when a device with this public id exists but is another user's (a shared phone whose browser
    still holds the previous officer's queue): that queue is refused without being called revoked."""
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 32 or getattr(user, "pk", None) is None:
        return False
    return Device.objects.filter(public_id=public_id).exclude(user=user).exists()
