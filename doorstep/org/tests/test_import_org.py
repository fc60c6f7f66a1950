"""`doorstep import-org`: the example file imports, a second run creates nothing, every bad feature is reported
with its index and then nothing at all is written."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from doorstep.audit.models import AuditEntry
from doorstep.cli import main
from doorstep.conftest import square
from doorstep.org import services
from doorstep.org.models import Community, Grid, PoliceRoom, Station, Street

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "org-example.geojson"
MODELS = [Station, Street, Community, Grid, PoliceRoom]


def example_features() -> list[dict]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))["features"]


def counts() -> list[int]:
    return [model.objects.count() for model in MODELS]


def run(tmp_path: Path, features: list[dict] | None = None, *args: str) -> str:
    path = tmp_path / "org.geojson"
    if features is not None:
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    else:
        path = EXAMPLE
    out = io.StringIO()
    try:
        call_command("import_org", str(path), *args, stdout=out)
    except CommandError as exc:
        raise CommandError(out.getvalue() + str(exc)) from exc
    return out.getvalue()


def refused(tmp_path: Path, features: list[dict], *args: str) -> str:
    with pytest.raises(CommandError) as exc:
        run(tmp_path, features, *args)
    return str(exc.value)


@pytest.fixture
def sub_bureau(db):
    return services.create_sub_bureau(name="丰泽分局", code="350503000000", division_code="350503")


def test_the_example_file_imports_through_the_audited_services(sub_bureau, tmp_path):
    out = run(tmp_path)

    assert counts() == [1, 1, 1, 2, 1]
    assert "网格：新建 2，已存在 0" in out
    grid = Grid.objects.get(code="3505030600101")
    assert grid.community.station.code == "350503060000"
    assert grid.community.street.sub_bureau == sub_bureau
    assert (grid.min_lng, grid.max_lat) == (118.59, 24.905)
    room = PoliceRoom.objects.get()
    assert (room.community.code, room.lng, room.lat, room.geofence_m) == ("35050306001", 118.5975, 24.9, 100)
    actions = set(AuditEntry.objects.filter(actor_id__isnull=True).values_list("action", flat=True))
    assert {
        "org.create_station",
        "org.create_street",
        "org.create_community",
        "org.create_grid",
        "org.create_police_room",
    } <= actions


def test_importing_the_same_file_again_creates_nothing(sub_bureau, tmp_path):
    run(tmp_path)
    audited = AuditEntry.objects.count()

    out = run(tmp_path)

    assert counts() == [1, 1, 1, 2, 1]
    assert AuditEntry.objects.count() == audited
    assert "派出所：新建 0，已存在 1" in out
    assert "网格：新建 0，已存在 2" in out
    assert "警务室：新建 0，已存在 1" in out


def test_a_changed_name_is_reported_not_applied(sub_bureau, tmp_path):
    run(tmp_path)
    features = example_features()
    features[3]["properties"]["name"] = "东湖一网格"

    out = run(tmp_path, features)

    assert "features[3]" in out and "未更新" in out
    assert Grid.objects.get(code="3505030600101").name == "东湖第1网格"


def test_dry_run_checks_and_writes_nothing(sub_bureau, tmp_path):
    out = run(tmp_path, example_features(), "--dry-run")

    assert counts() == [0, 0, 0, 0, 0]
    assert "网格：将新建 2，" in out


def test_parents_may_come_later_in_the_file(sub_bureau, tmp_path):
    run(tmp_path, list(reversed(example_features())))

    assert counts() == [1, 1, 1, 2, 1]
    assert Grid.objects.filter(community__code="35050306001").count() == 2


def test_parents_may_already_be_in_the_database(world, tmp_path):
    before = counts()
    features = [
        {
            "type": "Feature",
            "properties": {
                "kind": "community",
                "code": "35050301009",
                "name": "新建社区",
                "station": world.s1.code,
                "street": world.c1.street.code,
            },
            "geometry": None,
        },
        {
            "type": "Feature",
            "properties": {
                "kind": "grid",
                "code": "3505030100103",
                "name": "西福第3网格",
                "community": "35050301001",
            },
            "geometry": square(118.60, 24.93),
        },
        {
            "type": "Feature",
            "properties": {
                "kind": "police_room",
                "community": "35050301009",
                "name": "新建警务室",
                "address": "新建社区服务中心",
                "public_phone": "0595-22000009",
            },
            "geometry": {"type": "Point", "coordinates": [118.63, 24.93]},
        },
    ]

    run(tmp_path, features)

    assert counts() == [before[0], before[1], before[2] + 1, before[3] + 1, before[4] + 1]
    assert Community.objects.get(code="35050301009").station == world.s1
    assert Grid.objects.get(code="3505030100103").community == world.c1


def _bowtie() -> dict:
    ring = [[118.59, 24.895], [118.60, 24.905], [118.60, 24.895], [118.59, 24.905], [118.59, 24.895]]
    return {"type": "Polygon", "coordinates": [ring]}


def _swapped() -> dict:
    ring = [[24.895, 118.59], [24.895, 118.60], [24.905, 118.60], [24.905, 118.59], [24.895, 118.59]]
    return {"type": "Polygon", "coordinates": [ring]}


BAD = {
    "unknown kind": (1, lambda f: f[1]["properties"].update(kind="road"), "kind 应为"),
    "station code with spaces": (0, lambda f: f[0]["properties"].update(code="3505 0306"), "只能包含"),
    "station area type": (0, lambda f: f[0]["properties"].update(area_type="rural"), "area_type"),
    "station point swapped": (0, lambda f: f[0].update(geometry=_point(24.9, 118.6)), "坐标超出范围"),
    "street without name": (1, lambda f: f[1]["properties"].pop("name"), "缺少名称"),
    "community unknown station": (2, lambda f: f[2]["properties"].update(station="350503990000"), "都不存在"),
    "community without street": (2, lambda f: f[2]["properties"].pop("street"), "所属街道代码"),
    "grid code too long": (3, lambda f: f[3]["properties"].update(code="3" * 21), "不能超过20个字符"),
    "grid unknown community": (4, lambda f: f[4]["properties"].update(community="35050399999"), "都不存在"),
    "grid duplicate code": (4, lambda f: f[4]["properties"].update(code="3505030600101"), "重复"),
    "grid self-intersecting": (3, lambda f: f[3].update(geometry=_bowtie()), "无效"),
    "grid swapped coordinates": (3, lambda f: f[3].update(geometry=_swapped()), "超出范围"),
    "grid without boundary": (4, lambda f: f[4].update(geometry=None), "缺少边界"),
    "grid point not polygon": (4, lambda f: f[4].update(geometry=_point(118.6, 24.9)), "Polygon"),
    "police room without point": (5, lambda f: f[5].update(geometry=None), "缺少位置"),
    "police room bad phone": (5, lambda f: f[5]["properties"].update(public_phone="call us"), "格式不对"),
    "police room second for community": (5, lambda f: f.append(copy.deepcopy(f[5])), "重复"),
}


def _point(lng: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lng, lat]}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_feature_is_reported_with_its_index_and_nothing_is_written(sub_bureau, tmp_path, case):
    index, spoil, reason = BAD[case]
    features = example_features()
    spoil(features)
    if case == "police room second for community":
        index = len(features) - 1

    message = refused(tmp_path, features)

    assert f"第{index + 1}个要素（features[{index}]）" in message
    assert reason in message
    assert "未写入任何数据" in message
    assert counts() == [0, 0, 0, 0, 0]
    assert (
        not AuditEntry.objects.filter(action__startswith="org.create_")
        .exclude(action="org.create_sub_bureau")
        .exists()
    )


def test_every_bad_feature_is_reported_not_only_the_first(sub_bureau, tmp_path):
    features = example_features()
    features[1]["properties"].pop("name")
    features[4]["geometry"] = _bowtie()

    message = refused(tmp_path, features)

    assert "features[1]" in message and "features[4]" in message
    assert "2 个要素有误" in message


def test_an_existing_object_under_another_parent_is_refused(world, tmp_path):
    before = counts()
    features = [
        {
            "type": "Feature",
            "properties": {
                "kind": "grid",
                "code": world.grid_a.code,
                "name": "西福第1网格",
                "community": "35050301002",
            },
            "geometry": square(118.60, 24.90),
        }
    ]

    message = refused(tmp_path, features)

    assert "features[0]" in message and "所属社区为 35050301001" in message
    assert counts() == before


def test_station_and_street_of_a_community_must_share_the_sub_bureau(sub_bureau, tmp_path):
    services.create_sub_bureau(name="另一分局", code="350504000000", division_code="350504")
    features = example_features()
    features[0]["properties"]["sub_bureau"] = "350503000000"
    features[1]["properties"]["sub_bureau"] = "350504000000"

    message = refused(tmp_path, features)

    assert "features[2]" in message and "不属于同一分局" in message
    assert counts() == [0, 0, 0, 0, 0]


def test_without_a_sub_bureau_the_import_asks_for_create_admin(db, tmp_path):
    message = refused(tmp_path, example_features())

    assert "create-admin" in message
    assert counts() == [0, 0, 0, 0, 0]


def test_a_file_that_is_not_a_feature_collection_is_refused(sub_bureau, tmp_path):
    path = tmp_path / "org.geojson"
    path.write_text('{"type": "Feature"}', encoding="utf-8")
    with pytest.raises(CommandError, match="FeatureCollection"):
        call_command("import_org", str(path), stdout=io.StringIO())
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="不是有效的 JSON"):
        call_command("import_org", str(path), stdout=io.StringIO())


def test_the_doorstep_cli_exits_1_on_a_bad_file(sub_bureau, tmp_path, capsys, monkeypatch):
    """Through the console script (`import-org` → import_org). Django closes every connection when a command
    run from argv ends, which on PostgreSQL would close the test's transaction: that one call is stubbed."""
    monkeypatch.setattr(connections, "close_all", lambda: None)
    features = example_features()
    features[3]["geometry"] = None
    path = tmp_path / "org.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")

    with pytest.raises(SystemExit) as exc:
        main(["import-org", str(path)])

    assert exc.value.code == 1
    assert "features[3]" in capsys.readouterr().out
    assert counts() == [0, 0, 0, 0, 0]
