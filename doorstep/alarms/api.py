"""The HTTP alarm receiver: `POST /api/v1/alarm-events`, signed by the device.

Headers `X-Device-Id`, `X-Timestamp` (Unix seconds) and `X-Signature` = hex HMAC-SHA256 of
`timestamp + "." + body` with the device's secret. A timestamp more than 5 minutes away from the server's
clock is refused. 201 with the id once the row is committed; a repeated `event_id` answers 200 with the same
id and creates nothing; an unknown device and a bad signature get the same 401.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from doorstep.alarms import services
from doorstep.alarms.choices import EventType, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice

MAX_SKEW_SECONDS = 300
MAX_BODY = 4096
DEVICE_TYPES = {t.value for t in EventType if t != EventType.UNKNOWN}


def _refused() -> Response:
    return Response(
        {"detail": _("设备认证失败")}, status=401
    )  # the same for unknown device and bad signature


def _signature_ok(device: AlarmDevice | None, timestamp: str, body: bytes, signature: str) -> bool:
    # Computed even for an unknown device, so the answer takes the same time either way.
    secret = device.secret if device is not None and device.secret else "0" * 64
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower()) and device is not None


class AlarmEventView(APIView):
    authentication_classes: list = []  # the device signs each request; no session, no token
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["alarms"],
        summary="设备上报报警事件（HMAC 签名）",
        parameters=[
            OpenApiParameter("X-Device-Id", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Timestamp", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Signature", str, OpenApiParameter.HEADER, required=True),
        ],
        request=inline_serializer(
            "AlarmEvent",
            {
                "event_id": serializers.CharField(max_length=80),
                "type": serializers.ChoiceField(choices=sorted(DEVICE_TYPES)),
                "occurred_at": serializers.DateTimeField(),
            },
        ),
        responses={
            201: OpenApiTypes.OBJECT,
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request):
        body = request.body
        device_id = request.headers.get("X-Device-Id", "")
        timestamp = request.headers.get("X-Timestamp", "")
        signature = request.headers.get("X-Signature", "")
        device = (
            AlarmDevice.objects.filter(device_id=device_id[:40], active=True).first() if device_id else None
        )
        if len(body) > MAX_BODY or not _signature_ok(device, timestamp, body, signature):
            return _refused()
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            return _refused()
        if skew > MAX_SKEW_SECONDS:
            return Response({"detail": _("时间戳与服务器时间相差超过5分钟，请校准设备时钟")}, status=401)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Response({"detail": _("请求体不是合法的 JSON")}, status=400)
        errors = {}
        if not isinstance(data, dict):
            return Response({"detail": _("请求体应为 JSON 对象")}, status=400)
        event_id = data.get("event_id")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 80:
            errors["event_id"] = _("event_id 应为1至80个字符的字符串")
        event_type = data.get("type")
        if event_type not in DEVICE_TYPES:
            errors["type"] = _("type 应为 %(types)s 之一") % {"types": "、".join(sorted(DEVICE_TYPES))}
        occurred = parse_datetime(data["occurred_at"]) if isinstance(data.get("occurred_at"), str) else None
        if occurred is None or occurred.tzinfo is None:
            errors["occurred_at"] = _("occurred_at 应为带时区的 ISO 8601 时间")
        if errors:
            detail = "；".join(errors.values())
            return Response({"detail": detail, "errors": errors}, status=400)
        row, created = services.receive_event(
            device,
            event_id=event_id,
            event_type=event_type,
            occurred_at=occurred.astimezone(dt.UTC),
            protocol=Protocol.HTTP,
        )
        kind = "alarm" if isinstance(row, Alarm) else "event"
        return Response({"id": row.pk, "kind": kind, "event_id": event_id}, status=201 if created else 200)
