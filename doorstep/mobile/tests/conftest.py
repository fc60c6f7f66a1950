"""Mobile workspace fixtures on top of the shared `world` (doorstep/conftest.py): a phone — a signed-in
Django test client with an enrolled device — that seals records in Python exactly as the browser does
(`sealing.seal`) and posts them to the queue's endpoints."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from doorstep.mobile import sealing
from doorstep.mobile.models import Device

ITEMS = "/m/api/items"
DEVICE = "/m/api/device"


def iso(at: dt.datetime) -> str:
    return timezone.localtime(at).isoformat()


@dataclass
class Phone:
    user: Any
    client: Client
    device_id: str
    public_key: str

    @property
    def device(self) -> Device:
        return Device.objects.get(public_id=self.device_id)

    def post(self, url: str, body: Any, **extra: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(url, data=data, content_type="application/json", **extra)

    def body(
        self,
        kind: str,
        record: Any,
        *,
        client_id: str | None = None,
        recorded_at: dt.datetime | None = None,
        summary: str = "离线记录",
    ) -> dict[str, Any]:
        client_id = client_id or str(uuid.uuid4())
        return {
            "device": self.device_id,
            "id": client_id,
            "kind": kind,
            "recorded_at": iso(recorded_at or timezone.now()),
            "summary": summary,
            "sealed": sealing.seal(self.public_key, record, client_id),
        }

    def send(self, kind: str, record: Any, **kwargs: Any) -> Any:
        return self.post(ITEMS, self.body(kind, record, **kwargs))

    def resolve(self, client_id: str, option: str) -> Any:
        return self.post(f"{ITEMS}/{client_id}/resolve", {"device": self.device_id, "option": option})


def enrol(user: Any, label: str = "测试手机") -> Phone:
    client = Client()
    client.force_login(user)
    response = client.post(DEVICE, data=json.dumps({"label": label}), content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    return Phone(user, client, data["device"], data["public_key"])


@pytest.fixture
def phone_for(world):
    """phone_for(user) → a Phone: that user signed in, with a freshly enrolled device."""
    return enrol


@pytest.fixture
def phone(world) -> Phone:
    """officer_a's phone (community officer of grid A, station S1)."""
    return enrol(world.officer_a)
