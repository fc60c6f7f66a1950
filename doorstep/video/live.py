"""The live pictures: a camera's latest JPEG (snapshot), an MJPEG relay of the pictures the video worker
writes (frames.py), the page that shows one camera live, and the picture a patroller's finding kept.

Who may look: anyone who may view video patrol, and only at cameras in their territory (grid-scoped, as the
camera); anything else is a 404. Nothing is cached by the browser or a proxy.

The MJPEG relay is an async view: the web server (uvicorn) holds many open streams on one event loop, each a
`stat` of the picture file every POLL_SECONDS and a read when it changed. The database is asked once, before
the stream starts, through `sync_to_async`, and the connection is handed back before streaming, so a viewer
never holds one. A stream ends after MAX_SECONDS (the page reconnects) or when the client goes away (Django's
ASGI handler cancels it and closes the generator).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from doorstep.org.territory import Territory
from doorstep.video import access, frames, selectors
from doorstep.video.models import Camera, TourFinding

BOUNDARY = "frame"
POLL_SECONDS = 0.1  # how often a stream looks for a new picture
KEEPALIVE_SECONDS = 10.0  # the same picture again after this long without a new one (proxies, stall checks)
# A stream ends after this; the page opens a new one a little earlier (and the rights are checked again).
# Short on purpose: uvicorn's graceful shutdown waits for open responses, so a restart waits up to this long
# for the consoles' streams unless the server is given a `timeout_graceful_shutdown`.
MAX_SECONDS = 120.0
SNAPSHOT_REFRESH_SECONDS = 2  # the pages' fallback when the MJPEG stream fails


def private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


# --- scoped reads ------------------------------------------------------------------------------------------
def cameras_for(user: Any):
    """The cameras whose pictures `user` may see (none for a role without video patrol)."""
    return selectors.cameras_for(user)


def camera_for(user: Any, pk: int) -> Camera:
    return selectors.get_for(user, cameras_for(user), pk)


def findings_for(user: Any):
    """Findings of the runs of the user's stations, at cameras the user may see."""
    if not access.may_view(user):
        return TourFinding.objects.none()
    territory = Territory.for_user(user)
    qs = TourFinding.objects.all()
    if territory.whole:
        return qs
    return qs.filter(run__station_id__in=territory.station_ids, camera__grid_id__in=territory.grid_ids)


# --- snapshot --------------------------------------------------------------------------------------------
@login_required
@require_GET
def camera_snapshot(request, pk: int):
    camera_for(request.user, pk)
    latest = frames.read(pk)
    if latest is None:
        raise Http404(_("暂无画面"))
    jpeg, _mtime = latest
    return private(HttpResponse(jpeg, content_type="image/jpeg"))


@login_required
@require_GET
def finding_snapshot(request, pk: int):
    finding = findings_for(request.user).filter(pk=pk).first()
    if finding is None or not finding.snapshot:
        raise Http404
    try:
        handle = finding.snapshot.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return private(FileResponse(handle, content_type="image/jpeg"))


# --- MJPEG -----------------------------------------------------------------------------------------------
def part(jpeg: bytes) -> bytes:
    """One part of a multipart/x-mixed-replace stream: one JPEG."""
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
    return head + jpeg + b"\r\n"


async def mjpeg_parts(
    camera_id: int,
    *,
    poll: float | None = None,
    max_seconds: float | None = None,
    max_parts: int | None = None,
    keepalive: float | None = None,
) -> AsyncIterator[bytes]:
    """The camera's pictures as MJPEG parts: the latest one at once (however old), then each new one as the
    worker writes it; the same one again after `keepalive` seconds without a new one. Ends after
    `max_seconds` or `max_parts` parts, or when the picture is taken away (the camera is no longer read:
    its last picture is not to be shown on as if live)."""
    poll = POLL_SECONDS if poll is None else poll
    max_seconds = MAX_SECONDS if max_seconds is None else max_seconds
    keepalive = KEEPALIVE_SECONDS if keepalive is None else keepalive
    started = time.monotonic()
    shown: float | None = None
    sent_at = 0.0
    jpeg: bytes | None = None
    sent = 0
    while True:
        now = time.monotonic()
        written = frames.mtime(camera_id)  # one stat(): cheap enough for the event loop
        if written is None and jpeg is not None:
            return
        if written is not None and written != shown:
            latest = await asyncio.to_thread(frames.read, camera_id)
            if latest is not None:
                jpeg, shown = latest
                yield part(jpeg)
                sent, sent_at = sent + 1, now
        elif jpeg is not None and now - sent_at >= keepalive:
            yield part(jpeg)
            sent, sent_at = sent + 1, now
        if (max_parts is not None and sent >= max_parts) or now - started >= max_seconds:
            return
        await asyncio.sleep(poll)


def _release_connection() -> None:
    """Hand this thread's database connection back (closed, or to the pool) before a long stream: a viewer
    must not hold one for minutes. Not inside a transaction (a test's)."""
    if not connection.in_atomic_block:
        connection.close()


def _may_stream(user: Any, pk: int) -> bool:
    try:
        return cameras_for(user).filter(pk=pk).exists()
    finally:
        _release_connection()


async def _stream(camera_id: int) -> AsyncIterator[bytes]:
    # The session middleware may have used the connection after the view returned: hand it back first.
    await sync_to_async(_release_connection)()
    async for chunk in mjpeg_parts(camera_id):
        yield chunk


@login_required
@require_GET
async def camera_live(request, pk: int):
    user = await request.auser()
    if not await sync_to_async(_may_stream)(user, pk):
        raise Http404
    if frames.mtime(pk) is None:
        raise Http404(_("暂无画面"))
    response = StreamingHttpResponse(
        _stream(pk), content_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    )
    response["X-Accel-Buffering"] = "no"  # nginx: pass each picture on at once
    return private(response)


# --- the page of one camera --------------------------------------------------------------------------------
def camera_info(camera: Camera, user: Any) -> dict[str, Any]:
    """What the watch page and the patrol console show of a camera, and where its pictures are; its
    speakers are those the user may broadcast to (a grid officer's own grids)."""
    territory = Territory.for_user(user)
    return {
        "id": camera.pk,
        "code": camera.code,
        "name": camera.name,
        "location": camera.location,
        "grid": camera.grid_id,
        "station": camera.station_id,
        "status": camera.status,
        "status_label": str(camera.get_status_display()),
        "detail": camera.status_detail,
        "last_frame_at": camera.last_frame_at.isoformat() if camera.last_frame_at else None,
        "live": reverse("video:camera_live", args=[camera.pk]),
        "snapshot": reverse("video:camera_snapshot", args=[camera.pk]),
        "watch": reverse("video:camera_watch", args=[camera.pk]),
        "speakers": [
            s.pk
            for s in camera.speakers.all()
            if s.active and (territory.whole or s.grid_id in territory.grid_ids)
        ],
    }


@login_required
@require_GET
def camera_watch(request, pk: int):
    camera = camera_for(request.user, pk)
    camera = Camera.objects.select_related("grid", "station").prefetch_related("speakers").get(pk=camera.pk)
    info = camera_info(camera, request.user)
    speakers = [s for s in camera.speakers.all() if s.pk in info["speakers"]]
    return private(
        render(
            request,
            "video/camera_watch.html",
            {
                "camera": camera,
                "info": info,
                "speakers": speakers,
                "may_broadcast": access.may_broadcast(request.user) and bool(speakers),
                "has_picture": frames.mtime(camera.pk) is not None,
                "refresh_ms": SNAPSHOT_REFRESH_SECONDS * 1000,
                "reconnect_ms": int(max(5.0, MAX_SECONDS - 5) * 1000),
                "time_zone": settings.TIME_ZONE,
            },
        )
    )
