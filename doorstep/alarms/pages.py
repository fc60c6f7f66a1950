"""Device management pages of the one-click alarm (provisioning, device health, drills, statistics).

Reads through the scoped selectors of `devices`, `drills` and `stats`; writes through their services (and
`services.provision_device`). Roles without these pages get a 404, as for objects outside the territory;
a role that sees a device but may not manage it gets a 403. Credentials appear only in the response to the
POST that created them (provisioning or rotation), with `Cache-Control: no-store`: never in a URL, the
session, a message or a log, and no page shows them again.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.accounts.choices import Role
from doorstep.alarms import devices, drills, services, stats, supervision
from doorstep.alarms.choices import DrillStatus, Protocol
from doorstep.alarms.forms import (
    DeviceEditForm,
    DeviceFilterSet,
    DeviceForm,
    DrillForm,
    NoteForm,
    OptionalNoteForm,
    PeriodForm,
    RotateForm,
    StatsDetailForm,
    StatsForm,
)
from doorstep.alarms.models import Alarm
from doorstep.audit.models import AccessKind, AuditEntry
from doorstep.audit.services import record_access
from doorstep.core.errors import ServiceError
from doorstep.core.forms import form_errors_text, style
from doorstep.core.ids import ascii_digits
from doorstep.org.territory import Territory, get_in_territory
from doorstep.registry import selectors as registry_selectors

PER_PAGE = 50


# --- helpers -------------------------------------------------------------------------------------------------
def _posted(request):
    """The POST data of a form submission (even an empty one), None for a GET."""
    return request.POST if request.method == "POST" else None


def _require_viewer(user: Any) -> None:
    if not devices.may_view(user):
        raise Http404


def _require_manager(user: Any) -> None:
    """Pages that create (provisioning, scheduling drills) do not exist for roles that never manage (404)."""
    if not devices.may_manage(user):
        raise Http404


def _require_manager_of(user: Any, station_id: int) -> None:
    """Acting on a device or drill the user can see but may not manage is a 403 (one outside the territory
    never gets here: it is a 404)."""
    if not devices.may_manage(user, station_id):
        raise PermissionDenied(_("报警设备须由本所所长或系统管理员管理"))


def _device_for(request, pk: int):
    _require_viewer(request.user)
    return get_in_territory(request.user, devices.devices_for(request.user), pk=pk)


def _private(response: HttpResponse) -> HttpResponse:
    """Nothing on this page may be kept by the browser or a proxy (credentials, personal data)."""
    response["Cache-Control"] = "no-store, max-age=0"
    response["Pragma"] = "no-cache"
    return response


def _tabs(user: Any) -> list[tuple[str, str, str]]:
    """The tabs of the alarm management pages this user may open: (url name, icon, label)."""
    tabs = []
    if devices.may_view(user):
        tabs += [
            ("alarms:device_list", "device-mobile", _("报警设备")),
            ("alarms:device_health", "heartbeat", _("设备健康")),
            ("alarms:drill_report", "checkup-list", _("演练")),
        ]
    if stats.may_see(user):
        tabs.append(("alarms:stats", "chart-bar", _("报警统计")))
    return tabs


TAB_OF = {
    "alarms:device_new": "alarms:device_list",
    "alarms:device_detail": "alarms:device_list",
    "alarms:device_edit": "alarms:device_list",
    "alarms:device_rotate": "alarms:device_list",
    "alarms:drill_new": "alarms:drill_report",
    "alarms:stats_detail": "alarms:stats",
}


def _render(request, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    view = request.resolver_match.view_name if request.resolver_match else ""
    context.setdefault("tabs", _tabs(request.user))
    context.setdefault("active_tab", TAB_OF.get(view, view))
    return render(request, template, context, status=status)


def _manageable_key_units(user: Any):
    units = registry_selectors.units_for(user).filter(is_key=True).order_by("name", "id")
    if user.is_superuser or user.role != Role.DIRECTOR:
        return units
    return units.filter(grid__community__station_id=user.station_id)


def _manageable_stations(user: Any):
    stations = Territory.for_user(user).stations().order_by("code")
    if user.is_superuser or user.role != Role.DIRECTOR:
        return stations
    return stations.filter(pk=user.station_id)


def _age(since: dt.datetime | None, now: dt.datetime) -> str:
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)d天%(h)d小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d小时%(m)d分") % {"h": hours, "m": minutes}
    return _("%(m)d分钟") % {"m": minutes}


def _decorate(rows, now: dt.datetime):
    """Labels, badges and alert ages for rows annotated by `devices.with_health`."""
    for device in rows:
        device.health_label = devices.Health.labels[device.health]
        device.health_badge = devices.Health.badges[device.health]
        device.overdue = device.active and supervision.heartbeat_overdue(device, now)
        for alert in getattr(device, "open_alerts", []):
            alert.age = _age(alert.raised_at, now)
    return rows


# --- devices -------------------------------------------------------------------------------------------------
@login_required
def device_list(request):
    user = request.user
    _require_viewer(user)
    now = timezone.now()
    qs = devices.with_health(devices.devices_for(user), now).order_by(
        "station__code", "unit__name", "device_id"
    )
    filterset = DeviceFilterSet(request.GET or None, queryset=qs, request=request)
    style(filterset.form)
    rows = filterset.qs  # invalid filter values are dropped and shown as errors, as on the registry lists
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _decorate(list(page.object_list), now)
    return _render(
        request,
        "alarms/device_list.html",
        {"filter": filterset, "page": page, "can_provision": devices.may_manage(user)},
    )


@login_required
def device_new(request):
    user = request.user
    _require_manager(user)
    units = _manageable_key_units(user)
    initial: dict[str, Any] = {}
    unit_id = request.GET.get("unit", "")
    if ascii_digits(unit_id) and len(unit_id) < 12 and (unit := units.filter(pk=unit_id).first()):
        initial["unit"] = unit.pk
    form = DeviceForm(_posted(request), units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device, credentials = services.provision_device(
                unit=data["unit"],
                device_id=data["device_id"].strip(),
                location=data["location"],
                kind=data["kind"],
                protocol=data["protocol"],
                heartbeat_seconds=data["heartbeat_seconds"],
                sia_account=data["sia_account"].strip(),
                with_aes_key=data["with_aes_key"],
                by=user,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return _credentials(request, device, credentials, first=True)
    return _private(_render(request, "alarms/device_form.html", {"form": form, "title": _("新增报警设备")}))


def _credentials(request, device, credentials: dict[str, str], *, first: bool) -> HttpResponse:
    """The one response that shows credentials: rendered in answer to the POST, never stored, never cached."""
    context = {
        "device": device,
        "credentials": credentials,
        "first": first,
        "dc09": device.protocol == Protocol.DC09,
        "mqtt": device.protocol == Protocol.MQTT,
        "endpoint": request.build_absolute_uri("/api/v1/alarm-events"),
        "mqtt_prefix": settings.MQTT_TOPIC_PREFIX,
        "dc09_port": settings.DC09_PORT,
    }
    return _private(_render(request, "alarms/credentials.html", context))


@login_required
def device_detail(request, pk: int):
    user = request.user
    device = _device_for(request, pk)
    now = timezone.now()
    device = _decorate(list(devices.with_health(devices.devices_for(user), now).filter(pk=device.pk)), now)[0]
    alerts = list(device.alerts.select_related("cleared_by").order_by("-raised_at", "-id")[:30])
    notes = dict(
        AuditEntry.objects.filter(
            action="alarms.clear_alert",
            object_type="alarms.devicealert",
            object_id__in=[str(a.pk) for a in alerts if a.cleared_at],
        ).values_list("object_id", "note")
    )
    for alert in alerts:
        alert.age = _age(alert.raised_at, alert.cleared_at or now)
        alert.clear_note = notes.get(str(alert.pk), "")
    upcoming = device.drills.filter(status=DrillStatus.SCHEDULED).order_by("starts_at")[:8]
    past = (
        device.drills.exclude(status=DrillStatus.SCHEDULED)
        .select_related("alarm")
        .order_by("-starts_at")[:10]
    )
    context = {
        "device": device,
        "alerts": alerts,
        "events": device.events.order_by("-received_at", "-id")[:20],
        "alarms": device.alarms.select_related("dispatched_to").order_by("-received_at", "-id")[:20],
        "upcoming": list(upcoming),
        "past_drills": list(past),
        "can_manage": devices.may_manage(user, device.station_id),
        "can_clear": devices.may_clear_alerts(user, device.station_id),
        "clear_form": NoteForm(),
        "active_form": OptionalNoteForm(),
        "dc09": device.protocol == Protocol.DC09,
    }
    return _private(_render(request, "alarms/device_detail.html", context))


@login_required
def device_edit(request, pk: int):
    user = request.user
    device = _device_for(request, pk)
    _require_manager_of(user, device.station_id)
    initial = {"location": device.location, "heartbeat_seconds": device.heartbeat_seconds}
    form = DeviceEditForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            devices.update_device(device, by=user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("设备信息已保存"))
            return redirect("alarms:device_detail", pk=device.pk)
    return _render(
        request, "alarms/device_form.html", {"form": form, "title": _("修改报警设备"), "device": device}
    )


@login_required
def device_rotate(request, pk: int):
    user = request.user
    device = _device_for(request, pk)
    _require_manager_of(user, device.station_id)
    form = RotateForm(_posted(request), device=device)
    if request.method == "POST" and form.is_valid():
        try:
            device, credentials = devices.rotate_credentials(
                device, by=user, with_aes_key=form.cleaned_data.get("with_aes_key", False)
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            return _credentials(request, device, credentials, first=False)
    return _private(
        _render(
            request,
            "alarms/device_rotate.html",
            {"form": form, "device": device, "dc09": device.protocol == Protocol.DC09},
        )
    )


@login_required
@require_POST
def device_set_active(request, pk: int):
    user = request.user
    device = _device_for(request, pk)
    _require_manager_of(user, device.station_id)
    form = OptionalNoteForm(request.POST)
    active = request.POST.get("active") == "1"
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect("alarms:device_detail", pk=device.pk)
    try:
        devices.set_active(device, active, by=user, note=form.cleaned_data["note"])
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("设备已启用") if active else _("设备已停用，未开始的演练已取消"))
    return redirect("alarms:device_detail", pk=device.pk)


@login_required
@require_POST
def alert_clear(request, pk: int):
    user = request.user
    _require_viewer(user)
    alert = get_in_territory(user, devices.alerts_for(user), pk=pk)
    if not devices.may_clear_alerts(user, alert.station_id):
        raise PermissionDenied(_("只有本所所长、调度员或系统管理员可以解除设备告警"))
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            devices.clear_alert(alert, note=form.cleaned_data["note"], by=user)
        except ServiceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已解除“%(kind)s”告警") % {"kind": alert.get_kind_display()})
    else:
        messages.error(request, _("请填写解除说明"))
    if request.POST.get("back") == "health":
        return redirect("alarms:device_health")
    return redirect("alarms:device_detail", pk=alert.device_id)


# --- device health -------------------------------------------------------------------------------------------
@login_required
def device_health(request):
    """Every active device of the user's stations with its health and open alerts; counts at the top."""
    user = request.user
    _require_viewer(user)
    now = timezone.now()
    stations = Territory.for_user(user).stations().order_by("code")
    station_id = request.GET.get("station", "")
    qs = devices.with_health(devices.devices_for(user).filter(active=True), now)
    station = (
        stations.filter(pk=station_id).first() if ascii_digits(station_id) and len(station_id) < 12 else None
    )
    if station is not None:
        qs = qs.filter(station=station)
    rows = _decorate(list(qs), now)
    # Worst first: offline, tamper, low battery, never seen, online; then by unit.
    order = {value: i for i, (value, _label) in enumerate(devices.Health.choices)}
    rows.sort(key=lambda d: (order[d.health], -len(d.open_alerts), d.unit.name, d.device_id))
    counts = {value: 0 for value, _label in devices.Health.choices if value != devices.Health.INACTIVE}
    for device in rows:
        counts[device.health] += 1
    inactive = devices.devices_for(user).filter(active=False)
    if station is not None:
        inactive = inactive.filter(station=station)
    context = {
        "rows": rows,
        "counts": [(value, devices.Health.labels[value], n) for value, n in counts.items()],
        "total": len(rows),
        "open_alerts": sum(len(d.open_alerts) for d in rows),
        "inactive": inactive.count(),
        "stations": stations,
        "station": station,
        "now": now,
        "can_clear": {s.pk for s in stations if devices.may_clear_alerts(user, s.pk)},
        "clear_form": NoteForm(),
    }
    template = "alarms/device_health_body.html" if request.GET.get("partial") else "alarms/device_health.html"
    return _private(_render(request, template, context))


# --- drills --------------------------------------------------------------------------------------------------
@login_required
def drill_report(request):
    user = request.user
    _require_viewer(user)
    stations = Territory.for_user(user).stations().order_by("code")
    form = PeriodForm(request.GET or None, stations=stations)
    context: dict[str, Any] = {"form": form, "can_schedule": devices.may_manage(user)}
    if not form.is_bound:
        form = PeriodForm({}, stations=stations)  # the default period
    if form.is_valid():
        data = form.cleaned_data
        start = timezone.make_aware(dt.datetime.combine(data["start"], dt.time()))
        end = timezone.make_aware(dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time()))
        qs = drills.drills_for(user)
        if data["station"]:
            qs = qs.filter(station=data["station"])
        result = drills.report(qs, start, end)
        context.update(
            report=result,
            period=(data["start"], data["end"]),
            station=data["station"],
            cancel_form=OptionalNoteForm(),
            manageable={s.pk for s in stations if devices.may_manage(user, s.pk)},
            statuses=[(s.value, s.label, result.counts.get(s.value, 0)) for s in DrillStatus],
        )
    context["form"] = form
    return _render(request, "alarms/drill_report.html", context, status=200 if form.is_valid() else 400)


@login_required
def drill_new(request):
    user = request.user
    _require_manager(user)
    station_qs = _manageable_stations(user)
    device_qs = (
        devices.devices_for(user)
        .filter(active=True, station__in=station_qs)
        .order_by("station__code", "unit__name", "device_id")
    )
    initial: dict[str, Any] = {}
    for name, qs in (("device", device_qs), ("station", station_qs)):
        value = request.GET.get(name, "")
        if ascii_digits(value) and len(value) < 12 and qs.filter(pk=value).exists():
            initial[name] = int(value)
            initial["target"] = name
    form = DrillForm(_posted(request), device_qs=device_qs, station_qs=station_qs, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = {data["target"]: data[data["target"]]}
        try:
            created = drills.schedule_drills(
                first_start=data["first_start"],
                window=dt.timedelta(minutes=data["window_minutes"]),
                every_months=data["every_months"],
                occurrences=data["occurrences"],
                note=data["note"],
                by=user,
                **target,
            )
        except ServiceError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("已安排%(devices)d台设备共%(n)d次演练")
                % {"devices": len({d.device_id for d in created}), "n": len(created)},
            )
            first = timezone.localtime(created[0].starts_at).date()
            last = timezone.localtime(created[-1].starts_at).date()
            query = f"?station={created[0].station_id}&start={first:%Y-%m-%d}&end={last:%Y-%m-%d}"
            return redirect(reverse("alarms:drill_report") + query)
    return _render(request, "alarms/drill_form.html", {"form": form})


@login_required
@require_POST
def drill_cancel(request, pk: int):
    user = request.user
    _require_viewer(user)
    drill = get_in_territory(user, drills.drills_for(user), pk=pk)
    _require_manager_of(user, drill.station_id)
    form = OptionalNoteForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError(_("说明不能超过200个字"))
        drills.cancel_drill(drill, by=user, note=form.cleaned_data["note"])
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("演练已取消"))
    if request.POST.get("back") == "device":
        return redirect("alarms:device_detail", pk=drill.device_id)
    local = timezone.localtime(drill.starts_at).date()
    return redirect(reverse("alarms:drill_report") + f"?station={drill.station_id}&start={local:%Y-%m-01}")


# --- statistics ----------------------------------------------------------------------------------------------
def _stats_stations(user: Any):
    if not stats.may_see(user):
        raise Http404
    return Territory.for_user(user).stations().order_by("code")


def _stats_cells(form: StatsForm, stations) -> list[stats.StationMonth]:
    data = form.cleaned_data
    chosen = [data["station"]] if data["station"] else list(stations)
    months = stats.month_range(data["start"], data["end"])
    return stats.compute(chosen, months)


def _ratio(rate_text: str, part: int, whole: int) -> str:
    return f"{rate_text}（{part}/{whole}）" if whole else rate_text


def _stats_row(cell: stats.StationMonth) -> dict[str, Any]:
    """One row of the station × month table: (text, figure whose alarms the number links to, css)."""
    iv = cell.intervals
    columns = [
        (cell.count("all"), "all", "fw-bold"),
        (cell.count("type:panic"), "type:panic", ""),
        (cell.count("type:silent_panic"), "type:silent_panic", ""),
    ]
    for step in ("acknowledged", "dispatched", "arrived"):
        columns += [(iv[step].p50_text, step, ""), (iv[step].p90_text, step, "")]
    columns += [
        (cell.count("emergency"), "emergency", ""),
        (
            _ratio(cell.on_time_text, cell.count("reached"), cell.settled),
            "emergency",
            _rate_css(cell.on_time_rate, 0.9),
        ),
        (_ratio(cell.false_rate_text, cell.count("false"), cell.count("closed")), "false", ""),
        (cell.count("drill"), "drill", "text-secondary"),
    ]
    return {"cell": cell, "base": f"?station={cell.station.pk}&month={cell.month}", "columns": columns}


def _rate_css(rate: float | None, target: float) -> str:
    return "" if rate is None or rate >= target else "text-danger fw-bold"


@login_required
def stats_table(request):
    stations = _stats_stations(request.user)
    form = StatsForm(request.GET or None, stations=stations)
    if not form.is_bound:
        form = StatsForm({}, stations=stations)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        cells = sorted(_stats_cells(form, stations), key=lambda c: c.station.code)
        cells.sort(key=lambda c: c.month, reverse=True)  # newest month first, stations in code order
        query = request.GET.copy()
        query.pop("format", None)
        context.update(rows=[_stats_row(c) for c in cells], query=query.urlencode())
    return _render(request, "alarms/stats.html", context, status=200 if form.is_valid() else 400)


def _figure_groups(cell: stats.StationMonth) -> list[tuple[str, list[tuple[str, Any, str]]]]:
    """The detail page's figures: (group, [(label, value, figure)])."""
    f, iv = stats.FIGURES, cell.intervals
    counts = [(str(f[k]), cell.count(k), k) for k in f if k == "all" or k.startswith("type:")]
    dispositions = [(str(f[k]), cell.count(k), k) for k in f if k.startswith("disposition:")]
    steps = []
    for step, label in (
        ("acknowledged", _("接警→确认")),
        ("dispatched", _("接警→派警")),
        ("arrived", _("接警→到场")),
    ):
        steps += [
            (f"{label} · {_('起数')}", iv[step].n, step),
            (f"{label} · P50", iv[step].p50_text, step),
            (f"{label} · P90", iv[step].p90_text, step),
        ]
    minutes = cell.norm_seconds // 60
    response = [
        (str(f["emergency"]), cell.count("emergency"), "emergency"),
        (
            _("%(label)s（时限%(m)d分钟）") % {"label": f["reached"], "m": minutes},
            cell.count("reached"),
            "reached",
        ),
        (str(f["late"]), cell.count("late"), "late"),
        (str(f["pending"]), cell.count("pending"), "pending"),
        (_("出警达标率"), _ratio(cell.on_time_text, cell.count("reached"), cell.settled), "emergency"),
    ]
    closing = [
        *dispositions,
        (str(f["open"]), cell.count("open"), "open"),
        (_("误报率"), _ratio(cell.false_rate_text, cell.count("false"), cell.count("closed")), "closed"),
        (str(f["drill"]), cell.count("drill"), "drill"),
    ]
    return [
        (_("报警数"), counts),
        (_("响应间隔"), steps),
        (_("出警达标"), response),
        (_("处置结果"), closing),
    ]


@login_required
def stats_detail(request):
    """One station-month: every figure, and the alarms behind the chosen one."""
    user = request.user
    stations = _stats_stations(user)
    form = StatsDetailForm(request.GET, stations=stations)
    if not form.is_valid():
        if "station" in form.errors:  # absent, not a number, or outside the territory
            raise Http404
        return _render(request, "alarms/stats_detail.html", {"form": form}, status=400)
    data = form.cleaned_data
    cell = stats.station_month(data["station"], data["month"])
    figure = data["figure"] or "all"
    ids = cell.ids.get(figure, [])
    page = Paginator(ids, PER_PAGE).get_page(request.GET.get("page"))
    alarms = {
        a.pk: a
        for a in Territory.for_user(user).filter(
            Alarm.objects.filter(pk__in=list(page.object_list)).select_related(
                "device", "unit", "acknowledged_by", "dispatched_to"
            )
        )
    }
    rows = [alarms[i] for i in page.object_list if i in alarms]
    verdicts = {
        alarm_id: verdict
        for verdict in ("reached", "late", "pending")
        for alarm_id in cell.ids.get(verdict, [])
    }
    for alarm in rows:
        for step, attr in stats.STEPS.items():
            moment = getattr(alarm, attr)
            after = (moment - alarm.received_at).total_seconds() if moment else None
            setattr(alarm, f"{step}_after", stats.fmt_seconds(after) if after is not None else "")
        alarm.verdict = verdicts.get(alarm.pk, "")  # only emergencies have one
    context = {
        "form": form,
        "cell": cell,
        "figure": figure,
        "figure_label": stats.FIGURES[figure],
        "page": page,
        "rows": rows,
        "base": f"?station={cell.station.pk}&month={cell.month}",
        "groups": _figure_groups(cell),
        "prev": cell.month.shift(-1),
        "next": cell.month.shift(1),
    }
    return _render(request, "alarms/stats_detail.html", context)


@login_required
def stats_export(request):
    """The station × month table as .xlsx or CSV (UTF-8 with BOM), audited as an export of the alarms
    behind it. Figures only: no names, phones or addresses."""
    user = request.user
    stations = _stats_stations(user)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        return HttpResponseBadRequest(_("导出格式应为 xlsx 或 csv"))
    form = StatsForm(request.GET, stations=stations)
    if not form.is_valid():
        problems = "；".join(
            f"{form.fields[k].label if k in form.fields else ''}：{' '.join(v)}"
            for k, v in form.errors.items()
        )
        return HttpResponseBadRequest(_("统计条件有误：%(problems)s") % {"problems": problems})
    cells = _stats_cells(form, stations)
    cells.sort(key=lambda c: (c.month, c.station.code))
    ids = sorted({i for c in cells for f in ("all", "drill") for i in c.ids.get(f, [])})
    record_access(
        user,
        AccessKind.EXPORT,
        "alarms.alarm",
        ids,
        fields=["statistics"],
        purpose=(request.GET.get("purpose") or "")[:200],
    )
    data = form.cleaned_data
    name = f"报警统计-{data['start']}至{data['end']}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(stats.write_csv(cells), content_type="text/csv; charset=utf-8")
    else:
        buffer = io.BytesIO()
        stats.write_xlsx(cells, buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("devices/", device_list, name="device_list"),
    path("devices/new/", device_new, name="device_new"),
    path("devices/health/", device_health, name="device_health"),
    path("devices/<int:pk>/", device_detail, name="device_detail"),
    path("devices/<int:pk>/edit/", device_edit, name="device_edit"),
    path("devices/<int:pk>/rotate/", device_rotate, name="device_rotate"),
    path("devices/<int:pk>/active/", device_set_active, name="device_set_active"),
    path("device-alerts/<int:pk>/clear/", alert_clear, name="alert_clear"),
    path("drills/", drill_report, name="drill_report"),
    path("drills/new/", drill_new, name="drill_new"),
    path("drills/<int:pk>/cancel/", drill_cancel, name="drill_cancel"),
    path("stats/", stats_table, name="stats"),
    path("stats/detail/", stats_detail, name="stats_detail"),
    path("stats/export/", stats_export, name="stats_export"),
]
