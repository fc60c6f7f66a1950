"""Pages of zones, teams and members (with the staffing board), meetings and issues (with the monthly
compliance table), and publicity (campaigns, events with materials, posts for the portal, reach).

Reads go through the scoped selectors of `teams`, `meetings` and `publicity` (404 outside the territory or
for roles without patrol pages); writes through their services (a role that sees but may not act gets a 403
with a Chinese reason; a refused rule comes back on the form). Phones of volunteers and cadres are masked
except for those who manage the community.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import form_errors_text, style
from doorstep.core.ids import id_param
from doorstep.core.masking import mask_phone
from doorstep.core.photos import private_file_response
from doorstep.org.models import Grid, Staff
from doorstep.org.territory import Territory
from doorstep.patrol import access, meetings, publicity, teams
from doorstep.patrol.choices import IssueStatus, PostStatus, TeamKind
from doorstep.patrol.forms import (
    AnswerForm,
    CampaignFilterSet,
    CampaignForm,
    EventForm,
    IssueForm,
    LeaveForm,
    MeetingFilterSet,
    MeetingForm,
    MemberForm,
    PostFilterSet,
    PostForm,
    PublishForm,
    ReachForm,
    TeamFilterSet,
    TeamForm,
    ZoneFilterSet,
    ZoneForm,
)

PER_PAGE = 50
RECENT_EVENTS = 20


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _apply(form: Any, call: Any) -> Any:
    """Run a service; its refusal goes on the form (None returned), NotAllowed becomes a 403."""
    try:
        return call()
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        form.add_service_error(exc)
        style(form)
        return None


def _phone(value: str, shown: bool) -> str:
    return value if shown else mask_phone(value)


def _manage_or_403(user: Any, community_id: int | None = None) -> None:
    if not access.may_manage(user, community_id):
        raise PermissionDenied(_("只有所长、本社区民警或系统管理员可以维护巡防队伍和防控责任区"))


def _record_or_403(user: Any, community_id: int | None = None) -> None:
    if not access.may_record(user, community_id):
        raise PermissionDenied(_("只有本社区民警、协勤员或所长可以登记恳谈会、宣传场次和答复问题"))


def _station_or_403(user: Any, station_id: int | None = None) -> None:
    if not publicity.may_manage_station(user, station_id):
        raise PermissionDenied(_("只有所长、社区民警或系统管理员可以维护宣传活动和网上宣传"))


def _managed_communities(user: Any) -> Any:
    territory = Territory.for_user(user)
    ids = [c.pk for c in territory.communities() if access.may_manage(user, c.pk)]
    return territory.communities().filter(pk__in=ids).order_by("code")


def _recorded_communities(user: Any) -> Any:
    return Territory.for_user(user).communities().order_by("code")


# --- zones ---------------------------------------------------------------------------------------------------
@login_required
@require_GET
def zone_list(request):
    user = request.user
    access.require_view(user)
    qs = teams.zones_for(user).prefetch_related("grids").order_by("community__code", "name")
    filterset = ZoneFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    for z in page.object_list:
        shown = access.may_manage(user, z.community_id)
        z.can_edit = shown
        z.street_phone_shown = _phone(z.street_cadre_phone, shown)
        z.community_phone_shown = _phone(z.community_cadre_phone, shown)
    return _private(
        render(
            request,
            "patrol/zone_list.html",
            {"filter": filterset, "page": page, "can_add": access.may_manage(user)},
        )
    )


def _zone_form(request, zone=None):
    user = request.user
    access.require_view(user)
    if zone is None:
        _manage_or_403(user)
    else:
        _manage_or_403(user, zone.community_id)
    communities = _managed_communities(user)
    if not communities.exists():
        raise PermissionDenied(_("您没有可维护的社区"))
    initial: dict[str, Any] = {}
    if zone is not None:
        initial = {
            "community": zone.community_id,
            "name": zone.name,
            "grids": list(zone.grids.values_list("pk", flat=True)),
            "police_team": zone.police_team,
            "responsible_officer": zone.responsible_officer_id,
            "street_cadre": zone.street_cadre,
            "street_cadre_phone": zone.street_cadre_phone,
            "community_cadre": zone.community_cadre,
            "community_cadre_phone": zone.community_cadre_phone,
            "notes": zone.notes,
        }
    form = ZoneForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        communities=communities,
        grids=Grid.objects.filter(community__in=communities).select_related("community").order_by("code"),
        officers=Staff.objects.filter(
            kind="police", active=True, station_id__in=communities.values("station_id")
        ).order_by("name", "pk"),
    )
    if zone is not None:
        form.fields["community"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        saved = _apply(
            form,
            lambda: teams.save_zone(
                user,
                zone=zone,
                community=zone.community if zone is not None else d["community"],
                name=d["name"],
                grids=d["grids"],
                police_team=d["police_team"],
                responsible_officer=d["responsible_officer"],
                street_cadre=d["street_cadre"],
                street_cadre_phone=d["street_cadre_phone"],
                community_cadre=d["community_cadre"],
                community_cadre_phone=d["community_cadre_phone"],
                notes=d["notes"],
            ),
        )
        if saved is not None:
            messages.success(request, _("防控责任区已保存"))
            return redirect("patrol:zones")
    title = _("新建防控责任区") if zone is None else _("修改防控责任区")
    return _private(render(request, "patrol/zone_form.html", {"form": form, "title": title, "zone": zone}))


@login_required
def zone_new(request):
    return _zone_form(request)


@login_required
def zone_edit(request, pk: int):
    return _zone_form(request, teams.get_zone_for(request.user, pk))


# --- teams and members ---------------------------------------------------------------------------------------
@login_required
@require_GET
def team_list(request):
    user = request.user
    access.require_view(user)
    qs = (
        teams.teams_for(user)
        .annotate(current=Count("members", filter=Q(members__left_on__isnull=True)))
        .order_by("community__code", "kind", "name")
    )
    filterset = TeamFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    communities = list(Territory.for_user(user).communities().order_by("code"))
    board = teams.staffing_board(communities)
    return render(
        request,
        "patrol/team_list.html",
        {
            "filter": filterset,
            "page": page,
            "board": board,
            "short_count": sum(1 for r in board if r.short),
            "minimum": teams.MIN_FULL_TIME_PER_COMMUNITY,
            "can_add": access.may_manage(user),
        },
    )


def _team_form(request, team=None):
    user = request.user
    access.require_view(user)
    _manage_or_403(user, None if team is None else team.community_id)
    communities = _managed_communities(user)
    if not communities.exists():
        raise PermissionDenied(_("您没有可维护的社区"))
    initial: dict[str, Any] = {"active": True}
    if team is not None:
        initial = {
            "community": team.community_id,
            "name": team.name,
            "kind": team.kind,
            "leader": team.leader_id,
            "active": team.active,
        }
    form = TeamForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        communities=communities,
        leaders=Staff.objects.filter(
            kind="police", active=True, station_id__in=communities.values("station_id")
        ).order_by("name", "pk"),
    )
    if team is not None:
        form.fields["community"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        saved = _apply(
            form,
            lambda: teams.save_team(
                user,
                team=team,
                community=team.community if team is not None else d["community"],
                name=d["name"],
                kind=d["kind"],
                leader=d["leader"],
                active=d["active"],
            ),
        )
        if saved is not None:
            messages.success(request, _("巡防队伍已保存"))
            return redirect("patrol:team_detail", pk=saved.pk)
    title = _("新建巡防队伍") if team is None else _("修改巡防队伍")
    return render(request, "patrol/team_form.html", {"form": form, "title": title, "team": team})


@login_required
def team_new(request):
    return _team_form(request)


@login_required
def team_edit(request, pk: int):
    return _team_form(request, teams.get_team_for(request.user, pk))


def _member_form(team, data=None):
    return MemberForm(
        data,
        initial={"joined_on": timezone.localdate()},
        team=team,
        staff=teams.patrol_staff(team.community.station_id),
    )


def _team_page(request, team, *, member_form=None, leave_errors: str = "", status: int = 200):
    user = request.user
    can_manage = access.may_manage(user, team.community_id)
    members = list(team.members.select_related("staff").order_by("left_on", "name", "pk"))
    for m in members:
        m.phone_shown = _phone(m.phone, can_manage)
    current = [m for m in members if m.left_on is None]
    return _private(
        render(
            request,
            "patrol/team_detail.html",
            {
                "team": team,
                "current": current,
                "former": [m for m in members if m.left_on is not None],
                "full_time": team.kind == TeamKind.FULL_TIME,
                "can_manage": can_manage,
                "member_form": member_form or (_member_form(team) if can_manage else None),
                "leave_form": LeaveForm(initial={"left_on": timezone.localdate()}),
                "leave_errors": leave_errors,
                "minimum": teams.MIN_FULL_TIME_PER_COMMUNITY,
                "short": team.kind == TeamKind.FULL_TIME
                and teams.is_short(teams.full_time_counts([team.community_id])[team.community_id]),
            },
            status=status,
        )
    )


@login_required
@require_GET
def team_detail(request, pk: int):
    return _team_page(request, teams.get_team_for(request.user, pk))


@login_required
@require_POST
def member_new(request, pk: int):
    user = request.user
    team = teams.get_team_for(user, pk)
    _manage_or_403(user, team.community_id)
    form = _member_form(team, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        member = _apply(
            form,
            lambda: teams.add_member(
                user,
                team,
                joined_on=d["joined_on"],
                staff=d.get("staff"),
                name=d.get("name", ""),
                phone=d.get("phone", ""),
                skills=d.get("skills", ""),
                availability=d.get("availability", ""),
            ),
        )
        if member is not None:
            messages.success(request, _("已添加队员：%(name)s") % {"name": member.name})
            return redirect("patrol:team_detail", pk=team.pk)
    return _team_page(request, team, member_form=form, status=400)


@login_required
@require_POST
def member_leave(request, pk: int):
    user = request.user
    member = teams.get_member_for(user, pk)
    _manage_or_403(user, member.team.community_id)
    form = LeaveForm(request.POST)
    if form.is_valid():
        done = _apply(form, lambda: teams.member_leave(user, member, left_on=form.cleaned_data["left_on"]))
        if done is not None:
            messages.success(request, _("%(name)s 已退出队伍") % {"name": member.name})
            return redirect("patrol:team_detail", pk=member.team_id)
    team = teams.get_team_for(user, member.team_id)
    return _team_page(request, team, leave_errors=form_errors_text(form), status=400)


# --- meetings and issues -------------------------------------------------------------------------------------
@login_required
@require_GET
def meeting_list(request):
    user = request.user
    access.require_view(user)
    today = timezone.localdate()
    qs = meetings.meetings_for(user).annotate(
        open_issues=Count("issues", filter=Q(issues__status=IssueStatus.OPEN))
    )
    filterset = MeetingFilterSet(
        request.GET or None, queryset=qs.order_by("-held_on", "-id"), request=request
    )
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    communities = list(Territory.for_user(user).communities().order_by("code"))
    months, table = meetings.compliance_table(communities, today)
    overdue = (
        meetings.issues_for(user)
        .filter(status=IssueStatus.OPEN, due_on__lt=today)
        .order_by("due_on", "id")[:PER_PAGE]
    )
    return render(
        request,
        "patrol/meeting_list.html",
        {
            "filter": filterset,
            "page": page,
            "months": months,
            "table": table,
            "missing": sum(1 for _c, cells in table for cell in cells if cell[2] == meetings.MISSING),
            "overdue": overdue,
            "per_month": meetings.MEETINGS_PER_MONTH,
            "can_add": access.may_record(user),
            "today": today,
        },
    )


@login_required
def meeting_new(request):
    user = request.user
    access.require_view(user)
    _record_or_403(user)
    form = MeetingForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={"held_on": timezone.localdate()},
        communities=_recorded_communities(user),
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        meeting = _apply(
            form,
            lambda: meetings.record_meeting(
                user,
                community=d["community"],
                kind=d["kind"],
                held_on=d["held_on"],
                place=d["place"],
                attendance=d["attendance"],
                officers=d["officers"],
                notes=d["notes"],
                photo=d.get("photo"),
            ),
        )
        if meeting is not None:
            messages.success(request, _("恳谈会已登记"))
            return redirect("patrol:meeting_detail", pk=meeting.pk)
    return render(request, "patrol/meeting_form.html", {"form": form})


def _meeting_page(request, meeting, *, issue_form=None, answer_forms=None, status: int = 200):
    user = request.user
    today = timezone.localdate()
    can_record = access.may_record(user, meeting.community_id)
    issues = list(meeting.issues.select_related("owner", "answered_by").order_by("status", "due_on", "id"))
    answer_forms = answer_forms or {}
    for issue in issues:
        issue.overdue = meetings.is_overdue(issue, today)
        if can_record and issue.status == IssueStatus.OPEN:
            issue.answer_form = answer_forms.get(issue.pk) or AnswerForm(
                initial={"answered_on": today}, prefix=f"a{issue.pk}"
            )
    if can_record and issue_form is None:
        issue_form = IssueForm(
            initial={"due_on": today + dt.timedelta(days=15)},
            owners=meetings.issue_owners(meeting.community.station_id),
        )
    return render(
        request,
        "patrol/meeting_detail.html",
        {"meeting": meeting, "issues": issues, "issue_form": issue_form, "can_record": can_record},
        status=status,
    )


@login_required
@require_GET
def meeting_detail(request, pk: int):
    return _meeting_page(request, meetings.get_meeting_for(request.user, pk))


@login_required
@require_GET
def meeting_photo(request, pk: int):
    meeting = meetings.get_meeting_for(request.user, pk)
    if not meeting.photo:
        raise Http404
    return private_file_response(meeting.photo)


@login_required
@require_POST
def issue_new(request, pk: int):
    user = request.user
    meeting = meetings.get_meeting_for(user, pk)
    _record_or_403(user, meeting.community_id)
    form = IssueForm(request.POST, owners=meetings.issue_owners(meeting.community.station_id))
    if form.is_valid():
        d = form.cleaned_data
        issue = _apply(
            form,
            lambda: meetings.raise_issue(
                user, meeting, text=d["text"], raised_by=d["raised_by"], owner=d["owner"], due_on=d["due_on"]
            ),
        )
        if issue is not None:
            messages.success(request, _("问题已登记"))
            return redirect("patrol:meeting_detail", pk=meeting.pk)
    return _meeting_page(request, meeting, issue_form=form, status=400)


@login_required
@require_POST
def issue_answer(request, pk: int):
    user = request.user
    issue = meetings.get_issue_for(user, pk)
    meeting = issue.meeting
    _record_or_403(user, meeting.community_id)
    form = AnswerForm(request.POST, prefix=f"a{issue.pk}")
    if form.is_valid():
        d = form.cleaned_data
        done = _apply(
            form, lambda: meetings.answer_issue(user, issue, answer=d["answer"], answered_on=d["answered_on"])
        )
        if done is not None:
            messages.success(request, _("问题已答复"))
            return redirect("patrol:meeting_detail", pk=meeting.pk)
    return _meeting_page(request, meeting, answer_forms={issue.pk: form}, status=400)


# --- publicity -----------------------------------------------------------------------------------------------
def _reach_period(request) -> tuple[ReachForm, dt.date, dt.date]:
    today = timezone.localdate()
    form = ReachForm(request.GET or None)
    start, end = today.replace(month=1, day=1), today
    if form.is_bound and form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
    if end < start:
        start, end = end, start
    return form, start, end


@login_required
@require_GET
def campaign_list(request):
    user = request.user
    access.require_view(user)
    qs = publicity.campaigns_for(user).annotate(n_events=Count("events")).order_by("-starts_on", "-id")
    filterset = CampaignFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    reach_form, start, end = _reach_period(request)
    communities = list(Territory.for_user(user).communities().order_by("code"))
    materials, reach = publicity.reach(communities, start, end)
    for row in reach:
        row.cells = row.copies_for(materials)
    return render(
        request,
        "patrol/campaign_list.html",
        {
            "filter": filterset,
            "page": page,
            "events": publicity.events_for(user).order_by("-held_on", "-id")[:RECENT_EVENTS],
            "reach_form": reach_form,
            "start": start,
            "end": end,
            "materials": materials,
            "reach": reach,
            "can_add": publicity.may_manage_station(user),
            "can_record": access.may_record(user),
        },
    )


def _stations_for(user: Any) -> Any:
    territory = Territory.for_user(user)
    return territory.stations().order_by("code")


@login_required
def campaign_new(request):
    user = request.user
    access.require_view(user)
    _station_or_403(user)
    form = CampaignForm(request.POST if request.method == "POST" else None, stations=_stations_for(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        campaign = _apply(
            form,
            lambda: publicity.save_campaign(
                user,
                station=d["station"],
                title=d["title"],
                theme=d["theme"],
                starts_on=d["starts_on"],
                ends_on=d["ends_on"],
                description=d["description"],
            ),
        )
        if campaign is not None:
            messages.success(request, _("宣传活动已创建"))
            return redirect("patrol:campaign_detail", pk=campaign.pk)
    return render(request, "patrol/campaign_form.html", {"form": form})


@login_required
@require_GET
def campaign_detail(request, pk: int):
    user = request.user
    campaign = publicity.get_campaign_for(user, pk)
    events = (
        publicity.events_for(user)
        .filter(campaign=campaign)
        .prefetch_related("distributions__material")
        .order_by("-held_on", "-id")
    )
    return render(
        request,
        "patrol/campaign_detail.html",
        {
            "campaign": campaign,
            "events": events,
            "posts": publicity.posts_for(user).filter(campaign=campaign).order_by("-created_at"),
            "can_record": access.may_record(user),
        },
    )


@login_required
def event_new(request):
    user = request.user
    access.require_view(user)
    _record_or_403(user)
    campaign_qs = publicity.campaigns_for(user).order_by("-starts_on", "-id")
    initial: dict[str, Any] = {"held_on": timezone.localdate()}
    campaign_id = id_param(request.GET.get("campaign"))
    if campaign_id is not None:
        found = campaign_qs.filter(pk=campaign_id).first()
        if found is not None:
            initial.update(campaign=found.pk, theme=found.theme)
    form = EventForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial=initial,
        communities=_recorded_communities(user),
        campaigns=campaign_qs,
        materials=publicity.active_materials(),
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        event = _apply(
            form,
            lambda: publicity.record_event(
                user,
                community=d["community"],
                campaign=d["campaign"],
                theme=d["theme"],
                title=d["title"],
                place=d["place"],
                held_on=d["held_on"],
                audience=d["audience"],
                notes=d["notes"],
                photo=d.get("photo"),
                materials=d["materials"],
            ),
        )
        if event is not None:
            messages.success(request, _("宣传场次已登记"))
            return redirect("patrol:event_detail", pk=event.pk)
    return render(request, "patrol/event_form.html", {"form": form})


@login_required
@require_GET
def event_detail(request, pk: int):
    event = publicity.get_event_for(request.user, pk)
    rows = event.distributions.select_related("material").order_by("material__name")
    return render(request, "patrol/event_detail.html", {"event": event, "rows": rows})


@login_required
@require_GET
def event_photo(request, pk: int):
    event = publicity.get_event_for(request.user, pk)
    if not event.photo:
        raise Http404
    return private_file_response(event.photo)


@login_required
@require_GET
def post_list(request):
    user = request.user
    access.require_view(user)
    qs = publicity.posts_for(user).order_by("-published_at", "-created_at", "-id")
    filterset = PostFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    for p in page.object_list:
        p.can_edit = publicity.may_manage_station(user, p.station_id)
    return render(
        request,
        "patrol/post_list.html",
        {"filter": filterset, "page": page, "can_add": publicity.may_manage_station(user)},
    )


def _post_form(request, post=None):
    user = request.user
    access.require_view(user)
    _station_or_403(user, None if post is None else post.station_id)
    if post is not None and post.status == PostStatus.PUBLISHED:
        messages.error(request, _("已发布的文章请先撤回再修改"))
        return redirect("patrol:posts")
    initial: dict[str, Any] = {}
    if post is not None:
        initial = {
            "station": post.station_id,
            "campaign": post.campaign_id,
            "theme": post.theme,
            "title": post.title,
            "body": post.body,
        }
    form = PostForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        stations=_stations_for(user),
        campaigns=publicity.campaigns_for(user).order_by("-starts_on", "-id"),
    )
    if post is not None:
        form.fields["station"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        saved = _apply(
            form,
            lambda: publicity.save_post(
                user,
                post=post,
                station=post.station if post is not None else d["station"],
                campaign=d["campaign"],
                theme=d["theme"],
                title=d["title"],
                body=d["body"],
            ),
        )
        if saved is not None:
            messages.success(request, _("文章已保存为草稿") if post is None else _("文章已保存"))
            return redirect("patrol:posts")
    title = _("新建网上宣传") if post is None else _("修改网上宣传")
    return render(request, "patrol/post_form.html", {"form": form, "title": title, "post": post})


@login_required
def post_new(request):
    return _post_form(request)


@login_required
def post_edit(request, pk: int):
    return _post_form(request, publicity.get_post_for(request.user, pk))


@login_required
@require_POST
def post_publish(request, pk: int):
    user = request.user
    post = publicity.get_post_for(user, pk)
    _station_or_403(user, post.station_id)
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("patrol:posts")
    try:
        publicity.set_post_status(user, post, form.cleaned_data["action"])
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        if form.cleaned_data["action"] == publicity.PUBLISH:
            messages.success(request, _("文章已发布"))
        else:
            messages.success(request, _("文章已撤回"))
    return redirect("patrol:posts")


urlpatterns = [
    path("zones/", zone_list, name="zones"),
    path("zones/new/", zone_new, name="zone_new"),
    path("zones/<int:pk>/edit/", zone_edit, name="zone_edit"),
    path("teams/", team_list, name="teams"),
    path("teams/new/", team_new, name="team_new"),
    path("teams/<int:pk>/", team_detail, name="team_detail"),
    path("teams/<int:pk>/edit/", team_edit, name="team_edit"),
    path("teams/<int:pk>/members/", member_new, name="member_new"),
    path("members/<int:pk>/leave/", member_leave, name="member_leave"),
    path("meetings/", meeting_list, name="meetings"),
    path("meetings/new/", meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/photo/", meeting_photo, name="meeting_photo"),
    path("meetings/<int:pk>/issues/", issue_new, name="issue_new"),
    path("issues/<int:pk>/answer/", issue_answer, name="issue_answer"),
    path("publicity/", campaign_list, name="campaigns"),
    path("publicity/campaigns/new/", campaign_new, name="campaign_new"),
    path("publicity/campaigns/<int:pk>/", campaign_detail, name="campaign_detail"),
    path("publicity/events/new/", event_new, name="event_new"),
    path("publicity/events/<int:pk>/", event_detail, name="event_detail"),
    path("publicity/events/<int:pk>/photo/", event_photo, name="event_photo"),
    path("publicity/posts/", post_list, name="posts"),
    path("publicity/posts/new/", post_new, name="post_new"),
    path("publicity/posts/<int:pk>/edit/", post_edit, name="post_edit"),
    path("publicity/posts/<int:pk>/publish/", post_publish, name="post_publish"),
]
