"""Citizen ID numbers (GB 11643-1999): validation and generation of synthetic, well-formed numbers."""

from __future__ import annotations

import datetime as dt
import random

from django.utils.translation import gettext_noop

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


# GB/T 2260 province-level codes: the first two digits of every division code.
PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
    "91",
}


def ascii_digits(value: str) -> bool:
    """Only 0-9. `str.isdigit()` also takes "²" or "١", which `int()` then refuses with a ValueError (a 500
    from a query parameter or a form field)."""
    return value.isascii() and value.isdigit()


def id_param(value: str | None) -> int | None:
    """A database id from a query parameter or form field, or None: only 0-9 and at most 18 digits, so that
    neither `int()` nor the database (64-bit keys) can refuse it with a 500."""
    return int(value) if value and ascii_digits(value) and len(value) <= 18 else None


def citizen_id_error(value: str | None) -> str | None:
    """Why a citizen ID number is not valid (in Chinese), or None when it is."""
    if not value:
        return gettext_noop("公民身份号码不能为空")
    if len(value) != 18:
        return gettext_noop("公民身份号码应为18位")
    if not ascii_digits(value[:17]) or not (ascii_digits(value[17]) or value[17] in "Xx"):
        return gettext_noop("公民身份号码只能由17位数字和1位数字或X组成")
    if value[:2] not in PROVINCES or value[2:6] == "0000":
        return gettext_noop("公民身份号码的地址码无效")
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return gettext_noop("公民身份号码的出生日期不存在")
    if born.year < 1880 or born > dt.date.today():
        return gettext_noop("公民身份号码的出生日期不合理")
    if value[17].upper() != check_char(value[:17]):
        return gettext_noop("公民身份号码校验位错误")
    return None


def is_valid_citizen_id(value: str) -> bool:
    """True for an 18-character ID with a plausible region, a real birth date and a matching check character."""
    return citizen_id_error(value) is None


def birth_date_of(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def gender_of(value: str) -> str:
    """GB/T 2261.1 code from the sequence digit: odd → 1 (male), even → 2 (female)."""
    return "1" if int(value[16]) % 2 else "2"


# --- unified social credit code (GB 32100-2015) ------------------------------------------------------------
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_error(value: str | None) -> str | None:
    """Why a unified social credit code is not valid (in Chinese), or None when it is."""
    if not value:
        return gettext_noop("统一社会信用代码不能为空")
    value = value.upper()
    if len(value) != 18:
        return gettext_noop("统一社会信用代码应为18位")
    if any(c not in CREDIT_CHARS for c in value):
        return gettext_noop("统一社会信用代码含有无效字符（不使用I、O、Z、S、V）")
    if not ascii_digits(value[2:8]):
        return gettext_noop("统一社会信用代码的登记管理机关行政区划码无效")
    if value[17] != credit_check_char(value[:17]):
        return gettext_noop("统一社会信用代码校验位错误")
    return None


def is_valid_credit_code(value: str) -> bool:
    return credit_code_error(value) is None


def synthetic_credit_code(rng: random.Random, division: str = "350503") -> str:
    body = (
        rng.choice("159")
        + rng.choice("123")
        + division
        + "".join(rng.choice(CREDIT_CHARS[:10]) for _ in range(9))
    )
    return body + credit_check_char(body)


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
