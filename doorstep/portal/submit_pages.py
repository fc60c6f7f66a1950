"""Public pages of 我要办事 (/portal/...): the services hub, the forms residents send (线索举报, 办事咨询,
纠纷调解, 预约办事), the one-time code for a booking, and the receipt/status page.

No account and no session: a successful POST renders the receipt at once (the code never travels in a
URL), the status page is a POST form, and every form counts the portal's rate limits (429 with a Chinese
message, nothing saved)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from doorstep.core.errors import ServiceError
from doorstep.core.forms import form_errors_text
from doorstep.desk.models import BusinessType
from doorstep.mediation.choices import CLOSED as MEDIATION_CLOSED
from doorstep.mediation.choices import Status as MediationStatus
from doorstep.portal import forms, phones, ratelimit, receipts, services
from doorstep.portal.choices import Kind, Status, VerificationPurpose
from doorstep.portal.ratelimit import RateLimited

FORMS = {
    Kind.TIP: (forms.TipForm, "portal/submit_tip.html"),
    Kind.SERVICE: (forms.ServiceForm, "portal/submit_service.html"),
    Kind.DISPUTE: (forms.DisputeForm, "portal/submit_dispute.html"),
}


def services_hub(request: HttpRequest) -> HttpResponse:
    """我要办事: the four ways in, and what each service-desk business needs (documents, time limit)."""
    businesses = BusinessType.objects.filter(active=True)
    return render(request, "portal/services.html", {"businesses": businesses})


def _limits(request: HttpRequest, phone: str = "") -> None:
    keys: list[tuple[str, str]] = [("submit_ip", "ip")]
    if phone:
        keys.append(("submit_phone", phones.phone_hash(phone)))
    ratelimit.check(request, *keys)


def _receipt(request: HttpRequest, item: Any) -> HttpResponse:
    return render(
        request, "portal/receipt_done.html", {"item": item, "code": receipts.display(item.receipt_code)}
    )


def _submit(request: HttpRequest, kind: str) -> HttpResponse:
    form_class, template = FORMS[kind]
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _limits(request, data.get("phone", ""))
                if kind == Kind.TIP:
                    item = services.submit_tip(
                        content=data["content"],
                        occurred_at=data.get("occurred_at"),
                        photo=data.get("photo"),
                        anonymous=bool(data.get("anonymous")),
                        name=data.get("name", ""),
                        phone=data.get("phone", ""),
                        **form.location(),
                    )
                elif kind == Kind.SERVICE:
                    item = services.submit_service(
                        business_type=data["business_type"],
                        content=data["content"],
                        name=data["name"],
                        phone=data["phone"],
                        **form.location(),
                    )
                else:
                    item = services.submit_dispute(
                        content=data["content"],
                        other_party=data["other_party"],
                        name=data["name"],
                        phone=data["phone"],
                        **form.location(),
                    )
            except RateLimited as exc:
                form.add_error(None, str(exc))
                status = 429
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                return _receipt(request, item)
    else:
        form = form_class(initial=_initial_place(request.GET.get("a")))
    return render(request, template, {"form": form}, status=status)


def _initial_place(code: str | None) -> dict[str, Any]:
    """From the officer card's links (?a=<the plate code>): the building's address and community prefilled,
    and the code carried so the item lands in that grid. A bad code prefills nothing."""
    from doorstep.portal import officers

    address = officers.address_from_code(code) if code and len(code) <= 100 else None
    if address is None:
        return {}
    return {
        "address_code": code,
        "address_text": officers.building_label(address),
        "community": address.grid.community_id,
    }


@require_http_methods(["GET", "POST"])
def report_tip(request: HttpRequest) -> HttpResponse:
    return _submit(request, Kind.TIP)


@require_http_methods(["GET", "POST"])
def report_service(request: HttpRequest) -> HttpResponse:
    return _submit(request, Kind.SERVICE)


@require_http_methods(["GET", "POST"])
def report_dispute(request: HttpRequest) -> HttpResponse:
    return _submit(request, Kind.DISPUTE)


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """预约办事: choose a room (GET ?room=), then a free slot, the business, name, phone and SMS code."""
    source = request.POST if request.method == "POST" else request.GET
    room_form = forms.RoomChoiceForm(source if source.get("room") else None)
    room = room_form.cleaned_data["room"] if room_form.is_bound and room_form.is_valid() else None
    context: dict[str, Any] = {"room_form": room_form, "room": room}
    status = 200
    if room is not None:
        slots = services.bookable_slots(room).select_related("room")
        if request.method == "POST":
            form = forms.BookForm(request.POST, slots=slots)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    _limits(request, data["phone"])
                    item = services.book(
                        slot_id=data["slot"].pk,
                        business_type=data["business_type"],
                        name=data["name"],
                        phone=data["phone"],
                        code=data["code"],
                        address_text=data.get("address_text", ""),
                        address_code=data.get("address_code", ""),
                    )
                except RateLimited as exc:
                    form.add_error(None, str(exc))
                    status = 429
                except ServiceError as exc:
                    form.add_service_error(exc)
                else:
                    return _receipt(request, item)
        else:
            form = forms.BookForm(initial={"room": room.pk}, slots=slots)
        context.update(form=form, slots=slots)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/submit_book.html", context, status=status)


@require_POST
def book_code(request: HttpRequest) -> JsonResponse:
    """Text a one-time code for a booking: JSON {ok, detail}."""
    form = forms.CodeRequestForm(request.POST)
    if not form.is_valid():
        detail = form_errors_text(form)
        return JsonResponse({"ok": False, "detail": detail}, status=400)
    phone = form.cleaned_data["phone"]
    digest = phones.phone_hash(phone)
    try:
        ratelimit.check(request, ("code_ip", "ip"), ("code_phone", digest), ("code_phone_day", digest))
        phones.send_code(phone, VerificationPurpose.SUBMISSION)
    except ServiceError as exc:
        return JsonResponse({"ok": False, "detail": str(exc)}, status=exc.status)
    return JsonResponse({"ok": True, "detail": _("验证码已发送，5分钟内有效")})


# --- the status page -----------------------------------------------------------------------------------------
def resident_status(item: Any) -> str:
    """The status in the resident's words; an item handed to mediation follows its dispute."""
    dispute = item.dispute
    if dispute is not None:
        if dispute.status in MEDIATION_CLOSED:
            return str(_("已办结"))
        if dispute.status == MediationStatus.AWAITING_MEDIATOR:
            return str(_("受理中"))
        return str(_("调解中"))
    return str(item.get_status_display())


def _status_context(item: Any) -> dict[str, Any]:
    slot = item.slot
    can_cancel = (
        item.kind == Kind.APPOINTMENT
        and item.status in services.LIVE
        and slot is not None
        and slot.starts_at > timezone.now()
    )
    return {
        "item": item,
        "code": receipts.display(item.receipt_code),
        "status_label": resident_status(item),
        "done": item.status in (Status.DONE, Status.REJECTED, Status.CANCELLED),
        "can_cancel": can_cancel,
        "cancel_form": forms.CancelBookingForm(initial={"code": item.receipt_code}) if can_cancel else None,
    }


@require_http_methods(["GET", "POST"])
def receipt(request: HttpRequest) -> HttpResponse:
    """查进度: find a submission by its receipt code (POST), and cancel a booking (code + phone)."""
    context: dict[str, Any] = {}
    status = 200
    form = forms.ReceiptForm()
    if request.method == "POST":
        action = request.POST.get("action", "lookup")
        try:
            ratelimit.check(request, ("status_ip", "ip"))
        except RateLimited as exc:
            form = forms.ReceiptForm(request.POST)
            form.is_valid()
            form.add_error(None, str(exc))
            return render(request, "portal/receipt.html", {"form": form}, status=429)
        if action == "cancel":
            cancel_form = forms.CancelBookingForm(request.POST)
            if cancel_form.is_valid():
                try:
                    item = services.cancel_booking(
                        receipt_code=cancel_form.cleaned_data["code"], phone=cancel_form.cleaned_data["phone"]
                    )
                except ServiceError as exc:
                    item = services.find(cancel_form.cleaned_data["code"])
                    if item is None:
                        form = forms.ReceiptForm()
                        form.add_error(None, str(exc))
                    else:
                        context.update(_status_context(item))
                        context["cancel_form"] = cancel_form
                        cancel_form.add_service_error(exc)
                else:
                    context.update(_status_context(item))
                    context["cancelled_now"] = True
            else:
                item = services.find(request.POST.get("code"))
                if item is not None:
                    context.update(_status_context(item))
                    context["cancel_form"] = cancel_form
        else:
            form = forms.ReceiptForm(request.POST)
            if form.is_valid():
                item = services.find(form.cleaned_data["code"])
                if item is None:
                    form.add_error("code", _("未找到该回执码对应的事项，请核对后重新输入"))
                else:
                    context.update(_status_context(item))
                    form = forms.ReceiptForm()
    context["form"] = form
    return render(request, "portal/receipt.html", context, status=status)


urlpatterns = [
    path("services/", services_hub, name="services"),
    path("report/tip/", report_tip, name="report_tip"),
    path("report/service/", report_service, name="report_service"),
    path("report/dispute/", report_dispute, name="report_dispute"),
    path("book/", book, name="book"),
    path("book/code/", book_code, name="book_code"),
    path("receipt/", receipt, name="receipt"),
]
staff_urlpatterns: list = []
