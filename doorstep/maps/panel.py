"""The house panel of the 3D map: an HTML fragment the map page fetches into its side panel on a click.

It shows what the registry house page shows to the same user, in short: colour reasons through
`display.shown_reasons` (no names of persons of concern, so no concern read to log), residents with masked
identifiers and no reveal, and links to the full records. The queries do not grow with the residents.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from doorstep.core.masking import mask_text
from doorstep.org.territory import get_in_territory
from doorstep.registry import privacy, selectors
from doorstep.registry.display import shown_reasons

RECENT_VISITS = 5


def _overdue_days(due, today) -> int:
    return (today - due).days if due and due < today else 0


@login_required
@require_GET
def house_panel(request, pk: int):
    user = request.user
    house = get_in_territory(user, selectors.houses_for(user), pk=pk)
    today = timezone.localdate()
    households = list(
        selectors.households_for(user)
        .filter(house=house)
        .annotate(member_count=Count("members"))
        .order_by("household_no", "id")
    )
    for household in households:
        household.reasons = shown_reasons(user, household.colour_reasons)
        household.overdue_days = _overdue_days(household.next_visit_due, today)
    residents = list(selectors.persons_for(user).filter(house=house).order_by("household_id", "name", "id"))
    residents.sort(key=lambda p: (p.household_id is None, p.household_id or 0, p.relation_to_head != "户主"))
    for person in residents:
        person.shown_id = (
            privacy.masked("id_number", person.id_number)
            if person.id_number
            else privacy.masked("document_number", person.document_number)
        )
        person.shown_phone = privacy.masked("phone", person.phone)
    visits = list(
        selectors.visits_for(user)
        .filter(household__house=house)
        .order_by("-visited_at", "-id")[:RECENT_VISITS]
    )
    for visit in visits:
        # Free text may hold an ID number or a phone: masked before it is shortened, so no half number shows.
        visit.summary = mask_text(visit.findings)
    context = {
        "house": house,
        "reasons": shown_reasons(user, house.colour_reasons),
        "households": households,
        "residents": residents,
        "visits": visits,
        "overdue_days": _overdue_days(house.next_visit_due, today),
    }
    response = render(request, "maps/house_panel.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
