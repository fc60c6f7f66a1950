"""Residents' phones on the portal: validation of a mainland mobile number, the keyed hash that stands in for
it where only sameness matters (one survey answer per phone), and one-time codes sent by text message
(core.sms) to prove a phone before a survey answer or a booking."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core import sms
from doorstep.core.errors import ServiceError
from doorstep.portal.models import PhoneCode

MOBILE_RE = re.compile(r"1[3-9]\d{9}")
CODE_MINUTES = 5
CODE_ATTEMPTS = 5
CODE_DIGITS = 6


def clean_mobile(value: str | None) -> str:
    """An 11-digit mainland mobile number (ASCII digits, spaces and hyphens dropped), or ServiceError."""
    phone = re.sub(r"[\s-]", "", value or "")
    if not (phone.isascii() and MOBILE_RE.fullmatch(phone)):
        raise ServiceError(_("请填写正确的11位手机号码"), code="phone")
    return phone


def phone_hash(phone: str) -> str:
    """A keyed hash of the number: the same phone always gives the same value, and the value gives no phone
    back without the server's key (a dictionary of all 10¹⁰ mobile numbers is useless without it)."""
    key = hashlib.sha256(b"doorstep.portal.phone:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(phone: str, purpose: str, scope: str = "") -> None:
    """Text a fresh one-time code to `phone` for `purpose` (and `scope`, e.g. a survey token). Earlier
    unused codes for the same purpose stop working. The caller has counted the rate limits."""
    phone = clean_mobile(phone)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    now = timezone.now()
    digest = phone_hash(phone)
    with transaction.atomic():
        PhoneCode.objects.filter(
            phone_hash=digest, purpose=purpose, scope=scope, used_at__isnull=True
        ).update(used_at=now)
        PhoneCode.objects.create(
            phone_hash=digest,
            purpose=purpose,
            scope=scope,
            code_hash=_code_hash(phone, code),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=CODE_MINUTES),
        )
    text = _("【家门口派出所】验证码%(code)s，%(minutes)s分钟内有效。如非本人操作请忽略。") % {
        "code": code,
        "minutes": CODE_MINUTES,
    }
    try:
        sms.send(phone, text)
    except sms.SmsError as exc:
        raise ServiceError(_("短信发送失败，请稍后再试"), code="phone") from exc


def verify_code(phone: str, code: str, purpose: str, scope: str = "") -> bool:
    """Whether `code` is the live code for this phone, purpose and scope; a right code is used up, a wrong one
    counts an attempt (after CODE_ATTEMPTS the code is dead)."""
    phone = clean_mobile(phone)
    code = (code or "").strip()
    now = timezone.now()
    with transaction.atomic():
        row = (
            PhoneCode.objects.select_for_update()
            .filter(
                phone_hash=phone_hash(phone),
                purpose=purpose,
                scope=scope,
                used_at__isnull=True,
                expires_at__gt=now,
                attempts__lt=CODE_ATTEMPTS,
            )
            .order_by("-created_at")
            .first()
        )
        if row is None:
            return False
        if hmac.compare_digest(row.code_hash, _code_hash(phone, code)):
            row.used_at = now
            row.save(update_fields=["used_at"])
            return True
        row.attempts += 1
        row.save(update_fields=["attempts"])
        return False


def purge(now: dt.datetime) -> int:
    """Delete codes a day past their expiry (periodic job)."""
    deleted, _ = PhoneCode.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
    return deleted
