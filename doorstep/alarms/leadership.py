"""alarmd's active/standby lock: however many `doorstep alarmd` (and `doorstep run`) processes are started
against one database, exactly one runs the receivers and the supervision tick; the others wait and take over
within a few seconds when it dies.

- **PostgreSQL**: a session-level advisory lock, `pg_try_advisory_lock(LOCK_KEY)`, on a connection of its own
  (never Django's, never the pool's). The standby asks once every POLL_SECONDS. The active process checks its
  connection (and that the lock is still granted to it) every CHECK_SECONDS; a check that fails, or gets no
  answer within CHECK_TIMEOUT, means the lock may be gone: the receivers are stopped at once and the process
  goes back to standby. When a process dies (kill -9), the kernel closes its socket, its PostgreSQL backend
  ends, and the lock is free for the standby's next poll. Advisory locks are per database.
- **Never two active**: a lock can be lost while its process still runs (its connection broken, its
  backend terminated), and another process may take it before that process's next check notices — a standby
  or a process just started, which could not tell a free lock from a lost one. So *every* process that gets
  the lock waits CHECK_SECONDS + CHECK_TIMEOUT + STOP_SECONDS (4 s) before starting anything, on its first
  start too: by then a previous holder has noticed (within CHECK_SECONDS + CHECK_TIMEOUT) and stopped its
  receivers (within STOP_SECONDS: Alarmd stops taking new work at once and only finishes what is in flight),
  or is dead. The wait happens in the background task: ``start`` returns at once.
- **A failed start** (``make_service`` or the service's ``start`` raising) is logged, the lock released, and
  the process goes back to standby and tries again after RETRY_SECONDS — unless the error is one of
  ``fatal`` (standalone alarmd: a taken DC-09 port), which ends the task and is raised by ``wait``.
- **SQLite** (embedded, one host): `fcntl.flock` on a lock file next to the database file, the same
  semantics; the kernel frees it when the process dies. The check makes sure the file is still the one
  locked (a deleted or replaced lock file would let a second process lock a new one).

The lock calls are blocking (psycopg, flock) and run in one thread of the lock's own, never on the event
loop. The process's own state (for /readyz) is `current_state()`; whether *any* alarmd holds the lock (for the
`doorstep_alarmd_active` gauge) is `lock_holders()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from django.conf import settings

log = logging.getLogger("doorstep.alarmd")

T = TypeVar("T")

LOCK_KEY = 0x646F6F7273746570  # "doorstep" in ASCII: a fixed 64-bit key, the same in every process
POLL_SECONDS = 1.0  # the standby asks for the lock this often
CHECK_SECONDS = 1.0  # the active process checks its lock this often
CHECK_TIMEOUT = 2.0  # a lock call without an answer by then counts as a lost lock
STOP_SECONDS = 1.0  # the budget for a holder that lost its lock to stop its service (part of the grace)
RETRY_SECONDS = 5.0  # after a failed start: back to standby, then ask again after this
UNREACHABLE_LOG_SECONDS = 60.0  # while the lock cannot be asked for (database away), log it this often
ACTIVE, STANDBY, OFF = "active", "standby", "off"

_state = OFF  # this process's alarmd: off (none here), standby or active — process-local on purpose


def current_state() -> str:
    return _state


def _set_state(state: str) -> None:
    global _state
    _state = state


class LockLost(Exception):
    """The lock is, or may be, no longer ours."""


class Lock(Protocol):
    description: str

    def try_acquire(self) -> bool: ...

    def holder(self) -> str: ...

    def check(self) -> None: ...

    def release(self) -> None: ...


def _identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a dedicated connection (autocommit)."""

    def __init__(self, params: dict[str, Any], key: int = LOCK_KEY) -> None:
        self.params = {
            # A dead network must end a blocked call in seconds, not after the kernel's TCP timeouts.
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 2,
            "tcp_user_timeout": 5000,
            **params,
            "autocommit": True,
            "application_name": f"doorstep-alarmd {_identity()}"[:63],
        }
        self.key = key
        self.description = f"PostgreSQL advisory lock {key} on database {params.get('dbname', '?')}"
        self.conn: Any = None

    def _connection(self) -> Any:
        import psycopg

        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(**self.params)
        return self.conn

    def try_acquire(self) -> bool:
        try:
            row = self._connection().execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()
        except Exception:
            self.release()  # a new connection at the next poll
            raise
        return bool(row[0])

    def holder(self) -> str:
        with contextlib.suppress(Exception):
            row = self._connection().execute(HOLDER_SQL, _lock_args(self.key)).fetchone()
            if row:
                return " ".join(str(part) for part in row if part)
        return "unknown"

    def check(self) -> None:
        try:
            row = self._connection().execute(MINE_SQL, _lock_args(self.key)).fetchone()
        except Exception as exc:
            raise LockLost(f"lock connection broken: {type(exc).__name__}: {exc}".strip()) from exc
        if not row[0]:
            raise LockLost("the advisory lock is no longer held by this connection")

    def release(self) -> None:
        """Closing the session releases its advisory lock."""
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


# The 64-bit key appears in pg_locks as classid (high 32 bits), objid (low 32 bits), objsubid 1; advisory locks
# belong to one database.
HOLDERS_SQL = """
SELECT count(*) FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.granted
"""
MINE_SQL = """
SELECT count(*) FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.granted
  AND l.pid = pg_backend_pid()
"""
HOLDER_SQL = """
SELECT a.application_name, a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND l.granted
"""


def _lock_args(key: int) -> list[int]:
    return [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF]


class FileLock:
    """`fcntl.flock` on a lock file (SQLite, one host). The file holds the holder's host:pid for people."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = f"lock file {self.path}"
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(self.path).st_ino != os.fstat(fd).st_ino:  # replaced between open and flock
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):  # held, or replaced / removed between open and flock
            os.close(fd)  # never keep a descriptor (and its flock) we do not hold as the lock
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{_identity()}\n".encode())
        self.fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def check(self) -> None:
        if self.fd is None:
            raise LockLost("not locked")
        try:
            if os.stat(self.path).st_ino != os.fstat(self.fd).st_ino:
                raise LockLost(f"{self.path} was replaced")
        except FileNotFoundError:
            raise LockLost(f"{self.path} was removed") from None

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the last descriptor releases the flock


def _is_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def lock_file_path() -> Path:
    """Next to the SQLite database file (the lock is per database); in VAR_DIR for an in-memory one."""
    name = str(settings.DATABASES["default"].get("NAME") or "")
    if "sqlite" in settings.DATABASES["default"]["ENGINE"] and name and "memory" not in name:
        return Path(name).with_name(Path(name).name + ".alarmd.lock")
    return Path(settings.VAR_DIR) / "alarmd.lock"


def default_lock() -> Lock:
    if _is_postgres():
        from django.db import connections

        wrapper = connections.create_connection("default")  # its parameters only; never connected
        return AdvisoryLock(wrapper.get_connection_params())
    return FileLock(lock_file_path())


def lock_holders() -> int:
    """How many processes hold the alarmd lock of this database now (1 is healthy, 0: no alarmd is active).
    Does not take the lock (PostgreSQL: pg_locks; SQLite: a shared flock probe of an instant)."""
    if _is_postgres():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(HOLDERS_SQL, _lock_args(LOCK_KEY))
            return int(cursor.fetchone()[0])
    try:
        fd = os.open(lock_file_path(), os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return 1
    finally:
        os.close(fd)  # also drops the shared lock, if we got it
    return 0


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Leadership:
    """Runs a service (Alarmd) only while this process holds the lock.

    ``start`` returns at once; a task does the rest: standby → poll → lock taken → grace → active → check →
    (lost) → standby, until ``stop``. The service is started only after the grace (check_seconds +
    check_timeout + stop_seconds), on the first start too. A service that fails to start (``make_service``
    or its ``start`` raising) is stopped, the lock released, and the task tries again after
    ``retry_seconds``; an error of one of the ``fatal`` types instead ends the task (``wait`` raises it)."""

    def __init__(
        self,
        make_service: Callable[[], Service],
        lock: Lock | None = None,
        *,
        poll_seconds: float = POLL_SECONDS,
        check_seconds: float = CHECK_SECONDS,
        check_timeout: float = CHECK_TIMEOUT,
        stop_seconds: float = STOP_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        fatal: tuple[type[BaseException], ...] = (),
        on_started: Callable[[Any], None] | None = None,
    ) -> None:
        self.make_service = make_service
        self.lock = lock if lock is not None else default_lock()
        self.poll_seconds, self.check_seconds, self.check_timeout = poll_seconds, check_seconds, check_timeout
        self.stop_seconds, self.retry_seconds, self.fatal = stop_seconds, retry_seconds, fatal
        self.on_started = on_started
        self.service: Service | None = None
        self.takeovers = 0
        self.losses = 0
        self.failures = 0  # failed starts (each released the lock and was retried)
        self._stop = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alarmd-lock")
        self._task: asyncio.Task[None] | None = None
        self._standby_logged = False
        self._unreachable: tuple[float, float, int] | None = (
            None  # (since, last logged, attempts) in an outage
        )

    @property
    def active(self) -> bool:
        return self.service is not None

    @property
    def grace(self) -> float:
        """How long a process that got the lock waits before starting: a holder that lost the lock while
        still running has noticed (check_seconds + check_timeout) and stopped (stop_seconds) by then."""
        return self.check_seconds + self.check_timeout + self.stop_seconds

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def start(self) -> None:
        """Start the loop in the background and return at once (the grace never blocks the caller)."""
        _set_state(STANDBY)
        self._stop.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="alarmd-leadership")
        self._task.add_done_callback(_ended)

    async def wait(self) -> None:
        """Until the task ends: never, unless stopped or a ``fatal`` start error (which it raises)."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop the service (if active), then release the lock: the standby takes over only after."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        await self._deactivate()
        await self._call(self.lock.release, timeout=self.check_timeout, quiet=True)
        self._executor.shutdown(wait=False)
        _set_state(OFF)

    # --- the loop -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stop.is_set():
            if self.active:
                reason = await self._hold()
                if reason is None:
                    return  # stopping: `stop` finishes the job
                self.losses += 1
                log.error(
                    "alarmd lost its lock (%s): stopping the receivers at once; back to standby", reason
                )
                await self._deactivate(lost=True)
                await self._call(self.lock.release, timeout=self.check_timeout, quiet=True)
                # The next ask says why: another holder (named), or a database that cannot be reached.
                self._standby_logged = False
                continue
            try:
                got = await self._attempt()
            except self.fatal:
                raise  # the caller's decision (`wait` raises it): standalone alarmd exits with the error
            except Exception as exc:  # noqa: BLE001 (the lock is released: standby, and try again)
                self.failures += 1
                self._standby_logged = False
                log.error(
                    "alarmd could not start its receivers (%s: %s): lock released, back to standby; "
                    "trying again in %g s",
                    type(exc).__name__,
                    exc,
                    self.retry_seconds,
                    exc_info=exc,
                )
                await self._sleep(self.retry_seconds)
                continue
            if got is None:  # the lock could not even be asked for (the database is away): no holder to name
                _set_state(STANDBY)
                await self._sleep(self.poll_seconds)
            elif not got and not self._stop.is_set():  # (stopping during the grace: just end)
                await self._announce_standby()
                await self._sleep(self.poll_seconds)

    async def _attempt(self) -> bool | None:
        """Try the lock once; with it, wait out the grace, then start the service. False when another process
        holds the lock (or it was lost during the grace, or we are stopping); None when the lock could not be
        asked for (the database is unreachable). A failed start releases the lock and raises."""
        try:
            got = await self._call(self.lock.try_acquire, timeout=self.check_timeout)
        except Exception as exc:  # noqa: BLE001 (database down: stay standby, ask again)
            self._cannot_ask(exc)
            await self._call(self.lock.release, timeout=self.check_timeout, quiet=True)
            return None
        if self._unreachable is not None:
            log.warning(
                "alarmd standby: the lock can be asked for again, after %.0f s and %d failed attempts",
                time.monotonic() - self._unreachable[0],
                self._unreachable[2],
            )
            self._unreachable = None
            self._standby_logged = False  # name the holder again, if there is one
        if not got:
            return False
        # Always, on a first start too: a free lock may be one that a still running holder has just lost.
        log.info(
            "alarmd lock taken; waiting %g s before starting, so that a previous holder that lost it has stopped",
            self.grace,
        )
        if await self._sleep(self.grace):
            await self._call(self.lock.release, timeout=self.check_timeout, quiet=True)
            return False
        try:
            await self._call(self.lock.check, timeout=self.check_timeout)
        except Exception as exc:  # noqa: BLE001
            log.warning("alarmd standby: the lock was lost again before starting (%s)", exc)
            await self._call(self.lock.release, timeout=self.check_timeout, quiet=True)
            return False
        self.takeovers += 1
        self._standby_logged = False
        log.info("alarmd active: holding the %s (pid %s)", self.lock.description, os.getpid())
        service: Service | None = None
        try:
            service = self.make_service()
            await service.start()
        except BaseException:
            if service is not None:
                with contextlib.suppress(Exception):
                    await service.stop()
            await self._call(self.lock.release, timeout=self.check_timeout, quiet=True)
            _set_state(STANDBY)
            raise
        self.service = service
        _set_state(ACTIVE)
        if self.on_started is not None:
            try:
                self.on_started(service)
            except Exception:
                log.exception("alarmd: error in the on_started callback")
        return True

    async def _hold(self) -> str | None:
        """While active: check the lock every check_seconds. The reason it was lost, or None when stopping."""
        while True:
            if await self._sleep(self.check_seconds):
                return None
            try:
                await self._call(self.lock.check, timeout=self.check_timeout)
            except TimeoutError:
                self._replace_executor()
                return f"no answer from the lock check within {self.check_timeout:g} s"
            except LockLost as exc:
                return str(exc)
            except Exception as exc:  # noqa: BLE001
                return f"{type(exc).__name__}: {exc}"

    async def _deactivate(self, *, lost: bool = False) -> None:
        service, self.service = self.service, None
        _set_state(STANDBY)
        if service is None:
            return
        started = time.monotonic()
        try:
            await service.stop()
        except Exception:
            log.exception("alarmd: error while stopping the receivers")
        took = time.monotonic() - started
        if lost and took > self.stop_seconds:
            # Another process may have started after its grace meanwhile: only work in flight was being
            # finished here (Alarmd takes no new work from the first instant of its stop).
            log.warning(
                "alarmd: stopping the receivers after the lost lock took %.1f s (budget %g s)",
                took,
                self.stop_seconds,
            )

    def _cannot_ask(self, exc: Exception) -> None:
        """Log an unreachable lock once when it starts, then once a minute — not at every poll."""
        now = time.monotonic()
        since, logged, attempts = self._unreachable or (now, 0.0, 0)
        attempts += 1
        if attempts == 1 or now - logged >= UNREACHABLE_LOG_SECONDS:
            log.warning(
                "alarmd standby: could not ask for the lock (%s: %s); asking again every %g s%s",
                type(exc).__name__,
                exc,
                self.poll_seconds,
                f" (unreachable for {now - since:.0f} s, {attempts} attempts)" if attempts > 1 else "",
            )
            logged = now
        self._unreachable = (since, logged, attempts)

    async def _announce_standby(self) -> None:
        _set_state(STANDBY)
        if self._standby_logged:
            return
        self._standby_logged = True
        try:
            holder = await self._call(self.lock.holder, timeout=self.check_timeout)
        except Exception:  # noqa: BLE001
            holder = "unknown"
        log.warning(
            "alarmd standby: another alarmd holds the lock (%s, held by %s); waiting, asking every %g s",
            self.lock.description,
            holder,
            self.poll_seconds,
        )

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, or less when stopping. True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _call(self, fn: Callable[[], T], *, timeout: float, quiet: bool = False) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, fn), timeout)
        except Exception:
            if quiet:
                return None  # type: ignore[return-value]
            raise

    def _replace_executor(self) -> None:
        """A lock call hangs (a dead network): leave its thread to its TCP timeout, carry on with a new one.
        The hung connection is abandoned; the next attempt opens a new one."""
        self._executor.shutdown(wait=False)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alarmd-lock")
        if isinstance(self.lock, AdvisoryLock) and self.lock.conn is not None:
            hung, self.lock.conn = self.lock.conn, None
            threading.Thread(target=_close_quietly, args=(hung,), daemon=True).start()


def _ended(task: asyncio.Task[None]) -> None:
    """The loop ended with an error (a ``fatal`` start error, or a bug): this process runs no alarmd now, and
    /readyz must say so rather than "standby" for ever. The error itself goes to ``wait``'s caller."""
    if not task.cancelled() and task.exception() is not None:
        _set_state(OFF)


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()
