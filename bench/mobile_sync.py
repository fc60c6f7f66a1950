"""The phone workspace's server side (issue #13, ADR 0024): how long a queued record takes to be applied when
the phone comes back online, and how long today's work takes to load.

    .venv/bin/python bench/mobile_sync.py                     # SQLite under var/bench-mobile/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doorstep_bench_mobile .venv/bin/python bench/mobile_sync.py

Steps: a scratch database migrated and seeded with the demo district (`seed --scale demo`); the demo community
officer signed in (Django's test client, in process: server time, no network); one device enrolled through
`POST /m/api/device`; then, each record sealed in Python exactly as the browser seals it (`sealing.seal`,
not timed):
- 300 visits without a photo posted to `POST /m/api/items` one after another — what a phone does when it
  flushes its queue (unseal, visit service, receipt, audit, one transaction each);
- 100 of them posted again (a lost answer: the stored answer, nothing applied);
- 30 visits with a 1600×1200 JPEG photo (the size the workspace downscales to);
- 30 × `GET /m/api/today`.
Prints a Markdown table for bench/RESULTS.md with the machine, date and database.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "bench-mobile"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
os.environ.setdefault("DOORSTEP_ENV", "development")
if "DATABASE_URL" not in os.environ:
    shutil.rmtree(os.environ["DOORSTEP_VAR_DIR"], ignore_errors=True)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from doorstep.accounts.models import User  # noqa: E402
from doorstep.mobile import sealing  # noqa: E402
from doorstep.org.models import GridAssignment  # noqa: E402
from doorstep.registry.models import Household, Visit  # noqa: E402


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def row(label: str, samples: list[float]) -> str:
    return (
        f"| {label} | {len(samples)} | {statistics.median(samples):.1f} ms | {pct(samples, 95):.1f} ms "
        f"| {max(samples):.1f} ms |"
    )


def photo_data_url() -> str:
    from PIL import Image

    rng = random.Random(7)
    image = Image.new("RGB", (1600, 1200))
    image.putdata(
        [((x * 7 + rng.randrange(40)) % 256, (y * 5) % 256, 120) for y in range(1200) for x in range(1600)]
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    import base64

    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def main() -> None:
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    call_command("seed", scale="demo", verbosity=0)
    seed_s = time.perf_counter() - t0
    officer = User.objects.get(username="officer")
    client = Client()
    client.force_login(officer)
    enrolled = client.post("/m/api/device", json.dumps({"label": "bench"}), content_type="application/json")
    assert enrolled.status_code == 201, enrolled.content
    device, public = enrolled.json()["device"], enrolled.json()["public_key"]
    grids = GridAssignment.objects.current().filter(staff_id=officer.staff_id).values("grid_id")
    households = list(Household.objects.filter(grid_id__in=grids).values_list("pk", flat=True))
    assert households, "the demo officer has no households"

    def body(record: dict, kind: str = "visit") -> tuple[str, str]:
        cid = str(uuid.uuid4())
        sealed = sealing.seal(public, record, cid)
        text = json.dumps(
            {
                "device": device,
                "id": cid,
                "kind": kind,
                "recorded_at": timezone.localtime().isoformat(),
                "summary": "走访",
                "sealed": sealed,
            }
        )
        return cid, text

    def post(text: str) -> float:
        start = time.perf_counter()
        response = client.post("/m/api/items", text, content_type="application/json")
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200 and response.json()["status"] == "applied", response.content
        return elapsed

    visits_before = Visit.objects.count()
    bodies = [
        body(
            {
                "household": households[i % len(households)],
                "findings": "入户走访，了解家庭情况，宣传防诈骗知识。",
                "visited_at": timezone.localtime().isoformat(),
                "photo": None,
            }
        )[1]
        for i in range(300)
    ]
    plain = [post(text) for text in bodies]
    replayed = [post(text) for text in bodies[:100]]
    assert Visit.objects.count() == visits_before + 300, "a replay applied a record twice"
    picture = photo_data_url()
    photos = [
        post(
            body(
                {
                    "household": households[i % len(households)],
                    "findings": "入户走访并拍照。",
                    "visited_at": timezone.localtime().isoformat(),
                    "photo": picture,
                }
            )[1]
        )
        for i in range(30)
    ]
    today = []
    for _ in range(30):
        start = time.perf_counter()
        assert client.get("/m/api/today").status_code == 200
        today.append((time.perf_counter() - start) * 1000)

    print(
        f"machine: {platform.node()} · {platform.machine()} · {os.cpu_count()} cores · Python "
        f"{platform.python_version()} · {connection.vendor} · {timezone.localdate()} · demo seed {seed_s:.0f} s · "
        f"{len(households)} households in the officer's grids · photo {len(picture) * 3 // 4 // 1024} KB"
    )
    print("| request | n | p50 | p95 | max |")
    print("|---|---|---|---|---|")
    print(row("`POST /m/api/items` visit, applied", plain))
    print(row("`POST /m/api/items` the same visit again (answer replayed)", replayed))
    print(row("`POST /m/api/items` visit with a 1600×1200 JPEG photo", photos))
    print(row("`GET /m/api/today` (community officer)", today))


if __name__ == "__main__":
    main()
