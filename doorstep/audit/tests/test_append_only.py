from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from doorstep.audit.models import AccessEntry, AppendOnlyError, AuditEntry
from doorstep.audit.services import record_access, record_change


@pytest.fixture
def entry(world):
    return record_change(world.director, "org.test", world.grid_a, note="测试")


def test_orm_refuses_update_and_delete(entry):
    entry.note = "改写"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(note="改写")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AccessEntry.objects.all().delete()


def test_database_refuses_raw_update(entry):
    """Even SQL that bypasses the ORM cannot rewrite history (trigger from migration audit.0002)."""
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET note = %s WHERE id = %s", ["改写", entry.pk])
    entry.refresh_from_db()
    assert entry.note == "测试"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="DELETE is refused in the database on PostgreSQL only"
)
def test_postgres_refuses_raw_delete(entry):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_change_entry_keeps_only_changed_fields(world):
    before = {"name": "旧", "code": "1", "phone": "x"}
    after = {"name": "新", "code": "1", "phone": "x"}
    row = record_change(world.admin, "org.rename", world.grid_a, before=before, after=after)
    assert row.before == {"name": "旧"}
    assert row.after == {"name": "新"}
    assert row.actor_name == str(world.admin)


def test_access_entry_records_reader_and_purpose(world):
    row = record_access(
        world.officer_a, "reveal", "registry.person", [5, 6], fields=["id_number"], purpose="入户核查"
    )
    assert row.actor_id == world.officer_a.pk
    assert row.object_ids == ["5", "6"]
    assert row.kind == "reveal"


def test_web_requests_record_ip_and_channel(world, client_for):
    c = client_for(world.director)
    c.post(f"/org/grids/{world.grid_b.pk}/assign/", {})  # invalid form: nothing written
    assert not AuditEntry.objects.filter(channel="web").exists()
    from doorstep.conftest import make_staff
    from doorstep.org.choices import StaffKind

    aux = make_staff(world.sub_bureau, world.s1, StaffKind.AUXILIARY)
    c.post(
        f"/org/grids/{world.grid_b.pk}/assign/",
        {"staff": aux.pk, "position": "auxiliary", "started_on": "2026-11-01", "reason": "补员"},
    )
    row = AuditEntry.objects.get(action="org.assign_to_grid", channel="web")
    assert row.ip == "127.0.0.1"
    assert row.actor_id == world.director.pk
