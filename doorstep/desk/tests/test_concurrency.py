"""Case numbers under concurrent intakes at two desks of one station.

Real threads, each with its own database connection, against a committed `world` (transactional_db). On
PostgreSQL the station row lock serialises the numbering; the unique constraint and the retry are the
backstop. SQLite serialises writers itself, so the test runs there too but proves less.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from doorstep.conftest import build_world
from doorstep.desk.models import Intake
from doorstep.desk.tests.factories import case


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_case_intakes_get_distinct_consecutive_numbers():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises every write)")
    world = build_world()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def intake(user, room):
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                case(world, by=user, room=room)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=intake, args=(world.officer_a, world.room_c1)),
        threading.Thread(target=intake, args=(world.dispatcher, world.c2.police_room)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    seqs = sorted(Intake.objects.filter(station=world.s1).values_list("case_seq", flat=True))
    assert seqs == list(range(1, 11))
    assert Intake.objects.filter(station=world.s1).values("case_number").distinct().count() == 10
