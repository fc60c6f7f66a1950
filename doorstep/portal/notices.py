"""通知公告 and publicity on the public portal — rules, reads, writes.

- A notice belongs to a station (written by that station's director or an administrator) or to the whole
  sub-bureau (`station` empty: administrators only). Its states: draft → published → withdrawn (→ published
  again); a published notice is withdrawn before it is edited. The portal shows a notice while it is
  published and its `expires_on` (inclusive) has not passed.
- Bodies are plain text (shown escaped with line breaks, never as HTML), bounded in length, without control
  characters.
- Publicity posts come from patrol.publicity (`published_posts`); a read on the portal counts one view with
  an F() update (`count_post_read`), once per client address, post and day, shown to staff as 阅读数 on the
  post (not part of a KPI: the evaluation's publicity reach counts event audiences).
- The events calendar shows only what the public may see of campaigns and events: title, theme, place,
  date, community or station — never notes, photos or who recorded them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.org.models import Station
from doorstep.org.territory import Territory, get_in_territory
from doorstep.patrol import publicity
from doorstep.patrol.models import Campaign, Event, Material, Post
from doorstep.portal import access
from doorstep.portal.choices import NoticeStatus
from doorstep.portal.models import Notice

TITLE_MAX = 100
BODY_MAX = publicity.POST_BODY_MAX
MAX_PK = 2**63
EVENTS_PAST_DAYS = 60
EVENTS_MAX = 100  # rows of each part of the calendar
CONTROL_RE = publicity.CONTROL_RE  # notices are plain text like the publicity posts
PUBLISH, WITHDRAW = "publish", "withdraw"
TRANSITIONS = {
    PUBLISH: ({NoticeStatus.DRAFT, NoticeStatus.WITHDRAWN}, NoticeStatus.PUBLISHED),
    WITHDRAW: ({NoticeStatus.PUBLISHED}, NoticeStatus.WITHDRAWN),
}


# --- rules (pure) --------------------------------------------------------------------------------------------
def next_status(status: str, action: str) -> str:
    """The notice's state after publish / withdraw, or RuleViolation."""
    if action not in TRANSITIONS:
        raise ServiceError(_("未知的操作"), code="action")
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        if action == PUBLISH:
            raise RuleViolation(_("该公告已发布"), code="action")
        raise RuleViolation(_("只有已发布的公告可以撤回"), code="action")
    return target


def clean_title(title: str | None) -> str:
    title = (title or "").strip()
    if not title:
        raise ServiceError(_("请填写标题"), code="title")
    if CONTROL_RE.search(title) or "\n" in title or "\r" in title:
        raise ServiceError(_("标题含有无法显示的控制字符"), code="title")
    if len(title) > TITLE_MAX:
        raise ServiceError(_("标题不能超过%(n)d字") % {"n": TITLE_MAX}, code="title")
    return title


clean_body = publicity.clean_body  # the same rule as a post's body (plain text, BODY_MAX characters)


def public_notices(today: dt.date | None = None) -> QuerySet[Notice]:
    """Published notices not expired on `today`, newest first (station notices carry their station)."""
    today = today or timezone.localdate()
    return (
        Notice.objects.filter(status=NoticeStatus.PUBLISHED, published_at__isnull=False)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .select_related("station")
        .order_by("-published_at", "-id")
    )


def get_public_notice(pk: int, today: dt.date | None = None) -> Notice:
    if pk >= MAX_PK:
        raise Http404
    try:
        return public_notices(today).get(pk=pk)
    except Notice.DoesNotExist as exc:
        raise Http404 from exc


def public_posts() -> QuerySet[Post]:
    return publicity.published_posts()


def get_public_post(pk: int) -> Post:
    if pk >= MAX_PK:
        raise Http404
    try:
        return public_posts().get(pk=pk)
    except Post.DoesNotExist as exc:
        raise Http404 from exc


def count_post_read(post: Post, client: str = "") -> bool:
    """One read of a published post on the portal (Post.views, 阅读数), counted once per client address, post
    and day, so reloading a page does not inflate it. An F() update, so concurrent reads all count; no audit
    (a counter, not a change of content). True when this read was counted."""
    from django.core.cache import cache

    from doorstep.portal.ratelimit import digest

    key = f"portal:read:{post.pk}:{timezone.localdate().isoformat()}:{digest(client)}"
    if not cache.add(key, 1, 86400 + 3600):
        return False
    Post.objects.filter(pk=post.pk).update(views=F("views") + 1)
    return True


def public_handbooks() -> QuerySet[Material]:
    """Active publicity materials that have an electronic version to download."""
    return publicity.active_materials().exclude(file="")


def get_public_handbook(pk: int) -> Material:
    if pk >= MAX_PK:
        raise Http404
    try:
        return public_handbooks().get(pk=pk)
    except Material.DoesNotExist as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class CalendarRow:
    """One line of the public publicity calendar: only what residents may see."""

    kind: str  # "campaign" or "event"
    title: str
    theme: str  # display label
    place: str
    starts_on: dt.date
    ends_on: dt.date
    where: str  # community (event) or station (campaign)

    @property
    def single_day(self) -> bool:
        return self.starts_on == self.ends_on


def events_calendar(today: dt.date | None = None) -> tuple[list[CalendarRow], list[CalendarRow]]:
    """(upcoming, recent): campaigns running or still to come (soonest first), then the events held and the
    campaigns that ended in the last EVENTS_PAST_DAYS days (latest first). Only public fields are read."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=EVENTS_PAST_DAYS)
    upcoming = [
        CalendarRow("campaign", c.title, c.get_theme_display(), "", c.starts_on, c.ends_on, c.station.name)
        for c in Campaign.objects.filter(ends_on__gte=today)
        .select_related("station")
        .only("title", "theme", "starts_on", "ends_on", "station__name")
        .order_by("starts_on", "id")[:EVENTS_MAX]
    ]
    recent = [
        CalendarRow("event", e.title, e.get_theme_display(), e.place, e.held_on, e.held_on, e.community.name)
        for e in Event.objects.filter(held_on__gte=since, held_on__lte=today)
        .select_related("community")
        .only("title", "theme", "place", "held_on", "community__name")
        .order_by("-held_on", "-id")[:EVENTS_MAX]
    ]
    recent += [
        CalendarRow("campaign", c.title, c.get_theme_display(), "", c.starts_on, c.ends_on, c.station.name)
        for c in Campaign.objects.filter(ends_on__gte=since, ends_on__lt=today)
        .select_related("station")
        .only("title", "theme", "starts_on", "ends_on", "station__name")
        .order_by("-ends_on", "-id")[:EVENTS_MAX]
    ]
    recent.sort(key=lambda r: r.ends_on, reverse=True)
    return upcoming, recent


# --- staff reads -----------------------------------------------------------------------------------------------
def require_notice_role(user: Any) -> None:
    """The notices pages are for directors and administrators; other staff get a 403 with the reason."""
    if access.role(user) not in access.NOTICE_ROLES:
        raise PermissionDenied(_("只有所长或系统管理员可以管理通知公告"))


def notices_for(user: Any) -> QuerySet[Notice]:
    """The notices the user may manage: an administrator all (sub-bureau-wide ones included), a director their
    station's."""
    if access.role(user) not in access.NOTICE_ROLES:
        return Notice.objects.none()
    return Territory.for_user(user).filter(Notice.objects.select_related("station", "created_by"))


def get_notice_for(user: Any, pk: int) -> Notice:
    require_notice_role(user)
    if pk >= MAX_PK:
        raise Http404
    return get_in_territory(user, notices_for(user), pk=pk)


def stations_for(user: Any) -> QuerySet[Station]:
    """Stations whose notices the user may write."""
    territory = Territory.for_user(user)
    qs = Station.objects.order_by("code")
    if access.role(user) not in access.NOTICE_ROLES:
        return qs.none()
    if territory.whole:
        return qs
    return qs.filter(pk__in=[s for s in territory.station_ids if territory.manages_station(s)])


# --- writes ----------------------------------------------------------------------------------------------------
def _require(by: Any, station_id: int | None) -> None:
    if not access.may_manage_notices(by, station_id):
        if station_id is None:
            raise NotAllowed(_("只有系统管理员可以发布分局通知公告"))
        raise NotAllowed(_("只有本所所长或系统管理员可以管理本所通知公告"))


def save_notice(
    by: Any,
    *,
    station: Station | None,
    title: str,
    body: str,
    expires_on: dt.date | None = None,
    notice: Notice | None = None,
) -> Notice:
    """Create a draft, or edit a draft or withdrawn notice (a published one is withdrawn first)."""
    station_id = station.pk if station is not None else None
    if notice is not None and notice.station_id != station_id:
        raise ServiceError(_("公告所属单位不能更改"), code="station")
    _require(by, station_id)
    title = clean_title(title)
    body = clean_body(body)
    if expires_on is not None and expires_on < timezone.localdate():
        raise ServiceError(_("有效期不能早于今天"), code="expires_on")
    with transaction.atomic():
        if notice is not None:
            notice = Notice.objects.select_for_update().get(pk=notice.pk)
            if notice.status == NoticeStatus.PUBLISHED:
                raise RuleViolation(_("已发布的公告请先撤回再修改"), code="status")
        before = snapshot(notice)
        if notice is None:
            notice = Notice(station=station, created_by=by, status=NoticeStatus.DRAFT)
        notice.title = title
        notice.body = body
        notice.expires_on = expires_on
        notice.save()
        record_change(by, "portal.notice_edit" if before else "portal.notice_create", notice, before=before)
    return notice


def set_notice_status(by: Any, notice: Notice, action: str) -> Notice:
    """Publish (draft or withdrawn → published; not once expired) or withdraw (published → withdrawn)."""
    _require(by, notice.station_id)
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        before = snapshot(locked)
        locked.status = next_status(locked.status, action)
        if locked.status == NoticeStatus.PUBLISHED:
            if locked.expires_on is not None and locked.expires_on < timezone.localdate():
                raise RuleViolation(_("公告已过有效期，请先修改有效期"), code="expires_on")
            locked.published_at = timezone.now()
        locked.save(update_fields=["status", "published_at", "updated_at"])
        record_change(by, f"portal.notice_{action}", locked, before=before)
    return locked
