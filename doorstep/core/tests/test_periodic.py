"""The periodic jobs: `doorstep tick` runs each once; one that fails does not stop the others."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from doorstep.core import periodic

CALLS: list[str] = []


def good(now):
    CALLS.append("good")


def bad(now):
    raise RuntimeError("boom")


def test_a_failing_job_is_reported_and_the_others_run(monkeypatch, db):
    CALLS.clear()
    monkeypatch.setattr(periodic, "JOBS", (f"{__name__}.bad", f"{__name__}.good"))
    assert periodic.run_all() == {f"{__name__}.bad": "RuntimeError", f"{__name__}.good": "ok"}
    assert CALLS == ["good"]
    with pytest.raises(CommandError):
        call_command("tick")


def test_the_real_jobs_run(db):
    assert set(periodic.run_all().values()) == {"ok"}
