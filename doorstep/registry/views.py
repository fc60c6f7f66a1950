"""Registry pages (一标三实). Reads through the scoped selectors, writes through the services.

Personal identifiers are shown masked everywhere; a full value appears only in the response to an audited
reveal (POST with a purpose), never in a URL. Persons of concern exist on these pages only for
`privacy.CONCERN_ROLES` (404 for everyone else) and every page that shows them logs the read.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.alarms import devices as alarm_devices
from doorstep.core.errors import ServiceError
from doorstep.core.ids import id_param
from doorstep.org.territory import Territory, get_in_territory
from doorstep.registry import colours, privacy, search, selectors, services
from doorstep.registry.choices import Colour, ConcernStatus, PersonCategory
from doorstep.registry.display import names_concerns, shown_reasons
from doorstep.registry.filtersets import (
    AddressFilterSet,
    HouseFilterSet,
    HouseholdFilterSet,
    PersonFilterSet,
    UnitFilterSet,
)
from doorstep.registry.forms import (
    RELATIONS,
    AddressForm,
    AddressReviewForm,
    ColourRulesForm,
    ConcernRequestForm,
    DelistForm,
    HouseForm,
    HouseholdForm,
    MembershipForm,
    PersonForm,
    ReclassForm,
    RevealForm,
    TransferForm,
    UnitForm,
    VisitForm,
    style,
)
from doorstep.registry.todo import visit_todo

PER_PAGE = 30


def _preselected(request, param: str, qs):
    """The object a "new" form starts from (`?house=12` from a house page), if the user may see it."""
    value = request.GET.get(param, "")
    return qs.filter(pk=pk).first() if (pk := id_param(value)) is not None else None


# --- helpers --------------------------------------------------------------------------------------------
def _page(request, qs, per_page: int = PER_PAGE):
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return page


def _is_writer(user) -> bool:
    return user.role in services.WRITER_ROLES


def _require_writer(user) -> None:
    """Forms that create records do not exist for roles that cannot write (as for other territories)."""
    if not _is_writer(user):
        raise Http404


def _writable_grids(user):
    return Territory.for_user(user).grids().order_by("code")


def _export_url(request, entity: str) -> str | None:
    """The import/export module's Excel export of this list with the same filters, when it is installed."""
    try:
        url = reverse("registry:export", kwargs={"entity": entity})
    except NoReverseMatch:
        return None
    query = request.GET.copy()
    query.pop("page", None)
    return f"{url}?{query.urlencode()}" if query else url


def _with_reasons(user, rows):
    for row in rows:
        row.reasons = shown_reasons(user, row.colour_reasons)
    return rows


def _masked(obj, fields, revealed: dict[str, str] | None = None) -> dict[str, str]:
    revealed = revealed or {}
    return {f: revealed.get(f) or privacy.masked(f, getattr(obj, f, "")) for f in fields}


def _reveal(request, obj, fields) -> tuple[RevealForm | None, dict[str, str]]:
    """The reveal form of a detail page; on POST, the audited full values (only in this response)."""
    if not privacy.may_reveal(request.user):
        if request.method == "POST":
            raise Http404
        return None, {}
    if request.method != "POST":
        return RevealForm(), {}
    form = RevealForm(request.POST)
    if form.is_valid():
        try:
            wanted = [f for f in fields if getattr(obj, f, "")]
            return RevealForm(), privacy.reveal(
                request.user, obj, wanted, purpose=form.cleaned_data["purpose"]
            )
        except ServiceError as exc:
            form.add_error(None, str(exc))
    return form, {}


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _save(form, call, request, success: str):
    """Run a service with a valid form; its refusal becomes a form error (nothing written, nothing lost)."""
    try:
        obj = call()
    except ServiceError as exc:
        form.add_service_error(exc) if hasattr(form, "add_service_error") else form.add_error(None, str(exc))
        return None
    messages.success(request, success)
    return obj


def _list(request, template: str, filterset_class, qs, entity: str, **extra):
    filterset = filterset_class(request.GET or None, queryset=qs, request=request)
    page = _page(request, filterset.qs)
    style(filterset.form)
    if hasattr(qs.model, "colour_reasons"):
        _with_reasons(request.user, page.object_list)
    context = {
        "filter": filterset,
        "page": page,
        "export_url": _export_url(request, entity),
        "can_write": _is_writer(request.user),
        "today": timezone.localdate(),
    }
    context.update(extra)
    return render(request, template, context)


# --- overview ---------------------------------------------------------------------------------------------
@login_required
def index(request):
    user = request.user
    households = selectors.households_for(user)
    by_colour = dict(households.order_by().values_list("colour").annotate(n=Count("id")))
    by_category = dict(selectors.persons_for(user).order_by().values_list("category").annotate(n=Count("id")))
    context = {
        "counts": {
            "addresses": selectors.addresses_for(user).count(),
            "houses": selectors.houses_for(user).count(),
            "households": sum(by_colour.values()),
            "persons": sum(by_category.values()),
            "units": selectors.units_for(user).count(),
            "key_units": selectors.units_for(user).filter(is_key=True).count(),
        },
        "colours": [(c.value, c.label, by_colour.get(c.value, 0)) for c in Colour],
        "categories": [(c.value, c.label, by_category.get(c.value, 0)) for c in PersonCategory],
        "can_write": _is_writer(user),
    }
    return render(request, "registry/index.html", context)


# --- addresses --------------------------------------------------------------------------------------------
@login_required
def address_list(request):
    qs = selectors.addresses_for(request.user).annotate(house_count=Count("house")).order_by("code")
    return _list(request, "registry/address_list.html", AddressFilterSet, qs, "addresses")


@login_required
def address_detail(request, pk: int):
    user = request.user
    address = get_in_territory(user, selectors.addresses_for(user), pk=pk)
    house = selectors.houses_for(user).filter(address=address).first()
    context = {
        "address": address,
        "house": house,
        "units": selectors.units_for(user).filter(address=address),
        "can_write": _is_writer(user),
        "review_form": AddressReviewForm() if user.role == Role.DIRECTOR else None,
    }
    return render(request, "registry/address_detail.html", context)


@login_required
@require_POST
def address_review(request, pk: int):
    address = get_in_territory(request.user, selectors.addresses_for(request.user), pk=pk)
    form = AddressReviewForm(request.POST)
    if form.is_valid():
        try:
            services.review_address(
                address,
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("审核结果已保存"))
    else:
        messages.error(request, _("请选择审核结果"))
    return redirect("registry:address_detail", pk=address.pk)


@login_required
def address_new(request):
    user = request.user
    _require_writer(user)
    form = AddressForm(request.POST or None, grids=_writable_grids(user))
    if request.method == "POST" and form.is_valid():
        data = form.model_data()
        address = _save(
            form,
            lambda: services.create_address(
                code=form.cleaned_data["code"], grid=form.cleaned_data["grid"], by=user, **data
            ),
            request,
            _("标准地址已登记"),
        )
        if address:
            return redirect("registry:address_detail", pk=address.pk)
    return render(request, "registry/form.html", {"form": form, "title": _("登记标准地址")})


def _edit(request, obj, form_class, update, detail: str, template: str, title: str, **form_kwargs):
    """The edit page of a registry object: only the changed fields go to the update service."""
    if not _is_writer(request.user):
        messages.error(request, _("您的角色无权修改登记信息"))
        return redirect(detail, pk=obj.pk)
    form = form_class(request.POST or None, instance=obj, **form_kwargs)
    if (
        request.method == "POST"
        and form.is_valid()
        and _save(form, lambda: update(obj, by=request.user, **form.changes()), request, _("已保存"))
    ):
        return redirect(detail, pk=obj.pk)
    context = {"form": form, "title": title, "object": obj, "relations": RELATIONS}
    return render(request, template, context)


@login_required
def address_edit(request, pk: int):
    address = get_in_territory(request.user, selectors.addresses_for(request.user), pk=pk)
    grids = _writable_grids(request.user)
    detail, title = "registry:address_detail", _("修改标准地址（保存后重新审核）")
    return _edit(
        request,
        address,
        AddressForm,
        services.update_address,
        detail,
        "registry/form.html",
        title,
        grids=grids,
    )


# --- houses -----------------------------------------------------------------------------------------------
HOUSE_PERSONAL = ("owner_id_number", "owner_phone", "landlord_phone", "manager_phone")


@login_required
def house_list(request):
    return _list(
        request, "registry/house_list.html", HouseFilterSet, selectors.houses_for(request.user), "houses"
    )


@login_required
def house_detail(request, pk: int):
    user = request.user
    house = get_in_territory(user, selectors.houses_for(user), pk=pk)
    reveal_form, revealed = _reveal(request, house, HOUSE_PERSONAL)
    households = _with_reasons(
        user, list(selectors.households_for(user).filter(house=house).annotate(member_count=Count("members")))
    )
    context = {
        "house": house,
        "shown": _masked(house, HOUSE_PERSONAL, revealed),
        "revealed": bool(revealed),
        "reveal_form": reveal_form,
        "reasons": shown_reasons(user, house.colour_reasons),
        "history": _with_history_reasons(user, house.colour_history.all()[:20]),
        "households": households,
        "units": selectors.units_for(user).filter(address_id=house.address_id),
        "residents_without_household": selectors.persons_for(user).filter(
            house=house, household__isnull=True
        ),
        "can_write": _is_writer(user),
    }
    return _private(render(request, "registry/house_detail.html", context))


def _with_history_reasons(user, changes):
    changes = list(changes)
    for change in changes:
        change.shown = shown_reasons(user, change.reasons)
    return changes


@login_required
def house_new(request):
    user = request.user
    _require_writer(user)
    addresses = selectors.addresses_for(user).filter(house__isnull=True)
    address = _preselected(request, "address", addresses)
    initial = {"address": address.code, "code": f"H{address.code}"[:40]} if address else {}
    form = HouseForm(request.POST or None, addresses=addresses, initial=initial)
    if request.method == "POST" and form.is_valid():
        house = _save(
            form,
            lambda: services.create_house(
                code=form.cleaned_data["code"],
                address=form.cleaned_data["address"],
                by=user,
                **form.model_data(),
            ),
            request,
            _("房屋已登记"),
        )
        if house:
            return redirect("registry:house_detail", pk=house.pk)
    return render(request, "registry/house_form.html", {"form": form, "title": _("登记实有房屋")})


@login_required
def house_edit(request, pk: int):
    house = get_in_territory(request.user, selectors.houses_for(request.user), pk=pk)
    detail, title = "registry:house_detail", _("修改房屋信息")
    return _edit(request, house, HouseForm, services.update_house, detail, "registry/house_form.html", title)


# --- households -------------------------------------------------------------------------------------------
@login_required
def household_list(request):
    qs = (
        selectors.households_for(request.user)
        .annotate(member_count=Count("members"))
        .order_by("house__code", "id")
    )
    return _list(request, "registry/household_list.html", HouseholdFilterSet, qs, "households")


def _household_page(request, household, *, visit_form=None, member_form=None, status=200):
    user = request.user
    members = list(
        selectors.persons_for(user).filter(household=household).order_by("-relation_to_head", "name", "id")
    )
    members.sort(key=lambda p: p.relation_to_head != "户主")
    for person in members:
        person.shown = _masked(person, ("id_number", "phone"))
    concerns: dict[int, list] = {}
    names = False
    if privacy.may_see_concerns(user) and names_concerns(household.colour_reasons):
        rows = selectors.read_concerns(
            user,
            selectors.concerns_for(user)
            .filter(person__household=household)
            .exclude(status=ConcernStatus.DELISTED),
            purpose="户详情：分色原因",
        )
        for concern in rows:
            concerns.setdefault(concern.person_id, []).append(concern)
        names = True
    for person in members:
        person.concern_rows = concerns.get(person.pk, [])
    today = timezone.localdate()
    can_visit = user.role in {Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR}
    same_house = selectors.persons_for(user).filter(house_id=household.house_id).exclude(household=household)
    context = {
        "household": household,
        "members": members,
        "reasons": shown_reasons(user, household.colour_reasons, names=names),
        "history": _with_history_reasons(user, household.colour_history.all()[:20]),
        "visits": selectors.visits_for(user).filter(household=household)[:20],
        "today": today,
        "overdue_days": (today - household.next_visit_due).days
        if household.next_visit_due and household.next_visit_due < today
        else 0,
        "visit_days": colours.active_params()["visit_days"],
        "can_write": _is_writer(user),
        "visit_form": visit_form
        or (VisitForm(initial={"visited_at": timezone.localtime()}) if can_visit else None),
        "member_form": member_form
        or (
            MembershipForm(persons=selectors.persons_for(user), candidates=same_house)
            if _is_writer(user)
            else None
        ),
        "relations": RELATIONS,
    }
    return _private(render(request, "registry/household_detail.html", context, status=status))


@login_required
def household_detail(request, pk: int):
    household = get_in_territory(request.user, selectors.households_for(request.user), pk=pk)
    return _household_page(request, household)


@login_required
def household_visit(request, pk: int):
    """登记走访: a page of its own so that the to-do list opens it with one tap on the phone."""
    user = request.user
    household = get_in_territory(user, selectors.households_for(user), pk=pk)
    if user.role not in {Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR}:
        raise Http404
    form = VisitForm(
        request.POST or None, request.FILES or None, initial={"visited_at": timezone.localtime()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visit = _save(
            form,
            lambda: services.record_visit(
                household,
                findings=data["findings"],
                visited_at=data["visited_at"],
                photo=data["photo"],
                by=user,
            ),
            request,
            _("走访已登记"),
        )
        if visit:
            messages.info(
                request,
                _("下次走访期限：%(due)s") % {"due": visit.next_due.strftime("%Y-%m-%d")},
            )
            return redirect("registry:household_detail", pk=household.pk)
    context = {
        "household": household,
        "reasons": shown_reasons(user, household.colour_reasons),
        "form": form,
        "today": timezone.localdate(),
    }
    return render(request, "registry/visit_form.html", context)


@login_required
def household_new(request):
    user = request.user
    _require_writer(user)
    houses = selectors.houses_for(user)
    house = _preselected(request, "house", houses)
    initial = {"house": house.code} if house else {}
    form = HouseholdForm(request.POST or None, houses=houses, initial=initial)
    if request.method == "POST" and form.is_valid():
        household = _save(
            form,
            lambda: services.create_household(
                house=form.cleaned_data["house"], household_no=form.cleaned_data["household_no"], by=user
            ),
            request,
            _("户已建立，请添加成员"),
        )
        if household:
            return redirect("registry:household_detail", pk=household.pk)
    return render(request, "registry/form.html", {"form": form, "title": _("新建户")})


@login_required
@require_POST
def household_member_add(request, pk: int):
    user = request.user
    household = get_in_territory(user, selectors.households_for(user), pk=pk)
    _require_writer(user)
    same_house = selectors.persons_for(user).filter(house_id=household.house_id).exclude(household=household)
    form = MembershipForm(request.POST, persons=selectors.persons_for(user), candidates=same_house)
    if form.is_valid():
        person = form.cleaned_data["person"]
        if _save(
            form,
            lambda: services.set_household(
                person, household, relation=form.cleaned_data["relation"], by=user
            ),
            request,
            _("已将%(name)s加入本户") % {"name": person.name},
        ):
            return redirect("registry:household_detail", pk=household.pk)
    household.refresh_from_db()
    return _household_page(request, household, member_form=form, status=200)


@login_required
@require_POST
def household_member_remove(request, pk: int, person_pk: int):
    user = request.user
    household = get_in_territory(user, selectors.households_for(user), pk=pk)
    person = get_in_territory(user, selectors.persons_for(user).filter(household=household), pk=person_pk)
    if not _is_writer(user):
        raise Http404
    try:
        services.set_household(person, None, by=user)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已将%(name)s移出本户") % {"name": person.name})
    return redirect("registry:household_detail", pk=household.pk)


@login_required
def visit_photo(request, pk: int):
    """Visit photos show people and homes: served only inside the territory, never as a public file."""
    visit = get_in_territory(request.user, selectors.visits_for(request.user), pk=pk)
    if not visit.photo:
        raise Http404
    content_type = mimetypes.guess_type(visit.photo.name)[0] or "application/octet-stream"
    response = FileResponse(visit.photo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=600"
    return response


# --- persons ----------------------------------------------------------------------------------------------
PERSON_PERSONAL = ("id_number", "phone", "permit_number", "document_number")


@login_required
def person_list(request):
    return _list(
        request, "registry/person_list.html", PersonFilterSet, selectors.persons_for(request.user), "persons"
    )


def person_page(request, person, *, revealed=None, reveal_form=None, concern_form=None, status=200):
    user = request.user
    context: dict[str, Any] = {
        "person": person,
        "shown": _masked(person, PERSON_PERSONAL, revealed),
        "revealed": bool(revealed),
        "reveal_form": reveal_form,
        "can_write": _is_writer(user),
        "household_reasons": shown_reasons(user, person.household.colour_reasons) if person.household else [],
        "today": timezone.localdate(),
        "show_concerns": privacy.may_see_concerns(user),
    }
    if context["show_concerns"]:
        context["concerns"] = selectors.read_concerns(
            user, selectors.concerns_for(user).filter(person=person), purpose="人员详情"
        )
        context["concern_form"] = concern_form or ConcernRequestForm()
        context["delist_form"] = DelistForm()
        context["reclass_form"] = ReclassForm()
        context["transfer_form"] = TransferForm()
        context["listed"] = ConcernStatus.LISTED
    return _private(render(request, "registry/person_detail.html", context, status=status))


@login_required
def person_detail(request, pk: int):
    person = get_in_territory(request.user, selectors.persons_for(request.user), pk=pk)
    reveal_form, revealed = _reveal(request, person, PERSON_PERSONAL)
    return person_page(request, person, revealed=revealed, reveal_form=reveal_form)


def _person_form_context(user):
    return {
        "grids": _writable_grids(user),
        "houses": selectors.houses_for(user),
        "households": selectors.households_for(user),
    }


@login_required
def person_new(request):
    user = request.user
    _require_writer(user)
    scope = _person_form_context(user)
    initial: dict[str, Any] = {"category": PersonCategory.RESIDENT}
    household = None
    household_id = request.POST.get("household") or request.GET.get("household") or ""
    if id_param(household_id) is not None:
        household = scope["households"].filter(pk=id_param(household_id)).first()
        if household:
            initial["household"] = household.pk
    form = PersonForm(request.POST or None, initial=initial, **scope)
    if request.method == "POST" and form.is_valid():
        data = form.model_data()
        extra = {k: form.cleaned_data[k] for k in ("house", "household") if form.cleaned_data.get(k)}
        grid = None if extra else form.cleaned_data["grid"]
        person = _save(
            form,
            lambda: services.create_person(grid=grid, by=user, **data, **extra),
            request,
            _("人员已登记"),
        )
        if person:
            if person.household_id:
                return redirect("registry:household_detail", pk=person.household_id)
            return redirect("registry:person_detail", pk=person.pk)
    return render(
        request,
        "registry/person_form.html",
        {"form": form, "title": _("登记实有人口"), "household": household, "relations": RELATIONS},
    )


@login_required
def person_edit(request, pk: int):
    person = get_in_territory(request.user, selectors.persons_for(request.user), pk=pk)
    detail, title = "registry:person_detail", _("修改人员信息")
    return _edit(
        request, person, PersonForm, services.update_person, detail, "registry/person_form.html", title
    )


# --- units ------------------------------------------------------------------------------------------------
@login_required
def unit_list(request):
    return _list(
        request, "registry/unit_list.html", UnitFilterSet, selectors.units_for(request.user), "units"
    )


@login_required
def unit_detail(request, pk: int):
    user = request.user
    unit = get_in_territory(user, selectors.units_for(user), pk=pk)
    station_id = unit.grid.community.station_id
    return render(
        request,
        "registry/unit_detail.html",
        {
            "unit": unit,
            "can_write": _is_writer(user),
            "security_phone": privacy.masked("security_phone", unit.security_phone),
            # One-click alarm devices of a key unit, for those who see devices; provisioning for its director.
            "alarm_devices": unit.alarm_devices.order_by("device_id")
            if alarm_devices.may_view(user)
            else None,
            "can_add_alarm_device": unit.is_key and alarm_devices.may_manage(user, station_id),
        },
    )


@login_required
def unit_new(request):
    user = request.user
    _require_writer(user)
    addresses = selectors.addresses_for(user)
    address = _preselected(request, "address", addresses)
    initial = {"address": address.code} if address else {}
    form = UnitForm(request.POST or None, addresses=addresses, initial=initial)
    if request.method == "POST" and form.is_valid():
        unit = _save(
            form,
            lambda: services.create_unit(by=user, address=form.cleaned_data["address"], **form.model_data()),
            request,
            _("单位已登记"),
        )
        if unit:
            return redirect("registry:unit_detail", pk=unit.pk)
    return render(request, "registry/form.html", {"form": form, "title": _("登记实有单位")})


@login_required
def unit_edit(request, pk: int):
    unit = get_in_territory(request.user, selectors.units_for(request.user), pk=pk)
    addresses = selectors.addresses_for(request.user)
    detail, title = "registry:unit_detail", _("修改单位信息")
    return _edit(
        request,
        unit,
        UnitForm,
        services.update_unit,
        detail,
        "registry/form.html",
        title,
        addresses=addresses,
    )


# --- to-do, search, rules ---------------------------------------------------------------------------------
@login_required
def todo(request):
    user = request.user
    today = timezone.localdate()
    page = _page(request, visit_todo(user, today))
    for household in _with_reasons(user, page.object_list):
        household.overdue_days = (today - household.next_visit_due).days
    return render(
        request,
        "registry/todo.html",
        {
            "page": page,
            "today": today,
            "can_visit": user.role in {Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR},
        },
    )


@login_required
def search_page(request):
    q = request.GET.get("q", "").strip()[:100]
    hits = search.search(request.user, q, limit=20) if q else []
    template = "registry/_search_hits.html" if request.headers.get("HX-Request") else "registry/search.html"
    return render(request, template, {"q": q, "hits": hits})


def may_edit_rules(user) -> bool:
    return user.is_superuser or user.role in services.RULE_EDITORS


@login_required
def rules_edit(request):
    user = request.user
    if not may_edit_rules(user):
        raise Http404
    params = colours.active_params()
    form = ColourRulesForm(request.POST or None, params=params)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_colour_rules(form.to_params(), by=user)
        except ServiceError as exc:
            for problem in str(exc).split("；"):
                form.add_error(None, problem)
        else:
            messages.success(
                request, _("分色规则已保存，已重新评定全部户，%(n)d户分色发生变化") % {"n": changed}
            )
            return redirect("registry:rules")
    return render(request, "registry/rules.html", {"form": form})
