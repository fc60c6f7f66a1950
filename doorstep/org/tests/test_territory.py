from __future__ import annotations

import datetime as dt

from doorstep.accounts.choices import Scope
from doorstep.accounts.models import User
from doorstep.conftest import TODAY
from doorstep.org import services
from doorstep.org.models import Grid, PoliceRoom, Station
from doorstep.org.territory import Territory


def test_officer_sees_own_grid_and_its_ancestors_only(world):
    t = Territory.for_user(world.officer_a)
    assert t.scope == Scope.GRID
    assert set(t.grids().values_list("pk", flat=True)) == {world.grid_a.pk}
    assert set(t.stations().values_list("pk", flat=True)) == {world.s1.pk}
    assert t.contains(world.room_c1)
    assert not t.contains(world.grid_b)


def test_director_sees_whole_station(world):
    t = Territory.for_user(world.director)
    assert set(t.grids().values_list("pk", flat=True)) == {world.grid_a.pk, world.grid_b.pk, world.grid_c.pk}
    assert not t.contains(world.grid_d)
    assert not t.contains(world.room_c3)


def test_patrol_sees_community(world):
    t = Territory.for_user(world.patrol)
    assert set(t.grids().values_list("pk", flat=True)) == {world.grid_a.pk, world.grid_b.pk}


def test_leader_sees_everything(world):
    t = Territory.for_user(world.leader)
    assert t.whole
    assert t.grids().count() == Grid.objects.count()
    assert t.filter(PoliceRoom.objects.all()).count() == PoliceRoom.objects.count()


def test_anonymous_and_inactive_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert Territory.for_user(AnonymousUser()).filter(Station.objects.all()).count() == 0
    world.officer_a.is_active = False
    assert Territory.for_user(world.officer_a).grids().count() == 0


def test_territory_follows_the_post(world):
    """When the officer's post ends (approved early departure), the grid leaves their territory."""
    request = services.request_departure(world.post_a, leave_on=TODAY, reason="调动", by=world.officer_a)
    services.decide_departure(request, approve=True, by=world.director)
    fresh = User.objects.get(pk=world.officer_a.pk)  # a new request loads a new user object
    assert Territory.for_user(fresh).grids().count() == 0
    services.assign_to_grid(
        grid=world.grid_c,
        staff=world.officer_a_staff,
        position="officer",
        started_on=TODAY + dt.timedelta(days=1),
        by=world.director,
    )
    fresh = User.objects.get(pk=world.officer_a.pk)
    assert set(Territory.for_user(fresh).grids().values_list("pk", flat=True)) == {world.grid_c.pk}
