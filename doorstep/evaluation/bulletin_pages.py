"""Pages of the monthly bulletins (考评通报); the rules live in `bulletins`. The monthly star's pages are
`star_pages`, mounted here.

Drafts are visible to the evaluation office and administrators only (a leader or director asking for one gets
a 404); a published bulletin is read by leaders and directors too, and downloaded as the stored PDF or Excel
(each download recorded as an export in the access log).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.audit.models import AccessKind
from doorstep.audit.services import record_access
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import style
from doorstep.evaluation import bulletins, periods, star_pages
from doorstep.evaluation.choices import PeriodKind
from doorstep.evaluation.models_links import Bulletin, BulletinStatus

PER_PAGE = 24


class CommentaryForm(ServiceErrorsMixin, forms.Form):
    summary = forms.CharField(
        label=gettext_lazy("总体情况"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    commendations = forms.CharField(
        label=gettext_lazy("通报表扬"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    problems = forms.CharField(
        label=gettext_lazy("存在问题"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    requirements = forms.CharField(
        label=gettext_lazy("工作要求"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _require_read(user) -> None:
    if not bulletins.may_read(user):
        raise Http404


@login_required
@require_GET
def bulletin_list(request):
    user = request.user
    _require_read(user)
    qs = bulletins.bulletins_for(user).order_by("-month", "-id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    last_month = periods.previous(periods.period_of(PeriodKind.MONTH, timezone.localdate()))
    return render(
        request,
        "evaluation/bulletin_list.html",
        {
            "page": page,
            "may_draft": bulletins.may_draft(user),
            "default_month": periods.value(last_month),
            "active": "bulletins",
        },
    )


@login_required
@require_POST
def bulletin_new(request):
    user = request.user
    _require_read(user)
    if not bulletins.may_draft(user):
        raise PermissionDenied(_("只有考评办和系统管理员可以起草通报"))
    try:
        bulletin = bulletins.draft_bulletin(month=(request.POST.get("month") or "")[:20], by=user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("evaluation:bulletins")
    messages.success(request, _("已起草通报：%(b)s") % {"b": bulletin})
    return redirect("evaluation:bulletin_detail", pk=bulletin.pk)


@login_required
def bulletin_detail(request, pk: int):
    user = request.user
    bulletin = bulletins.get_bulletin_for(user, pk)
    form = None
    status = 200
    if not bulletin.frozen and bulletins.may_draft(user):
        initial = {name: getattr(bulletin, name) for name in bulletins.COMMENTARY}
        form = CommentaryForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST":
            if form.is_valid():
                try:
                    bulletins.update_commentary(bulletin, by=user, **form.cleaned_data)
                except NotAllowed as exc:
                    raise PermissionDenied(str(exc)) from exc
                except ServiceError as exc:
                    form.add_service_error(exc)
                else:
                    messages.success(request, _("已保存通报内容"))
                    return redirect("evaluation:bulletin_detail", pk=bulletin.pk)
            status = 400
        style(form)
    elif request.method == "POST":
        if not bulletins.may_draft(user):
            raise PermissionDenied(_("只有考评办和系统管理员可以编辑通报"))
        messages.error(request, _("通报已发布，不能修改；如需更正请起草更正通报"))
        return redirect("evaluation:bulletin_detail", pk=bulletin.pk)
    data = bulletins.data_of(bulletin)
    chart = [r for r in data["rows"] if r["score"] is not None]
    return render(
        request,
        "evaluation/bulletin_detail.html",
        {
            "bulletin": bulletin,
            "data": data,
            "title": bulletins.title_of(data),
            "form": form,
            "chart": chart,
            "top": max((r["score"] for r in chart), default=0) or 1,
            "best_worst": [(c, data["best_worst"].get(c["code"], {})) for c in data["columns"]],
            "cells": [(r, [r["cells"].get(c["code"], {}) for c in data["columns"]]) for r in data["rows"]],
            "may_draft": bulletins.may_draft(user),
            "superseded_by": Bulletin.objects.filter(supersedes=bulletin).first(),
            "active": "bulletins",
        },
        status=status,
    )


@login_required
@require_POST
def bulletin_publish(request, pk: int):
    user = request.user
    bulletin = bulletins.get_bulletin_for(user, pk)
    try:
        bulletins.publish(bulletin, by=user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("通报已发布"))
    return redirect("evaluation:bulletin_detail", pk=bulletin.pk)


def _download(request, pk: int, kind: str) -> HttpResponse:
    user = request.user
    bulletin = bulletins.get_bulletin_for(user, pk)
    if bulletin.status == BulletinStatus.DRAFT:
        raise Http404  # a draft has no document: it is built once, at publishing
    blob = bulletins.stored_document(bulletin, kind)
    record_access(
        user,
        AccessKind.EXPORT,
        "evaluation.bulletin",
        [bulletin.pk],
        fields=[kind],
        purpose=_("下载考评通报"),
    )
    mime = "application/pdf" if kind == "pdf" else bulletins.XLSX_MIME
    response = HttpResponse(blob, content_type=mime)
    name = f"{bulletins.title_of(bulletin.data or {'sub_bureau': '', 'label': str(bulletin)})}.{kind}"
    response["Content-Disposition"] = content_disposition_header(kind != "pdf", name)
    response["X-Content-SHA256"] = bulletin.pdf_sha256 if kind == "pdf" else bulletin.xlsx_sha256
    return response


@login_required
@require_GET
def bulletin_pdf(request, pk: int):
    return _download(request, pk, "pdf")


@login_required
@require_GET
def bulletin_xlsx(request, pk: int):
    return _download(request, pk, "xlsx")


urlpatterns = [
    path("bulletins/", bulletin_list, name="bulletins"),
    path("bulletins/new/", bulletin_new, name="bulletin_new"),
    path("bulletins/<int:pk>/", bulletin_detail, name="bulletin_detail"),
    path("bulletins/<int:pk>/publish/", bulletin_publish, name="bulletin_publish"),
    path("bulletins/<int:pk>.pdf", bulletin_pdf, name="bulletin_pdf"),
    path("bulletins/<int:pk>.xlsx", bulletin_xlsx, name="bulletin_xlsx"),
    *star_pages.urlpatterns,
]
