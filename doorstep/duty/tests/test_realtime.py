"""Room alerts (无人值守告警) pushed live to the station's duty WebSocket group after commit, on Channels'
real in-memory layer: opened by the tick, cleared by a clock-in, nothing when the transaction rolls back,
and the /ws/duty/ consumer (the shared `StaffConsumer`) forwarding them to a station's board.

pytest-asyncio is not installed: each async body runs through `async_to_sync` from a sync test."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import override_settings

from doorstep.conftest import build_world
from doorstep.duty import services, supervision
from doorstep.duty.consumers import DutyConsumer, station_group
from doorstep.duty.models import RoomAlert
from doorstep.duty.realtime import publish_room_alert
from doorstep.duty.tests.factories import at

QUIET = 0.2  # seconds to wait for a message that must not come


@pytest.fixture(autouse=True)
def in_memory_layer():
    """A fresh in-memory layer per test, so no group or queue outlives the event loop of its test."""
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        channel_layers.backends.clear()
        yield
    channel_layers.backends.clear()


def listen(station_id: int) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(station_group(station_id), channel)
    return channel


def received(channel: str) -> list[dict]:
    async def body():
        layer, messages = get_channel_layer(), []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), QUIET))
            except TimeoutError:
                return messages

    return async_to_sync(body)()


@pytest.mark.django_db
def test_tick_publishes_the_opened_alert_to_the_station_group_after_commit(
    world, django_capture_on_commit_callbacks
):
    channel = listen(world.s1.pk)
    with django_capture_on_commit_callbacks(execute=True):
        supervision.tick(at(23, 8, 20))
    messages = received(channel)
    alerts = {a.pk: a for a in RoomAlert.objects.filter(room__community__station=world.s1)}
    assert alerts and sorted(m["payload"]["id"] for m in messages) == sorted(alerts)
    message = next(m for m in messages if m["payload"]["room"]["id"] == world.room_c1.pk)
    assert message["type"] == "duty.alert"
    assert message["payload"]["open"] and message["payload"]["reason_label"] == "无排班无人值守"
    assert message["payload"]["station"] == world.s1.pk

    # Cleared by a clock-in: the board hears that too.
    with django_capture_on_commit_callbacks(execute=True):
        services.clock_in(
            staff=world.officer_a_staff,
            room=world.room_c1,
            lng=118.605,
            lat=24.905,
            accuracy=5,
            by=None,
            now=at(23, 8, 30),
        )
    [cleared] = received(channel)
    assert cleared["payload"]["room"]["id"] == world.room_c1.pk and not cleared["payload"]["open"]


@pytest.mark.django_db
def test_nothing_is_published_when_the_transaction_rolls_back(world, django_capture_on_commit_callbacks):
    channel = listen(world.s1.pk)

    class Abort(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abort),
        transaction.atomic(),
    ):
        supervision.tick(at(23, 8, 20))
        raise Abort
    assert callbacks == [] and not RoomAlert.objects.exists()
    assert received(channel) == []


def test_the_duty_socket_forwards_room_alerts_of_the_users_stations(transactional_db):
    world = build_world()
    supervision.tick(at(23, 8, 20))  # transactional: committed, so the on_commit publishers ran already
    alert = RoomAlert.objects.get(room=world.room_c1)

    async def body():
        ws = WebsocketCommunicator(DutyConsumer.as_asgi(), "/ws/duty/")
        ws.scope["user"] = world.director
        connected, _ = await ws.connect()
        assert connected
        hello = await ws.receive_json_from(timeout=2)
        assert hello["type"] == "hello" and world.s1.pk in hello["stations"]
        other = WebsocketCommunicator(DutyConsumer.as_asgi(), "/ws/duty/")
        other.scope["user"] = world.director_s2
        assert (await other.connect())[0]
        await other.receive_json_from(timeout=2)
        await sync_to_async(publish_room_alert)(alert.pk)
        message = await ws.receive_json_from(timeout=2)
        assert message["type"] == "room_alert" and message["payload"]["id"] == alert.pk
        assert await other.receive_nothing(QUIET)  # another station's director hears nothing
        await ws.disconnect()
        await other.disconnect()

    async_to_sync(body)()
