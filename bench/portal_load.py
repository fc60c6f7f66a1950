"""Portal load test (issue #11): an open-loop generator on loopback, by default 200 requests/s for 60 s, split
between GETs of officer cards (`/portal/a/<code>/`, the page a house-plate QR code opens) and POSTs of the
tip form (`/portal/report/tip/`, anonymous). Reports sent / ok / errors, the status counts and the latency
p50 / p95 / p99 / max of each kind and of all.

    make bench-portal                                   # seeds var/bench-portal, starts a server, runs this
    .venv/bin/python bench/portal_load.py --base http://127.0.0.1:8097 [--rate 200] [--seconds 60]

This script starts nothing: it targets a running server. The server must trust this machine as a proxy
(DOORSTEP_TRUSTED_PROXIES=127.0.0.1): every request carries an X-Forwarded-For of its simulated client, so
the portal's per-address rate limits count per client as they would behind the real reverse proxy
(officer-card GETs come from a pool of --clients addresses, each tip POST from an address of its own).

Open loop: request i is due at start + i / rate whatever the server does, each on its own task, on an idle
keep-alive connection or a new one when none is idle (as a reverse proxy in front of the server would;
--new-connections: a new TCP connection per request), so a slow server meets the same arrival rate (no
coordinated omission);
latency is measured from the moment the request was due to the last byte of the response. A request is ok
when it answers 200 (and, for a POST, the page is the receipt, not the form again with an error); anything
else — another status, a timeout (--timeout), a connection error — is an error.

Officer-card codes: from --codes (a file, one code a line) or, by default, from the database of the same
DOORSTEP_VAR_DIR as the server (`portal.officers.address_code` of --addresses sampled addresses).
The CSRF cookie and token of the tip form are fetched once before the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIP_PATH = "/portal/report/tip/"
RECEIPT_MARKER = b'data-testid="receipt-code"'
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_COOKIE = re.compile(r"csrftoken=([^;]+)", re.I)
TIPS = [
    "小区东门附近晚上有人拉车门，请加强巡逻。",
    "楼下出租屋深夜人员进出频繁，较吵。",
    "公园后门路灯坏了，晚上很黑。",
    "有人在快递柜附近逗留，形迹可疑。",
]


@dataclass
class Stats:
    sent: int = 0
    ok: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, every request that got a response

    def line(self, name: str) -> str:
        lat = sorted(self.latencies)
        return (
            f"| {name} | {self.sent} | {self.ok} | {self.sent - self.ok} | "
            f"{', '.join(f'{k}×{v}' for k, v in sorted(self.statuses.items())) or '—'} | "
            f"{_ms(_pct(lat, 50))} | {_ms(_pct(lat, 95))} | {_ms(_pct(lat, 99))} | {_ms(lat[-1] if lat else None)} |"
        )


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


# --- HTTP/1.1 over asyncio streams (no dependency) -------------------------------------------------------------
class Connections:
    """Idle keep-alive connections to the server, reused by later requests (as a reverse proxy keeps its
    upstream connections); `fresh=True` opens one connection per request instead (Connection: close)."""

    def __init__(self, host: str, port: int, *, fresh: bool = False) -> None:
        self.host, self.port, self.fresh = host, port, fresh
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names; repeated ones joined by newlines) and body of one request. A
        reused connection the server has meanwhile closed is retried once on a new one."""
        while self.idle and not self.fresh:
            conn = self.idle.pop()
            if conn[1].is_closing():
                continue
            try:
                return await self._exchange(conn, method, target, headers, body)
            except (asyncio.IncompleteReadError, ConnectionError):
                conn[1].close()
                break
        return await self._exchange(await self.open(), method, target, headers, body)

    async def _exchange(
        self,
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        reader, writer = conn
        keep = not self.fresh
        head = [
            f"{method} {target} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Connection: keep-alive" if keep else "Connection: close",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            blob = await reader.readuntil(b"\r\n\r\n")
            lines = blob.decode("latin-1").split("\r\n")
            if not lines[0].startswith("HTTP/"):
                raise ConnectionError("no HTTP response")
            status = int(lines[0].split()[1])
            out: dict[str, str] = {}
            for line in lines[1:]:
                if not line:
                    continue
                name, _, value = line.partition(":")
                name = name.strip().lower()
                out[name] = f"{out[name]}\n{value.strip()}" if name in out else value.strip()
            if "content-length" in out:
                payload = await reader.readexactly(int(out["content-length"]))
            elif out.get("transfer-encoding", "").lower() == "chunked":
                payload = await _read_chunked(reader)
            else:
                payload, keep = await reader.read(), False
        except BaseException:
            writer.close()
            raise
        if keep and out.get("connection", "").lower() != "close":
            self.idle.append(conn)
        else:
            writer.close()
        return status, out, payload

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)


# --- setup -----------------------------------------------------------------------------------------------------
def codes_from_database(count: int, seed: int) -> list[str]:
    """Officer-card codes of `count` addresses not rejected in review (those have a card), from the
    DOORSTEP_VAR_DIR database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    import django

    django.setup()
    from doorstep.portal.officers import address_code
    from doorstep.registry.choices import ReviewStatus
    from doorstep.registry.models import Address

    rng = random.Random(seed)
    ids = list(
        Address.objects.exclude(review_status=ReviewStatus.REJECTED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not ids:
        raise SystemExit("no addresses in the database: seed it first")
    return [address_code(pk) for pk in rng.sample(ids, min(count, len(ids)))]


async def csrf_pair(connections: Connections) -> tuple[str, str]:
    """The CSRF cookie and the form token of the tip form."""
    status, headers, body = await connections.request("GET", TIP_PATH, {"X-Forwarded-For": "10.255.255.254"})
    if status != 200:
        raise SystemExit(f"GET {TIP_PATH} answered {status}: is the tip form there and the server running?")
    cookie = CSRF_COOKIE.search(headers.get("set-cookie", ""))
    token = CSRF_INPUT.search(body)
    if not (cookie and token):
        raise SystemExit("the tip form carries no CSRF cookie or token")
    return cookie.group(1), token.group(1).decode()


def client_address(n: int) -> str:
    """A distinct private address for simulated client n (10.0.0.1 …)."""
    n += 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


# --- the run ---------------------------------------------------------------------------------------------------
async def run(args: argparse.Namespace, codes: list[str]) -> dict[str, Stats]:
    url = urllib.parse.urlsplit(args.base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    connections = Connections(host, port, fresh=args.new_connections)
    cookie, token = await csrf_pair(connections)
    rng = random.Random(args.seed)
    stats = {"GET officer card": Stats(), "POST tip": Stats()}
    total = int(args.rate * args.seconds)
    post_clients = args.clients  # POST addresses come after the GET pool
    tasks: list[asyncio.Task] = []
    loop = asyncio.get_running_loop()

    async def one(
        due: float, kind: str, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> None:
        s = stats[kind]
        s.sent += 1
        try:
            status, _headers, payload = await asyncio.wait_for(
                connections.request(method, target, headers, body), args.timeout
            )
        except TimeoutError:
            s.errors["timeout"] += 1
            return
        except OSError as exc:  # refused, reset, no HTTP response
            s.errors[type(exc).__name__] += 1
            return
        s.latencies.append(loop.time() - due)
        s.statuses[status] += 1
        if status == 200 and (method == "GET" or RECEIPT_MARKER in payload):
            s.ok += 1
        elif status == 200:
            s.errors["form error"] += 1

    start = loop.time() + 0.5
    for i in range(total):
        due = start + i / args.rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if rng.random() < args.post_share:
            body = urllib.parse.urlencode(
                {"csrfmiddlewaretoken": token, "content": rng.choice(TIPS), "anonymous": "on"}
            ).encode()
            headers = {
                "Cookie": f"csrftoken={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": client_address(post_clients),
            }
            post_clients += 1
            tasks.append(asyncio.create_task(one(due, "POST tip", "POST", TIP_PATH, headers, body)))
        else:
            target = f"/portal/a/{rng.choice(codes)}/"
            headers = {"X-Forwarded-For": client_address(rng.randrange(args.clients))}
            tasks.append(asyncio.create_task(one(due, "GET officer card", "GET", target, headers, b"")))
    await asyncio.gather(*tasks)
    connections.close()
    print(f"{connections.opened} TCP connections opened")
    return stats


def report(args: argparse.Namespace, stats: dict[str, Stats], elapsed: float) -> None:
    every = Stats()
    for s in stats.values():
        every.sent += s.sent
        every.ok += s.ok
        every.statuses.update(s.statuses)
        every.errors.update(s.errors)
        every.latencies += s.latencies
    print(
        f"\n{every.sent} requests in {elapsed:.1f} s ({every.sent / elapsed:.1f}/s; target {args.rate}/s for "
        f"{args.seconds} s), {every.ok} ok, {every.sent - every.ok} errors"
    )
    print("\n| requests | sent | ok | errors | statuses | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s in stats.items():
        print(s.line(name))
    print(every.line("all"))
    if every.errors:
        print("\nerrors:", ", ".join(f"{k}×{v}" for k, v in every.errors.most_common()))
    if every.latencies:
        print(f"mean latency {statistics.fmean(every.latencies) * 1000:.1f} ms")
    print(
        f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="http://127.0.0.1:8097", help="the running server")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--post-share", type=float, default=0.2, help="share of tip-form POSTs")
    parser.add_argument(
        "--codes", help="a file of officer-card codes, one a line (default: from the database)"
    )
    parser.add_argument("--addresses", type=int, default=200, help="addresses sampled for the officer cards")
    parser.add_argument("--clients", type=int, default=2000, help="simulated client addresses of the GETs")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a request is an error")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--new-connections",
        action="store_true",
        help="one TCP connection per request (Connection: close) instead of reusing keep-alive connections",
    )
    args = parser.parse_args()
    if args.codes:
        codes = [line.strip() for line in Path(args.codes).read_text().splitlines() if line.strip()]
    else:
        codes = codes_from_database(args.addresses, args.seed)
    if not codes:
        raise SystemExit("no officer-card codes")
    print(f"{len(codes)} officer-card codes; {args.rate}/s for {args.seconds} s against {args.base}")
    began = time.monotonic()
    stats = asyncio.run(run(args, codes))
    report(args, stats, time.monotonic() - began)
    return 0 if all(s.ok == s.sent for s in stats.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
