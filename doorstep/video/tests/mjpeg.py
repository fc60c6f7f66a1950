"""A camera for tests and benchmarks: an HTTP MJPEG server (multipart/x-mixed-replace, as IP cameras
serve) on 127.0.0.1 that streams frames from a callable at a given rate, and can drop its clients or
refuse new ones on demand."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

BOUNDARY = b"doorstepframe"


class MjpegCamera:
    def __init__(
        self,
        frame: Callable[[int], np.ndarray],
        *,
        fps: float = 10.0,
        corrupt: Callable[[int], bool] | None = None,
    ) -> None:
        self.frame = frame
        self.corrupt = corrupt  # frame number → send garbage instead of a JPEG
        self.fps = fps
        self.up = threading.Event()
        self.up.set()
        self.generation = 0  # bumped by drop(): streams of an older generation end
        self.served = 0
        self.connections = 0
        self.sent_at: dict[int, float] = {}  # frame number → time.time() it was sent
        camera = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802
                if not camera.up.is_set():
                    self.send_error(503)
                    return
                camera.connections += 1
                generation = camera.generation
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                period = 1.0 / camera.fps
                next_at = time.monotonic()
                with contextlib.suppress(OSError):
                    while camera.up.is_set() and generation == camera.generation:
                        n = camera.served
                        camera.served += 1
                        if camera.corrupt is not None and camera.corrupt(n):
                            data = bytes(range(256)) * 40
                        else:
                            ok, jpeg = cv2.imencode(".jpg", camera.frame(n), [cv2.IMWRITE_JPEG_QUALITY, 80])
                            data = jpeg.tobytes()
                        self.wfile.write(
                            b"--"
                            + BOUNDARY
                            + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(data)).encode()
                            + b"\r\n\r\n"
                            + data
                            + b"\r\n"
                        )
                        self.wfile.flush()
                        camera.sent_at[n] = time.time()
                        next_at += period
                        time.sleep(max(0.0, next_at - time.monotonic()))

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/video.mjpg"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> MjpegCamera:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.up.clear()
        self._server.shutdown()
        self._server.server_close()

    def drop(self) -> None:
        """End every open stream (the camera rebooted); new connections are served."""
        self.generation += 1

    def __enter__(self) -> MjpegCamera:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
