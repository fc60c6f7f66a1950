"""A dump of the whole database holds no valid citizen ID number and no person's phone number in clear.

The database is the seeded demo world (every app's seed), dumped as an attacker with a copy of it would: the
PostgreSQL pass runs the real `pg_dump` against the test database, the SQLite pass dumps the test database
with `iterdump()`. Every 18-character run of digits (and a final X) that passes the GB 11643 checks fails
the test, whatever table it is in — audit log, JSON columns and free text included.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from doorstep.conftest import require_service
from doorstep.core.ids import is_valid_citizen_id
from doorstep.org.models import Staff
from doorstep.registry.models import House, Person, Unit
from doorstep.registry.services import update_person
from doorstep.registry.tests.conftest import new_id

ID_CANDIDATE = re.compile(r"(?=([0-9]{17}[0-9Xx]))")  # overlapping: every 18-character window


def dump_database() -> str:
    """The test database as text: pg_dump's plain SQL on PostgreSQL, iterdump() on SQLite."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return "\n".join(connection.connection.iterdump())
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)
    require_service("PostgreSQL", host, port)
    pg_dump = shutil.which("pg_dump") or ("/usr/bin/pg_dump" if os.path.exists("/usr/bin/pg_dump") else None)
    if pg_dump is None:
        message = "!!! pg_dump is not installed — this test needs the PostgreSQL client programs"
        if os.environ.get("DOORSTEP_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "PGPASSWORD": settings["PASSWORD"] or ""}
    command = [pg_dump, "--no-owner", "--host", host, "--port", str(port), "--dbname", settings["NAME"]]
    if settings["USER"]:
        command += ["--username", settings["USER"]]
    result = subprocess.run(command, env=env, capture_output=True, check=True, timeout=600)  # noqa: S603
    return result.stdout.decode("utf-8")


def valid_ids_in(text: str) -> list[str]:
    return sorted(
        {m.group(1) for m in ID_CANDIDATE.finditer(text) if is_valid_citizen_id(m.group(1).upper())}
    )


def persons_phones() -> set[str]:
    """Every phone of a person any app holds, read (decrypted) through the ORM."""
    from doorstep.desk.models import Intake
    from doorstep.mediation.models import Party
    from doorstep.patrol.models import Member
    from doorstep.portal.models import Submission

    phones: set[str] = set()
    for model, fields in (
        (Person, ("phone",)),
        (House, ("owner_phone", "landlord_phone", "manager_phone")),
        (Unit, ("security_phone",)),
        (Intake, ("phone",)),
        (Party, ("phone",)),
        (Member, ("phone",)),
        (Submission, ("phone",)),
    ):
        for field in fields:
            phones |= set(model.objects.exclude(**{field: ""}).values_list(field, flat=True))
    # a patrol member who is on the staff (巡防队员) has the staff record's work phone, a public work
    # contact kept in clear like every staff member's (ADR 0021)
    return phones - set(Staff.objects.exclude(phone="").values_list("phone", flat=True))


# An ID number with only its birth date hidden (region + last 4): with the birth date stored beside it, whole.
MASKED_ID = re.compile(r"[0-9]{6}\*{4,}[0-9]{3}[0-9Xx]")


# Rows that data migrations write and the seed needs. A transactional test that ran before this one in the
# same process emptied every table, these rows included (`serialized_rollback` cannot bring them back: the
# flush re-creates the content types, and restoring them collides).
DATA_MIGRATIONS = [
    ("desk", "0002_seed_business_types"),
    ("desk", "0004_seed_checklist"),
    ("duty", "0003_assessment_items"),
    ("mediation", "0002_default_types"),
    ("patrol", "0002_default_materials"),
    ("video", "0002_presets"),
]


def restore_data_migrations() -> None:
    from doorstep.duty.models import AssessmentItem

    if AssessmentItem.objects.exists():  # not flushed: the migrations' rows are there
        return
    loader = MigrationLoader(connection)
    for app, name in DATA_MIGRATIONS:
        state = loader.project_state((app, name), at_end=False)
        for operation in loader.get_migration(app, name).operations:
            operation.code(state.apps, None)


@pytest.mark.django_db(transaction=True)  # committed, so that pg_dump (another connection) sees the rows
def test_a_dump_of_the_seeded_database_holds_no_id_or_phone_number_in_clear():
    restore_data_migrations()
    call_command("seed", "--scale", "demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    # the services write audit snapshots of what they create and change
    person = Person.objects.exclude(id_number__isnull=True).exclude(phone="").first()
    update_person(person, by=None, phone="13912345678", id_number=new_id())
    ids = list(Person.objects.exclude(id_number__isnull=True).values_list("id_number", flat=True)[:50])
    phones = persons_phones()
    assert len(ids) == 50 and len(phones) > 500  # the world is there, and read in clear through the ORM

    dump = dump_database()

    assert len(re.findall(r"e1:[A-Za-z0-9]+:[A-Za-z0-9_-]{20,}", dump)) >= len(
        phones
    )  # ciphertexts are in it …
    assert valid_ids_in(dump) == []  # … and no valid ID number, from any table
    assert MASKED_ID.findall(dump) == []  # … nor one with only its birth date hidden
    found = sorted(p for p in phones if p in dump)
    assert found == [], f"{len(found)} persons' phone numbers in clear in the dump"
    # The scanner itself finds what it looks for.
    assert valid_ids_in(f"x{ids[0]}y") == [ids[0]]
