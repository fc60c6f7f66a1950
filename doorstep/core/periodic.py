"""Periodic jobs (ARCHITECTURE: "periodic jobs — `doorstep tick`, every minute in-process"): each app that
has one lists it in JOBS as a dotted path to `fn(now)`. `doorstep tick` runs them once (cron or a systemd
timer in production); `doorstep run` runs them every minute in its loop (`Ticker`). A job that fails is
logged and the others run all the same. Jobs must be safe to run twice at once (two processes)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger("doorstep.tick")

JOBS: tuple[str, ...] = (
    "doorstep.duty.supervision.tick",  # police rooms with nobody in them: alerts opened and closed
    "doorstep.mediation.services.tick",  # disputes waiting for a mediator go to the one on duty today
    "doorstep.evaluation.snapshots.tick",  # KPI snapshots of each just-finished week, 旬, month and year
    "doorstep.portal.phones.purge",  # one-time codes a day past their expiry
    "doorstep.mobile.sync.purge",  # phone records in conflict on a revoked device, or a month old
)


def run_all(now: dt.datetime | None = None) -> dict[str, str]:
    """Run every job once; {job: "ok" | the error's name}."""
    from doorstep.core.dbwrites import serialized_writes

    now = now or timezone.now()
    results = {}
    for path in JOBS:
        try:
            with serialized_writes():
                import_string(path)(now)
            results[path] = "ok"
        except Exception as exc:
            log.exception("定时任务 %s 出错", path)
            results[path] = type(exc).__name__
    return results


class Ticker:
    """`run_all` every `seconds` in a database thread of its own, inside an asyncio loop."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        from doorstep.alarms.daemon import DbWorker

        self._db = DbWorker("tick")
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="tick")

    async def _loop(self) -> None:
        while not self._stop.is_set():
            await self._db.run(run_all)
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.seconds)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            await self._db.close()
