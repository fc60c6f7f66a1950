"""Station duty rosters (值班备勤, 110接处警): the community-officer rule and its exception, minimum staffing,
double booking (also against police-room shifts), swaps re-checked at approval, who may act, pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.duty import services, station_duty
from doorstep.duty.choices import StationDutyKind, SwapStatus
from doorstep.duty.models import DutyAssignment, StationShift, SwapRequest

# A Monday well in the future, so swaps (which refuse started shifts) work whatever today is.
MONDAY = services.week_start(timezone.localdate() + dt.timedelta(days=21))
TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def shifts(world):
    station_duty.ensure_default_shifts(world.s1, by=world.director)
    get = lambda kind, start: StationShift.objects.get(station=world.s1, kind=kind, starts=dt.time(start))  # noqa: E731
    return {
        "duty_day": get(StationDutyKind.DUTY, 8),
        "duty_night": get(StationDutyKind.DUTY, 20),
        "standby_day": get(StationDutyKind.STANDBY, 8),
        "dispatch_day": get(StationDutyKind.DISPATCH, 8),
        "dispatch_night": get(StationDutyKind.DISPATCH, 20),
    }


def test_daytime_definition():
    at = lambda d, h: timezone.make_aware(dt.datetime.combine(d, dt.time(h)))  # noqa: E731
    assert station_duty.is_daytime(at(MONDAY, 8), at(MONDAY, 20))
    assert station_duty.is_daytime(at(MONDAY, 17), at(MONDAY, 19))
    assert not station_duty.is_daytime(at(MONDAY, 20), at(TUESDAY, 8))
    assert not station_duty.is_daytime(at(MONDAY, 18), at(MONDAY, 23))
    assert station_duty.is_daytime(at(MONDAY, 20), at(TUESDAY, 9))


def test_community_officer_refused_daytime_duty_and_dispatch(world, shifts):
    for key in ("duty_day", "dispatch_day"):
        with pytest.raises(RuleViolation, match="社区民警") as exc:
            station_duty.assign(shift=shifts[key], staff=world.officer_a_staff, day=MONDAY, by=world.director)
        assert exc.value.code == "community_officer"
    assert not DutyAssignment.objects.exists()
    # Night duty and daytime standby are allowed.
    station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    station_duty.assign(
        shift=shifts["standby_day"], staff=world.officer_a_staff, day=TUESDAY, by=world.director
    )
    # Somebody who is not a community officer may stand daytime duty.
    director_staff = world.director.staff
    a = station_duty.assign(shift=shifts["duty_day"], staff=director_staff, day=MONDAY, by=world.director)
    assert a.exception is None


def test_approved_exception_lets_the_assignment_through_marked(world, shifts):
    ex = station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=MONDAY,
        ends_on=TUESDAY,
        reason="重大活动安保，警力不足",
        by=world.director,
    )
    assert AuditEntry.objects.filter(action="duty.station_exception_grant", object_id=str(ex.pk)).exists()
    a = station_duty.assign(
        shift=shifts["duty_day"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    assert a.exception == ex
    assert AuditEntry.objects.filter(action="duty.station_assign", object_id=str(a.pk)).exists()


def test_exception_for_another_person_date_or_shift_does_not_apply(world, shifts):
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_b_staff,
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="x",
        by=world.director,
    )
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="y",
        by=world.director,
    )
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=MONDAY,
        ends_on=MONDAY,
        shift=shifts["dispatch_day"],
        reason="z",
        by=world.director,
    )
    with pytest.raises(RuleViolation, match="社区民警"):
        station_duty.assign(
            shift=shifts["duty_day"], staff=world.officer_a_staff, day=MONDAY, by=world.director
        )
    # A revoked exception no longer applies either.
    ex = station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="w",
        by=world.director,
    )
    station_duty.revoke_exception(ex, by=world.director)
    with pytest.raises(RuleViolation, match="社区民警"):
        station_duty.assign(
            shift=shifts["duty_day"], staff=world.officer_a_staff, day=MONDAY, by=world.director
        )
    # The shift-bound one does apply to its shift.
    assert station_duty.assign(
        shift=shifts["dispatch_day"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    ).exception


def test_exception_needs_reason_and_the_director(world, shifts):
    with pytest.raises(ServiceError, match="例外理由"):
        station_duty.grant_exception(
            station=world.s1,
            staff=world.officer_a_staff,
            starts_on=MONDAY,
            ends_on=MONDAY,
            reason=" ",
            by=world.director,
        )
    for user in (world.director_s2, world.officer_a, world.dispatcher, world.leader):
        with pytest.raises(NotAllowed):
            station_duty.grant_exception(
                station=world.s1,
                staff=world.officer_a_staff,
                starts_on=MONDAY,
                ends_on=MONDAY,
                reason="r",
                by=user,
            )


def test_minimum_staffing_flags(world, shifts):
    station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    rows = {r.shift.pk: r for r in station_duty.week(world.s1, MONDAY)}
    night = rows[shifts["duty_night"].pk].cells
    assert night[0].count == 1 and not night[0].understaffed  # minimum 1
    assert night[1].understaffed
    day = rows[shifts["duty_day"].pk].cells[0]
    assert day.understaffed and day.minimum == 2
    shifts["duty_day"].min_staff = 0
    shifts["duty_day"].save()
    assert (
        not {r.shift.pk: r for r in station_duty.week(world.s1, MONDAY)}[shifts["duty_day"].pk]
        .cells[0]
        .understaffed
    )


def test_double_booking_refused_on_the_roster_and_against_room_shifts(world, shifts):
    staff = world.officer_b_staff
    station_duty.assign(shift=shifts["duty_night"], staff=staff, day=MONDAY, by=world.director)
    with pytest.raises(RuleViolation, match="不能重叠"):
        station_duty.assign(shift=shifts["dispatch_night"], staff=staff, day=MONDAY, by=world.director)
    start = timezone.make_aware(dt.datetime.combine(TUESDAY, dt.time(22)))
    services.create_shift(
        room=world.room_c1,
        staff=staff,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
        by=world.director,
    )
    with pytest.raises(RuleViolation, match="西福警务室"):
        station_duty.assign(shift=shifts["duty_night"], staff=staff, day=TUESDAY, by=world.director)
    assert DutyAssignment.objects.count() == 1


def test_other_station_staff_and_other_director_refused(world, shifts):
    s2_staff = world.director_s2.staff
    with pytest.raises(ServiceError, match="不属于本所"):
        station_duty.assign(shift=shifts["duty_night"], staff=s2_staff, day=MONDAY, by=world.director)
    with pytest.raises(NotAllowed):
        station_duty.assign(
            shift=shifts["duty_night"], staff=world.officer_b_staff, day=MONDAY, by=world.director_s2
        )


def test_copy_week_rechecks_rules(world, shifts):
    station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    station_duty.assign(shift=shifts["duty_day"], staff=world.director.staff, day=TUESDAY, by=world.director)
    created = station_duty.copy_week(
        station=world.s1, target_monday=MONDAY + dt.timedelta(days=7), by=world.director
    )
    assert len(created) == 2
    with pytest.raises(RuleViolation, match="已有"):
        station_duty.copy_week(
            station=world.s1, target_monday=MONDAY + dt.timedelta(days=7), by=world.director
        )


# --- swaps ---------------------------------------------------------------------------------------------------
def _pair(world, shifts):
    mine = station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    theirs = station_duty.assign(
        shift=shifts["duty_day"], staff=world.officer_b_staff, day=TUESDAY, by=world.director
    )
    return mine, theirs


def test_swap_request_refused_by_the_community_officer_rule(world, shifts):
    # officer_b is also a community officer (grid B), put on day duty under an exception.
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_b_staff,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="r",
        by=world.director,
    )
    mine, theirs = _pair(world, shifts)
    with pytest.raises(RuleViolation, match="社区民警"):
        station_duty.request_swap(mine=mine, theirs=theirs, reason="家中有事", by=world.officer_a)


def test_swap_approved_swaps_atomically_and_audits(world, shifts):
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_b_staff,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="r",
        by=world.director,
    )
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="q",
        by=world.director,
    )
    mine, theirs = _pair(world, shifts)
    with pytest.raises(NotAllowed):
        station_duty.request_swap(
            mine=mine, theirs=theirs, reason="x", by=world.officer_b
        )  # not theirs to ask
    with pytest.raises(ServiceError, match="换班理由"):
        station_duty.request_swap(mine=mine, theirs=theirs, reason="", by=world.officer_a)
    swap = station_duty.request_swap(mine=mine, theirs=theirs, reason="家中有事", by=world.officer_a)
    with pytest.raises(NotAllowed):
        station_duty.approve_swap(swap, by=world.director_s2)
    with pytest.raises(NotAllowed):
        station_duty.approve_swap(swap, by=world.officer_a)
    station_duty.approve_swap(swap, by=world.director)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.staff == world.officer_b_staff and theirs.staff == world.officer_a_staff
    assert theirs.exception is not None and mine.exception is None
    swap.refresh_from_db()
    assert swap.status == SwapStatus.APPROVED
    assert AuditEntry.objects.filter(action="duty.station_swap_approve", object_id=str(swap.pk)).exists()
    with pytest.raises(RuleViolation, match="已处理"):
        station_duty.approve_swap(swap, by=world.director)


def test_swap_rechecked_at_approval(world, shifts):
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_b_staff,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="r",
        by=world.director,
    )
    ex = station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=TUESDAY,
        ends_on=TUESDAY,
        reason="q",
        by=world.director,
    )
    mine, theirs = _pair(world, shifts)
    swap = station_duty.request_swap(mine=mine, theirs=theirs, reason="家中有事", by=world.officer_a)
    station_duty.revoke_exception(ex, by=world.director)
    with pytest.raises(RuleViolation, match="社区民警"):
        station_duty.approve_swap(swap, by=world.director)
    mine.refresh_from_db()
    assert mine.staff == world.officer_a_staff
    swap.refresh_from_db()
    assert swap.status == SwapStatus.PENDING


def test_swap_rechecked_against_room_shift_at_approval_and_reject(world, shifts):
    aux = world.auxiliary_a.staff
    mine = station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    theirs = station_duty.assign(shift=shifts["duty_night"], staff=aux, day=TUESDAY, by=world.director)
    swap = station_duty.request_swap(mine=mine, theirs=theirs, reason="调休", by=world.director)
    start = timezone.make_aware(dt.datetime.combine(MONDAY, dt.time(21)))
    services.create_shift(
        room=world.room_c1,
        staff=aux,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        by=world.director,
    )
    with pytest.raises(RuleViolation, match="警务室"):
        station_duty.approve_swap(swap, by=world.director)
    with pytest.raises(ServiceError, match="审批意见"):
        station_duty.reject_swap(swap, note="", by=world.director)
    station_duty.reject_swap(swap, note="警务室已排班", by=world.director)
    swap.refresh_from_db()
    assert swap.status == SwapStatus.REJECTED


# --- pages ---------------------------------------------------------------------------------------------------
def test_week_page_shows_understaffed_and_exception(world, shifts, client_for):
    station_duty.grant_exception(
        station=world.s1,
        staff=world.officer_a_staff,
        starts_on=MONDAY,
        ends_on=MONDAY,
        reason="r",
        by=world.director,
    )
    station_duty.assign(shift=shifts["duty_day"], staff=world.officer_a_staff, day=MONDAY, by=world.director)
    url = f"/duty/station/{world.s1.pk}/week/?week={MONDAY.isoformat()}"
    r = client_for(world.director).get(url)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="short-cell"' in html and 'data-testid="exception-badge"' in html
    assert "刘芳" in html
    assert client_for(world.officer_a).get(url).status_code == 200  # sees own station
    assert client_for(world.director_s2).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_assign_page_refuses_with_chinese_reason(world, shifts, client_for):
    c = client_for(world.director)
    url = f"/duty/station/{world.s1.pk}/assign/"
    data = {"shift": shifts["duty_day"].pk, "day": MONDAY.isoformat(), "staff": world.officer_a_staff.pk}
    r = c.post(url, data, follow=True)
    assert "社区民警" in r.content.decode()
    assert not DutyAssignment.objects.exists()
    r = c.post(url, {"shift": "", "day": "昨天", "staff": ""}, follow=True)
    assert "此项为必填项" in r.content.decode() or "日期格式不正确" in r.content.decode()
    # Sees the station but may not act: 403 with the reason.
    r = client_for(world.dispatcher).post(url, data)
    assert r.status_code == 403 and "所长" in r.content.decode()
    assert client_for(world.director_s2).post(url, data).status_code == 404


def test_forms_show_chinese_errors(world, shifts, client_for):
    c = client_for(world.director)
    r = c.post(
        f"/duty/station/{world.s1.pk}/exceptions/", {"staff": world.officer_a_staff.pk, "starts_on": "x"}
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "日期格式不正确" in html and "请填写例外理由" in html
    r = c.post(
        f"/duty/station/{world.s1.pk}/exceptions/",
        {"staff": world.officer_a_staff.pk, "starts_on": TUESDAY, "ends_on": MONDAY, "reason": "r"},
    )
    assert r.status_code == 400 and "结束日期不能早于开始日期" in r.content.decode()
    r = c.post(
        f"/duty/station/{world.s1.pk}/shifts/",
        {"kind": "duty", "name": "", "starts": "25:00", "min_staff": -1},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "请填写班次名称" in html and "时刻格式不正确" in html and "最低在岗人数不能为负数" in html


def test_swap_pages_and_decide_scoping(world, shifts, client_for):
    mine = station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    theirs = station_duty.assign(
        shift=shifts["duty_night"], staff=world.auxiliary_a.staff, day=TUESDAY, by=world.director
    )
    assert client_for(world.officer_b).get(f"/duty/station/assignments/{mine.pk}/swap/").status_code == 403
    c = client_for(world.officer_a)
    r = c.post(f"/duty/station/assignments/{mine.pk}/swap/", {"theirs": theirs.pk, "reason": ""})
    assert r.status_code == 400 and "请填写换班理由" in r.content.decode()
    r = c.post(f"/duty/station/assignments/{mine.pk}/swap/", {"theirs": theirs.pk, "reason": "家中有事"})
    assert r.status_code == 302
    swap = SwapRequest.objects.get()
    assert swap.status == SwapStatus.PENDING
    decide = f"/duty/station/swaps/{swap.pk}/decide/"
    assert client_for(world.director_s2).post(decide, {"decision": "approve"}).status_code == 404
    assert client_for(world.officer_a).post(decide, {"decision": "approve"}).status_code == 403
    assert client_for(world.director).post(decide, {"decision": "approve"}).status_code == 302
    mine.refresh_from_db()
    assert mine.staff == world.auxiliary_a.staff
    assert client_for(world.director).get(f"/duty/station/{world.s1.pk}/swaps/").status_code == 200


def test_index_and_other_pages_render(world, shifts, client_for):
    c = client_for(world.director)
    assert c.get("/duty/station/").status_code == 302  # one station: straight to its week
    assert client_for(world.leader).get("/duty/station/").status_code == 200
    for suffix in ("shifts/", "exceptions/", "swaps/"):
        assert c.get(f"/duty/station/{world.s1.pk}/{suffix}").status_code == 200
        assert client_for(world.director_s2).get(f"/duty/station/{world.s1.pk}/{suffix}").status_code == 404


def test_seed_is_idempotent(world):
    from doorstep.duty import station_seed

    first = station_seed.seed(1)
    assert first["assignments"] > 0 and first["exceptions"] == 1
    n = DutyAssignment.objects.count()
    assert station_seed.seed(1)["assignments"] == 0
    assert DutyAssignment.objects.count() == n


def test_a_police_room_shift_is_refused_over_the_persons_station_duty(world, shifts):
    """The mirror of the station roster's check: who is on the station's night duty is not in the room then."""
    station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    night = timezone.make_aware(dt.datetime.combine(MONDAY, dt.time(22)))
    with pytest.raises(RuleViolation, match="已排所里的值班"):
        services.create_shift(
            room=world.room_c1, staff=world.officer_a_staff, starts_at=night,
            ends_at=night + dt.timedelta(hours=4), by=world.director,
        )  # fmt: skip


def test_the_gaps_page_leaves_out_rooms_that_are_not_open_around_the_clock(world, client_for):
    from doorstep.org.models import PoliceRoom

    PoliceRoom.objects.filter(pk=world.room_c1.pk).update(open_24h=False)
    page = client_for(world.director).get("/duty/gaps/").content.decode()
    assert "西福警务室" not in page and "东星警务室" in page


def _night_pair(world, shifts):
    # Night duty: no community-officer rule in the way.
    mine = station_duty.assign(
        shift=shifts["duty_night"], staff=world.officer_a_staff, day=MONDAY, by=world.director
    )
    theirs = station_duty.assign(
        shift=shifts["duty_night"], staff=world.auxiliary_a.staff, day=TUESDAY, by=world.director
    )
    return mine, theirs


def test_swap_approval_rechecks_that_both_shifts_are_still_to_come(world, shifts):
    """Issue #7: a swap requested in time but decided after one shift started is refused."""
    mine, theirs = _night_pair(world, shifts)
    swap = station_duty.request_swap(mine=mine, theirs=theirs, reason="家中有事", by=world.officer_a)
    with pytest.raises(RuleViolation, match="已开始或已结束"):
        station_duty.approve_swap(swap, by=world.director, now=mine.starts_at + dt.timedelta(minutes=1))
    mine.refresh_from_db()
    swap.refresh_from_db()
    assert mine.staff == world.officer_a_staff and swap.status == SwapStatus.PENDING


def test_swap_approval_when_a_shift_was_removed_meanwhile_is_a_rule_violation(world, shifts):
    """Issue #7: the assignment (and with it the request) removed between loading and deciding."""
    mine, theirs = _night_pair(world, shifts)
    swap = station_duty.request_swap(mine=mine, theirs=theirs, reason="家中有事", by=world.officer_a)
    swap = SwapRequest.objects.select_related("mine__shift").get(pk=swap.pk)  # as the page loads it
    station_duty.unassign(theirs, by=world.director)
    with pytest.raises(RuleViolation, match="已被删除") as exc:
        station_duty.approve_swap(swap, by=world.director)
    assert exc.value.code == "swap_gone"
    with pytest.raises(RuleViolation, match="已被删除"):
        station_duty.reject_swap(swap, note="不同意", by=world.director)
    mine.refresh_from_db()
    assert mine.staff == world.officer_a_staff


def test_swap_decide_page_answers_a_removed_shift_with_the_reason(world, shifts, client_for, monkeypatch):
    """Issue #7: the race on the page — the shift removed after the page loaded the request — is a message,
    not a 500. The removal is made inside the page's own lookup, the only place the race can be staged."""
    from doorstep.duty import station_pages

    mine, theirs = _night_pair(world, shifts)
    swap = station_duty.request_swap(mine=mine, theirs=theirs, reason="家中有事", by=world.officer_a)
    real = station_pages.get_in_territory

    def load_then_remove(user, qs, **kw):
        found = real(user, qs, **kw)
        if isinstance(found, SwapRequest):
            DutyAssignment.objects.filter(pk=theirs.pk).delete()
        return found

    monkeypatch.setattr(station_pages, "get_in_territory", load_then_remove)
    r = client_for(world.director).post(
        f"/duty/station/swaps/{swap.pk}/decide/", {"decision": "approve"}, follow=True
    )
    assert r.status_code == 200 and "换班涉及的班次已被删除" in r.content.decode()
    assert not SwapRequest.objects.exists()
    mine.refresh_from_db()
    assert mine.staff == world.officer_a_staff
