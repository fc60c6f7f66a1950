"""Pages of the tiered evaluations (考核评分) and spot checks (抽查).

Reads go through `reviews.reviews_for` / `spotchecks.spotchecks_for` (anything outside them is a 404, including
drafts about oneself and another station's drafts); writes through the services. A user who sees a review
but may not act on it gets a 403 with a Chinese reason; a refused rule comes back as a message or a form error.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.forms import style
from doorstep.evaluation import periods, reviews, spotchecks
from doorstep.evaluation.models_review import ReviewLevel, ReviewStatus
from doorstep.evaluation.review_forms import (
    DrawForm,
    GenerateForm,
    RecordForm,
    ReviewFilterSet,
    ScoresForm,
    parse_period,
)
from doorstep.org.choices import StaffKind
from doorstep.org.models import Staff, Station
from doorstep.org.territory import Territory

PER_PAGE = 50


def _require(user: Any) -> None:
    if not reviews.may_view(user):
        raise Http404


# --- reviews -------------------------------------------------------------------------------------------------
def _list_context(request, generate_form: GenerateForm | None = None) -> dict[str, Any]:
    user = request.user
    today = timezone.localdate()
    qs = reviews.reviews_for(user).order_by("-period_start", "level", "station__code", "staff__badge_number")
    filterset = ReviewFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    rows = qs.none() if filterset.is_bound and not filterset.is_valid() else filterset.qs
    levels = [(v, label) for v, label in ReviewLevel.choices if reviews.may_generate(user, v)]
    if generate_form is None and levels:
        generate_form = GenerateForm(initial={"period": periods.value(periods.period_of("week", today))})
    if generate_form is not None:
        generate_form.fields["level"].choices = levels
    return {
        "todo": reviews.todo_for(user, today),
        "filter": filterset,
        "page": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")),
        "generate_form": generate_form,
        "today": today,
        "active": "reviews",
    }


@login_required
def review_list(request):
    _require(request.user)
    return render(request, "evaluation/review_list.html", _list_context(request))


@login_required
@require_POST
def review_generate(request):
    user = request.user
    _require(user)
    if not any(reviews.may_generate(user, level) for level in ReviewLevel.values):
        raise PermissionDenied(_("您不能生成考核"))
    form = GenerateForm(request.POST)
    form.fields["level"].choices = [(v, lb) for v, lb in ReviewLevel.choices if reviews.may_generate(user, v)]
    if form.is_valid():
        level = form.cleaned_data["level"]
        try:
            created = reviews.generate_reviews(level, form.cleaned_data["period_obj"], by=user)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            if created:
                messages.success(request, _("已生成 %(count)s 份考核草稿") % {"count": len(created)})
            else:
                messages.info(request, _("没有需要新生成的考核"))
            return redirect("evaluation:reviews")
    return render(request, "evaluation/review_list.html", _list_context(request, form), status=400)


@login_required
def review_detail(request, pk: int):
    user = request.user
    _require(user)
    review = reviews.get_review_for(user, pk)
    editable = reviews.may_edit(user, review)
    form = ScoresForm(review, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied(
                _("考核已提交，不能再修改")
                if review.status != ReviewStatus.DRAFT
                else _("您不是该考核的评分人")
            )
        try:
            if request.POST.get("action") == "recompute":
                reviews.recompute(review, by=user)
                messages.success(request, _("已按最新数据重新计算自动项目"))
                return redirect("evaluation:review_detail", pk=review.pk)
            if form.is_valid():
                reviews.save_scores(review, form.entries(), by=user, comment=form.cleaned_data["comment"])
                messages.success(request, _("已保存评分"))
                return redirect("evaluation:review_detail", pk=review.pk)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
    return render(
        request,
        "evaluation/review_detail.html",
        {
            "review": review,
            "form": form,
            "rows": form.rows(),
            "editable": editable,
            "may_sign": reviews.may_sign(user, review),
            "overdue": reviews.is_overdue(review),
            "period_label": periods.label(reviews.period_of_review(review)),
            "active": "reviews",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def review_submit(request, pk: int):
    user = request.user
    _require(user)
    review = reviews.get_review_for(user, pk)
    try:
        reviews.submit(review, by=user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已提交考核"))
    return redirect("evaluation:review_detail", pk=review.pk)


@login_required
@require_POST
def review_signoff(request, pk: int):
    user = request.user
    _require(user)
    review = reviews.get_review_for(user, pk)
    try:
        reviews.sign_off(review, by=user, note=request.POST.get("note", "")[:300])
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已签核考核"))
    return redirect("evaluation:review_detail", pk=review.pk)


@login_required
def review_ranking(request):
    user = request.user
    _require(user)
    today = timezone.localdate()
    level = request.GET.get("level") or ReviewLevel.XUN
    errors = []
    if level not in ReviewLevel.values:
        errors.append(_("考核层级无效"))
        level = ReviewLevel.XUN
    kind = request.GET.get("kind") or ""
    if kind and kind not in (StaffKind.POLICE, StaffKind.AUXILIARY):
        errors.append(_("人员类别无效"))
        kind = ""
    raw = request.GET.get("period")
    period = parse_period(level, raw) if raw else periods.previous(periods.period_of(level, today))
    if period is None:
        errors.append(_("周期格式不正确"))
        period = periods.previous(periods.period_of(level, today))
    return render(
        request,
        "evaluation/review_ranking.html",
        {
            "rows": reviews.ranking(user, level, period, kind),
            "level": level,
            "kind": kind,
            "period": period,
            "period_value": periods.value(period),
            "period_label": periods.label(period),
            "previous": periods.value(periods.previous(period)),
            "next": periods.value(periods.following(period)),
            "levels": ReviewLevel.choices,
            "kinds": [("", _("全部")), (StaffKind.POLICE, _("民警")), (StaffKind.AUXILIARY, _("协勤员"))],
            "errors": errors,
            "active": "reviews",
        },
        status=400 if errors else 200,
    )


@login_required
def review_history(request, kind: str, pk: int):
    user = request.user
    _require(user)
    if not 0 < pk < reviews.MAX_PK or kind not in ("staff", "station"):
        raise Http404
    qs = reviews.reviews_for(user).order_by("-period_start", "level")
    if kind == "staff":
        subject = Staff.objects.filter(pk=pk).first()
        rows = qs.filter(staff_id=pk)
    else:
        subject = Station.objects.filter(pk=pk).first()
        rows = qs.filter(station_id=pk, staff__isnull=True)
    own = kind == "staff" and user.staff_id == pk
    if subject is None or not (own or rows.exists() or _sees(user, kind, subject)):
        raise Http404
    return render(
        request,
        "evaluation/review_history.html",
        {
            "subject": subject,
            "kind": kind,
            "page": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")),
            "active": "reviews",
        },
    )


def _sees(user: Any, kind: str, subject: Any) -> bool:
    """A station director or wider may open the (maybe empty) history of a person or station of theirs."""
    territory = Territory.for_user(user)
    if not (territory.whole or reviews.role(user) == "director"):
        return False
    station_id = subject.station_id if kind == "staff" else subject.pk
    return station_id is not None and territory.manages_station(station_id)


# --- spot checks ---------------------------------------------------------------------------------------------
def _spot_list(request, form: DrawForm | None = None, status: int = 200):
    user = request.user
    if form is None and spotchecks.may_act(user):
        form = DrawForm(user=user)
    qs = spotchecks.spotchecks_for(user).prefetch_related("items__staff")
    return render(
        request,
        "evaluation/spotcheck_list.html",
        {
            "page": Paginator(qs, PER_PAGE).get_page(request.GET.get("page")),
            "form": form,
            "active": "spotchecks",
        },
        status=status,
    )


@login_required
def spotcheck_list(request):
    spotchecks.require_view(request.user)
    return _spot_list(request)


@login_required
@require_POST
def spotcheck_draw(request):
    user = request.user
    spotchecks.require_view(user)
    if not spotchecks.may_act(user):
        raise PermissionDenied(_("您可以查看抽查，但不能抽取"))
    form = DrawForm(request.POST, user=user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            check = spotchecks.draw(
                data["station"], data["count"], by=user, seed=data["seed"], purpose=data["purpose"]
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已抽取 %(count)s 名民警") % {"count": check.count})
            return redirect("evaluation:spotcheck_detail", pk=check.pk)
    return _spot_list(request, form, status=400)


def _detail(request, check: Any, bad: tuple[int, RecordForm] | None = None, status: int = 200):
    user = request.user
    names = dict(Staff.objects.filter(pk__in=check.candidates).values_list("pk", "name"))
    rows = []
    for item in check.items.select_related("staff", "grid", "recorded_by"):
        form = None
        if spotchecks.may_act_in(user, item.station_id):
            if bad and bad[0] == item.pk:
                form = bad[1]
            else:
                form = RecordForm(
                    initial={
                        "checked_on": item.checked_on or timezone.localdate(),
                        "subject": item.subject or check.purpose,
                        "result": item.result if item.result != "pending" else "",
                        "score": item.score,
                        "note": item.note,
                    },
                    prefix=f"i{item.pk}",
                )
        rows.append({"item": item, "form": form})
    return render(
        request,
        "evaluation/spotcheck_detail.html",
        {
            "check": check,
            "rows": rows,
            "replayed": spotchecks.replay(check.seed, check.candidates, check.count),
            "candidates": [(pk, names.get(pk, "?")) for pk in check.candidates],
            "active": "spotchecks",
        },
        status=status,
    )


@login_required
def spotcheck_detail(request, pk: int):
    check = spotchecks.get_spotcheck_for(request.user, pk)
    return _detail(request, check)


@login_required
@require_POST
def spotcheck_record(request, pk: int):
    user = request.user
    item = spotchecks.get_item_for(user, pk)
    # The whole draw must be visible to the user (a station's director does not see a sub-bureau draw,
    # even for an item of their own station): 404 otherwise, before anything is shown or written.
    spot_check = spotchecks.get_spotcheck_for(user, item.spot_check_id)
    if not spotchecks.may_act_in(user, item.station_id):
        raise PermissionDenied(_("您可以查看抽查，但不能记录结果"))
    form = RecordForm(request.POST, prefix=f"i{item.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            spotchecks.record(
                item,
                checked_on=data["checked_on"],
                subject=data["subject"],
                result=data["result"],
                score=data["score"],
                note=data["note"],
                by=user,
            )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已记录抽查结果：%(name)s") % {"name": item.staff.name})
            return redirect("evaluation:spotcheck_detail", pk=item.spot_check_id)
    return _detail(request, spot_check, bad=(item.pk, form), status=400)


urlpatterns = [
    path("reviews/", review_list, name="reviews"),
    path("reviews/generate/", review_generate, name="review_generate"),
    path("reviews/ranking/", review_ranking, name="review_ranking"),
    path("reviews/history/<str:kind>/<int:pk>/", review_history, name="review_history"),
    path("reviews/<int:pk>/", review_detail, name="review_detail"),
    path("reviews/<int:pk>/submit/", review_submit, name="review_submit"),
    path("reviews/<int:pk>/signoff/", review_signoff, name="review_signoff"),
    path("spotchecks/", spotcheck_list, name="spotchecks"),
    path("spotchecks/draw/", spotcheck_draw, name="spotcheck_draw"),
    path("spotchecks/<int:pk>/", spotcheck_detail, name="spotcheck_detail"),
    path("spotchecks/items/<int:pk>/record/", spotcheck_record, name="spotcheck_record"),
]
