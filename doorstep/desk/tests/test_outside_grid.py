"""Issue #7: a community officer is not put on cases outside their grid unless the station director approves an
exception (with a reason, audited)."""

from __future__ import annotations

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation
from doorstep.desk import services
from doorstep.desk.tests.factories import case, household
from doorstep.org.models import PoliceRoom


@pytest.fixture
def room_c2(world):
    return PoliceRoom.objects.get(community=world.c2)


def test_a_community_officer_takes_cases_of_her_own_community(world):
    item = services.assign(case(world), world.officer_a_staff, by=world.director)
    assert item.owner == world.officer_a_staff


def test_a_case_outside_her_grid_is_refused_without_an_exception(world, room_c2):
    item = case(world, room=room_c2, by=world.director)
    owner_before = item.owner_id
    with pytest.raises(RuleViolation, match="社区民警，不承办其网格以外的案件"):
        services.assign(item, world.officer_a_staff, by=world.director)
    item.refresh_from_db()
    assert item.owner_id == owner_before != world.officer_a_staff.pk


def test_only_the_stations_director_approves_the_exception_and_it_is_audited(world, room_c2):
    item = case(world, room=room_c2, by=world.director)
    with pytest.raises(NotAllowed, match="所长批准"):
        services.assign(item, world.officer_a_staff, by=world.dispatcher, exception_reason="本片民警休假")
    services.assign(item, world.officer_a_staff, by=world.director, exception_reason="东星民警休假，临时承办")
    item.refresh_from_db()
    assert item.owner == world.officer_a_staff
    entry = AuditEntry.objects.get(action="desk.case_outside_grid_exception", object_id=str(item.pk))
    assert entry.actor_id == world.director.pk and "休假" in entry.note
    assert "所长批准例外" in item.steps.order_by("-id").first().note


def test_other_staff_and_other_kinds_are_not_concerned(world, room_c2):
    aux = world.auxiliary_a.staff
    assert services.assign(case(world, room=room_c2, by=world.director), aux, by=world.director).owner == aux
    other = household(world, room=room_c2, by=world.director)
    assert services.assign(other, world.officer_a_staff, by=world.director).owner == world.officer_a_staff


def test_the_item_page_offers_the_exception_to_the_director_only(world, room_c2, client_for):
    item = case(world, room=room_c2, by=world.director)
    assert "例外理由" in client_for(world.director).get(f"/desk/items/{item.pk}/").content.decode()
    assert "例外理由" not in client_for(world.dispatcher).get(f"/desk/items/{item.pk}/").content.decode()
    refused = client_for(world.director).post(
        f"/desk/items/{item.pk}/assign/", {"owner": world.officer_a_staff.pk}, follow=True
    )
    assert "不承办其网格以外的案件" in refused.content.decode()
    client_for(world.director).post(
        f"/desk/items/{item.pk}/assign/", {"owner": world.officer_a_staff.pk, "exception_reason": "临时承办"}
    )
    item.refresh_from_db()
    assert item.owner == world.officer_a_staff


def test_an_officer_cannot_even_take_a_case_at_another_communitys_room(world, room_c2):
    """Why `create_intake`'s default owner needs no exception today: an officer's desk is her own community's
    (the guard there stays for roles that may one day span communities)."""
    from doorstep.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        case(world, room=room_c2, by=world.officer_a)
    assert case(world, by=world.officer_a).owner == world.officer_a_staff  # her own community: hers
