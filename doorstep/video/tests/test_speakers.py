"""The broadcast drivers against real speakers' protocols: the MQTT driver through the real Mosquitto on
127.0.0.1:1883 to simulated speakers, the HTTP driver to a simulated speaker's HTTP server, and espeak-ng.

Each test has its own topics (a uuid), so parallel workers and earlier runs never mix. Async bodies run in
``asyncio.run`` from plain tests (no pytest-asyncio here); the driver and the speakers share that loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import socket
import threading
import time
import uuid
import wave

import paho.mqtt.client as paho
import pytest
from django.core.management import call_command
from paho.mqtt.enums import CallbackAPIVersion

from doorstep.conftest import require_service
from doorstep.video import tts
from doorstep.video.simulator import SimulatedHttpSpeaker, SimulatedMqttSpeaker
from doorstep.video.speakers import (
    DRIVER_CHOICES,
    DRIVERS,
    HttpSpeakerDriver,
    Message,
    MqttSpeakerDriver,
    Outcome,
    SpeakerTarget,
    body_for,
    driver_for,
    validate_address,
)

BROKER = ("127.0.0.1", 1883)
URL = "mqtt://127.0.0.1:1883"
TEXT = "前方监控区域，禁止攀爬"


@pytest.fixture
def mosquitto():
    require_service("Mosquitto", *BROKER)


@pytest.fixture
def topic():
    return f"doorstep-test/{uuid.uuid4().hex[:12]}/speakers"


def mqtt_target(address: str, speaker_id: int = 1, wants_audio: bool = True) -> SpeakerTarget:
    return SpeakerTarget(speaker_id=speaker_id, driver="mqtt", address=address, wants_audio=wants_audio)


def http_target(url: str) -> SpeakerTarget:
    return SpeakerTarget(speaker_id=1, driver="http", address=url, wants_audio=False)


def message(text: str = TEXT, **fields) -> Message:
    return Message(delivery_id=str(uuid.uuid4()), text=text, **fields)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def take_over_session(client_id: str) -> None:
    """Connect with the driver's client id: the broker drops the driver's connection (session takeover),
    a real drop the driver has to notice, without stopping the broker the other tests use."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(*BROKER)
    deadline = time.monotonic() + 5
    while not client.is_connected() and time.monotonic() < deadline:
        client.loop(0.05)
    assert client.is_connected()
    client.disconnect()


# --- MQTT --------------------------------------------------------------------------------------------


def test_an_acking_speaker_gets_the_exact_message_and_it_is_delivered(mosquitto, topic):
    audio = b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(256))
    sent = message(repeat=3, audio=audio, volume=80)

    async def scenario():
        async with SimulatedMqttSpeaker(topic) as speaker, MqttSpeakerDriver(URL) as driver:
            outcome = await driver.send(mqtt_target(topic), sent, timeout=5)
            return outcome, speaker.messages

    outcome, received = asyncio.run(scenario())

    assert outcome == Outcome(True, "已确认播放")
    assert len(received) == 1
    body = dict(received[0])
    assert body.pop("received_at") > 0
    assert body == {
        "id": sent.delivery_id,
        "text": TEXT,
        "repeat": 3,
        "volume": 80,
        "audio": base64.b64encode(audio).decode(),
        "audio_format": "wav",
    }


def test_a_speaker_that_speaks_the_text_itself_gets_no_audio(mosquitto, topic):
    sent = message(audio=b"RIFF....WAVE", volume=None)

    async def scenario():
        async with SimulatedMqttSpeaker(topic) as speaker, MqttSpeakerDriver(URL) as driver:
            outcome = await driver.send(mqtt_target(topic, wants_audio=False), sent, timeout=5)
            return outcome, speaker.messages

    outcome, received = asyncio.run(scenario())

    assert outcome.delivered
    assert set(received[0]) == {"id", "text", "repeat", "received_at"}
    assert body_for(mqtt_target(topic, wants_audio=False), sent) == {
        "id": sent.delivery_id,
        "text": TEXT,
        "repeat": 1,
    }


def test_a_speaker_that_never_acks_is_not_delivered_after_the_timeout(mosquitto, topic):
    sent = message()

    async def scenario():
        async with SimulatedMqttSpeaker(topic, ack=False) as speaker, MqttSpeakerDriver(URL) as driver:
            outcome = await driver.send(mqtt_target(topic), sent, timeout=1)
            return outcome, speaker.messages

    outcome, received = asyncio.run(scenario())

    assert outcome == Outcome(False, "未收到确认（1 秒）")
    assert [body["id"] for body in received] == [sent.delivery_id]  # it got there, nobody said it played


def test_a_busy_speaker_is_not_delivered_and_its_detail_is_shown(mosquitto, topic):
    async def scenario():
        async with (
            SimulatedMqttSpeaker(topic, status="busy", detail="正在播放其他广播"),
            SimulatedMqttSpeaker(f"{topic}-2", status="error") as broken,
            MqttSpeakerDriver(URL) as driver,
        ):
            busy = await driver.send(mqtt_target(topic), message(), timeout=5)
            error = await driver.send(mqtt_target(broken.topic), message(), timeout=5)
            return busy, error

    busy, error = asyncio.run(scenario())

    assert busy == Outcome(False, "正在播放其他广播")
    assert error == Outcome(False, "功放故障")


def test_twenty_concurrent_sends_to_five_speakers_are_each_matched_to_their_own_ack(mosquitto, topic):
    # Different playing times, so the acks come back in another order than the sends went out.
    topics = [f"{topic}/sp-{n}" for n in range(5)]
    messages = [message(f"{TEXT}（第 {n} 条）") for n in range(20)]

    async def scenario():
        speakers = [SimulatedMqttSpeaker(t, delay=0.05 * (5 - n)) for n, t in enumerate(topics)]
        async with contextlib.AsyncExitStack() as stack:
            for speaker in speakers:
                await stack.enter_async_context(speaker)
            driver = await stack.enter_async_context(MqttSpeakerDriver(URL))
            outcomes = await asyncio.gather(
                *(
                    driver.send(mqtt_target(topics[n % 5], speaker_id=n % 5), sent, timeout=5)
                    for n, sent in enumerate(messages)
                )
            )
            return outcomes, speakers, driver.connections

    outcomes, speakers, connections = asyncio.run(scenario())

    assert outcomes == [Outcome(True, "已确认播放")] * 20
    for n, speaker in enumerate(speakers):
        assert sorted((body["id"], body["text"]) for body in speaker.messages) == sorted(
            (sent.delivery_id, sent.text) for sent in messages[n::5]
        )
    assert connections == 1  # one shared connection, one subscription per ack topic


def test_an_unreachable_broker_is_not_delivered_and_nothing_raises():
    async def scenario():
        driver = MqttSpeakerDriver(f"mqtt://127.0.0.1:{closed_port()}")
        started = await driver.start()
        outcome = await driver.send(mqtt_target("doorstep-test/nowhere"), message(), timeout=2)
        await driver.stop()
        return started, outcome

    started, outcome = asyncio.run(scenario())

    assert started is False
    assert outcome == Outcome(False, "无法连接消息服务器：连接被拒绝")


def test_the_driver_reconnects_after_the_broker_drops_its_connection(mosquitto, topic):
    async def scenario():
        async with (
            SimulatedMqttSpeaker(topic) as speaker,
            SimulatedMqttSpeaker(f"{topic}-silent", ack=False) as silent,
            MqttSpeakerDriver(URL) as driver,
        ):
            first = await driver.send(mqtt_target(topic), message(), timeout=5)
            # A send waiting for an ack when the connection drops ends at once, not after its timeout.
            waiting = asyncio.ensure_future(driver.send(mqtt_target(silent.topic), message(), timeout=10))
            while not silent.messages:
                await asyncio.sleep(0.01)
            began = time.monotonic()
            await asyncio.to_thread(take_over_session, driver.client_id)
            interrupted = await waiting
            interrupted_after = time.monotonic() - began
            again = await driver.send(mqtt_target(topic), message(), timeout=5)
            return first, interrupted, interrupted_after, again, driver.connections, len(speaker.messages)

    first, interrupted, interrupted_after, again, connections, heard = asyncio.run(scenario())

    assert first.delivered
    assert interrupted == Outcome(False, "与消息服务器的连接中断，未收到确认")
    assert interrupted_after < 5
    assert again == Outcome(True, "已确认播放")
    assert connections == 2
    assert heard == 2


def test_a_new_driver_works_after_a_failed_one_and_a_stopped_driver_sends_nothing(mosquitto, topic):
    async def scenario():
        failed = MqttSpeakerDriver(f"mqtt://127.0.0.1:{closed_port()}")
        refused = await failed.send(mqtt_target(topic), message(), timeout=2)
        await failed.stop()
        async with SimulatedMqttSpeaker(topic) as speaker:
            async with MqttSpeakerDriver(URL) as driver:
                delivered = await driver.send(mqtt_target(topic), message(), timeout=5)
            after_stop = await driver.send(mqtt_target(topic), message(), timeout=5)
            return refused, delivered, after_stop, len(speaker.messages)

    refused, delivered, after_stop, heard = asyncio.run(scenario())

    assert not refused.delivered
    assert delivered.delivered
    assert after_stop == Outcome(False, "广播驱动已停止")
    assert heard == 1


def test_a_speaker_run_in_a_thread_serves_sync_code(mosquitto, topic):
    speaker = SimulatedMqttSpeaker(topic, status="busy")
    sent = message()

    async def send():
        async with MqttSpeakerDriver(URL) as driver:
            return await driver.send(mqtt_target(topic), sent, timeout=5)

    with speaker.run_in_thread():
        outcome = asyncio.run(send())

    assert outcome == Outcome(False, "喇叭正在播放其他广播")
    assert [body["id"] for body in speaker.messages] == [sent.delivery_id]


def test_the_simulate_speaker_command_listens_on_the_speakers_broker(settings):
    from django.core.management.base import CommandError

    alarms, speakers = closed_port(), closed_port()  # nobody at either: the error names the one tried
    settings.MQTT_URL = f"mqtt://127.0.0.1:{alarms}"  # the alarm receivers'
    settings.VIDEO_MQTT_URL = f"mqtt://127.0.0.1:{speakers}"
    with pytest.raises(CommandError, match=settings.VIDEO_MQTT_URL):
        call_command("simulate_speaker", "--topic", "doorstep/speakers/sp-001", stdout=io.StringIO())


def test_the_simulate_speaker_command_refuses_a_bad_topic():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="通配符"):
        call_command("simulate_speaker", "--topic", "doorstep/speakers/#", stdout=io.StringIO())


# --- HTTP --------------------------------------------------------------------------------------------


def send_http(target: SpeakerTarget, sent: Message, timeout: float = 5) -> Outcome:
    async def scenario():
        async with HttpSpeakerDriver() as driver:
            return await driver.send(target, sent, timeout=timeout)

    return asyncio.run(scenario())


def test_http_200_is_delivered_with_the_speakers_detail(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # never used: the driver goes direct
    sent = message(repeat=2, volume=60)
    with SimulatedHttpSpeaker() as speaker:
        outcome = send_http(http_target(speaker.url), sent)

    assert outcome == Outcome(True, "已播放")
    body = dict(speaker.messages[0])
    del body["received_at"]
    assert body == {"id": sent.delivery_id, "text": TEXT, "repeat": 2, "volume": 60}
    assert speaker.content_types == ["application/json; charset=utf-8"]


def test_http_503_is_not_delivered():
    with SimulatedHttpSpeaker(status=503, detail="忙") as speaker:
        outcome = send_http(http_target(speaker.url), message())

    assert outcome == Outcome(False, "HTTP 503")
    assert len(speaker.messages) == 1


def test_http_connection_refused_is_not_delivered():
    outcome = send_http(http_target(f"http://127.0.0.1:{closed_port()}/speak"), message())

    assert outcome == Outcome(False, "无法连接：连接被拒绝")


def test_a_slow_http_speaker_is_not_delivered_after_the_timeout():
    with SimulatedHttpSpeaker(delay=5) as speaker:
        outcome = send_http(http_target(speaker.url), message(), timeout=0.5)

    assert outcome == Outcome(False, "无响应（0.5 秒）")


class DawdlingSpeaker:
    """A speaker that takes the POST, starts its answer, then sends one byte of it every 0.1 s for ever:
    no socket timeout ever fires. Records when the driver let go of the connection."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/speak"
        self.closed_at: float | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for _ in range(300):
                    conn.sendall(b"X")
                    time.sleep(0.1)
            except OSError:
                self.closed_at = time.monotonic()

    def close(self) -> None:
        self.server.close()


def test_a_dawdling_http_speaker_fails_at_the_timeout_and_is_let_go_at_once():
    speaker = DawdlingSpeaker()
    try:
        outcome = send_http(http_target(speaker.url), message(), timeout=0.5)
        answered = time.monotonic()
        speaker.thread.join(5)
    finally:
        speaker.close()
    assert outcome == Outcome(False, "无响应（0.5 秒）")
    assert speaker.closed_at is not None and speaker.closed_at - answered < 1


def test_an_http_speaker_at_an_ipv6_address_is_reached(monkeypatch):
    try:
        server = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("!!! no IPv6 loopback here")
    port = server.getsockname()[1]

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"detail":"ok"}')

    threading.Thread(target=serve, daemon=True).start()
    try:
        assert send_http(http_target(f"http://[::1]:{port}/speak"), message()) == Outcome(True, "ok")
    finally:
        server.close()


def test_a_bad_broker_url_is_refused_without_repeating_its_password():
    from doorstep.alarms.mqtt import BrokerAddress

    with pytest.raises(ValueError) as refused:
        BrokerAddress.parse("mqtt://videod:Pa55word@/")
    assert "Pa55word" not in str(refused.value)


# --- addresses and drivers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "address", "expected"),
    [
        ("mqtt", "doorstep/speakers/sp-001", "doorstep/speakers/sp-001"),
        ("mqtt", "  喇叭/西福社区/01 ", "喇叭/西福社区/01"),
        ("http", "http://192.168.1.20/api/speak", "http://192.168.1.20/api/speak"),
        ("http", "https://speaker.example.test:8443/play", "https://speaker.example.test:8443/play"),
    ],
)
def test_good_addresses_are_accepted(driver, address, expected):
    assert validate_address(driver, address) == expected


@pytest.mark.parametrize(
    ("driver", "address", "error"),
    [
        ("mqtt", "", "不能为空"),
        ("mqtt", "a" * 201, "200"),
        ("mqtt", "doorstep/+/sp-001", "通配符"),
        ("mqtt", "doorstep/#", "通配符"),
        ("mqtt", "/doorstep/sp-001", "开头"),
        ("mqtt", "doorstep/sp\x00001", "控制字符"),
        ("mqtt", "$SYS/broker", "$"),
        ("http", "ftp://192.168.1.20/speak", "http://"),
        ("http", "192.168.1.20/speak", "http://"),
        ("http", "http:///speak", "主机名"),
        ("http", "http://192.168.1.20:99999/speak", "格式"),
        ("sip", "sip:100@pbx", "未知的广播驱动"),
    ],
)
def test_bad_addresses_are_refused_in_chinese(driver, address, error):
    with pytest.raises(ValueError, match=error.replace("$", r"\$")):
        validate_address(driver, address)


def test_driver_for_an_unknown_name_is_a_value_error():
    drivers = {"http": HttpSpeakerDriver()}

    assert driver_for("http", drivers) is drivers["http"]
    with pytest.raises(ValueError, match="未知的广播驱动"):
        driver_for("mqtt", drivers)
    assert DRIVERS == ("mqtt", "http")
    assert [(value, str(label)) for value, label in DRIVER_CHOICES] == [
        ("mqtt", "MQTT"),
        ("http", "HTTP 接口"),
    ]


# --- text to speech ------------------------------------------------------------------------------------


@pytest.fixture
def fresh_tts():
    tts.available.cache_clear()
    yield
    tts.available.cache_clear()


def test_espeak_ng_makes_a_real_wav(fresh_tts):
    if not tts.available():
        pytest.skip("!!! espeak-ng is not installed (apt-get install espeak-ng) — this test needs it")

    wav = tts.synthesize(TEXT)

    assert wav is not None and wav[:4] == b"RIFF"
    with wave.open(io.BytesIO(wav)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        # the sizes are real ones, not the 0x7fff… espeak-ng leaves when it writes to a pipe
        assert audio.getnframes() == (len(wav) - 44) // 2
        assert 0.5 < audio.getnframes() / audio.getframerate() < 10


def test_a_text_starting_with_a_dash_is_spoken_not_taken_for_an_option(fresh_tts):
    if not tts.available():
        pytest.skip("!!! espeak-ng is not installed (apt-get install espeak-ng) — this test needs it")

    assert tts.synthesize("-h")[:4] == b"RIFF"


def test_without_espeak_ng_there_is_no_audio(fresh_tts, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))

    assert tts.available() is False
    assert tts.synthesize(TEXT) is None


def test_a_failing_espeak_ng_gives_no_audio(fresh_tts):
    if not tts.available():
        pytest.skip("!!! espeak-ng is not installed (apt-get install espeak-ng) — this test needs it")

    # (a voice name is matched by its prefix: "no-such-voice" would be Norwegian, and succeed)
    assert tts.synthesize(TEXT, voice="nonexistent") is None


def test_a_text_too_long_or_empty_is_refused():
    with pytest.raises(ValueError, match="200"):
        tts.synthesize("禁" * 201)
    with pytest.raises(ValueError, match="不能为空"):
        tts.synthesize(" \n ")
