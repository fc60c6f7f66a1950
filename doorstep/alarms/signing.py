"""What the HTTP and MQTT receivers share: the device's HMAC signature, the clock-skew rule, and the checks
of the event fields (`event_id`, `type`, `occurred_at`).

A signature is the hex HMAC-SHA256, keyed with the device's secret, of ``timestamp + "." + message``:
over HTTP the message is the request body; over MQTT it is the canonical text of `mqtt_message` (see
`doorstep/alarms/mqtt.py`). An unknown device and a bad signature look the same to the caller, and take
the same time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from doorstep.alarms.choices import EventType
from doorstep.alarms.models import AlarmDevice

MAX_SKEW_SECONDS = 300
DEVICE_TYPES = {t.value for t in EventType if t != EventType.UNKNOWN}
_NO_SECRET = "0" * 64


def signature(secret: str, timestamp: str, message: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp + "." + message`` keyed with ``secret``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + message, hashlib.sha256).hexdigest()


def signature_ok(device: AlarmDevice | None, timestamp: str, message: bytes, sent: str) -> bool:
    """True only for a known device that has a secret (a DC-09 panel has none: it cannot sign) and whose
    secret signed this. Computed even without one, so the answer takes the same time either way."""
    has_secret = device is not None and bool(device.secret)
    secret = device.secret if has_secret else _NO_SECRET
    return hmac.compare_digest(signature(secret, timestamp, message), sent.lower()) and has_secret


def skew_seconds(timestamp: str, now: float | None = None) -> float | None:
    """How far the timestamp (Unix seconds, decimal digits) lies from the server's clock; None when it is
    not such a number."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return None
    return abs((time.time() if now is None else now) - int(timestamp))


def _datetime(value: Any) -> dt.datetime | None:
    try:  # parse_datetime raises ValueError for a well-formed text that is no real date ("2026-13-01...")
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def check_event_fields(data: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Validate the event fields of a decoded JSON body: ``({event_id, type, occurred_at (UTC)}, {})``, or
    ``(None, {field: message})``."""
    if not isinstance(data, dict):
        return None, {"body": _("请求体应为 JSON 对象")}
    errors = {}
    event_id = data.get("event_id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 80:
        errors["event_id"] = _("event_id 应为1至80个字符的字符串")
    event_type = data.get("type")
    if event_type not in DEVICE_TYPES:
        errors["type"] = _("type 应为 %(types)s 之一") % {"types": "、".join(sorted(DEVICE_TYPES))}
    occurred = _datetime(data.get("occurred_at"))
    if occurred is None or occurred.tzinfo is None:
        errors["occurred_at"] = _("occurred_at 应为带时区的 ISO 8601 时间")
    if errors:
        return None, errors
    return {"event_id": event_id, "type": event_type, "occurred_at": occurred.astimezone(dt.UTC)}, {}
