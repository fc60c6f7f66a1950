"""What the tour does for each picture of a guide: the page to open, what to click or type there, the on-screen
texts the guide quotes (each must be on the page), and what to outline in the picture.

A role's tour is the list `SHOTS` in `doorstep/manual/tours/<role>.py`, taken in order in one browser tab signed
in as the role's demo user, so a shot may continue where the previous one left (`path=""`). A tour may change
the demo's data (press an alarm, save a visit), but only data it made itself or data no other role's tour uses:
the tests run the roles in any order, on more than one server.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from doorstep.manual.roles import ROOT, TOURS

DESKTOP = {"width": 1366, "height": 860}
TIME_ZONE = "Asia/Shanghai"  # the demo's (settings.TIME_ZONE): the browser's clock and the tours' "today"
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Shot:
    """One picture: `img/<name>.png`, named `<role>/<what>` (letters, digits, - and _)."""

    name: str
    # The path opened first ("/alarms/console/", with a query string if needed); "" stays on the current page.
    path: str
    # On-screen texts the guide quotes as 「…」 next to this picture: each must be on the page once `act` ran.
    labels: tuple[str, ...] = ()
    # Clicks and typing after the page opened: act(page, ctx). Use the labels a user sees (get_by_role,
    # get_by_label, get_by_text), so a renamed button fails here too.
    act: Callable[[Any, Ctx], None] | None = None
    # Preparation on the server side before the page opens: before(ctx), e.g. ctx.manage("simulate_press", ...).
    before: Callable[[Ctx], None] | None = None
    # An on-screen text (or "css=<selector>") outlined in red in the picture: what the step asks to click.
    highlight: str | None = None
    # A phone (390×844, touch, mobile user agent) instead of a 1366×860 desktop.
    phone: bool = False
    # The whole page, not only the window.
    full_page: bool = False
    # Only this element ("css=<selector>" or an on-screen text), e.g. a dialog.
    clip: str | None = None
    # A CSS selector to wait for before the picture (a map's canvas, a chart, a list filled by a script).
    wait_for: str | None = None
    # Milliseconds to let animations and maps settle after everything else.
    settle_ms: int = 400
    # HTTP errors this page answers on purpose (e.g. a refusal the guide shows): not counted as failures.
    allow_status: tuple[int, ...] = ()

    @property
    def role(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def image(self) -> str:
        return f"img/{self.name}.png"


@dataclass
class Ctx:
    """What a tour's callables get: the server's address, a way to run a management command against its
    database, and a dict to hand values from one shot to the next (a record's number, a code shown once)."""

    base: str
    env: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    def manage(self, *args: str, check: bool = True) -> str:
        """Run `manage.py <args>` on the server's database (its DOORSTEP_VAR_DIR); its output."""
        return manage(self.env, *args, check=check, timeout=120)

    def press(self, device_id: str) -> str:
        """A demo alarm button pressed, signed with its real credentials (`simulate_press`) and sent to this
        server: the alarm arrives as from the device."""
        return self.manage("simulate_press", device_id, "--url", self.base)

    def django(self, code: str) -> str:
        """Run Python in `manage.py shell` on the server's database (to find a record the tour needs); stdout."""
        return self.manage("shell", "-c", code).strip()


def local_today() -> dt.date:
    """Today on the demo's clock (the tours fill dates the way a user there would)."""
    return dt.datetime.now(ZoneInfo(TIME_ZONE)).date()


def manage(env: dict[str, str], *args: str, check: bool = True, timeout: float = 600) -> str:
    """`manage.py <args>` in the given environment (a scratch demo's); its output, or an error with its end."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def shots_of(role: str) -> list[Shot]:
    module = importlib.import_module(f"doorstep.manual.tours.{role}")
    shots = list(module.SHOTS)
    for shot in shots:
        if shot.role != role:
            raise ValueError(f"{shot.name}: a shot of tours/{role}.py must be named {role}/...")
    return shots


def all_shots() -> list[Shot]:
    return [shot for tour in TOURS for shot in shots_of(tour)]


def _settings_variables() -> set[str]:
    """Every environment variable settings.py reads (env_str("X"), env_bool("X"), ... and os.environ)."""
    text = (ROOT / "doorstep" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r"""(?:env_\w+\(|environ(?:\.get\(|\[))\s*["']([A-Z][A-Z0-9_]+)["']""", text))


def server_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a scratch demo server and of the commands run against it: SQLite in `var_dir`, the
    in-process channel layer, development settings (as `make demo`), text messages to the console. Nothing of the
    caller's Doorstep settings comes through — a shell that sourced a production env file must not send the
    demo's texts through the real gateway, write frames into the real frame directory or use its database."""
    drop = _settings_variables() | {
        "TEST_DATABASE_NAME",
        "DJANGO_SETTINGS_MODULE",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("DOORSTEP_", "PROMETHEUS_", "DJANGO_"))
    }
    env.update(
        DOORSTEP_ENV="development",
        DOORSTEP_VAR_DIR=str(var_dir),
        DOORSTEP_ALARMD="false",
        DOORSTEP_VIDEOD="false",
        DOORSTEP_LOG_FORMAT="text",
        DOORSTEP_SMS_GATEWAY="console",
        DOORSTEP_TWO_FACTOR="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
