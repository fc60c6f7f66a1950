"""Pages of incidents (发案登记), collection baselines (应采集基数) and verification samples (核查抽样).

Reads go through `access` (404 for roles without the pages and for objects outside the territory); writes
through the services in `incidents` and `baselines` (a role that sees but may not act gets a 403 with a
Chinese reason; a refused rule comes back on its form field). An incident can be registered from a
service-desk case (`?intake=<pk>`): the form is prefilled from the desk item and the two are linked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import style
from doorstep.core.ids import id_param
from doorstep.desk.choices import IntakeKind
from doorstep.evaluation import access, baselines, incidents
from doorstep.evaluation.incident_forms import (
    BaselineFilterSet,
    BaselineForm,
    ImportForm,
    IncidentFilterSet,
    IncidentForm,
    VerificationFilterSet,
    VerificationForm,
)
from doorstep.evaluation.models import Incident
from doorstep.org.territory import Territory
from doorstep.registry.importers import FileError

PER_PAGE = 50
SHOWN_BAD_ROWS = 500


def _filtered(request, filterset_class, qs: QuerySet[Any]):
    """The FilterSet and its rows; invalid parameters (a grid outside the territory, a bad date) show their
    error and no rows, never the unfiltered list."""
    filterset = filterset_class(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    rows = qs.none() if filterset.is_bound and not filterset.is_valid() else filterset.qs
    return filterset, Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))


def _deny_recording(user: Any) -> None:
    if not access.may_record_incidents(user):
        raise PermissionDenied(_("只有所长、社区民警、考评办和系统管理员可以登记发案"))


# --- incidents -----------------------------------------------------------------------------------------------
@login_required
def incident_list(request):
    user = request.user
    access.require_incident_view(user)
    qs = access.incidents_for(user).order_by("-occurred_on", "-id")
    filterset, page = _filtered(request, IncidentFilterSet, qs)
    return render(
        request,
        "evaluation/incident_list.html",
        {
            "filter": filterset,
            "page": page,
            "may_record": access.may_record_incidents(user),
            "active": "incidents",
        },
    )


def _intake_from(request):
    """The service-desk case an incident is registered from (?intake=<pk>), if any and visible."""
    raw = request.GET.get("intake") or request.POST.get("intake")
    if not raw:
        return None
    from doorstep.desk import selectors as desk_selectors

    pk = id_param(raw)
    if not pk:
        raise Http404
    intake = desk_selectors.get_intake_for(request.user, pk)
    if intake.kind != IntakeKind.CASE:
        raise Http404  # only a case (警情/案件) is an incident
    return intake


def _intake_initial(intake: Any) -> dict[str, Any]:
    when = intake.occurred_at or intake.received_at
    initial: dict[str, Any] = {
        "occurred_on": timezone.localtime(when).date() if when else None,
        "place": (intake.place or intake.address_text or (str(intake.address) if intake.address else ""))[
            :200
        ],
        "case_number": intake.case_number,
    }
    if intake.address_id:
        initial["grid"] = intake.address.grid_id
    return initial


@login_required
def incident_new(request):
    user = request.user
    access.require_incident_view(user)
    _deny_recording(user)
    intake = _intake_from(request)
    grids = Territory.for_user(user).grids()
    initial: dict[str, Any] = {}
    if intake is not None:
        done = Incident.objects.filter(intake=intake).first()
        if done is not None:
            messages.warning(request, _("该事项已登记为发案，不能重复登记"))
            return redirect("desk:item", pk=intake.pk)
        grids = access.intake_grids(user, intake)
        initial = _intake_initial(intake)
        if initial.get("grid") and not grids.filter(pk=initial["grid"]).exists():
            initial.pop("grid")
    else:
        posts = list(grids[:2])
        if len(posts) == 1:  # an officer with one grid: no choice to make
            initial["grid"] = posts[0].pk
    form = IncidentForm(request.POST if request.method == "POST" else None, initial=initial, grids=grids)
    if request.method == "POST" and form.is_valid():
        try:
            incident = incidents.record_incident(**form.values(), by=user, intake=intake)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已登记发案：%(incident)s") % {"incident": incident})
            if intake is not None:
                return redirect("desk:item", pk=intake.pk)
            return redirect("evaluation:incidents")
    return render(
        request,
        "evaluation/incident_form.html",
        {"form": form, "intake": intake, "incident": None, "active": "incidents"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def incident_edit(request, pk: int):
    user = request.user
    incident = access.get_incident_for(user, pk)
    if not access.may_record_in(user, incident.grid):
        raise PermissionDenied(_("您可以查看发案，但不能修改"))
    initial = {
        "grid": incident.grid_id,
        "occurred_on": incident.occurred_on,
        "category": incident.category,
        "kind": incident.kind,
        "place": incident.place,
        "case_number": incident.case_number,
        "note": incident.note,
    }
    grids = Territory.for_user(user).grids()
    if incident.intake_id:
        grids = access.intake_grids(user, incident.intake)
    form = IncidentForm(request.POST if request.method == "POST" else None, initial=initial, grids=grids)
    if request.method == "POST" and form.is_valid():
        try:
            incidents.update_incident(incident, **form.values(), by=user)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存发案：%(incident)s") % {"incident": incident})
            return redirect("evaluation:incidents")
    return render(
        request,
        "evaluation/incident_form.html",
        {"form": form, "intake": incident.intake, "incident": incident, "active": "incidents"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def incident_delete(request, pk: int):
    user = request.user
    incident = access.get_incident_for(user, pk)
    if not access.may_record_in(user, incident.grid):
        raise PermissionDenied(_("您可以查看发案，但不能删除"))
    label = str(incident)
    try:
        incidents.delete_incident(incident, by=user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, _("已删除发案：%(incident)s") % {"incident": label})
    return redirect("evaluation:incidents")


@login_required
def incident_import(request):
    user = request.user
    access.require_incident_view(user)
    _deny_recording(user)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    report = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = incidents.import_incidents(upload, filename=upload.name, by=user)
            except NotAllowed as exc:
                raise PermissionDenied(str(exc)) from exc
            except (FileError, ServiceError) as exc:
                form.add_error("file", str(exc))
            else:
                if report.ok:
                    messages.success(request, report.summary())
                    return redirect("evaluation:incidents")
    return render(
        request,
        "evaluation/incident_import.html",
        {
            "form": form,
            "report": report,
            "bad": report.bad[:SHOWN_BAD_ROWS] if report else [],
            "max_rows": incidents.MAX_IMPORT_ROWS,
            "active": "incidents",
        },
        status=status,
    )


@login_required
def incident_template(request):
    access.require_incident_view(request.user)
    response = HttpResponse(
        incidents.template_workbook(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, "发案导入模板.xlsx")
    return response


# --- baselines and verification samples ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Samples:
    """One of the evaluation office's two ledgers: its rows, filter, form, service and wording."""

    rows: Callable[[Any], QuerySet[Any]]
    order: tuple[str, ...]
    filterset: Any
    form: Any
    record: Callable[..., Any]
    template: str
    active: str
    refused: str
    recorded: str


BASELINES = _Samples(
    rows=access.baselines_for,
    order=("grid__code", "element", "-as_of"),
    filterset=BaselineFilterSet,
    form=BaselineForm,
    record=baselines.record_baseline,
    template="evaluation/baseline_list.html",
    active="baselines",
    refused=gettext_lazy("只有考评办和系统管理员可以维护应采集基数"),
    recorded=gettext_lazy("已登记应采集基数：%(item)s"),
)
VERIFICATIONS = _Samples(
    rows=access.verifications_for,
    order=("-checked_on", "-id"),
    filterset=VerificationFilterSet,
    form=VerificationForm,
    record=baselines.record_verification,
    template="evaluation/verification_list.html",
    active="verifications",
    refused=gettext_lazy("只有考评办和系统管理员可以登记核查抽样"),
    recorded=gettext_lazy("已登记核查抽样：%(item)s"),
)


def _samples_page(request, kind: _Samples, form: Any, status: int = 200) -> HttpResponse:
    filterset, page = _filtered(request, kind.filterset, kind.rows(request.user).order_by(*kind.order))
    return render(
        request,
        kind.template,
        {"filter": filterset, "page": page, "form": form, "active": kind.active},
        status=status,
    )


def _samples_list(request, kind: _Samples) -> HttpResponse:
    user = request.user
    access.require_sample_view(user)
    form = kind.form(grids=Territory.for_user(user).grids()) if access.may_keep_samples(user) else None
    return _samples_page(request, kind, form)


def _samples_new(request, kind: _Samples) -> HttpResponse:
    user = request.user
    access.require_sample_view(user)
    if not access.may_keep_samples(user):
        raise PermissionDenied(str(kind.refused))
    if request.method != "POST":
        return redirect(f"evaluation:{kind.active}")
    form = kind.form(request.POST, grids=Territory.for_user(user).grids())
    if form.is_valid():
        try:
            item = kind.record(**form.cleaned_data, by=user)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, str(kind.recorded) % {"item": item})
            return redirect(f"evaluation:{kind.active}")
    return _samples_page(request, kind, form, status=400)


@login_required
def baseline_list(request):
    return _samples_list(request, BASELINES)


@login_required
def baseline_new(request):
    return _samples_new(request, BASELINES)


@login_required
def verification_list(request):
    return _samples_list(request, VERIFICATIONS)


@login_required
def verification_new(request):
    return _samples_new(request, VERIFICATIONS)


urlpatterns = [
    path("incidents/", incident_list, name="incidents"),
    path("incidents/new/", incident_new, name="incident_new"),
    path("incidents/import/", incident_import, name="incident_import"),
    path("incidents/template.xlsx", incident_template, name="incident_template"),
    path("incidents/<int:pk>/edit/", incident_edit, name="incident_edit"),
    path("incidents/<int:pk>/delete/", incident_delete, name="incident_delete"),
    path("baselines/", baseline_list, name="baselines"),
    path("baselines/new/", baseline_new, name="baseline_new"),
    path("verifications/", verification_list, name="verifications"),
    path("verifications/new/", verification_new, name="verification_new"),
]
