from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from doorstep.audit.filtersets import AccessEntryFilterSet, AuditEntryFilterSet
from doorstep.audit.models import AccessEntry, AuditEntry
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
    return render(request, "audit/log.html", {"filter": filterset, "page": page, "tab": tab})
