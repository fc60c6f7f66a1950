"""`python -m doorstep.manual` — what `make docs` runs.

all    [--out var/docs] [--roles a,b]   scratch demo server (migrate, seed, run), every picture, site, PDFs
shots  --base URL --var-dir DIR [--out var/docs] [--roles a,b]   pictures from a server already running
                                         (DIR: its DOORSTEP_VAR_DIR, for the commands a tour runs)
build  [--out var/docs] [--no-pdf]        site and PDFs from the pictures already taken
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from doorstep.manual import build, shoot
from doorstep.manual.roles import ROOT, TOURS
from doorstep.manual.server import MARKER, DemoServer
from doorstep.manual.tour import server_env


def _roles(value: str | None) -> list[str] | None:
    if not value:
        return None
    roles = [r.strip() for r in value.split(",") if r.strip()]
    unknown = [r for r in roles if r not in TOURS]
    if unknown:
        raise SystemExit(f"unknown roles: {unknown}; known: {list(TOURS)}")
    return roles


def _report(problems: list[str]) -> int:
    if problems:
        print(
            f"\n{len(problems)} problem(s) — the guides name what the system no longer shows:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  ✗ {problem}", file=sys.stderr)
        return 1
    return 0


def _build(out: Path, pdf: bool, partial: bool = False) -> None:
    prints = build.build(out, partial=partial)
    print(f"site: {out / 'site' / 'index.html'}")
    if pdf:
        for path in build.print_pdfs(out, prints):
            print(f"pdf:  {path} ({path.stat().st_size // 1024} KiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doorstep.manual", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    every = sub.add_parser("all")
    shots = sub.add_parser("shots")
    shots.add_argument("--base", required=True)
    shots.add_argument("--var-dir", required=True, type=Path)
    only_build = sub.add_parser("build")
    only_build.add_argument("--no-pdf", action="store_true")
    for command in (every, shots, only_build):
        command.add_argument("--out", type=Path, default=ROOT / "var" / "docs")
    for command in (every, shots):
        command.add_argument("--roles")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if args.command == "build":
        _build(out, pdf=not args.no_pdf)
        return 0
    if args.command == "shots":
        problems = shoot.run(args.base, out, server_env(args.var_dir.resolve()), _roles(args.roles))
        return _report(problems)
    started = time.monotonic()
    # A fresh district every time: the tours change the demo's data (an alarm pressed, a visit saved).
    demo = out / "demo"
    if demo.exists():
        if any(demo.iterdir()) and not (demo / MARKER).exists():
            raise SystemExit(f"{demo} exists and is not a scratch demo of the manuals: not deleting it")
        shutil.rmtree(demo)
    server = DemoServer(demo)
    print(f"demo district in {server.var_dir} (migrate + seed) …", flush=True)
    server.prepare()
    with server:
        print(f"taking the pictures from {server.base} …", flush=True)
        problems = shoot.run(server.base, out, server.env, _roles(args.roles))
    if problems:
        return _report(problems)
    _build(out, pdf=True, partial=bool(args.roles))
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
