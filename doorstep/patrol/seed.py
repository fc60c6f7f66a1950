"""Demo proactive policing for the first station of the demo district: a prevention zone per community, a
full-time patrol team per community (one community with only 3 members, so the board flags it), a volunteer
team led by the community officer, about 15 done patrols over the last 30 days with GPS tracks that wander
through the grids, a few findings, two publicity campaigns with events and handbooks handed out, a published
post, police–resident meetings for the last months (one community missed last month) and their issues (one
open past its due date).

Deterministic and idempotent like the other seeds: a database that already has patrols gets nothing new.
Everything is written through the services (teams, runs, meetings, publicity) by the demo users, with the
services' own clocks (`now=`) set in the past for the patrols; dates in the past need no moving afterwards.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from shapely.geometry import Point, shape

from doorstep.accounts.models import User
from doorstep.org.choices import StaffKind
from doorstep.org.models import Community, Grid, Staff, Station
from doorstep.patrol import access, meetings, publicity, runs, teams
from doorstep.patrol.choices import DEFAULT_MATERIALS, FindingKind, MeetingKind, TeamKind, Theme
from doorstep.patrol.models import Material, Patrol

PATROLS = 15
SHORT_STAFFED = 3  # members of the one community the board flags (< 4)
FIX_EVERY_S = 10
WALK_SPEED_MS = (1.0, 1.5)
INSET_DEG = 0.00025  # about 25 m: the walk keeps off the grid's edge
BATCH = 200
VOLUNTEERS = ["陈阿姨", "林大伯", "黄师傅", "吴小姐", "郑先生", "许阿姨", "蔡大哥", "王老师"]
SKILLS = ["熟悉小区情况", "会讲闽南话", "退休教师", "电工", "驾驶", "急救培训"]
CADRES = ["庄建华", "洪丽珍", "苏文斌", "潘秀英", "吕志明", "江美玲"]
FINDINGS = [
    (FindingKind.HAZARD, "楼道堆放杂物，堵塞消防通道，已告知物业清理"),
    (FindingKind.HAZARD, "电动车在楼道内充电，已劝导"),
    (FindingKind.SUSPICIOUS, "一男子在车棚附近反复查看电动车，上前询问后离开"),
    (FindingKind.OTHER, "路灯损坏，已报社区"),
]
ISSUES = [
    ("小区后门夜间无人值守，希望加强巡逻", "张大爷"),
    ("电动车充电桩不足，飞线充电多", "业主代表"),
    ("快递柜附近常有陌生人逗留", "李女士"),
]


@dataclass(frozen=True)
class PatrolSeedResult:
    created: bool
    patrols: int


def seed(seed_value: int = 42) -> PatrolSeedResult:
    """Seed the first station of the demo district; nothing when there are patrols already or no district."""
    if Patrol.objects.exists():
        return PatrolSeedResult(False, Patrol.objects.count())
    users = {u.username: u for u in User.objects.filter(username__in=["director", "officer", "patrol"])}
    station = Station.objects.order_by("code").first()
    if station is None or "director" not in users:
        return PatrolSeedResult(False, 0)
    rng = random.Random(f"patrol:{seed_value}")
    now = timezone.now().replace(second=0, microsecond=0)
    today = timezone.localdate(now)
    for (
        name
    ) in DEFAULT_MATERIALS:  # reference data (migration 0002 puts them in; a flushed database has none)
        Material.objects.get_or_create(name=name)
    communities = list(Community.objects.filter(station=station).order_by("code"))
    director = users["director"]
    with transaction.atomic():
        officers = {c.pk: teams.community_officers(c.pk).first() for c in communities}
        _teams(director, station, communities, officers, users, today, rng)
        _patrols(director, communities, users, now, rng)
        _publicity(director, station, communities, today, rng)
        _meetings(director, communities, officers, today, rng)
    return PatrolSeedResult(True, Patrol.objects.count())


def _teams(director, station, communities, officers, users, today, rng) -> None:
    """Zones, a full-time team per community (the last one short of a member) and a volunteer team each."""
    pool = list(teams.patrol_staff(station.pk))
    patrol_user = users.get("patrol")
    mine = patrol_user.staff if patrol_user and patrol_user.staff_id else None
    if mine is not None and mine in pool:  # the demo `patrol` login patrols its own community
        pool.remove(mine)
    for index, community in enumerate(communities):
        officer = officers[community.pk]
        short = community.name.removesuffix("社区")
        grids = list(Grid.objects.filter(community=community).order_by("code"))
        if officer is not None and grids:
            teams.save_zone(
                director,
                community=community,
                name=f"{short}治安防控责任区",
                grids=grids,
                police_team=f"{short}网格警务队",
                responsible_officer=officer,
                street_cadre=rng.choice(CADRES),
                community_cadre=rng.choice(CADRES),
                notes="出租屋集中区域、沿街店面、电动车车棚",
            )
        full = teams.save_team(
            director, community=community, name=f"{short}专职巡防队", kind=TeamKind.FULL_TIME
        )
        wanted = SHORT_STAFFED if index == len(communities) - 1 else 4
        members: list[Staff] = []
        if mine is not None and patrol_user.community_id == community.pk:
            members.append(mine)
        while len(members) < wanted:
            if not pool:  # the demo district has 4 per community; make up any shortfall
                pool.append(_patrol_staff(station, rng))
            members.append(pool.pop(0))
        for staff in members:
            teams.add_member(
                director, full, staff=staff, joined_on=today - dt.timedelta(days=rng.randint(60, 900))
            )
        if officer is None:
            continue
        volunteers = teams.save_team(
            director,
            community=community,
            name=f"{short}治安志愿者队",
            kind=TeamKind.VOLUNTEER,
            leader=officer,
        )
        for name in rng.sample(VOLUNTEERS, rng.randint(3, 6)):
            teams.add_member(
                director,
                volunteers,
                name=name,
                skills=rng.choice(SKILLS),
                availability=rng.choice(["周末", "工作日晚上", "每天上午"]),
                joined_on=today - dt.timedelta(days=rng.randint(30, 700)),
            )


def _patrol_staff(station, rng) -> Staff:
    from doorstep.core.ids import synthetic_mobile
    from doorstep.org import services as org_services

    return org_services.create_staff(
        sub_bureau=station.sub_bureau,
        station=station,
        kind=StaffKind.PATROL,
        name=rng.choice("陈林黄张李王") + rng.choice(["建", "明", "华", "强"]),
        badge_number=f"9{rng.randrange(10**5, 10**6)}",
        phone=synthetic_mobile(rng),
    )


def walk(polygon, start: dt.datetime, minutes: int, rng: random.Random) -> list[dict]:
    """A walk inside `polygon` (shapely, WGS-84): a fix every FIX_EVERY_S seconds, heading drifting, turning
    back from the edge; the points the phone would send (seq, at in ms, lng, lat, accuracy)."""
    inner = polygon.buffer(-INSET_DEG)
    if inner.is_empty:
        inner = polygon
    here = inner.representative_point()
    min_x, min_y, max_x, max_y = inner.bounds
    for _attempt in range(20):  # a random start inside, so walks of one grid differ
        p = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if inner.contains(p):
            here = p
            break
    lng, lat = here.x, here.y
    m_per_deg_lat = 111_320.0
    m_per_deg_lng = m_per_deg_lat * math.cos(math.radians(lat))
    heading = rng.uniform(0, 2 * math.pi)
    points = []
    for i in range(minutes * 60 // FIX_EVERY_S):
        step = rng.uniform(*WALK_SPEED_MS) * FIX_EVERY_S
        heading += rng.gauss(0, 0.35)
        for _turn in range(12):
            nx = lng + step * math.cos(heading) / m_per_deg_lng
            ny = lat + step * math.sin(heading) / m_per_deg_lat
            if inner.contains(Point(nx, ny)):
                lng, lat = nx, ny
                break
            heading += rng.uniform(math.pi / 4, math.pi)
        at = start + dt.timedelta(seconds=i * FIX_EVERY_S)
        points.append(
            {
                "seq": i,
                "at": int(at.timestamp() * 1000),
                "lng": round(lng, 6),
                "lat": round(lat, 6),
                "accuracy": round(rng.uniform(4, 15), 1),
            }
        )
    return points


def _patrols(director, communities, users, now, rng) -> None:
    """About PATROLS done patrols over the last 30 days, through runs.start / add_points / finish."""
    grids = list(
        Grid.objects.filter(community__in=communities).exclude(boundary__isnull=True).order_by("code")
    )
    if not grids:
        return
    home = users.get("patrol")
    officer = users.get("officer")
    findings = list(FINDINGS)
    for n in range(PATROLS):
        grid = grids[n % len(grids)] if n < len(grids) else rng.choice(grids)
        community = next(c for c in communities if c.pk == grid.community_id)
        leader = director
        for user in (officer, home):
            if user is not None and access.may_run(user, community.pk) and rng.random() < 0.6:
                leader = user
                break
        minutes = rng.randint(40, 90)
        started = now - dt.timedelta(days=rng.uniform(0.5, 29.5), minutes=minutes)
        started = started.replace(second=0, microsecond=0)
        participants = rng.randint(2, 6)
        patrol = runs.start(
            by=leader,
            community=community,
            grid=grid,
            participants=participants,
            volunteers=rng.randint(0, participants - 1),
            now=started,
        )
        points = walk(shape(grid.boundary), started, minutes, rng)
        for i in range(0, len(points), BATCH):
            batch = points[i : i + BATCH]
            sent = dt.datetime.fromtimestamp(batch[-1]["at"] / 1000, tz=dt.UTC)
            runs.add_points(patrol, batch, by=leader, now=sent)
            if findings and i == 0 and rng.random() < 0.4:
                kind, note = findings.pop(0)
                mid = batch[len(batch) // 2]
                runs.add_finding(
                    patrol, kind=kind, note=note, by=leader, lng=mid["lng"], lat=mid["lat"], now=sent
                )
        runs.finish(
            patrol,
            by=leader,
            summary="巡逻正常，重点查看车棚、出租屋和沿街店面",
            now=started + dt.timedelta(minutes=minutes),
        )


def _publicity(director, station, communities, today, rng) -> None:
    """Two campaigns (防骗, 防火) with events in the communities, handbooks handed out, and a published post."""
    materials = list(Material.objects.filter(active=True).order_by("name"))
    specs = [
        ("“守护钱袋子”防范电信网络诈骗宣传月", Theme.FRAUD, 40, 5),
        ("冬季防火安全宣传", Theme.FIRE, 20, 0),
    ]
    campaigns = []
    for title, theme, back, ahead in specs:
        campaigns.append(
            publicity.save_campaign(
                director,
                station=station,
                title=title,
                theme=theme,
                starts_on=today - dt.timedelta(days=back),
                ends_on=today + dt.timedelta(days=ahead + 10),
                description="进社区、进单位、进家庭，发放宣传资料，现场讲解典型案例。",
            )
        )
    for index, community in enumerate(communities):
        campaign = campaigns[index % len(campaigns)]
        span = (today - campaign.starts_on).days
        for k in range(rng.randint(1, 2)):
            held = today - dt.timedelta(days=rng.randint(0, max(0, span)))
            picked = rng.sample(materials, min(2, len(materials))) if materials else []
            publicity.record_event(
                director,
                community=community,
                theme=campaign.theme,
                title=f"{community.name}{campaign.get_theme_display()}宣传（{k + 1}）",
                place=rng.choice(["社区广场", "警务室门口", "农贸市场", "小区活动中心"]),
                held_on=held,
                audience=rng.randint(30, 200),
                materials=[(m, rng.randint(50, 300)) for m in picked],
                campaign=campaign,
            )
    post = publicity.save_post(
        director,
        station=station,
        theme=Theme.FRAUD,
        title="警惕“冒充客服退款”诈骗",
        body="凡是自称客服要求您下载会议软件、共享屏幕或转账“验证”的，都是诈骗！如有疑问请拨打96110或到警务室咨询。",
        campaign=campaigns[0],
    )
    publicity.set_post_status(director, post, publicity.PUBLISH)


def _month_start(day: dt.date, back: int) -> dt.date:
    y, m = day.year, day.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


def _meetings(director, communities, officers, today, rng) -> None:
    """Meetings for the last three months (the second community missed last month) and half of this month's;
    issues raised, one answered, one open past its due date."""
    owner_pool = list(meetings.issue_owners(communities[0].station_id)) if communities else []
    missing = communities[1].pk if len(communities) > 1 else None
    latest = []
    for index, community in enumerate(communities):
        officer = officers[community.pk]
        names = (
            officer.name if officer is not None else (director.staff.name if director.staff_id else "所领导")
        )
        for back in (3, 2, 1, 0):
            if back == 1 and community.pk == missing:
                continue
            if back == 0 and index % 2:
                continue
            first = _month_start(today, back)
            last_day = today if back == 0 else _month_start(today, back - 1) - dt.timedelta(days=1)
            held = first + dt.timedelta(days=rng.randint(0, (last_day - first).days))
            meeting = meetings.record_meeting(
                director,
                community=community,
                kind=MeetingKind.OPEN_DAY if back == 2 else MeetingKind.TALK,
                held_on=held,
                place=f"{community.name.removesuffix('社区')}警务室",
                attendance=rng.randint(15, 60),
                officers=names,
                notes="通报辖区治安形势，听取群众意见建议。",
            )
            if back == 1:
                latest.append(meeting)
    if not owner_pool:
        return
    for i, meeting in enumerate(latest[: len(ISSUES)]):
        text, raised_by = ISSUES[i]
        issue = meetings.raise_issue(
            director,
            meeting,
            text=text,
            owner=owner_pool[i % len(owner_pool)],
            # Within a week, and already past: the first one stays open, overdue.
            due_on=max(
                meeting.held_on, min(meeting.held_on + dt.timedelta(days=7), today - dt.timedelta(days=1))
            ),
            raised_by=raised_by,
        )
        if i == 1 and issue.due_on <= today:
            meetings.answer_issue(
                director, issue, answer="已协调物业增设充电桩，并加强夜间巡查。", answered_on=issue.due_on
            )
