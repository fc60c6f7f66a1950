"""Patrol services (doorstep.patrol.runs): start, points, findings, finish, void, plans — with the roles and
the territory. Time is passed explicitly (`now=`), never slept on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.services import create_user
from doorstep.audit.models import AuditEntry
from doorstep.conftest import PASSWORD, square
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.mediation.models import Dispute
from doorstep.patrol import runs, tracks
from doorstep.patrol.choices import FindingKind, PatrolStatus, PointFlag
from doorstep.patrol.models import Plan, TrackPoint


def walk(start: dt.datetime, n: int = 6, *, seq0: int = 1, step_s: int = 10, lng: float = 118.605):
    """n fixes walking east about 1.1 m/s in grid A."""
    return [
        {
            "seq": seq0 + k,
            "at": (start + dt.timedelta(seconds=step_s * k)).isoformat(),
            "lng": lng + k * 0.0001,
            "lat": 24.905,
            "accuracy": 8,
        }
        for k in range(n)
    ]


@pytest.fixture
def t0():
    return timezone.now() - dt.timedelta(minutes=30)


@pytest.fixture
def running(pw, t0):
    return runs.start(by=pw.officer_a, community=pw.c1, grid=pw.grid_a, participants=3, volunteers=1, now=t0)


# --- start ---------------------------------------------------------------------------------------------------
def test_start_records_a_running_patrol_with_an_audit_entry(pw, running):
    assert running.status == PatrolStatus.RUNNING
    assert running.led_by == pw.officer_a and running.grid == pw.grid_a
    assert AuditEntry.objects.filter(action="patrol.start", object_id=str(running.pk)).exists()


def test_one_running_patrol_per_user(pw, running):
    with pytest.raises(RuleViolation, match="尚未结束"):
        runs.start(by=pw.officer_a, community=pw.c1)
    # Somebody else may start at the same time.
    assert runs.start(by=pw.patrol, community=pw.c1).status == PatrolStatus.RUNNING


@pytest.mark.parametrize("name", ["officer_a", "auxiliary_a", "patrol", "director"])
def test_run_roles_may_start(pw, name):
    assert runs.start(by=getattr(pw, name), community=pw.c1).led_by == getattr(pw, name)


@pytest.mark.parametrize("name", ["leader", "dispatcher", "evaluator", "admin", "mediator"])
def test_other_roles_may_not_start(pw, name):
    if name == "mediator":
        user = create_user(username="mediator1", password=PASSWORD, role=Role.MEDIATOR, station=pw.s1)
    else:
        user = getattr(pw, name)
    with pytest.raises(NotAllowed):
        runs.start(by=user, community=pw.c1)


def test_start_outside_the_territory_is_refused(pw):
    with pytest.raises(NotAllowed):
        runs.start(by=pw.director_s2, community=pw.c1)
    with pytest.raises(NotAllowed):
        runs.start(by=pw.patrol, community=pw.c2)  # the patrol member's community is c1


def test_plan_and_grid_must_be_in_the_community(pw):
    plan = _plan(pw, community=pw.c2, grid=pw.grid_c)
    with pytest.raises(ServiceError, match="计划不属于该社区"):
        runs.start(by=pw.director, community=pw.c1, plan=plan)
    with pytest.raises(ServiceError, match="网格不属于该社区"):
        runs.start(by=pw.director, community=pw.c1, grid=pw.grid_c)
    with pytest.raises(ServiceError, match="志愿者"):
        runs.start(by=pw.director, community=pw.c1, participants=2, volunteers=3)


def test_a_plan_brings_its_grid(pw):
    plan = _plan(pw, community=pw.c1, grid=pw.grid_b)
    patrol = runs.start(by=pw.officer_a, community=pw.c1, plan=plan)
    assert patrol.grid == pw.grid_b and patrol.plan == plan


# --- points --------------------------------------------------------------------------------------------------
def test_points_are_idempotent_by_seq(pw, running, t0):
    points = walk(t0, 6)
    assert runs.add_points(running, points, by=pw.officer_a) == 6
    assert runs.add_points(running, points, by=pw.officer_a) == 0  # a retry of the same batch
    assert (
        runs.add_points(running, points[3:] + walk(t0 + dt.timedelta(minutes=1), 2, seq0=7), by=pw.officer_a)
        == 2
    )
    assert TrackPoint.objects.filter(patrol=running).count() == 8
    running.refresh_from_db()
    assert running.points == 8 and running.distance_m > 0
    assert running.track["type"] == "MultiLineString"  # the map shows a running patrol's track


def test_a_batch_with_a_repeated_seq_keeps_one(pw, running, t0):
    points = walk(t0, 3)
    assert runs.add_points(running, points + [points[0]], by=pw.officer_a) == 3


def test_flags_are_stored_for_bad_fixes(pw, running, t0):
    points = walk(t0, 4)
    points.append(
        {
            "seq": 5,
            "at": (t0 + dt.timedelta(seconds=45)).isoformat(),
            "lng": 119.5,
            "lat": 25.5,
            "accuracy": 5,
        }
    )
    points.append(
        {
            "seq": 6,
            "at": (t0 + dt.timedelta(seconds=50)).isoformat(),
            "lng": 118.6055,
            "lat": 24.905,
            "accuracy": 500,
        }
    )
    runs.add_points(running, points, by=pw.officer_a)
    flags = dict(TrackPoint.objects.filter(patrol=running).values_list("seq", "flag"))
    assert flags[5] == PointFlag.OUTSIDE and flags[6] == PointFlag.INACCURATE
    running.refresh_from_db()
    assert running.dropped == 2 and running.points == 6


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"lng": 200}, "经纬度无效"),
        ({"lat": "north"}, "经纬度无效"),
        ({"lng": float("nan")}, "经纬度无效"),
        ({"seq": -1}, "序号"),
        ({"seq": "1"}, "序号"),
        ({"accuracy": -3}, "精度无效"),
        ({"at": "yesterday"}, "定位时间无效"),
        ({"at": "future"}, "晚于当前时间"),
        ({"at": "before"}, "早于巡逻开始"),
    ],
)
def test_bad_points_are_refused_with_a_message(pw, running, t0, bad, message):
    point = walk(t0, 1)[0]
    if bad.get("at") == "future":
        bad = {"at": (timezone.now() + dt.timedelta(minutes=10)).isoformat()}
    elif bad.get("at") == "before":
        bad = {"at": (t0 - dt.timedelta(minutes=5)).isoformat()}
    with pytest.raises(ServiceError, match=message):
        runs.add_points(running, [point | bad], by=pw.officer_a)
    assert not TrackPoint.objects.filter(patrol=running).exists()


def test_points_must_be_a_list_of_objects(pw, running):
    with pytest.raises(ServiceError, match="列表"):
        runs.add_points(running, "x", by=pw.officer_a)
    with pytest.raises(ServiceError, match="格式错误"):
        runs.add_points(running, [1, 2], by=pw.officer_a)


def test_epoch_milliseconds_are_accepted(pw, running, t0):
    point = walk(t0, 1)[0] | {"at": int(t0.timestamp() * 1000) + 5000}
    assert runs.add_points(running, [point], by=pw.officer_a) == 1


def test_only_the_leader_sends_points_and_only_while_running(pw, running, t0):
    with pytest.raises(NotAllowed):
        runs.add_points(running, walk(t0, 2), by=pw.director)
    runs.add_points(running, walk(t0, 3), by=pw.officer_a)
    runs.finish(running, by=pw.officer_a, summary="")
    with pytest.raises(RuleViolation, match="已结束"):
        runs.add_points(running, walk(t0, 2, seq0=10), by=pw.officer_a)


def test_an_outsider_cannot_post_points(pw, running, t0):
    with pytest.raises(NotAllowed):
        runs.add_points(running, walk(t0, 2), by=pw.director_s2)


# --- finish --------------------------------------------------------------------------------------------------
def test_an_empty_patrol_cannot_be_recorded_as_done(pw, running, t0):
    with pytest.raises(RuleViolation, match="空巡逻不能记为完成"):
        runs.finish(running, by=pw.officer_a, summary="")
    runs.add_points(running, walk(t0, 1), by=pw.officer_a)  # one good point is still no track
    with pytest.raises(RuleViolation, match="空巡逻不能记为完成"):
        runs.finish(running, by=pw.officer_a, summary="")
    running.refresh_from_db()
    assert running.status == PatrolStatus.RUNNING


def test_a_patrol_under_a_minute_cannot_be_done(pw):
    now = timezone.now()
    patrol = runs.start(by=pw.patrol, community=pw.c1, now=now - dt.timedelta(seconds=30))
    runs.add_points(patrol, walk(now - dt.timedelta(seconds=30), 3, step_s=5), by=pw.patrol)
    with pytest.raises(RuleViolation, match="不足1分钟"):
        runs.finish(patrol, by=pw.patrol, summary="", now=now)


def test_a_finding_alone_makes_a_patrol_not_empty(pw, running):
    runs.add_finding(running, kind=FindingKind.HAZARD, note="井盖缺失", by=pw.officer_a)
    assert runs.finish(running, by=pw.officer_a, summary="").status == PatrolStatus.DONE


def test_finish_computes_the_figures(pw, running, t0):
    runs.add_points(running, walk(t0, 10), by=pw.officer_a)
    # After a 5-minute hole the line starts again.
    runs.add_points(running, walk(t0 + dt.timedelta(minutes=7), 3, seq0=20, lng=118.607), by=pw.officer_a)
    end = t0 + dt.timedelta(minutes=20)
    done = runs.finish(running, by=pw.officer_a, summary="  巡逻正常  ", now=end)
    expected = tracks.clean(TrackPoint.objects.filter(patrol=running), area=pw.grid_a.boundary)
    assert done.status == PatrolStatus.DONE and done.ended_at == end and done.summary == "巡逻正常"
    assert done.distance_m == round(expected.distance_m) and 80 < done.distance_m < 150
    assert done.points == 13 and done.gaps == 1 and len(done.track["coordinates"]) == 2
    assert AuditEntry.objects.filter(action="patrol.finish", object_id=str(running.pk)).exists()


def test_only_the_leader_finishes(pw, running, t0):
    runs.add_points(running, walk(t0, 5), by=pw.officer_a)
    with pytest.raises(NotAllowed):
        runs.finish(running, by=pw.director, summary="")


# --- findings ------------------------------------------------------------------------------------------------
def test_a_dispute_handed_over_becomes_a_mediation_dispute_in_the_community(pw, running):
    finding = runs.add_finding(
        running,
        kind=FindingKind.DISPUTE,
        note="两户因停车位争吵",
        by=pw.officer_a,
        lng=118.605,
        lat=24.905,
        hand_over=True,
        parties=["张三", "李四"],
    )
    dispute = Dispute.objects.get(pk=finding.dispute_id)
    assert dispute.community == pw.c1 and dispute.grid == pw.grid_a
    assert dispute.source == "patrol"
    assert sorted(dispute.parties.values_list("name", flat=True)) == ["张三", "李四"]
    assert AuditEntry.objects.filter(action="patrol.finding", object_id=str(finding.pk)).exists()


def test_a_dispute_hand_over_needs_two_parties(pw, running):
    with pytest.raises(ServiceError, match="双方当事人"):
        runs.add_finding(
            running,
            kind=FindingKind.DISPUTE,
            note="争吵",
            by=pw.officer_a,
            hand_over=True,
            parties=["张三", ""],
        )
    assert not Dispute.objects.exists()


def test_a_patrol_member_cannot_hand_a_dispute_to_mediation(pw):
    patrol = runs.start(by=pw.patrol, community=pw.c1)
    with pytest.raises(NotAllowed, match="不能受理矛盾纠纷"):
        runs.add_finding(
            patrol, kind=FindingKind.DISPUTE, note="争吵", by=pw.patrol, hand_over=True, parties=["甲", "乙"]
        )
    # Recording it without the hand-over is fine.
    assert runs.add_finding(patrol, kind=FindingKind.DISPUTE, note="争吵", by=pw.patrol).dispute is None


def test_an_incident_waits_for_the_desk(pw, running):
    finding = runs.add_finding(
        running, kind=FindingKind.INCIDENT, note="电动车被盗", by=pw.officer_a, hand_over=True
    )
    assert finding.intake is None
    assert list(runs.incidents_awaiting_desk(pw.director)) == [finding]
    assert list(runs.incidents_awaiting_desk(pw.director_s2)) == []


def test_finding_input_is_checked(pw, running):
    with pytest.raises(ServiceError, match="类别"):
        runs.add_finding(running, kind="ufo", note="x", by=pw.officer_a)
    with pytest.raises(ServiceError, match="情况"):
        runs.add_finding(running, kind=FindingKind.HAZARD, note="  ", by=pw.officer_a)
    with pytest.raises(ServiceError, match="同时"):
        runs.add_finding(running, kind=FindingKind.HAZARD, note="x", by=pw.officer_a, lng=118.6)
    with pytest.raises(ServiceError, match="只有矛盾纠纷"):
        runs.add_finding(running, kind=FindingKind.HAZARD, note="x", by=pw.officer_a, hand_over=True)


def test_a_finding_photo_is_normalised(pw, running, tmp_path, settings):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, format="PNG")
    upload = SimpleUploadedFile("x.png", buf.getvalue(), content_type="image/png")
    finding = runs.add_finding(running, kind=FindingKind.HAZARD, note="x", by=pw.officer_a, photo=upload)
    assert finding.photo.name.endswith(".jpg")
    with pytest.raises(ServiceError, match="图片"):
        runs.add_finding(
            running,
            kind=FindingKind.HAZARD,
            note="x",
            by=pw.officer_a,
            photo=SimpleUploadedFile("y.jpg", b"nope"),
        )


# --- void ----------------------------------------------------------------------------------------------------
def test_void_needs_a_reason_and_the_leader_or_a_manager(pw, running):
    with pytest.raises(ServiceError, match="作废原因"):
        runs.void(running, pw.officer_a, " ")
    with pytest.raises(NotAllowed):
        runs.void(running, pw.patrol, "误操作")
    voided = runs.void(running, pw.director, "误操作")
    assert voided.status == PatrolStatus.VOID
    assert AuditEntry.objects.get(action="patrol.void").note == "误操作"
    # A voided patrol no longer blocks a new one.
    assert runs.start(by=pw.officer_a, community=pw.c1).status == PatrolStatus.RUNNING


# --- territory -----------------------------------------------------------------------------------------------
def test_reads_are_scoped(pw, running):
    assert list(runs.patrols_for(pw.director)) == [running]
    assert list(runs.patrols_for(pw.director_s2)) == []
    assert list(runs.patrols_for(pw.officer_b)) == [running]  # same community
    with pytest.raises(Exception) as exc:
        runs.get_patrol_for(pw.director_s2, running.pk)
    assert exc.type.__name__ == "Http404"


# --- plans ---------------------------------------------------------------------------------------------------
def _plan(pw, *, community, grid=None, **kw):
    start = timezone.now() + dt.timedelta(hours=1)
    return runs.create_plan(
        by=pw.director,
        title="夜间巡逻",
        community=community,
        grid=grid,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        **kw,
    )


def test_create_plan_with_route_and_area(pw):
    route = {"type": "LineString", "coordinates": [[118.601, 24.901], [118.609, 24.909]]}
    plan = _plan(pw, community=pw.c1, route=route, area=square(118.60, 24.90))
    assert plan.route["type"] == "LineString" and plan.area["type"] == "Polygon"
    assert AuditEntry.objects.filter(action="patrol.plan_create").exists()


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"route": {"type": "LineString", "coordinates": [[118.6, 24.9]]}}, "路线"),
        ({"route": {"type": "Point", "coordinates": [118.6, 24.9]}}, "LineString"),
        ({"route": {"type": "LineString", "coordinates": [[-70, 40], [-71, 41]]}}, "超出范围"),
        ({"area": square(2.0, 48.0)}, "超出范围"),
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [
                        [[118.6, 24.9], [118.61, 24.91], [118.61, 24.9], [118.6, 24.91], [118.6, 24.9]]
                    ],
                }
            },
            "无效",
        ),
    ],
)
def test_invalid_geometry_is_refused(pw, kw, message):
    with pytest.raises(ServiceError, match=message):
        _plan(pw, community=pw.c1, **kw)
    assert not Plan.objects.exists()


def test_plan_times_and_roles(pw):
    start = timezone.now()
    with pytest.raises(ServiceError, match="晚于开始"):
        runs.create_plan(by=pw.director, title="x", community=pw.c1, starts_at=start, ends_at=start)
    for user in (pw.patrol, pw.dispatcher, pw.leader, pw.director_s2):
        with pytest.raises(NotAllowed):
            runs.create_plan(
                by=user, title="x", community=pw.c1, starts_at=start, ends_at=start + dt.timedelta(hours=1)
            )


def test_update_plan(pw):
    plan = _plan(pw, community=pw.c1)
    updated = runs.update_plan(plan, by=pw.officer_a, title="白天巡逻", grid=pw.grid_a)
    assert updated.title == "白天巡逻" and updated.grid == pw.grid_a
    with pytest.raises(NotAllowed):
        runs.update_plan(plan, by=pw.director_s2, title="y")
    assert AuditEntry.objects.filter(action="patrol.plan_update").exists()


def test_an_incident_found_on_patrol_is_taken_in_by_the_desk_and_linked(pw, client_for, time_machine):
    """#7 ↔ #9: the police room of the community lists the incident; taking it in as a case links the finding,
    which then leaves the list; a second link is refused."""
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone

    from doorstep.desk.models import Intake
    from doorstep.desk.tests.factories import new_id
    from doorstep.patrol import runs

    now = timezone.now()
    patrol = runs.start(by=pw.officer_a, community=pw.c1, grid=pw.grid_a, now=now - dt.timedelta(minutes=5))
    finding = runs.add_finding(patrol, kind="incident", note="车棚电动车电瓶被盗", by=pw.officer_a)
    c = client_for(pw.officer_a)
    room = c.get(reverse("desk:room", args=[pw.room_c1.pk])).content.decode()
    assert "车棚电动车电瓶被盗" in room.split('data-testid="patrol-incidents"')[1]
    url = reverse("desk:intake_new", args=[pw.room_c1.pk, "case"])
    form = c.get(url, {"finding": finding.pk}).content.decode()
    assert 'data-testid="from-finding"' in form and "车棚电动车电瓶被盗" in form
    response = c.post(
        url,
        {
            "finding": finding.pk,
            "applicant_name": "刘芳",
            "id_number": new_id(),
            "occurred_at": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
            "place": "西福第1网格 车棚",
            "summary": "车棚电动车电瓶被盗",
        },
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.intake == Intake.objects.get() and finding.intake.kind == "case"
    assert not runs.incidents_awaiting_desk(pw.officer_a).exists()
    with pytest.raises(RuleViolation):
        runs.link_intake(finding, finding.intake, by=pw.officer_a)
    # Another community's room cannot take it.
    assert (
        c.get(reverse("desk:intake_new", args=[pw.room_c3.pk, "case"]), {"finding": finding.pk}).status_code
        == 404
    )
