"""Form validators shared by the apps."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

FIRST_YEAR, LAST_YEAR = 2000, 2100


def within_service_years(value: dt.date | dt.datetime | None) -> None:
    """Dates of police work lie between 2000 and 2100: year 1 or 9999 is a typo, and one the database (or a
    time-zone shift of a few hours) could not even hold."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(
            _("日期须在 %(first)s 年到 %(last)s 年之间") % {"first": FIRST_YEAR, "last": LAST_YEAR},
            code="year",
        )
