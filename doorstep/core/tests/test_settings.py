"""Production settings: `check --deploy` is clean, and missing settings fail fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_ENV = {
    "DOORSTEP_ENV": "production",
    "DATABASE_URL": "postgres://doorstep:secret@db.internal:5432/doorstep",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-9f8e7d6c5b4a",
    "ALLOWED_HOSTS": "doorstep.police.internal",
    "DOORSTEP_SMS_GATEWAY": "http",
    "DOORSTEP_SMS_URL": "https://sms.police.internal/send",
    "DOORSTEP_DATA_KEYS": "k1:" + "QUFB" * 10 + "QUE=",  # 32 bytes of "A": a test key, not a secret
    "DOORSTEP_SEARCH_KEY": "QkJC" * 10 + "QkI=",
    "DOORSTEP_TWO_FACTOR": "on",
}


def _django(args, env_overrides, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", *drop}}
    env.update(env_overrides)
    for key in drop:
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "doorstep.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing():
    result = _django(["check", "--deploy", "--fail-level", "DEBUG"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_fails_fast():
    result = _django(["check"], PRODUCTION_ENV, drop=("SECRET_KEY",))
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_refuses_sqlite():
    result = _django(["check"], PRODUCTION_ENV | {"DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_production_needs_a_real_sms_gateway():
    """Without one, one-time codes and receipt codes would go to the log instead of the resident's phone."""
    missing = _django(["check"], PRODUCTION_ENV, drop=("DOORSTEP_SMS_GATEWAY",))
    assert missing.returncode != 0 and "DOORSTEP_SMS_GATEWAY" in missing.stderr
    console = _django(["check"], PRODUCTION_ENV | {"DOORSTEP_SMS_GATEWAY": "console"})
    assert console.returncode != 0 and "DOORSTEP_SMS_GATEWAY must be http" in console.stderr


def test_production_needs_its_own_data_keys(tmp_path):
    """Without them ID and phone numbers would be encrypted with the public development keys."""
    missing = _django(["check"], PRODUCTION_ENV, drop=("DOORSTEP_DATA_KEYS",))
    assert missing.returncode != 0 and "production needs its own data keys" in missing.stderr
    no_search = _django(["check"], PRODUCTION_ENV, drop=("DOORSTEP_SEARCH_KEY",))
    assert no_search.returncode != 0 and "DOORSTEP_SEARCH_KEY" in no_search.stderr
    bad = _django(["check"], PRODUCTION_ENV | {"DOORSTEP_DATA_KEYS": "k1:c2hvcnQ="})
    assert bad.returncode != 0 and "must be 32 bytes" in bad.stderr
    key_file = tmp_path / "data-keys"
    key_file.write_text(
        "# keys\nk2:"
        + PRODUCTION_ENV["DOORSTEP_DATA_KEYS"][3:]
        + "\nsearch:"
        + PRODUCTION_ENV["DOORSTEP_SEARCH_KEY"]
    )
    from_file = _django(
        ["check"],
        PRODUCTION_ENV | {"DOORSTEP_DATA_KEY_FILE": str(key_file)},
        drop=("DOORSTEP_DATA_KEYS", "DOORSTEP_SEARCH_KEY"),
    )
    assert from_file.returncode == 0, from_file.stderr


def test_production_cannot_turn_two_factor_off():
    off = _django(["check"], PRODUCTION_ENV | {"DOORSTEP_TWO_FACTOR": "off"})
    assert off.returncode != 0 and "DOORSTEP_TWO_FACTOR" in off.stderr
