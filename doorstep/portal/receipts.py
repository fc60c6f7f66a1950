"""Receipt codes (回执码): the only key a resident holds to find a submission again, so they must be unguessable
and easy to read out over the phone. 12 characters from a 32-character alphabet without the look-alikes
0/O and 1/I (60 bits from `secrets`), stored without separators and shown as XXXX-XXXX-XXXX."""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: 5 bits each, 12 of them = 60 bits
LENGTH = 12
GROUP = 4
_SEPARATORS = re.compile(r"[\s\-_－—]+")


def new_code() -> str:
    """A fresh random code, stored form (no hyphens)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    """The code grouped in fours for reading (XXXX-XXXX-XXXX)."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(value: str | None) -> str | None:
    """The stored form of what a resident typed (any case, spaces and hyphens), or None when it cannot be a
    code at all (wrong length or a character outside the alphabet)."""
    text = _SEPARATORS.sub("", (value or "")[:40]).upper()
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text
