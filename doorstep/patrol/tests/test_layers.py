"""The patrol map layers: territory (officer A vs director S2), bad `days`, no personal data in findings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from doorstep.patrol.choices import FindingKind, PatrolStatus
from doorstep.patrol.models import Finding, Patrol

TRACKS = "patrol:tracks_geojson"
FINDINGS = "patrol:findings_geojson"
COVERAGE = "patrol:coverage_geojson"


def make_patrol(world, grid, *, days_ago=1.0, status=PatrolStatus.DONE, hours=1.0, by=None):
    """A patrol written directly (a test fixture): a north–south track through the middle of the grid."""
    (w, s), (e, n) = grid.boundary["coordinates"][0][0], grid.boundary["coordinates"][0][2]
    started = timezone.now() - dt.timedelta(days=days_ago)
    mid = (w + e) / 2
    return Patrol.objects.create(
        community=grid.community,
        grid=grid,
        led_by=by or world.director,
        status=status,
        started_at=started,
        ended_at=started + dt.timedelta(hours=hours) if status == PatrolStatus.DONE else None,
        track={"type": "MultiLineString", "coordinates": [[[mid, s], [mid, n]]]},
        distance_m=1113,
        volunteers=2,
        participants=3,
    )


def make_finding(world, patrol, kind=FindingKind.SUSPICIOUS):
    return Finding.objects.create(
        patrol=patrol,
        kind=kind,
        note="张三（13800001111）在车棚附近徘徊",
        at=patrol.started_at + dt.timedelta(minutes=10),
        lng=118.605,
        lat=24.905,
        by=world.director,
    )


@pytest.fixture
def patrols(pw):
    a = make_patrol(pw, pw.grid_a)
    d = make_patrol(pw, pw.grid_d, by=pw.director_s2)
    old = make_patrol(pw, pw.grid_a, days_ago=20)
    running = make_patrol(pw, pw.grid_b, status=PatrolStatus.RUNNING, days_ago=0.01)
    void = make_patrol(pw, pw.grid_a, status=PatrolStatus.VOID)
    make_finding(pw, a)
    make_finding(pw, d, FindingKind.HAZARD)
    return {"a": a, "d": d, "old": old, "running": running, "void": void}


def ids(response):
    assert response.status_code == 200, response.content
    return {f["id"] for f in response.json()["features"]}


def test_tracks_are_scoped_by_community(pw, patrols, client_for):
    officer, director_s2 = client_for(pw.officer_a), client_for(pw.director_s2)
    # officer A sees her community's done and running patrols of the last 7 days, not the voided one
    assert ids(officer.get(reverse(TRACKS))) == {patrols["a"].pk, patrols["running"].pk}
    assert ids(officer.get(reverse(TRACKS), {"days": "30"})) == {
        patrols["a"].pk,
        patrols["running"].pk,
        patrols["old"].pk,
    }
    assert ids(director_s2.get(reverse(TRACKS), {"days": "30"})) == {patrols["d"].pk}
    assert ids(client_for(pw.leader).get(reverse(TRACKS))) == {
        patrols["a"].pk,
        patrols["d"].pk,
        patrols["running"].pk,
    }
    feature = next(f for f in officer.get(reverse(TRACKS)).json()["features"] if f["id"] == patrols["a"].pk)
    assert set(feature["properties"]) >= {"id", "started_at", "distance_m", "status", "url"}
    assert feature["geometry"]["type"] == "MultiLineString"


def test_tracks_of_one_grid_and_a_grid_outside_the_territory(pw, patrols, client_for):
    officer = client_for(pw.officer_a)
    assert ids(officer.get(reverse(TRACKS), {"grid": pw.grid_a.pk, "days": "30"})) == {
        patrols["a"].pk,
        patrols["old"].pk,
    }
    assert ids(officer.get(reverse(TRACKS), {"grid": pw.grid_d.pk})) == set()
    assert ids(officer.get(reverse(TRACKS), {"grid": "abc"})) == set()


def test_findings_are_scoped_and_carry_no_personal_data(pw, patrols, client_for):
    body = client_for(pw.officer_a).get(reverse(FINDINGS)).json()
    assert len(body["features"]) == 1
    props = body["features"][0]["properties"]
    assert props["kind"] == "suspicious" and props["kind_label"] == "可疑人员"
    assert set(props) == {"id", "kind", "kind_label", "at", "patrol", "url"}
    text = str(body)
    assert "张三" not in text and "13800001111" not in text
    assert len(client_for(pw.director_s2).get(reverse(FINDINGS)).json()["features"]) == 1
    assert (
        client_for(pw.director_s2).get(reverse(FINDINGS)).json()["features"][0]["properties"]["kind"]
        == "hazard"
    )


def test_coverage_has_the_territory_grids_with_their_share(pw, patrols, client_for):
    body = client_for(pw.officer_a).get(reverse(COVERAGE), {"days": "7"}).json()
    by_id = {f["id"]: f["properties"] for f in body["features"]}
    assert set(by_id) == {pw.grid_a.pk}
    a = by_id[pw.grid_a.pk]
    assert 0.09 < a["share"] < 0.11 and a["patrols"] == 1 and a["hours"] == 1.0 and a["km"] > 1
    body = client_for(pw.director).get(reverse(COVERAGE), {"days": "30"}).json()
    by_id = {f["id"]: f["properties"] for f in body["features"]}
    assert set(by_id) == {pw.grid_a.pk, pw.grid_b.pk, pw.grid_c.pk}
    assert by_id[pw.grid_a.pk]["patrols"] == 2  # the 20-day-old patrol too
    assert by_id[pw.grid_b.pk]["share"] == 0  # running patrols do not count
    assert {f["id"] for f in client_for(pw.director_s2).get(reverse(COVERAGE)).json()["features"]} == {
        pw.grid_d.pk
    }


@pytest.mark.parametrize("route", [TRACKS, FINDINGS, COVERAGE])
@pytest.mark.parametrize("days", ["8", "abc", "-7", "7.0", "３０", "9" * 40])
def test_bad_days_is_400_with_detail(pw, client_for, route, days):
    response = client_for(pw.director).get(reverse(route), {"days": days})
    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize("route", [TRACKS, FINDINGS, COVERAGE])
def test_who_may_see_the_layers(pw, client_for, route):
    assert client_for(None).get(reverse(route)).status_code == 302
    assert client_for(pw.patrol).get(reverse(route)).status_code == 200
    assert client_for(pw.dispatcher).get(reverse(route)).status_code == 200
    assert client_for(pw.director).post(reverse(route)).status_code == 405
