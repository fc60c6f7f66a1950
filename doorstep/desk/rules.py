"""Pure rules of the service desk: due times, receipt numbers and case numbers.

Due times: a limit in working days counts the working days of the Chinese working-day calendar
(`org.workdays.WorkCalendar`: Monday–Friday minus public holidays plus adjusted working weekends, 调休),
starting the day after receipt, and ends at the end (23:59:59 local) of the last counted day. The services
pass the calendar read from the database; without one (the pure rule) it is Monday–Friday.
A limit in hours is calendar hours from receipt. 即办 items are due at the end of the day of receipt.

Receipt numbers (回执号): `RRRRR-YYMMDD-XXXXXC`: the room's code (last five digits of its community
code), the local date, five random characters from a 31-letter alphabet without look-alikes (drawn with
`secrets`, so one resident's number says nothing about the next one's: 31⁵ ≈ 2.9·10⁷ per room per day)
and a check character over the whole, so a mistyped number is refused rather than finding someone else's.

The check character (since #7): every character has one value, its place in `VALUES` (digits, then the
letters of ALPHABET: 33 symbols), and the check character is the one of ALPHABET that makes
Σ (i + 1) · value(cᵢ) ≡ 0 (mod 31) over all 17 characters. 31 is prime, the weights 1–17 are non-zero and
differ between neighbours, and the characters allowed in any one position have different values mod 31
(digits 0–9; ALPHABET's values 2–32 are 2–30, 0, 1), so every single substitution and every transposition
of neighbours changes the sum and is refused. The first algorithm valued digits and letters in two tables
('0' and '2', '1' and '3' shared a value) and let those typos through.

Receipt numbers are stored whole (`Intake.receipt_no`) and printed on the residents' receipts, so the ones
already issued cannot be rewritten. `legacy_receipt_no` still accepts the first algorithm's check character,
and the lookup uses it only as an exact match on a stored number that fails the current check (i.e. one
issued before #7); every number issued from now on is verified with the current check alone.

Case numbers (案件编号): `<station short name><year>第<5-digit sequence>号`, e.g. `城东所2026第00012号`; the
sequence restarts at 1 every calendar year in each station.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from doorstep.org.workdays import WorkCalendar

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over a counter
RANDOM_LEN = 5
VALUES = "0123456789" + ALPHABET[8:]  # every character's value for the check: digits, then the letters
CHECK_MOD = 31  # prime, and ALPHABET's 31 values are distinct mod 31: a check character for each residue
CHECK_WEIGHT = 11 + RANDOM_LEN + 1  # the check character's own weight (its position, counting from 1)
END_OF_DAY = dt.time(23, 59, 59)


def add_working_days(day: dt.date, n: int, calendar: WorkCalendar | None = None) -> dt.date:
    """The n-th working day after `day` (n = 0: `day` itself)."""
    return (calendar or WorkCalendar()).add_working_days(day, n)


def due_at(
    start: dt.datetime, *, limit: int, unit: str, instant: bool = False, calendar: WorkCalendar | None = None
) -> dt.datetime:
    """When an item received (or restarted) at `start` must be finished."""
    local = timezone.localtime(start)
    if instant:
        return timezone.make_aware(dt.datetime.combine(local.date(), END_OF_DAY))
    if unit == "hours":
        return start + dt.timedelta(hours=limit)
    last = add_working_days(local.date(), limit, calendar)
    return timezone.make_aware(dt.datetime.combine(last, END_OF_DAY))


def room_code(community_code: str) -> str:
    return community_code[-5:].rjust(5, "0")


def _check(body: str) -> str:
    """The check character of a 16-character body (see the module docstring)."""
    total = sum((i + 1) * VALUES.index(c) for i, c in enumerate(body))
    # Solve total + CHECK_WEIGHT · value(check) ≡ 0 (mod 31) for the check's residue.
    residue = (-total * pow(CHECK_WEIGHT, -1, CHECK_MOD)) % CHECK_MOD
    return next(c for c in ALPHABET if VALUES.index(c) % CHECK_MOD == residue)


def _legacy_check(body: str) -> str:
    """The first algorithm's check character, kept only to verify receipts issued before #7."""
    total = sum(
        (i + 1) * ALPHABET.index(c) if c in ALPHABET else (i + 1) * int(c) for i, c in enumerate(body)
    )
    return ALPHABET[total % len(ALPHABET)]


def new_receipt_no(community_code: str, when: dt.datetime) -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LEN))
    body = f"{room_code(community_code)}{timezone.localtime(when):%y%m%d}{random_part}"
    return f"{body[:5]}-{body[5:11]}-{body[11:]}{_check(body)}"


def _compact(value: str) -> str | None:
    """The 17 characters of a typed number when it has the right shape, else None."""
    text = "".join(value.split()).replace("-", "").replace("－", "").upper()
    if len(text) != 11 + RANDOM_LEN + 1 or not text[:11].isascii() or not text[:11].isdigit():
        return None
    if any(c not in ALPHABET for c in text[11:]):
        return None
    return text


def _formatted(text: str) -> str:
    return f"{text[:5]}-{text[5:11]}-{text[11:]}"


def normalise_receipt_no(value: str) -> str | None:
    """A typed receipt number in its stored form, or None when it cannot be one (wrong shape or check)."""
    text = _compact(value)
    if text is None or _check(text[:-1]) != text[-1]:
        return None
    return _formatted(text)


def legacy_receipt_no(value: str) -> str | None:
    """A typed number in stored form when its check character is the first algorithm's (issued before #7).

    Weaker than `normalise_receipt_no` (see the module docstring): use it only for an exact match on a stored
    number, after `normalise_receipt_no` has refused the text."""
    text = _compact(value)
    if text is None or _legacy_check(text[:-1]) != text[-1]:
        return None
    return _formatted(text)


def station_short_name(name: str) -> str:
    return name.replace("派出所", "所") if name.endswith("派出所") else name


def case_number(station_name: str, year: int, seq: int) -> str:
    return f"{station_short_name(station_name)}{year}第{seq:05d}号"
