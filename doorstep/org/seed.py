"""Deterministic synthetic organisation for `doorstep seed`: same scale and seed → the same district.

Geometry: community areas are a Voronoi tiling of jittered points over the district envelope; each
community is split into 4 grids the same way; stations and streets take the communities nearest to their
own seed points. All names are synthetic but sound like the Fengze district around 24.90°N 118.60°E.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPoint, Point, box, mapping
from shapely.ops import voronoi_diagram

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.accounts.services import create_user
from doorstep.core.ids import synthetic_mobile
from doorstep.org import services
from doorstep.org.choices import AreaType, Position, StaffKind
from doorstep.org.models import Community, Grid, Staff, SubBureau

ANCHOR = dt.date(2026, 11, 1)  # "today" of the synthetic world, so the data does not drift day by day
DEMO_PASSWORD = "Doorstep@2026"

STATIONS = [
    ("城东派出所", AreaType.CITY),
    ("清源派出所", AreaType.SUBURB),
    ("后渚边防派出所", AreaType.SUBURB),
    ("东海派出所", AreaType.CITY),
    ("华大派出所", AreaType.CITY),
    ("东湖派出所", AreaType.CITY),
    ("丰泽派出所", AreaType.CITY),
    ("泉秀派出所", AreaType.CITY),
    ("北峰派出所", AreaType.SUBURB),
]
STREETS = ["城东街道", "清源街道", "东海街道", "华大街道", "东湖街道", "丰泽街道", "泉秀街道", "北峰街道"]
COMMUNITY_NAMES = [
    "西福",
    "东星",
    "仁风",
    "浔美",
    "金星",
    "宝洲",
    "刺桐",
    "丰盛",
    "云山",
    "湖心",
    "凤凰",
    "津头埔",
    "霞美",
    "东浦",
    "法石",
    "通港",
    "后茂",
    "坪山",
    "岭后",
    "华星",
    "桥南",
    "中山",
    "少林",
    "田安",
    "温陵",
    "清濛",
    "圳山",
    "棋盘",
    "浦西",
    "顺济",
    "东美",
    "宝山",
    "古店",
    "南埔",
    "坂头",
    "杏宅",
    "后坑",
    "新步",
    "东梅",
    "霞淮",
    "聚宝",
    "七星",
    "新门",
    "津淮",
    "温泉",
    "龙宫",
    "沉洲",
    "锦绣",
    "福山",
    "美山",
    "霞洲",
    "承天",
    "朝阳",
    "龟湖",
    "群石",
    "丰州",
    "北门",
    "南门",
    "东岳",
    "西湖",
    "笋江",
    "浯江",
    "石笋",
    "崇福",
    "梅峰",
    "华侨",
    "仕公",
    "蟳埔",
    "后渚",
    "金屿",
]
SURNAMES = (
    "陈林黄张李王吴刘蔡杨郑许谢洪郭邱曾廖赖徐周叶苏庄吕江何萧罗高潘简朱钟彭游詹胡施沈余卢梁赵颜柯翁魏孙戴"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志强文辉斌宇浩凯鹏晓东海燕婷雪梅红霖泽源锦荣福"


@dataclass(frozen=True)
class Scale:
    name: str
    sub_bureau_code: str
    stations: int
    communities: int
    grids_per_community: int
    extent: tuple[float, float, float, float]  # min_lng, min_lat, max_lng, max_lat


SCALES = {
    "demo": Scale("demo", "350503000000", 2, 6, 4, (118.575, 24.885, 118.625, 24.915)),
    "district": Scale("district", "350503000000", 9, 60, 4, (118.52, 24.84, 118.68, 24.96)),
}


@dataclass
class SeedResult:
    sub_bureau: SubBureau
    created: bool
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role label, username, description)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _jittered_points(rng: random.Random, n: int, extent, jitter=0.35) -> list[Point]:
    min_x, min_y, max_x, max_y = extent
    cols = max(1, round((n * (max_x - min_x) / (max_y - min_y)) ** 0.5))
    rows = -(-n // cols)
    w, h = (max_x - min_x) / cols, (max_y - min_y) / rows
    cells = [(c, r) for r in range(rows) for c in range(cols)][:n]
    return [
        Point(
            min_x + (c + 0.5 + rng.uniform(-jitter, jitter)) * w,
            min_y + (r + 0.5 + rng.uniform(-jitter, jitter)) * h,
        )
        for c, r in cells
    ]


def _tile(points: list[Point], region) -> list:
    """Voronoi cells of `points` clipped to `region`, returned in the order of the points."""
    cells = list(voronoi_diagram(MultiPoint(points), envelope=region).geoms)
    out = []
    for p in points:
        cell = next(c for c in cells if c.contains(p) or c.touches(p))
        out.append(shapely.set_precision(cell.intersection(region), 1e-6).normalize())
    return out


def _points_inside(rng: random.Random, polygon, n: int) -> list[Point]:
    min_x, min_y, max_x, max_y = polygon.bounds
    pts: list[Point] = []
    while len(pts) < n:
        p = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if polygon.contains(p) and all(p.distance(q) > (max_x - min_x) / (3 * n) for q in pts):
            pts.append(p)
    return pts


def _nearest(point: Point, seeds: list[Point]) -> int:
    return min(range(len(seeds)), key=lambda i: point.distance(seeds[i]))


def seed(scale_name: str = "demo", seed_value: int = 42) -> SeedResult:
    """Create the synthetic organisation once; a second call finds it and creates nothing."""
    scale = SCALES[scale_name]
    existing = SubBureau.objects.first()
    if existing is not None:
        if (
            existing.code != scale.sub_bureau_code
            or Grid.objects.count() != scale.communities * scale.grids_per_community
        ):
            raise ValueError(
                f"数据库中已有{existing.name}（{Grid.objects.count()}个网格），与 --scale {scale_name} 不符；"
                "请使用新的数据库（DOORSTEP_VAR_DIR 或 DATABASE_URL）"
            )
        return SeedResult(existing, created=False, logins=_logins())
    rng = random.Random(f"{scale_name}:{seed_value}")
    return _build(scale, rng)


def _build(scale: Scale, rng: random.Random) -> SeedResult:
    sb = services.create_sub_bureau(name="丰泽公安分局", code=scale.sub_bureau_code, division_code="350503")
    region = box(*scale.extent)
    # Stations and streets: seed points; each community joins the nearest.
    station_pts = _jittered_points(rng, scale.stations, scale.extent, jitter=0.2)
    stations = []
    for i, (pt, (name, area)) in enumerate(zip(station_pts, STATIONS[: scale.stations], strict=True)):
        stations.append(
            services.create_station(
                sub_bureau=sb,
                name=name,
                code=f"350503{i + 1:02d}0000",
                area_type=area,
                address=f"泉州市丰泽区{name.removesuffix('派出所')}路{rng.randint(1, 300)}号",
                phone=f"0595-2{rng.randrange(10**6, 10**7)}",
                lng=round(pt.x, 6),
                lat=round(pt.y, 6),
            )
        )
    n_streets = max(1, min(len(STREETS), scale.communities // 7))
    street_pts = _jittered_points(rng, n_streets, scale.extent, jitter=0.2)
    streets = [
        services.create_street(sub_bureau=sb, name=STREETS[i], code=f"350503{i + 1:03d}000")
        for i in range(n_streets)
    ]
    community_pts = _jittered_points(rng, scale.communities, scale.extent)
    community_areas = _tile(community_pts, region)
    # Every station gets at least one community: its nearest, before the rest go by distance.
    owner = [_nearest(p, station_pts) for p in community_pts]
    for s_idx, s_pt in enumerate(station_pts):
        if s_idx not in owner:
            owner[min(range(len(community_pts)), key=lambda i: community_pts[i].distance(s_pt))] = s_idx
    names = list(COMMUNITY_NAMES)
    # 城东派出所 has 西福警务室 (the seed text names it): give its first community that name.
    names.remove("西福")
    first_of_station0 = owner.index(0)
    per_station_count = [0] * len(stations)
    communities: list[Community] = []
    grid_list: list[Grid] = []
    for idx, (pt, area) in enumerate(zip(community_pts, community_areas, strict=True)):
        s_idx = owner[idx]
        per_station_count[s_idx] += 1
        name = "西福" if idx == first_of_station0 else names.pop(0)
        station = stations[s_idx]
        community = services.create_community(
            station=station,
            street=streets[_nearest(pt, street_pts)],
            name=f"{name}社区",
            code=f"{station.code[:8]}{per_station_count[s_idx]:03d}",
        )
        communities.append(community)
        room_pt = area.representative_point()
        services.create_police_room(
            community=community,
            name=f"{name}警务室",
            address=f"{name}社区服务中心一楼",
            lng=round(room_pt.x, 6),
            lat=round(room_pt.y, 6),
            public_phone=f"0595-2{rng.randrange(10**6, 10**7)}",
        )
        grid_pts = _points_inside(rng, area, scale.grids_per_community)
        for g_idx, cell in enumerate(_tile(grid_pts, area)):
            grid_list.append(
                services.create_grid(
                    community=community,
                    name=f"{name}第{g_idx + 1}网格",
                    code=f"{community.code}{g_idx + 1:02d}",
                    boundary=mapping(cell) | {"coordinates": _coords(cell)},
                )
            )
    staff_by_station = _staff(sb, stations, communities, grid_list, rng)
    users = _users(sb, stations, communities, grid_list, staff_by_station)
    _requests(stations, grid_list, users, rng)
    return SeedResult(sb, created=True, logins=_logins())


def _coords(polygon) -> list:
    geo = mapping(polygon)
    return [[[round(x, 6), round(y, 6)] for x, y in ring] for ring in geo["coordinates"]]


_badge = iter(range(100001, 10**6))


def _new_staff(sb, station, kind, rng, joined_years=(1, 15)) -> Staff:
    return services.create_staff(
        sub_bureau=sb,
        station=station,
        kind=kind,
        name=_name(rng),
        badge_number=f"{next(_badge):06d}",
        phone=synthetic_mobile(rng),
        joined_on=ANCHOR - dt.timedelta(days=rng.randint(365 * joined_years[0], 365 * joined_years[1])),
    )


def _staff(sb, stations, communities, grid_list, rng) -> dict[int, dict[str, list[Staff]]]:
    """Staff the grids 1+2, with a few deliberate gaps and surpluses for the staffing board to show."""
    global _badge
    _badge = iter(range(100001, 10**6))
    by_station: dict[int, dict[str, list[Staff]]] = {
        s.pk: {k: [] for k in StaffKind.values} for s in stations
    }
    n = len(grid_list)
    no_officer = set(rng.sample(range(n), max(1, n // 30)))
    short_aux = set(rng.sample(range(n), max(1, n // 15))) - no_officer
    extra_aux = set(rng.sample(sorted(set(range(n)) - no_officer - short_aux), max(1, n // 60)))
    for i, grid in enumerate(grid_list):
        station = next(s for s in stations if s.pk == grid.community.station_id)
        if i not in no_officer:
            officer = _new_staff(sb, station, StaffKind.POLICE, rng, (3, 20))
            by_station[station.pk][StaffKind.POLICE].append(officer)
            services.assign_to_grid(
                grid=grid,
                staff=officer,
                position=Position.OFFICER,
                reason="网格民警配置",
                started_on=ANCHOR - dt.timedelta(days=rng.randint(120, 365 * 6)),
            )
        aux_count = 2 - (i in short_aux) + (i in extra_aux)
        for _ in range(aux_count):
            aux = _new_staff(sb, station, StaffKind.AUXILIARY, rng, (1, 8))
            by_station[station.pk][StaffKind.AUXILIARY].append(aux)
            services.assign_to_grid(
                grid=grid,
                staff=aux,
                position=Position.AUXILIARY,
                reason="专职协勤员配置",
                started_on=ANCHOR - dt.timedelta(days=rng.randint(60, 365 * 4)),
            )
    for station in stations:
        for kind, count in ((StaffKind.LEADER, 1), (StaffKind.DISPATCHER, 2), (StaffKind.MEDIATOR, 2)):
            for _ in range(count):
                by_station[station.pk][kind].append(_new_staff(sb, station, kind, rng))
    for community in communities:
        station = next(s for s in stations if s.pk == community.station_id)
        for _ in range(4):  # ≥4 full-time patrol members per community
            by_station[station.pk][StaffKind.PATROL].append(
                _new_staff(sb, station, StaffKind.PATROL, rng, (1, 6))
            )
    return by_station


def _users(sb, stations, communities, grid_list, staff_by_station) -> dict[str, User]:
    """One login per role (two officers and two directors so the permission matrix can be tried)."""
    s0, s1 = stations[0], stations[1]
    officers = [
        g
        for g in grid_list
        if g.community.station_id == s0.pk
        and g.assignments.filter(position=Position.OFFICER, ended_on__isnull=True).count() == 1
    ]
    grid_a, grid_b = officers[0], officers[1]

    def officer_of(grid):
        return grid.assignments.get(position=Position.OFFICER, ended_on__isnull=True).staff

    aux_a = grid_a.assignments.filter(position=Position.AUXILIARY, ended_on__isnull=True).first().staff
    leader_staff = services.create_staff(
        sub_bureau=sb, station=None, kind=StaffKind.LEADER, name="郑国栋", badge_number="000001"
    )
    spec = [
        ("leader", Role.LEADER, "郑国栋", {"sub_bureau": sb, "staff": leader_staff}),
        ("kaoping", Role.EVALUATOR, "考评办 林晓", {"sub_bureau": sb}),
        ("admin", Role.ADMIN, "系统管理员", {"sub_bureau": sb}),
        (
            "director",
            Role.DIRECTOR,
            staff_by_station[s0.pk][StaffKind.LEADER][0].name,
            {"station": s0, "staff": staff_by_station[s0.pk][StaffKind.LEADER][0]},
        ),
        (
            "director2",
            Role.DIRECTOR,
            staff_by_station[s1.pk][StaffKind.LEADER][0].name,
            {"station": s1, "staff": staff_by_station[s1.pk][StaffKind.LEADER][0]},
        ),
        (
            "dispatcher",
            Role.DISPATCHER,
            staff_by_station[s0.pk][StaffKind.DISPATCHER][0].name,
            {"station": s0, "staff": staff_by_station[s0.pk][StaffKind.DISPATCHER][0]},
        ),
        ("officer", Role.OFFICER, officer_of(grid_a).name, {"staff": officer_of(grid_a), "station": s0}),
        ("officer2", Role.OFFICER, officer_of(grid_b).name, {"staff": officer_of(grid_b), "station": s0}),
        ("auxiliary", Role.AUXILIARY, aux_a.name, {"staff": aux_a, "station": s0}),
        (
            "mediator",
            Role.MEDIATOR,
            staff_by_station[s0.pk][StaffKind.MEDIATOR][0].name,
            {"station": s0, "staff": staff_by_station[s0.pk][StaffKind.MEDIATOR][0]},
        ),
        (
            "patrol",
            Role.PATROL,
            staff_by_station[s0.pk][StaffKind.PATROL][0].name,
            {
                "community": grid_a.community,
                "station": s0,
                "staff": staff_by_station[s0.pk][StaffKind.PATROL][0],
            },
        ),
    ]
    users = {}
    for username, role, display, anchor in spec:
        users[username] = create_user(
            username=username, password=DEMO_PASSWORD, role=role, display_name=display, **anchor
        )
    return users


def _requests(stations, grid_list, users, rng) -> None:
    """A pending early-departure request, an approved and a pending secondment in the first station."""
    s0 = stations[0]
    director = users["director"]
    posts = [
        a
        for g in grid_list
        if g.community.station_id == s0.pk
        for a in g.assignments.filter(position=Position.OFFICER, ended_on__isnull=True)
        if services.needs_departure_approval(a, ANCHOR + dt.timedelta(days=30))
        and a.staff_id not in {users["officer"].staff_id, users["officer2"].staff_id}
    ]
    if posts:
        services.request_departure(
            posts[0],
            leave_on=ANCHOR + dt.timedelta(days=30),
            reason="家庭原因申请调往北峰派出所",
            by=director,
        )
    officers = [
        a.staff
        for g in grid_list
        if g.community.station_id == s0.pk
        for a in g.assignments.filter(position=Position.OFFICER, ended_on__isnull=True)
        if a.staff_id not in {users["officer"].staff_id, users["officer2"].staff_id}
    ]
    if len(officers) >= 3:
        approved = services.request_secondment(
            staff=officers[1],
            purpose="市局专项行动",
            destination="泉州市公安局刑侦支队",
            starts_on=ANCHOR - dt.timedelta(days=10),
            ends_on=ANCHOR + dt.timedelta(days=80),
            by=director,
        )
        services.decide_secondment(approved, approve=True, note="同意，期满即归", by=director)
        services.request_secondment(
            staff=officers[2],
            purpose="重大活动安保",
            destination="分局治安大队",
            starts_on=ANCHOR + dt.timedelta(days=20),
            ends_on=ANCHOR + dt.timedelta(days=35),
            by=director,
        )


def _logins() -> list[tuple[str, str, str]]:
    out = []
    for user in (
        User.objects.filter(
            username__in=[
                "leader",
                "kaoping",
                "admin",
                "director",
                "director2",
                "dispatcher",
                "officer",
                "officer2",
                "auxiliary",
                "mediator",
                "patrol",
            ]
        )
        .select_related("station", "community", "staff")
        .order_by("id")
    ):
        where = user.community or user.station or "全分局"
        if user.role in {Role.OFFICER, Role.AUXILIARY} and user.staff:
            grids = Grid.objects.filter(assignments__staff=user.staff, assignments__ended_on__isnull=True)
            where = "、".join(g.name for g in grids)
        out.append((user.get_role_display(), user.username, f"{user} · {where}"))
    return out
