"""Registry search at district scale: p50/p95 server time over 1,000 mixed queries (goal: p95 < 50 ms).

Builds its own synthetic district in a separate database (the organisation from `org.seed`, then ~200,000
houses and households, ~600,000 persons and ~3,000 units written in bulk with their search keys), unless
that database already holds it, in which case it is reused. Then it times `registry.search.search` and the
full `GET /api/v1/search/` request, in-process, for an officer (one grid), a station director and a
sub-bureau leader, on a mix of keys: full ID number, its last 4 or 6 characters, full name, name prefix,
pinyin initials, full phone, phone tail, address fragment, unit name, and misses.

    .venv/bin/python bench/registry_search.py                      # SQLite under var/bench-search/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doorstep_bench_search .venv/bin/python bench/registry_search.py

Options: --persons N (default 600000), --queries N (default 1000), --fresh (SQLite: delete the database).
Prints a Markdown table with the machine, the database and the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import sys
import time
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "bench-search"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")

PARSER = argparse.ArgumentParser(description=__doc__.splitlines()[0])
PARSER.add_argument("--persons", type=int, default=600_000)
PARSER.add_argument("--queries", type=int, default=1000)
PARSER.add_argument("--fresh", action="store_true", help="SQLite: start from an empty database")
ARGS = PARSER.parse_args()
if ARGS.fresh and "DATABASE_URL" not in os.environ:
    shutil.rmtree(os.environ["DOORSTEP_VAR_DIR"], ignore_errors=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from doorstep.accounts.models import User  # noqa: E402
from doorstep.core.ids import synthetic_citizen_id, synthetic_credit_code, synthetic_mobile  # noqa: E402
from doorstep.org import seed as org_seed  # noqa: E402
from doorstep.org.models import Grid  # noqa: E402
from doorstep.registry import search  # noqa: E402
from doorstep.registry.choices import Colour, Occupancy, PermitType, PersonCategory, UnitType  # noqa: E402
from doorstep.registry.models import Address, House, Household, Person, Unit  # noqa: E402
from doorstep.registry.seed import ESTATES, ROADS, SHOP_WORDS  # noqa: E402 - the seed's name lists
from doorstep.registry.services import initials  # noqa: E402

STREETS = ["东海街道", "丰泽街道", "泉秀街道", "清源街道", "华大街道", "城东街道", "北峰街道", "东湖街道"]
SHOP_KINDS = ["商行", "超市", "餐饮店", "五金店", "药房", "鞋服有限公司", "贸易有限公司", "汽车维修部"]
FLOATING_REGIONS = ["360102", "350322", "430102", "510107", "412701", "532101"]
BATCH = 2000


@cache
def _initials(name: str) -> str:
    return initials(name)


def _name(rng: random.Random) -> str:
    return rng.choice(org_seed.SURNAMES) + "".join(
        rng.choice(org_seed.GIVEN) for _ in range(rng.choice((1, 2)))
    )


def build(persons_target: int) -> dict[str, int]:
    """The synthetic registry, written in bulk per grid; returns the row counts."""
    rng = random.Random(20261128)
    grids = list(Grid.objects.order_by("id"))
    houses_per_grid = max(1, persons_target // 3 // len(grids))
    units_per_grid = max(1, persons_target // 200 // len(grids))
    seen_ids: set[str] = set()
    today = dt.date(2026, 11, 28)
    n_address = 0

    def new_id(region: str) -> str:
        while True:
            value = synthetic_citizen_id(rng, region)
            if value not in seen_ids:
                seen_ids.add(value)
                return value

    for gi, grid in enumerate(grids):
        street = STREETS[gi % len(STREETS)]
        roads = rng.sample(ROADS, 3)
        addresses, units_addresses = [], []
        for _ in range(houses_per_grid):
            n_address += 1
            estate = rng.choice(ESTATES) if rng.random() < 0.6 else ""
            a = Address(
                code=f"A{n_address:08d}",
                division_code="350503",
                street_town=street,
                road=rng.choice(roads),
                door_number=f"{rng.randrange(1, 400)}号",
                estate=estate,
                building=str(rng.randrange(1, 30)) if estate else "",
                unit_no=str(rng.randrange(1, 4)) if estate else "",
                room=f"{rng.randrange(1, 30)}0{rng.randrange(1, 5)}" if estate else "",
                grid_id=grid.pk,
            )
            a.full_text = a.compose()
            addresses.append(a)
        for _ in range(units_per_grid):
            n_address += 1
            a = Address(
                code=f"A{n_address:08d}",
                division_code="350503",
                street_town=street,
                road=rng.choice(roads),
                door_number=f"{rng.randrange(1, 400)}号",
                grid_id=grid.pk,
            )
            a.full_text = a.compose()
            units_addresses.append(a)
        Address.objects.bulk_create(addresses + units_addresses, batch_size=BATCH)

        houses = []
        for a in addresses:
            occupancy = rng.choices(
                [Occupancy.OWNER, Occupancy.RENTED, Occupancy.VACANT, Occupancy.GROUP_RENTAL], [70, 22, 6, 2]
            )[0]
            colour = rng.choices([Colour.GREEN, Colour.YELLOW, Colour.RED], [80, 16, 4])[0]
            houses.append(
                House(
                    code=f"H{a.code[1:]}",
                    address=a,
                    grid_id=grid.pk,
                    property_type="commodity" if a.estate else "self_built",
                    structure="frame" if a.estate else "brick_concrete",
                    floors=rng.randrange(1, 30),
                    occupancy=occupancy,
                    owner_name=_name(rng),
                    colour=colour,
                    colour_reasons=["无风险因素"]
                    if colour == Colour.GREEN
                    else ["出租屋，流动人口居住证过期"],
                    next_visit_due=today + dt.timedelta(days=rng.randrange(-30, 90)),
                )
            )
        House.objects.bulk_create(houses, batch_size=BATCH)
        households = [
            Household(house=h, grid_id=grid.pk, household_no=f"{h.code[1:]}", colour=h.colour,
                      colour_reasons=h.colour_reasons, next_visit_due=h.next_visit_due)
            for h in houses if h.occupancy != Occupancy.VACANT
        ]  # fmt: skip
        Household.objects.bulk_create(households, batch_size=BATCH)

        persons = []
        for household in households:
            surname = rng.choice(org_seed.SURNAMES)
            for k in range(rng.choice((1, 2, 3, 3, 4, 5))):
                category = rng.choices(
                    [PersonCategory.RESIDENT, PersonCategory.FLOATING, PersonCategory.LODGER], [75, 22, 3]
                )[0]
                floating = category == PersonCategory.FLOATING
                name = (surname if k == 0 else rng.choice(org_seed.SURNAMES)) + "".join(
                    rng.choice(org_seed.GIVEN) for _ in range(rng.choice((1, 2, 2)))
                )
                id_number = new_id(rng.choice(FLOATING_REGIONS) if floating else "350503")
                p = Person(
                    id_number=id_number,
                    name=name,
                    name_initials=_initials(name),
                    gender="1" if int(id_number[16]) % 2 else "2",
                    birth_date=dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
                    phone=synthetic_mobile(rng) if rng.random() < 0.8 else "",
                    house_id=household.house_id,
                    household_id=household.pk,
                    relation_to_head="户主" if k == 0 else "",
                    grid_id=grid.pk,
                    category=category,
                    permit_type=PermitType.RESIDENCE_PERMIT if floating else "",
                )
                persons.append(p)
        Person.objects.bulk_create(persons, batch_size=BATCH)

        units = []
        for a in units_addresses:
            kind = rng.choice(SHOP_KINDS)
            units.append(
                Unit(
                    name=f"泉州市{rng.choice(SHOP_WORDS)}{rng.choice(SHOP_WORDS)}{kind}{rng.randrange(1, 999)}",
                    credit_code=synthetic_credit_code(rng),
                    unit_type=UnitType.ENTERPRISE if "公司" in kind else UnitType.SHOP,
                    address=a,
                    grid_id=grid.pk,
                    security_lead=_name(rng),
                    security_phone=synthetic_mobile(rng),
                )
            )
        Unit.objects.bulk_create(units, batch_size=BATCH, ignore_conflicts=True)
        if gi % 40 == 39:
            print(f"  … {gi + 1}/{len(grids)} grids", file=sys.stderr)
    return counts()


def counts() -> dict[str, int]:
    return {
        "addresses": Address.objects.count(),
        "houses": House.objects.count(),
        "households": Household.objects.count(),
        "persons": Person.objects.count(),
        "units": Unit.objects.count(),
    }


# --- queries --------------------------------------------------------------------------------------------
MIX = [  # (kind, weight)
    ("full ID", 15),
    ("ID tail 4", 8),
    ("ID tail 6", 7),
    ("full name", 15),
    ("name prefix", 8),
    ("given name", 4),
    ("initials", 10),
    ("full phone", 8),
    ("phone tail 4", 8),
    ("address", 10),
    ("unit name", 4),
    ("miss", 3),
]


def sample_queries(n: int, users: dict[str, User]) -> list[tuple[str, str, str]]:
    """(user, kind, q): keys drawn from real rows, half of them from the officer's own grid."""
    rng = random.Random(7)
    officer_grids = list(
        Grid.objects.filter(
            assignments__staff_id=users["officer"].staff_id, assignments__ended_on__isnull=True
        )
    )
    max_id = Person.objects.order_by("-id").values_list("id", flat=True).first()
    min_id = Person.objects.order_by("id").values_list("id", flat=True).first()

    def a_person(user: str):
        qs = Person.objects.select_related("house__address")
        if user == "officer" and rng.random() < 0.5:
            return qs.filter(grid__in=officer_grids).order_by("?").first()
        while True:  # a random id is much cheaper than ORDER BY RANDOM() over 600k rows
            person = qs.filter(id__gte=rng.randint(min_id, max_id)).order_by("id").first()
            if person is not None:
                return person

    kinds = [k for k, w in MIX for _ in range(w)]
    queries = []
    for i in range(n):
        user = ("officer", "director", "leader")[i % 3]
        kind = rng.choice(kinds)
        person = a_person(user)
        if kind == "full ID":
            q = person.id_number
        elif kind == "ID tail 4":
            q = person.id_number[-4:]
        elif kind == "ID tail 6":
            q = person.id_number[-6:]
        elif kind == "full name":
            q = person.name
        elif kind == "name prefix":
            q = person.name[:2]
        elif kind == "given name":
            q = person.name[1:] if len(person.name) == 3 else person.name[-2:]
        elif kind == "initials":
            q = person.name_initials
        elif kind == "full phone":
            q = person.phone or person.id_number
        elif kind == "phone tail 4":
            q = (person.phone or person.id_number)[-4:]
        elif kind == "address":
            address = person.house.address
            q = f"{address.road}{address.door_number}" if rng.random() < 0.5 else address.full_text[-8:]
        elif kind == "unit name":
            q = rng.choice(SHOP_WORDS) + rng.choice(SHOP_WORDS)
        else:
            q = rng.choice(["王小二不存在", "9999999", "xyzq", "火星路1号"])
        queries.append((user, kind, q))
    return queries


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def run(queries, users) -> tuple[dict, dict]:
    direct: dict[str, list[float]] = defaultdict(list)
    api: dict[str, list[float]] = defaultdict(list)
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    for user, _kind, q in queries[:50]:  # warm-up: caches, prepared plans, page cache
        search.search(users[user], q)
    hits = 0
    for user, kind, q in queries:
        t0 = time.perf_counter()
        found = search.search(users[user], q, 20)
        elapsed = (time.perf_counter() - t0) * 1000
        hits += bool(found)
        for key in (kind, f"user:{user}", "all"):
            direct[key].append(elapsed)
        t0 = time.perf_counter()
        response = clients[user].get("/api/v1/search/", {"q": q})
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.content[:200]
        for key in (kind, f"user:{user}", "all"):
            api[key].append(elapsed)
    print(f"queries with at least one hit: {hits}/{len(queries)}", file=sys.stderr)
    return direct, api


def main() -> None:
    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    if Person.objects.count() < ARGS.persons * 0.9:
        if Person.objects.exists():
            sys.exit("the bench database holds another registry; use --fresh or a new DATABASE_URL")
        t0 = time.perf_counter()
        with transaction.atomic():
            org_seed.seed("district", 42)
        with transaction.atomic():
            built = build(ARGS.persons)
        print(f"built {built} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum / `PRAGMA optimize` would keep
        cursor.execute("ANALYZE")
    rows = counts()
    users = {name: User.objects.get(username=name) for name in ("officer", "director", "leader")}
    queries = sample_queries(ARGS.queries, users)
    direct, api = run(queries, users)

    database = (
        f"SQLite {connection.Database.sqlite_version}"
        if vendor == "sqlite"
        else f"PostgreSQL {connection.cursor().connection.info.server_version // 10000}"
    )
    print(f"\n### Registry search — {database}, {dt.date.today()}\n")
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}. Data: {rows['persons']:,} persons, {rows['houses']:,} houses, "
        f"{rows['households']:,} households, {rows['addresses']:,} addresses, {rows['units']:,} units. "
        f"{len(queries)} queries, users: officer (1 grid), director (1 station), leader (sub-bureau).\n"
    )
    print("| keys | n | search() p50 | search() p95 | GET /api/v1/search/ p50 | p95 | max |")
    print("|---|---|---|---|---|---|---|")
    order = ["all", "user:officer", "user:director", "user:leader"] + [k for k, _w in MIX]
    for key in order:
        if key not in direct:
            continue
        d, a = direct[key], api[key]
        print(
            f"| {key} | {len(d)} | {statistics.median(d):.1f} ms | {pct(d, 0.95):.1f} ms | "
            f"{statistics.median(a):.1f} ms | {pct(a, 0.95):.1f} ms | {max(a):.1f} ms |"
        )


if __name__ == "__main__":
    main()
