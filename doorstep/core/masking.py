"""Display masking of personal identifiers (DOMAIN.md: ID `350503********1234`, phone `138****5678`)."""

from __future__ import annotations

import re

# An 18-character citizen ID (GB 11643) or an 11-digit mainland mobile number inside free text.
CITIZEN_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_citizen_id(value: str | None) -> str:
    """Keep the 6-digit region and the last 4 characters."""
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Keep the first 3 and last 4 digits of a mobile number; landlines keep area code and last 4."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask every citizen ID and mobile number inside free text (used for log records)."""
    text = CITIZEN_ID_RE.sub(lambda m: m.group(1) + "********" + m.group(3), text)
    return MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def mask_name(name: str | None) -> str:
    """A resident's name where only the surname may show (the phone's offline list): 张** for 张三丰."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)
