"""The dispatch console: open alarms of the user's stations, live over the WebSocket, acknowledged and
closed here. Reloading rebuilds it from the server."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.alarms import services
from doorstep.alarms.choices import AlarmState, Disposition
from doorstep.alarms.models import Alarm
from doorstep.core.errors import ServiceError
from doorstep.org.territory import Territory, get_in_territory


def _alarms_for(user):
    if user.role not in services.CONSOLE_ROLES and not user.is_superuser:
        raise Http404
    return Territory.for_user(user).filter(Alarm.objects.all())


@login_required
def console(request):
    qs = _alarms_for(request.user)
    open_alarms = [
        services.console_payload(a)
        for a in qs.exclude(state=AlarmState.CLOSED).order_by("-received_at")[:100]
    ]
    return render(
        request,
        "alarms/console.html",
        {"alarms": open_alarms, "dispositions": Disposition.choices},
    )


def _act(request, pk: int, call, done: str):
    alarm = get_in_territory(request.user, _alarms_for(request.user), pk=pk)
    try:
        alarm = call(alarm)
    except ServiceError as exc:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"detail": str(exc)}, status=exc.status)
        messages.error(request, str(exc))
        return redirect("alarms:console")
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(services.console_payload(alarm))
    messages.success(request, done)
    return redirect("alarms:console")


@login_required
@require_POST
def acknowledge(request, pk: int):
    return _act(request, pk, lambda a: services.acknowledge(a, by=request.user), _("已确认报警"))


@login_required
@require_POST
def close(request, pk: int):
    disposition = request.POST.get("disposition", "")

    def call(alarm):
        if disposition not in Disposition.values:
            raise ServiceError(_("请选择处置结果"), code="disposition")
        return services.close(
            alarm, disposition=disposition, note=request.POST.get("note", ""), by=request.user
        )

    return _act(request, pk, call, _("报警已结案"))
