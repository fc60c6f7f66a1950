"""Pages of the police-room service desk: room desk, intake, item detail and actions, receipt, station list,
lookup by receipt number, business types.

Reads through `selectors` (404 outside the territory or for roles without the desk); writes through
`services` (a role that sees but may not act gets a 403 with a Chinese reason). ID numbers and phones are
masked; officers and directors may reveal them for one item with a stated purpose (POST, audited), and the
full values appear only in that response (`Cache-Control: no-store`). The receipt lookup and the list's text
search are POSTs, so names, receipt and case numbers stay out of URLs and access logs.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.core.errors import ServiceError
from doorstep.core.forms import form_errors_text, style
from doorstep.core.masking import mask_citizen_id, mask_phone
from doorstep.desk import selectors, services
from doorstep.desk.choices import CLOSED, STATUS_BADGES, IntakeKind, IntakeStatus
from doorstep.desk.forms import (
    AssignForm,
    BusinessTypeForm,
    DocumentsForm,
    IntakeFilterSet,
    IntakeForm,
    LookupForm,
    NoteForm,
)
from doorstep.desk.models import BusinessType
from doorstep.mediation import access as mediation_access
from doorstep.org.territory import Territory
from doorstep.patrol import runs as patrol_runs
from doorstep.registry import privacy
from doorstep.registry.forms import RevealForm

PER_PAGE = 50
LIST_FILTERS = ("room", "kind", "status", "owner", "overdue")  # the list's filters that may go in a URL
SEARCH_SESSION_KEY = "desk.list_search"
SEARCH_KEPT = 10  # list searches remembered per session (one per open tab is plenty)
SEARCH_MAX = 50
KIND_ICONS = {IntakeKind.HOUSEHOLD: "id", IntakeKind.CASE: "alert-triangle", IntakeKind.DISPUTE: "users"}
ACTIONS = {  # action → (label, button class, note required)
    "start": (gettext_lazy("开始办理"), "btn-primary", False),
    "request_documents": (gettext_lazy("通知补充材料"), "btn-warning", False),
    "complete": (gettext_lazy("办结"), "btn-success", False),
    "transfer": (gettext_lazy("转交"), "btn-outline-secondary", True),
    "reject": (gettext_lazy("不予受理"), "btn-outline-danger", True),
}


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _decorate(rows, now: dt.datetime):
    for item in rows:
        item.badge = STATUS_BADGES.get(item.status, "bg-secondary-lt")
        item.is_overdue = item.status in {
            IntakeStatus.RECEIVED,
            IntakeStatus.IN_PROGRESS,
            IntakeStatus.PENDING_MEDIATION,
        } and bool(item.due_at and item.due_at < now)
        item.shown_id = mask_citizen_id(item.id_number)
        item.icon = KIND_ICONS.get(item.kind, "file")
    return rows


def _today_start(now: dt.datetime) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localtime(now).date(), dt.time()))


def _require_actor(user: Any, station_id: int) -> None:
    if not selectors.may_act(user, station_id):
        raise PermissionDenied(_("只有本所民警、协勤员、所长或调度员可以办理服务台业务"))


# --- rooms ---------------------------------------------------------------------------------------------------
@login_required
def index(request):
    """The rooms of the user's territory with open, overdue and today's counts."""
    user = request.user
    selectors.require_view(user)
    now = timezone.now()
    rooms = list(selectors.room_counts(selectors.rooms_for(user), now, _today_start(now)))
    if len(rooms) == 1 and selectors.may_act(user):
        return redirect("desk:room", pk=rooms[0].pk)
    return render(
        request,
        "desk/index.html",
        {"rooms": rooms, "lookup_form": LookupForm(), "overdue_total": sum(r.overdue_count for r in rooms)},
    )


@login_required
def room(request, pk: int):
    """The desk of one police room: new-intake buttons, today's queue and everything still open."""
    user = request.user
    room = selectors.get_room_for(user, pk)
    now = timezone.now()
    qs = selectors.intakes_for(user).filter(room=room)
    today = _decorate(list(qs.filter(received_at__gte=_today_start(now)).order_by("received_at", "id")), now)
    open_items = _decorate(
        list(
            qs.exclude(status__in=CLOSED)
            .filter(received_at__lt=_today_start(now))
            .order_by("due_at", "id")[:100]
        ),
        now,
    )
    counts = selectors.room_counts(selectors.rooms_for(user).filter(pk=room.pk), now, _today_start(now)).get()
    return render(
        request,
        "desk/room.html",
        {
            "room": room,
            "today": today,
            "open_items": open_items,
            "counts": counts,
            "kinds": [(k.value, k.label, KIND_ICONS[k]) for k in IntakeKind],
            "can_act": selectors.may_act(user, room.community.station_id),
            "lookup_form": LookupForm(),
            "patrol_incidents": list(
                patrol_runs.incidents_awaiting_desk(user)
                .filter(patrol__community_id=room.community_id)
                .order_by("at")[:20]
            ),
        },
    )


@login_required
def intake_new(request, pk: int, kind: str):
    user = request.user
    room = selectors.get_room_for(user, pk)
    if kind not in IntakeKind.values:
        raise Http404
    _require_actor(user, room.community.station_id)
    finding = _finding_for_case(request, room) if kind == IntakeKind.CASE else None
    initial = {}
    if finding is not None:
        initial = {
            "occurred_at": timezone.localtime(finding.at).replace(second=0, microsecond=0),
            "place": finding.patrol.grid.name if finding.patrol.grid_id else room.community.name,
            "summary": finding.note,
        }
    types = selectors.business_types().order_by("position", "name")
    form = IntakeForm(
        request.POST if request.method == "POST" else None, kind=kind, types=types, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            intake = services.create_intake(
                room=room,
                kind=kind,
                applicant_name=data["applicant_name"],
                id_number=data["id_number"],
                phone=data.get("phone", ""),
                business_type=data.get("business_type"),
                received_documents=data.get("received_documents", ()),
                address_text=data.get("address_text", ""),
                summary=data.get("summary", ""),
                occurred_at=data.get("occurred_at"),
                place=data.get("place", ""),
                other_party=data.get("other_party", ""),
                by=user,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已受理，回执号 %(no)s") % {"no": intake.receipt_no})
            if finding is not None:
                try:
                    patrol_runs.link_intake(finding, intake, by=user)
                except ServiceError as exc:  # taken in by someone else meanwhile: the case stands, say so
                    messages.warning(request, str(exc))
            return redirect("desk:receipt", pk=intake.pk)
    type_docs = {str(bt.pk): bt.documents for bt in types}
    return _private(
        render(
            request,
            "desk/intake_form.html",
            {
                "room": room,
                "form": form,
                "kind": kind,
                "kind_label": IntakeKind(kind).label,
                "type_docs": type_docs,
                "type_limits": {str(bt.pk): bt.limit_label for bt in types},
                "finding": finding,
            },
        )
    )


def _finding_for_case(request, room):
    """An incident found on patrol in this room's community that the desk takes in as a case (?finding=)."""
    raw = request.GET.get("finding") or request.POST.get("finding")
    if not raw:
        return None
    try:
        finding = patrol_runs.get_finding_for(request.user, int(raw))
    except ValueError as exc:
        raise Http404 from exc
    if finding.patrol.community_id != room.community_id:
        raise Http404
    return finding


# --- items ---------------------------------------------------------------------------------------------------
@login_required
def item(request, pk: int):
    user = request.user
    intake = selectors.get_intake_for(user, pk)
    now = timezone.now()
    _decorate([intake], now)
    revealed: dict[str, str] = {}
    reveal_form = None
    if privacy.may_reveal(user):
        reveal_form = RevealForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and reveal_form.is_valid():
            try:
                wanted = [f for f in ("id_number", "phone") if getattr(intake, f)]
                revealed = privacy.reveal(user, intake, wanted, purpose=reveal_form.cleaned_data["purpose"])
                reveal_form = RevealForm()
            except ServiceError as exc:
                reveal_form.add_error(None, str(exc))
    elif request.method == "POST":
        raise PermissionDenied(_("您的角色无权查看完整信息"))
    can_act = selectors.may_act(user, intake.station_id)
    actions = []
    if can_act:
        for action, (label, css, note_required) in ACTIONS.items():
            sources, _target = services.TRANSITIONS[action]
            if intake.status not in sources:
                continue
            if action == "request_documents" and intake.kind != IntakeKind.HOUSEHOLD:
                continue
            actions.append({"action": action, "label": label, "css": css, "note_required": note_required})
    context = {
        "intake": intake,
        "shown": {
            "id_number": revealed.get("id_number") or mask_citizen_id(intake.id_number),
            "phone": revealed.get("phone") or mask_phone(intake.phone),
        },
        "revealed": bool(revealed),
        "reveal_form": reveal_form,
        "steps": [
            (step, services.ACTION_LABELS.get(step.action, step.action)) for step in intake.steps.all()
        ],
        "can_act": can_act,
        "actions": actions,
        "note_form": NoteForm(),
        "documents_form": DocumentsForm(intake=intake) if intake.documents else None,
        "assign_form": AssignForm(
            owners=selectors.owners_for(intake.station_id), initial={"owner": intake.owner_id}
        ),
        "closed": intake.status in CLOSED,
        "to_mediation": intake.kind == IntakeKind.DISPUTE
        and intake.status == IntakeStatus.PENDING_MEDIATION
        and mediation_access.may_take(user, intake.station_id),
        "may_approve_exception": request.user.role in (Role.DIRECTOR, Role.ADMIN)
        and Territory.for_user(request.user).manages_station(intake.station_id),
        **_incident_context(user, intake),
    }
    return _private(render(request, "desk/item.html", context))


def _incident_context(user: Any, intake: Any) -> dict[str, Any]:
    """A case (警情/案件) is registered once as an incident (发案) for the evaluation: the link to it once
    registered, else whether this user may register it (a may-record role with a grid of the case in reach)."""
    if intake.kind != IntakeKind.CASE:
        return {}
    from doorstep.evaluation import access as evaluation_access
    from doorstep.evaluation.models import Incident

    incident = Incident.objects.filter(intake=intake).first()
    if incident is not None:
        visible = evaluation_access.may_view_incidents(user) and Territory.for_user(user).contains(incident)
        return {
            "incident": incident,
            "incident_editable": visible and evaluation_access.may_record_in(user, incident.grid),
        }
    may = (
        evaluation_access.may_record_incidents(user) and evaluation_access.intake_grids(user, intake).exists()
    )
    return {"may_register_incident": may}


def _acting(request, pk: int):
    intake = selectors.get_intake_for(request.user, pk)
    _require_actor(request.user, intake.station_id)
    return intake


@login_required
@require_POST
def item_transition(request, pk: int):
    intake = _acting(request, pk)
    action = request.POST.get("action", "")
    form = NoteForm(request.POST)
    if action not in services.TRANSITIONS:
        messages.error(request, _("未知的操作"))
    elif not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        try:
            services.transition(intake, action, by=request.user, note=form.cleaned_data["note"])
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已%(action)s") % {"action": services.ACTION_LABELS[action]})
    return redirect("desk:item", pk=intake.pk)


@login_required
@require_POST
def item_documents(request, pk: int):
    intake = _acting(request, pk)
    form = DocumentsForm(request.POST, intake=intake)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        try:
            services.supply_documents(
                intake, form.cleaned_data["received"], by=request.user, note=form.cleaned_data["note"]
            )
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("材料清单已更新"))
    return redirect("desk:item", pk=intake.pk)


@login_required
@require_POST
def item_assign(request, pk: int):
    intake = _acting(request, pk)
    form = AssignForm(request.POST, owners=selectors.owners_for(intake.station_id))
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        try:
            services.assign(
                intake,
                form.cleaned_data["owner"],
                by=request.user,
                note=form.cleaned_data["note"],
                exception_reason=form.cleaned_data["exception_reason"],
            )
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已指定承办人"))
    return redirect("desk:item", pk=intake.pk)


@login_required
def receipt(request, pk: int):
    """The printable receipt (回执) for the resident: masked identifiers, documents, time limit."""
    intake = selectors.get_intake_for(request.user, pk)
    _decorate([intake], timezone.now())
    return _private(
        render(
            request,
            "desk/receipt.html",
            {
                "intake": intake,
                "shown_phone": mask_phone(intake.phone),
                "case": intake.kind == IntakeKind.CASE,
            },
        )
    )


# --- station list and lookup ---------------------------------------------------------------------------------
def _remember_search(request, text: str) -> str:
    """Keep a list search's text in the session under a fresh opaque token, and return the token."""
    saved = dict(request.session.get(SEARCH_SESSION_KEY) or {})
    while len(saved) >= SEARCH_KEPT:
        saved.pop(next(iter(saved)))  # the oldest (dicts keep insertion order, also through the session)
    token = secrets.token_urlsafe(8)
    saved[token] = text
    request.session[SEARCH_SESSION_KEY] = saved
    return token


def _list_url(params: dict[str, str]) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("desk:item_list") + (f"?{query}" if query else "")


@login_required
def item_list(request):
    """The station-wide list. The text box finds names, receipt and case numbers, so it is never in a URL:
    the filter form is POSTed, its text is kept in the session under an opaque token, and the redirect, the
    pagination and every other link carry only the token (`s`) and the plain filters (room, kind, …)."""
    user = request.user
    selectors.require_view(user)
    if request.method == "POST":
        params = {k: request.POST.get(k, "").strip()[:40] for k in LIST_FILTERS}
        text = request.POST.get("q", "").strip()[:SEARCH_MAX]
        if text:
            params["s"] = _remember_search(request, text)
        return redirect(_list_url(params))
    now = timezone.now()
    qs = selectors.intakes_for(user).order_by("-received_at", "-id")
    data = {k: request.GET[k] for k in LIST_FILTERS if request.GET.get(k)}
    token = request.GET.get("s", "")
    text = (request.session.get(SEARCH_SESSION_KEY) or {}).get(token) if token else None
    if text:
        data["q"] = text
    else:
        token = ""  # an unknown or expired token: the list without the text search
    filterset = IntakeFilterSet(data or None, queryset=qs, request=request)
    style(filterset.form)
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _decorate(list(page.object_list), now)
    query = {k: v for k, v in data.items() if k != "q"}
    if token:
        query["s"] = token
    return _private(
        render(
            request,
            "desk/item_list.html",
            {
                "filter": filterset,
                "page": page,
                "query": urlencode(query),
                "overdue_count": selectors.intakes_for(user).filter(selectors.overdue_q(now)).count(),
            },
        )
    )


@login_required
@require_POST
def lookup(request):
    user = request.user
    selectors.require_view(user)
    form = LookupForm(request.POST)
    if form.is_valid():
        from doorstep.desk.rules import legacy_receipt_no, normalise_receipt_no

        typed = form.cleaned_data["receipt_no"]
        # A number failing the current check may still be one issued before #7 (first check algorithm):
        # it is then only ever an exact match on a stored number, see desk.rules.
        number = normalise_receipt_no(typed) or legacy_receipt_no(typed)
        if number is None:
            messages.error(request, _("回执号格式或校验位不正确，请核对"))
        else:
            found = selectors.intakes_for(user).filter(receipt_no=number).first()
            if found is not None:
                return redirect("desk:item", pk=found.pk)
            messages.error(request, _("未找到该回执号的事项（或不在您的辖区）"))
    else:
        messages.error(request, _("请输入回执号"))
    return redirect("desk:index")


# --- business types ------------------------------------------------------------------------------------------
def _require_type_admin(user: Any) -> None:
    selectors.require_view(user)
    if not selectors.may_admin_types(user):
        raise PermissionDenied(_("业务类型全分局通用，只有分局领导或系统管理员可以维护"))


@login_required
def type_list(request):
    selectors.require_view(request.user)
    return render(
        request,
        "desk/type_list.html",
        {
            "types": selectors.business_types(active_only=False).order_by("position", "name"),
            "can_edit": selectors.may_admin_types(request.user),
        },
    )


def _type_form(request, bt: BusinessType | None):
    user = request.user
    _require_type_admin(user)
    initial = {}
    if bt is not None:
        initial = {
            "name": bt.name,
            "documents": "\n".join(bt.documents),
            "instant": bt.instant,
            "time_limit": bt.time_limit,
            "limit_unit": bt.limit_unit,
            "position": bt.position,
            "active": bt.active,
        }
    form = BusinessTypeForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if bt is None:
                services.create_business_type(by=user, **form.cleaned_data)
            else:
                services.update_business_type(bt, by=user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("业务类型已保存"))
            return redirect("desk:type_list")
    title = _("新增业务类型") if bt is None else _("修改业务类型")
    return render(
        request,
        "desk/type_form.html",
        {"form": form, "title": title, "bt": bt},
    )


@login_required
def type_new(request):
    return _type_form(request, None)


@login_required
def type_edit(request, pk: int):
    selectors.require_view(request.user)
    bt = BusinessType.objects.filter(pk=pk).first() if pk < selectors.MAX_PK else None
    if bt is None:
        raise Http404
    return _type_form(request, bt)
