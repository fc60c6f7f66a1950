"""Reading one camera: OpenCV (FFmpeg) opens the stream — RTSP, HTTP MJPEG, or a video file for tests and
the demo — and a thread per camera reads it, keeps the latest picture (frames.py), runs the motion
detector at the camera's analysis rate, and reports what happened to the video worker (daemon.py).

A stream that cannot be opened, stops, or sends frames that cannot be decoded is reported as trouble and
opened again with back-off (1, 2, 4 … 30 s); nothing that goes wrong in one camera stops the thread or
touches the others."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
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


class StreamError(Exception):
    """The stream cannot be read; the message is Chinese and shown on the camera's page."""


@dataclass(frozen=True)
class CameraConfig:
    """What a reader needs of a camera row (a changed row is a new config: the worker restarts its reader)."""

    camera_id: int
    url: str
    fps: int
    detect: bool
    detector: DetectorConfig
    version: str = ""


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
    extra: dict = field(default_factory=dict)


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
            raise StreamError(f"无法打开视频流：{exc}") from exc
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
    ) -> None:
        super().__init__(name=f"videod-camera-{config.camera_id}", daemon=True)
        self.config = config
        self.report = report
        self.clock = clock
        self.backoff = backoff
        self.stopping = threading.Event()
        self.frames_read = 0
        self.frames_analysed = 0
        self.reconnections = 0
        self.session_frames = 0
        self.detector = MotionDetector(config.detector)

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            stream = Stream(self.config.url)
            self.session_frames = 0
            try:
                stream.open()
                self._read(stream)
            except StreamError as exc:
                self._trouble(str(exc))
            except Exception as exc:  # a bug or an OpenCV surprise must not end the camera's thread
                log.exception("摄像机 %s 读取出错", self.config.camera_id)
                self._trouble(f"读取出错：{type(exc).__name__}")
            finally:
                stream.close()
            if self.stopping.is_set():
                break
            self.reconnections += 1
            if self.session_frames:
                failures = 0  # it worked for a while: start the back-off again from the shortest wait
            wait = self.backoff[min(failures, len(self.backoff) - 1)]
            failures += 1
            self.stopping.wait(wait)

    def _read(self, stream: Stream) -> None:
        """Read until the stream fails (StreamError) or the reader is stopped."""
        period = 1.0 / max(1, self.config.fps)
        next_due = 0.0
        last_seen = 0.0
        bad = 0
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
            jpeg = encode(frame)
            if jpeg is not None:
                frames.write(self.config.camera_id, jpeg)
            h, w = frame.shape[:2]
            if now_mono - last_seen >= SEEN_EVERY or last_seen == 0.0:
                self.report(Report("seen", self.config.camera_id, at, width=w, height=h))
                last_seen = now_mono
            if not self.config.detect:
                continue
            self.frames_analysed += 1
            try:
                detections = self.detector.feed(frame, timezone.localtime(at))
            except Exception:
                log.exception("摄像机 %s 检测出错", self.config.camera_id)
                self.detector.reset()
                continue
            for detection in detections:
                self.report(
                    Report(
                        "motion",
                        self.config.camera_id,
                        at,
                        detection=detection,
                        jpeg=encode(annotate(frame, detection)),
                    )
                )

    def _trouble(self, detail: str) -> None:
        log.warning("摄像机 %s：%s", self.config.camera_id, detail)
        self.report(Report("trouble", self.config.camera_id, self.clock(), detail=detail))
