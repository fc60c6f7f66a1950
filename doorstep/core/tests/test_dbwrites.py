"""serialized_writes: on SQLite the alarm path's writers take turns in Python (FIFO, no busy polling); never
inside a transaction (that could deadlock on SQLite's own lock); nothing at all on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from doorstep.core.dbwrites import serialized_writes

pytestmark = pytest.mark.django_db(transaction=True)


def holder(entered: threading.Event, release: threading.Event) -> threading.Thread:
    def run():
        with serialized_writes():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=run)
    thread.start()
    assert entered.wait(5)
    return thread


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the lock exists for SQLite only")
def test_on_sqlite_a_second_writer_waits_for_the_first():
    entered, release = threading.Event(), threading.Event()
    thread = holder(entered, release)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    with serialized_writes():
        waited = time.monotonic() - started
    thread.join()
    assert waited >= 0.25


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the lock exists for SQLite only")
def test_inside_a_transaction_it_never_waits():
    entered, release = threading.Event(), threading.Event()
    thread = holder(entered, release)
    try:
        started = time.monotonic()
        with transaction.atomic(), serialized_writes():
            assert time.monotonic() - started < 0.2
    finally:
        release.set()
        thread.join()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="PostgreSQL takes concurrent writers itself")
def test_on_postgresql_it_is_a_no_op():
    entered, release = threading.Event(), threading.Event()
    thread = holder(entered, release)
    try:
        started = time.monotonic()
        with serialized_writes():
            assert time.monotonic() - started < 0.2
    finally:
        release.set()
        thread.join()
