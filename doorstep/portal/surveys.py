"""Surveys of the portal (群众问卷, feeding 知晓率, 满意率 and 安全感): the staff's writes (create, edit, open,
close), the resident's writes (ask for a one-time code, answer) and the selectors both sides read.

The awareness questions are multiple choice, so correctness is computed here and never typed by anyone: the
right option (the grid's current community officer, the officer's work phone, the community police room's
address) sits among decoys drawn from other officers and rooms of the sub-bureau. Decoys and order are
derived from the grid's link token with a keyed hash: the same page every time it is opened (so refreshing
and comparing shows nothing), while the position of the right option says nothing about it. A posted option
that is not on the page is refused by the form; correctness is decided again on submit from the database.

A resident is known only by a keyed hash of the phone (portal.phones.phone_hash); one answer per phone per
survey, backed by the unique constraint (survey, phone_hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.org.choices import Position
from doorstep.org.models import Grid, GridAssignment, PoliceRoom, Station
from doorstep.org.territory import Territory
from doorstep.portal import access, phones
from doorstep.portal.choices import SurveyStatus, VerificationPurpose
from doorstep.portal.models import Survey, SurveyGrid, SurveyResponse

DECOYS = 3
UNKNOWN = "unknown"  # the value of "不知道"
COMMENT_MAX = 500
TOKEN_BYTES = 16  # secrets.token_urlsafe(16): 22 characters, fits SurveyGrid.token (32)
MAX_GRIDS = 500
MAX_TARGET = 10000

# Fillers when the sub-bureau has too few other officers or rooms to draw three decoys from.
FILLER_NAMES = ("陈建国", "王丽华", "李志强", "张秀英", "吴海峰", "郑晓东")
FILLER_PLACES = ("街道办事处一楼大厅", "社区卫生服务站旁", "农贸市场东门", "社区文化广场西侧")

ALREADY_ANSWERED = gettext_lazy("该手机号已参加过本次问卷，感谢您的支持")
NOT_OPEN = gettext_lazy("本次问卷目前不在作答时间内")
WRONG_CODE = gettext_lazy("验证码错误或已失效，请重新获取")


# --- the questions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One awareness question: its key (officer, phone, room), the options shown (value = text) and the right
    ones — `answer` is the first; a grid with two community officers has two right names (`answers`).
    "不知道" is always the last option and is never right."""

    key: str
    label: Any
    options: tuple[str, ...]
    answer: str
    answers: frozenset[str] = frozenset()

    def is_right(self, chosen: str) -> bool:
        return chosen == self.answer or chosen in self.answers

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(o, o) for o in self.options] + [(UNKNOWN, str(_("不知道")))]


QUESTION_LABELS = {
    "officer": gettext_lazy("您知道您所在网格的社区民警是谁吗？"),
    "phone": gettext_lazy("您知道社区民警的工作电话吗？"),
    "room": gettext_lazy("您知道社区警务室在哪里吗？"),
}
KNOWS_FIELD = {"officer": "knows_officer", "phone": "knows_phone", "room": "knows_room"}


def _key() -> bytes:
    return hashlib.sha256(b"doorstep.portal.survey:" + settings.SECRET_KEY.encode()).digest()


def _digest(*parts: str) -> str:
    return hmac.new(_key(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _options(
    token: str, key: str, answers: Sequence[str], candidates: Iterable[str], fillers: Sequence[str]
) -> Question:
    """The right answers plus DECOYS decoys (other candidates first, then fillers), ordered by a keyed hash
    of (token, question, option): stable for the grid's link, unrelated to which option is right."""
    rng = random.Random(_digest(token, key, "decoys"))
    right = list(dict.fromkeys(a for a in answers if a))
    pool = sorted({c for c in candidates if c and c not in right})
    decoys = rng.sample(pool, min(DECOYS, len(pool)))
    extra = [f for f in fillers if f not in right and f not in decoys]
    decoys += rng.sample(extra, min(DECOYS - len(decoys), len(extra)))
    options = sorted([*right, *decoys], key=lambda o: _digest(token, key, o))
    return Question(key, QUESTION_LABELS[key], tuple(options), right[0], frozenset(right))


def _public_officers(sub_bureau_id: int) -> list[tuple[str, str]]:
    """(name, work phone) of the sub-bureau's current community officers: exactly the people and numbers the
    portal's officer cards publish — never other police staff, never people who have left."""
    on = timezone.localdate()
    return list(
        GridAssignment.objects.active_on(on)
        .filter(
            position=Position.OFFICER,
            staff__active=True,
            grid__community__station__sub_bureau_id=sub_bureau_id,
        )
        .order_by("staff_id")
        .values_list("staff__name", "staff__phone")
        .distinct()
    )


def questions_for(survey_grid: SurveyGrid) -> list[Question]:
    """The awareness questions of a grid's link; a question whose answer is unknown (no officer, no work
    phone, no police room) is left out and does not count as known. Every current community officer of the
    grid is a right answer (the card shows them all); decoys are other names and numbers the portal already
    publishes — other grids' officers, police rooms' and stations' public phones — never made up (a made-up
    number may be a stranger's) and never staff who are not public-facing."""
    from doorstep.portal.officers import current_officers

    grid = survey_grid.grid
    token = survey_grid.token
    officers_now = current_officers(grid)
    sub_bureau_id = grid.community.station.sub_bureau_id
    public = _public_officers(sub_bureau_id)
    out: list[Question] = []
    if officers_now:
        names = [o.name for o in officers_now]
        out.append(_options(token, "officer", names, (n for n, _p in public), FILLER_NAMES))
        phones_now = [o.phone for o in officers_now if o.phone]
        room_phones = PoliceRoom.objects.filter(community__station__sub_bureau_id=sub_bureau_id).values_list(
            "public_phone", flat=True
        )
        station_phones = Station.objects.filter(sub_bureau_id=sub_bureau_id).values_list("phone", flat=True)
        phone_pool = {p for p in [*(p for _n, p in public), *room_phones, *station_phones] if p}
        phone_pool -= set(phones_now)
        if phones_now and phone_pool:
            out.append(_options(token, "phone", phones_now, phone_pool, ()))
    room = PoliceRoom.objects.filter(community_id=grid.community_id).first()
    if room is not None and room.address:
        addresses = PoliceRoom.objects.filter(community__station__sub_bureau_id=sub_bureau_id).exclude(
            pk=room.pk
        )
        out.append(
            _options(
                token, "room", [room.address], addresses.values_list("address", flat=True), FILLER_PLACES
            )
        )
    return out


# --- reads of the public side -------------------------------------------------------------------------------
def survey_grid_for_token(token: str) -> SurveyGrid:
    """The grid link of `token`, or 404."""
    if not token or len(token) > 32:
        raise Http404
    try:
        return SurveyGrid.objects.select_related("survey", "grid__community__station").get(token=token)
    except SurveyGrid.DoesNotExist as exc:
        raise Http404 from exc


def is_answerable(survey: Survey, today: dt.date | None = None) -> bool:
    """Open (status) and today within opens_on..closes_on (local dates)."""
    today = today or timezone.localdate()
    return survey.status == SurveyStatus.OPEN and survey.opens_on <= today <= survey.closes_on


def has_answered(survey: Survey, phone: str) -> bool:
    return SurveyResponse.objects.filter(survey=survey, phone_hash=phones.phone_hash(phone)).exists()


# --- the resident's writes ----------------------------------------------------------------------------------
def request_code(survey_grid: SurveyGrid, phone: str) -> None:
    """Text a one-time code for answering this grid's link. The caller has counted the rate limits. Refused
    (nothing sent) when the survey is not open or the phone has already answered this survey."""
    phone = phones.clean_mobile(phone)
    if not is_answerable(survey_grid.survey):
        raise ServiceError(str(NOT_OPEN), code="closed")
    if has_answered(survey_grid.survey, phone):
        raise ServiceError(str(ALREADY_ANSWERED), code="duplicate")
    phones.send_code(phone, VerificationPurpose.SURVEY, scope=survey_grid.token)


@dataclass
class Answers:
    """What the resident chose: option texts by question key ("unknown" for 不知道), ratings, comment."""

    choices: dict[str, str] = field(default_factory=dict)
    satisfaction: int | None = None
    safety: int | None = None
    comment: str = ""


def submit_response(survey_grid: SurveyGrid, *, phone: str, code: str, answers: Answers) -> SurveyResponse:
    """Record one resident's answer (by=None in the audit log). Checks, in order: the survey is open, the
    phone has not answered it yet, the one-time code is right. `knows_*` are computed here from the current
    questions of the grid: a choice counts only when it is the right option; anything else (不知道, a decoy, a
    made-up value) counts as not known. Only the phone's keyed hash is stored."""
    phone = phones.clean_mobile(phone)
    survey = survey_grid.survey
    if not is_answerable(survey):
        raise ServiceError(str(NOT_OPEN), code="closed")
    if has_answered(survey, phone):
        raise ServiceError(str(ALREADY_ANSWERED), code="duplicate")
    if not phones.verify_code(phone, code, VerificationPurpose.SURVEY, scope=survey_grid.token):
        raise ServiceError(str(WRONG_CODE), code="code")
    for name, value in (("satisfaction", answers.satisfaction), ("safety", answers.safety)):
        if value is not None and not 1 <= value <= 5:
            raise ServiceError(_("请选择有效的评价"), code=name)
    comment = (answers.comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ServiceError(_("意见建议不能超过500字"), code="comment")
    knows = {f: False for f in KNOWS_FIELD.values()}
    raw: dict[str, Any] = {}
    for question in questions_for(survey_grid):
        chosen = answers.choices.get(question.key, "")
        knows[KNOWS_FIELD[question.key]] = question.is_right(chosen)
        raw[question.key] = chosen if chosen in question.options or chosen == UNKNOWN else ""
    response = SurveyResponse(
        survey=survey,
        grid=survey_grid.grid,
        phone_hash=phones.phone_hash(phone),
        submitted_at=timezone.now(),
        satisfaction=answers.satisfaction,
        safety=answers.safety,
        comment=comment,
        answers={"asked": sorted(raw), "chosen": raw},
        **knows,
    )
    try:
        with transaction.atomic():
            response.save()
            after = snapshot(response)
            after.pop("phone_hash", None)
            record_change(None, "portal.survey_response", response, after=after)
    except IntegrityError as exc:  # a second answer from the same phone raced this one
        raise ServiceError(str(ALREADY_ANSWERED), code="duplicate") from exc
    return response


# --- staff: reads -------------------------------------------------------------------------------------------
def surveys_for(user: Any) -> QuerySet[Survey]:
    """The surveys a user may see: everything for a whole-sub-bureau territory; otherwise the surveys of
    their station (directors) and every survey sampling a grid of their territory. 404 for other roles."""
    if not access.may_view_surveys(user):
        raise Http404
    qs = Survey.objects.select_related("station")
    territory = Territory.for_user(user)
    if territory.whole:
        return qs
    cond = Q(grids__grid_id__in=territory.grid_ids)
    if access.role(user) == Role.DIRECTOR:
        cond |= Q(station_id__in=territory.station_ids)
    ids = qs.filter(cond).values("id")
    return qs.filter(id__in=ids)


def survey_for(user: Any, pk: int) -> Survey:
    try:
        return surveys_for(user).get(pk=pk)
    except Survey.DoesNotExist as exc:
        raise Http404 from exc


def visible_grids(user: Any, survey: Survey) -> QuerySet[SurveyGrid]:
    """The survey's grid links within the user's territory."""
    qs = survey.grids.select_related("grid__community__station").order_by("grid__code")
    territory = Territory.for_user(user)
    return qs if territory.whole else qs.filter(grid_id__in=territory.grid_ids)


def responses_for(user: Any) -> QuerySet[SurveyResponse]:
    """Responses in the user's territory (by grid), of surveys they may see."""
    if not access.may_view_surveys(user):
        raise Http404
    qs = SurveyResponse.objects.select_related("survey", "grid__community__station")
    return Territory.for_user(user).filter(qs)


def manageable_grids(user: Any, station: Station | None) -> QuerySet[Grid]:
    """The grids a survey of `station` (None: sub-bureau-wide) may sample, within the user's territory."""
    qs = Territory.for_user(user).grids().order_by("code")
    if station is not None:
        qs = qs.filter(community__station=station)
    return qs


def manageable_stations(user: Any) -> QuerySet[Station]:
    territory = Territory.for_user(user)
    return Station.objects.filter(
        id__in=[s.id for s in territory.stations() if access.may_manage_surveys(user, s.id)]
    ).order_by("code")


# --- staff: writes ------------------------------------------------------------------------------------------
def _require_manage(by: Any, station_id: int | None) -> None:
    if not access.may_manage_surveys(by, station_id):
        raise NotAllowed(_("您无权管理该范围的群众问卷"))


def _check(
    by: Any,
    *,
    title: str,
    station: Station | None,
    opens_on: dt.date,
    closes_on: dt.date,
    target_per_grid: int,
    grids: Sequence[Grid],
) -> str:
    """The title stripped, or ServiceError for bad dates, target or grids outside the survey's scope."""
    title = (title or "").strip()
    if not title or len(title) > 100:
        raise ServiceError(_("标题不能为空，且不超过100字"), code="title")
    if closes_on < opens_on:
        raise ServiceError(_("结束日期不能早于开始日期"), code="closes_on")
    if not 1 <= target_per_grid <= MAX_TARGET:
        raise ServiceError(_("每网格样本量应在1到10000之间"), code="target_per_grid")
    if not grids:
        raise ServiceError(_("请至少选择一个网格"), code="grids")
    if len(grids) > MAX_GRIDS:
        raise ServiceError(_("一次问卷最多500个网格"), code="grids")
    allowed = set(manageable_grids(by, station).values_list("id", flat=True))
    if any(g.pk not in allowed for g in grids):
        raise ServiceError(_("所选网格不在本问卷范围内"), code="grids")
    return title


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_survey(
    by: Any,
    *,
    title: str,
    station: Station | None,
    opens_on: dt.date,
    closes_on: dt.date,
    target_per_grid: int,
    grids: Sequence[Grid],
) -> Survey:
    """A new survey (草稿) with one link token per chosen grid. A director: their station's grids only; a
    sub-bureau survey (`station` None): leaders, the evaluation office, administrators."""
    _require_manage(by, station.pk if station else None)
    title = _check(
        by,
        title=title,
        station=station,
        opens_on=opens_on,
        closes_on=closes_on,
        target_per_grid=target_per_grid,
        grids=grids,
    )
    with transaction.atomic():
        survey = Survey.objects.create(
            title=title,
            station=station,
            opens_on=opens_on,
            closes_on=closes_on,
            target_per_grid=target_per_grid,
            created_by=by,
        )
        SurveyGrid.objects.bulk_create([SurveyGrid(survey=survey, grid=g, token=_new_token()) for g in grids])
        after = snapshot(survey)
        after["grids"] = sorted(g.pk for g in grids)
        record_change(by, "portal.survey_create", survey, after=after)
    return survey


def update_survey(
    by: Any,
    survey: Survey,
    *,
    title: str,
    station: Station | None,
    opens_on: dt.date,
    closes_on: dt.date,
    target_per_grid: int,
    grids: Sequence[Grid],
) -> Survey:
    """Edit a survey. Its scope (station) changes only while nobody has answered; a grid that already has
    answers stays in the survey; a grid added gets a fresh link token, a grid kept keeps its link."""
    _require_manage(by, survey.station_id)
    _require_manage(by, station.pk if station else None)
    title = _check(
        by,
        title=title,
        station=station,
        opens_on=opens_on,
        closes_on=closes_on,
        target_per_grid=target_per_grid,
        grids=grids,
    )
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        before = snapshot(survey)
        before["grids"] = sorted(survey.grids.values_list("grid_id", flat=True))
        answered = set(survey.responses.values_list("grid_id", flat=True).distinct())
        if (station.pk if station else None) != survey.station_id and answered:
            raise ServiceError(_("问卷已有答卷，不能更改所属范围"), code="station")
        wanted = {g.pk for g in grids}
        if answered - wanted:
            raise ServiceError(_("已有答卷的网格不能移出问卷"), code="grids")
        survey.title = title
        survey.station = station
        survey.opens_on = opens_on
        survey.closes_on = closes_on
        survey.target_per_grid = target_per_grid
        survey.save()
        current = set(before["grids"])
        survey.grids.exclude(grid_id__in=wanted).delete()
        SurveyGrid.objects.bulk_create(
            [SurveyGrid(survey=survey, grid=g, token=_new_token()) for g in grids if g.pk not in current]
        )
        after = snapshot(survey)
        after["grids"] = sorted(wanted)
        record_change(by, "portal.survey_update", survey, before=before, after=after)
    return survey


def open_survey(by: Any, survey: Survey) -> Survey:
    """Start taking answers (草稿 or 已结束 → 进行中); answers are still taken only within the dates."""
    _require_manage(by, survey.station_id)
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status == SurveyStatus.OPEN:
            raise ServiceError(_("问卷已在进行中"), code="status")
        if not survey.grids.exists():
            raise ServiceError(_("问卷没有抽样网格"), code="grids")
        before = snapshot(survey)
        survey.status = SurveyStatus.OPEN
        survey.save(update_fields=["status", "updated_at"])
        record_change(by, "portal.survey_open", survey, before=before, after=snapshot(survey))
    return survey


def close_survey(by: Any, survey: Survey) -> Survey:
    """Stop taking answers (进行中 → 已结束)."""
    _require_manage(by, survey.station_id)
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status != SurveyStatus.OPEN:
            raise ServiceError(_("问卷不在进行中"), code="status")
        before = snapshot(survey)
        survey.status = SurveyStatus.CLOSED
        survey.save(update_fields=["status", "updated_at"])
        record_change(by, "portal.survey_close", survey, before=before, after=snapshot(survey))
    return survey
