"""The latest picture of each camera, shared between the video worker (which writes it) and the web
processes (which relay it as MJPEG and snapshots): one JPEG file per camera, replaced atomically, under
`DOORSTEP_VIDEO_FRAME_DIR` (var/video/live by default; a tmpfs in production). See ADR 0014."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from django.conf import settings


def frame_dir() -> Path:
    return Path(settings.VIDEO_FRAME_DIR)


def path_for(camera_id: int) -> Path:
    return frame_dir() / f"{int(camera_id)}.jpg"


def write(camera_id: int, jpeg: bytes) -> None:
    """Replace the camera's latest picture: readers see the old file or the new one, never half of one."""
    target = path_for(camera_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One temporary name per process and thread: two writers never write into one half-made file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(jpeg)
    os.replace(tmp, target)


def read(camera_id: int) -> tuple[bytes, float] | None:
    """(JPEG, modification time) of the latest picture, or None when there is none."""
    target = path_for(camera_id)
    try:
        stat = target.stat()
        return target.read_bytes(), stat.st_mtime
    except FileNotFoundError:
        return None


def mtime(camera_id: int) -> float | None:
    try:
        return path_for(camera_id).stat().st_mtime
    except FileNotFoundError:
        return None


def age(camera_id: int) -> float | None:
    """Seconds since the latest picture was written (None: never)."""
    written = mtime(camera_id)
    return None if written is None else max(0.0, time.time() - written)


def remove(camera_id: int) -> None:
    path_for(camera_id).unlink(missing_ok=True)
