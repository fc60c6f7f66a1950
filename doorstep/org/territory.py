"""Territory: the one place that decides which stations, communities and grids a user may see.

Every selector, page, export and API queryset filters through `Territory.for_user(user).filter(qs)`.
A model declares how it hangs off the organisation with a `TERRITORY = (level, lookup)` attribute, e.g.
`("grid", "grid_id")`; ancestors stay visible (a grid officer sees their own community and station) while
siblings do not (the officer of grid A never sees grid B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404

from doorstep.accounts.choices import Scope
from doorstep.org.models import Community, Grid, GridAssignment, Station

_CACHE_ATTR = "_doorstep_territory"


@dataclass(frozen=True)
class Territory:
    scope: Scope | None
    station_ids: frozenset[int]
    community_ids: frozenset[int]
    grid_ids: frozenset[int]
    whole: bool = False  # the whole sub-bureau: no filter at all

    @classmethod
    def empty(cls) -> Territory:
        return cls(None, frozenset(), frozenset(), frozenset())

    @classmethod
    def for_user(cls, user: Any) -> Territory:
        """The user's territory, computed once per user object (i.e. once per request)."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return cls.empty()
        cached = getattr(user, _CACHE_ATTR, None)
        if cached is None:
            cached = cls._compute(user)
            setattr(user, _CACHE_ATTR, cached)
        return cached

    @classmethod
    def _compute(cls, user: Any) -> Territory:
        if user.is_superuser or user.scope == Scope.SUB_BUREAU:
            return cls(Scope.SUB_BUREAU, frozenset(), frozenset(), frozenset(), whole=True)
        if user.scope == Scope.STATION:
            if not user.station_id:
                return cls.empty()
            communities = frozenset(
                Community.objects.filter(station_id=user.station_id).values_list("id", flat=True)
            )
            grids = frozenset(Grid.objects.filter(community_id__in=communities).values_list("id", flat=True))
            return cls(Scope.STATION, frozenset({user.station_id}), communities, grids)
        if user.scope == Scope.COMMUNITY:
            if not user.community_id:
                return cls.empty()
            community = Community.objects.get(pk=user.community_id)
            grids = frozenset(Grid.objects.filter(community_id=community.pk).values_list("id", flat=True))
            return cls(Scope.COMMUNITY, frozenset({community.station_id}), frozenset({community.pk}), grids)
        # Grid level: the grids of the person's current posts, so a transfer moves the territory with it.
        if not user.staff_id:
            return cls.empty()
        rows = (
            GridAssignment.objects.current()
            .filter(staff_id=user.staff_id)
            .values_list("grid_id", "grid__community_id", "grid__community__station_id")
        )
        grids, communities, stations = set(), set(), set()
        for grid_id, community_id, station_id in rows:
            grids.add(grid_id)
            communities.add(community_id)
            stations.add(station_id)
        return cls(Scope.GRID, frozenset(stations), frozenset(communities), frozenset(grids))

    # --- checks ---------------------------------------------------------------------------------------
    def ids_at(self, level: str) -> frozenset[int]:
        return {"station": self.station_ids, "community": self.community_ids, "grid": self.grid_ids}[level]

    def filter(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        """Restrict a queryset to this territory using its model's TERRITORY declaration."""
        if self.whole:
            return qs
        level, lookup = qs.model.TERRITORY
        return qs.filter(**{f"{lookup}__in": self.ids_at(level)})

    def contains(self, obj: Model) -> bool:
        if self.whole:
            return True
        level, lookup = type(obj).TERRITORY
        return type(obj)._default_manager.filter(pk=obj.pk, **{f"{lookup}__in": self.ids_at(level)}).exists()

    def covers_station(self, station_id: int) -> bool:
        return self.whole or station_id in self.station_ids

    def manages_station(self, station_id: int) -> bool:
        """Station-wide or wider: may act for the whole station (approvals, rosters)."""
        return self.whole or (self.scope == Scope.STATION and station_id in self.station_ids)

    def stations(self) -> QuerySet[Station]:
        return self.filter(Station.objects.all())

    def communities(self) -> QuerySet[Community]:
        return self.filter(Community.objects.select_related("station", "street"))

    def grids(self) -> QuerySet[Grid]:
        return self.filter(Grid.objects.select_related("community", "community__station"))


def get_in_territory(user: Any, qs: QuerySet[Any], **lookup: Any) -> Any:
    """Fetch one object the user may see, or 404 (never 403: outsiders learn nothing)."""
    try:
        return Territory.for_user(user).filter(qs).get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
