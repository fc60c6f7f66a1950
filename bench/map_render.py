"""The map in headless Chromium at district scale: time from navigation to the first full render of the
houses layer, and bytes transferred, with vector tiles and with the plain GeoJSON of the same houses.

    DOORSTEP_VAR_DIR=var/bench-recolour .venv/bin/python bench/map_render.py

Starts `doorstep run` on a free port against the district database (SQLite under DOORSTEP_VAR_DIR, or
DATABASE_URL), signs in as a grid officer (initial view: the grid, houses as 3D footprints) and as a station
director (initial view: the station, houses as colour cells), opens /map/ (tiles) and /map/?houses=geojson
(the houses of the view as one GeoJSON), 3 runs each after one warm-up, cold browser cache each time.
"Rendered" is the map's `data-ready` flag: set on the first `idle` after the houses source is added, i.e.
every tile of the view loaded and drawn. Bytes are response bodies as sent (after compression).
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DOORSTEP_VAR_DIR", str(ROOT / "var" / "district"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "Doorstep@2026"
RUNS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def users() -> dict[str, str]:
    """A grid officer and a station director of the seeded district (usernames)."""
    code = (
        "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','doorstep.settings');django.setup();"
        "from doorstep.accounts.models import User;from doorstep.accounts.choices import Role;"
        "print(User.objects.filter(role=Role.OFFICER,is_active=True,staff__isnull=False).order_by('id')"
        ".first().username);"
        "print(User.objects.filter(role=Role.DIRECTOR,is_active=True).order_by('id').first().username)"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    officer, director = out.stdout.split()
    return {"officer": officer, "director": director}


def measure(browser, origin: str, username: str, path: str) -> tuple[float, int, int, int]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(f"{origin}/")
    sizes: dict[str, int] = {}

    def finished(request):
        with contextlib.suppress(Exception):  # a request without a body
            sizes[request.url] = sizes.get(request.url, 0) + request.sizes()["responseBodySize"]

    page.on("requestfinished", finished)
    t0 = time.perf_counter()
    page.goto(f"{origin}{path}")
    page.wait_for_function(
        "['1', 'error'].includes(document.getElementById('map').dataset.ready)", timeout=120_000
    )
    elapsed = time.perf_counter() - t0
    if page.get_attribute("#map", "data-ready") == "error":
        context.close()
        return float("nan"), 0, 0, 0  # e.g. the GeoJSON endpoint refusing more than 20,000 houses
    page.wait_for_timeout(300)  # late responses of the same view
    data = sum(v for k, v in sizes.items() if "/api/v1/map/" in k)
    houses = sum(v for k, v in sizes.items() if "/map/tiles/houses/" in k or "/map/houses.geojson" in k)
    context.close()
    return elapsed, sum(sizes.values()), data, houses


def main():
    from playwright.sync_api import sync_playwright

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DOORSTEP_ENV": "development"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        who = users()
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for role, username in who.items():
                for label, path in (("vector tiles", "/map/"), ("GeoJSON", "/map/?houses=geojson")):
                    measure(browser, origin, username, path)  # warm-up (server caches, Python imports)
                    runs = [measure(browser, origin, username, path) for _ in range(RUNS)]
                    rows.append((role, label, runs))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"machine: {platform.node()} · {platform.machine()} · {os.cpu_count()} cores · Chromium (Debian) headless, "
        f"software GL · {time.strftime('%Y-%m-%d')} · {RUNS} runs after a warm-up, median"
    )
    print(
        "| initial view | houses as | navigation → houses drawn | all bytes | map API bytes | houses bytes |"
    )
    print("|---|---|---|---|---|---|")
    for role, label, runs in rows:
        t = statistics.median(r[0] for r in runs)
        total, data, houses = (int(statistics.median(r[i] for r in runs)) for i in (1, 2, 3))
        print(
            f"| {role} | {label} | {t:.2f} s | {total / 1e6:.2f} MB | {data / 1e3:.0f} kB | {houses / 1e3:.0f} kB |"
        )


if __name__ == "__main__":
    main()
