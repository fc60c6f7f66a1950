"""Applying the colour rules to stored households and houses, in bulk, with history.

Called by every registry service that changes residents, occupancy or listings, inside that service's
transaction, and by `recolour_all` when an administrator changes the rules.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from doorstep.core import tilecache
from doorstep.registry import rules
from doorstep.registry.choices import ConcernStatus, ConcernType, Occupancy, PermitType, PersonCategory
from doorstep.registry.models import ColourChange, ColourRuleSet, House, Household, Person, PersonOfConcern

CHUNK = 2000
MAP_BULK = 500  # more houses changed than this: every map tile is stale, not region by region
LISTED = [
    ConcernStatus.LISTED,
    ConcernStatus.DELISTING_REQUESTED,
    ConcernStatus.TRANSFER_REQUESTED,
    ConcernStatus.RECLASS_REQUESTED,
]


def active_params() -> dict[str, Any]:
    row = ColourRuleSet.objects.order_by("id").first()
    return rules.merged_params(row.params if row else None)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def gather_facts(household_ids: list[int], today: dt.date) -> dict[int, rules.Facts]:
    """The facts of many households in five grouped queries (not one query per household)."""
    base = {
        row["id"]: row
        for row in Household.objects.filter(id__in=household_ids).values(
            "id", "house__occupancy", "house__refused_rectification", "house__responsibility_signed_on"
        )
    }
    floating = dict(
        Person.objects.filter(household_id__in=household_ids, category=PersonCategory.FLOATING)
        .filter(
            Q(permit_type__in=["", PermitType.NONE])
            | Q(permit_expires_on__isnull=True)
            | Q(permit_expires_on__lt=today)
        )
        .values_list("household_id")
        .annotate(n=Count("id"))
        .values_list("household_id", "n")
    )
    mismatch = dict(
        Person.objects.filter(household_id__in=household_ids, registered_here=False)
        .values_list("household_id")
        .annotate(n=Count("id"))
        .values_list("household_id", "n")
    )
    concerns: dict[int, list[str]] = defaultdict(list)
    for household_id, name, concern_type in (
        PersonOfConcern.objects.filter(person__household_id__in=household_ids, status__in=LISTED)
        .values_list("person__household_id", "person__name", "concern_type")
        .order_by("person__name")
    ):
        concerns[household_id].append(f"{name}（{ConcernType(concern_type).label}）")
    facts = {}
    for hid, row in base.items():
        occupancy = row["house__occupancy"]
        facts[hid] = rules.Facts(
            listed_concerns=tuple(concerns.get(hid, ())),
            group_rental=occupancy == Occupancy.GROUP_RENTAL,
            refused_rectification=row["house__refused_rectification"],
            rented=occupancy == Occupancy.RENTED,
            responsibility_signed=row["house__responsibility_signed_on"] is not None,
            floating_without_permit=floating.get(hid, 0),
            registration_mismatch=mismatch.get(hid, 0),
        )
    return facts


def next_due(last_visit: dt.datetime | None, colour: str, params: dict[str, Any], today: dt.date) -> dt.date:
    """Visits are due `visit_days[colour]` after the last one; never visited → due from today."""
    start = timezone.localdate(last_visit) if last_visit else today
    return start + dt.timedelta(days=params["visit_days"][colour])


def _write_verdicts(model: Any, rows: list[tuple[int, str, list[str], dt.date]]) -> None:
    """Save (id, colour, reasons, next due) for many rows: one UPDATE per distinct verdict.

    Most rows share a handful of verdicts ("green, 无风险因素, due in 90 days"), so this is a few statements
    per chunk, where `bulk_update` builds and resolves a CASE expression per row and field (minutes at
    district scale).
    """
    groups: dict[tuple[str, str, dt.date], tuple[list[str], list[int]]] = {}
    for pk, colour, reasons, due in rows:
        key = (colour, json.dumps(reasons, ensure_ascii=False), due)
        groups.setdefault(key, (reasons, []))[1].append(pk)
    for (colour, _json, due), (reasons, ids) in groups.items():
        model.objects.filter(id__in=ids).update(colour=colour, colour_reasons=reasons, next_visit_due=due)


def recolour_households(
    household_ids: Iterable[int],
    *,
    trigger: str,
    params: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> int:
    """Re-evaluate households and then their houses; returns how many households changed colour."""
    params = params or active_params()
    today = today or timezone.localdate()
    ids = sorted(set(household_ids))
    changed = 0
    house_ids: set[int] = set()
    verdicts: dict[rules.Facts, rules.Verdict] = {}  # the rules are pure: equal facts, equal verdict
    for chunk in _chunks(ids):
        facts = gather_facts(chunk, today)
        updates, history = [], []
        for (
            hid,
            grid_id,
            house_id,
            colour,
            reasons,
            last_visit_at,
            next_visit_due,
        ) in Household.objects.filter(id__in=chunk).values_list(
            "id", "grid_id", "house_id", "colour", "colour_reasons", "last_visit_at", "next_visit_due"
        ):
            fact = facts[hid]
            verdict = verdicts.get(fact)
            if verdict is None:
                verdict = verdicts[fact] = rules.evaluate(fact, params)
            house_ids.add(house_id)
            if verdict.colour == colour and verdict.reasons == reasons and next_visit_due is not None:
                continue
            if verdict.colour != colour:
                changed += 1
                history.append(
                    ColourChange(
                        grid_id=grid_id,
                        household_id=hid,
                        old_colour=colour,
                        new_colour=verdict.colour,
                        reasons=verdict.reasons,
                        trigger=trigger[:80],
                    )
                )
            updates.append(
                (hid, verdict.colour, verdict.reasons, next_due(last_visit_at, verdict.colour, params, today))
            )
        _write_verdicts(Household, updates)
        ColourChange.objects.bulk_create(history, batch_size=500)
    recolour_houses(house_ids, trigger=trigger, params=params, today=today)
    return changed


def recolour_houses(
    house_ids: Iterable[int],
    *,
    trigger: str,
    params: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> None:
    """A house takes the worst colour of its households; an empty house is judged on the house alone."""
    params = params or active_params()
    today = today or timezone.localdate()
    moved: list[tuple[float | None, float | None]] = []
    for chunk in _chunks(sorted(set(house_ids))):
        by_house: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
        for house_id, colour, reasons in Household.objects.filter(house_id__in=chunk).values_list(
            "house_id", "colour", "colour_reasons"
        ):
            by_house[house_id].append((colour, reasons))
        updates, history = [], []
        for (
            hid,
            grid_id,
            old_colour,
            old_reasons,
            occupancy,
            refused,
            signed_on,
            next_visit_due,
            last_visit_at,
            lng,
            lat,
        ) in House.objects.filter(id__in=chunk).values_list(
            "id",
            "grid_id",
            "colour",
            "colour_reasons",
            "occupancy",
            "refused_rectification",
            "responsibility_signed_on",
            "next_visit_due",
            "last_visit_at",
            "lng",
            "lat",
        ):
            if by_house.get(hid):
                colour = rules.worst([c for c, _ in by_house[hid]])
                reasons = list(dict.fromkeys(r for c, rs in by_house[hid] if c == colour for r in rs))
            else:
                verdict = rules.evaluate(
                    rules.Facts(
                        group_rental=occupancy == Occupancy.GROUP_RENTAL,
                        refused_rectification=refused,
                        rented=occupancy == Occupancy.RENTED,
                        responsibility_signed=signed_on is not None,
                    ),
                    params,
                )
                colour, reasons = verdict.colour, verdict.reasons
            if colour == old_colour and reasons == old_reasons and next_visit_due is not None:
                continue
            if colour != old_colour:
                history.append(
                    ColourChange(
                        grid_id=grid_id,
                        house_id=hid,
                        old_colour=old_colour,
                        new_colour=colour,
                        reasons=reasons,
                        trigger=trigger[:80],
                    )
                )
            updates.append((hid, colour, reasons, next_due(last_visit_at, colour, params, today)))
            moved.append((lng, lat))
        _write_verdicts(House, updates)
        ColourChange.objects.bulk_create(history, batch_size=500)
    _map_changed(moved)


def _map_changed(points: list[tuple[float | None, float | None]]) -> None:
    """The houses at these points have a new colour or due date: their map tiles, after commit."""
    if len(points) > MAP_BULK:
        transaction.on_commit(tilecache.bump_all)
    elif points:
        transaction.on_commit(lambda: tilecache.bump_points(points))


def recolour_all(*, trigger: str, params: dict[str, Any] | None = None) -> int:
    """Every household and house (after a rule change); returns the number of households that changed."""
    ids = list(Household.objects.values_list("id", flat=True))
    changed = recolour_households(ids, trigger=trigger, params=params)
    empty = House.objects.filter(households__isnull=True).values_list("id", flat=True)
    recolour_houses(list(empty), trigger=trigger, params=params)
    return changed
