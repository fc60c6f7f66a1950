"""Tiered evaluations (考核评分): forms, generating the drafts, scoring, submission, sign-off, rankings.

Three levels, each with its own evaluation form (`EvaluationForm`, seeded by `ensure_default_forms`):

| level | evaluatee                               | scores and submits                          | signs off           |
|-------|-----------------------------------------|---------------------------------------------|---------------------|
| 周    | each auxiliary of a grid                | the grid's community officer                | the station director|
| 旬    | each officer and auxiliary of a station | the station director                        | the evaluation office|
| 月    | each station                            | the evaluation office                       | a sub-bureau leader |

Items: an *automatic* item (a KPI) scores `points × s`, s the KPI's value normalised as on the KPI index page
(with a target t: higher-is-better min(v ÷ t, 1), lower-is-better 1 when v ≤ t else t ÷ v; without a target:
relative to the best of the same level's territories in the sub-bureau); the *spot-check* item scores
`points × ` the officer's spot-check rate in the period (`spotchecks.rate`); a *manual* item is scored by the
evaluator, 0…points, with a comment required below 60 % of its points. An automatic item with no value ("—")
has no score and its points leave `possible`, so an empty territory is not punished; 得分率 = total ÷ possible.

Visibility (`reviews_for`): nobody sees a draft about themselves; a station director sees their station's
reviews, but a monthly review of their own station only once it is submitted; an officer sees the weekly
reviews of their grids and their own reviews once submitted; an auxiliary their own once submitted; leaders,
the evaluation office and administrators see all. Anything else is a 404.

Deadline: the end of the period + `DEADLINE_DAYS[level]`; a draft past it is overdue (催办).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import kpis, periods, scopes
from doorstep.evaluation.access import MAX_PK
from doorstep.evaluation.choices import Level
from doorstep.evaluation.engine import REGISTRY, Period
from doorstep.evaluation.models_review import (
    EvaluationForm,
    FormItem,
    ItemKind,
    Review,
    ReviewLevel,
    ReviewScore,
    ReviewStatus,
)
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import GridAssignment, Station
from doorstep.org.territory import Territory

# Days after the end of the period by which the evaluator must submit (local practice: configurable here).
DEADLINE_DAYS = {ReviewLevel.WEEK: 2, ReviewLevel.XUN: 3, ReviewLevel.MONTH: 5}
COMMENT_BELOW = Decimal("0.6")  # a manual score below 60 % of its points needs a comment
WHOLE_ROLES = frozenset({Role.LEADER, Role.EVALUATOR, Role.ADMIN})
ONE = Decimal("0.1")

# The default forms: (kind, KPI code, name, points, guidance).
DEFAULT_FORMS: dict[str, tuple[str, list[tuple[str, str, str, int, str]]]] = {
    ReviewLevel.WEEK: (
        "协勤员周考核表",
        [
            (ItemKind.MANUAL, "", "出勤", 25, "按排班到岗、签到签退"),
            (ItemKind.MANUAL, "", "信息采集", 25, "一标三实采集、更新及时准确"),
            (ItemKind.MANUAL, "", "走访", 25, "按分色期限入户走访"),
            (ItemKind.MANUAL, "", "配合", 25, "配合民警处置警情、调解纠纷"),
        ],
    ),
    ReviewLevel.XUN: (
        "民警、协勤员旬考核表",
        [
            (ItemKind.AUTO, "visit_rate", "走访完成率", 20, "网格走访完成率对照目标值"),
            (ItemKind.AUTO, "mediation_success", "调解成功率", 20, "网格调解成功率对照目标值"),
            (ItemKind.SPOTCHECK, "", "抽查", 20, "期内抽查合格率（无抽查记为“—”）"),
            (ItemKind.MANUAL, "", "纪律作风", 20, "遵守纪律、作风形象"),
            (ItemKind.MANUAL, "", "群众工作", 20, "服务群众、恳谈、宣传"),
        ],
    ),
    ReviewLevel.MONTH: (
        "派出所月考核表",
        [
            (ItemKind.AUTO, "control_rate", "治安要素掌控率", 15, ""),
            (ItemKind.AUTO, "incidence_per_10k", "万人发案率", 15, "越低越好"),
            (ItemKind.AUTO, "mediation_success", "调解成功率", 15, ""),
            (ItemKind.AUTO, "response_on_time", "出警达标率", 15, ""),
            (ItemKind.AUTO, "patrol_coverage", "巡逻覆盖率", 10, ""),
            (ItemKind.AUTO, "meeting_compliance", "警民恳谈达标率", 10, ""),
            (ItemKind.MANUAL, "", "领导评价", 20, "分局领导综合评价"),
        ],
    ),
}


# --- forms ---------------------------------------------------------------------------------------------------
def ensure_default_forms() -> dict[str, EvaluationForm]:
    """Create the default form of each level that has none (an existing form, maybe edited, is kept)."""
    out: dict[str, EvaluationForm] = {}
    with transaction.atomic():
        for level, (name, items) in DEFAULT_FORMS.items():
            form, created = EvaluationForm.objects.get_or_create(level=level, defaults={"name": name})
            if created:
                FormItem.objects.bulk_create(
                    FormItem(
                        form=form,
                        order=i,
                        kind=kind,
                        code=code,
                        name=item_name,
                        points=Decimal(points),
                        guidance=guidance,
                    )
                    for i, (kind, code, item_name, points, guidance) in enumerate(items)
                )
            out[level] = form
    return out


# --- who may do what -----------------------------------------------------------------------------------------
def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_view(user: Any) -> bool:
    return role(user) is not None


def _officer_of(user: Any, grid_id: int | None) -> bool:
    return bool(
        grid_id
        and user.staff_id
        and GridAssignment.objects.current()
        .filter(grid_id=grid_id, staff_id=user.staff_id, position=Position.OFFICER)
        .exists()
    )


def _is_evaluatee(user: Any, review: Review) -> bool:
    return bool(review.staff_id and review.staff_id == getattr(user, "staff_id", None))


def may_score(user: Any, review: Review) -> bool:
    """The review's evaluator (never the evaluatee): the grid's officer (周), the station's director (旬), the
    evaluation office (月)."""
    r = role(user)
    if r is None or _is_evaluatee(user, review):
        return False
    if review.level == ReviewLevel.WEEK:
        return r == Role.OFFICER and _officer_of(user, review.grid_id)
    if review.level == ReviewLevel.XUN:
        return r == Role.DIRECTOR and user.station_id == review.station_id
    return r == Role.EVALUATOR


def may_edit(user: Any, review: Review) -> bool:
    return review.status == ReviewStatus.DRAFT and may_score(user, review)


def may_sign(user: Any, review: Review) -> bool:
    """The evaluator's superior: the station director (周), the evaluation office (旬), a leader (月)."""
    r = role(user)
    if review.status != ReviewStatus.SUBMITTED or r is None or _is_evaluatee(user, review):
        return False
    if review.level == ReviewLevel.WEEK:
        return r == Role.DIRECTOR and user.station_id == review.station_id
    if review.level == ReviewLevel.XUN:
        return r == Role.EVALUATOR
    return r == Role.LEADER


def may_generate(user: Any, level: str) -> bool:
    r = role(user)
    if level == ReviewLevel.WEEK:
        return r in (Role.OFFICER, Role.DIRECTOR, Role.EVALUATOR, Role.ADMIN)
    if level == ReviewLevel.XUN:
        return r in (Role.DIRECTOR, Role.EVALUATOR, Role.ADMIN)
    return r in (Role.EVALUATOR, Role.ADMIN)


def reviews_for(user: Any) -> QuerySet[Review]:
    """Every review the user may see (module docstring)."""
    qs = Review.objects.select_related("staff", "station", "grid", "evaluator", "signed_by")
    r = role(user)
    if r is None:
        return qs.none()
    draft = Q(status=ReviewStatus.DRAFT)
    if user.staff_id:
        qs = qs.exclude(draft & Q(staff_id=user.staff_id))
    if r in WHOLE_ROLES:
        return qs
    mine = Q(staff_id=user.staff_id) & ~draft if user.staff_id else Q(pk__in=[])
    territory = Territory.for_user(user)
    if r == Role.DIRECTOR:
        own_station = Q(station_id__in=territory.station_ids) & ~(Q(level=ReviewLevel.MONTH) & draft)
        return qs.filter(own_station | mine)
    if r == Role.OFFICER:
        grids = [
            g
            for g in GridAssignment.objects.current()
            .filter(staff_id=user.staff_id, position=Position.OFFICER)
            .values_list("grid_id", flat=True)
        ]
        return qs.filter(Q(level=ReviewLevel.WEEK, grid_id__in=grids) | mine)
    return qs.filter(mine)


def get_review_for(user: Any, pk: int) -> Review:
    if not 0 < pk < MAX_PK:
        raise Http404
    try:
        return reviews_for(user).get(pk=pk)
    except Review.DoesNotExist as exc:
        raise Http404 from exc


def todo_query(user: Any) -> Q | None:
    """The reviews the user acts on, as one filter (the rules of `may_edit` and `may_sign`): drafts to score —
    an officer the weekly reviews of the grids they are the officer of, a director the 旬 reviews of their
    station, the evaluation office the monthly ones — and submissions to sign — a director the weekly ones of
    their station, the evaluation office the 旬 ones, a leader the monthly ones. None: nothing to do."""
    r = role(user)
    draft, submitted = Q(status=ReviewStatus.DRAFT), Q(status=ReviewStatus.SUBMITTED)
    if r == Role.OFFICER and user.staff_id:
        grids = (
            GridAssignment.objects.current()
            .filter(staff_id=user.staff_id, position=Position.OFFICER)
            .values("grid_id")
        )
        return draft & Q(level=ReviewLevel.WEEK, grid_id__in=grids)
    if r == Role.DIRECTOR and user.station_id:
        own = Q(station_id=user.station_id)
        return own & ((draft & Q(level=ReviewLevel.XUN)) | (submitted & Q(level=ReviewLevel.WEEK)))
    if r == Role.EVALUATOR:
        return (draft & Q(level=ReviewLevel.MONTH)) | (submitted & Q(level=ReviewLevel.XUN))
    if r == Role.LEADER:
        return submitted & Q(level=ReviewLevel.MONTH)
    return None


def todo_queryset(user: Any, today: dt.date | None = None) -> QuerySet[Review]:
    """The user's reviews to act on, overdue drafts first, then by deadline — one query (the officer's grids
    are a subquery). Never a review about the user (nobody scores or signs their own)."""
    from django.db.models import Case, IntegerField, Value, When

    today = today or timezone.localdate()
    query = todo_query(user)
    if query is None:
        return Review.objects.none()
    # Every review the filter selects is one the user may see (`reviews_for`: the officer's grids, the
    # director's station, all for the sub-bureau's roles), so the visibility filter is not repeated.
    qs = Review.objects.filter(query)
    if user.staff_id:
        qs = qs.exclude(staff_id=user.staff_id)
    return qs.annotate(
        late=Case(
            When(status=ReviewStatus.DRAFT, deadline__lt=today, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("late", "deadline", "pk")


def todo_for(user: Any, today: dt.date | None = None) -> list[Review]:
    """The user's reviews to act on: drafts to score and submissions to sign, overdue first (one query)."""
    return list(todo_queryset(user, today))


@dataclass(frozen=True)
class Reminder:
    """One review on the home page's reminders: what to do with it and by when."""

    review: Review
    action: str  # "score" or "sign"
    overdue: bool
    days_left: int


def reminders(user: Any, today: dt.date | None = None, limit: int = 8) -> dict[str, Any] | None:
    """The home page's review reminders (考核待办): the first `limit` reviews to act on (overdue first) and the
    counts of all of them and of the overdue ones — two queries; None for a user with nothing to do or a
    role that never scores or signs."""
    from django.db.models import Count

    today = today or timezone.localdate()
    if todo_query(user) is None:
        return None
    qs = todo_queryset(user, today)
    rows = list(qs.select_related("staff", "station", "grid")[:limit])
    if not rows:
        return None
    counts = qs.order_by().aggregate(
        total=Count("id"), overdue=Count("id", filter=Q(status=ReviewStatus.DRAFT, deadline__lt=today))
    )
    return {
        "rows": [
            Reminder(
                r,
                "score" if r.status == ReviewStatus.DRAFT else "sign",
                is_overdue(r, today),
                (r.deadline - today).days,
            )
            for r in rows
        ],
        "total": counts["total"],
        "overdue": counts["overdue"],
    }


def is_overdue(review: Review, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return review.status == ReviewStatus.DRAFT and today > review.deadline


def deadline_of(level: str, period: Period) -> dt.date:
    return period.end + dt.timedelta(days=DEADLINE_DAYS[ReviewLevel(level)])


def period_of_review(review: Review) -> Period:
    return Period(review.level, review.period_start, review.period_end)


# --- generating the drafts -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    staff_id: int | None
    grid_id: int | None
    station_id: int


def _posts(period: Period, positions: Iterable[str], territory: Territory) -> list[Due]:
    """The people holding one of the posts at some time in the period, each once (their latest post)."""
    posts = GridAssignment.objects.filter(
        Q(started_on__lte=period.end),
        Q(ended_on__isnull=True) | Q(ended_on__gt=period.start),
        position__in=list(positions),
        staff__active=True,
    )
    if not territory.whole:
        posts = posts.filter(grid_id__in=territory.grid_ids)
    latest: dict[int, Due] = {}
    rows = posts.order_by("started_on", "id").values_list(
        "staff_id", "grid_id", "grid__community__station_id", "position", "staff__kind"
    )
    for staff_id, grid_id, station_id, position, kind in rows:
        if position == Position.OFFICER and kind != StaffKind.POLICE:
            continue
        latest[staff_id] = Due(staff_id, grid_id, station_id)
    return list(latest.values())


def _generation_territory(user: Any, level: str) -> Territory:
    territory = Territory.for_user(user)
    if level == ReviewLevel.WEEK and role(user) == Role.OFFICER:
        grids = frozenset(
            GridAssignment.objects.current()
            .filter(staff_id=user.staff_id, position=Position.OFFICER)
            .values_list("grid_id", flat=True)
        )
        return Territory(territory.scope, territory.station_ids, territory.community_ids, grids)
    return territory


def due(level: str, period: Period, territory: Territory) -> list[Due]:
    if level == ReviewLevel.WEEK:
        return _posts(period, [Position.AUXILIARY], territory)
    if level == ReviewLevel.XUN:
        return _posts(period, [Position.OFFICER, Position.AUXILIARY], territory)
    stations = Station.objects.order_by("code")
    if not territory.whole:
        stations = stations.filter(id__in=territory.station_ids)
    return [Due(None, None, s) for s in stations.values_list("id", flat=True)]


def generate_reviews(level: str, period: Period, by: Any) -> list[Review]:
    """Create the drafts of everyone due at this level and period in the user's reach (idempotent: existing
    reviews are left alone). Returns the reviews created."""
    if level not in ReviewLevel.values:
        raise ServiceError(_("考核层级无效"), code="level")
    if not may_generate(by, level):
        raise NotAllowed(_("您不能生成此类考核"))
    if period.kind != level:
        period = periods.period_of(level, period.start)
    if period.start > timezone.localdate():
        # Posts and territories change: drafts are made when the period has begun, not years ahead.
        raise ServiceError(_("不能为尚未开始的周期生成考核"), code="period")
    form = ensure_default_forms()[level]
    items = list(form.items.all())
    wanted = due(level, period, _generation_territory(by, level))
    existing_staff = set(
        Review.objects.filter(level=level, period_start=period.start, staff__isnull=False).values_list(
            "staff_id", flat=True
        )
    )
    existing_stations = set(
        Review.objects.filter(level=level, period_start=period.start, staff__isnull=True).values_list(
            "station_id", flat=True
        )
    )
    created: list[Review] = []
    try:
        with transaction.atomic():
            for d in wanted:
                if (d.staff_id and d.staff_id in existing_staff) or (
                    not d.staff_id and d.station_id in existing_stations
                ):
                    continue
                review = Review.objects.create(
                    level=level,
                    form=form,
                    period_start=period.start,
                    period_end=period.end,
                    staff_id=d.staff_id,
                    grid_id=d.grid_id,
                    station_id=d.station_id,
                    deadline=deadline_of(level, period),
                    created_by=by,
                )
                ReviewScore.objects.bulk_create(
                    ReviewScore(
                        review=review,
                        order=item.order,
                        kind=item.kind,
                        code=item.code,
                        name=item.name,
                        points=item.points,
                    )
                    for item in items
                )
                created.append(review)
            fill_auto(created, period)
            for review in created:
                record_change(by, "evaluation.review_create", review)
    except IntegrityError as exc:  # a concurrent generation of the same period
        raise RuleViolation(_("考核正在由他人生成，请稍后刷新"), code="generate") from exc
    return created


# --- automatic items -----------------------------------------------------------------------------------------
def _q(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(ONE, rounding=ROUND_HALF_UP)


def _scope_of(review: Review) -> tuple[str, int]:
    return (Level.GRID, review.grid_id) if review.grid_id else (Level.STATION, review.station_id)


def fill_auto(reviews: list[Review], period: Period) -> None:
    """Fill (or refill) the automatic items of the reviews of one period, then their totals."""
    from doorstep.evaluation import pages, spotchecks

    if not reviews:
        return
    scores = list(
        ReviewScore.objects.filter(review__in=reviews, kind__in=[ItemKind.AUTO, ItemKind.SPOTCHECK])
    )
    codes = {s.code for s in scores if s.kind == ItemKind.AUTO and s.code in REGISTRY}
    overrides = kpis.settings_map()
    by_key: dict[tuple[str, int], Any] = {}
    for review in reviews:
        level, pk = _scope_of(review)
        if (level, pk) not in by_key:
            by_key[(level, pk)] = scopes.scope_for(level, pk)
    figures = kpis.compute_many([s for s in by_key.values() if s is not None], period, codes)
    # Without a target, a KPI is scored relative to the best territory of the same level in the sub-bureau.
    columns: dict[tuple[str, str], list[float]] = {}
    untargeted = {c for c in codes if kpis.effective(c, overrides)[0] is None}
    for level in {lv for lv, _pk in by_key}:
        if untargeted:
            everyone = scopes.scopes_in(Territory(None, frozenset(), frozenset(), frozenset(), True), level)
            every_fig = kpis.compute_many(everyone, period, untargeted)
            for code in untargeted:
                columns[(level, code)] = [
                    f[code].value for f in every_fig.values() if code in f and f[code].value is not None
                ]
    rates = spotchecks.rates([r.staff_id for r in reviews if r.staff_id], period)
    by_id = {r.pk: r for r in reviews}
    for s in scores:
        review = by_id[s.review_id]
        if s.kind == ItemKind.SPOTCHECK:
            rate = rates.get(review.staff_id)
            s.value = rate.value if rate else None
            s.value_text = rate.text if rate else "—"
            s.score = _q(s.points * Decimal(str(rate.value))) if rate and rate.value is not None else None
        else:
            kpi = REGISTRY.get(s.code)
            scope = by_key[_scope_of(review)]
            figure = figures.get(scope, {}).get(s.code) if scope is not None and kpi else None
            value = figure.value if figure is not None else None
            s.value = value
            if kpi is None:
                s.value_text, s.score = "—", None
                continue
            target = kpis.effective(kpi, overrides)[0]
            norm = pages.normalise(kpi, value, target, columns.get((_scope_of(review)[0], s.code), []))
            s.value_text = pages.fmt(kpi, value) + (
                f" / {_('目标')} {pages.fmt(kpi, target)}" if target is not None else ""
            )
            s.score = _q(s.points * Decimal(str(norm))) if norm is not None else None
    ReviewScore.objects.bulk_update(scores, ["value", "value_text", "score"])
    for review in reviews:
        _retotal(review)


def _retotal(review: Review) -> None:
    total = Decimal(0)
    possible = Decimal(0)
    for score, points in review.scores.values_list("score", "points"):
        if score is not None:
            total += score
            possible += points
    review.total, review.possible = total, possible
    Review.objects.filter(pk=review.pk).update(total=total, possible=possible)


# --- scoring, submission, sign-off ---------------------------------------------------------------------------
def _lock(review: Review) -> Review:
    return Review.objects.select_for_update().get(pk=review.pk)


def _require_edit(user: Any, review: Review) -> None:
    if review.status != ReviewStatus.DRAFT:
        raise RuleViolation(_("考核已提交，不能再修改"), code="status")
    if not may_score(user, review):
        raise NotAllowed(_("您不是该考核的评分人"))


def score_problems(review: Review, entries: dict[int, tuple[Any, str]]) -> list[tuple[int, str]]:
    """(score id, reason in Chinese) for every bad manual score: missing, outside 0…points, or below 60 % of
    the points without a comment. `entries` maps a manual item's id to (score, comment)."""
    problems: list[tuple[int, str]] = []
    for s in review.scores.filter(kind=ItemKind.MANUAL):
        raw, comment = entries.get(s.pk, (None, ""))
        if raw is None or raw == "":
            continue  # left blank: allowed in a draft, refused at submission
        try:
            value = Decimal(str(raw))
        except ArithmeticError:
            problems.append((s.pk, _("请输入数字分数")))
            continue
        if not value.is_finite() or value < 0 or value > s.points:
            problems.append((s.pk, _("分数须在 0 到 %(max)s 之间") % {"max": s.points}))
        elif value < s.points * COMMENT_BELOW and not (comment or "").strip():
            problems.append((s.pk, _("低于该项分值 60% 时须填写评语")))
    return problems


def save_scores(
    review: Review, entries: dict[int, tuple[Any, str]], by: Any, *, comment: str | None = None
) -> Review:
    """Save the evaluator's manual scores and comments of a draft (and the overall comment)."""
    with transaction.atomic():
        review = _lock(review)
        _require_edit(by, review)
        problems = score_problems(review, entries)
        if problems:
            raise ServiceError(problems[0][1], code=f"score-{problems[0][0]}")
        before = snapshot(review)
        for s in review.scores.filter(kind=ItemKind.MANUAL):
            if s.pk not in entries:
                continue
            raw, text = entries[s.pk]
            s.score = None if raw is None or raw == "" else _q(Decimal(str(raw)))
            s.comment = (text or "").strip()[:300]
            s.save(update_fields=["score", "comment"])
        if comment is not None:
            review.comment = comment.strip()[:500]
        review.evaluator = by
        review.save(update_fields=["comment", "evaluator", "updated_at"])
        _retotal(review)
        record_change(by, "evaluation.review_score", review, before=before)
    return review


def recompute(review: Review, by: Any) -> Review:
    """Refill the automatic items of a draft from the current records."""
    with transaction.atomic():
        review = _lock(review)
        _require_edit(by, review)
        fill_auto([review], period_of_review(review))
        record_change(by, "evaluation.review_recompute", review)
    return review


def submit(review: Review, by: Any) -> Review:
    """Submit a draft: every manual item must be scored (and commented when low); it is read-only after."""
    with transaction.atomic():
        review = _lock(review)
        _require_edit(by, review)
        missing = review.scores.filter(kind=ItemKind.MANUAL, score__isnull=True).values_list(
            "name", flat=True
        )
        if missing:
            raise RuleViolation(
                _("请先为以下项目评分：%(items)s") % {"items": "、".join(missing)}, code="incomplete"
            )
        entries = {s.pk: (s.score, s.comment) for s in review.scores.filter(kind=ItemKind.MANUAL)}
        problems = score_problems(review, entries)
        if problems:
            raise RuleViolation(problems[0][1], code="incomplete")
        before = snapshot(review)
        review.status = ReviewStatus.SUBMITTED
        review.evaluator = by
        review.submitted_at = timezone.now()
        review.save(update_fields=["status", "evaluator", "submitted_at", "updated_at"])
        record_change(by, "evaluation.review_submit", review, before=before)
    return review


def sign_off(review: Review, by: Any, note: str = "") -> Review:
    """The evaluator's superior signs a submitted review off (周: director, 旬: evaluation office, 月: leader)."""
    with transaction.atomic():
        review = _lock(review)
        if review.status != ReviewStatus.SUBMITTED:
            raise RuleViolation(_("只有已提交的考核可以签核"), code="status")
        if not may_sign(by, review):
            raise NotAllowed(_("您无权签核该考核"))
        before = snapshot(review)
        review.status = ReviewStatus.SIGNED_OFF
        review.signed_by = by
        review.signed_at = timezone.now()
        review.signoff_note = (note or "").strip()[:300]
        review.save(update_fields=["status", "signed_by", "signed_at", "signoff_note", "updated_at"])
        record_change(by, "evaluation.review_signoff", review, before=before)
    return review


# --- rankings and history ------------------------------------------------------------------------------------
def ranking(user: Any, level: str, period: Period, kind: str = "") -> list[tuple[int, Review]]:
    """The submitted and signed-off reviews of one level and period the user may see, best 得分率 first, with
    their rank (equal rates share a rank). `kind` narrows people to police or auxiliaries."""
    qs = reviews_for(user).filter(
        level=level, period_start=period.start, status__in=[ReviewStatus.SUBMITTED, ReviewStatus.SIGNED_OFF]
    )
    if kind in (StaffKind.POLICE, StaffKind.AUXILIARY):
        qs = qs.filter(staff__kind=kind)
    rows = sorted(qs, key=lambda r: (-(r.percent or 0), r.evaluatee_name, r.pk))
    out: list[tuple[int, Review]] = []
    last: float | None = None
    rank = 0
    for i, r in enumerate(rows, start=1):
        value = round(r.percent or 0, 1)
        if value != last:
            rank, last = i, value
        out.append((rank, r))
    return out
