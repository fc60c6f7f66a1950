"""Reading one camera: OpenCV (FFmpeg) opens the stream — RTSP, HTTP MJPEG, or a video file for tests and
the demo — and a thread per camera reads it, keeps the latest picture (frames.py), runs the motion
detector at the camera's analysis rate, and reports what happened to the video worker (daemon.py).

A stream that cannot be opened, stops, or sends frames that cannot be decoded is reported as trouble and
opened again with back-off (1, 2, 4 … 30 s); nothing that goes wrong in one camera stops the thread or
touches the others.

A stream URL may carry the camera's credentials (rtsp://user:password@…, ?password=…): nothing this module
logs or reports holds them (`redact`). Pictures are kept at most 1280×720 (live) and 1920×1080 (events),
whatever the camera sends: a 4K camera costs the decoder, not every viewer and every JPEG."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
from django.utils import timezone

from doorstep.video import frames
from doorstep.video.detection import Detection, DetectorConfig, MotionDetector

log = logging.getLogger("doorstep.videod")

OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MS = 10_000
MAX_BAD_FRAMES = 25  # this many undecodable frames in a row: reopen the stream
BACKOFF = (1, 2, 4, 8, 15, 30)
JPEG_QUALITY = 75
SEEN_EVERY = 10.0  # seconds between "still online" reports of a camera that is fine
LIVE_SIZE = (1280, 720)  # the live picture fits in this box (width, height)
EVENT_SIZE = (1920, 1080)  # an event's picture fits in this box
# A reader replacing one of the same camera (its settings changed) waits this long for the old one to let go
# of the stream: cheap cameras refuse a second session. Longer than a blocked open or read can last.
HANDOVER_SECONDS = (OPEN_TIMEOUT_MS + READ_TIMEOUT_MS) / 1000 + 2


class StreamError(Exception):
    """The stream cannot be read; the message is Chinese and shown on the camera's page."""


def redact(text: str, url: str) -> str:
    """`text` without the URL's secrets: the URL itself, its user name and password, and its query (which
    cameras' HTTP interfaces use for credentials) are masked, whole or percent-encoded."""
    secrets_ = [url]
    with contextlib.suppress(ValueError):  # an unparsable URL: only the whole of it is known to mask
        parts = urlsplit(url)
        secrets_ += [parts.netloc if "@" in parts.netloc else "", parts.query]
        for secret in (parts.username, parts.password):
            if secret:
                secrets_ += [secret, unquote(secret)]
    for secret in sorted({s for s in secrets_ if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class CameraConfig:
    """What a reader needs of a camera row (a different config: the worker restarts the camera's reader)."""

    camera_id: int
    url: str = field(repr=False)  # may hold credentials: never in a repr, a log or an error
    fps: int
    detect: bool
    detector: DetectorConfig
    # Which row it came from, for the log: not compared, so that renaming a camera or changing its speakers
    # does not reconnect it (and re-learn its scene); what the reader uses above is.
    version: str = field(default="", compare=False)


@dataclass
class Report:
    """What a reader tells the worker: kind "seen" (width, height), "trouble" (detail) or "motion"."""

    kind: str
    camera_id: int
    at: dt.datetime
    width: int = 0
    height: int = 0
    detail: str = ""
    detection: Detection | None = None
    jpeg: bytes | None = None
    failures: int = 0  # commits that failed so far (the worker tries an event again)


class Stream:
    """One open stream. Files are played at their own frame rate and looped (a test or demo "camera")."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        self.is_file = parts.scheme == "file"
        self.source = unquote(parts.path) if self.is_file else url
        self._cap: cv2.VideoCapture | None = None
        self._period = 0.0
        self._next = 0.0

    def open(self) -> None:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            READ_TIMEOUT_MS,
        ]
        try:
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        except cv2.error as exc:  # pragma: no cover - OpenCV raises only on invalid arguments
            raise StreamError(f"无法打开视频流：{redact(str(exc), self.url)}") from None
        if not cap.isOpened():
            cap.release()
            raise StreamError(
                "视频文件不存在或无法解码" if self.is_file else "无法连接视频流（地址错误或设备离线）"
            )
        self._cap = cap
        if self.is_file:
            fps = cap.get(cv2.CAP_PROP_FPS) or 0
            self._period = 1.0 / fps if 1 <= fps <= 60 else 0.2
            self._next = time.monotonic()

    def read(self) -> np.ndarray | None:
        """The next frame; None for a frame that could not be decoded. StreamError: the stream ended."""
        if self._cap is None:
            raise StreamError("视频流未打开")
        if self.is_file:
            delay = self._next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next = max(self._next + self._period, time.monotonic() - self._period)
        ok, frame = self._cap.read()
        if not ok:
            if self.is_file and self._cap.get(cv2.CAP_PROP_FRAME_COUNT) > 0:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop the file
                ok, frame = self._cap.read()
            if not ok:
                raise StreamError("视频流中断")
        if frame is None or frame.size == 0 or frame.ndim not in (2, 3):
            return None
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def fit(frame: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """The frame shrunk to fit in `box` (width, height), aspect kept; as it is when it fits already."""
    h, w = frame.shape[:2]
    scale = min(box[0] / w, box[1] / h)
    if scale >= 1:
        return frame
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def annotate(frame: np.ndarray, detection: Detection) -> np.ndarray:
    """The picture of an event: the moving area framed in red."""
    marked = frame.copy()
    h, w = marked.shape[:2]
    x, y, bw, bh = detection.bbox
    cv2.rectangle(marked, (int(x * w), int(y * h)), (int((x + bw) * w), int((y + bh) * h)), (0, 0, 255), 2)
    return marked


def encode(frame: np.ndarray) -> bytes | None:
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return buffer.tobytes() if ok else None


class CameraReader(threading.Thread):
    """Reads one camera until stopped; `report` is called (from this thread) with each Report."""

    def __init__(
        self,
        config: CameraConfig,
        report: Callable[[Report], None],
        *,
        clock: Callable[[], dt.datetime] = timezone.now,
        backoff: tuple[float, ...] = BACKOFF,
        predecessor: threading.Thread | None = None,
    ) -> None:
        super().__init__(name=f"videod-camera-{config.camera_id}", daemon=True)
        self.config = config
        self.predecessor = predecessor  # the reader this one replaces: it lets go of the stream first
        self.report = report
        self.clock = clock
        self.backoff = backoff
        self.stopping = threading.Event()
        self.forget_picture = False  # set before stop when the camera is no longer read: its picture goes
        self.frames_read = 0
        self.frames_analysed = 0
        self.reconnections = 0
        self.session_frames = 0
        self.detector = MotionDetector(config.detector)

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        if self.predecessor is not None:
            deadline = time.monotonic() + HANDOVER_SECONDS
            while self.predecessor.is_alive() and not self.stopping.is_set() and time.monotonic() < deadline:
                self.predecessor.join(0.1)
            self.predecessor = None
        failures = 0
        while not self.stopping.is_set():
            stream: Stream | None = None
            self.session_frames = 0
            try:
                stream = Stream(self.config.url)
                stream.open()
                self._read(stream)
            except StreamError as exc:
                self._trouble(redact(str(exc), self.config.url))
            except Exception as exc:  # a bug or an OpenCV surprise must not end the camera's thread
                self._log_error("读取出错", exc)
                self._trouble(f"读取出错：{type(exc).__name__}")
            finally:
                if stream is not None:
                    stream.close()
            if self.stopping.is_set():
                break
            self.reconnections += 1
            if self.session_frames:
                failures = 0  # it worked for a while: start the back-off again from the shortest wait
            wait = self.backoff[min(failures, len(self.backoff) - 1)]
            failures += 1
            self.stopping.wait(wait)
        if self.forget_picture:
            frames.remove(self.config.camera_id)

    def _read(self, stream: Stream) -> None:
        """Read until the stream fails (StreamError) or the reader is stopped."""
        period = 1.0 / max(1, self.config.fps)
        next_due = 0.0
        last_seen = 0.0
        bad = 0
        picture_failed = False  # said once per connection, not five times a second
        self.detector.reset()
        while not self.stopping.is_set():
            frame = stream.read()
            if frame is None:
                bad += 1
                if bad >= MAX_BAD_FRAMES:
                    raise StreamError("连续收到无法解码的画面")
                continue
            bad = 0
            self.frames_read += 1
            self.session_frames += 1
            now_mono = time.monotonic()
            if now_mono < next_due:
                continue  # a live stream faster than the analysis rate: keep reading, analyse fewer
            next_due = max(next_due + period, now_mono - period)
            at = self.clock()
            jpeg = encode(fit(frame, LIVE_SIZE))
            if jpeg is not None:
                try:
                    frames.write(self.config.camera_id, jpeg)
                except OSError as exc:  # the picture directory is full or gone: detection goes on
                    if not picture_failed:
                        log.error(
                            "摄像机 %s 的实时画面无法写入 %s：%s",
                            self.config.camera_id,
                            frames.frame_dir(),
                            exc,
                        )
                    picture_failed = True
            h, w = frame.shape[:2]
            if now_mono - last_seen >= SEEN_EVERY or last_seen == 0.0:
                self._status(Report("seen", self.config.camera_id, at, width=w, height=h))
                last_seen = now_mono
            if not self.config.detect:
                continue
            self.frames_analysed += 1
            try:
                # The hours are the station's local time, whatever zone the thread was left in.
                detections = self.detector.feed(
                    frame, timezone.localtime(at, timezone.get_default_timezone())
                )
            except Exception as exc:
                self._log_error("检测出错", exc)
                self.detector.reset()
                continue
            for detection in detections:
                # Reported even when the reader is being stopped: an event once detected is not dropped.
                self.report(
                    Report(
                        "motion",
                        self.config.camera_id,
                        at,
                        detection=detection,
                        jpeg=encode(annotate(fit(frame, EVENT_SIZE), detection)),
                    )
                )

    def _status(self, report: Report) -> None:
        """Report how the stream is, unless the reader is being stopped: then it says nothing about the
        camera (it was disabled, or another reader takes over), so a late word cannot undo the new status."""
        if not self.stopping.is_set():
            self.report(report)

    def _trouble(self, detail: str) -> None:
        if self.stopping.is_set():
            return
        log.warning("摄像机 %s：%s", self.config.camera_id, detail)
        self._status(Report("trouble", self.config.camera_id, self.clock(), detail=detail))

    def _log_error(self, what: str, exc: BaseException) -> None:
        """An unexpected error, with its traceback, with the stream's credentials masked (an OpenCV or
        FFmpeg message may quote the URL)."""
        text = redact("".join(traceback.format_exception(exc)), self.config.url)
        log.error("摄像机 %s %s：\n%s", self.config.camera_id, what, text.rstrip())
