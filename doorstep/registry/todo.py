"""The officer's visit to-do list (走访待办): households whose visit is overdue or due soon, red first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When

from doorstep.registry import selectors
from doorstep.registry.choices import Colour
from doorstep.registry.models import Household

DUE_SOON_DAYS = 7


def visit_todo(user: Any, today: dt.date, *, days: int = DUE_SOON_DAYS) -> QuerySet[Household]:
    """Households in the user's territory due for a visit within `days` (overdue ones included), most urgent
    colour first, then the longest overdue."""
    return (
        selectors.households_for(user)
        .filter(next_visit_due__lte=today + dt.timedelta(days=days))
        .annotate(
            urgency=Case(
                When(colour=Colour.RED, then=Value(0)),
                When(colour=Colour.YELLOW, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("urgency", "next_visit_due", "id")
    )


def visit_todo_counts(user: Any, today: dt.date, *, days: int = DUE_SOON_DAYS) -> dict[str, int]:
    qs = selectors.households_for(user).filter(next_visit_due__lte=today + dt.timedelta(days=days))
    overdue = qs.filter(next_visit_due__lt=today).count()
    return {"overdue": overdue, "due_soon": qs.count() - overdue}
