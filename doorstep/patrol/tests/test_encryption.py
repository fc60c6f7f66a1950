"""Members' phones (volunteers are residents) are encrypted at rest (core.crypto, issue #12): the stored column
holds `e1:…`, never the number; the team page shows it masked, in full to those who manage the team. The
cadres' phones are public work contacts and stay in clear."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.urls import reverse

from doorstep.audit.models import AuditEntry
from doorstep.core import crypto
from doorstep.patrol import teams
from doorstep.patrol.choices import TeamKind
from doorstep.patrol.models import Member

PHONE = "13912345678"
DAY = dt.date(2026, 1, 5)


def stored(obj, field: str) -> str | None:
    """The value as the database holds it (what a pg_dump shows)."""
    qn = connection.ops.quote_name
    meta = type(obj)._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(meta.get_field(field).column)} FROM {qn(meta.db_table)} WHERE id = %s", [obj.pk]
        )
        return cursor.fetchone()[0]


def _volunteer(pw) -> Member:
    team = teams.save_team(
        pw.director, community=pw.c1, name="志愿者队", kind=TeamKind.VOLUNTEER, leader=pw.officer_a.staff
    )
    return teams.add_member(pw.director, team, name="王五", phone=PHONE, joined_on=DAY)


def test_a_volunteers_phone_is_stored_encrypted_and_shown_masked(pw, client_for):
    member = _volunteer(pw)
    raw = stored(member, "phone")
    assert raw.startswith("e1:") and PHONE not in raw
    assert Member.objects.get(pk=member.pk).phone == PHONE
    entry = AuditEntry.objects.get(action="patrol.member_add")
    assert entry.after["phone"].startswith("139****5678 #") and PHONE not in str(entry.after)
    url = reverse("patrol:team_detail", args=[member.team_id])
    body = client_for(pw.patrol).get(url).content.decode()
    assert PHONE not in body and "139****5678" in body
    assert PHONE in client_for(pw.director).get(url).content.decode()


def test_rows_stored_in_clear_before_are_encrypted_by_the_migration_step(pw):
    member = _volunteer(pw)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:  # as the rows stood before migration patrol 0003
        cursor.execute(
            f"UPDATE {qn(Member._meta.db_table)} SET {qn('phone')} = %s WHERE id = %s", [PHONE, member.pk]
        )
    assert crypto.reencrypt_model(Member) == 1
    assert stored(member, "phone").startswith("e1:")
    assert Member.objects.get(pk=member.pk).phone == PHONE
