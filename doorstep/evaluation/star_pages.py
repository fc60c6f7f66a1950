"""Pages of the monthly star (社区警务月度之星) and the annual award candidates; rules in `stars`.

The confirmed stars are public-facing (the portal shows them), so every role of the KPI pages sees the list;
the candidates and the annual ranking are for the committee (leaders, the evaluation office, administrators);
only the evaluation office and administrators confirm. Other roles get a 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.ids import id_param
from doorstep.evaluation import periods, stars
from doorstep.evaluation.choices import PeriodKind
from doorstep.evaluation.models_links import MonthlyStar


def _last_month(today: dt.date) -> str:
    return periods.value(periods.previous(periods.period_of(PeriodKind.MONTH, today)))


@login_required
@require_GET
def star_list(request):
    user = request.user
    stars.require(stars.may_view(user))
    today = timezone.localdate()
    qs = MonthlyStar.objects.select_related("staff", "staff__station").order_by("-month", "rank", "id")[:120]
    return render(
        request,
        "evaluation/star_list.html",
        {
            "current": stars.current_stars(today),
            "history": list(qs),
            "may_see_candidates": stars.may_see_candidates(user),
            "last_month": _last_month(today),
            "year": today.year,
            "active": "stars",
        },
    )


@login_required
@require_GET
def star_candidates(request):
    user = request.user
    stars.require(stars.may_see_candidates(user))
    today = timezone.localdate()
    raw = (request.GET.get("month") or _last_month(today))[:20]
    error = ""
    rows: list[stars.Candidate] = []
    source = ""
    month = None
    try:
        month = stars.parse_month(raw, today)
    except ServiceError as exc:
        error = str(exc)
    else:
        rows, source = stars.candidates(month)
    return render(
        request,
        "evaluation/star_candidates.html",
        {
            "rows": rows,
            "source": source,
            "month": month,
            "month_value": raw,
            "month_label": periods.label(periods.period_of(PeriodKind.MONTH, month)) if month else "",
            "error": error,
            "may_confirm": stars.may_confirm(user),
            "active": "stars",
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def star_confirm(request):
    user = request.user
    stars.require(stars.may_see_candidates(user))
    if not stars.may_confirm(user):
        raise PermissionDenied(_("只有考评办和系统管理员可以确认月度之星"))
    raw = (request.POST.get("month") or "")[:20]
    back = reverse("evaluation:star_candidates") + "?month=" + raw
    try:
        month = stars.parse_month(raw, timezone.localdate())
        ids = []
        for value in request.POST.getlist("staff")[:50]:
            staff_id = id_param(value)
            if staff_id is None:
                raise ServiceError(_("所选人员不是本月候选民警"), code="staff")
            ids.append(staff_id)
        created = stars.confirm_stars(
            month=month, staff_ids=ids, citation=request.POST.get("citation", ""), by=user
        )
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(
        request, _("已确认月度之星：%(names)s") % {"names": "、".join(s.staff.name for s in created)}
    )
    return redirect("evaluation:stars")


@login_required
@require_GET
def star_annual(request):
    user = request.user
    stars.require(stars.may_see_candidates(user))
    today = timezone.localdate()
    raw = (request.GET.get("year") or str(today.year))[:10]
    period = periods.parse(PeriodKind.YEAR, raw)
    by = "stars" if request.GET.get("by") == "stars" else "score"
    error = ""
    rows: list[stars.Candidate] = []
    if period is None or period.start > today:
        error = _("年份不正确")
    else:
        rows = stars.annual(period.start.year, today, by=by)
    return render(
        request,
        "evaluation/star_annual.html",
        {
            "rows": rows,
            "year": period.start.year if period and not error else raw,
            "by": by,
            "error": error,
            "active": "stars",
        },
        status=400 if error else 200,
    )


urlpatterns = [
    path("stars/", star_list, name="stars"),
    path("stars/candidates/", star_candidates, name="star_candidates"),
    path("stars/confirm/", star_confirm, name="star_confirm"),
    path("stars/annual/", star_annual, name="star_annual"),
]
