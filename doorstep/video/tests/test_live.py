"""The live pictures: the snapshot endpoint and the MJPEG relay, read from the picture files the video worker
writes (frames.py), with the territory rules of the cameras; the watch page.

The MJPEG view is async. It is read through Django's AsyncClient (which hands the async generator over
unconsumed: a test takes a few parts and closes it), and through the project's real ASGI application with a
hand-driven ASGI connection, to see that a client going away ends the stream. pytest-asyncio is not installed:
async bodies run through `async_to_sync` from plain tests. The database is transactional because the view
asks it through `sync_to_async`."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client
from django.urls import reverse

from doorstep.asgi import application
from doorstep.conftest import build_world
from doorstep.video import frames, live

JPEG_1 = b"\xff\xd8\xff\xe0first-picture\xff\xd9"
JPEG_2 = b"\xff\xd8\xff\xe0second-picture\xff\xd9"


@pytest.fixture
def world(transactional_db):
    return build_world()


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.01)


def write(camera_id: int, jpeg: bytes, *, age: float = 0.0) -> None:
    """A new picture; its time set explicitly so that two quick writes never share one mtime."""
    frames.write(camera_id, jpeg)
    stamp = time.time() - age
    write.counter = getattr(write, "counter", 0) + 1
    os.utime(frames.path_for(camera_id), (stamp + write.counter * 1e-3, stamp + write.counter * 1e-3))


def jpegs_in(data: bytes) -> list[bytes]:
    """The JPEGs of a multipart/x-mixed-replace body (boundary "frame")."""
    pictures = []
    for chunk in data.split(b"--frame\r\n")[1:]:
        head, _, rest = chunk.partition(b"\r\n\r\n")
        assert b"Content-Type: image/jpeg" in head
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        pictures.append(rest[:length])
        assert rest[length : length + 2] == b"\r\n"
    return pictures


# --- snapshot ---------------------------------------------------------------------------------------------------
def test_snapshot_is_the_latest_picture_never_cached(video, world, client_for, frame_dir):
    write(video.cam_a.pk, JPEG_1)
    response = client_for(world.dispatcher).get(reverse("video:camera_snapshot", args=[video.cam_a.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response.content == JPEG_1
    assert response["Cache-Control"] == "private, no-store"
    write(video.cam_a.pk, JPEG_2)
    assert (
        client_for(world.dispatcher).get(reverse("video:camera_snapshot", args=[video.cam_a.pk])).content
        == JPEG_2
    )


def test_snapshot_without_a_picture_is_404(video, world, client_for, frame_dir):
    assert (
        client_for(world.dispatcher).get(reverse("video:camera_snapshot", args=[video.cam_b.pk])).status_code
        == 404
    )


def test_snapshot_matrix(video, world, client_for, frame_dir):
    write(video.cam_a.pk, JPEG_1)  # camera A: grid A of station S1
    url = reverse("video:camera_snapshot", args=[video.cam_a.pk])
    for name in ("dispatcher", "director", "officer_a", "auxiliary_a", "leader", "admin"):
        assert client_for(getattr(world, name)).get(url).status_code == 200, name
    for name in ("director_s2", "officer_b", "patrol", "evaluator"):
        assert client_for(getattr(world, name)).get(url).status_code == 404, name
    assert client_for(None).get(url).status_code == 302
    assert (
        client_for(world.dispatcher).get(reverse("video:camera_snapshot", args=[999999])).status_code == 404
    )
    assert client_for(world.dispatcher).post(url).status_code == 405


# --- the watch page ---------------------------------------------------------------------------------------------
def test_watch_page_shows_the_camera_and_its_speakers(video, world, client_for, frame_dir):
    write(video.cam_a.pk, JPEG_1)
    page = client_for(world.dispatcher).get(reverse("video:camera_watch", args=[video.cam_a.pk]))
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    html = page.content.decode()
    assert "西福东门" in html and "西福小区东门" in html and "西福东门音柱" in html and "广播喊话" in html
    assert "rtsp://" not in html and "secret" not in html  # the stream URL (with its password) never shows
    assert (
        client_for(world.director_s2).get(reverse("video:camera_watch", args=[video.cam_a.pk])).status_code
        == 404
    )
    # The auxiliary may look but not broadcast.
    aux = (
        client_for(world.auxiliary_a)
        .get(reverse("video:camera_watch", args=[video.cam_a.pk]))
        .content.decode()
    )
    assert 'data-testid="watch-broadcast"' not in aux


# --- MJPEG --------------------------------------------------------------------------------------------------------
async def read_parts(client: AsyncClient, url: str, n: int, on_part=None) -> tuple[object, list[bytes]]:
    response = await client.get(url)
    pictures: list[bytes] = []
    if response.status_code != 200:
        return response, pictures
    stream = response.streaming_content
    try:
        async for chunk in stream:
            pictures += jpegs_in(chunk)
            if on_part is not None:
                on_part(len(pictures))
            if len(pictures) >= n:
                break
    finally:
        await stream.aclose()
    return response, pictures


def test_mjpeg_sends_the_latest_picture_at_once_and_each_new_one(video, world, frame_dir, fast):
    write(video.cam_a.pk, JPEG_1, age=3600)  # an hour old: still sent, at once
    client = AsyncClient()
    client.force_login(world.dispatcher)

    def change(count: int) -> None:
        if count == 1:
            write(video.cam_a.pk, JPEG_2)

    response, pictures = async_to_sync(read_parts)(
        client, reverse("video:camera_live", args=[video.cam_a.pk]), 2, change
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
    assert response["Cache-Control"] == "private, no-store"
    assert pictures == [JPEG_1, JPEG_2]


def test_mjpeg_resends_a_still_picture_to_keep_the_stream_alive(video, world, frame_dir, fast, monkeypatch):
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.05)
    write(video.cam_a.pk, JPEG_1)
    client = AsyncClient()
    client.force_login(world.dispatcher)
    _response, pictures = async_to_sync(read_parts)(
        client, reverse("video:camera_live", args=[video.cam_a.pk]), 3
    )
    assert pictures == [JPEG_1, JPEG_1, JPEG_1]


def test_mjpeg_ends_after_its_maximum_duration(video, world, frame_dir, fast, monkeypatch):
    monkeypatch.setattr(live, "MAX_SECONDS", 0.2)
    write(video.cam_a.pk, JPEG_1)
    client = AsyncClient()
    client.force_login(world.dispatcher)
    _response, pictures = async_to_sync(read_parts)(
        client, reverse("video:camera_live", args=[video.cam_a.pk]), 1000
    )
    assert pictures == [JPEG_1]  # the stream ended by itself, with its one picture


def test_mjpeg_parts_can_be_read_directly(video, frame_dir):
    write(video.cam_b.pk, JPEG_2)

    async def take() -> list[bytes]:
        return [p async for p in live.mjpeg_parts(video.cam_b.pk, poll=0.01, max_parts=2, keepalive=0.02)]

    parts = async_to_sync(take)()
    assert [jpegs_in(p) for p in parts] == [[JPEG_2], [JPEG_2]]


def test_mjpeg_ends_when_the_picture_is_taken_away(video, frame_dir):
    """The worker removes the picture of a camera it no longer reads: the stream must not show the last one
    on (as a keepalive) as if it were live."""
    write(video.cam_b.pk, JPEG_2)

    async def take() -> list[bytes]:
        parts = []
        async for part in live.mjpeg_parts(video.cam_b.pk, poll=0.01, keepalive=0.02, max_seconds=1):
            parts.append(part)
            frames.remove(video.cam_b.pk)
        return parts

    assert [jpegs_in(p) for p in async_to_sync(take)()] == [[JPEG_2]]


def test_mjpeg_matrix(video, world, frame_dir, fast):
    write(video.cam_a.pk, JPEG_1)
    url = reverse("video:camera_live", args=[video.cam_a.pk])

    def status(user) -> int:
        client = AsyncClient()
        if user is not None:
            client.force_login(user)
        response, _pictures = async_to_sync(read_parts)(client, url, 1)
        return response.status_code

    assert status(world.officer_a) == 200
    assert status(world.director_s2) == 404
    assert status(world.officer_b) == 404
    assert status(world.patrol) == 404
    assert status(None) == 302
    client = AsyncClient()
    client.force_login(world.dispatcher)
    missing, _ = async_to_sync(read_parts)(client, reverse("video:camera_live", args=[video.cam_b.pk]), 1)
    assert missing.status_code == 404  # no picture yet


def test_a_client_going_away_ends_the_stream(video, world, frame_dir, fast, monkeypatch):
    """Through the project's ASGI application, as uvicorn runs it: the response starts, pictures flow, the
    client disconnects, and the application returns at once (the generator is closed, nothing keeps
    running) — long before the stream's maximum duration."""
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.05)
    browser = Client()
    browser.force_login(world.dispatcher)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    path = reverse("video:camera_live", args=[video.cam_a.pk])
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip

    async def body() -> tuple[list[dict], list[bytes], float]:
        inbox: asyncio.Queue = asyncio.Queue()
        await inbox.put({"type": "http.request", "body": b"", "more_body": False})
        sent: list[dict] = []
        two = asyncio.Event()

        async def send(message: dict) -> None:
            sent.append(message)
            data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
            if len(jpegs_in(data)) >= 2:
                two.set()

        task = asyncio.create_task(application(scope, inbox.get, send))
        await asyncio.wait_for(two.wait(), 10)
        gone = time.monotonic()
        await inbox.put({"type": "http.disconnect"})
        await asyncio.wait_for(task, 5)
        data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent, jpegs_in(data), time.monotonic() - gone

    write(video.cam_a.pk, JPEG_1)
    sent, pictures, took = async_to_sync(body)()
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert pictures[:2] == [JPEG_1, JPEG_1]
    assert took < 2 < live.MAX_SECONDS


# --- the video WebSocket ---------------------------------------------------------------------------------------
def video_socket(user, *, started_ago: float | None = None):
    """A WebSocket to /ws/video/ through the real ASGI application, with a real session cookie (and the
    login started `started_ago` seconds ago)."""
    from channels.testing import WebsocketCommunicator

    from doorstep.accounts.middleware import SESSION_STARTED

    browser = Client()
    browser.force_login(user)
    if started_ago is not None:
        session = browser.session
        session[SESSION_STARTED] = time.time() - started_ago
        session.save()
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)]
    return WebsocketCommunicator(application, "/ws/video/", headers=headers)


@pytest.fixture
def in_memory_layer(settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_an_open_patrol_console_is_closed_when_the_login_reaches_its_absolute_limit(
    world, settings, in_memory_layer
):
    """As the alarm console's: the limit is set to end 0.3 s after connecting (a real, short timer)."""
    settings.SESSION_ABSOLUTE_SECONDS = 5
    ws = video_socket(world.dispatcher, started_ago=5 - 0.3)

    async def body():
        connected, _ = await ws.connect()
        assert connected
        assert (await ws.receive_json_from(timeout=2))["type"] == "hello"
        assert (await ws.receive_json_from(timeout=5))["type"] == "session_expired"
        assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
        await ws.disconnect()

    async_to_sync(body)()


def test_a_login_past_its_absolute_limit_gets_no_patrol_console(world, settings, in_memory_layer):
    settings.SESSION_ABSOLUTE_SECONDS = 5
    ws = video_socket(world.dispatcher, started_ago=6)

    async def body():
        connected, code = await ws.connect()
        assert not connected and code == 4401

    async_to_sync(body)()
