"""Staff pages of 网上受理 (/online/...): the queue of what residents sent, one item with its actions
(accept, reply, finish, refuse, hand to mediation), its tip photo, the reveal of the resident's phone, and
the appointment slots of the police rooms in the user's territory.

Reads are scoped with portal.access (404 outside the territory); writes go through portal.services (a
visible item the role may not act on is a 403 with a Chinese reason). Phones are masked unless revealed
through registry.privacy (audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.ids import id_param
from doorstep.core.masking import mask_phone
from doorstep.core.photos import private_file_response
from doorstep.org.models import Community, PoliceRoom
from doorstep.org.territory import Territory
from doorstep.portal import access, forms, receipts, services
from doorstep.portal.choices import Kind, Status
from doorstep.portal.models import AppointmentSlot
from doorstep.portal.submit_pages import resident_status
from doorstep.registry import privacy
from doorstep.registry.forms import RevealForm

PER_PAGE = 50
SLOT_DAYS = 14


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _communities(user: Any) -> Any:
    return Territory.for_user(user).filter(Community.objects.all()).order_by("code")


def _item(request: HttpRequest, pk: str) -> Any:
    item_id = id_param(pk)
    if item_id is None:
        raise Http404
    item = (
        access.submissions_for(request.user)
        .select_related("slot", "dispute", "handled_by")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404
    return item


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """网上受理: newest first, filtered by status, kind and community; counts of 待受理 per kind."""
    qs = access.submissions_for(request.user)
    filters = forms.QueueFilterForm(request.GET or None, communities=_communities(request.user))
    counts = dict(
        qs.filter(status=Status.NEW)
        .order_by()
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    new_counts = [(value, label, counts.get(value, 0)) for value, label in Kind.choices]
    rows = qs
    if filters.is_bound and filters.is_valid():
        data = filters.cleaned_data
        if data.get("status"):
            rows = rows.filter(status=data["status"])
        if data.get("kind"):
            rows = rows.filter(kind=data["kind"])
        if data.get("community"):
            rows = rows.filter(community=data["community"])
    page = Paginator(rows.order_by("-submitted_at", "-id"), PER_PAGE).get_page(request.GET.get("page"))
    for item in page.object_list:
        item.phone_masked = mask_phone(item.phone)
    query = request.GET.copy()
    query.pop("page", None)
    return _private(
        render(
            request,
            "portal/inbox_index.html",
            {
                "active_tab": "queue",
                "filters": filters,
                "page": page,
                "new_counts": new_counts,
                "query": query.urlencode(),
            },
        )
    )


def _forms(request: HttpRequest, item: Any, data: Any = None, which: str = "") -> dict[str, Any]:
    communities = _communities(request.user)
    other = item.other_party
    return {
        "reply_form": forms.ReplyForm(data if which == "reply" else None, prefix="reply"),
        "finish_form": forms.ReplyForm(data if which == "finish" else None, prefix="finish"),
        "reject_form": forms.RejectForm(data if which == "reject" else None, prefix="reject"),
        "mediation_form": forms.MediationForm(
            data if which == "mediate" else None,
            prefix="mediate",
            communities=communities,
            initial={"other_party": other, "place": item.address_text},
        ),
        "reveal_form": RevealForm(data if which == "reveal" else None, prefix="reveal"),
        "place_form": forms.PlaceForm(
            data if which == "place" else None,
            prefix="place",
            communities=_place_communities(request.user, item),
        ),
    }


def _place_communities(user: Any, item: Any) -> Any:
    """Where the user may put the item: any community for an item placed nowhere, else its station's."""
    communities = Community.objects.all() if item.station_id is None else _communities(user)
    if item.station_id is not None:
        communities = communities.filter(station_id=item.station_id)
    return communities.order_by("code")


@login_required
@require_http_methods(["GET", "POST"])
def item_detail(request: HttpRequest, pk: str) -> HttpResponse:
    """One item: what the resident sent (phone masked), where it stands, and the actions the user may take."""
    item = _item(request, pk)
    user = request.user
    can_handle = access.may_handle(user, item)
    can_reveal = privacy.may_reveal(user) and bool(item.phone)
    revealed: str | None = None
    action = request.POST.get("action", "") if request.method == "POST" else ""
    ctx_forms = _forms(request, item, request.POST if action else None, action)
    if action == "reveal":
        if not can_reveal:
            raise PermissionDenied(_("您的角色无权查看完整信息"))
        form = ctx_forms["reveal_form"]
        if form.is_valid():
            try:
                revealed = privacy.reveal(user, item, ["phone"], purpose=form.cleaned_data["purpose"])[
                    "phone"
                ]
            except NotAllowed as exc:
                raise PermissionDenied(str(exc)) from exc
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                ctx_forms["reveal_form"] = RevealForm(prefix="reveal")
    elif action:
        if not can_handle:
            raise PermissionDenied(_("您无权处理该事项"))
        done = _act(request, item, action, ctx_forms)
        if done:
            return redirect("online:item", pk=item.pk)
    photo_url = None
    slot = item.slot
    context = {
        "active_tab": "queue",
        "item": item,
        "code": receipts.display(item.receipt_code),
        "phone_masked": mask_phone(item.phone),
        "revealed_phone": revealed,
        "can_handle": can_handle and item.status in services.LIVE,
        "can_reveal": can_reveal,
        "can_mediate": item.dispute_id is None and bool(item.name),
        "can_place": access.may_place(user, item) and item.status in services.LIVE,
        "resident_status": resident_status(item),
        "facts": item.content,
        "other_party": item.other_party,
        "photo_url": photo_url,
        "slot": slot,
        **ctx_forms,
    }
    return _private(render(request, "portal/inbox_item.html", context))


def _act(request: HttpRequest, item: Any, action: str, ctx_forms: dict[str, Any]) -> bool:
    """Run one staff action; True when done (the page redirects), False when a form shows an error."""
    user = request.user
    form_name = {
        "accept": None,
        "reply": "reply_form",
        "finish": "finish_form",
        "reject": "reject_form",
        "mediate": "mediation_form",
        "place": "place_form",
    }
    if action not in form_name:
        raise Http404
    form = ctx_forms[form_name[action]] if form_name[action] else None
    if form is not None and not form.is_valid():
        return False
    data = form.cleaned_data if form is not None else {}
    try:
        if action == "accept":
            services.accept(item, by=user)
            messages.success(request, _("已受理"))
        elif action == "reply":
            services.reply(item, by=user, text=data.get("text", ""))
            messages.success(request, _("已答复群众"))
        elif action == "finish":
            services.finish(item, by=user, text=data.get("text", ""))
            messages.success(request, _("已办结"))
        elif action == "place":
            services.place(item, by=user, community=data["community"])
            messages.success(request, _("已转派到%(name)s") % {"name": data["community"].name})
        elif action == "reject":
            services.reject(item, by=user, reason=data["reason"])
            messages.success(request, _("已不予受理"))
        else:
            dispute = services.hand_to_mediation(
                item,
                by=user,
                dispute_type=data["dispute_type"],
                other_party=data["other_party"],
                community=data.get("community"),
                place=data.get("place", ""),
            )
            messages.success(request, _("已转矛盾纠纷调解，纠纷编号 %(no)s") % {"no": dispute.number})
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        if form is None or isinstance(exc, RuleViolation):
            messages.error(request, str(exc))
            return True
        form.add_error(None, str(exc))
        return False
    return True


@login_required
def item_photo(request: HttpRequest, pk: str) -> HttpResponse:
    """The photo of a tip, to a user who may see the item."""
    item = _item(request, pk)
    if not item.photo:
        raise Http404
    try:
        return private_file_response(item.photo)
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc


# --- appointment slots ---------------------------------------------------------------------------------------
def _rooms(user: Any) -> Any:
    return (
        Territory.for_user(user)
        .filter(PoliceRoom.objects.select_related("community"))
        .order_by("community__code")
    )


@login_required
@require_http_methods(["GET", "POST"])
def slots(request: HttpRequest) -> HttpResponse:
    """预约时段: the rooms of the user's territory with their slots of the coming days, and a publish form."""
    user = request.user
    if not (access.may_view_queue(user) or access.may_publish_slots(user)):
        raise PermissionDenied(_("您的角色无权查看预约时段"))
    rooms = _rooms(user)
    publish_rooms = rooms.filter(
        community_id__in=[r.community_id for r in rooms if access.may_publish_slots(user, r.community_id)]
    )
    can_publish = access.may_publish_slots(user) and publish_rooms.exists()
    today = timezone.localdate()
    form = forms.PublishSlotsForm(
        request.POST if request.method == "POST" else None,
        rooms=publish_rooms,
        initial={"start": today + dt.timedelta(days=1), "end": today + dt.timedelta(days=14)},
    )
    if request.method == "POST":
        if not can_publish:
            raise PermissionDenied(_("您无权发布预约时段"))
        if form.is_valid():
            d = form.cleaned_data
            try:
                created, skipped = services.publish_slots(
                    by=user,
                    room=d["room"],
                    start=d["start"],
                    end=d["end"],
                    weekdays=d["weekdays"],
                    start_times=d["start_times"],
                    minutes=d["minutes"],
                    capacity=d["capacity"],
                )
            except NotAllowed as exc:
                raise PermissionDenied(str(exc)) from exc
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, _("已发布%(n)s个时段，跳过已存在的%(s)s个") % {"n": created, "s": skipped}
                )
                return redirect("online:slots")
    now = timezone.now()
    upcoming = (
        AppointmentSlot.objects.filter(
            room__in=rooms,
            starts_at__gte=now - dt.timedelta(hours=2),
            starts_at__lte=now + dt.timedelta(days=SLOT_DAYS),
        )
        .select_related("room")
        .order_by("room__community__code", "starts_at")
    )
    by_room: dict[int, list[Any]] = {}
    for slot in upcoming:
        by_room.setdefault(slot.room_id, []).append(slot)
    room_rows = [
        {
            "room": room,
            "slots": by_room.get(room.pk, []),
            "can_publish": access.may_publish_slots(user, room.community_id),
        }
        for room in rooms
    ]
    return _private(
        render(
            request,
            "portal/slots.html",
            {"active_tab": "slots", "room_rows": room_rows, "form": form, "can_publish": can_publish},
        )
    )


@login_required
@require_POST
def slot_cancel(request: HttpRequest, pk: str) -> HttpResponse:
    """Cancel one slot (its bookings are cancelled and the residents told by text message)."""
    slot_id = id_param(pk)
    if slot_id is None:
        raise Http404
    slot = (
        AppointmentSlot.objects.select_related("room")
        .filter(pk=slot_id, room__in=_rooms(request.user))
        .first()
    )
    if slot is None:
        raise Http404
    try:
        n = services.cancel_slot(slot, by=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已取消该时段，%(n)s个预约已通知群众") % {"n": n})
    return redirect("online:slots")


staff_urlpatterns = [
    path("", index, name="index"),
    path("items/<str:pk>/", item_detail, name="item"),
    path("items/<str:pk>/photo", item_photo, name="item_photo"),
    path("slots/", slots, name="slots"),
    path("slots/<str:pk>/cancel/", slot_cancel, name="slot_cancel"),
]
