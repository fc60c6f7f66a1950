"""alarmd's SIA DC-09 receiver over real TCP and UDP sockets, with `my-dc09-spt` (an independent dialler
from PyPI) as the panel where it can play the part, and hand-made bytes where it cannot (several frames in
one write, partial frames, a bad CRC).

The receiver runs in an event loop of its own thread (`LoopThread`) and stores through its own database
thread, so the database is transactional: what a test reads was really committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import Client, override_settings
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from my_dc09_spt.dc09_spt import dc09_spt
from my_dc09_spt.msg.dc03_msg import dc03_msg
from my_dc09_spt.msg.dc05_msg import dc05_msg
from my_dc09_spt.msg.dc09_msg import dc09_msg

from doorstep.alarms import dc09, services
from doorstep.alarms.choices import AlertKind, DeviceStatus, EventType, Protocol
from doorstep.alarms.daemon import DbWorker
from doorstep.alarms.dc09_server import Dc09Receiver, FrameSplitter, FrameTooLongError, PortInUseError
from doorstep.alarms.models import Alarm, AlarmDevice, DeviceAlert, DeviceEvent
from doorstep.asgi import application
from doorstep.conftest import build_world
from doorstep.core.ids import synthetic_credit_code
from doorstep.registry import services as registry_services
from doorstep.registry.choices import UnitType
from doorstep.registry.tests.conftest import _rng, make_house

PLAIN, AES128, AES256 = "A1001", "B1002", "C1003"
KEY_256 = bytes(range(100, 132))
QUIET = 0.4  # seconds to wait for an answer that must not come


class LoopThread:
    """An asyncio event loop in a thread of its own; `call` runs a coroutine there and waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@contextlib.contextmanager
def running_receiver(**options):
    """A started Dc09Receiver on 127.0.0.1 (a free port) with its own database thread."""
    thread = LoopThread()
    db = DbWorker("test-dc09")
    options.setdefault("idle_seconds", 30)
    receiver = Dc09Receiver(host="127.0.0.1", port=options.pop("port", 0), db=db, **options)
    try:
        thread.call(receiver.start())
        yield receiver
    finally:
        with contextlib.suppress(Exception):
            thread.call(receiver.stop())
        thread.call(db.close())
        thread.close()


def make_key_unit(world):
    house = make_house(world.grid_a)
    return registry_services.create_unit(
        name="西福小学", credit_code=synthetic_credit_code(_rng), unit_type=UnitType.SCHOOL, key_level="1",
        address=house.address, security_lead="陈保安", security_phone="13900001111",
    )  # fmt: skip


def provision_panels(world) -> dict[str, tuple[AlarmDevice, bytes | None]]:
    """Three DC-09 panels: plain, AES-128 (its key as provisioned), AES-256 (a 32-byte key set here: the
    provisioning page issues 128-bit keys; a site may load a longer one from the panel's installer)."""
    unit = make_key_unit(world)
    panels = {}
    for account, key in ((PLAIN, False), (AES128, True), (AES256, True)):
        device, credentials = services.provision_device(
            unit=unit, device_id=f"PNL-{account}", location="一楼值班室", protocol=Protocol.DC09,
            sia_account=account, with_aes_key=key, by=world.director,
        )  # fmt: skip
        panels[account] = (device, bytes.fromhex(credentials["aes_key"]) if key else None)
    AlarmDevice.objects.filter(sia_account=AES256).update(aes_key=KEY_256.hex())
    panels[AES256] = (panels[AES256][0], KEY_256)
    return panels


@pytest.fixture
def world(transactional_db):
    return build_world()


@pytest.fixture
def panels(world):
    return provision_panels(world)


@pytest.fixture
def receiver(panels):
    with running_receiver() as receiver:
        yield receiver


def dialler(account: str, key: bytes | None, port: int, transport: str):
    spt = dc09_spt(account)
    spt.set_path("main", "primary", "127.0.0.1", port, account=account, key=key, line=0, type=transport)
    return spt


def exchange(raw: bytes, port: int, transport: str = "tcp", timeout: float = 5.0) -> bytes | None:
    """Send one frame and return the answer, or None when none comes within ``timeout``."""
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        sock.sendall(raw)
        try:
            return read_frame(sock) if transport == "tcp" else sock.recv(2048)
        except TimeoutError:
            return None


def read_frame(sock: socket.socket) -> bytes | None:
    data = b""
    while not data.endswith(b"\r"):
        chunk = sock.recv(2048)
        if not chunk:
            return data or None
        data += chunk
    return data


def spt_frame(
    account: str, key: bytes | None, sequence: int, mtype: str, params: dict, offset: int = 0
) -> bytes:
    """A frame built by my-dc09-spt's message layer (for exact control of the sequence number)."""
    payload = (
        dc03_msg.dc03event(account, dict(params))
        if mtype == "SIA-DCS"
        else dc05_msg.dc05event(account, dict(params))
    )
    return dc09_msg(account, key, line=0, offset=offset).dc09block(sequence, mtype, payload).encode("ascii")


def answer_of(response: bytes, account: str, key: bytes | None, sequence: int) -> str:
    """my-dc09-spt's reading of our answer: "ACK", "NAK" or "DUH"."""
    return dc09_msg(account, key, line=0).dc09answer(sequence, response.decode("ascii"))[0]


# --- interoperability: a real dialler, both transports, plain and encrypted -----------------------------------


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("account", [PLAIN, AES128, AES256])
def test_an_independent_dialler_gets_acks_and_its_events_are_stored(receiver, panels, transport, account):
    device, key = panels[account]
    spt = dialler(account, key, receiver.port, transport)

    spt.send_msg("SIA-DCS", {"code": "PA", "zone": 1, "area": 1})  # raises unless ACKed
    spt.send_msg("ADM-CID", {"code": 122, "zone": 15, "area": 1})
    polled = spt.transfer_msg(7, "NULL", "]", spt.tpaths["main"]["primary"]["path"])

    assert polled is True
    assert spt.state()["msgs queued"] == 0
    alarms = list(Alarm.objects.filter(device=device).order_by("id"))
    assert [(a.event_type, a.protocol, a.station_id, a.unit_id) for a in alarms] == [
        (EventType.PANIC, Protocol.DC09, device.station_id, device.unit_id),
        (EventType.SILENT_PANIC, Protocol.DC09, device.station_id, device.unit_id),
    ]
    heartbeat = DeviceEvent.objects.get(device=device)
    assert (heartbeat.event_type, heartbeat.code, heartbeat.restore) == (EventType.HEARTBEAT, "NULL", False)
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE and device.last_seen_at is not None


def test_ack_is_read_only_after_the_alarm_is_committed(receiver, panels, monkeypatch):
    """The commit is held back 0.3 s inside the transaction: an ACK sent before the commit would be read
    while the alarm is not (or not visibly) in the database."""
    real = services.receive_event

    def slow(*args, **kwargs):
        row = real(*args, **kwargs)
        time.sleep(0.3)
        return row

    monkeypatch.setattr(services, "receive_event", slow)
    device, key = panels[AES128]
    raw = spt_frame(AES128, key, 12, "SIA-DCS", {"code": "PA", "zone": 2})

    started = time.monotonic()
    response = exchange(raw, receiver.port)

    assert time.monotonic() - started >= 0.3
    assert Alarm.objects.filter(device=device, event_type=EventType.PANIC).count() == 1
    assert answer_of(response, AES128, key, 12) == "ACK"


def test_when_the_database_fails_the_panel_gets_no_answer_and_the_connection_is_closed(
    receiver, panels, monkeypatch
):
    """No ACK for what was not stored; hanging up makes the panel send again at once (or fail over) instead
    of waiting out its answer timeout on an open connection."""

    def broken(*args, **kwargs):
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(services, "receive_event", broken)
    device, key = panels[AES128]
    started = time.monotonic()

    response = exchange(spt_frame(AES128, key, 13, "SIA-DCS", {"code": "PA", "zone": 2}), receiver.port)

    assert response is None and time.monotonic() - started < 4  # closed, not timed out (5 s)
    assert not Alarm.objects.filter(device=device).exists()
    monkeypatch.undo()
    retry = exchange(spt_frame(AES128, key, 13, "SIA-DCS", {"code": "PA", "zone": 2}), receiver.port)
    assert answer_of(retry, AES128, key, 13) == "ACK" and Alarm.objects.filter(device=device).count() == 1


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_a_retry_of_the_same_sequence_is_stored_once(receiver, panels, transport):
    device, key = panels[AES128]
    answers = []
    for _attempt in range(3):  # the panel did not hear the ACK and sends the frame again (new timestamp)
        raw = spt_frame(AES128, key, 42, "SIA-DCS", {"code": "PA", "zone": 1})
        answers.append(answer_of(exchange(raw, receiver.port, transport), AES128, key, 42))
    heartbeat = spt_frame(AES128, key, 43, "ADM-CID", {"code": 602})
    answers += [answer_of(exchange(heartbeat, receiver.port, transport), AES128, key, 43) for _ in range(2)]

    assert answers == ["ACK"] * 5
    assert Alarm.objects.filter(device=device).count() == 1
    assert DeviceEvent.objects.filter(device=device, event_type=EventType.HEARTBEAT).count() == 1
    assert Alarm.objects.get(device=device).event_id.startswith("dc09:0042:0:")


def test_a_wrapped_sequence_number_is_a_new_event_after_the_window(receiver, panels):
    device, key = panels[PLAIN]
    start = dt.datetime.now(dt.UTC)

    def press():
        raw = spt_frame(PLAIN, key, 9999, "SIA-DCS", {"code": "PA", "zone": 1})
        return answer_of(exchange(raw, receiver.port), PLAIN, key, 9999)

    with time_machine.travel(start, tick=True):
        first = press()
    with time_machine.travel(start + dt.timedelta(minutes=2, seconds=30), tick=True):
        retry = press()  # within the 3-minute window: the same press
    with time_machine.travel(start + dt.timedelta(minutes=3, seconds=30), tick=True):
        wrapped = press()  # the counter is back at this number (wrapped, or the panel restarted): a new press
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=True):
        wrapped_retry = press()

    assert receiver.repeat_window == dt.timedelta(minutes=3)
    assert [first, retry, wrapped, wrapped_retry] == ["ACK"] * 4
    alarms = list(Alarm.objects.filter(device=device).order_by("received_at"))
    assert len(alarms) == 2
    assert alarms[1].received_at - alarms[0].received_at >= dt.timedelta(minutes=3)


def test_a_reused_sequence_number_for_another_event_is_not_taken_for_a_retry(receiver, panels):
    """A panel that restarted its counter sends seq 1 again, for something else: both are stored."""
    device, key = panels[PLAIN]

    exchange(spt_frame(PLAIN, key, 1, "SIA-DCS", {"code": "TA", "zone": 3}), receiver.port)
    exchange(spt_frame(PLAIN, key, 1, "SIA-DCS", {"code": "PA", "zone": 1}), receiver.port)

    assert Alarm.objects.filter(device=device).count() == 1
    assert DeviceEvent.objects.filter(device=device, event_type=EventType.TAMPER).count() == 1


# --- what is not ACKed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_bad_crc_wrong_key_and_unknown_account_get_no_answer(receiver, panels, transport):
    device, key = panels[AES128]
    good = spt_frame(AES128, key, 5, "SIA-DCS", {"code": "PA", "zone": 1})
    bad_crc = good[:1] + (b"0000" if good[1:5] != b"0000" else b"FFFF") + good[5:]
    wrong_key = spt_frame(AES128, bytes(16), 5, "SIA-DCS", {"code": "PA", "zone": 1})
    unknown_plain = spt_frame("ABCDEF", None, 5, "SIA-DCS", {"code": "PA", "zone": 1})
    unknown_encrypted = spt_frame("ABCDEF", key, 5, "SIA-DCS", {"code": "PA", "zone": 1})
    plain_from_keyed = spt_frame(AES128, None, 5, "SIA-DCS", {"code": "PA", "zone": 1})

    frames = (bad_crc, wrong_key, unknown_plain, unknown_encrypted, plain_from_keyed)
    with ThreadPoolExecutor(len(frames)) as pool:  # the silences are waited for side by side
        answers = list(pool.map(lambda raw: exchange(raw, receiver.port, transport, timeout=QUIET), frames))

    assert answers == [None] * 5
    assert not Alarm.objects.exists()
    assert receiver.stats.unanswered == 5
    assert receiver.stats.errors == {
        "CrcError": 1,
        "DecryptionError": 1,
        "UnknownAccountError": 1,
        "EncryptionRequiredError": 1,
    }


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_a_stale_timestamp_gets_a_nak_with_the_receiver_time(receiver, panels, transport):
    device, key = panels[AES256]
    raw = spt_frame(AES256, key, 8, "SIA-DCS", {"code": "PA", "zone": 1}, offset=-3600)

    response = exchange(raw, receiver.port, transport)

    # my-dc09-spt reads the NAK's time as the receiver's offset from its own (true) clock: about 0
    answer, offset = dc09_msg(AES256, key, line=0, offset=-3600).dc09answer(8, response.decode("ascii"))
    assert answer == "NAK" and abs(offset) < 5
    assert not Alarm.objects.exists()


def test_an_unsupported_token_is_acked_and_shown_to_a_human_never_a_duh(receiver, panels):
    body = f'"SIA-XYZ"0003L0#{PLAIN}[#{PLAIN}|NPA1]'.encode()
    raw = b"\n%04X%04X%s\r" % (dc09.crc16(body), len(body), body)

    response = exchange(raw, receiver.port)

    assert response[9:14] == b'"ACK"' and not Alarm.objects.exists()
    event = DeviceEvent.objects.get(device=panels[PLAIN][0])
    assert (event.event_type, event.code) == (EventType.UNKNOWN, f"SIA-XYZ:#{PLAIN}|NPA1")
    assert DeviceAlert.objects.filter(device=panels[PLAIN][0], kind=AlertKind.UNKNOWN).exists()


# --- event mapping -------------------------------------------------------------------------------------------


def test_unknown_codes_are_acked_stored_as_unknown_and_raise_a_device_alert(receiver, panels):
    device, key = panels[AES128]
    unknown_sia = spt_frame(AES128, key, 21, "SIA-DCS", {"code": "BA", "zone": 12})
    unknown_cid = spt_frame(AES128, key, 22, "ADM-CID", {"code": 999, "zone": 3})
    body = f'"ADM-CID"0023L0#{PLAIN}[#{PLAIN}|not contact id]'.encode()
    unreadable = b"\n%04X%04X%s\r" % (dc09.crc16(body), len(body), body)

    answers = [
        answer_of(exchange(unknown_sia, receiver.port), AES128, key, 21),
        answer_of(exchange(unknown_cid, receiver.port), AES128, key, 22),
        answer_of(exchange(unreadable, receiver.port), PLAIN, None, 23),
    ]

    assert answers == ["ACK", "ACK", "ACK"]
    assert list(
        DeviceEvent.objects.filter(event_type=EventType.UNKNOWN)
        .order_by("id")
        .values_list("device__sia_account", "code")
    ) == [(AES128, "BA/12"), (AES128, "999/003"), (PLAIN, "not contact id")]
    alerts = DeviceAlert.objects.filter(kind=AlertKind.UNKNOWN, cleared_at__isnull=True)
    assert sorted(alerts.values_list("device__sia_account", flat=True)) == [PLAIN, AES128]
    assert not Alarm.objects.exists()


def test_tamper_low_battery_and_panic_restore(receiver, panels):
    device, key = panels[PLAIN]
    frames = [
        ("SIA-DCS", {"code": "TA", "zone": 1}),
        ("ADM-CID", {"code": 302}),
        ("SIA-DCS", {"code": "PA", "zone": 1}),
        ("SIA-DCS", {"code": "PR", "zone": 1}),  # the button was reset: no second alarm
        ("ADM-CID", {"code": 120, "zone": 1, "q": 3}),
        ("SIA-DCS", {"code": "TR", "zone": 1}),
    ]
    for sequence, (mtype, params) in enumerate(frames, start=1):
        assert (
            answer_of(
                exchange(spt_frame(PLAIN, key, sequence, mtype, params), receiver.port), PLAIN, key, sequence
            )
            == "ACK"
        )

    assert Alarm.objects.filter(device=device).count() == 1
    events = DeviceEvent.objects.filter(device=device).order_by("id")
    assert [(e.event_type, e.code, e.restore) for e in events] == [
        (EventType.TAMPER, "TA/1", False),
        (EventType.LOW_BATTERY, "302/000", False),
        (EventType.PANIC, "PR/1", True),
        (EventType.PANIC, "120/001", True),
        (EventType.TAMPER, "TR/1", True),
    ]
    open_alerts = set(
        DeviceAlert.objects.filter(device=device, cleared_at__isnull=True).values_list("kind", flat=True)
    )
    assert open_alerts == {AlertKind.LOW_BATTERY}
    assert DeviceAlert.objects.get(device=device, kind=AlertKind.TAMPER).cleared_at is not None


# --- TCP stream handling -------------------------------------------------------------------------------------


def test_several_frames_on_one_connection_in_any_pieces(receiver, panels):
    device, key = panels[AES128]
    frames = [spt_frame(AES128, key, n, "SIA-DCS", {"code": "PA", "zone": n}) for n in range(1, 6)]
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
        sock.sendall(frames[0] + b"noise\r\n\x00" + frames[1])  # two frames and noise in one write
        answers = [read_frame(sock), read_frame(sock)]
        for cut in (1, 9, 40):  # one frame in three pieces
            sock.sendall(frames[2][:cut])
            time.sleep(0.02)
        sock.sendall(frames[2][cut:] + frames[3][:5])  # the end of one frame with the start of the next
        answers.append(read_frame(sock))
        time.sleep(0.02)
        sock.sendall(frames[3][5:])
        answers.append(read_frame(sock))
        sock.sendall(frames[4])
        answers.append(read_frame(sock))

    assert [answer_of(a, AES128, key, n) for n, a in enumerate(answers, start=1)] == ["ACK"] * 5
    assert sorted(Alarm.objects.filter(device=device).values_list("event_id", flat=True))[0].startswith(
        "dc09:0001:0:"
    )
    assert Alarm.objects.filter(device=device).count() == 5
    assert receiver.stats.connections == 1


def test_many_concurrent_connections(receiver, panels):
    device, key = panels[PLAIN]
    sockets = [socket.create_connection(("127.0.0.1", receiver.port), timeout=5) for _ in range(40)]
    try:
        for n, sock in enumerate(sockets, start=1):
            sock.sendall(spt_frame(PLAIN, key, n, "ADM-CID", {"code": 602, "zone": n}))
        answers = [answer_of(read_frame(sock), PLAIN, key, n) for n, sock in enumerate(sockets, start=1)]
    finally:
        for sock in sockets:
            sock.close()

    assert answers == ["ACK"] * 40
    assert DeviceEvent.objects.filter(device=device, event_type=EventType.HEARTBEAT).count() == 40


def test_idle_and_overlong_connections_are_closed(panels):
    with running_receiver(idle_seconds=0.3) as receiver:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=3) as idle:
            assert idle.recv(16) == b""  # closed by the receiver after 0.3 s of silence
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=3) as flood:
            flood.sendall(b"\n" + b"0" * (dc09.MAX_FRAME_BYTES + 10))
            assert flood.recv(16) == b""


def test_frame_splitter():
    splitter = FrameSplitter(max_frame=40)

    assert splitter.feed(b"junk\nAB") == []
    assert splitter.feed(b"C\r\nD\n") == [b"\nABC\r"]
    assert splitter.feed(b"EF\rxx\r") == [b"\nEF\r"]
    with pytest.raises(FrameTooLongError):
        splitter.feed(b"\n" + b"x" * 41)


_FRAME_BODY = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))


@examples(max_examples=200, deadline=None)
@given(
    bodies=st.lists(_FRAME_BODY, max_size=6),
    noise=st.lists(st.binary(max_size=8).map(lambda b: b.replace(b"\n", b"")), min_size=7, max_size=7),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=12),
)
def test_frame_splitter_finds_every_frame_whatever_the_reads(bodies, noise, cuts):
    frames = [b"\n" + body + b"\r" for body in bodies]
    stream = b"".join(n.replace(b"\r", b"") + f for n, f in zip(noise, frames, strict=False)) + noise[-1]
    splitter, found, start = FrameSplitter(max_frame=100), [], 0
    for cut in sorted({*cuts, len(stream)}):
        found += splitter.feed(stream[start:cut])
        start = max(start, cut)

    assert found == frames


@examples(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=200), max_size=10))
def test_frame_splitter_on_arbitrary_bytes_yields_only_frames_or_gives_up(chunks):
    splitter = FrameSplitter(max_frame=150)
    try:
        frames = [frame for chunk in chunks for frame in splitter.feed(chunk)]
    except FrameTooLongError:
        return
    assert all(
        f[:1] == b"\n" and f[-1:] == b"\r" and b"\n" not in f[1:] and b"\r" not in f[:-1] for f in frames
    )


def test_a_taken_port_is_reported_clearly(panels):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))  # UDP only: TCP binds, then UDP on the same port fails
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=str(port)), running_receiver(port=port):
            pass


# --- the console hears of it in the same event loop ----------------------------------------------------------


@pytest.fixture
def in_memory_layer():
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        channel_layers.backends.clear()
        yield
    channel_layers.backends.clear()


def test_a_dc09_press_pops_up_on_a_console_served_by_the_same_event_loop(panels, world, in_memory_layer):
    device, key = panels[AES128]
    client = Client()
    client.force_login(world.dispatcher)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    raw = spt_frame(AES128, key, 77, "SIA-DCS", {"code": "PA", "zone": 1})

    async def scenario():
        db = DbWorker("test-console")
        receiver = Dc09Receiver(host="127.0.0.1", port=0, db=db)
        await receiver.start()
        console = WebsocketCommunicator(
            application, "/ws/alarms/", headers=[(b"cookie", cookie), (b"origin", b"http://testserver")]
        )
        try:
            connected, _ = await console.connect()
            assert connected
            assert (await console.receive_json_from())["type"] == "hello"
            reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
            writer.write(raw)
            response = await reader.readuntil(b"\r")
            message = await console.receive_json_from(timeout=3)
            writer.close()
            return response, message
        finally:
            await console.disconnect()
            await receiver.stop()
            await db.close()

    response, message = async_to_sync(scenario)()

    assert answer_of(response, AES128, key, 77) == "ACK"
    assert message["type"] == "alarm"
    assert message["payload"]["device"] == device.device_id and message["payload"]["type"] == EventType.PANIC


def test_simulate_press_sends_a_panels_panic_and_silent_panic(receiver, panels, capsys):
    device, _key = panels[AES128]
    for press, expected in (("panic", "panic"), ("silent_panic", "silent_panic")):
        call_command("simulate_press", device.device_id, "--type", press, "--dc09-port", str(receiver.port))
        assert "ACK" in capsys.readouterr().out
        assert Alarm.objects.filter(device=device).order_by("-id").first().event_type == expected
    with pytest.raises(CommandError, match="演练"):
        call_command("simulate_press", device.device_id, "--type", "test", "--dc09-port", str(receiver.port))
