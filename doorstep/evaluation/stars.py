"""The monthly star (社区警务月度之星) and the annual award candidates.

Candidates of a month: the community officers who held an officer post on a grid during the month, ranked by
the month's score:
- **from the 旬 evaluations** (`reviews`, station → officer) when the month has any submitted or signed-off
  旬 review of an officer: an officer's score is the mean 得分率 (100 × total ÷ possible) of their submitted
  or signed-off 旬 reviews of the month; officers without one have no score;
- otherwise **from the KPIs**: the total score (综合得分) of the officer's grid(s) among all the grids of the
  sub-bureau, computed as on the KPI index page (`pages.build_rows`: the same normalisation and weights);
  an officer with several grids scores the mean of their grids.
The page says which source ranked the month. The evaluation office (the committee) confirms one or more
stars with a citation, only for a month that has ended; `current_stars(on)` gives the stars of the last
confirmed month (dashboards, the public officer card of the portal).

Annual award candidates: for each officer, the sum of their monthly scores over the year's ended months and
the number of stars; ranked by the sum (or by stars, then the sum).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import pages, periods
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.evaluation.engine import Period, Scope
from doorstep.evaluation.models_links import MonthlyStar
from doorstep.org.choices import Position
from doorstep.org.models import Grid, GridAssignment, Staff

VIEW_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR, Role.OFFICER})
CANDIDATE_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN})
CONFIRM_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})
SOURCE_REVIEWS, SOURCE_KPIS = "reviews", "kpis"
MAX_CITATION = 500


def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    return role(user) in VIEW_ROLES


def may_see_candidates(user: Any) -> bool:
    return role(user) in CANDIDATE_ROLES


def may_confirm(user: Any) -> bool:
    return role(user) in CONFIRM_ROLES


def require(check: bool) -> None:
    if not check:
        raise Http404


# --- candidates -----------------------------------------------------------------------------------------------
@dataclass
class Candidate:
    staff: Staff
    grids: list[str]
    station: str
    score: float | None
    rank: int | None = None
    star: MonthlyStar | None = None
    months: int = 0  # annual: months with a score
    stars: int = 0  # annual: stars of the year
    parts: list[float] = field(default_factory=list)


def _posts(period: Period) -> dict[int, list[Any]]:
    """Officer posts overlapping the period: staff id → their assignments (with grid and station)."""
    rows = (
        GridAssignment.objects.filter(position=Position.OFFICER, started_on__lte=period.end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=period.start))
        .select_related("staff", "staff__station", "grid", "grid__community__station")
        .order_by("staff_id", "grid__code")
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for post in rows:
        out[post.staff_id].append(post)
    return out


def _review_scores(period: Period, officers: set[int]) -> dict[int, float] | None:
    """Mean 得分率 of the officers' submitted or signed-off 旬 reviews of the month; None when there are none."""
    try:
        from doorstep.evaluation.models_review import Review, ReviewLevel, ReviewStatus
    except ImportError:  # the tiered evaluations are not installed
        return None
    rows = Review.objects.filter(
        level=ReviewLevel.XUN,
        period_start__gte=period.start,
        period_end__lte=period.end,
        status__in=[ReviewStatus.SUBMITTED, ReviewStatus.SIGNED_OFF],
        staff_id__in=officers,
    ).values_list("staff_id", "total", "possible")
    per: dict[int, list[float]] = defaultdict(list)
    for staff_id, total, possible in rows:
        if possible:
            per[staff_id].append(100.0 * float(total) / float(possible))
    if not per:
        return None
    return {sid: sum(v) / len(v) for sid, v in per.items()}


def _kpi_scores(period: Period) -> dict[int, float | None]:
    """Total score of every grid of the sub-bureau for the period (as on the KPI index page)."""
    grids = Grid.objects.order_by("code").values_list("id", "name", "community_id", "community__station_id")
    grid_scopes = [
        Scope(Level.GRID, g, name, frozenset({g}), frozenset({c}), frozenset({s})) for g, name, c, s in grids
    ]
    columns = pages.columns_for(Level.GRID)
    rows = pages.build_rows(grid_scopes, period, columns)
    return {r.scope.id: r.score for r in rows}


def candidates(month: dt.date) -> tuple[list[Candidate], str]:
    """The month's candidates, best first (unscored last), and the source of the scores."""
    period = periods.period_of(PeriodKind.MONTH, month)
    posts = _posts(period)
    by_review = _review_scores(period, set(posts))
    source = SOURCE_REVIEWS if by_review is not None else SOURCE_KPIS
    grid_scores = _kpi_scores(period) if by_review is None and posts else {}
    stars = {s.staff_id: s for s in MonthlyStar.objects.filter(month=period.start)}
    out = []
    for staff_id, ps in posts.items():
        staff = ps[0].staff
        if by_review is not None:
            score = by_review.get(staff_id)
        else:
            values = [grid_scores[p.grid_id] for p in ps if grid_scores.get(p.grid_id) is not None]
            score = sum(values) / len(values) if values else None
        out.append(
            Candidate(
                staff,
                list(dict.fromkeys(p.grid.name for p in ps)),
                ps[0].grid.community.station.name,
                None if score is None else round(score, 2),
                star=stars.get(staff_id),
            )
        )
    out.sort(key=lambda c: (c.score is None, -(c.score or 0), c.staff.name, c.staff.pk))
    rank = 0
    for i, c in enumerate(out):
        if c.score is None:
            break
        if i == 0 or c.score != out[i - 1].score:
            rank = i + 1
        c.rank = rank
    return out, source


def parse_month(raw: Any, today: dt.date) -> dt.date:
    """?month=2026-11 → its first day; a Chinese error for anything malformed or not yet ended."""
    period = periods.parse(PeriodKind.MONTH, raw if isinstance(raw, str) else None)
    if period is None:
        raise ServiceError(_("月份格式不正确，应为如 2026-11"), code="month")
    if period.end >= today:
        raise ServiceError(_("该月尚未结束，不能评选月度之星"), code="month")
    return period.start


# --- confirming -----------------------------------------------------------------------------------------------
@transaction.atomic
def confirm_stars(*, month: dt.date, staff_ids: list[int], citation: str, by: Any) -> list[MonthlyStar]:
    """The committee confirms one or more of the month's candidates as stars, with a citation."""
    if not may_confirm(by):
        raise NotAllowed(_("只有考评办和系统管理员可以确认月度之星"))
    if month.day != 1 or month >= periods.period_of(PeriodKind.MONTH, timezone.localdate()).start:
        raise ServiceError(_("该月尚未结束，不能评选月度之星"), code="month")
    citation = (citation or "").strip()
    if not citation:
        raise ServiceError(_("请填写事迹简介"), code="citation")
    if len(citation) > MAX_CITATION:
        raise ServiceError(_("事迹简介不能超过%(n)d个字") % {"n": MAX_CITATION}, code="citation")
    ids = list(dict.fromkeys(staff_ids))
    if not ids:
        raise ServiceError(_("请至少选择一名候选民警"), code="staff")
    pool, _source = candidates(month)
    by_id = {c.staff.pk: c for c in pool}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ServiceError(_("所选人员不是本月候选民警"), code="staff")
    already = [by_id[i].staff.name for i in ids if by_id[i].star is not None]
    if already:
        raise RuleViolation(_("%(names)s已是本月之星") % {"names": "、".join(already)}, code="staff")
    created = []
    for i in ids:
        c = by_id[i]
        try:
            with transaction.atomic():
                star = MonthlyStar.objects.create(
                    month=month, staff=c.staff, citation=citation, score=c.score, rank=c.rank, confirmed_by=by
                )
        except IntegrityError as exc:
            raise RuleViolation(_("%(names)s已是本月之星") % {"names": c.staff.name}, code="staff") from exc
        record_change(by, "evaluation.confirm_star", star)
        created.append(star)
    return created


def current_stars(on: dt.date | None = None) -> list[MonthlyStar]:
    """The stars of the last month (before the one containing `on`, or that month) with confirmed stars."""
    on = on or timezone.localdate()
    latest = (
        MonthlyStar.objects.filter(month__lte=on).order_by("-month").values_list("month", flat=True).first()
    )
    if latest is None:
        return []
    return list(
        MonthlyStar.objects.filter(month=latest)
        .select_related("staff", "staff__station")
        .order_by("rank", "staff__name", "id")
    )


# --- annual ---------------------------------------------------------------------------------------------------
def annual(year: int, today: dt.date, *, by: str = "score") -> list[Candidate]:
    """Officers ranked by the sum of their monthly scores over the year's ended months (or by star count)."""
    months = [
        p
        for p in periods.periods_between(PeriodKind.MONTH, dt.date(year, 1, 1), dt.date(year, 12, 31))
        if p.end < today
    ]
    per: dict[int, Candidate] = {}
    for p in months:
        monthly, _source = candidates(p.start)
        for c in monthly:
            entry = per.setdefault(c.staff.pk, Candidate(c.staff, c.grids, c.station, 0.0))
            if c.score is not None:
                entry.score = (entry.score or 0.0) + c.score
                entry.months += 1
                entry.parts.append(c.score)
    for staff_id, count in (
        MonthlyStar.objects.filter(month__year=year)
        .order_by()
        .values_list("staff_id")
        .annotate(n=Count("id"))
    ):
        if staff_id in per:
            per[staff_id].stars = count
    out = list(per.values())
    for c in out:
        c.score = None if not c.months else round(c.score or 0.0, 2)
    if by == "stars":
        out.sort(key=lambda c: (-c.stars, c.score is None, -(c.score or 0), c.staff.name))
    else:
        out.sort(key=lambda c: (c.score is None, -(c.score or 0), -c.stars, c.staff.name))
    for i, c in enumerate(out, 1):
        c.rank = i
    return out
