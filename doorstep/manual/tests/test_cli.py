"""`python -m doorstep.manual` refuses what would hurt: unknown tours, deleting a directory it did not make; and
the scratch server's environment carries none of the caller's Doorstep settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.manual.__main__ import main
from doorstep.manual.tour import server_env


def test_an_unknown_tour_is_refused_by_name(tmp_path):
    with pytest.raises(SystemExit, match="unknown roles"):
        main(
            ["shots", "--base", "http://127.0.0.1:1", "--var-dir", str(tmp_path), "--roles", "officer,nobody"]
        )


def test_a_demo_directory_it_did_not_make_is_never_deleted(tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "precious.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit, match="not deleting it"):
        main(["all", "--out", str(tmp_path), "--roles", "common"])
    assert (demo / "precious.txt").read_text(encoding="utf-8") == "keep me"


def test_the_scratch_server_gets_none_of_the_callers_settings(monkeypatch):
    for name, value in {
        "DATABASE_URL": "postgres://prod/doorstep",
        "REDIS_URL": "redis://prod:6379/0",
        "DOORSTEP_SMS_GATEWAY": "http",
        "DOORSTEP_SMS_URL": "https://sms.example/send",
        "DOORSTEP_VIDEO_FRAME_DIR": "/run/doorstep/live",
        "PROMETHEUS_MULTIPROC_DIR": "/run/doorstep-web/metrics",
        "SECRET_KEY": "production",
        "TEST_DATABASE_NAME": "test_x",
    }.items():
        monkeypatch.setenv(name, value)
    env = server_env(Path("/tmp/scratch"))
    for name in ("DATABASE_URL", "REDIS_URL", "DOORSTEP_SMS_URL", "DOORSTEP_VIDEO_FRAME_DIR", "SECRET_KEY"):
        assert name not in env
    assert "PROMETHEUS_MULTIPROC_DIR" not in env and "TEST_DATABASE_NAME" not in env
    assert env["DOORSTEP_SMS_GATEWAY"] == "console" and env["DOORSTEP_ENV"] == "development"
    assert env["DOORSTEP_VAR_DIR"] == "/tmp/scratch" and env["PATH"]
