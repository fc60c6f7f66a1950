"""Citizen ID numbers (GB 11643-1999): validation and generation of synthetic, well-formed numbers."""

from __future__ import annotations

import datetime as dt
import random

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid_citizen_id(value: str) -> bool:
    """True for an 18-character ID with a real birth date and a matching check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1880 or born > dt.date.today():
        return False
    return value[17].upper() == check_char(value[:17])


def synthetic_citizen_id(rng: random.Random, region: str = "350503", *, male: bool | None = None) -> str:
    """A well-formed ID for synthetic demo data (never a real person's: the sequence is random)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    seq = rng.randrange(0, 500) * 2 + (1 if (male if male is not None else rng.random() < 0.5) else 0)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def synthetic_mobile(rng: random.Random) -> str:
    return (
        rng.choice(["138", "139", "150", "152", "158", "186", "187", "189"]) + f"{rng.randrange(10**8):08d}"
    )
