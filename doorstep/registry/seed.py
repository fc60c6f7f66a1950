"""Deterministic synthetic 一标三实 registry for `doorstep seed`, on top of the organisation seed.

Same scale and seed → the same addresses, houses, households, persons, units and persons of concern (only
timestamps and the visit-due dates, which count from today, differ). The registry is written in bulk, per
grid, and coloured once at the end with `colours.recolour_all`; one audit entry records the seed.

The people generator (`plan_grid`) is shared with `bench/registry_import.py`, which writes the same kind
of persons to a CSV file instead of the database.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np
import shapely
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from shapely.geometry import shape

from doorstep.accounts.models import User
from doorstep.audit.services import record_change
from doorstep.core import tilecache
from doorstep.core.ids import check_char, synthetic_credit_code, synthetic_mobile
from doorstep.org.choices import Position
from doorstep.org.models import Grid, GridAssignment, SubBureau
from doorstep.org.seed import ANCHOR, GIVEN, SURNAMES
from doorstep.registry import colours, importers
from doorstep.registry.choices import (
    ConcernStatus,
    ConcernType,
    HouseStructure,
    HouseUse,
    KeyLevel,
    Occupancy,
    PermitType,
    PersonCategory,
    PropertyType,
    RiskLevel,
    UnitType,
)
from doorstep.registry.models import Address, House, Household, Person, PersonOfConcern, Unit


@dataclass(frozen=True)
class RegistryScale:
    houses: int
    units: int
    key_units: dict[str, int]  # unit type → how many key units of it
    concerns: int


REGISTRY_SCALES = {
    "demo": RegistryScale(
        houses=350,
        units=30,
        key_units={UnitType.SCHOOL: 2, UnitType.HOSPITAL: 2, UnitType.FINANCE: 3, UnitType.GOVERNMENT: 1},
        concerns=8,
    ),
    "district": RegistryScale(
        houses=200_000,
        units=3_000,
        key_units={
            UnitType.SCHOOL: 12,
            UnitType.HOSPITAL: 6,
            UnitType.FINANCE: 14,
            UnitType.GOVERNMENT: 4,
            UnitType.UTILITY: 2,
            UnitType.TRANSPORT: 1,
            UnitType.HAZARDOUS: 1,
        },
        concerns=600,
    ),
}

DIVISION = "350503"  # 丰泽区
# Where the floating population comes from (GB/T 2260 county codes), most from elsewhere in Fujian.
FLOATING_REGIONS = (
    ("350524", 14),  # 安溪县
    ("350583", 12),  # 南安市
    ("350526", 8),  # 德化县
    ("350628", 5),  # 平和县
    ("360102", 6),  # 南昌市东湖区
    ("362202", 5),  # 宜春市袁州区
    ("430102", 5),  # 长沙市芙蓉区
    ("420102", 4),  # 武汉市江岸区
    ("510104", 5),  # 成都市锦江区
    ("522401", 6),  # 毕节市七星关区
    ("450102", 4),  # 南宁市兴宁区
    ("412702", 5),  # 周口市川汇区
    ("340102", 3),  # 合肥市瑶海区
    ("532101", 3),  # 昭通市昭阳区
)
ROADS = [
    "东海大街",
    "刺桐路",
    "丰泽街",
    "田安路",
    "津头埔路",
    "宝洲路",
    "泉秀路",
    "丰盛路",
    "湖心街",
    "东湖街",
    "温陵路",
    "少林路",
    "华大街",
    "清源路",
    "北峰路",
    "东滨路",
    "通港西街",
    "坪山路",
    "霞淮街",
    "云山路",
    "浦西路",
    "圳山路",
    "后茂路",
    "法石街",
    "东美路",
    "七星街",
    "新门街",
    "笋江路",
]
ESTATES = [
    "阳光花园",
    "东海湾",
    "刺桐苑",
    "丰泽新村",
    "宝洲花园",
    "湖心公寓",
    "金色家园",
    "云山小区",
    "泉秀花园",
    "华侨新村",
    "温陵雅苑",
    "东湖山庄",
    "丰盛家园",
    "清源山居",
    "滨海名城",
    "世茂御龙",
    "中骏天峰",
    "万科城",
    "融侨城",
    "海景国际",
]
FOREIGNERS = (
    ("USA", "约翰", "JOHN SMITH", "工作"),
    ("PHL", "玛丽亚", "MARIA SANTOS", "工作"),
    ("VNM", "阮文南", "NGUYEN VAN NAM", "学习"),
    ("KOR", "金敏俊", "KIM MINJUN", "商务"),
    ("JPN", "佐藤健", "SATO KEN", "工作"),
    ("MYS", "陈志明", "TAN CHEE MING", "探亲"),
)
CONCERN_REASONS = {
    ConcernType.STABILITY: "多次组织群体性聚集",
    ConcernType.DRUGS: "有吸毒史，社区戒毒期满",
    ConcernType.FUGITIVE: "网上在逃人员，协查通报",
    ConcernType.PRIOR_RECORD: "盗窃前科，刑满释放未满五年",
    ConcernType.MENTAL: "肇事肇祸精神障碍患者，监护人已落实",
    ConcernType.PETITION: "重点上访人员，诉求尚未化解",
    ConcernType.CORRECTION: "社区矫正对象，矫正期内",
    ConcernType.RESETTLEMENT: "刑满释放安置帮教对象",
}
KEY_UNIT_NAMES = {
    UnitType.SCHOOL: ("丰泽区第{n}实验小学", "教育", "学校"),
    UnitType.HOSPITAL: ("泉州市第{n}医院", "卫生", "医院"),
    UnitType.FINANCE: ("{bank}泉州丰泽支行第{n}营业部", "金融", "银行"),
    UnitType.GOVERNMENT: ("丰泽区{dept}", "公共管理", "机关"),
    UnitType.UTILITY: ("泉州市{utility}丰泽营业所", "电力燃气", "公用"),
    UnitType.TRANSPORT: ("泉州客运中心站", "交通运输", "枢纽"),
    UnitType.HAZARDOUS: ("丰泽区加油站第{n}站", "危险化学品", "危险品"),
}
BANKS = ("中国银行", "工商银行", "建设银行", "农业银行", "兴业银行", "泉州银行", "邮储银行")
DEPTS = ("人民政府", "教育局", "民政局", "市场监督管理局", "税务局", "财政局")
UTILITIES = ("供电公司", "燃气公司", "自来水公司")
SHOP_WORDS = [
    "鑫源",
    "恒达",
    "宏发",
    "金诚",
    "永盛",
    "华兴",
    "福泰",
    "瑞丰",
    "嘉禾",
    "顺昌",
    "泰和",
    "兴隆",
    "万家",
    "佳美",
    "闽南",
    "刺桐",
    "海丝",
    "泉心",
]
INDUSTRIES = (
    ("enterprise", "鞋服制造", "有限公司"),
    ("enterprise", "石材加工", "有限公司"),
    ("enterprise", "电子商务", "有限公司"),
    ("enterprise", "建筑装饰", "工程有限公司"),
    ("enterprise", "物流运输", "物流有限公司"),
    ("shop", "餐饮", "小吃店"),
    ("shop", "零售", "便利店"),
    ("shop", "美容美发", "理发店"),
    ("shop", "汽车维修", "汽修店"),
    ("shop", "五金", "五金店"),
    ("other", "住宿", "宾馆"),
    ("other", "娱乐", "网吧"),
)


def _weighted(rng: random.Random, pairs) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


# --- people ------------------------------------------------------------------------------------------------
class IdMint:
    """Unique, valid synthetic citizen ID numbers (GB 11643) for one seed run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def new(self, region: str, born: dt.date, male: bool) -> str:
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if male else 0)
            first17 = f"{region}{born:%Y%m%d}{seq:03d}"
            value = first17 + check_char(first17)
            if value not in self.used:
                self.used.add(value)
                return value


def _born(rng: random.Random, min_age: int, max_age: int) -> dt.date:
    return ANCHOR - dt.timedelta(days=rng.randint(min_age * 365 + 1, max_age * 365 + 300))


def _given(rng: random.Random) -> str:
    return "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _person(
    rng: random.Random,
    mint: IdMint,
    *,
    category: str,
    surname: str,
    relation: str,
    ages: tuple[int, int],
    male: bool,
    region: str = DIVISION,
) -> dict[str, Any]:
    """One person as field values (house and household are attached by the caller)."""
    born = _born(rng, *ages)
    name = surname + _given(rng)
    values: dict[str, Any] = {
        "name": name,
        "category": category,
        "relation_to_head": relation,
        "ethnicity": "01" if rng.random() < 0.97 else rng.choice(("03", "08", "11", "22")),
        "phone": synthetic_mobile(rng) if ages[0] >= 16 else "",
        "registered_here": True,
    }
    if category == PersonCategory.FOREIGN:
        nationality, cn_name, latin, purpose = rng.choice(FOREIGNERS)
        values.update(
            name=cn_name,
            foreign_name=latin,
            nationality=nationality,
            document_type="护照",
            document_number=f"{nationality[0]}{rng.randrange(10**7, 10**8)}",
            stay_purpose=purpose,
            arrived_on=ANCHOR - dt.timedelta(days=rng.randint(30, 900)),
            expected_departure_on=ANCHOR + dt.timedelta(days=rng.randint(30, 700)),
            gender="1" if male else "2",
            birth_date=born,
            id_number=None,
        )
        return values
    values["id_number"] = mint.new(region, born, male)
    values["register_address"] = (
        "福建省泉州市丰泽区" if region == DIVISION else f"{region}（户籍地）"
    ) + f"{rng.choice(ROADS)}{rng.randint(1, 300)}号"
    if category == PersonCategory.FLOATING:
        roll = rng.random()
        if roll < 0.72:
            permit, expires = PermitType.RESIDENCE_PERMIT, ANCHOR + dt.timedelta(days=rng.randint(20, 1000))
        elif roll < 0.82:
            permit, expires = PermitType.RESIDENCE_PERMIT, ANCHOR - dt.timedelta(days=rng.randint(1, 400))
        elif roll < 0.9:
            permit, expires = PermitType.TEMPORARY, ANCHOR + dt.timedelta(days=rng.randint(20, 300))
        else:
            permit, expires = PermitType.NONE, None
        values.update(
            inflow_reason=_weighted(
                rng, (("务工", 70), ("经商", 15), ("投靠亲友", 8), ("学习", 4), ("其他", 3))
            ),
            permit_type=permit,
            permit_number=f"JZZ{rng.randrange(10**9, 10**10)}" if permit != PermitType.NONE else "",
            permit_expires_on=expires,
            registered_on=ANCHOR - dt.timedelta(days=rng.randint(10, 1500)),
            residence_type=rng.choice(("租赁房屋", "单位内部", "亲友家中")),
        )
    elif category == PersonCategory.UNSETTLED:
        values.update(
            unsettled_reason=rng.choice(("新生儿未申报户口", "出国回国未落户", "户口迁移手续未办结")),
            unsettled_since=ANCHOR - dt.timedelta(days=rng.randint(30, 900)),
        )
    return values


def _owner_household(rng: random.Random, mint: IdMint) -> list[dict[str, Any]]:
    size = _weighted(rng, ((1, 12), (2, 22), (3, 26), (4, 23), (5, 12), (6, 5)))
    surname = rng.choice(SURNAMES)
    head_male = rng.random() < 0.7
    members = [
        _person(
            rng,
            mint,
            category=PersonCategory.RESIDENT,
            surname=surname,
            relation="户主",
            ages=(28, 75),
            male=head_male,
        )
    ]
    for i in range(1, size):
        if i == 1 and size > 1:
            relation, ages, male, family = "配偶", (26, 75), not head_male, rng.choice(SURNAMES)
        elif i == size - 1 and size >= 5:
            relation, ages, male, family = "父母", (60, 90), rng.random() < 0.5, surname
        else:
            relation, ages, male, family = "子女", (0, 30), rng.random() < 0.5, surname
        roll = rng.random()
        category = (
            PersonCategory.UNSETTLED
            if roll < 0.01 and relation == "子女"
            else PersonCategory.LODGER
            if roll < 0.03
            else PersonCategory.RESIDENT
        )
        members.append(
            _person(rng, mint, category=category, surname=family, relation=relation, ages=ages, male=male)
        )
    for m in members:
        if m["category"] == PersonCategory.RESIDENT and rng.random() < 0.04:
            m["registered_here"] = False  # 人户不一致: registered here, living elsewhere in the district
    return members


def _tenant_household(rng: random.Random, mint: IdMint, size: int) -> list[dict[str, Any]]:
    members = []
    for i in range(size):
        if rng.random() < 0.004:
            category, region = PersonCategory.FOREIGN, ""
        else:
            category, region = PersonCategory.FLOATING, _weighted(rng, FLOATING_REGIONS)
        members.append(
            _person(
                rng,
                mint,
                category=category,
                surname=rng.choice(SURNAMES),
                relation="户主" if i == 0 else "同住",
                ages=(18, 60),
                male=rng.random() < 0.6,
                region=region or DIVISION,
            )
        )
    return members


# --- places ------------------------------------------------------------------------------------------------
def footprints(rng: random.Random, boundary: dict, n: int) -> list[tuple[float, float, float, float]]:
    """`n` small rectangles (min_lng, min_lat, max_lng, max_lat) lying wholly inside a grid polygon."""
    outline = shape(boundary)
    # About a metre inside the edge, so that rounding the corners to 6 decimals cannot push one outside.
    polygon = outline.buffer(-1e-5)
    shapely.prepare(polygon)
    min_x, min_y, max_x, max_y = polygon.bounds
    spacing = (outline.area / (n * 1.3)) ** 0.5
    while True:
        ox, oy = rng.uniform(0, spacing), rng.uniform(0, spacing)
        xs = np.arange(min_x + ox, max_x, spacing)
        ys = np.arange(min_y + oy, max_y, spacing)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        w, h = spacing * 0.55, spacing * 0.4
        inside = (
            shapely.contains_xy(polygon, gx, gy)
            & shapely.contains_xy(polygon, gx + w, gy)
            & shapely.contains_xy(polygon, gx, gy + h)
            & shapely.contains_xy(polygon, gx + w, gy + h)
        )
        idx = np.flatnonzero(inside)
        if len(idx) >= n:
            break
        spacing *= 0.9
    chosen = sorted(rng.sample(range(len(idx)), n))
    return [
        (
            round(float(gx[idx[i]]), 6),
            round(float(gy[idx[i]]), 6),
            round(float(gx[idx[i]] + w), 6),
            round(float(gy[idx[i]] + h), 6),
        )
        for i in chosen
    ]


def _rect(box: tuple[float, float, float, float]) -> dict:
    x0, y0, x1, y1 = box
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@dataclass
class HousePlan:
    address: dict[str, Any]  # field → value, written with importers.insert_rows
    house: dict[str, Any]
    households: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)  # (户号, members)


def plan_grid(
    rng: random.Random, mint: IdMint, grid: Grid, street: str, n_houses: int, *, with_people: bool = True
) -> list[HousePlan]:
    """Addresses, houses and the people living in them for one grid (nothing saved)."""
    roads = rng.sample(ROADS, 3)
    estate = rng.choice(ESTATES)
    plans = []
    for k, box in enumerate(footprints(rng, grid.boundary, n_houses), start=1):
        occupancy = _weighted(
            rng,
            (
                (Occupancy.OWNER, 68),
                (Occupancy.RENTED, 24),
                (Occupancy.VACANT, 6),
                (Occupancy.GROUP_RENTAL, 2),
            ),
        )
        commodity = rng.random() < 0.55
        lng, lat = round((box[0] + box[2]) / 2, 6), round((box[1] + box[3]) / 2, 6)
        address = dict(
            code=f"{grid.code}{k:05d}",
            grid_id=grid.pk,
            division_code=DIVISION,
            street_town=street,
            road=roads[k % 3],
            door_number=f"{k // 3 + 1}号",
            estate=estate if commodity else "",
            building=str(rng.randint(1, 20)) if commodity else "",
            unit_no=str(rng.randint(1, 3)) if commodity else "",
            floor=str(rng.randint(1, 18)) if commodity else "",
            room=f"{rng.randint(1, 18)}0{rng.randint(1, 4)}" if commodity else "",
            lng=lng,
            lat=lat,
        )
        address["full_text"] = Address.compose(SimpleNamespace(**address))
        rented = occupancy in (Occupancy.RENTED, Occupancy.GROUP_RENTAL)
        owner_name = rng.choice(SURNAMES) + _given(rng)
        house = dict(
            code=f"FW{grid.code}{k:05d}",
            grid_id=grid.pk,
            property_type=PropertyType.COMMODITY
            if commodity
            else _weighted(
                rng,
                (
                    (PropertyType.SELF_BUILT, 60),
                    (PropertyType.RESETTLEMENT, 25),
                    (PropertyType.PUBLIC, 10),
                    (PropertyType.OTHER, 5),
                ),
            ),
            use=_weighted(
                rng,
                (
                    (HouseUse.RESIDENTIAL, 90),
                    (HouseUse.MIXED, 6),
                    (HouseUse.COMMERCIAL, 2),
                    (HouseUse.DORMITORY, 2),
                ),
            ),
            structure=HouseStructure.REINFORCED
            if commodity
            else _weighted(
                rng,
                (
                    (HouseStructure.BRICK_CONCRETE, 55),
                    (HouseStructure.FRAME, 30),
                    (HouseStructure.WOOD, 8),
                    (HouseStructure.OTHER, 7),
                ),
            ),
            floors=rng.randint(6, 18) if commodity else rng.randint(1, 6),
            area=Decimal(rng.randint(4000, 18000)) / 100,
            occupancy=occupancy,
            owner_name=owner_name,
            owner_phone=synthetic_mobile(rng),
            footprint=_rect(box),
            lng=lng,
            lat=lat,
        )
        if rented:
            house["landlord_name"] = owner_name
            house["landlord_phone"] = house["owner_phone"]
            house["rooms_let"] = (
                rng.randint(4, 12) if occupancy == Occupancy.GROUP_RENTAL else rng.randint(1, 3)
            )
            house["monthly_rent"] = Decimal(rng.randrange(800, 4000, 50))
            house["rental_since"] = ANCHOR - dt.timedelta(days=rng.randint(30, 2000))
            if rng.random() < 0.8:
                house["responsibility_signed_on"] = house["rental_since"] + dt.timedelta(
                    days=rng.randint(0, 20)
                )
            house["refused_rectification"] = rng.random() < 0.02
        plan = HousePlan(address, house)
        if with_people and occupancy == Occupancy.OWNER:
            for j in range(2 if rng.random() < 0.04 else 1):
                plan.households.append((f"{grid.code[6:]}{k:05d}{j}", _owner_household(rng, mint)))
        elif with_people and rented:
            size = rng.randint(5, 10) if occupancy == Occupancy.GROUP_RENTAL else rng.randint(1, 4)
            plan.households.append(("", _tenant_household(rng, mint, size)))
        if with_people and plan.households and occupancy == Occupancy.OWNER:
            head = plan.households[0][1][0]
            house["owner_name"], house["owner_id_number"] = head["name"], head["id_number"]
        if rented:
            house["tenants"] = sum(len(m) for _, m in plan.households) or None
        plans.append(plan)
    return plans


def _spread(rng: random.Random, total: int, parts: int) -> list[int]:
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


def _grids() -> list[tuple[Grid, str]]:
    return [
        (g, g.community.street.name)
        for g in Grid.objects.select_related("community__street").order_by("code")
    ]


# --- writing -----------------------------------------------------------------------------------------------
@dataclass
class RegistrySeedResult:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


def _counts() -> dict[str, int]:
    return {
        "addresses": Address.objects.count(),
        "houses": House.objects.count(),
        "households": Household.objects.count(),
        "persons": Person.objects.count(),
        "units": Unit.objects.count(),
        "key_units": Unit.objects.filter(is_key=True).count(),
        "concerns": PersonOfConcern.objects.count(),
    }


def seed(scale_name: str = "demo", seed_value: int = 42, *, with_people: bool = True) -> RegistrySeedResult:
    """Fill the registry once (after `org.seed.seed`); a second call finds houses and creates nothing.

    `with_people=False` writes addresses, houses and units only (the import benchmark brings the people).
    """
    scale = REGISTRY_SCALES[scale_name]
    if House.objects.exists() or Person.objects.exists():
        return RegistrySeedResult(created=False, counts=_counts())
    with importers.bulk_session():
        result = _seed(scale, scale_name, seed_value, with_people=with_people)
    transaction.on_commit(tilecache.bump_all)  # every map tile is stale
    return result


def _seed(scale: RegistryScale, scale_name: str, seed_value: int, *, with_people: bool) -> RegistrySeedResult:
    rng = random.Random(f"registry:{scale_name}:{seed_value}")
    mint = IdMint(rng)
    grids = _grids()
    per_grid = _spread(rng, scale.houses, len(grids))
    for (grid, street), n in zip(grids, per_grid, strict=True):
        write_plans(plan_grid(rng, mint, grid, street, n, with_people=with_people))
    Household.objects.update(
        head=Subquery(
            Person.objects.filter(household=OuterRef("pk"), relation_to_head="户主")
            .order_by("id")
            .values("pk")[:1]
        )
    )
    _units(rng, scale, grids)
    if with_people:
        _concerns(rng, scale)
    importers.analyze_registry()  # PostgreSQL: plan the colour reads on the tables as they now are
    colours.recolour_all(trigger="registry.seed")
    counts = _counts()
    sub_bureau = SubBureau.objects.first()
    if sub_bureau is not None:
        record_change(
            None,
            "registry.seed",
            sub_bureau,
            after={"scale": scale_name, "seed": seed_value, **counts},
            note=f"一标三实演示数据（{scale_name}）",
        )
    return RegistrySeedResult(created=True, counts=counts)


def write_plans(plans: list[HousePlan]) -> None:
    """Save one grid's addresses, houses, households and persons with one INSERT … executemany each."""
    if not plans:
        return
    now = timezone.now()
    grid_id = plans[0].house["grid_id"]
    importers.insert_rows(Address, [p.address for p in plans], now)
    address_ids = dict(
        Address.objects.filter(code__in=[p.address["code"] for p in plans]).values_list("code", "id")
    )
    for plan in plans:
        plan.house["address_id"] = address_ids[plan.address["code"]]
    importers.insert_rows(House, [p.house for p in plans], now)
    house_ids = dict(
        House.objects.filter(code__in=[p.house["code"] for p in plans]).values_list("code", "id")
    )
    households = [
        {"house_id": house_ids[plan.house["code"]], "grid_id": grid_id, "household_no": number}
        for plan in plans
        for number, _members in plan.households
    ]
    importers.insert_rows(Household, households, now)
    # Every (house, 户号) of a plan is distinct, so the new households are found by it.
    household_ids = {
        (house_id, number): pk
        for pk, house_id, number in Household.objects.filter(grid_id=grid_id).values_list(
            "id", "house_id", "household_no"
        )
    }
    persons = []
    for plan in plans:
        house_id = house_ids[plan.house["code"]]
        for number, members in plan.households:
            household_id = household_ids[(house_id, number)]
            for values in members:
                person = {
                    **values,
                    "house_id": house_id,
                    "household_id": household_id,
                    "grid_id": grid_id,
                    "name_initials": importers.fast_initials(values["name"]),
                }
                if id_number := person.get("id_number"):
                    person["birth_date"] = dt.date(
                        int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])
                    )
                    person["gender"] = "1" if int(id_number[16]) % 2 else "2"
                persons.append(person)
    importers.insert_rows(Person, persons, now)


def _units(rng: random.Random, scale: RegistryScale, grids: list[tuple[Grid, str]]) -> None:
    codes: set[str] = set()

    def credit_code() -> str:
        while (code := synthetic_credit_code(rng)) in codes:
            pass
        codes.add(code)
        return code

    specs: list[tuple[str, str, str, bool]] = []  # (type, name, industry, key)
    counters: dict[str, int] = {}
    for unit_type, count in scale.key_units.items():
        pattern, industry, _kind = KEY_UNIT_NAMES[unit_type]
        for _ in range(count):
            counters[unit_type] = counters.get(unit_type, 0) + 1
            name = pattern.format(
                n=counters[unit_type],
                bank=BANKS[counters[unit_type] % len(BANKS)],
                dept=DEPTS[counters[unit_type] % len(DEPTS)],
                utility=UTILITIES[counters[unit_type] % len(UTILITIES)],
            )
            specs.append((unit_type, name, industry, True))
    names: set[str] = {s[1] for s in specs}
    while len(specs) < scale.units:
        unit_type, industry, suffix = rng.choice(INDUSTRIES)
        name = f"泉州市丰泽区{rng.choice(SHOP_WORDS)}{rng.choice(SHOP_WORDS)}{industry}{suffix}"
        if name in names:
            name = f"{name}（{len(specs)}号）"
        names.add(name)
        specs.append((unit_type, name, industry, False))
    addresses, units = [], []
    for i, (unit_type, name, industry, key) in enumerate(specs):
        grid, street = grids[rng.randrange(len(grids))]
        (box,) = footprints(rng, grid.boundary, 1)
        lng, lat = round((box[0] + box[2]) / 2, 6), round((box[1] + box[3]) / 2, 6)
        address = Address(
            code=f"{grid.code}U{i + 1:05d}",
            grid_id=grid.pk,
            division_code=DIVISION,
            street_town=street,
            road=rng.choice(ROADS),
            door_number=f"{rng.randint(1, 400)}号",
            lng=lng,
            lat=lat,
        )
        address.full_text = address.compose()
        addresses.append(address)
        units.append(
            Unit(
                name=name,
                credit_code=credit_code(),
                unit_type=unit_type,
                industry=industry,
                grid_id=grid.pk,
                legal_representative=rng.choice(SURNAMES) + _given(rng),
                security_lead=rng.choice(SURNAMES) + _given(rng),
                security_phone=synthetic_mobile(rng),
                is_key=key,
                key_level=rng.choice(KeyLevel.values) if key else "",
                risk_level=rng.choice((RiskLevel.HIGH, RiskLevel.MEDIUM))
                if key
                else _weighted(rng, ((RiskLevel.LOW, 80), (RiskLevel.MEDIUM, 17), (RiskLevel.HIGH, 3))),
                camera_count=rng.randint(8, 60) if key else rng.randint(0, 6),
                lng=lng,
                lat=lat,
            )
        )
    Address.objects.bulk_create(addresses, batch_size=2000)
    for unit, address in zip(units, addresses, strict=True):
        unit.address_id = address.pk
    Unit.objects.bulk_create(units, batch_size=2000)


def _concerns(rng: random.Random, scale: RegistryScale) -> None:
    """Persons of concern, mostly listed (列管中), a few pending or delisted; the demo officer's grid gets one."""
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["officer", "director", "director2", "leader"])
    }
    fallback = users.get("leader") or users.get("director") or User.objects.order_by("id").first()
    if fallback is None:
        return
    deciders = {u.station_id: u for u in users.values() if u.role == "director"}
    officer_grids: set[int] = set()
    if "officer" in users and users["officer"].staff_id:
        officer_grids = set(
            GridAssignment.objects.current()
            .filter(staff_id=users["officer"].staff_id, position=Position.OFFICER)
            .values_list("grid_id", flat=True)
        )
    adults = Person.objects.filter(
        category__in=[PersonCategory.RESIDENT, PersonCategory.FLOATING],
        birth_date__lte=ANCHOR - dt.timedelta(days=18 * 365),
    )
    ids = list(adults.order_by("id").values_list("id", flat=True))
    picked = sorted(rng.sample(ids, min(scale.concerns, len(ids))))
    if officer_grids:
        first = adults.filter(grid_id__in=officer_grids).order_by("id").values_list("id", flat=True).first()
        if first is not None and first not in picked:
            picked[0] = first
    grid_station = dict(Grid.objects.values_list("id", "community__station_id"))
    persons = Person.objects.in_bulk(picked)
    rows = []
    for i, pid in enumerate(picked):
        person = persons[pid]
        station_id = grid_station[person.grid_id]
        director = deciders.get(station_id, fallback)
        requester = users["officer"] if person.grid_id in officer_grids else director
        concern_type = rng.choice(ConcernType.values)
        roll = 0.0 if i == 0 else rng.random()
        status = (
            ConcernStatus.LISTED
            if roll < 0.8
            else ConcernStatus.LISTING_REQUESTED
            if roll < 0.88
            else ConcernStatus.DELISTING_REQUESTED
            if roll < 0.94
            else ConcernStatus.DELISTED
        )
        listed_on = ANCHOR - dt.timedelta(days=rng.randint(30, 1500))
        rows.append(
            PersonOfConcern(
                person_id=pid,
                concern_type=concern_type,
                status=status,
                reason=CONCERN_REASONS[ConcernType(concern_type)],
                listed_on=None if status == ConcernStatus.LISTING_REQUESTED else listed_on,
                delisted_on=listed_on + dt.timedelta(days=rng.randint(200, 700))
                if status == ConcernStatus.DELISTED
                else None,
                requested_by=requester,
                decided_by=None if status == ConcernStatus.LISTING_REQUESTED else director,
                request_note="表现良好，申请撤管" if status == ConcernStatus.DELISTING_REQUESTED else "",
            )
        )
    PersonOfConcern.objects.bulk_create(rows, batch_size=1000)
