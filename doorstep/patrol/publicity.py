"""“四防” and anti-terrorism publicity (防范宣传): campaigns of a station, events in communities with the
materials handed out, posts for the public portal (#11), and the reach figures — rules, reads, writes.

- Campaigns and posts are kept by the director (their station), community officers (their station) and
  administrators; events are recorded by officers, auxiliaries and the director of the community.
- An event is held today or earlier, with an audience of at least one; each material row hands out at least
  one copy; two rows of the same material are merged into one (copies added).
- A post is plain text (shown escaped, never as HTML), at most POST_BODY_MAX characters. Its states:
  draft → published → withdrawn (→ published again). Only published posts reach the portal
  (`published_posts`). A published post is withdrawn before it is edited.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.photos import files_removed_on_rollback, normalise_photo
from doorstep.org.models import Community, Station
from doorstep.org.territory import Territory, get_in_territory
from doorstep.patrol import access
from doorstep.patrol.choices import PostStatus, Theme
from doorstep.patrol.models import Campaign, Distribution, Event, Material, Post

POST_BODY_MAX = 5000
POST_TITLE_MAX = 100
MAX_MATERIAL_ROWS = 10
# Control characters other than tab and newlines have no place in plain text for the portal.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PUBLISH, WITHDRAW = "publish", "withdraw"
TRANSITIONS = {
    PUBLISH: ({PostStatus.DRAFT, PostStatus.WITHDRAWN}, PostStatus.PUBLISHED),
    WITHDRAW: ({PostStatus.PUBLISHED}, PostStatus.WITHDRAWN),
}


# --- rules (pure) --------------------------------------------------------------------------------------------
def merge_rows(rows: Iterable[tuple[Material, int]]) -> list[tuple[Material, int]]:
    """Material rows with copies ≥ 1; duplicates merged (copies added), first-seen order kept."""
    merged: dict[int, list[Any]] = {}
    for material, copies in rows:
        if copies is None or copies < 1:
            raise ServiceError(_("“%(name)s”的发放份数至少为1份") % {"name": material.name}, code="materials")
        if material.pk in merged:
            merged[material.pk][1] += copies
        else:
            merged[material.pk] = [material, copies]
    return [(m, c) for m, c in merged.values()]


def next_status(status: str, action: str) -> str:
    """The post's state after publish / withdraw, or RuleViolation."""
    if action not in TRANSITIONS:
        raise ServiceError(_("未知的操作"), code="action")
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        if action == PUBLISH:
            raise RuleViolation(_("该文章已发布"), code="action")
        raise RuleViolation(_("只有已发布的文章可以撤回"), code="action")
    return target


def clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ServiceError(_("请填写正文"), code="body")
    if CONTROL_RE.search(body):
        raise ServiceError(_("正文含有无法显示的控制字符"), code="body")
    if len(body) > POST_BODY_MAX:
        raise ServiceError(_("正文不能超过%(n)d字") % {"n": POST_BODY_MAX}, code="body")
    return body


# --- who -----------------------------------------------------------------------------------------------------
def may_manage_station(user: Any, station_id: int | None = None) -> bool:
    """Campaigns and posts: the director, officers (their station) and administrators."""
    if access.role(user) not in access.MANAGE_ROLES:
        return False
    return station_id is None or Territory.for_user(user).covers_station(station_id)


def _require_station(by: Any, station_id: int) -> None:
    if not may_manage_station(by, station_id):
        raise NotAllowed(_("只有所长、社区民警或系统管理员可以维护宣传活动和网上宣传"))


def _require_record(by: Any, community_id: int) -> None:
    if not access.may_record(by, community_id):
        raise NotAllowed(_("只有本社区民警、协勤员或所长可以登记宣传场次"))


# --- reads ---------------------------------------------------------------------------------------------------
def campaigns_for(user: Any) -> QuerySet[Campaign]:
    if not access.may_view(user):
        return Campaign.objects.none()
    return Territory.for_user(user).filter(Campaign.objects.select_related("station"))


def get_campaign_for(user: Any, pk: int) -> Campaign:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, campaigns_for(user), pk=pk)


def events_for(user: Any) -> QuerySet[Event]:
    if not access.may_view(user):
        return Event.objects.none()
    return Territory.for_user(user).filter(Event.objects.select_related("community", "campaign"))


def get_event_for(user: Any, pk: int) -> Event:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, events_for(user), pk=pk)


def posts_for(user: Any) -> QuerySet[Post]:
    if not access.may_view(user):
        return Post.objects.none()
    return Territory.for_user(user).filter(Post.objects.select_related("station", "campaign", "by"))


def get_post_for(user: Any, pk: int) -> Post:
    access.require_view(user)
    access.check_pk(pk)
    return get_in_territory(user, posts_for(user), pk=pk)


def published_posts() -> QuerySet[Post]:
    """What the public portal (#11) may show: published posts only, newest first."""
    return (
        Post.objects.filter(status=PostStatus.PUBLISHED).select_related("station").order_by("-published_at")
    )


def active_materials() -> QuerySet[Material]:
    return Material.objects.filter(active=True).order_by("name")


@dataclass
class ReachRow:
    community: Community
    events: int = 0
    audience: int = 0
    copies: dict[int, int] = field(default_factory=dict)  # material id → copies

    def copies_for(self, materials: Sequence[Material]) -> list[int]:
        return [self.copies.get(m.pk, 0) for m in materials]

    @property
    def total_copies(self) -> int:
        return sum(self.copies.values())


def reach(
    communities: Sequence[Community], start: dt.date, end: dt.date
) -> tuple[list[Material], list[ReachRow]]:
    """Per community, events held from `start` to `end` (inclusive), their audience and the copies of each
    material handed out; the materials that appear (or are active) as columns. Two queries."""
    ids = [c.pk for c in communities]
    rows = {c.pk: ReachRow(c) for c in communities}
    for r in (
        Event.objects.filter(community_id__in=ids, held_on__gte=start, held_on__lte=end)
        .order_by()
        .values("community_id")
        .annotate(n=Count("id"), people=Sum("audience"))
    ):
        rows[r["community_id"]].events = r["n"]
        rows[r["community_id"]].audience = r["people"] or 0
    used: set[int] = set()
    for r in (
        Distribution.objects.filter(
            event__community_id__in=ids, event__held_on__gte=start, event__held_on__lte=end
        )
        .order_by()
        .values("event__community_id", "material_id")
        .annotate(copies=Sum("copies"))
    ):
        rows[r["event__community_id"]].copies[r["material_id"]] = r["copies"] or 0
        used.add(r["material_id"])
    materials = list(Material.objects.filter(pk__in=used) | Material.objects.filter(active=True))
    materials.sort(key=lambda m: m.name)
    return materials, [rows[c.pk] for c in communities]


# --- writes --------------------------------------------------------------------------------------------------
def _check_dates(starts_on: dt.date | None, ends_on: dt.date | None) -> None:
    if starts_on is None:
        raise ServiceError(_("请填写开始日期"), code="starts_on")
    if ends_on is None:
        raise ServiceError(_("请填写结束日期"), code="ends_on")
    if ends_on < starts_on:
        raise ServiceError(_("结束日期不能早于开始日期"), code="ends_on")


def save_campaign(
    by: Any,
    *,
    station: Station,
    title: str,
    theme: str,
    starts_on: dt.date,
    ends_on: dt.date,
    description: str = "",
    campaign: Campaign | None = None,
) -> Campaign:
    if campaign is not None and campaign.station_id != station.pk:
        raise ServiceError(_("活动所属派出所不能更改"), code="station")
    _require_station(by, station.pk)
    title = (title or "").strip()
    if not title:
        raise ServiceError(_("请填写活动名称"), code="title")
    if theme not in Theme.values:
        raise ServiceError(_("请选择主题"), code="theme")
    _check_dates(starts_on, ends_on)
    with transaction.atomic():
        before = snapshot(campaign)
        if campaign is None:
            campaign = Campaign(station=station, created_by=by)
        campaign.title = title
        campaign.theme = theme
        campaign.starts_on = starts_on
        campaign.ends_on = ends_on
        campaign.description = (description or "").strip()
        campaign.save()
        record_change(
            by, "patrol.campaign_edit" if before else "patrol.campaign_create", campaign, before=before
        )
    return campaign


def record_event(
    by: Any,
    *,
    community: Community,
    theme: str,
    title: str,
    place: str,
    held_on: dt.date,
    audience: int,
    materials: Iterable[tuple[Material, int]] = (),
    campaign: Campaign | None = None,
    notes: str = "",
    photo: Any = None,
) -> Event:
    """Record a publicity event and the materials handed out (duplicate materials merged)."""
    _require_record(by, community.pk)
    if theme not in Theme.values:
        raise ServiceError(_("请选择主题"), code="theme")
    title = (title or "").strip()
    place = (place or "").strip()
    if not title:
        raise ServiceError(_("请填写名称"), code="title")
    if not place:
        raise ServiceError(_("请填写地点"), code="place")
    if held_on is None:
        raise ServiceError(_("请填写日期"), code="held_on")
    if held_on > timezone.localdate():
        raise ServiceError(_("宣传日期不能晚于今天"), code="held_on")
    if audience is None or audience < 1:
        raise ServiceError(_("受众人数至少为1人"), code="audience")
    if campaign is not None and campaign.station_id != community.station_id:
        raise ServiceError(_("只能选择本所的宣传活动"), code="campaign")
    rows = merge_rows(materials)
    if len(rows) > MAX_MATERIAL_ROWS:
        raise ServiceError(_("资料不能超过%(n)d种") % {"n": MAX_MATERIAL_ROWS}, code="materials")
    content = normalise_photo(photo) if photo else None
    with files_removed_on_rollback() as store, transaction.atomic():
        event = Event(
            campaign=campaign,
            community=community,
            theme=theme,
            title=title,
            place=place,
            held_on=held_on,
            audience=audience,
            notes=(notes or "").strip(),
            by=by,
        )
        if content is not None:
            store(event.photo, content)
        event.save()
        Distribution.objects.bulk_create([Distribution(event=event, material=m, copies=c) for m, c in rows])
        record_change(
            by,
            "patrol.event_record",
            event,
            note="; ".join(f"{m.name}×{c}" for m, c in rows),
        )
    return event


def save_post(
    by: Any,
    *,
    station: Station,
    theme: str,
    title: str,
    body: str,
    campaign: Campaign | None = None,
    post: Post | None = None,
) -> Post:
    """Create a draft, or edit a draft or withdrawn post (a published one is withdrawn first)."""
    if post is not None and post.station_id != station.pk:
        raise ServiceError(_("文章所属派出所不能更改"), code="station")
    _require_station(by, station.pk)
    if post is not None and post.status == PostStatus.PUBLISHED:
        raise RuleViolation(_("已发布的文章请先撤回再修改"), code="status")
    if theme not in Theme.values:
        raise ServiceError(_("请选择主题"), code="theme")
    title = (title or "").strip()
    if not title:
        raise ServiceError(_("请填写标题"), code="title")
    if len(title) > POST_TITLE_MAX or CONTROL_RE.search(title):
        raise ServiceError(_("标题不能超过%(n)d字") % {"n": POST_TITLE_MAX}, code="title")
    body = clean_body(body)
    if campaign is not None and campaign.station_id != station.pk:
        raise ServiceError(_("只能选择本所的宣传活动"), code="campaign")
    with transaction.atomic():
        if post is not None:
            # Re-read under lock: a publish committed since the check above must not be edited live.
            post = Post.objects.select_for_update().get(pk=post.pk)
            if post.status == PostStatus.PUBLISHED:
                raise RuleViolation(_("已发布的文章请先撤回再修改"), code="status")
        before = snapshot(post)
        if post is None:
            post = Post(station=station, by=by, status=PostStatus.DRAFT)
        post.theme = theme
        post.title = title
        post.body = body
        post.campaign = campaign
        post.save()
        record_change(by, "patrol.post_edit" if before else "patrol.post_create", post, before=before)
    return post


def set_post_status(by: Any, post: Post, action: str) -> Post:
    """Publish (draft or withdrawn → published) or withdraw (published → withdrawn) a post."""
    _require_station(by, post.station_id)
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        before = snapshot(locked)
        locked.status = next_status(locked.status, action)
        if locked.status == PostStatus.PUBLISHED:
            locked.published_at = timezone.now()
        locked.save(update_fields=["status", "published_at", "updated_at"])
        record_change(by, f"patrol.post_{action}", locked, before=before)
    return locked
