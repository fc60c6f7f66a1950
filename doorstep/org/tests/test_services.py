from __future__ import annotations

import datetime as dt

import pytest

from doorstep.audit.models import AuditEntry
from doorstep.conftest import TODAY, make_staff
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.org import services
from doorstep.org.choices import Position, RequestStatus, StaffKind
from doorstep.org.models import GridAssignment


def test_assign_records_audit_entry_with_actor(world):
    aux = make_staff(world.sub_bureau, world.s1, StaffKind.AUXILIARY)

    post = services.assign_to_grid(
        grid=world.grid_b, staff=aux, position=Position.AUXILIARY, started_on=TODAY, by=world.director
    )

    entry = AuditEntry.objects.get(action="org.assign_to_grid", object_id=str(post.pk))
    assert entry.actor_id == world.director.pk
    assert entry.after["grid_id"] == world.grid_b.pk


def test_officer_cannot_hold_two_grids(world):
    with pytest.raises(RuleViolation, match="只能专职负责一个网格"):
        services.assign_to_grid(
            grid=world.grid_c,
            staff=world.officer_a_staff,
            position=Position.OFFICER,
            started_on=TODAY,
            by=world.director,
        )


def test_auxiliary_cannot_take_officer_post(world):
    aux = make_staff(world.sub_bureau, world.s1, StaffKind.AUXILIARY)
    with pytest.raises(RuleViolation):
        services.assign_to_grid(
            grid=world.grid_c, staff=aux, position=Position.OFFICER, started_on=TODAY, by=world.director
        )


def test_director_of_other_station_cannot_assign(world):
    aux = make_staff(world.sub_bureau, world.s1, StaffKind.AUXILIARY)
    with pytest.raises(NotAllowed):
        services.assign_to_grid(
            grid=world.grid_b, staff=aux, position=Position.AUXILIARY, started_on=TODAY, by=world.director_s2
        )


def test_officer_cannot_leave_before_three_years_without_approval(world):
    # post_a started 400 days before TODAY
    with pytest.raises(RuleViolation, match="未满3年"):
        services.end_assignment(world.post_a, ended_on=TODAY, reason="调动", by=world.director)
    world.post_a.refresh_from_db()
    assert world.post_a.ended_on is None


def test_officer_after_three_years_leaves_directly(world):
    post_b = GridAssignment.objects.get(grid=world.grid_b, position=Position.OFFICER)
    services.end_assignment(post_b, ended_on=TODAY, reason="正常轮岗", by=world.director)
    post_b.refresh_from_db()
    assert post_b.ended_on == TODAY


def test_early_departure_approved_by_director_ends_post(world):
    request = services.request_departure(world.post_a, leave_on=TODAY, reason="家庭原因", by=world.officer_a)

    services.decide_departure(request, approve=True, note="同意", by=world.director)

    world.post_a.refresh_from_db()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    assert world.post_a.ended_on == TODAY
    actions = set(AuditEntry.objects.filter(actor_id=world.director.pk).values_list("action", flat=True))
    assert {"org.approve_departure", "org.end_assignment"} <= actions


def test_rejected_departure_keeps_post(world):
    request = services.request_departure(world.post_a, leave_on=TODAY, reason="个人原因", by=world.officer_a)
    services.decide_departure(request, approve=False, note="暂不同意", by=world.director)
    world.post_a.refresh_from_db()
    assert world.post_a.ended_on is None
    assert AuditEntry.objects.filter(action="org.reject_departure", actor_id=world.director.pk).exists()


@pytest.mark.parametrize("who", ["admin", "leader", "director_s2", "officer_a", "dispatcher"])
def test_only_own_station_director_decides_departure(world, who):
    request = services.request_departure(world.post_a, leave_on=TODAY, reason="家庭原因", by=world.officer_a)
    with pytest.raises(NotAllowed):
        services.decide_departure(request, approve=True, by=world.users[who])


def test_departure_request_twice_is_refused(world):
    services.request_departure(world.post_a, leave_on=TODAY, reason="家庭原因", by=world.officer_a)
    with pytest.raises(RuleViolation):
        services.request_departure(world.post_a, leave_on=TODAY, reason="家庭原因", by=world.officer_a)


def test_departure_request_not_needed_after_three_years(world):
    post_b = GridAssignment.objects.get(grid=world.grid_b, position=Position.OFFICER)
    with pytest.raises(ServiceError, match="无需审批"):
        services.request_departure(post_b, leave_on=TODAY, reason="轮岗", by=world.director)


def test_secondment_needs_director_approval(world):
    sec = services.request_secondment(
        staff=world.officer_a_staff,
        purpose="专项行动",
        destination="刑侦大队",
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=30),
        by=world.director,
    )
    assert sec.status == RequestStatus.PENDING
    with pytest.raises(NotAllowed):
        services.decide_secondment(sec, approve=True, by=world.admin)
    services.decide_secondment(sec, approve=True, by=world.director)
    sec.refresh_from_db()
    assert sec.status == RequestStatus.APPROVED and sec.decided_by == world.director


def test_overlapping_secondment_refused(world):
    services.request_secondment(
        staff=world.officer_a_staff,
        purpose="专项",
        destination="刑侦",
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=30),
        by=world.director,
    )
    with pytest.raises(RuleViolation):
        services.request_secondment(
            staff=world.officer_a_staff,
            purpose="安保",
            destination="治安",
            starts_on=TODAY + dt.timedelta(days=10),
            ends_on=TODAY + dt.timedelta(days=40),
            by=world.director,
        )


def test_secondment_end_before_start_refused(world):
    with pytest.raises(ServiceError):
        services.request_secondment(
            staff=world.officer_a_staff,
            purpose="专项",
            destination="刑侦",
            starts_on=TODAY,
            ends_on=TODAY - dt.timedelta(days=1),
            by=world.director,
        )


def test_invalid_grid_boundary_refused(world):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[118.6, 24.9], [118.61, 24.91], [118.61, 24.9], [118.6, 24.91], [118.6, 24.9]]],
    }
    with pytest.raises(ServiceError, match="无效"):
        services.set_grid_boundary(world.grid_a, bowtie, by=world.admin)
    swapped = {
        "type": "Polygon",
        "coordinates": [[[24.9, 118.6], [24.91, 118.6], [24.91, 118.61], [24.9, 118.6]]],
    }
    with pytest.raises(ServiceError):
        services.set_grid_boundary(world.grid_a, swapped, by=world.admin)
