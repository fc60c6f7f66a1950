from __future__ import annotations

import datetime as dt
import io

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from doorstep.audit import display, review
from doorstep.audit.filtersets import AccessEntryFilterSet, AuditEntryFilterSet
from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry
from doorstep.audit.services import record_access
from doorstep.core.context_processors import can_read_audit


@login_required
def log(request):
    """The auditor's page: the change log and the personal-data access log, filterable."""
    if not can_read_audit(request.user):
        raise Http404
    tab = "access" if request.GET.get("tab") == "access" else "changes"
    params = request.GET.copy()
    params.pop("tab", None)
    params.pop("page", None)
    if tab == "access":
        filterset = AccessEntryFilterSet(params or None, queryset=AccessEntry.objects.all(), request=request)
    else:
        filterset = AuditEntryFilterSet(params or None, queryset=AuditEntry.objects.all(), request=request)
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    rows = display.rows(page.object_list) if tab == "changes" else display.access_rows(page.object_list)
    return render(request, "audit/log.html", {"filter": filterset, "page": page, "tab": tab, "rows": rows})


def _week_from(request) -> tuple[review.Week, str]:
    """The ?week= asked for (default: the last full week) and an error message for a bad one."""
    text = request.GET.get("week", "")
    if not text:
        return review.last_full_week(), ""
    try:
        return review.parse_week(text), ""
    except ValueError as exc:
        return review.last_full_week(), str(exc)


@login_required
def weekly_review(request):
    """审计周报: failed logins, denied accesses, reveals, exports, reads of persons of concern, permission
    changes of one week, each linking to the filtered audit log. Auditor roles only (404 like /audit/)."""
    if not can_read_audit(request.user):
        raise Http404
    week, error = _week_from(request)
    context = {
        "week": week,
        "sections": review.build(week),
        "error": error,
        "previous": review.Week.of(week.monday - dt.timedelta(days=7)),
        "next": review.Week.of(week.monday + dt.timedelta(days=7)),
        "limit": review.LIST_LIMIT,
    }
    return render(request, "audit/review.html", context, status=400 if error else 200)


@login_required
def weekly_review_export(request):
    """The week's review as CSV or Excel; the download itself is recorded in the access log as an export."""
    if not can_read_audit(request.user):
        raise Http404
    week, error = _week_from(request)
    if error:
        return HttpResponseBadRequest(error)
    fmt = request.GET.get("fmt", "xlsx")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest(_("导出格式只能是 csv 或 xlsx"))
    record_access(
        request.user,
        AccessKind.EXPORT,
        "audit.review",
        [week.label],
        fields=[s.key for s in review.SECTIONS],
        purpose=_("审计周报"),
    )
    name = f"审计周报-{week.label}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(review.write_csv(week), content_type="text/csv; charset=utf-8")
    else:
        buffer = io.BytesIO()
        review.write_xlsx(week, buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
