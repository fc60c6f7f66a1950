"""alarmd's MQTT receiver against the real Mosquitto on 127.0.0.1:1883: signed events in, stored once,
acknowledged on the ack topic after the commit, nothing lost while the receiver (or the broker link) is
away, or when the commit fails.

The devices are paho-mqtt clients signing with their own HMAC code (the documented form, computed here,
not with the receiver's helpers). Each test has its own topic prefix and client ids, so parallel workers
and earlier runs never mix; each test removes its persistent session from the broker at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import queue
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from doorstep.alarms import services
from doorstep.alarms.choices import EventType, Protocol
from doorstep.alarms.daemon import DbWorker
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceEvent
from doorstep.alarms.mqtt import MqttReceiver
from doorstep.alarms.tests.test_daemon_dc09 import LoopThread, make_key_unit
from doorstep.conftest import build_world, require_service

BROKER = ("127.0.0.1", 1883)
QUIET = 0.5  # seconds to wait for an ack that must not come


@pytest.fixture(autouse=True)
def mosquitto():
    require_service("Mosquitto", *BROKER)


@pytest.fixture
def world(transactional_db):
    return build_world()


@pytest.fixture
def prefix():
    return f"doorstep-test/{uuid.uuid4().hex[:12]}/devices"


@pytest.fixture
def buttons(world):
    unit = make_key_unit(world)
    made = {}
    for device_id in ("MQ-0001", "MQ-0002"):
        device, credentials = services.provision_device(
            unit=unit, device_id=device_id, location="大门", protocol=Protocol.MQTT, by=world.director
        )
        made[device_id] = (device, credentials["secret"])
    return made


class ReceiverRunner:
    """Starts and stops MqttReceivers with one client id (one persistent session) in a loop thread."""

    def __init__(self, prefix: str, port: int = BROKER[1]) -> None:
        self.prefix, self.port = prefix, port
        self.client_id = f"doorstep-test-{uuid.uuid4().hex[:12]}"
        self.thread = LoopThread()
        self.receiver: MqttReceiver | None = None
        self.db: DbWorker | None = None

    def start(self) -> MqttReceiver:
        self.db = DbWorker("test-mqtt")
        self.receiver = MqttReceiver(
            url=f"mqtt://127.0.0.1:{self.port}",
            db=self.db,
            client_id=self.client_id,
            prefix=self.prefix,
            min_backoff=0.1,
            max_backoff=0.5,
        )
        self.thread.call(self.receiver.start())
        assert self.receiver.subscribed.wait(5), "the receiver did not subscribe"
        return self.receiver

    def stop(self) -> None:
        if self.receiver is not None:
            self.thread.call(self.receiver.stop())
            self.thread.call(self.db.close())
            self.receiver = None

    def close(self) -> None:
        self.stop()
        self.thread.close()
        forget_session(self.client_id)


def forget_session(client_id: str) -> None:
    """Connect once with a clean session: Mosquitto drops the persistent one (and what it queued)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    with contextlib.suppress(OSError):
        client.connect(*BROKER)
        client.loop_start()
        time.sleep(0.05)
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def runner(prefix, buttons):
    runner = ReceiverRunner(prefix)
    yield runner
    runner.close()


@pytest.fixture
def receiver(runner):
    return runner.start()


def sign(
    secret: str, timestamp: str, device_id: str, event_id: str, event_type: str, occurred_at: str
) -> str:
    text = f"{timestamp}.{device_id}\n{event_id}\n{event_type}\n{occurred_at}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class Device:
    """A button on the broker: publishes signed events (QoS 1), collects what arrives on its ack topic."""

    def __init__(self, prefix: str, device_id: str, secret: str) -> None:
        self.prefix, self.device_id, self.secret = prefix, device_id, secret
        self.acks: queue.Queue = queue.Queue()
        subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:12]}")
        self.client.on_message = lambda client, userdata, message: self.acks.put(json.loads(message.payload))
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(*BROKER)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/{device_id}/ack", qos=1)
        assert subscribed.wait(5)

    def event(
        self, event_id=None, *, type_="panic", timestamp=None, secret=None, occurred_at=None, **overrides
    ) -> dict:
        event_id = event_id or uuid.uuid4().hex
        occurred_at = occurred_at or datetime.now(UTC).isoformat()
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        body = {"event_id": event_id, "type": type_, "occurred_at": occurred_at, "timestamp": timestamp}
        body["signature"] = sign(
            secret or self.secret, str(timestamp), self.device_id, event_id, type_, occurred_at
        )
        return body | overrides

    def publish(self, payload, device_id=None) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(f"{self.prefix}/{device_id or self.device_id}/events", raw, qos=1)
        info.wait_for_publish(5)

    def press(self, *args, **kwargs) -> dict:
        event = self.event(*args, **kwargs)
        self.publish(event)
        return event

    def ack(self, timeout: float = 5) -> dict:
        return self.acks.get(timeout=timeout)

    def no_ack(self, timeout: float = QUIET) -> bool:
        with contextlib.suppress(queue.Empty):
            self.acks.get(timeout=timeout)
            return False
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def device(prefix, buttons):
    device_id = "MQ-0001"
    made = Device(prefix, device_id, buttons[device_id][1])
    yield made
    made.close()


# --- good and bad input ---------------------------------------------------------------------------------------


def test_a_signed_press_is_stored_and_acknowledged_with_the_alarm_id(receiver, device, buttons):
    press = device.press(type_="panic")
    ack = device.ack()
    heartbeat = device.press(type_="heartbeat")
    heartbeat_ack = device.ack()

    alarm = Alarm.objects.get(event_id=press["event_id"])
    assert ack == {"event_id": press["event_id"], "alarm_id": alarm.pk}
    assert (alarm.device_id, alarm.event_type, alarm.protocol) == (buttons["MQ-0001"][0].pk, "panic", "mqtt")
    event = DeviceEvent.objects.get(event_id=heartbeat["event_id"])
    assert heartbeat_ack == {"event_id": heartbeat["event_id"], "device_event_id": event.pk}
    assert event.event_type == EventType.HEARTBEAT


def test_bad_input_is_dropped_without_an_ack(receiver, device, prefix, buttons):
    now = int(time.time())
    other_secret = buttons["MQ-0002"][1]
    device.press(secret=other_secret)  # bad signature
    device.press(timestamp=str(now - 400))  # 6 min 40 s behind the server
    device.press(timestamp=now + 400)  # ahead, as an integer
    device.publish(b"{not json")
    device.publish(b"[1, 2]")
    device.press(type_="fire")
    device.publish(device.event(event_id="a\nb"))
    unknown = Device(prefix, "MQ-9999", other_secret)  # no such device, whatever it signs with
    unknown.press()
    unknown_ack = unknown.no_ack(0.1)
    unknown.close()
    good = device.press()  # handled after all of the above (one at a time, in order)

    assert device.ack() == {"event_id": good["event_id"], "alarm_id": Alarm.objects.get().pk}
    assert device.no_ack() and unknown_ack
    assert Alarm.objects.count() == 1 and not DeviceEvent.objects.exists()
    assert receiver.stats.dropped == {
        "设备认证失败": 2,  # the bad signature and the unknown device: the same words
        "时间戳与服务器时间相差超过5分钟": 2,
        "不是合法的 JSON": 1,
        "不是 JSON 对象": 1,
        "字段不合法": 2,
    }


def test_a_duplicate_is_stored_once_and_acknowledged_again_with_the_same_id(receiver, device):
    first = device.press("press-42")
    first_ack = device.ack()
    time.sleep(1)
    device.press("press-42", occurred_at=first["occurred_at"])  # the retry, signed again a second later
    second_ack = device.ack()
    device.publish(first)  # and the very same message once more
    third_ack = device.ack()

    assert Alarm.objects.filter(event_id="press-42").count() == 1
    assert (
        first_ack == second_ack == third_ack == {"event_id": "press-42", "alarm_id": Alarm.objects.get().pk}
    )
    assert receiver.stats.repeats == 2


# --- never lose a message -------------------------------------------------------------------------------------


def test_messages_published_while_the_receiver_is_stopped_arrive_when_it_starts(runner, device):
    runner.start()
    runner.stop()
    presses = [device.press() for _ in range(3)]  # the broker keeps them for the receiver's session
    assert device.no_ack(0.2)

    runner.start()
    acks = [device.ack() for _ in presses]

    assert sorted(a["event_id"] for a in acks) == sorted(p["event_id"] for p in presses)
    assert Alarm.objects.count() == 3


def test_a_message_whose_commit_failed_is_delivered_again(receiver, device, monkeypatch):
    """The broker's delivery is acknowledged only after the commit: when storing fails, the receiver
    reconnects and the broker sends the same message again (with automatic PUBACKs it would be lost)."""
    real, calls = services.receive_event, []

    def failing_once(*args, **kwargs):
        calls.append(kwargs["event_id"])
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "receive_event", failing_once)

    press = device.press()
    ack = device.ack()

    assert calls == [press["event_id"], press["event_id"]]
    assert ack == {"event_id": press["event_id"], "alarm_id": Alarm.objects.get().pk}
    assert receiver.stats.connections == 2


class CuttableProxy:
    """A TCP proxy in front of Mosquitto that can cut its links and stop listening for a while (connections
    refused): the broker "going away" without stopping the broker the other tests use."""

    def __init__(self) -> None:
        self.port = 0
        self.links: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listen()

    def listen(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                downstream, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(BROKER)
            with self.lock:
                self.links += [downstream, upstream]
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def go_away(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: the port really closes
        self.server.close()
        with self.lock:
            for sock in self.links:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.links.clear()


def test_the_receiver_reconnects_when_the_broker_goes_away(prefix, buttons, device):
    proxy = CuttableProxy()
    runner = ReceiverRunner(prefix, port=proxy.port)
    try:
        receiver = runner.start()
        proxy.go_away()
        deadline = time.monotonic() + 5
        while receiver.subscribed.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not receiver.subscribed.is_set()
        press = device.press()  # published while the receiver is cut off: kept by the broker
        time.sleep(0.5)  # a few refused reconnection attempts
        assert device.no_ack(0.1)
        proxy.listen()  # the broker is back

        assert receiver.subscribed.wait(5)
        assert device.ack() == {"event_id": press["event_id"], "alarm_id": Alarm.objects.get().pk}
        assert receiver.stats.connections == 2
    finally:
        runner.close()
        proxy.go_away()


def test_an_inactive_device_is_refused_like_an_unknown_one(receiver, device, buttons):
    AlarmDevice.objects.filter(device_id="MQ-0001").update(active=False)

    device.press()

    assert device.no_ack()
    assert receiver.stats.dropped == {"设备认证失败": 1} and not Alarm.objects.exists()
