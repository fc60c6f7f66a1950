"""Pages of dispute mediation: the work queue, the list, intake (also from a service-desk item), the case page
with its actions, the agreement PDF, dispute types.

Reads go through `access` (404 outside the territory or for roles without mediation); writes through
`services` (a role that sees but may not act gets a 403 with a Chinese reason; a refused rule comes back as
a message). Parties' ID numbers and phones are masked; officers and directors may reveal them for one case
with a stated purpose (POST, audited). The agreement PDF download is logged as an export.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.audit.models import AccessKind
from doorstep.audit.services import record_access
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import form_errors_text, style
from doorstep.core.masking import mask_citizen_id, mask_phone
from doorstep.mediation import access, rota, services
from doorstep.mediation.choices import CLOCK_RUNNING, CLOSED, OPEN, STATUS_BADGES, Level, Status
from doorstep.mediation.forms import (
    AgreementForm,
    AssignForm,
    DisputeFilterSet,
    DisputeForm,
    EscalateForm,
    FollowUpForm,
    NoteForm,
    ReasonForm,
    ReferForm,
    ReplyForm,
    SessionForm,
    TypeForm,
    overdue_q,
)
from doorstep.mediation.models import Agreement, DisputeType, Referral
from doorstep.org.models import Staff
from doorstep.org.territory import Territory
from doorstep.registry import privacy
from doorstep.registry.forms import RevealForm

PER_PAGE = 50
CONFIRM_WARN_DAYS = 7
FOLLOW_UP_WARN_DAYS = 3


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def decorate(rows, now: dt.datetime):
    today = timezone.localtime(now).date()
    for d in rows:
        d.badge = STATUS_BADGES.get(d.status, "bg-secondary-lt")
        d.is_overdue = d.status in CLOCK_RUNNING and bool(d.due_at and d.due_at < now)
        d.follow_up_overdue = bool(d.follow_up_due and d.follow_up_due < today)
    return rows


# --- queue and list ------------------------------------------------------------------------------------------
@login_required
def index(request):
    """我的待办: what this person has to do now, by role, and the mediator on duty today."""
    user = request.user
    access.require_view(user)
    now = timezone.now()
    today = timezone.localtime(now).date()
    qs = access.disputes_for(user)
    staff = getattr(user, "staff", None)
    role = access.role(user)
    sections: list[tuple[str, str, list]] = []

    def add(key: str, title: str, rows_qs, limit: int = 50) -> None:
        rows = decorate(list(rows_qs[:limit]), now)
        sections.append((key, title, rows))

    territory = Territory.for_user(user)
    if role in access.MANAGER_ROLES | {"dispatcher", "leader", "evaluator"}:
        add(
            "awaiting",
            _("待分派调解员"),
            qs.filter(status=Status.AWAITING_MEDIATOR).order_by("transferred_at"),
        )
    if staff is not None and role == "mediator":
        add(
            "mine",
            _("我承办的纠纷"),
            qs.filter(mediator=staff, status__in=OPEN).order_by("due_at"),
        )
    if staff is not None and role in ("officer", "auxiliary"):
        add("onsite", _("我首接的纠纷"), qs.filter(first_officer=staff, status__in=OPEN).order_by("due_at"))
    add("overdue", _("超期未结"), qs.filter(overdue_q(now)).order_by("due_at"))
    add(
        "reply_overdue",
        _("上报或移交后答复逾期"),
        qs.filter(
            status__in=(Status.STREET, Status.REFERRED),
            referrals__replied_on__isnull=True,
            referrals__reply_due__lt=today,
        )
        .distinct()
        .order_by("received_at"),
    )
    add(
        "violence",
        _("有暴力风险的在办纠纷"),
        qs.filter(status__in=OPEN, violence_risk=True).order_by("-received_at"),
    )
    add(
        "follow_up",
        _("待回访"),
        qs.filter(
            follow_up_due__isnull=False, follow_up_due__lte=today + dt.timedelta(days=FOLLOW_UP_WARN_DAYS)
        ).order_by("follow_up_due"),
    )
    confirm = (
        territory.filter(Agreement.objects.select_related("dispute"))
        .filter(
            superseded=False,
            confirm_by__gte=today,
            confirm_by__lte=today + dt.timedelta(days=CONFIRM_WARN_DAYS),
        )
        .order_by("confirm_by")[:50]
    )
    duty = []
    for station in territory.stations().order_by("code")[:20]:
        duty.append((station, rota.duty_mediator(station.pk, today)))
    return render(
        request,
        "mediation/index.html",
        {
            "sections": sections,
            "confirm": confirm,
            "duty": duty,
            "today": today,
            "can_take": access.may_take(user),
        },
    )


@login_required
def dispute_list(request):
    user = request.user
    access.require_view(user)
    now = timezone.now()
    qs = access.disputes_for(user).order_by("-received_at", "-id")
    filterset = DisputeFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = decorate(list(page.object_list), now)
    return render(
        request,
        "mediation/list.html",
        {
            "filter": filterset,
            "page": page,
            "overdue_count": access.disputes_for(user).filter(overdue_q(now)).count(),
        },
    )


# --- intake --------------------------------------------------------------------------------------------------
def _intake_from(request):
    """The service-desk item a new dispute comes from (?intake=<pk>), if any and visible."""
    raw = request.GET.get("intake") or request.POST.get("intake")
    if not raw:
        return None
    from doorstep.desk import selectors as desk_selectors

    try:
        pk = int(raw)
    except ValueError as exc:
        raise Http404 from exc
    return desk_selectors.get_intake_for(request.user, pk)


def _alarm_from(request):
    """The one-click alarm a new dispute was found at (?alarm=<pk>), if any and visible."""
    raw = request.GET.get("alarm") or request.POST.get("alarm")
    if not raw:
        return None
    from doorstep.alarms.models import Alarm

    try:
        pk = int(raw)
    except ValueError as exc:
        raise Http404 from exc
    if not 0 < pk < access.MAX_PK:
        raise Http404
    alarm = (
        Territory.for_user(request.user)
        .filter(Alarm.objects.select_related("unit", "grid", "device"))
        .filter(pk=pk, is_drill=False)
        .first()
    )
    if alarm is None:
        raise Http404
    return alarm


@login_required
def dispute_new(request):
    user = request.user
    access.require_view(user)
    if not access.may_take(user):
        raise PermissionDenied(_("只有本所民警、协勤员、所长、调度员或调解员可以受理矛盾纠纷"))
    territory = Territory.for_user(user)
    intake = _intake_from(request)
    alarm = None if intake is not None else _alarm_from(request)
    communities = territory.communities().order_by("code")
    grids = territory.grids().order_by("code")
    initial: dict[str, Any] = {}
    if intake is not None:
        initial = {
            "community": intake.room.community_id,
            "place": intake.place or intake.address_text or intake.room.name,
            "facts": intake.summary,
            "source": "desk",
            "p0_side": "A",
            "p0_name": intake.applicant_name,
            "p1_side": "B",
            "p1_name": intake.other_party,
        }
    elif alarm is not None:
        initial = {
            "community": alarm.grid.community_id,
            "grid": alarm.grid_id,
            "place": f"{alarm.unit.name} {alarm.device.location}".strip(),
            "occurred_at": timezone.localtime(alarm.pressed_at).replace(second=0, microsecond=0),
            "source": "alarm",
        }
    else:
        posts = territory.grids()
        if territory.scope == "grid" and posts.count() == 1:
            grid = posts.get()
            initial = {"community": grid.community_id, "grid": grid.pk}
    form = DisputeForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        communities=communities,
        grids=grids,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kwargs = {
            "dispute_type": data["dispute_type"],
            "parties": form.parties(),
            "by": user,
            "procedure": data["procedure"],
            "grid": data.get("grid"),
            "occurred_at": data.get("occurred_at"),
            "involved_count": data.get("involved_count"),
            "risk": data["risk"],
            "violence_risk": data["violence_risk"],
            "place": data["place"],
            "facts": data["facts"],
        }
        try:
            if intake is not None:
                if intake.room.community_id != data["community"].pk:
                    raise ServiceError(_("服务台受理的纠纷须登记在该警务室所在社区"), code="community")
                dispute = services.create_from_intake(intake, **kwargs)
            elif alarm is not None:
                dispute = services.create_dispute(
                    community=data["community"], source="alarm", alarm=alarm, **kwargs
                )
            else:
                dispute = services.create_dispute(
                    community=data["community"], source=data["source"], **kwargs
                )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已受理，纠纷编号 %(no)s") % {"no": dispute.number})
            return redirect("mediation:detail", pk=dispute.pk)
    return _private(render(request, "mediation/new.html", {"form": form, "intake": intake, "alarm": alarm}))


# --- the case ------------------------------------------------------------------------------------------------
@login_required
def detail(request, pk: int):
    user = request.user
    dispute = access.get_dispute_for(user, pk)
    now = timezone.now()
    decorate([dispute], now)
    parties = list(dispute.parties.select_related("person"))
    revealed: dict[int, dict[str, str]] = {}
    reveal_form = None
    if privacy.may_reveal(user):
        reveal_form = RevealForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and reveal_form.is_valid():
            try:
                for p in parties:
                    wanted = [f for f in ("id_number", "phone") if getattr(p, f)]
                    if wanted:
                        revealed[p.pk] = privacy.reveal(
                            user, p, wanted, purpose=reveal_form.cleaned_data["purpose"]
                        )
                reveal_form = RevealForm()
            except ServiceError as exc:
                reveal_form.add_error(None, str(exc))
    elif request.method == "POST":
        raise PermissionDenied(_("您的角色无权查看完整信息"))
    for p in parties:
        shown = revealed.get(p.pk, {})
        p.shown_id = shown.get("id_number") or mask_citizen_id(p.id_number)
        p.shown_phone = shown.get("phone") or mask_phone(p.phone)
    station_id = dispute.station_id
    in_area = Territory.for_user(user).contains(dispute)
    can_field = access.may_field(user, station_id) and in_area
    can_room = access.may_room(user, station_id)
    can_manage = access.may_manage(user, station_id)
    status = dispute.status
    today = timezone.localtime(now).date()
    agreement = dispute.agreements.filter(superseded=False).first()
    referrals = list(dispute.referrals.all())
    open_referral = next(
        (r for r in reversed(referrals) if r.replied_on is None and r.level == dispute.level), None
    )
    context = {
        "dispute": dispute,
        "parties": parties,
        "revealed": bool(revealed),
        "reveal_form": reveal_form,
        "steps": [(s, services.ACTION_LABELS.get(s.action, s.action)) for s in dispute.steps.all()],
        "sessions": list(dispute.sessions.all()),
        "agreement": agreement,
        "old_agreements": list(dispute.agreements.filter(superseded=True)),
        "referrals": referrals,
        "open_referral": open_referral,
        "follow_ups": list(dispute.follow_ups.all()),
        "today": today,
        "confirm_left": (agreement.confirm_by - today).days if agreement else None,
        "show_onsite": status == Status.ONSITE and can_field,
        "show_assign": status in (Status.AWAITING_MEDIATOR, Status.IN_ROOM) and can_manage,
        "show_session": status in services.ROOM_STATES
        and (can_room or (status == Status.ONSITE and can_field)),
        "show_conclude": status in services.ROOM_STATES
        and (can_room or (status == Status.ONSITE and can_field)),
        "show_escalate": status in (Status.ONSITE, Status.AWAITING_MEDIATOR, Status.IN_ROOM)
        and (can_room or (status == Status.ONSITE and can_field)),
        "show_refer": status not in CLOSED
        and status != Status.REFERRED
        and (can_room or (status == Status.ONSITE and can_field)),
        "show_reply": open_referral is not None and can_room,
        "show_follow_up": status in CLOSED and (can_field or can_room),
        "note_form": NoteForm(),
        "assign_form": AssignForm(
            mediators=Staff.objects.filter(pk__in=[m.pk for m in rota.mediators_of(station_id)])
        ),
        "session_form": SessionForm(
            initial={"held_at": timezone.localtime(now).replace(second=0, microsecond=0)}
        ),
        "reason_form": ReasonForm(),
        "escalate_form": EscalateForm(),
        "refer_form": ReferForm(),
        "reply_form": ReplyForm(initial={"replied_on": today}),
        "follow_form": FollowUpForm(initial={"visited_on": today}),
        "level_street": Level.STREET,
    }
    return _private(render(request, "mediation/detail.html", context))


def _act(request, pk: int, fn, success: str):
    """Run one service action on a dispute; a refusal is a message, a role that may not is a 403."""
    dispute = access.get_dispute_for(request.user, pk)
    try:
        fn(dispute)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("mediation:detail", pk=dispute.pk)


def _with_form(request, pk: int, form, fn, success: str):
    if not form.is_valid():
        access.get_dispute_for(request.user, pk)  # 404 first for what the user may not see
        messages.error(request, form_errors_text(form))
        return redirect("mediation:detail", pk=pk)
    return _act(request, pk, lambda d: fn(d, form.cleaned_data), success)


@login_required
@require_POST
def onsite(request, pk: int):
    form = NoteForm(request.POST)
    outcome = request.POST.get("outcome", "")
    if outcome not in ("settled", "transfer", "failed"):
        access.get_dispute_for(request.user, pk)
        messages.error(request, _("未知的操作"))
        return redirect("mediation:detail", pk=pk)
    success = {
        "settled": _("已记录：现场调解成功，纠纷结案"),
        "transfer": _("已记录现场调解，并移交驻所调解室"),
        "failed": _("已记录现场调解"),
    }[outcome]
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.record_onsite(
            d, settled=outcome == "settled", transfer=outcome == "transfer", note=c["note"], by=request.user
        ),
        success,
    )


@login_required
@require_POST
def assign(request, pk: int):
    dispute = access.get_dispute_for(request.user, pk)
    mediators = Staff.objects.filter(pk__in=[m.pk for m in rota.mediators_of(dispute.station_id)])
    form = AssignForm(request.POST, mediators=mediators)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.assign(d, c["mediator"], by=request.user, note=c["note"]),
        _("已分派调解员"),
    )


@login_required
@require_POST
def session(request, pk: int):
    form = SessionForm(request.POST)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.add_session(
            d,
            held_at=c["held_at"],
            place=c["place"],
            attendees=c["attendees"],
            notes=c["notes"],
            by=request.user,
        ),
        _("已记录调解情况"),
    )


@login_required
def agreement_new(request, pk: int):
    """达成协议: the agreement form (a page of its own: it is long), then the PDF."""
    user = request.user
    dispute = access.get_dispute_for(user, pk)
    if dispute.status not in services.ROOM_STATES:
        messages.error(
            request, _("当前状态为“%(s)s”，不能制作调解协议") % {"s": dispute.get_status_display()}
        )
        return redirect("mediation:detail", pk=pk)
    initial = {"facts": dispute.facts, "signed_on": timezone.localdate()}
    form = AgreementForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement = services.conclude_with_agreement(
                dispute,
                facts=data["facts"],
                issues=data["issues"],
                responsibilities=data["responsibilities"],
                terms=form.terms(),
                signed_on=data["signed_on"],
                by=user,
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("调解协议书 %(no)s 已生成，纠纷结案") % {"no": agreement.number})
            return redirect("mediation:detail", pk=pk)
    return _private(render(request, "mediation/agreement_form.html", {"dispute": dispute, "form": form}))


@login_required
@require_POST
def no_agreement(request, pk: int):
    form = ReasonForm(request.POST)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.conclude_without_agreement(d, reason=c["reason"], by=request.user),
        _("已结案：调解不成"),
    )


@login_required
@require_POST
def escalate(request, pk: int):
    form = EscalateForm(request.POST)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.escalate_to_street(
            d, reason=c["reason"], body=c["body"], contact=c["contact"], by=request.user
        ),
        _("已上报街道"),
    )


@login_required
@require_POST
def refer(request, pk: int):
    form = ReferForm(request.POST)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.refer(
            d,
            body=c["body"],
            reason=c["reason"],
            contact=c["contact"],
            reply_due=c.get("reply_due"),
            by=request.user,
        ),
        _("已移交职能部门"),
    )


@login_required
@require_POST
def reply(request, pk: int, rid: int):
    dispute = access.get_dispute_for(request.user, pk)
    referral = get_object_or_404(Referral, pk=rid, dispute=dispute) if rid < access.MAX_PK else None
    if referral is None:
        raise Http404
    form = ReplyForm(request.POST)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.record_reply(
            referral, replied_on=c["replied_on"], reply=c["reply"], outcome=c["outcome"], by=request.user
        ),
        _("已登记答复"),
    )


@login_required
@require_POST
def follow_up(request, pk: int):
    form = FollowUpForm(request.POST)
    return _with_form(
        request,
        pk,
        form,
        lambda d, c: services.record_follow_up(
            d, visited_on=c["visited_on"], kept=c["kept"], note=c["note"], reopen=c["reopen"], by=request.user
        ),
        _("已记录回访"),
    )


@login_required
def agreement_pdf(request, pk: int, aid: int):
    """The stored agreement PDF; each download is an export in the personal-data access log."""
    user = request.user
    dispute = access.get_dispute_for(user, pk)
    if aid >= access.MAX_PK:
        raise Http404
    agreement = get_object_or_404(Agreement, pk=aid, dispute=dispute)
    if not agreement.pdf or not default_storage.exists(agreement.pdf.name):
        raise Http404
    record_access(
        user,
        AccessKind.EXPORT,
        "mediation.agreement",
        [agreement.pk],
        fields=["masked"],
        purpose=_("下载调解协议书"),
    )
    response = FileResponse(
        default_storage.open(agreement.pdf.name, "rb"),
        content_type="application/pdf",
        as_attachment=request.GET.get("download") == "1",
        filename=f"agreement-{agreement.pk}.pdf",
    )
    return _private(response)


# --- dispute types -------------------------------------------------------------------------------------------
@login_required
def type_list(request):
    access.require_view(request.user)
    types = DisputeType.objects.annotate(n=Count("disputes")).order_by("position", "name")
    return render(
        request, "mediation/types.html", {"types": types, "can_edit": access.may_admin(request.user)}
    )


@login_required
def type_edit(request, pk: int | None = None):
    user = request.user
    access.require_view(user)
    if not access.may_admin(user):
        raise PermissionDenied(_("纠纷类型全分局通用，只有系统管理员可以维护"))
    obj = None
    if pk is not None:
        if pk >= access.MAX_PK:
            raise Http404
        obj = get_object_or_404(DisputeType, pk=pk)
    initial = {"name": obj.name, "position": obj.position, "active": obj.active} if obj else {"active": True}
    form = TypeForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_type(dispute_type=obj, by=user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("纠纷类型已保存"))
            return redirect("mediation:types")
    title = _("新增纠纷类型") if obj is None else _("修改纠纷类型")
    return render(request, "mediation/type_form.html", {"form": form, "title": title})


# --- statistics ----------------------------------------------------------------------------------------------
@login_required
def statistics(request):
    """调解统计: the period's figures and the breakdowns; every number links to the list of its disputes."""
    from urllib.parse import urlencode

    from doorstep.mediation import stats
    from doorstep.mediation.forms import StatsForm

    user = request.user
    access.require_view(user)
    today = timezone.localdate()
    form = StatsForm(request.GET or None, initial={"start": today.replace(day=1), "end": today})
    start, end = today.replace(day=1), today
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    qs = access.disputes_for(user).filter(received_at__date__gte=start, received_at__date__lte=end)
    base = {"received_from": start.isoformat(), "received_to": end.isoformat()}

    def link(**extra) -> str:
        return "?" + urlencode({**base, **{k: v for k, v in extra.items() if v is not None}})

    dimension = request.GET.get("by", "type")
    if dimension not in stats.DIMENSIONS:
        dimension = "type"
    param = stats.FILTER_PARAM[dimension]
    rows = stats.breakdown(qs, dimension)
    for r in rows:
        key = r["key"] if r["key"] is not None else None
        r["links"] = {
            "accepted": link(**{param: key}) if key is not None else None,
            "settled": link(**{param: key, "status": Status.SETTLED}) if key is not None else None,
        }
    return render(
        request,
        "mediation/stats.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "total": stats.summary(qs),
            "rows": rows,
            "dimension": dimension,
            "dimensions": [
                ("type", _("按类型")),
                ("community", _("按社区")),
                ("grid", _("按网格")),
                ("officer", _("按首接民警")),
                ("mediator", _("按调解员")),
            ],
            "links": {
                "accepted": link(),
                "settled": link(status=Status.SETTLED),
                "onsite": link(status=Status.SETTLED, settled_by="onsite"),
                "room": link(status=Status.SETTLED, settled_by="room"),
                "street": link(status=Status.SETTLED, settled_by="street"),
                "department": link(status=Status.SETTLED, settled_by="department"),
                "failed": link(status=Status.FAILED),
                "open": link(state="open"),
            },
            "period": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
        },
    )
