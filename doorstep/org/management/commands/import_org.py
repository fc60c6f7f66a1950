"""`doorstep import-org FILE [--dry-run]`: create a new installation's organisation from one GeoJSON file.

The file is a FeatureCollection (UTF-8, WGS-84 lng/lat) with one feature per station, street, community,
grid and police room; `properties.kind` says which (the format is in docs/operations/deploy.md §11, an
example in deploy/org-example.geojson). Like the registry import, every feature is checked before anything
is written and every bad feature is reported; unlike it, one bad feature stops the whole file (exit 1),
because a half-built organisation — a community without its grids — is worse than none. A good file is
written in one transaction through the org services, so each object is audited as created by the command
(`by=None`). Objects whose code already exists are counted as "已存在" and left as they are, so running the
same file again creates nothing; differences in name or boundary are printed, not applied.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from doorstep.core.errors import ServiceError
from doorstep.core.geo import GeometryError, check_point, polygon_bounds
from doorstep.org import services
from doorstep.org.choices import AreaType
from doorstep.org.forms import CODE_PATTERN, WORK_PHONE_PATTERN
from doorstep.org.models import Community, Grid, PoliceRoom, Station, Street, SubBureau

KINDS = ("station", "street", "community", "grid", "police_room")
LABELS = {"station": "派出所", "street": "街道", "community": "社区", "grid": "网格", "police_room": "警务室"}
# Codes are keys other systems match on: letters, digits and hyphens, as the models' lengths allow.
CODE_RE = re.compile(CODE_PATTERN)
PHONE_RE = re.compile(WORK_PHONE_PATTERN)  # the rule of the staff form's work phone
AREA_TYPES = {value: value for value in AreaType.values} | {
    str(label): value for value, label in AreaType.choices
}
# (property, parent kind) per kind; a police room is keyed by its community (one room per community).
PARENTS = {
    "station": [],
    "street": [],
    "community": [("station", "station"), ("street", "street")],
    "grid": [("community", "community")],
    "police_room": [("community", "community")],
}
MODELS = {"station": Station, "street": Street, "community": Community, "grid": Grid}


@dataclass
class Item:
    """One feature of the file, checked: its cleaned values, the problems found and what exists already."""

    index: int
    kind: str
    key: str = ""  # the code; for a police room the code of its community
    values: dict[str, Any] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # parent kind → code
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    existing: Any = None

    def where(self) -> str:
        where = f"第{self.index + 1}个要素（features[{self.index}]）"
        if not self.kind:
            return where
        return f"{where}{LABELS[self.kind]} {self.key or '（无代码）'}"


class FileProblem(Exception):
    pass


# --- reading one feature ----------------------------------------------------------------------------------
def _text(
    item: Item, props: dict[str, Any], name: str, label: str, max_length: int, required: bool = True
) -> str:
    raw = props.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            item.problems.append(f"缺少{label}（{name}）")
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        item.problems.append(f"{label}（{name}）应为文字")
        return ""
    value = str(raw).strip()
    if len(value) > max_length:
        item.problems.append(f"{label}（{name}）不能超过{max_length}个字符")
    return value


def _code(item: Item, props: dict[str, Any], name: str, label: str, max_length: int) -> str:
    value = _text(item, props, name, label, max_length)
    if value and not CODE_RE.match(value):
        item.problems.append(f"{label}（{name}）只能包含字母、数字和连字符：{value}")
    return value


def _point(item: Item, geometry: Any, required: bool) -> tuple[float, float] | None:
    if geometry is None:
        if required:
            item.problems.append("缺少位置（geometry 应为 Point）")
        return None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        item.problems.append("位置应为 GeoJSON Point")
        return None
    coords = geometry.get("coordinates")
    if (
        not isinstance(coords, list)
        or len(coords) not in (2, 3)
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
    ):
        item.problems.append("Point 坐标应为 [经度, 纬度]")
        return None
    lng, lat = float(coords[0]), float(coords[1])
    try:
        check_point(lng, lat)
    except GeometryError as exc:
        item.problems.append(str(exc))
        return None
    return lng, lat


def _no_geometry(item: Item, geometry: Any) -> None:
    if geometry is not None:
        item.notes.append(f"{LABELS[item.kind]}不保存几何图形，geometry 已忽略")


def read_feature(index: int, feature: Any) -> Item:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        item = Item(index, "")
        item.problems.append('不是 GeoJSON Feature（"type": "Feature"）')
        return item
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    kind = props.get("kind")
    item = Item(index, kind if kind in KINDS else "")
    if kind not in KINDS:
        item.problems.append(f"kind 应为 {'、'.join(KINDS)} 之一（现为 {kind!r}）")
        return item
    geometry = feature.get("geometry")
    v = item.values
    if kind == "police_room":
        item.key = _code(item, props, "community", "所属社区代码", 15)
    else:
        lengths = {"station": 12, "street": 12, "community": 15, "grid": 20}
        item.key = _code(item, props, "code", "代码", lengths[kind])
        v["name"] = _text(item, props, "name", "名称", 100)
    for prop, parent_kind in PARENTS[kind]:
        if kind == "police_room":
            item.parents[parent_kind] = item.key
        else:
            item.parents[parent_kind] = _code(item, props, prop, f"所属{LABELS[parent_kind]}代码", 20)
    if kind in ("station", "street"):
        item.parents["sub_bureau"] = _text(item, props, "sub_bureau", "所属分局代码", 12, required=False)
    if kind == "station":
        area = props.get("area_type", AreaType.CITY)
        if area not in AREA_TYPES:
            item.problems.append(f"区域类型（area_type）应为 city/城区 或 suburb/郊区（现为 {area!r}）")
        else:
            v["area_type"] = AREA_TYPES[area]
        v["address"] = _text(item, props, "address", "地址", 200, required=False)
        v["phone"] = _text(item, props, "phone", "值班电话", 20, required=False)
        if v["phone"] and not PHONE_RE.match(v["phone"]):
            item.problems.append(f"值班电话（phone）格式不对：{v['phone']}")
        point = _point(item, geometry, required=False)
        if point:
            v["lng"], v["lat"] = point
    elif kind in ("street", "community"):
        _no_geometry(item, geometry)
    elif kind == "grid":
        if geometry is None:
            item.problems.append("缺少边界（geometry 应为 Polygon 或 MultiPolygon）")
        else:
            try:
                polygon_bounds(geometry)
            except GeometryError as exc:
                item.problems.append(str(exc))
            else:
                v["boundary"] = {"type": geometry["type"], "coordinates": geometry["coordinates"]}
    elif kind == "police_room":
        v["name"] = _text(item, props, "name", "名称", 100)
        v["address"] = _text(item, props, "address", "地址", 200)
        v["public_phone"] = _text(item, props, "public_phone", "公开工作电话", 20)
        if v["public_phone"] and not PHONE_RE.match(v["public_phone"]):
            item.problems.append(f"公开工作电话（public_phone）格式不对：{v['public_phone']}")
        if props.get("hours") is not None:
            v["hours"] = _text(item, props, "hours", "开放时间", 60)
        if props.get("open_24h") is not None:
            if isinstance(props["open_24h"], bool):
                v["open_24h"] = props["open_24h"]
            else:
                item.problems.append("24小时开放（open_24h）应为 true 或 false")
        if props.get("geofence_m") is not None:
            fence = props["geofence_m"]
            if isinstance(fence, int) and not isinstance(fence, bool) and 10 <= fence <= 5000:
                v["geofence_m"] = fence
            else:
                item.problems.append("签到范围（geofence_m）应为 10 至 5000 之间的整数（米）")
        point = _point(item, geometry, required=True)
        if point:
            v["lng"], v["lat"] = point
    return item


# --- the whole file -----------------------------------------------------------------------------------------
@dataclass
class Plan:
    items: list[Item]
    sub_bureaus: dict[str, SubBureau]
    default_sub_bureau: SubBureau | None

    @property
    def bad(self) -> list[Item]:
        return [i for i in self.items if i.problems]

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]


def load(path: str) -> list[Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise FileProblem(f"找不到文件 {path}") from None
    except UnicodeDecodeError:
        raise FileProblem("文件不是 UTF-8 编码") from None
    except json.JSONDecodeError as exc:
        raise FileProblem(f"不是有效的 JSON：第{exc.lineno}行第{exc.colno}列 {exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FileProblem('文件应为 GeoJSON FeatureCollection（"type": "FeatureCollection"）')
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise FileProblem("FeatureCollection 中没有要素（features）")
    return features


def plan(features: list[Any]) -> Plan:
    """Check every feature against the file and the database; nothing is written."""
    items = [read_feature(i, f) for i, f in enumerate(features)]
    in_file: dict[str, dict[str, Item]] = {k: {} for k in KINDS}
    for item in items:
        if not item.kind or not item.key:
            continue
        first = in_file[item.kind].get(item.key)
        if first is not None:
            what = "所属社区（一个社区只有一个警务室）" if item.kind == "police_room" else "代码"
            item.problems.append(f"{what}与第{first.index + 1}个要素（features[{first.index}]）重复")
        else:
            in_file[item.kind][item.key] = item
    in_db: dict[str, dict[str, Any]] = {
        kind: {o.code: o for o in model.objects.filter(code__in=list(in_file[kind]))}
        for kind, model in MODELS.items()
    }
    # Parents may be elsewhere in the file or already in the database.
    for kind, model in MODELS.items():
        wanted = {i.parents.get(kind) for i in items} - {None, ""}
        missing = wanted - set(in_db[kind])
        in_db[kind] |= {o.code: o for o in model.objects.filter(code__in=list(missing))}
    in_db["police_room"] = {
        r.community.code: r
        for r in PoliceRoom.objects.select_related("community").filter(
            community__code__in=list(in_file["police_room"])
        )
    }
    sub_bureaus = {sb.code: sb for sb in SubBureau.objects.all()}
    default_sb = next(iter(sub_bureaus.values())) if len(sub_bureaus) == 1 else None

    def sub_bureau_code(kind: str, code: str) -> str | None:
        """The sub-bureau a station or street (from the file or the database) belongs to."""
        if code in in_db[kind]:
            return in_db[kind][code].sub_bureau.code
        item = in_file[kind].get(code)
        if item is None:
            return None
        return item.parents.get("sub_bureau") or (default_sb.code if default_sb else None)

    for item in items:
        if not item.kind or not item.key:
            continue
        item.existing = in_db[item.kind].get(item.key) if in_file[item.kind].get(item.key) is item else None
        missing: set[str] = set()
        for parent_kind, code in item.parents.items():
            if parent_kind == "sub_bureau":
                if code and code not in sub_bureaus:
                    item.problems.append(f"分局 {code} 不存在（分局由 doorstep create-admin 建立）")
                elif not code and default_sb is None:
                    item.problems.append(
                        "数据库里没有分局（先运行 doorstep create-admin）"
                        if not sub_bureaus
                        else "数据库里有多个分局，请填写所属分局代码（sub_bureau）"
                    )
                continue
            if code and code not in in_file[parent_kind] and code not in in_db[parent_kind]:
                item.problems.append(f"所属{LABELS[parent_kind]} {code} 在文件和数据库中都不存在")
                missing.add(parent_kind)
        if item.kind == "community" and all(item.parents.values()):
            station_sb = sub_bureau_code("station", item.parents["station"])
            street_sb = sub_bureau_code("street", item.parents["street"])
            if station_sb and street_sb and station_sb != street_sb:
                item.problems.append("所属派出所与所属街道不属于同一分局")
        if item.existing is not None:
            _compare(item, missing)
    return Plan(items, sub_bureaus, default_sb)


def _compare(item: Item, missing: set[str]) -> None:
    """An object that exists already is left alone; a different parent is an error, other changes a note."""
    obj = item.existing
    parent_codes = {
        "station": lambda: obj.station.code,
        "street": lambda: obj.street.code,
        "community": lambda: obj.community.code,
        "sub_bureau": lambda: obj.sub_bureau.code,
    }
    for parent_kind, code in item.parents.items():
        if (
            not code or parent_kind in missing or item.kind == "police_room"
        ):  # a room is found by its community
            continue
        current = parent_codes[parent_kind]()
        if current != code:
            label = "分局" if parent_kind == "sub_bureau" else LABELS[parent_kind]
            item.problems.append(f"数据库中已存在，但所属{label}为 {current}，与文件中的 {code} 不符")
    if item.values.get("name") and obj.name != item.values["name"]:
        item.notes.append(f"名称与数据库中的“{obj.name}”不同，未更新")
    if item.kind == "grid" and "boundary" in item.values and obj.boundary != item.values["boundary"]:
        item.notes.append("边界与数据库中的不同，未更新")


# --- writing ------------------------------------------------------------------------------------------------
def write(p: Plan) -> dict[str, int]:
    """Create what does not exist yet, parents first, in one transaction; return created counts per kind."""
    made: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
    created = dict.fromkeys(KINDS, 0)

    def sub_bureau(item: Item) -> SubBureau:
        code = item.parents.get("sub_bureau")
        return p.sub_bureaus[code] if code else p.default_sub_bureau  # type: ignore[return-value]

    def parent(kind: str, code: str) -> Any:
        if code in made[kind]:
            return made[kind][code]
        return MODELS[kind].objects.get(code=code)

    with transaction.atomic():
        for kind in KINDS:
            for item in p.of(kind):
                if item.existing is not None:
                    made[kind][item.key] = item.existing
                    continue
                v = item.values
                if kind == "station":
                    obj = services.create_station(sub_bureau=sub_bureau(item), code=item.key, **v)
                elif kind == "street":
                    obj = services.create_street(sub_bureau=sub_bureau(item), code=item.key, name=v["name"])
                elif kind == "community":
                    obj = services.create_community(
                        station=parent("station", item.parents["station"]),
                        street=parent("street", item.parents["street"]),
                        code=item.key,
                        name=v["name"],
                    )
                elif kind == "grid":
                    obj = services.create_grid(
                        community=parent("community", item.parents["community"]), code=item.key, **v
                    )
                else:
                    obj = services.create_police_room(community=parent("community", item.key), **v)
                made[kind][item.key] = obj
                created[kind] += 1
    return created


class Command(BaseCommand):
    help = "从 GeoJSON 文件导入组织架构（派出所、街道、社区、网格、警务室）；先检查全部要素，有误则不写入。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON FeatureCollection（UTF-8，WGS-84 经纬度）")
        parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")

    def handle(self, *args, file, dry_run, **options):
        try:
            p = plan(load(file))
        except FileProblem as exc:
            raise CommandError(str(exc)) from None
        for item in p.items:
            if item.problems:
                self.stdout.write(f"{item.where()}：{'；'.join(item.problems)}")
        if p.bad:
            raise CommandError(f"{len(p.bad)} 个要素有误，未写入任何数据。")
        for item in p.items:
            for note in item.notes:
                self.stdout.write(self.style.WARNING(f"{item.where()}：{note}"))
        existing = {k: sum(1 for i in p.of(k) if i.existing is not None) for k in KINDS}
        if dry_run:
            new = {k: len(p.of(k)) - existing[k] for k in KINDS}
            self._summary("检查通过（试导入，未写入）", "将新建", new, existing)
            return
        try:
            created = write(p)
        except (ServiceError, IntegrityError) as exc:
            raise CommandError(f"写入失败，已全部撤销：{exc}") from exc
        self._summary("导入完成", "新建", created, existing)

    def _summary(self, title: str, verb: str, new: dict[str, int], existing: dict[str, int]) -> None:
        self.stdout.write(self.style.SUCCESS(f"{title}："))
        for k in KINDS:
            self.stdout.write(f"  {LABELS[k]}：{verb} {new[k]}，已存在 {existing[k]}")
