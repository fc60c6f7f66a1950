"""Pages of the surveys.

Public (/portal/, no account; portal.middleware): the questionnaire of a grid's link `/portal/s/<token>/`,
the one-time code endpoint `/portal/s/<token>/code/` (JSON, for portal-survey.js; without JavaScript the
form's "获取验证码" button posts the whole form with `send_code`), the thank-you page. Rate limits: codes per
address and per phone (code_ip, code_phone, code_phone_day), answers per address (survey_ip).

Staff (/online/): the list of surveys, new/edit, open/close, a survey's page with each grid's link, QR code,
answers against target and the three figures so far, a PDF sheet of the QR codes, and the list of responses
(the KPIs' drill-down). Reads through portal.surveys selectors (404 outside the territory); writes through its
services (403 with a Chinese reason for a role that sees but may not act).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.core.errors import ServiceError
from doorstep.core.ids import id_param
from doorstep.portal import access, phones, ratelimit, stats, surveys
from doorstep.portal.choices import Rating, SafetyRating, SurveyStatus
from doorstep.portal.models import SurveyGrid
from doorstep.portal.survey_forms import AnswerForm, ResponseFilterForm, SurveyForm

PER_PAGE = 50


# --- public ---------------------------------------------------------------------------------------------------
def _survey_grid(request: HttpRequest, token: str) -> SurveyGrid | HttpResponse:
    """The grid link of `token`, or the Chinese 404 page."""
    try:
        return surveys.survey_grid_for_token(token)
    except Http404:
        return render(request, "portal/survey_missing.html", status=404)


def _send_code(request: HttpRequest, survey_grid: SurveyGrid, phone: str) -> tuple[bool, str, int]:
    """Count the code limits and send a code: (sent, message, status)."""
    try:
        phone = phones.clean_mobile(phone)
        ratelimit.check(
            request,
            ("code_ip", "ip"),
            ("code_phone", phones.phone_hash(phone)),
            ("code_phone_day", phones.phone_hash(phone)),
        )
        surveys.request_code(survey_grid, phone)
    except ServiceError as exc:
        status = exc.status if exc.status == 429 else (409 if exc.code == "duplicate" else 400)
        return False, str(exc), status
    return True, _("验证码已发送，5分钟内有效"), 200


def survey(request: HttpRequest, token: str) -> HttpResponse:
    """The questionnaire of one grid's link (GET), answering it (POST), or asking for a code without
    JavaScript (POST with `send_code`: the answers so far are kept on the page)."""
    survey_grid = _survey_grid(request, token)
    if isinstance(survey_grid, HttpResponse):
        return survey_grid
    the_survey = survey_grid.survey
    if not surveys.is_answerable(the_survey):
        return render(request, "portal/survey_closed.html", {"survey": the_survey})
    questions = surveys.questions_for(survey_grid)
    context: dict[str, Any] = {"survey": the_survey, "survey_grid": survey_grid}
    status = 200
    if request.method != "POST":
        form = AnswerForm(questions)
    elif "send_code" in request.POST:
        sent, message, status = _send_code(request, survey_grid, request.POST.get("phone", ""))
        initial = {
            k: v for k, v in request.POST.items() if k not in ("code", "csrfmiddlewaretoken", "send_code")
        }
        form = AnswerForm(questions, initial=initial)
        context["code_message"], context["code_sent"] = message, sent
    else:
        form = AnswerForm(questions, request.POST)
        try:
            ratelimit.check(request, ("survey_ip", "ip"))
            if form.is_valid():
                d = form.cleaned_data
                surveys.submit_response(survey_grid, phone=d["phone"], code=d["code"], answers=form.answers())
                return redirect("portal:survey_thanks", token=survey_grid.token)
        except ServiceError as exc:
            form.add_error("code" if exc.code == "code" else None, str(exc))
            status = exc.status if exc.status == 429 else 200
    context["form"] = form
    return render(request, "portal/survey_form.html", context, status=status)


@require_POST
def survey_code(request: HttpRequest, token: str) -> HttpResponse:
    """Send a one-time code for this link (JSON {ok, detail}); says so and sends nothing when the phone has
    already answered the survey."""
    survey_grid = _survey_grid(request, token)
    if isinstance(survey_grid, HttpResponse):
        return JsonResponse({"ok": False, "detail": _("问卷链接无效")}, status=404)
    sent, message, status = _send_code(request, survey_grid, request.POST.get("phone", ""))
    return JsonResponse({"ok": sent, "detail": message}, status=status)


def survey_thanks(request: HttpRequest, token: str) -> HttpResponse:
    survey_grid = _survey_grid(request, token)
    if isinstance(survey_grid, HttpResponse):
        return survey_grid
    return render(request, "portal/survey_thanks.html", {"survey": survey_grid.survey})


# --- staff ---------------------------------------------------------------------------------------------------
def _staff(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context.setdefault("active_tab", "surveys")
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _may_create(user: Any) -> bool:
    return access.may_manage_surveys(user, None) or surveys.manageable_stations(user).exists()


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _figures(c: stats.Counts) -> dict[str, str]:
    return {
        "awareness": _pct(c.aware / c.responses if c.responses else None),
        "satisfaction": _pct(c.satisfied / c.rated if c.rated else None),
        "safety": _pct(c.safe / c.safety_rated if c.safety_rated else None),
    }


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    """群众问卷: the surveys the user may see, newest first, with answers so far in their territory."""
    qs = surveys.surveys_for(request.user).order_by("-opens_on", "-id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    visible = surveys.responses_for(request.user).filter(survey_id__in=[s.pk for s in rows])
    counts = dict(
        visible.order_by().values("survey_id").annotate(n=Count("id")).values_list("survey_id", "n")
    )
    for s in rows:
        s.answered = counts.get(s.pk, 0)
    return _staff(
        request,
        "portal/survey_list.html",
        {"page": page, "rows": rows, "may_create": _may_create(request.user)},
    )


def _save(request: HttpRequest, form: SurveyForm, instance: Any) -> Any:
    d = form.cleaned_data
    kwargs = {
        "title": d["title"],
        "station": d.get("station"),
        "opens_on": d["opens_on"],
        "closes_on": d["closes_on"],
        "target_per_grid": d["target_per_grid"],
        "grids": list(d["grids"]),
    }
    if instance is None:
        return surveys.create_survey(request.user, **kwargs)
    return surveys.update_survey(request.user, instance, **kwargs)


def _edit(request: HttpRequest, instance: Any) -> HttpResponse:
    if request.method == "POST":
        form = SurveyForm(request.user, request.POST, instance=instance)
        if form.is_valid():
            try:
                saved = _save(request, form, instance)
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("问卷已保存"))
                return redirect("online:survey_detail", pk=saved.pk)
    else:
        today = timezone.localdate()
        initial = {} if instance else {"opens_on": today, "closes_on": today + dt.timedelta(days=30)}
        form = SurveyForm(request.user, instance=instance, initial=initial)
    return _staff(request, "portal/survey_edit.html", {"form": form, "survey": instance})


@login_required
def survey_new(request: HttpRequest) -> HttpResponse:
    if not access.may_view_surveys(request.user):
        raise PermissionDenied(_("您无权创建群众问卷"))
    if not _may_create(request.user):
        raise PermissionDenied(_("您无权创建群众问卷"))
    return _edit(request, None)


@login_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    the_survey = surveys.survey_for(request.user, pk)
    if not access.may_manage_surveys(request.user, the_survey.station_id):
        raise PermissionDenied(_("您无权修改该问卷"))
    return _edit(request, the_survey)


def _action(request: HttpRequest, pk: int, service: Any, done: str) -> HttpResponse:
    the_survey = surveys.survey_for(request.user, pk)
    if not access.may_manage_surveys(request.user, the_survey.station_id):
        raise PermissionDenied(_("您无权管理该问卷"))
    try:
        service(request.user, the_survey)
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("online:survey_detail", pk=the_survey.pk)


@login_required
@require_POST
def survey_open(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, surveys.open_survey, _("问卷已开始"))


@login_required
@require_POST
def survey_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, surveys.close_survey, _("问卷已结束"))


def _link(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("portal:survey", args=[token]))


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A survey: per grid of the user's territory, its link and QR code, answers against target and
    知晓率/满意率/安全感 so far (one grouped query)."""
    from doorstep.core.qr import qr_svg

    user = request.user
    the_survey = surveys.survey_for(user, pk)
    links = list(surveys.visible_grids(user, the_survey))
    per_grid = stats.counts_by_grid(the_survey.responses.filter(grid_id__in=[sg.grid_id for sg in links]))
    total = stats.Counts()
    rows = []
    for sg in links:
        c = per_grid.get(sg.grid_id, stats.Counts())
        total.add(c)
        url = _link(request, sg.token)
        rows.append(
            {
                "sg": sg,
                "url": url,
                "qr": mark_safe(qr_svg(url, size_mm=28, label=sg.grid.name)),  # noqa: S308 (our own SVG, text escaped)
                "counts": c,
                "figures": _figures(c),
                "done": c.responses >= the_survey.target_per_grid,
            }
        )
    manage = access.may_manage_surveys(user, the_survey.station_id)
    return _staff(
        request,
        "portal/survey_detail.html",
        {
            "survey": the_survey,
            "rows": rows,
            "total": total,
            "total_figures": _figures(total),
            "target_total": the_survey.target_per_grid * len(rows),
            "may_manage": manage,
            "answerable": surveys.is_answerable(the_survey),
            "is_open": the_survey.status == SurveyStatus.OPEN,
            "responses_url": f"{reverse('online:survey_responses')}?survey={the_survey.pk}",
        },
    )


@login_required
def survey_qr_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """A4 sheet of the grids' QR codes with the grid names, for posting in the communities."""
    from doorstep.portal.qr import qr_sheet_pdf

    the_survey = surveys.survey_for(request.user, pk)
    labels = [
        (f"{sg.grid.community.name} · {sg.grid.name}", _link(request, sg.token))
        for sg in surveys.visible_grids(request.user, the_survey)
    ]
    data = qr_sheet_pdf(labels, title=_("%(title)s · 扫码参与问卷") % {"title": the_survey.title})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="survey-{the_survey.pk}-qr.pdf"'
    response["Cache-Control"] = "no-store, max-age=0"
    return response


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


@login_required
def survey_responses(request: HttpRequest) -> HttpResponse:
    """答卷明细 (the drill-down of the survey KPIs): responses in the user's territory, filtered by grid ids
    (repeatable `grid`), community, station, survey and submission dates (local days, inclusive). Shows the
    grid, time, the awareness ticks, ratings and comment — never the phone hash."""
    user = request.user
    qs = surveys.responses_for(user)
    form = ResponseFilterForm(user, request.GET or None)
    grid_params = request.GET.getlist("grid")
    survey_param = request.GET.get("survey")
    if form.is_bound and not form.is_valid():
        qs = qs.none()
    elif form.is_bound:
        d = form.cleaned_data
        if d.get("station"):
            qs = qs.filter(grid__community__station=d["station"])
        if d.get("community"):
            qs = qs.filter(grid__community=d["community"])
        if d.get("date_from"):
            qs = qs.filter(submitted_at__gte=_day_start(d["date_from"]))
        if d.get("date_to"):
            qs = qs.filter(submitted_at__lt=_day_start(d["date_to"] + dt.timedelta(days=1)))
    if grid_params:
        qs = qs.filter(grid_id__in=[i for i in map(id_param, grid_params) if i is not None])
    if survey_param is not None:
        survey_id = id_param(survey_param)
        qs = qs.filter(survey_id=survey_id) if survey_id is not None else qs.none()
    qs = qs.order_by("-submitted_at", "-id")
    total = stats.Counts()
    for c in stats.counts_by_grid(qs).values():
        total.add(c)
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    ratings, safeties = dict(Rating.choices), dict(SafetyRating.choices)
    for r in rows:
        r.satisfaction_label = ratings.get(r.satisfaction, "—")
        r.safety_label = safeties.get(r.safety, "—")
    return _staff(
        request,
        "portal/survey_responses.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "total": total,
            "figures": _figures(total),
            "grid_count": len(grid_params),
            # Every filter repeated on the pager's links (`grid` may come many times: _pager.html keeps one).
            "keep": urlencode([(k, v) for k, vs in request.GET.lists() if k != "page" for v in vs]),
        },
    )


urlpatterns = [
    path("s/<str:token>/", survey, name="survey"),
    path("s/<str:token>/code/", survey_code, name="survey_code"),
    path("s/<str:token>/thanks/", survey_thanks, name="survey_thanks"),
]

staff_urlpatterns = [
    path("surveys/", survey_list, name="surveys"),
    path("surveys/new/", survey_new, name="survey_new"),
    path("surveys/responses/", survey_responses, name="survey_responses"),
    path("surveys/<int:pk>/", survey_detail, name="survey_detail"),
    path("surveys/<int:pk>/edit/", survey_edit, name="survey_edit"),
    path("surveys/<int:pk>/open/", survey_open, name="survey_open"),
    path("surveys/<int:pk>/close/", survey_close, name="survey_close"),
    path("surveys/<int:pk>/qr.pdf", survey_qr_pdf, name="survey_qr_pdf"),
]
