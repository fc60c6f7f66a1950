"""Scoped reads of the registry. Every page, export and API queryset starts here."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from doorstep.org.territory import Territory
from doorstep.registry.choices import ConcernStatus
from doorstep.registry.models import (
    Address,
    ColourChange,
    House,
    Household,
    Person,
    PersonOfConcern,
    Unit,
    Visit,
)
from doorstep.registry.privacy import log_concern_read, may_see_concerns


def addresses_for(user: Any) -> QuerySet[Address]:
    return Territory.for_user(user).filter(Address.objects.select_related("grid"))


def houses_for(user: Any) -> QuerySet[House]:
    return Territory.for_user(user).filter(House.objects.select_related("address", "grid"))


def households_for(user: Any) -> QuerySet[Household]:
    return Territory.for_user(user).filter(Household.objects.select_related("house__address", "grid", "head"))


def persons_for(user: Any) -> QuerySet[Person]:
    return Territory.for_user(user).filter(
        Person.objects.select_related("grid", "house__address", "household")
    )


def units_for(user: Any) -> QuerySet[Unit]:
    return Territory.for_user(user).filter(Unit.objects.select_related("address", "grid"))


def visits_for(user: Any) -> QuerySet[Visit]:
    return Territory.for_user(user).filter(
        Visit.objects.select_related("household__house__address", "visited_by")
    )


def colour_history_for(user: Any) -> QuerySet[ColourChange]:
    return Territory.for_user(user).filter(ColourChange.objects.all())


def concerns_for(user: Any) -> QuerySet[PersonOfConcern]:
    """Persons of concern the user may see: none for roles that do not need them. Callers must log what they
    show with `read_concerns` (the queryset itself is lazy and logs nothing)."""
    if not may_see_concerns(user):
        return PersonOfConcern.objects.none()
    qs = PersonOfConcern.objects.select_related(
        "person", "person__grid__community", "transfer_to__community__station", "requested_by", "decided_by"
    )
    territory = Territory.for_user(user)
    if territory.whole:
        return qs
    grids = territory.ids_at("grid")
    # A transfer is seen by the receiving side too, which must decide it.
    return qs.filter(
        Q(person__grid_id__in=grids) | Q(status=ConcernStatus.TRANSFER_REQUESTED, transfer_to_id__in=grids)
    )


def read_concerns(user: Any, qs: QuerySet[PersonOfConcern], purpose: str = "") -> list[PersonOfConcern]:
    """Evaluate a concern queryset and write the access-log row for exactly what is returned."""
    rows = list(qs)
    log_concern_read(user, [c.pk for c in rows], purpose)
    return rows
