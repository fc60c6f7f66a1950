"""Audit retention: at least one year kept, by the command and (on PostgreSQL) by the database itself."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from doorstep.audit import retention
from doorstep.audit.models import AccessEntry, AuditEntry
from doorstep.audit.services import record_access, record_event

# A fixed instant a month in the past: the Python clock is frozen here, while PostgreSQL's now() is real,
# so rows that are old for the command are old for the database trigger too.
NOW = (timezone.now() - dt.timedelta(days=30)).replace(microsecond=0)


def change_at(when: dt.datetime, note: str = "") -> AuditEntry:
    with time_machine.travel(when, tick=False):
        return record_event(None, "test.event", "test.thing", note=note)


def access_at(when: dt.datetime) -> AccessEntry:
    with time_machine.travel(when, tick=False):
        return record_access(None, "read", "registry.person", [1])


def require_postgres() -> None:
    """The triggers exist on PostgreSQL only: these tests run in `make test`'s PostgreSQL pass (which itself
    fails under DOORSTEP_REQUIRE_SERVICES when the server is missing) and skip in the SQLite pass."""
    if connection.vendor != "postgresql":
        pytest.skip("the audit DELETE/UPDATE triggers exist on PostgreSQL only (run in the PostgreSQL pass)")


@pytest.fixture
def rows(db):
    cutoff = NOW - dt.timedelta(days=365)
    return {
        "old": change_at(cutoff - dt.timedelta(days=35), "old"),
        "just_old": change_at(cutoff - dt.timedelta(seconds=1), "just_old"),
        "boundary": change_at(cutoff, "boundary"),
        "young": change_at(cutoff + dt.timedelta(days=1), "young"),
        "access_old": access_at(cutoff - dt.timedelta(days=2)),
        "access_young": access_at(cutoff + dt.timedelta(seconds=1)),
    }


@pytest.mark.parametrize("days", ["364", "0", "-400"])
def test_less_than_a_year_is_refused(rows, days):
    for extra in ([], ["--apply"]):
        with pytest.raises(CommandError, match="至少保留365天"), time_machine.travel(NOW, tick=False):
            call_command("audit_retention", "--days", days, *extra)
    assert AuditEntry.objects.filter(action="test.event").count() == 4
    assert not AuditEntry.objects.filter(action__startswith="audit.retention").exists()


def test_dry_run_counts_and_deletes_nothing(rows, capsys):
    with time_machine.travel(NOW, tick=False):
        call_command("audit_retention", "--days", "365")
    out = capsys.readouterr().out
    assert "操作日志：2 条" in out
    assert "个人信息访问日志：1 条" in out
    assert "试运行" in out
    assert AuditEntry.objects.filter(action="test.event").count() == 4
    assert AccessEntry.objects.count() == 2
    assert not AuditEntry.objects.filter(action__startswith="audit.retention").exists()


def test_apply_at_the_boundary_keeps_every_row_younger_than_a_year(rows, capsys):
    with time_machine.travel(NOW, tick=False):
        call_command("audit_retention", "--days", "365", "--apply")
    left = set(AuditEntry.objects.filter(action="test.event").values_list("note", flat=True))
    assert left == {"boundary", "young"}  # exactly 365 days old is not older than the cutoff
    assert list(AccessEntry.objects.values_list("pk", flat=True)) == [rows["access_young"].pk]
    purge = AuditEntry.objects.get(action="audit.retention_purge")
    assert purge.after["deleted"] == {"auditentry": 2, "accessentry": 1}
    assert purge.after["days"] == 365
    assert purge.after["cutoff"] == (NOW - dt.timedelta(days=365)).isoformat()
    assert purge.actor_name.startswith("命令行:")
    assert AuditEntry.objects.get(action="audit.retention_start").after["to_delete"]["auditentry"] == 2
    assert "已删除" in capsys.readouterr().out


def test_longer_retention_keeps_more(rows):
    with time_machine.travel(NOW, tick=False):
        call_command("audit_retention", "--days", "380", "--apply")
    left = set(AuditEntry.objects.filter(action="test.event").values_list("note", flat=True))
    assert left == {"just_old", "boundary", "young"}
    assert AccessEntry.objects.count() == 2


def test_deletes_in_batches(db):
    for i in range(5):
        change_at(NOW - dt.timedelta(days=400 + i))
    seen = []
    plan = retention.purge(365, now=NOW, batch=2, progress=lambda key, n: seen.append((key, n)))
    assert plan.counts == {"auditentry": 5, "accessentry": 0}
    assert seen == [("auditentry", 2), ("auditentry", 4), ("auditentry", 5)]
    assert not AuditEntry.objects.filter(action="test.event").exists()


def test_a_future_clock_cannot_shorten_the_year_in_the_service():
    with pytest.raises(Exception, match="至少保留"):
        retention.cutoff_for(True)  # bool is not a number of days
    assert retention.cutoff_for(365, NOW) == NOW - dt.timedelta(days=365)


@pytest.mark.postgres
def test_postgres_plain_delete_and_update_of_an_old_row_are_refused(rows):
    require_postgres()
    old = rows["old"]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [old.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL doorstep.audit_retention = 'on'")
        cursor.execute("UPDATE audit_auditentry SET note = 'x' WHERE id = %s", [old.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_accessentry WHERE id = %s", [rows["access_old"].pk])
    assert AuditEntry.objects.filter(pk=old.pk, note="old").exists()


@pytest.fixture
def really_young(db):
    """Younger than a year by the database's real clock (the `rows` fixture is relative to the frozen NOW)."""
    return change_at(timezone.now() - dt.timedelta(days=300), "really_young")


@pytest.mark.postgres
def test_postgres_refuses_deleting_a_young_row_even_with_the_setting_on(really_young):
    require_postgres()
    young = really_young
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL doorstep.audit_retention = 'on'")
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [young.pk])
    assert AuditEntry.objects.filter(pk=young.pk).exists()


@pytest.mark.postgres
def test_postgres_a_future_app_clock_cannot_delete_young_rows(really_young):
    """If the application clock runs ahead, the database still refuses: its own now() decides."""
    require_postgres()
    with (
        pytest.raises(DatabaseError),
        time_machine.travel(timezone.now() + dt.timedelta(days=100), tick=False),
    ):
        retention.purge(365)
    assert AuditEntry.objects.filter(pk=really_young.pk).exists()


@pytest.mark.postgres
def test_postgres_the_retention_path_deletes_only_old_rows(rows):
    require_postgres()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL doorstep.audit_retention = 'on'")
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [rows["old"].pk])
        assert cursor.rowcount == 1
    retention.purge(365, now=NOW)
    left = set(AuditEntry.objects.filter(action="test.event").values_list("note", flat=True))
    assert left == {"boundary", "young"}
    with connection.cursor() as cursor:  # the command turned the setting off again
        cursor.execute("SELECT current_setting('doorstep.audit_retention', true)")
        assert cursor.fetchone()[0] == "off"


def test_absurdly_long_retention_is_a_plain_refusal(db):
    from django.core.management import CommandError
    from django.core.management import call_command as run

    with pytest.raises(CommandError):
        run("audit_retention", "--days", "1000000")
