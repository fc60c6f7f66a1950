"""The offline queue's endpoints (ADR 0024): device enrolment and revocation, items, conflict resolution.

JSON in, JSON out, never a redirect: the workspace's script must tell "signed out" (401, `code: login` — the
queue waits for a new login) from "this device is revoked" (403, `code: device_revoked` — the workspace wipes
its storage) from a malformed request (400 with a Chinese `detail`)."""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from doorstep.core.errors import ServiceError
from doorstep.core.requestdata import has_nul
from doorstep.mobile import access, devices, sync
from doorstep.mobile.handlers import parse_time
from doorstep.mobile.models import Device, ItemKind

MAX_ITEM_BYTES = 12 * 1024 * 1024  # a sealed visit with a phone photo (base64 inside base64url) fits
MAX_OTHER_BYTES = 64 * 1024


class _Refused(Exception):
    def __init__(self, status: int, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code

    def response(self) -> JsonResponse:
        body = {"detail": self.detail}
        if self.code:
            body["code"] = self.code
        return JsonResponse(body, status=self.status)


def _read_json(request: HttpRequest, limit: int) -> dict[str, Any]:
    """The body as a JSON object, read here (not through `request.body`, whose limit is the site's small
    DATA_UPLOAD_MAX_MEMORY_SIZE): larger than `limit` is a 413."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise _Refused(413, _("记录太大（超过%(mb)dMB），请减少照片后重新录入") % {"mb": limit // 2**20})
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise _Refused(413, _("记录太大（超过%(mb)dMB），请减少照片后重新录入") % {"mb": limit // 2**20})
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Refused(400, _("请求体不是合法的 JSON")) from None
    if not isinstance(data, dict):
        raise _Refused(400, _("请求体应为 JSON 对象"))
    if has_nul(data):  # PostgreSQL cannot store or even compare it
        raise _Refused(400, _("请求中含有不允许的空字符"))
    return data


def api(view):
    """Signed in, a workspace role, POST only; errors as JSON."""

    @functools.wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": _("登录已过期，请重新登录"), "code": "login"}, status=401)
        if not access.may_use(request.user):
            return JsonResponse({"detail": _("您的角色不能使用移动警务")}, status=403)
        if request.method != "POST":
            response = JsonResponse({"detail": _("不支持该请求方法")}, status=405)
            response["Allow"] = "POST"
            return response
        try:
            return view(request, *args, **kwargs)
        except _Refused as exc:
            return exc.response()
        except (
            ServiceError
        ) as exc:  # its own status: 400, RuleViolation 409, NotAllowed 403 (as /m/api/ reads)
            if exc.code == "not_found":
                return JsonResponse({"detail": str(exc)}, status=404)
            return JsonResponse({"detail": str(exc), "code": exc.code}, status=exc.status)

    return wrapper


def _not_other_users(request: HttpRequest, public_id: Any) -> None:
    if devices.is_other_users(request.user, public_id):
        raise _Refused(409, _("本机待发送记录属于另一位用户，请用其账号登录后发送"), "device_other_user")


def _active_device(request: HttpRequest, data: dict[str, Any]) -> Device:
    device = devices.device_of(request.user, data.get("device"))
    if device is None:
        _not_other_users(request, data.get("device"))
    if device is None or devices.is_revoked(device):
        raise _Refused(403, _("该终端已注销，请重新登录"), "device_revoked")
    return device


@api
def enrol_device(request: HttpRequest) -> JsonResponse:
    """Enrol this browser, or confirm the device it already holds (`device`): the same device (200) while it
    is the user's and not revoked, else a new one (201, `renewed: true`) — the browser then drops what it
    sealed for the old one. Another user's device is a 409: that user's queue is never replaced here."""
    from doorstep.mobile import sealing

    data = _read_json(request, MAX_OTHER_BYTES)
    known = data.get("device")
    if known is not None:
        current = devices.device_of(request.user, known)
        if current is None:
            _not_other_users(request, known)
        elif not devices.is_revoked(current):
            return JsonResponse({"device": current.public_id, "public_key": sealing.public_key(current.salt)})
    device = devices.enrol(request.user, data.get("label") or "")
    body: dict[str, Any] = {"device": device.public_id, "public_key": sealing.public_key(device.salt)}
    if known is not None:
        body["renewed"] = True
    return JsonResponse(body, status=201)


@api
def revoke_device(request: HttpRequest, public_id: str) -> JsonResponse:
    device = devices.device_of(request.user, public_id)
    if device is None:
        return JsonResponse({"detail": _("终端不存在")}, status=404)
    devices.revoke(device, by=request.user, reason=_("退出移动警务"))
    return JsonResponse({"device": device.public_id, "revoked": True})


def _client_id(value: Any) -> uuid.UUID:
    if not isinstance(value, str) or len(value) > 40:
        raise _Refused(400, _("记录编号无效"))
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _Refused(400, _("记录编号无效")) from None


@api
def items(request: HttpRequest) -> JsonResponse:
    data = _read_json(request, MAX_ITEM_BYTES)
    device = _active_device(request, data)
    client_id = _client_id(data.get("id"))
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in ItemKind.values:
        raise _Refused(400, _("未知的记录类别"))
    recorded_at = parse_time(data.get("recorded_at"))
    if recorded_at is None:
        raise _Refused(400, _("记录时间无效（应为带时区的 ISO 8601 时间）"))
    summary = data.get("summary", "")
    if not isinstance(summary, str) or len(summary) > sync.MAX_SUMMARY:
        raise _Refused(400, _("记录摘要无效（最多120字）"))
    if not isinstance(data.get("sealed"), dict):
        raise _Refused(400, _(sync.UNSEAL_FAILED))
    devices.touch(device)
    item, replayed = sync.receive(
        request.user,
        device,
        client_id=client_id,
        kind=kind,
        recorded_at=recorded_at,
        summary=summary,
        sealed=data["sealed"],
    )
    return JsonResponse(sync.answer(item, replayed=replayed))


@api
def resolve(request: HttpRequest, client_id: str) -> JsonResponse:
    try:
        parsed = uuid.UUID(client_id)
    except ValueError:  # a str route (not <uuid:>): signed out is a 401 whatever the id, never a bare 404
        return JsonResponse({"detail": _("该记录不存在")}, status=404)
    data = _read_json(request, MAX_OTHER_BYTES)
    device = _active_device(request, data)
    devices.touch(device)
    item, replayed = sync.resolve(request.user, device, parsed, data.get("option"))
    return JsonResponse(sync.answer(item, replayed=replayed))


urlpatterns = [
    path("api/device", enrol_device, name="device_enrol"),
    path("api/device/<str:public_id>/revoke", revoke_device, name="device_revoke"),
    path("api/items", items, name="items"),
    path("api/items/<str:client_id>/resolve", resolve, name="item_resolve"),
]
