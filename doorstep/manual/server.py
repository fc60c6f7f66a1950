"""A scratch demo server for the tour: its own SQLite database under a directory of its own (never the
developer's var/db), migrated and seeded as `make demo` does, served by `manage.py run` on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from doorstep.manual.roles import ROOT
from doorstep.manual.tour import manage, server_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MARKER = (
    ".doorstep-manual-demo"  # written into a scratch demo's directory: `make docs` may delete only such a one
)

# The health check goes straight to the local server, never through an http_proxy of the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DemoServer:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = Path(var_dir)
        self.env = server_env(self.var_dir)
        self.port = 0
        self.base = ""
        self.process: subprocess.Popen | None = None
        self.log = self.var_dir / "server.log"

    def prepare(self) -> None:
        """Migrate and seed the demo district (idempotent: a second call adds nothing)."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        (self.var_dir / MARKER).touch()
        manage(self.env, "migrate", "--noinput", "-v0")
        manage(self.env, "seed", "--scale", "demo")

    def start(self, timeout: float = 90) -> None:
        """Serve on a free port, chosen now (not when the seed began: another worker may have taken it since);
        tried again on another port if this one was taken meanwhile."""
        for _attempt in range(3):
            self.port = free_port()
            self.base = f"http://127.0.0.1:{self.port}"
            if self._start_on_port(timeout):
                return
        raise RuntimeError(f"the demo server found no free port; see {self.log}")

    def _start_on_port(self, timeout: float) -> bool:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "manage.py"),
                    "run",
                    "--port",
                    str(self.port),
                    "--no-alarmd",
                    "--no-videod",
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.log.read_bytes()[offset:].decode("utf-8", "replace")
                self.process = None
                if "address already in use" in output.lower():
                    return False
                raise RuntimeError(f"the demo server stopped at once; see {self.log}:\n{output[-2000:]}")
            # Ours is up once it says it listens on the port (not another server that took the port first).
            listening = f"running on {self.base}" in self.log.read_bytes()[offset:].decode("utf-8", "replace")
            try:
                with _DIRECT.open(f"{self.base}/healthz", timeout=2) as answer:
                    if answer.status == 200 and listening and self.process.poll() is None:
                        return True
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the demo server did not answer within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
