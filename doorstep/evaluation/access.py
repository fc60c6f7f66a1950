"""Who may do what with incidents, collection baselines and verification samples, and every scoped read.

- Incidents (发案): the evaluation office, leaders and administrators see all of them; station directors see
  their station's; community officers see their grids'. Directors, officers, the evaluation office and
  administrators record, correct, delete and import them (each inside their own territory); leaders see but
  may not act (403). Other roles have no incident pages (404).
- Baselines (应采集基数) and verification samples (核查抽样) are kept by the evaluation office and
  administrators; leaders see all of them and directors their station's, without acting (403). Other roles
  have no such pages (404).
- An object outside the user's territory is a 404, never a 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from doorstep.accounts.choices import Role
from doorstep.evaluation.models import Baseline, Incident, Verification
from doorstep.org.models import Grid
from doorstep.org.territory import Territory, get_in_territory

INCIDENT_VIEW_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR, Role.OFFICER})
INCIDENT_RECORD_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR, Role.OFFICER})
SAMPLE_VIEW_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR})
SAMPLE_KEEP_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})
MAX_PK = 2**63  # a path id beyond 64 bits is a 404, not an OverflowError from the database


def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


# --- incidents ---------------------------------------------------------------------------------------------
def may_view_incidents(user: Any) -> bool:
    return role(user) in INCIDENT_VIEW_ROLES


def may_record_incidents(user: Any) -> bool:
    """May record (and correct, delete, import) incidents at all; each grid must still be in the territory."""
    return role(user) in INCIDENT_RECORD_ROLES


def may_record_in(user: Any, grid: Any) -> bool:
    territory = Territory.for_user(user)
    return may_record_incidents(user) and (territory.whole or grid.pk in territory.grid_ids)


def require_incident_view(user: Any) -> None:
    if not may_view_incidents(user):
        raise Http404


def incidents_for(user: Any) -> QuerySet[Incident]:
    if not may_view_incidents(user):
        return Incident.objects.none()
    return Territory.for_user(user).filter(
        Incident.objects.select_related("grid", "grid__community", "grid__community__station", "intake")
    )


def get_incident_for(user: Any, pk: int) -> Incident:
    require_incident_view(user)
    if not 0 < pk < MAX_PK:
        raise Http404
    return get_in_territory(user, incidents_for(user), pk=pk)


def intake_grids(user: Any, intake: Any) -> QuerySet[Grid]:
    """The grids a service-desk case may be registered in: the grid of its address, or a grid of its police
    room's community — those of them in the user's territory."""
    where = Q(community_id=intake.room.community_id)
    if intake.address_id:
        where |= Q(pk=intake.address.grid_id)
    return Territory.for_user(user).grids().filter(where)


# --- baselines and verification samples -------------------------------------------------------------------
def may_view_samples(user: Any) -> bool:
    return role(user) in SAMPLE_VIEW_ROLES


def may_keep_samples(user: Any) -> bool:
    return role(user) in SAMPLE_KEEP_ROLES


def require_sample_view(user: Any) -> None:
    if not may_view_samples(user):
        raise Http404


def baselines_for(user: Any) -> QuerySet[Baseline]:
    if not may_view_samples(user):
        return Baseline.objects.none()
    return Territory.for_user(user).filter(
        Baseline.objects.select_related("grid", "grid__community", "created_by")
    )


def verifications_for(user: Any) -> QuerySet[Verification]:
    if not may_view_samples(user):
        return Verification.objects.none()
    return Territory.for_user(user).filter(
        Verification.objects.select_related("grid", "grid__community", "checked_by")
    )
