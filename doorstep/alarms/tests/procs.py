"""Real processes for the durability tests: a private PostgreSQL server and Doorstep's own commands.

Every process is started in its own process group, so that `kill -9` hits the whole of it (and cleanup
leaves nothing behind), and logs to a file whose tail goes into the failure message.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[3]
MANAGE = [sys.executable, str(PROJECT_DIR / "manage.py")]
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# Should the test process itself be killed (a CI timeout), its children die with it instead of holding ports.
_DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def die_with_parent(argv: Sequence[str]) -> list[str]:
    """The command, made to get SIGKILL when the test process dies (Linux `setpriv`, where there is one)."""
    return [*_DIE_WITH_PARENT, *argv]


def free_port() -> int:
    """A TCP port nobody listens on now (and, as far as the kernel lets us tell, UDP as well)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class Service:
    """A long-running command (the web process, alarmd) that the test starts, kills and restarts."""

    def __init__(self, name: str, argv: Sequence[str], *, env: dict[str, str], log: Path, port: int):
        self.name, self.argv, self.env, self.log, self.port = name, list(argv), env, log, port
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, timeout: float = 60) -> None:
        """Start it and wait until its port accepts connections; fail with its log if it dies first."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        self.starts += 1
        with self.log.open("a") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.argv)}\n")
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 (our own commands)
                die_with_parent(self.argv),
                cwd=PROJECT_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 reaches every child
            )

    def wait_ready(self, timeout: float) -> None:
        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before it was ready:\n{tail(self.log)}"
                )
            return port_open(self.port)

        wait_until(ready, timeout, f"{self.name} on port {self.port}")

    def kill9(self) -> None:
        """`kill -9` of the process group, the crash the test is about."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Cleanup: SIGTERM, then SIGKILL for whatever is left of the group."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # children that outlived their parent too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def find_pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory with initdb, pg_ctl and postgres, or None."""
    candidates = []
    for directory in Path("/").glob(PG_BIN_GLOB.lstrip("/")):
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            try:
                version = int(directory.parent.name)
            except ValueError:
                version = 0
            candidates.append((version, directory))
    initdb = shutil.which("initdb")  # not Debian's layout: take them from PATH
    if not candidates and initdb and (Path(initdb).parent / "pg_ctl").is_file():
        candidates.append((0, Path(initdb).parent))
    return max(candidates)[1] if candidates else None


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb in a temporary directory, on a free port), so that it
    can be crashed and restarted without touching the shared server the rest of the suite uses.

    fsync and synchronous_commit are on: an acknowledged commit must survive the crash. PostgreSQL refuses
    to run as root, so under root every server command runs as the `postgres` OS user (`runuser`)."""

    def __init__(self, bin_dir: Path, base: Path):
        self.bin_dir, self.base = bin_dir, base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = free_port()
        self.run_as: str | None = None
        self._watchdog: subprocess.Popen | None = None
        if os.geteuid() == 0:
            self.run_as = "postgres"
            try:
                account = pwd.getpwnam(self.run_as)
            except KeyError:
                raise RuntimeError("running as root, but there is no `postgres` OS user to run PostgreSQL")
            os.chown(base, account.pw_uid, account.pw_gid)
        self.started = False

    def url(self, database: str = "doorstep") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        argv = [str(self.bin_dir / tool), *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        result = subprocess.run(  # noqa: S603 (fixed tools, arguments of our own)
            argv, capture_output=True, text=True, timeout=timeout, cwd=self.base, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                f"{tail(self.log)}"
            )
        return result.stdout

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",  # the cluster's creation need not be durable; its commits must
        )
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "max_connections": "100",
            "shared_buffers": "32MB",
            "logging_collector": "off",
            # After a crash the server syncs the data directory before recovery; one syncfs() instead of
            # an fsync() per file keeps the restart short (initdb --no-sync left every file to sync).
            "recovery_init_sync_method": "syncfs",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# doorstep durability test\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._start_watchdog()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.started = True

    def _start_watchdog(self) -> None:
        """pg_ctl runs the server as a daemon, out of reach of the test's process groups. Should the test
        process be killed before its cleanup, a watchdog that reads our end of a pipe sees it close, stops
        the server and removes the directory; after a normal cleanup it finds nothing left to do."""
        stop = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        if self.run_as:
            stop = ["runuser", "-u", self.run_as, "--", *stop]
        script = (
            "import shutil, subprocess, sys\n"
            "sys.stdin.buffer.read()\n"
            f"subprocess.run({stop!r}, capture_output=True, timeout=60)\n"
            f"shutil.rmtree({str(self.base)!r}, ignore_errors=True)\n"
        )
        self._watchdog = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives the test process, which is its point
        )

    def restart_immediate(self) -> None:
        """`pg_ctl restart -m immediate`: every server process quits at once, without a checkpoint; the
        start that follows is a crash recovery from the WAL."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            "immediate",
            "-w",
            "-t",
            "60",
            "restart",
        )

    def stop(self) -> None:
        if self.started:
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=40
                )
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
            self.started = False
        if self._watchdog is not None:
            self._watchdog.stdin.close()  # it stops nothing (already stopped) and removes the directory
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._watchdog.wait(timeout=30)
            self._watchdog = None

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
