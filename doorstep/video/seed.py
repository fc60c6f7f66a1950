"""Demo video patrol: cameras at the key units and police rooms of the demo district, each "streaming" a
synthetic video file (a street scene in which someone walks by now and then), with detection zones; the
speakers that cover them (simulated: `make demo` runs a simulated speaker in the server process); camera
groups; two patrol tours; and a week of tour history so the director's oversight page has something to show.

Idempotent: a database that already has cameras gets no new rows; the video files are written again when
they are missing (a cleaned var/ directory) — they are generated, never downloaded.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.org.models import Station
from doorstep.registry.models import Unit
from doorstep.video import services
from doorstep.video.choices import FindingResult, Hotspot, RunStatus
from doorstep.video.models import Camera, Speaker, TourFinding, TourRun
from doorstep.video.testing import back_and_forth, scene_frames, write_video

DEMO_SPEAKER_PORT = 8091
VIDEO_FPS = 10
VIDEO_SECONDS = 24
HOTSPOTS = {"school": Hotspot.SCHOOL, "hospital": Hotspot.PUBLIC_ORDER, "finance": Hotspot.MARKET}
ZONE_LEFT = [[0.05, 0.2], [0.5, 0.2], [0.5, 0.95], [0.05, 0.95]]


@dataclass(frozen=True)
class VideoSeedResult:
    created: bool
    cameras: int
    speakers: int


def video_dir() -> Path:
    return settings.VAR_DIR / "video" / "demo"


def demo_videos() -> list[str]:
    """Three looping scenes (file:// URLs), written when missing: someone walks through the left half
    (the zone) in the second half of the loop, so each camera raises an event about once a loop."""
    folder = video_dir()
    folder.mkdir(parents=True, exist_ok=True)
    urls = []
    n = VIDEO_FPS * VIDEO_SECONDS
    for index in range(3):
        path = folder / f"scene-{index + 1}.avi"
        if not path.exists() or path.stat().st_size == 0:
            walker = back_and_forth(0.1, 0.45, 0.6, first=n // 2, last=n - VIDEO_FPS, period=VIDEO_FPS * 3)
            tmp = path.with_suffix(".tmp.avi")
            write_video(tmp, scene_frames(n, object_path=walker, seed=index * 7 + 3), fps=VIDEO_FPS)
            tmp.replace(path)
        urls.append(path.resolve().as_uri())
    return urls


def seed(seed_value: int = 42) -> VideoSeedResult:
    if settings.PRODUCTION:  # the demo's cameras are video files, which production refuses: none at all
        return VideoSeedResult(False, Camera.objects.count(), Speaker.objects.count())
    urls = demo_videos()
    if Camera.objects.exists():
        return VideoSeedResult(False, Camera.objects.count(), Speaker.objects.count())
    rng = random.Random(f"video:{seed_value}")
    admin = (
        User.objects.filter(role=Role.ADMIN).order_by("pk").first()
        or User.objects.filter(is_superuser=True).first()
    )
    if admin is None:
        return VideoSeedResult(False, 0, 0)
    with transaction.atomic():
        cameras = speakers = 0
        for station in Station.objects.order_by("pk"):
            made = _station(rng, admin, station, urls)
            cameras += made[0]
            speakers += made[1]
    return VideoSeedResult(True, cameras, speakers)


def _station(rng: random.Random, admin, station: Station, urls: list[str]) -> tuple[int, int]:
    units = list(
        Unit.objects.filter(is_key=True, grid__community__station=station, address__lng__isnull=False)
        .select_related("address", "grid")
        .order_by("pk")[:4]
    )
    if not units:
        return 0, 0
    school_group = services.save_group(
        by=admin, station_id=station.pk, name="校园周边", note="上学放学时段重点巡查"
    )
    night_group = services.save_group(
        by=admin, station_id=station.pk, name="夜间巡查点", note="20:00–次日 06:00"
    )
    cameras, speakers = [], 0
    for index, unit in enumerate(units):
        code = f"S{station.pk:02d}-{index + 1:02d}"
        lng, lat = unit.address.lng + 0.0004, unit.address.lat + 0.0002
        zone = f"{unit.name[:10]}周边"
        speaker = services.save_speaker(
            by=admin, grid=unit.grid, code=f"SP{code}", name=f"{unit.name[:12]}音柱", location=f"{unit.name[:20]}门口",
            lng=lng, lat=lat, driver="http", address=f"http://127.0.0.1:{DEMO_SPEAKER_PORT}/{code}", zone=zone,
            volume=70,
        )  # fmt: skip
        speakers += 1
        hotspot = HOTSPOTS.get(unit.unit_type, Hotspot.PUBLIC_ORDER)
        camera = services.save_camera(
            by=admin, grid=unit.grid, code=f"CAM{code}", name=f"{unit.name[:14]}门口",
            location=f"{unit.name[:20]}大门外", lng=lng, lat=lat, hotspot=hotspot,
            stream_url=urls[index % len(urls)], group=school_group if hotspot == Hotspot.SCHOOL else night_group,
            speakers=[speaker], fps=5, min_duration=1.0, cooldown=120,
            # one camera of each station watches only at night, as a real one would
            active_from=dt.time(20, 0) if index == 3 else None, active_to=dt.time(6, 0) if index == 3 else None,
        )  # fmt: skip
        services.set_zones(camera, [{"name": "门前通道", "points": ZONE_LEFT}], by=admin)
        cameras.append(camera)
    dispatcher = User.objects.filter(role=Role.DISPATCHER, station=station).order_by("pk").first()
    night = services.save_tour(
        by=admin, station_id=station.pk, name="夜间视频巡查", cameras=cameras, start_time=dt.time(20, 0),
        end_time=dt.time(6, 0), interval_minutes=120, grace_minutes=15, duty_post="视频巡查岗",
    )  # fmt: skip
    day = services.save_tour(
        by=admin, station_id=station.pk, name="日间重点部位巡查", cameras=cameras[:3], start_time=dt.time(8, 0),
        end_time=dt.time(18, 0), interval_minutes=120, grace_minutes=15, assignee=dispatcher,
        duty_post="" if dispatcher else "视频巡查岗",
    )  # fmt: skip
    _history(rng, [night, day], dispatcher or admin)
    return len(cameras), speakers


def _history(rng: random.Random, tours, patroller) -> None:
    """A week of past runs: most done on time, some late, a few missed (rows of the past, written as such)."""
    now = timezone.now()
    for tour in tours:
        stops = list(tour.stops.select_related("camera"))
        for due in services.slots(tour, now - dt.timedelta(days=7), now - dt.timedelta(hours=2)):
            roll = rng.random()
            if roll < 0.08:
                TourRun.objects.create(
                    tour=tour, station_id=tour.station_id, due_at=due, status=RunStatus.MISSED
                )
                continue
            late = roll > 0.85
            started = due + dt.timedelta(minutes=rng.randint(20, 50) if late else rng.randint(0, 10))
            run = TourRun.objects.create(
                tour=tour, station_id=tour.station_id, due_at=due, status=RunStatus.DONE, late=late,
                started_at=started, finished_at=started + dt.timedelta(minutes=rng.randint(4, 12)), by=patroller,
            )  # fmt: skip
            for i, stop in enumerate(stops):
                abnormal = rng.random() < 0.05
                TourFinding.objects.create(
                    run=run, camera=stop.camera, by=patroller,
                    result=FindingResult.ABNORMAL if abnormal else FindingResult.NORMAL,
                    note="有人在围墙边逗留，已广播劝离" if abnormal else "",
                    recorded_at=started + dt.timedelta(minutes=i + 1),
                )  # fmt: skip
