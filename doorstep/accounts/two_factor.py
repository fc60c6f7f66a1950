"""Two-factor login policy (issue #12 item 3): who must pass it, and whether a session has.

The writes (enrolment, verification, recovery codes, resets) are in accounts.services; this module holds the
small reads the login view, the enforcement middleware and the WebSocket check share.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from doorstep.accounts.choices import TWO_FACTOR_ROLES

# Set at password login for a user who must still pass the second factor because they enrolled although their
# role does not require it (or the setting is off): the middleware then holds the session like a required one.
PENDING_SESSION_KEY = "doorstep_two_factor_pending"


def required_for(user: Any) -> bool:
    """The user's role must pass two-factor login (TWO_FACTOR_REQUIRED on and the role in TWO_FACTOR_ROLES)."""
    if not settings.TWO_FACTOR_REQUIRED or user is None or not user.is_authenticated:
        return False
    return bool(user.is_superuser or user.role in TWO_FACTOR_ROLES)


def totp_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator, if enrolled."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def is_enrolled(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def asks_second_factor(user: Any) -> bool:
    """At password login: does this user go on to the second factor?"""
    return required_for(user) or is_enrolled(user)


def session_must_verify(user: Any, session: Any) -> bool:
    """This signed-in session must pass the second factor before it reaches anything else."""
    return required_for(user) or bool(session is not None and session.get(PENDING_SESSION_KEY))


def session_is_verified(user: Any, session: Any) -> bool:
    """The session passed the second factor with one of the user's confirmed devices (what OTPMiddleware
    computes for HTTP requests, for callers without it: the WebSocket check)."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return bool(device is not None and device.user_id == user.pk and device.confirmed)
