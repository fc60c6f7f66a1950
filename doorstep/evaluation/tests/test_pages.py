"""The KPI pages (考核指标): the table by role and territory, bad query parameters, the drill-down of 调解成功率
to the dispute list, the ranking and score, the KPI detail page, and the settings page (permissions,
validation, audit)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.evaluation import pages, periods
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.evaluation.engine import REGISTRY
from doorstep.evaluation.models import KpiSetting
from doorstep.mediation import services as mediation
from doorstep.mediation.tests.conftest import add_mediators, new_dispute

URL = "/evaluation/"
SETTINGS_URL = "/evaluation/settings/"


def rows(response) -> list[tuple[str, int | None]]:
    return [(r.scope.level, r.scope.id) for r in response.context["rows"]]


def cell(response, scope_id: int, code: str):
    row = next(r for r in response.context["rows"] if r.scope.id == scope_id)
    return next(c for c in row.cells if c.column.code == code)


def disputes(world):
    """In 西福社区 (c1, grid A): two settled on the spot, one transferred to the room; one in 仁风社区 (S2)."""
    med = add_mediators(world)
    settled = [
        mediation.record_onsite(new_dispute(med), settled=True, note="当场和解", by=med.officer_a)
        for _ in range(2)
    ]
    open_one = mediation.record_onsite(
        new_dispute(med), settled=False, transfer=True, note="未成", by=med.officer_a
    )
    other = new_dispute(med, community=world.c3, grid=world.grid_d, by=world.director_s2)
    return settled, open_one, other


# --- who sees what ----------------------------------------------------------------------------------------------
def test_leader_ranks_the_stations_by_default(world, client_for):
    response = client_for(world.leader).get(URL)
    assert response.status_code == 200
    assert response.context["level"] == Level.STATION
    assert set(rows(response)) == {(Level.STATION, world.s1.pk), (Level.STATION, world.s2.pk)}
    assert response.context["summary"].level == Level.SUB_BUREAU
    assert response.context["period"] == periods.period_of(PeriodKind.MONTH, timezone.localdate())
    assert "考核指标" in response.content.decode()


@pytest.mark.parametrize("user", ["evaluator", "admin"])
def test_the_evaluation_office_sees_every_grid(world, client_for, user):
    response = client_for(getattr(world, user)).get(URL, {"level": "grid"})
    assert {pk for _level, pk in rows(response)} == {
        world.grid_a.pk,
        world.grid_b.pk,
        world.grid_c.pk,
        world.grid_d.pk,
    }


def test_officer_sees_only_the_own_grid(world, client_for):
    client = client_for(world.officer_a)
    response = client.get(URL)
    assert rows(response) == [(Level.GRID, world.grid_a.pk)]
    assert [v for v, _label in response.context["levels"]] == [Level.GRID]
    # Asking for a wider level falls back to the grids.
    assert rows(client.get(URL, {"level": "station"})) == [(Level.GRID, world.grid_a.pk)]
    assert rows(client.get(URL, {"level": "community"})) == [(Level.GRID, world.grid_a.pk)]
    # Her own numbers against the targets at the top.
    assert response.context["summary"].id == world.grid_a.pk
    assert "我的网格指标与目标" in response.content.decode()


def test_director_sees_the_own_station_only(world, client_for):
    response = client_for(world.director).get(URL)
    assert response.context["level"] == Level.COMMUNITY
    assert set(rows(response)) == {(Level.COMMUNITY, world.c1.pk), (Level.COMMUNITY, world.c2.pk)}
    assert response.context["summary"] == pages.summary_scope(world.director)
    grids = client_for(world.director).get(URL, {"level": "grid"})
    assert {pk for _l, pk in rows(grids)} == {world.grid_a.pk, world.grid_b.pk, world.grid_c.pk}


def test_director_s2_cannot_open_s1(world, client_for):
    client = client_for(world.director_s2)
    code = "mediation_success"
    for level, pk in (("station", world.s1.pk), ("community", world.c1.pk), ("grid", world.grid_a.pk)):
        response = client.get(f"/evaluation/kpis/{code}/", {"level": level, "id": pk})
        assert response.status_code == 404, level
    assert client.get(f"/evaluation/kpis/{code}/", {"level": "station", "id": world.s2.pk}).status_code == 200
    assert client.get(f"/evaluation/kpis/{code}/", {"level": "sub_bureau"}).status_code == 404


def test_officer_cannot_open_a_neighbours_grid_or_her_community(world, client_for):
    client = client_for(world.officer_a)
    detail = "/evaluation/kpis/mediation_success/"
    assert client.get(detail, {"level": "grid", "id": world.grid_a.pk}).status_code == 200
    assert client.get(detail, {"level": "grid", "id": world.grid_b.pk}).status_code == 404
    assert client.get(detail, {"level": "community", "id": world.c1.pk}).status_code == 404


@pytest.mark.parametrize("user", ["patrol", "mediator", "dispatcher", "auxiliary_a"])
def test_roles_without_evaluation_pages_get_404(world, client_for, user):
    add_mediators(world)
    from doorstep.accounts.models import User

    client = client_for(User.objects.get(username=user))
    assert client.get(URL).status_code == 404
    assert client.get("/evaluation/kpis/mediation_success/").status_code == 404
    assert client.get(SETTINGS_URL).status_code == 404


def test_anonymous_is_sent_to_login(world, client_for):
    response = client_for(None).get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- bad query parameters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        {"level": "xyz"},
        {"period": "garbage"},
        {"kind": "decade", "period": "2026-13"},
        {"kind": "week", "period": "2026-W99"},
        {"kind": "xun", "period": "2026-02-3"},
        {"kind": "year", "period": "9999"},
        {"period": "9999-12-31"},
        {"period": "x" * 5000},
        {"sort": "nonsense"},
        {"sort": "-mediation_success"},
        {"id": "99999999999999999999999999"},
    ],
)
def test_bad_index_parameters_fall_back(world, client_for, query):
    response = client_for(world.leader).get(URL, query)
    assert response.status_code == 200
    assert response.context["level"] in Level.values


def test_garbage_period_falls_back_to_the_current_month(world, client_for):
    response = client_for(world.leader).get(URL, {"kind": "month", "period": "garbage"})
    assert response.context["period"] == periods.period_of(PeriodKind.MONTH, timezone.localdate())
    feb = client_for(world.leader).get(URL, {"kind": "xun", "period": "2024-02-3"})
    assert (feb.context["period"].start.isoformat(), feb.context["period"].end.isoformat()) == (
        "2024-02-21",
        "2024-02-29",
    )


@pytest.mark.parametrize(
    "query",
    [
        {"level": "grid", "id": "99999999999999999999999999"},
        {"level": "grid", "id": str(2**63)},
        {"level": "grid", "id": str(2**62)},
        {"level": "grid", "id": "abc"},
        {"level": "grid", "id": "-1"},
        {"level": "grid"},
        {"level": "xyz", "id": "1"},
    ],
)
def test_bad_detail_scopes_are_404(world, client_for, query):
    assert client_for(world.leader).get("/evaluation/kpis/mediation_success/", query).status_code == 404


def test_unknown_kpi_is_404(world, client_for):
    assert client_for(world.leader).get("/evaluation/kpis/no_such_kpi/").status_code == 404


def test_detail_with_garbage_period_falls_back(world, client_for):
    response = client_for(world.leader).get(
        "/evaluation/kpis/mediation_success/", {"kind": "zz", "period": "garbage", "level": "sub_bureau"}
    )
    assert response.status_code == 200
    assert response.context["period"].kind == PeriodKind.MONTH


# --- values, drill-down and ranking -------------------------------------------------------------------------
def test_mediation_success_drills_down_to_exactly_the_counted_disputes(world, client_for):
    settled, open_one, other = disputes(world)
    client = client_for(world.leader)
    response = client.get(URL, {"level": "community"})
    c = cell(response, world.c1.pk, "mediation_success")
    assert c.text == "66.7%"
    assert (c.figure.numerator, c.figure.denominator) == (2, 3)
    assert c.worse  # below the 95 % target: red
    link = urlsplit(c.figure.records)
    assert link.path == "/mediation/list/"
    query = parse_qs(link.query)
    assert query["community"] == [str(world.c1.pk)]
    assert c.figure.records in response.content.decode().replace("&amp;", "&")

    listed = client.get(c.figure.records)
    assert listed.status_code == 200
    shown = {d.pk for d in listed.context["page"].object_list}
    assert shown == {d.pk for d in settled} | {open_one.pk}
    assert other.pk not in shown
    # 东星社区 accepted nothing: "—", never a division by zero (its link shows the empty list).
    empty = cell(response, world.c2.pk, "mediation_success")
    assert empty.text == "—" and empty.figure.value is None and not empty.worse
    assert empty.norm is None


def test_sorting_by_a_kpi_column_and_by_score(world, client_for):
    disputes(world)
    client = client_for(world.leader)
    best_first = client.get(URL, {"level": "community", "sort": "mediation_success"})
    ids = [pk for _l, pk in rows(best_first)]
    # c3: 0 of 1 settled; c1: 2 of 3; c2: none accepted ("—" last).
    assert ids[:2] == [world.c1.pk, world.c3.pk]
    assert ids[-1] == world.c2.pk
    worst_first = client.get(URL, {"level": "community", "sort": "-mediation_success"})
    assert [pk for _l, pk in rows(worst_first)][:2] == [world.c3.pk, world.c1.pk]
    by_score = client.get(URL, {"level": "community", "sort": "score"})
    scores = [r.score for r in by_score.context["rows"] if r.score is not None]
    assert scores == sorted(scores, reverse=True)


def test_officer_sees_her_figures_against_targets(world, client_for):
    disputes(world)
    response = client_for(world.officer_a).get(URL)
    summary = {c.column.code: c for c in response.context["summary_cells"]}
    assert summary["mediation_success"].text == "66.7%"
    assert summary["mediation_success"].column.target_text == "95.0%"


def test_formulas_are_in_the_header(world, client_for):
    response = client_for(world.leader).get(URL)
    html = response.content.decode()
    assert REGISTRY["mediation_success"].formula in html
    assert 'data-testid="kpi-formulas"' in html


# --- formatting and the score -----------------------------------------------------------------------------------
def test_values_are_formatted_by_unit():
    assert pages.fmt(REGISTRY["mediation_success"], 2 / 3) == "66.7%"
    assert pages.fmt(REGISTRY["incidence_per_10k"], 3 / 10_000) == "3.00‱"
    assert pages.fmt(REGISTRY["publicity_reach"], 1234) == "1,234"
    assert pages.fmt(REGISTRY["patrol_hours"], 12.25) == "12.2"
    assert pages.fmt(REGISTRY["mediation_success"], None) == "—"


def test_normalisation_and_total_score():
    up, down = REGISTRY["mediation_success"], REGISTRY["incidence_per_10k"]
    assert pages.normalise(up, 0.475, 0.95, []) == pytest.approx(0.5)
    assert pages.normalise(up, 1.0, 0.95, []) == 1.0
    assert pages.normalise(down, 2e-4, 4e-4, []) == 1.0
    assert pages.normalise(down, 8e-4, 4e-4, []) == pytest.approx(0.5)
    assert pages.normalise(down, 0.0, None, [0.0, 1e-4]) == 1.0
    assert pages.normalise(down, 2e-4, None, [1e-4, 2e-4]) == pytest.approx(0.5)
    assert pages.normalise(up, 5, None, [5, 10]) == pytest.approx(0.5)
    assert pages.normalise(up, None, 0.9, [1]) is None
    # Missing values leave the weights: 100 × (2×1 + 1×0.5) ÷ 3.
    assert pages.total_score([(2, 1.0), (1, 0.5), (5, None)]) == pytest.approx(250 / 3)
    assert pages.total_score([(1, None)]) is None


# --- detail -----------------------------------------------------------------------------------------------------
def test_detail_shows_formula_figure_trend_and_breakdown(world, client_for):
    disputes(world)
    response = client_for(world.director).get(
        "/evaluation/kpis/mediation_success/", {"level": "station", "id": world.s1.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert REGISTRY["mediation_success"].formula in html
    assert response.context["value_text"] == "66.7%"
    assert len(response.context["trend"]) == 12
    assert response.context["trend"][-1]["value"] == pytest.approx(66.67)
    children = {r.scope.id: r.cells[0] for r in response.context["children"]}
    assert set(children) == {world.c1.pk, world.c2.pk}
    assert children[world.c1.pk].figure.records.startswith("/mediation/list/?")
    assert "vendor/echarts/echarts.min.js" in html


def test_grid_detail_has_no_breakdown(world, client_for):
    response = client_for(world.officer_a).get("/evaluation/kpis/mediation_success/")
    assert response.status_code == 200
    assert response.context["scope"].id == world.grid_a.pk
    assert response.context["children"] == []


def test_index_query_count_does_not_grow_with_rows(world, client_for, django_assert_max_num_queries):
    client = client_for(world.leader)
    client.get(URL, {"level": "grid"})
    with django_assert_max_num_queries(45):
        client.get(URL, {"level": "grid"})


# --- settings ---------------------------------------------------------------------------------------------------
def _form(**override) -> dict:
    data = {}
    for code, kpi in REGISTRY.items():
        factor = pages.display_factor(kpi)
        data[f"{code}-target"] = "" if kpi.target is None else f"{kpi.target * factor:g}"
        data[f"{code}-weight"] = f"{kpi.weight:g}"
        data[f"{code}-active"] = "on"
    data.update(override)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("user", ["evaluator", "admin"])
def test_the_evaluation_office_edits_targets_and_weights(world, client_for, user):
    client = client_for(getattr(world, user))
    assert client.get(SETTINGS_URL).status_code == 200
    response = client.post(
        SETTINGS_URL,
        _form(
            **{"mediation_success-target": "90", "mediation_success-weight": "20", "awareness-active": None}
        ),
    )
    assert response.status_code == 302
    row = KpiSetting.objects.get(code="mediation_success")
    assert (row.target, row.weight, row.active) == (pytest.approx(0.9), 20, True)
    assert KpiSetting.objects.get(code="awareness").active is False
    assert KpiSetting.objects.count() == 2  # unchanged KPIs write nothing
    entry = AuditEntry.objects.filter(action="evaluation.kpi_setting", object_id=str(row.pk)).get()
    assert entry.after["weight"] == 20
    # The table now uses them: 知晓率 is gone, the target shows 90 %.
    table = client_for(world.leader).get(URL)
    codes = [c.code for c in table.context["columns"]]
    assert "awareness" not in codes
    assert next(c for c in table.context["columns"] if c.code == "mediation_success").target_text == "90.0%"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mediation_success-weight", "150", "权重应在 0 到 100 之间"),
        ("mediation_success-weight", "-1", "权重应在 0 到 100 之间"),
        ("mediation_success-weight", "", "请填写权重"),
        ("mediation_success-weight", "abc", "权重应为数字"),
        ("mediation_success-target", "120", "目标值应在 0% 到 100% 之间"),
        ("incidence_per_10k-target", "-3", "目标值应在 0‱ 到 10000‱ 之间"),
        ("mediation_success-target", "x", "目标值应为数字"),
    ],
)
def test_settings_validation_in_chinese_saves_nothing(world, client_for, field, value, message):
    response = client_for(world.evaluator).post(
        SETTINGS_URL, _form(**{field: value, "accuracy_rate-weight": "3"})
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not KpiSetting.objects.exists()  # the valid row is not saved either
    assert not AuditEntry.objects.filter(action="evaluation.kpi_setting").exists()


@pytest.mark.parametrize("user", ["leader", "director", "officer_a"])
def test_others_may_not_edit_settings(world, client_for, user):
    client = client_for(getattr(world, user))
    assert client.get(SETTINGS_URL).status_code == 403
    assert client.post(SETTINGS_URL, _form(**{"mediation_success-weight": "50"})).status_code == 403
    assert not KpiSetting.objects.exists()


def test_incidence_target_is_entered_per_10000(world, client_for):
    client_for(world.evaluator).post(SETTINGS_URL, _form(**{"incidence_per_10k-target": "3"}))
    assert KpiSetting.objects.get(code="incidence_per_10k").target == pytest.approx(3 / 10_000)
