"""Scopes: the territories a KPI is computed for (a grid, a community, a station, the whole sub-bureau).

A user may see a scope's figures only when the whole scope lies inside their territory: an officer sees their
own grid, a station director their station, its communities and grids, a leader everything. (The org
Territory also lets an officer *see* their station as an ancestor; its KPIs are a station's business.)
"""

from __future__ import annotations

from typing import Any

from doorstep.evaluation.choices import Level
from doorstep.evaluation.engine import Scope
from doorstep.org.models import Community, Grid, Station, SubBureau
from doorstep.org.territory import Territory

SUB_BUREAU_ID = 0  # Snapshot.territory_id of the whole sub-bureau (Scope.id is None)


def territory_id(scope: Scope) -> int:
    return SUB_BUREAU_ID if scope.id is None else scope.id


def sub_bureau_scope() -> Scope:
    """The whole sub-bureau: every grid, community and station (three small queries)."""
    sub_bureau = SubBureau.objects.order_by("code").first()
    rows = list(Grid.objects.order_by().values_list("id", "community_id"))
    communities = frozenset(Community.objects.order_by().values_list("id", flat=True))
    stations = frozenset(Station.objects.order_by().values_list("id", flat=True))
    return Scope(
        Level.SUB_BUREAU,
        None,
        sub_bureau.name if sub_bureau else str(Level.SUB_BUREAU.label),
        frozenset(g for g, _c in rows),
        communities,
        stations,
    )


def scope_for(level: str, pk: int | None) -> Scope | None:
    """The scope of one grid, community or station (one or two queries); None when it does not exist."""
    if level == Level.SUB_BUREAU:
        return sub_bureau_scope()
    if pk is None:
        return None
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None
    if level == Level.GRID:
        row = Grid.objects.filter(pk=pk).values_list("name", "community_id", "community__station_id").first()
        if row is None:
            return None
        name, community_id, station_id = row
        return Scope(
            Level.GRID, pk, name, frozenset({pk}), frozenset({community_id}), frozenset({station_id})
        )
    if level == Level.COMMUNITY:
        row = Community.objects.filter(pk=pk).values_list("name", "station_id").first()
        if row is None:
            return None
        grids = frozenset(Grid.objects.filter(community_id=pk).values_list("id", flat=True))
        return Scope(Level.COMMUNITY, pk, row[0], grids, frozenset({pk}), frozenset({row[1]}))
    if level == Level.STATION:
        name = Station.objects.filter(pk=pk).values_list("name", flat=True).first()
        if name is None:
            return None
        communities = list(Community.objects.filter(station_id=pk).values_list("id", flat=True))
        grids = frozenset(Grid.objects.filter(community_id__in=communities).values_list("id", flat=True))
        return Scope(Level.STATION, pk, name, grids, frozenset(communities), frozenset({pk}))
    return None


def scopes_in(territory: Territory, level: str) -> list[Scope]:
    """Every scope of `level` lying wholly inside the territory, ordered by code (three queries at most)."""
    if level == Level.SUB_BUREAU:
        return [sub_bureau_scope()] if territory.whole else []
    grids = Grid.objects.order_by("code")
    if not territory.whole:
        grids = grids.filter(id__in=territory.grid_ids)
    grid_rows = list(grids.values_list("id", "name", "community_id", "community__station_id"))
    if level == Level.GRID:
        return [
            Scope(Level.GRID, g, name, frozenset({g}), frozenset({c}), frozenset({s}))
            for g, name, c, s in grid_rows
        ]
    by_community: dict[int, set[int]] = {}
    for g, _name, c, _s in grid_rows:
        by_community.setdefault(c, set()).add(g)
    communities = Community.objects.order_by("code")
    if not territory.whole:
        communities = communities.filter(id__in=territory.community_ids)
    community_rows = list(communities.values_list("id", "name", "station_id"))
    # A grid officer's territory names their community and station as ancestors; they are not "inside".
    if not territory.whole and territory.scope not in (Level.STATION, Level.COMMUNITY):
        community_rows = []
    if level == Level.COMMUNITY:
        return [
            Scope(
                Level.COMMUNITY, c, name, frozenset(by_community.get(c, ())), frozenset({c}), frozenset({s})
            )
            for c, name, s in community_rows
        ]
    if level == Level.STATION:
        if not (territory.whole or territory.scope == Level.STATION):
            return []
        stations = Station.objects.order_by("code")
        if not territory.whole:
            stations = stations.filter(id__in=territory.station_ids)
        out = []
        for s, name in stations.values_list("id", "name"):
            cs = [c for c, _n, st in community_rows if st == s]
            gs = frozenset(g for c in cs for g in by_community.get(c, ()))
            out.append(Scope(Level.STATION, s, name, gs, frozenset(cs), frozenset({s})))
        return out
    return []


def may_see(user: Any, scope: Scope) -> bool:
    """Whether the user may see the figures of the scope (the whole scope must lie in their territory)."""
    territory = Territory.for_user(user)
    if territory.whole:
        return True
    if scope.whole or territory.scope is None:
        return False
    if scope.level == Level.STATION:
        return territory.scope == Level.STATION and scope.id in territory.station_ids
    if scope.level == Level.COMMUNITY:
        return territory.scope in (Level.STATION, Level.COMMUNITY) and scope.id in territory.community_ids
    if scope.level == Level.GRID:
        return scope.id in territory.grid_ids
    return False
