"""Typed readers for settings that come from the environment; they fail fast on bad values."""

from __future__ import annotations

import os


class ConfigError(RuntimeError):
    """A setting from the environment is missing or malformed."""


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ConfigError(f"environment variable {name} is required")
        return default or ""
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"environment variable {name} must be a boolean, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_data_keys(text: str, *, source: str) -> tuple[list[tuple[str, bytes]], bytes | None]:
    """Read data keys from "kid:base64" items (commas or lines; "#" starts a comment).

    Returns the encryption keys in order — the first is the active one — and the search (HMAC) key if an
    item is named "search". Every key is 32 random bytes (AES-256); a key id is 1-16 letters or digits.
    """
    import base64
    import binascii
    import re

    keys: list[tuple[str, bytes]] = []
    search: bytes | None = None
    for raw in re.split(r"[,\n]", text):
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not re.fullmatch(r"[A-Za-z0-9]{1,16}", kid):
            raise ConfigError(f"{source}: each key must be written kid:base64 (kid: 1-16 letters or digits)")
        try:
            key = base64.b64decode(encoded.strip(), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"{source}: the key {kid!r} is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError(f"{source}: the key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
        if kid == "search":
            search = key
        elif any(kid == other for other, _key in keys):
            raise ConfigError(f"{source}: the key id {kid!r} appears twice")
        else:
            keys.append((kid, key))
    return keys, search
