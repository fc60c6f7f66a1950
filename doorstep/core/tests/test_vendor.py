"""Drift checks for the vendored front-end files in doorstep/static/vendor/.

The files are produced by ``cd frontend && npm ci && node vendor.mjs``, which
also writes ``doorstep/static/vendor/MANIFEST.json``. These tests are pure
Python (no Django, no database, no node) and fail when somebody edits a
vendored file by hand, adds/removes one without re-running the script, or
bumps ``frontend/package-lock.json`` without re-vendoring.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VENDOR = REPO / "doorstep" / "static" / "vendor"
MANIFEST_PATH = VENDOR / "MANIFEST.json"
LOCK_PATH = REPO / "frontend" / "package-lock.json"

# The stable paths templates rely on.
REQUIRED_FILES = {
    "tabler/tabler.min.css",
    "tabler/tabler.min.js",
    "htmx/htmx.min.js",
    "maplibre-gl/maplibre-gl.js",
    "maplibre-gl/maplibre-gl.css",
    "echarts/echarts.min.js",
    "tabler-icons/tabler-icons.min.css",
    "tabler-icons/fonts/tabler-icons.woff2",
}
GLYPH_FONTSTACK = "Noto Sans Regular"

# url(...) / @import whose target is another host: http://, https:// or protocol-relative //.
REMOTE_REF = re.compile(
    r"""url\(\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\(\s*)?["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def _manifest() -> dict:
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _vendored_code_files() -> list[Path]:
    return sorted(p for p in VENDOR.rglob("*") if p.is_file() and p.suffix in {".css", ".js"})


def test_manifest_exists_and_is_well_formed():
    manifest = _manifest()
    assert manifest["packages"], "MANIFEST.json lists no packages"
    assert manifest["files"], "MANIFEST.json lists no files"
    paths = [f["path"] for f in manifest["files"]]
    assert len(paths) == len(set(paths)), "duplicate paths in MANIFEST.json"
    for entry in manifest["files"]:
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), entry
        assert not Path(entry["path"]).is_absolute() and ".." not in Path(entry["path"]).parts, entry


def test_required_stable_paths_are_vendored():
    listed = {f["path"] for f in _manifest()["files"]}
    missing = REQUIRED_FILES - listed
    assert not missing, f"stable vendor paths missing from MANIFEST.json: {sorted(missing)}"


def test_every_manifest_file_exists_with_matching_sha256():
    problems = []
    for entry in _manifest()["files"]:
        path = VENDOR / entry["path"]
        if not path.is_file():
            problems.append(f"missing: {entry['path']}")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"sha256 mismatch (edited by hand? re-run vendor.mjs): {entry['path']}")
    assert not problems, "\n".join(problems)


def test_every_vendored_file_is_listed_in_manifest():
    listed = {f["path"] for f in _manifest()["files"]}
    on_disk = {
        p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file() and p != MANIFEST_PATH
    }
    unlisted = sorted(on_disk - listed)
    assert not unlisted, f"files under static/vendor not produced by vendor.mjs: {unlisted}"


def test_manifest_versions_match_package_lock():
    lock = json.loads(LOCK_PATH.read_text(encoding="utf-8"))
    locked = lock["packages"]
    problems = []
    for pkg in _manifest()["packages"]:
        key = f"node_modules/{pkg['name']}"
        if key not in locked:
            problems.append(f"{pkg['name']} is vendored but not in frontend/package-lock.json")
        elif locked[key]["version"] != pkg["version"]:
            problems.append(
                f"{pkg['name']}: vendored {pkg['version']} but package-lock.json has "
                f"{locked[key]['version']} (run `npm ci && node vendor.mjs` in frontend/)"
            )
    assert not problems, "\n".join(problems)


def test_every_manifest_file_belongs_to_a_listed_package():
    manifest = _manifest()
    names = {p["name"] for p in manifest["packages"]}
    orphans = [f["path"] for f in manifest["files"] if f.get("package") not in names]
    assert not orphans, f"files whose package is not in MANIFEST packages: {orphans}"


@pytest.mark.parametrize("path", _vendored_code_files(), ids=lambda p: p.relative_to(VENDOR).as_posix())
def test_no_remote_url_or_import(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace")
    match = REMOTE_REF.search(text)
    assert match is None, (
        f"{path.relative_to(VENDOR)} loads from another host (no internet on police networks): "
        f"...{text[max(0, match.start() - 40) : match.end() + 60]}..."
    )


@pytest.mark.parametrize("path", _vendored_code_files(), ids=lambda p: p.relative_to(VENDOR).as_posix())
def test_no_source_map_comments(path: Path):
    text = path.read_text(encoding="utf-8", errors="replace")
    assert "sourceMappingURL=" not in text, (
        f"{path.relative_to(VENDOR)} references a .map file that is not shipped"
    )


def test_glyph_ranges_complete():
    """Every {range} MapLibre can request for the font stack must exist (no 404s)."""
    stack_dir = VENDOR / "glyphs" / GLYPH_FONTSTACK
    expected = {f"{start}-{start + 255}.pbf" for start in range(0, 65536, 256)}
    present = {p.name for p in stack_dir.glob("*.pbf")}
    assert present == expected, f"missing glyph ranges: {sorted(expected - present)[:10]}"
    # A glyph PBF names its own font stack; the directory must match it.
    assert GLYPH_FONTSTACK.encode() in (stack_dir / "0-255.pbf").read_bytes()
