"""The HTTP alarm receiver: `POST /api/v1/alarm-events`, signed by the device.

Headers `X-Device-Id`, `X-Timestamp` (Unix seconds) and `X-Signature` = hex HMAC-SHA256 of
`timestamp + "." + body` with the device's secret. A timestamp more than 5 minutes away from the server's
clock is refused. 201 with the id once the row is committed; a repeated `event_id` answers 200 with the same
id and creates nothing; an unknown device and a bad signature get the same 401.
"""

from __future__ import annotations

import json
import logging

from django.db import DatabaseError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from doorstep.alarms import services, signing
from doorstep.alarms.choices import Protocol
from doorstep.alarms.models import Alarm, AlarmDevice
from doorstep.core.dbwrites import serialized_writes

logger = logging.getLogger("doorstep.alarms")

MAX_BODY = 4096
DEVICE_TYPES = signing.DEVICE_TYPES


def _refused() -> Response:
    return Response(
        {"detail": _("设备认证失败")}, status=401
    )  # the same for unknown device and bad signature


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
            503: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request):
        try:
            return self._receive(request)
        except DatabaseError as exc:
            # Nothing was stored (the database is restarting or unreachable): the device must send again.
            logger.warning("HTTP 报警事件入库失败（%s），已答复 503，等待设备重发", type(exc).__name__)
            return Response(
                {"detail": _("报警暂时无法保存，请立即重发")}, status=503, headers={"Retry-After": "1"}
            )

    def _receive(self, request):
        body = request.body
        device_id = request.headers.get("X-Device-Id", "")
        timestamp = request.headers.get("X-Timestamp", "")
        signature = request.headers.get("X-Signature", "")
        device = (
            AlarmDevice.objects.filter(device_id=device_id[:40], active=True, protocol=Protocol.HTTP).first()
            if device_id
            else None
        )
        if len(body) > MAX_BODY or not signing.signature_ok(device, timestamp, body, signature):
            return _refused()
        skew = signing.skew_seconds(timestamp)
        if skew is None:
            return _refused()
        if skew > signing.MAX_SKEW_SECONDS:
            return Response({"detail": _("时间戳与服务器时间相差超过5分钟，请校准设备时钟")}, status=401)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Response({"detail": _("请求体不是合法的 JSON")}, status=400)
        fields, errors = signing.check_event_fields(data)
        if fields is None:
            detail = "；".join(errors.values())
            return Response({"detail": detail, "errors": errors}, status=400)
        event_id = fields["event_id"]
        with serialized_writes():
            row, created = services.receive_event(
                device,
                event_id=event_id,
                event_type=fields["type"],
                occurred_at=fields["occurred_at"],
                protocol=Protocol.HTTP,
            )
        kind = "alarm" if isinstance(row, Alarm) else "event"
        return Response({"id": row.pk, "kind": kind, "event_id": event_id}, status=201 if created else 200)
