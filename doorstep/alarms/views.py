"""The dispatch console and the officer's phone page.

The console (dispatchers, directors, leaders) shows the open alarms of the user's stations and their open
device alerts, live over /ws/alarms/; acknowledge → dispatch → arrival → close happen here. The phone page
(/alarms/mine/) shows an officer the alarms they were sent to and records their arrival with the phone's GPS.
Every action answers JSON (`Accept: application/json`; errors as 4xx with `detail`) or, for a plain form,
redirects back with a message. Reloading either page rebuilds it from the server.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from doorstep.alarms import services, supervision
from doorstep.alarms.choices import AlarmState, Disposition
from doorstep.alarms.models import Alarm, DeviceAlert
from doorstep.core.errors import ServiceError
from doorstep.core.ids import id_param
from doorstep.core.requestdata import request_data
from doorstep.maps.views import GLYPH_FONT
from doorstep.org.territory import Territory, get_in_territory

MAX_ALARMS = 100
MAX_ALERTS = 200


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _alarms_for(user):
    if not services.is_console(user):
        raise Http404
    return Territory.for_user(user).filter(Alarm.objects.all())


def _alarm_for_action(user, pk: int, *, console_only: bool) -> Alarm:
    """A console user acts on the alarms of their stations; anyone else only on the alarms they were sent to
    (and only where that is allowed at all). Anything else is a 404 (outsiders learn nothing)."""
    if services.is_console(user):
        return get_in_territory(user, Alarm.objects.all(), pk=pk)
    if console_only:
        raise Http404
    alarm = Alarm.objects.filter(pk=pk, dispatched_to=user).first()
    if alarm is None:
        raise Http404
    return alarm


def _not_found() -> JsonResponse:
    return JsonResponse({"detail": _("报警不存在或不在您的辖区")}, status=404)


def _labels() -> dict[str, str]:
    """The words console.js and mine.js put on the page (translated here, once, for both)."""
    return {
        "ack": _("确认"),
        "dispatch": _("派警"),
        "redispatch": _("改派"),
        "arrive_for": _("代为登记到场"),
        "close": _("结案"),
        "note": _("处置说明"),
        "officer": _("出警人员"),
        "choose_officer": _("— 选择出警人员 —"),
        "grid_officer": _("网格民警"),
        "none": _("无"),
        "loading": _("加载中…"),
        "online": _("实时连接正常"),
        "offline": _("连接中断，正在重连…"),
        "location": _("位置"),
        "lead": _("治保负责人"),
        "grid": _("网格"),
        "drill": _("演练"),
        "escalated": _("已升级"),
        "late": _("超时未到场"),
        "no_fix": _("无定位"),
        "pressed": _("按下"),
        "received": _("接收"),
        "acknowledged": _("确认"),
        "dispatched": _("派警"),
        "arrived": _("到场"),
        "closed": _("结案"),
        "by": _("经办"),
        "elapsed": _("已用时"),
        "norm": _("到场时限"),
        "minutes": _("分钟"),
        "over": _("已超时"),
        "distance": _("距单位"),
        "metres": _("米"),
        "accuracy": _("精度"),
        "on_map": _("地图"),
        "map_link": _("在电子地图中查看"),
        "map_caption": _("点击报警卡片上的“地图”，在此查看单位位置"),
        "map_unavailable": _("地图无法显示（浏览器不支持 WebGL），请使用电子地图链接"),
        "not_on_map": _("该单位未标注位置"),
        "escalation": _("超时未确认，已升级"),
        "escalation_banner": _("报警超时未确认，已升级到所长和分局指挥"),
        "show": _("查看"),
        "alerts_empty": _("暂无未解除的设备告警"),
        "sound_on": _("开启提示音"),
        "sound_ready": _("提示音已开启"),
        "confirm_arrive_for": _("确认出警人员已到场？（由调度台代为登记，无定位）"),
        "error": _("操作失败"),
        "navigate": _("导航"),
        "our_map": _("本系统地图"),
        "arrive": _("到场"),
        "locating": _("正在获取定位…"),
        "arriving": _("正在登记到场…"),
        "arrived_at": _("已到场"),
        "arrive_no_fix": _("不带定位登记到场"),
        "to_mediation": _("现场是矛盾纠纷：登记调解"),
        "geo_denied": _("定位权限被拒绝。请在浏览器设置中允许本网站使用位置信息后重试。"),
        "geo_unavailable": _("暂时无法获取定位（信号弱或定位服务关闭）。请到开阔处重试。"),
        "geo_timeout": _("获取定位超时。请重试。"),
        "geo_unsupported": _("此浏览器无法提供定位（需要 HTTPS 访问）。"),
        "geo_fallback": _("也可以不带定位登记到场，调度台将显示“无定位”。"),
        "new_dispatch": _("新的出警任务"),
        "withdrawn": _("该警情已改派他人或已结案"),
        "mine_empty": _("目前没有派给您的警情。有新的派警时，本页会响铃并振动。"),
        "notify_on": _("开启响铃和振动"),
    }


# --- the console ---------------------------------------------------------------------------------------------
def _console_state(user) -> dict[str, Any]:
    open_alarms = _alarms_for(user).exclude(state=AlarmState.CLOSED).order_by("-received_at")
    alerts = (
        Territory.for_user(user)
        .filter(DeviceAlert.objects.filter(cleared_at__isnull=True))
        .select_related("device__unit")
        .order_by("-raised_at")[:MAX_ALERTS]
    )
    return {
        "alarms": services.console_payloads(open_alarms.values_list("pk", flat=True)[:MAX_ALARMS]),
        "alerts": [supervision.alert_payload(a) for a in alerts],
        "now": timezone.now().isoformat(),
    }


@login_required
@require_GET
def console(request):
    state = _console_state(request.user)
    if _wants_json(request):
        return JsonResponse(state)
    return render(
        request,
        "alarms/console.html",
        {
            **state,
            "dispositions": [{"value": v, "label": str(label)} for v, label in Disposition.choices],
            "labels": _labels(),
            "time_zone": settings.TIME_ZONE,
            "escalate_seconds": settings.ALARM_ESCALATE_SECONDS,
            "style_url": settings.MAP_STYLE_URL,
            "center": list(settings.MAP_CENTER),
            "glyph_font": GLYPH_FONT,
        },
    )


@login_required
@require_GET
def officers(request, pk: int):
    """Who the dispatcher may send to this alarm, and whom the console preselects (the grid's officer)."""
    try:
        alarm = get_in_territory(request.user, _alarms_for(request.user), pk=pk)
    except Http404:
        return _not_found()
    default = services.grid_officer(alarm.grid_id)
    candidates = services.dispatch_candidates(alarm.station_id)
    return JsonResponse(
        {
            "default": default.pk if default is not None else None,
            "officers": [services.person_payload(u) for u in candidates],
        }
    )


def _act(request, pk: int, call, done: str, *, console_only: bool = True, back: str = "alarms:console"):
    try:
        alarm = _alarm_for_action(request.user, pk, console_only=console_only)
    except Http404:
        if _wants_json(request):
            return _not_found()
        raise
    try:
        alarm = call(alarm)
    except ServiceError as exc:
        if _wants_json(request):
            return JsonResponse({"detail": str(exc), "code": exc.code}, status=exc.status)
        messages.error(request, str(exc))
        return redirect(back)
    if _wants_json(request):
        return JsonResponse(services.console_payload(alarm))
    messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def acknowledge(request, pk: int):
    return _act(request, pk, lambda a: services.acknowledge(a, by=request.user), _("已确认报警"))


@login_required
@require_POST
def dispatch(request, pk: int):
    chosen = request.POST.get("officer", "").strip()

    def call(alarm):
        officer = None
        if chosen:
            if id_param(chosen) is None:
                raise ServiceError(_("请选择出警人员"), code="officer")
            officer = get_user_model().objects.filter(pk=id_param(chosen)).first()
            if officer is None:
                raise ServiceError(_("出警人员不存在"), code="officer")
        return services.dispatch(alarm, officer=officer, by=request.user)

    return _act(request, pk, call, _("已派警"))


def _position_from(request) -> dict[str, Any]:
    """lng, lat, accuracy from a form post or a JSON body; missing ones are None (arrival without a fix)."""
    data = request_data(request)
    return {key: data.get(key) for key in ("lng", "lat", "accuracy")}


@login_required
@require_POST
def arrive(request, pk: int):
    back = "alarms:console" if services.is_console(request.user) else "alarms:mine"

    def call(alarm):
        return services.arrive(alarm, by=request.user, **_position_from(request))

    return _act(request, pk, call, _("已登记到场"), console_only=False, back=back)


@login_required
@require_POST
def close(request, pk: int):
    disposition = request.POST.get("disposition", "")

    def call(alarm):
        return services.close(
            alarm, disposition=disposition, note=request.POST.get("note", ""), by=request.user
        )

    return _act(request, pk, call, _("报警已结案"))


# --- the officer's phone page ----------------------------------------------------------------------------------
@login_required
@require_GET
def mine(request) -> HttpResponse:
    """The alarms I was sent to that are not closed yet, newest first."""
    ids = (
        Alarm.objects.filter(dispatched_to=request.user)
        .exclude(state=AlarmState.CLOSED)
        .order_by("-received_at")
        .values_list("pk", flat=True)[:MAX_ALARMS]
    )
    state = {"alarms": services.console_payloads(ids), "now": timezone.now().isoformat()}
    if _wants_json(request):
        return JsonResponse(state)
    return render(
        request, "alarms/mine.html", {**state, "labels": _labels(), "time_zone": settings.TIME_ZONE}
    )
