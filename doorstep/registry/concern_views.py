"""Persons of concern (重点人员) pages: the list, listing / delisting / reclassification requests and the
station director's approval queue.

Only `privacy.CONCERN_ROLES` reach them (404 for everyone else, as for records outside the territory), and
every page that shows concern records reads them through `selectors.read_concerns`, which writes the access
log row for exactly what is shown.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.core.errors import ServiceError
from doorstep.core.forms import form_errors_text
from doorstep.org.territory import Territory, get_in_territory
from doorstep.registry import privacy, selectors, services
from doorstep.registry.choices import ConcernStatus, ConcernType
from doorstep.registry.filtersets import PersonOfConcernFilterSet
from doorstep.registry.forms import (
    ConcernRequestForm,
    DecisionForm,
    DelistForm,
    ReclassForm,
    TransferForm,
    style,
)
from doorstep.registry.views import PER_PAGE, person_page

PENDING = [
    ConcernStatus.LISTING_REQUESTED,
    ConcernStatus.DELISTING_REQUESTED,
    ConcernStatus.RECLASS_REQUESTED,
    ConcernStatus.TRANSFER_REQUESTED,
]


def _require_concern_role(user) -> None:
    if not privacy.may_see_concerns(user):
        raise Http404


@login_required
def concern_list(request):
    user = request.user
    _require_concern_role(user)
    filterset = PersonOfConcernFilterSet(
        request.GET or None, queryset=selectors.concerns_for(user), request=request
    )
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    style(filterset.form)
    page.object_list = selectors.read_concerns(user, page.object_list, purpose="重点人员列表")
    for concern in page.object_list:
        concern.shown_id = privacy.masked("id_number", concern.person.id_number)
    return render(
        request,
        "registry/concern_list.html",
        {
            "filter": filterset,
            "page": page,
            "pending": selectors.concerns_for(user).filter(status__in=PENDING).count(),
        },
    )


@login_required
@require_POST
def concern_request(request, pk: int):
    user = request.user
    _require_concern_role(user)
    person = get_in_territory(user, selectors.persons_for(user), pk=pk)
    form = ConcernRequestForm(request.POST)
    if form.is_valid():
        try:
            services.request_listing(person, by=user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("列管申请已提交，等待所长审批"))
            return redirect("registry:person_detail", pk=person.pk)
    return person_page(request, person, concern_form=form)


def _concern_action(request, pk: int, form_class, call, success: str):
    user = request.user
    _require_concern_role(user)
    # concerns_for is the scope (it adds the receiving side of a transfer); get_in_territory would narrow
    # it to the person's grid again.
    concern = selectors.concerns_for(user).filter(pk=pk).first()
    if concern is None:
        raise Http404
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(concern, form.cleaned_data, user)
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, success)
    else:
        messages.error(request, form_errors_text(form))
    return concern


@login_required
@require_POST
def concern_delist(request, pk: int):
    concern = _concern_action(
        request,
        pk,
        DelistForm,
        lambda c, data, user: services.request_delisting(c, reason=data["reason"], by=user),
        _("撤管申请已提交，等待所长审批"),
    )
    return redirect("registry:person_detail", pk=concern.person_id)


@login_required
@require_POST
def concern_reclass(request, pk: int):
    concern = _concern_action(
        request,
        pk,
        ReclassForm,
        lambda c, data, user: services.request_reclass(c, by=user, **data),
        _("转类申请已提交，等待所长审批"),
    )
    return redirect("registry:person_detail", pk=concern.person_id)


@login_required
@require_POST
def concern_transfer(request, pk: int):
    concern = _concern_action(
        request,
        pk,
        TransferForm,
        lambda c, data, user: services.request_transfer(c, by=user, **data),
        _("转递申请已提交，等待接收派出所所长审批"),
    )
    return redirect("registry:person_detail", pk=concern.person_id)


@login_required
def concern_approvals(request):
    user = request.user
    _require_concern_role(user)
    pending = selectors.read_concerns(
        user,
        selectors.concerns_for(user).filter(status__in=PENDING).order_by("created_at"),
        purpose="重点人员审批",
    )
    territory = Territory.for_user(user)
    for concern in pending:
        concern.shown_id = privacy.masked("id_number", concern.person.id_number)
        # The receiving side of a transfer sees the request but not yet the person's record.
        concern.may_open = territory.whole or concern.person.grid_id in territory.grid_ids
        deciding_grid = concern.transfer_to if concern.transfer_to_id else concern.person.grid
        concern.may_decide = (
            user.role == Role.DIRECTOR and user.station_id == deciding_grid.community.station_id
        )
        if concern.status == ConcernStatus.RECLASS_REQUESTED and "|" in concern.request_note:
            new_type, concern.note_text = concern.request_note.split("|", 1)
            concern.new_type = ConcernType(new_type).label if new_type in ConcernType.values else new_type
        else:
            concern.note_text = concern.request_note or concern.reason
    return render(
        request,
        "registry/concern_approvals.html",
        {"pending": pending, "decision_form": DecisionForm()},
    )


@login_required
@require_POST
def concern_decide(request, pk: int):
    _concern_action(
        request,
        pk,
        DecisionForm,
        lambda c, data, user: services.decide_concern(
            c, approve=data["decision"] == "approve", note=data["note"], by=user
        ),
        _("审批已完成"),
    )
    return redirect("registry:concern_approvals")
