"""Monthly alarm statistics: percentiles, 出警达标率 (city vs suburb), false-alarm rate, drills excluded, every
number backed by its records, the export (xlsx and CSV) and its audit row, roles and territory, and bad
query parameters answered without a 500."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from doorstep.alarms import services, stats
from doorstep.alarms.choices import AlarmState, EventType, Protocol
from doorstep.alarms.models import Alarm
from doorstep.audit.models import AccessEntry
from doorstep.core.ids import synthetic_credit_code
from doorstep.org.choices import AreaType
from doorstep.org.models import Station
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

CST = ZoneInfo("Asia/Shanghai")
NOV = stats.Month(2026, 11)
LATER = dt.datetime(2026, 12, 15, 12, 0, tzinfo=CST)  # "now" for the fixtures: November is over
S = dt.timedelta(seconds=1)


# --- pure functions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "p50", "p90"),
    [
        ([], None, None),
        ([7], 7, 7),
        ([30, 10, 20, 5], 10, 30),  # sorted 5 10 20 30: ranks ⌈2⌉ = 2 and ⌈3.6⌉ = 4
        (list(range(1, 11)), 5, 9),  # ranks 5 and 9
        (list(range(1, 12)), 6, 10),  # ranks ⌈5.5⌉ = 6 and ⌈9.9⌉ = 10
    ],
)
def test_nearest_rank_percentiles(values, p50, p90):
    assert (stats.percentile(values, 50), stats.percentile(values, 90)) == (p50, p90)


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "26-11", "2026/11", "1999-12", "2026-11-01", "abc"]
)
def test_bad_months_do_not_parse(text):
    with pytest.raises(ValueError):
        stats.Month.parse(text)


def test_months_are_local_calendar_months():
    assert stats.Month.parse("2026-12").start == dt.datetime(2026, 12, 1, tzinfo=CST)
    assert stats.Month(2026, 12).end == dt.datetime(2027, 1, 1, tzinfo=CST)
    assert stats.Month.of(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == stats.Month(
        2026, 12
    )  # 00:30 CST
    assert (
        stats.fmt_seconds(125) == "2分05秒"
        and stats.fmt_seconds(9.6) == "10秒"
        and stats.fmt_seconds(None) == "—"
    )


# --- the hand-computed month -------------------------------------------------------------------------------------
def key_device(grid, name, device_id, by):
    house = make_house(grid)
    unit = registry_services.create_unit(
        name=name, credit_code=synthetic_credit_code(_rng), unit_type=UnitType.FINANCE, key_level="1",
        address=house.address, security_lead="王经理", security_phone="13700001234",
    )  # fmt: skip
    device, _credentials = services.provision_device(unit=unit, device_id=device_id, location="柜台", by=by)
    return device


_events = iter(range(1, 10**6))


def alarm(device, received_at, *, type_=EventType.PANIC, ack=None, dispatch=None, arrive=None, closed=None,
          disposition="", drill=False):  # fmt: skip
    """An alarm with the step times given in seconds after it was received (the lifecycle services record
    them with the real clock; statistics need chosen ones)."""

    def after(seconds):
        return None if seconds is None else received_at + seconds * S

    state = AlarmState.RECEIVED
    for moment, step in ((ack, AlarmState.ACKNOWLEDGED), (dispatch, AlarmState.DISPATCHED),
                         (arrive, AlarmState.ARRIVED), (closed, AlarmState.CLOSED)):  # fmt: skip
        state = step if moment is not None else state
    return Alarm.objects.create(
        device=device, unit_id=device.unit_id, grid_id=device.grid_id, station_id=device.station_id,
        event_id=f"e-{next(_events)}", event_type=type_, protocol=Protocol.HTTP, pressed_at=received_at - S,
        received_at=received_at, state=state, acknowledged_at=after(ack), dispatched_at=after(dispatch),
        arrived_at=after(arrive), closed_at=after(closed), disposition=disposition, is_drill=drill,
    )  # fmt: skip


@pytest.fixture
def month(world):
    """S1 (city, norm 5 min) and S2 (suburb, norm 10 min) in November 2026.

    S1: a1 panic   ack 10 s, dispatch 40 s, arrive 240 s, closed 真实警情  → reached (4 min ≤ 5)
        a2 panic   ack 20 s, dispatch 60 s, arrive 360 s, closed 真实警情  → late (6 min)
        a3 silent  ack 30 s, dispatch 90 s, never arrived, closed 其他    → late (never arrived)
        a4 panic   ack 5 s, closed 误报                                   → not an emergency; a false alarm
        a7 panic   open, never acknowledged                              → late (norm long past)
        a5 panic   matched drill; a6 test press                          → drills, excluded from everything
        a8 panic   in October                                            → another month
    S2: b1 panic arrive 360 s (6 min ≤ 10 → reached), b2 panic arrive 660 s (11 min → late), both closed 真实警情.
    """
    Station.objects.filter(pk=world.s2.pk).update(area_type=AreaType.SUBURB)  # no station-editing service yet
    world.s2.refresh_from_db()
    d1 = key_device(world.grid_a, "城东银行", "BTN-S1", world.director)
    d2 = key_device(world.grid_d, "仁风银行", "BTN-S2", world.director_s2)
    day = dt.datetime(2026, 11, 10, 9, 0, tzinfo=CST)
    a = {
        "a1": alarm(d1, day, ack=10, dispatch=40, arrive=240, closed=900, disposition="real"),
        "a2": alarm(
            d1,
            day + 1 * dt.timedelta(hours=1),
            ack=20,
            dispatch=60,
            arrive=360,
            closed=900,
            disposition="real",
        ),
        "a3": alarm(
            d1,
            day + 2 * dt.timedelta(hours=1),
            type_=EventType.SILENT_PANIC,
            ack=30,
            dispatch=90,
            closed=900,
            disposition="other",
        ),  # fmt: skip
        "a4": alarm(d1, day + 3 * dt.timedelta(hours=1), ack=5, closed=60, disposition="false"),
        "a5": alarm(d1, day + 4 * dt.timedelta(hours=1), ack=3, closed=30, disposition="test", drill=True),
        "a6": alarm(d1, day + 5 * dt.timedelta(hours=1), type_=EventType.TEST, drill=True),
        "a7": alarm(d1, dt.datetime(2026, 11, 30, 23, 59, tzinfo=CST)),
        "a8": alarm(d1, dt.datetime(2026, 10, 31, 23, 59, tzinfo=CST), ack=1),
        "b1": alarm(d2, day, ack=15, dispatch=50, arrive=360, closed=900, disposition="real"),
        "b2": alarm(
            d2, day + dt.timedelta(hours=1), ack=25, dispatch=70, arrive=660, closed=900, disposition="real"
        ),
    }
    return a


def ids(*alarms):
    return sorted(x.pk for x in alarms)


def test_the_city_station_month_by_hand(month, world):
    cell = stats.station_month(world.s1, NOV, now=LATER)
    a = month

    assert cell.norm_seconds == 300
    assert cell.counts["all"] == 5 and cell.count("drill") == 2
    assert (cell.count("type:panic"), cell.count("type:silent_panic"), cell.count("type:test")) == (4, 1, 0)
    assert {k: cell.count(f"disposition:{k}") for k in ("real", "false", "test", "other")} == {
        "real": 2, "false": 1, "test": 0, "other": 1,
    }  # fmt: skip
    assert cell.count("open") == 1 and cell.count("closed") == 4
    assert cell.intervals["acknowledged"] == stats.Interval(4, 10, 30)  # 5 10 20 30
    assert cell.intervals["dispatched"] == stats.Interval(3, 60, 90)  # 40 60 90
    assert cell.intervals["arrived"] == stats.Interval(2, 240, 360)
    assert sorted(cell.ids["emergency"]) == ids(a["a1"], a["a2"], a["a3"], a["a7"])
    assert cell.ids["reached"] == [a["a1"].pk]
    assert sorted(cell.ids["late"]) == ids(a["a2"], a["a3"], a["a7"])
    assert cell.on_time_rate == 0.25 and cell.on_time_text == "25.0%"
    assert cell.false_rate == 0.25 and cell.ids["false"] == [a["a4"].pk]
    assert sorted(cell.ids["drill"]) == ids(a["a5"], a["a6"])


def test_the_suburb_norm_is_ten_minutes(month, world):
    cell = stats.station_month(world.s2, NOV, now=LATER)

    assert cell.norm_seconds == 600
    assert cell.ids["reached"] == [month["b1"].pk] and cell.ids["late"] == [month["b2"].pk]
    assert cell.on_time_rate == 0.5 and cell.false_rate == 0.0
    assert cell.intervals["arrived"] == stats.Interval(2, 360, 660)


def test_drills_never_count(month, world):
    """Turning the drills into ordinary alarms changes the figures: so they really were left out."""
    before = stats.station_month(world.s1, NOV, now=LATER)
    Alarm.objects.filter(pk__in=[month["a5"].pk, month["a6"].pk]).update(is_drill=False)
    after = stats.station_month(world.s1, NOV, now=LATER)

    assert (before.count("all"), after.count("all")) == (5, 7)
    assert (before.count("closed"), after.count("closed")) == (4, 5)
    assert after.count("drill") == 0 and after.intervals["acknowledged"].n == 5


def test_an_emergency_is_pending_until_its_norm_passes(month, world):
    received = dt.datetime(2026, 12, 15, 11, 57, tzinfo=CST)
    fresh = alarm(month["a1"].device, received, ack=10)

    during = stats.station_month(world.s1, stats.Month(2026, 12), now=received + 4 * 60 * S)
    after = stats.station_month(world.s1, stats.Month(2026, 12), now=received + 5 * 60 * S + S)

    assert during.ids["pending"] == [fresh.pk] and during.on_time_rate is None
    assert after.ids["late"] == [fresh.pk] and after.on_time_rate == 0.0


def test_empty_months_have_no_rates(world):
    cell = stats.station_month(world.s1, NOV, now=LATER)

    assert cell.count("all") == 0 and cell.on_time_rate is None and cell.false_rate is None
    assert cell.intervals["arrived"] == stats.Interval(0, None, None)
    assert cell.on_time_text == "—"


def test_the_table_covers_every_station_and_month(month, world):
    cells = stats.compute([world.s1, world.s2], stats.month_range(stats.Month(2026, 10), NOV), now=LATER)

    assert [(c.station.pk, str(c.month), c.count("all")) for c in cells] == [
        (world.s1.pk, "2026-10", 1), (world.s2.pk, "2026-10", 0), (world.s1.pk, "2026-11", 5), (world.s2.pk, "2026-11", 2),
    ]  # fmt: skip


# --- pages -------------------------------------------------------------------------------------------------------
@pytest.fixture
def later():
    with time_machine.travel(LATER, tick=False):
        yield


@pytest.mark.parametrize(
    ("user", "stations"),
    [("director", ["S1"]), ("director_s2", ["S2"]), ("leader", ["S1", "S2"]), ("evaluator", ["S1", "S2"])],
)
def test_the_table_shows_the_users_stations(month, world, client_for, later, user, stations):
    response = client_for(world.users[user]).get("/alarms/stats/?start=2026-11&end=2026-11")

    assert response.status_code == 200
    names = {"S1": world.s1.pk, "S2": world.s2.pk}
    assert [r["cell"].station.pk for r in response.context["rows"]] == [names[s] for s in stations]
    body = response.content.decode()
    assert "出警达标率" in body and "统计口径" in body


@pytest.mark.parametrize("user", ["dispatcher", "officer_a", "patrol", "admin"])
def test_roles_without_statistics_get_404(month, world, client_for, user):
    client = client_for(world.users[user])

    for url in ("/alarms/stats/", f"/alarms/stats/detail/?station={world.s1.pk}&month=2026-11",
                "/alarms/stats/export/?format=csv"):  # fmt: skip
        assert client.get(url).status_code == 404, url


def test_every_number_links_to_its_records(month, world, client_for, later):
    client = client_for(world.director)
    table = client.get("/alarms/stats/?start=2026-11&end=2026-11").content.decode()
    base = f"/alarms/stats/detail/?station={world.s1.pk}&amp;month=2026-11"

    for figure in (
        "all",
        "type:panic",
        "acknowledged",
        "dispatched",
        "arrived",
        "emergency",
        "false",
        "drill",
    ):
        assert f'href="{base}&amp;figure={figure}"' in table, figure
    late = client.get(f"/alarms/stats/detail/?station={world.s1.pk}&month=2026-11&figure=late")
    drills = client.get(f"/alarms/stats/detail/?station={world.s1.pk}&month=2026-11&figure=drill")

    assert late.status_code == 200
    assert sorted(a.pk for a in late.context["rows"]) == ids(month["a2"], month["a3"], month["a7"])
    assert {a.pk for a in drills.context["rows"]} == {month["a5"].pk, month["a6"].pk}
    assert "超时" in late.content.decode() and "6分00秒" in late.content.decode()


def test_detail_of_another_station_is_404(month, world, client_for, later):
    client = client_for(world.director_s2)

    assert client.get(f"/alarms/stats/detail/?station={world.s1.pk}&month=2026-11").status_code == 404
    assert client.get(f"/alarms/stats/detail/?station={world.s2.pk}&month=2026-11").status_code == 200


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("station={s1}&month=2026-13", 400),
        ("station={s1}&month=abc", 400),
        ("station={s1}", 400),
        ("station={s1}&month=2026-11&figure=nope", 400),
        ("station=abc&month=2026-11", 404),
        ("station=99999999999999999999&month=2026-11", 404),
        ("station=-1&month=2026-11", 404),
        ("month=2026-11", 404),
        ("station={s1}&month=2026-11&page=abc", 200),
    ],
)
def test_bad_detail_parameters_are_no_500(month, world, client_for, later, query, status):
    response = client_for(world.leader).get("/alarms/stats/detail/?" + query.format(s1=world.s1.pk))

    assert response.status_code == status


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-13",
        "end=abc",
        "start=2026-11&end=2026-01",
        "start=2020-01&end=2026-11",
        "station=abc",
        "station=987654321",
    ],  # fmt: skip
)
def test_bad_table_parameters_are_400_with_chinese_errors(month, world, client_for, later, query):
    response = client_for(world.leader).get(f"/alarms/stats/?{query}")

    assert response.status_code == 400
    errors = [e for errs in response.context["form"].errors.values() for e in errs]
    assert errors and all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for e in errors)


# --- export ------------------------------------------------------------------------------------------------------
def test_xlsx_export_has_the_figures_and_is_audited(month, world, client_for, later):
    response = client_for(world.leader).get(
        "/alarms/stats/export/?start=2026-11&end=2026-11&format=xlsx&purpose=月度通报"
    )

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    header, *rows = [list(r) for r in book["报警统计"].values]
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    city = table[world.s1.name]
    assert city["月份"] == "2026-11" and city["到场时限（分钟）"] == 5 and city["报警总数"] == 5
    assert city["接警→确认 P50（秒）"] == 10 and city["接警→确认 P90（秒）"] == 30
    assert city["接警→到场 P90（秒）"] == 360 and city["出警达标率"] == 0.25 and city["误报率"] == 0.25
    assert city["演练（不计入统计）"] == 2
    assert table[world.s2.name]["出警达标率"] == 0.5 and table[world.s2.name]["到场时限（分钟）"] == 10
    assert book["口径说明"].cell(1, 1).value.startswith("统计口径")
    entry = AccessEntry.objects.get(kind="export")
    assert entry.actor_id == world.leader.pk and entry.object_type == "alarms.alarm"
    assert entry.purpose == "月度通报" and entry.fields == ["statistics"]
    excluded = month["a8"].pk  # October: not behind these figures
    assert sorted(entry.object_ids) == sorted(str(a.pk) for k, a in month.items() if a.pk != excluded)
    text = " ".join(str(v) for r in rows for v in r)
    assert "13700001234" not in text and "王经理" not in text and "柜台" not in text  # no personal data


def test_csv_export_is_utf8_with_bom_and_scoped(month, world, client_for, later):
    response = client_for(world.director).get("/alarms/stats/export/?start=2026-11&end=2026-11&format=csv")

    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["派出所"] for r in rows] == [world.s1.name]  # the director's station only
    assert rows[0]["出警达标率"] == "25.0%" and rows[0]["误报率"] == "25.0%" and rows[0]["紧急警情"] == "4"
    assert rows[0]["接警→派警 P50（秒）"] == "60"
    entry = AccessEntry.objects.get(kind="export")
    assert month["b1"].pk not in {int(i) for i in entry.object_ids}


@pytest.mark.parametrize("query", ["format=pdf", "format=csv&start=2026-99", "format=xlsx&station=abc"])
def test_bad_export_parameters_are_400_and_not_logged(month, world, client_for, later, query):
    response = client_for(world.leader).get(f"/alarms/stats/export/?{query}")

    assert response.status_code == 400
    assert not AccessEntry.objects.filter(kind="export").exists()


def test_the_table_defaults_to_the_last_six_months_and_shows_them(month, world, client_for, later):
    response = client_for(world.leader).get("/alarms/stats/")

    months = sorted({str(r["cell"].month) for r in response.context["rows"]})
    assert months == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    body = response.content.decode()
    assert 'value="2026-07"' in body and 'value="2026-12"' in body
