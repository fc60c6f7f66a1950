"""One writer at a time on SQLite, queued in Python instead of in SQLite's busy handler.

SQLite takes one write transaction at a time; a second writer waits in the busy handler, which sleeps and
polls (1, 2, 5 … 100 ms) and gives up after `busy_timeout` with "database is locked". The alarm path (the
three receivers and the supervision tick, which run in different threads of one process) takes this lock
before it begins a write transaction, so its writers queue here, in order and without polling, and an
alarm is never refused because the tick was writing. PostgreSQL needs nothing of the kind: no-op there.

Never taken inside a transaction: a thread that already holds SQLite's write lock and then waited here for
a thread waiting on SQLite would deadlock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from django.db import connections

_LOCK = threading.Lock()


@contextlib.contextmanager
def serialized_writes(using: str = "default") -> Iterator[None]:
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with _LOCK:
        yield
