"""Spot checks (抽查): draw community officers at random, reproducibly, and record the check of each.

A draw takes the candidates — police staff with a current community-officer post in a station (or in the
whole sub-bureau), ordered by badge number — and `random.Random(seed).sample(candidates, n)`. The seed and
the candidate list are stored with the draw, so anyone can replay it: the same seed and candidates give the
same officers (`replay`). Without a given seed one is taken from the system's secure random source.

Each drawn officer's check is recorded once or corrected later (date, what was checked, pass/fail, an
optional score 0–100, note). The checks count into the officer's 旬 review: its spot-check item scores the
officer's rate over the checks dated in the period — the mean of score ÷ 100 where a score was given, else 1
for pass and 0 for fail; "—" when there was no check.

Who: station directors draw and record in their own station; the evaluation office and administrators
anywhere (including whole-sub-bureau draws); leaders see everything; other roles have no spot-check pages.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation.access import MAX_PK
from doorstep.evaluation.engine import Period
from doorstep.evaluation.models_review import CheckResult, SpotCheck, SpotCheckItem
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import GridAssignment, Station
from doorstep.org.territory import Territory

MAX_SEED = 2**63 - 1
MAX_DRAW = 50
VIEW_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR})
ACT_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN, Role.DIRECTOR})


def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    return role(user) in VIEW_ROLES


def may_act(user: Any) -> bool:
    return role(user) in ACT_ROLES


def may_act_in(user: Any, station_id: int | None) -> bool:
    """Draw or record in a station (None: the whole sub-bureau, the evaluation office's business)."""
    if not may_act(user):
        return False
    territory = Territory.for_user(user)
    if station_id is None:
        return territory.whole
    return territory.manages_station(station_id)


def require_view(user: Any) -> None:
    if not may_view(user):
        raise Http404


def spotchecks_for(user: Any) -> QuerySet[SpotCheck]:
    if not may_view(user):
        return SpotCheck.objects.none()
    return Territory.for_user(user).filter(SpotCheck.objects.select_related("station", "drawn_by"))


def get_spotcheck_for(user: Any, pk: int) -> SpotCheck:
    require_view(user)
    if not 0 < pk < MAX_PK:
        raise Http404
    try:
        return spotchecks_for(user).get(pk=pk)
    except SpotCheck.DoesNotExist as exc:
        raise Http404 from exc


def get_item_for(user: Any, pk: int) -> SpotCheckItem:
    require_view(user)
    if not 0 < pk < MAX_PK:
        raise Http404
    qs = Territory.for_user(user).filter(SpotCheckItem.objects.select_related("spot_check", "staff", "grid"))
    try:
        return qs.get(pk=pk)
    except SpotCheckItem.DoesNotExist as exc:
        raise Http404 from exc


# --- the draw ------------------------------------------------------------------------------------------------
def candidates(station: Station | None) -> list[tuple[int, int, int]]:
    """(staff id, grid id, station id) of the current community officers, by badge number."""
    posts = GridAssignment.objects.current().filter(
        position=Position.OFFICER, staff__kind=StaffKind.POLICE, staff__active=True
    )
    if station is not None:
        posts = posts.filter(grid__community__station=station)
    seen: dict[int, tuple[int, int, int]] = {}
    for row in posts.order_by("staff__badge_number", "staff_id").values_list(
        "staff_id", "grid_id", "grid__community__station_id"
    ):
        seen.setdefault(row[0], row)
    return list(seen.values())


def replay(seed: int, candidate_ids: list[int], n: int) -> list[int]:
    """The staff ids drawn from the candidates (in the recorded order) with the seed: the whole algorithm."""
    return random.Random(seed).sample(list(candidate_ids), min(n, len(candidate_ids)))


def draw(station: Station | None, n: int, by: Any, seed: int | None = None, purpose: str = "") -> SpotCheck:
    """Draw n officers of a station (None: the whole sub-bureau) and record the draw."""
    if not may_act_in(by, station.pk if station is not None else None):
        raise NotAllowed(_("您不能在此范围抽查"))
    if not isinstance(n, int) or not 1 <= n <= MAX_DRAW:
        raise ServiceError(_("抽取人数须在 1 到 %(max)s 之间") % {"max": MAX_DRAW}, code="count")
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ServiceError(_("随机种子须为非负整数"), code="seed")
    pool = candidates(station)
    if not pool:
        raise RuleViolation(_("该范围内没有在岗的社区民警"), code="count")
    if n > len(pool):
        raise ServiceError(
            _("抽取人数不能超过候选民警人数（%(count)s 人）") % {"count": len(pool)}, code="count"
        )
    ids = [staff_id for staff_id, _g, _s in pool]
    chosen = replay(seed, ids, n)
    where = {staff_id: (grid_id, station_id) for staff_id, grid_id, station_id in pool}
    with transaction.atomic():
        check = SpotCheck.objects.create(
            station=station,
            count=n,
            seed=seed,
            candidates=ids,
            drawn_by=by,
            drawn_at=timezone.now(),
            purpose=(purpose or "").strip()[:200],
        )
        SpotCheckItem.objects.bulk_create(
            SpotCheckItem(
                spot_check=check,
                order=i,
                staff_id=staff_id,
                grid_id=where[staff_id][0],
                station_id=where[staff_id][1],
            )
            for i, staff_id in enumerate(chosen, start=1)
        )
        record_change(by, "evaluation.spotcheck_draw", check)
    return check


# --- recording the checks ------------------------------------------------------------------------------------
def record(
    item: SpotCheckItem,
    *,
    checked_on: dt.date,
    subject: str,
    result: str,
    by: Any,
    score: Decimal | None = None,
    note: str = "",
) -> SpotCheckItem:
    """Record (or correct) the check of one drawn officer."""
    if not may_act_in(by, item.station_id):
        raise NotAllowed(_("您不能记录该抽查"))
    if result not in (CheckResult.PASS, CheckResult.FAIL):
        raise ServiceError(_("请选择检查结果"), code="result")
    if not isinstance(checked_on, dt.date):
        raise ServiceError(_("请填写检查日期"), code="checked_on")
    if checked_on > timezone.localdate():
        raise ServiceError(_("检查日期不能晚于今天"), code="checked_on")
    if checked_on < timezone.localtime(item.spot_check.drawn_at).date():
        raise ServiceError(_("检查日期不能早于抽取日期"), code="checked_on")
    if not (subject or "").strip():
        raise ServiceError(_("请填写检查内容"), code="subject")
    if score is not None and not (Decimal(0) <= score <= Decimal(100)):
        raise ServiceError(_("得分须在 0 到 100 之间"), code="score")
    with transaction.atomic():
        item = SpotCheckItem.objects.select_for_update().get(pk=item.pk)
        before = snapshot(item)
        item.checked_on = checked_on
        item.subject = subject.strip()[:200]
        item.result = result
        item.score = score
        item.note = (note or "").strip()[:300]
        item.recorded_by = by
        item.recorded_at = timezone.now()
        item.save()
        record_change(by, "evaluation.spotcheck_record", item, before=before)
    return item


# --- into the evaluations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    value: float | None  # 0–1
    checks: int
    passed: int

    @property
    def text(self) -> str:
        if self.value is None:
            return "—"
        return _("%(checks)s 次抽查，%(passed)s 次合格，得分率 %(rate).1f%%") % {
            "checks": self.checks,
            "passed": self.passed,
            "rate": self.value * 100,
        }


def rates(staff_ids: list[int], period: Period) -> dict[int, Rate]:
    """Per officer: the spot-check rate over the checks dated in the period (module docstring); officers
    without a check are absent (their item shows "—")."""
    if not staff_ids:
        return {}
    rows = SpotCheckItem.objects.filter(
        staff_id__in=staff_ids,
        checked_on__gte=period.start,
        checked_on__lte=period.end,
        result__in=[CheckResult.PASS, CheckResult.FAIL],
    ).values_list("staff_id", "result", "score")
    parts: dict[int, list[tuple[float, bool]]] = {}
    for staff_id, result, score in rows:
        passed = result == CheckResult.PASS
        value = float(score) / 100 if score is not None else (1.0 if passed else 0.0)
        parts.setdefault(staff_id, []).append((value, passed))
    return {
        staff_id: Rate(sum(v for v, _p in xs) / len(xs), len(xs), sum(1 for _v, p in xs if p))
        for staff_id, xs in parts.items()
    }
