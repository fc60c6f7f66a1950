"""`doorstep create-admin`: the first administrator of a new installation, audited, password never in argv."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
from doorstep.audit.models import AuditEntry
from doorstep.org.models import SubBureau

STRONG = "Xk8#pq2!Lm9w"


def create(monkeypatch, password=STRONG, **options):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    out = io.StringIO()
    call_command("create_admin", password_stdin=True, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_empty_database_needs_the_sub_bureau_then_creates_both(monkeypatch):
    with pytest.raises(CommandError, match="还没有分局"):
        create(monkeypatch, username="root")
    out = create(
        monkeypatch,
        username="root",
        name="王管理",
        sub_bureau_name="丰泽分局",
        sub_bureau_code="FZ",
        division_code="350503",
    )
    user = User.objects.get(username="root")
    assert user.role == Role.ADMIN and user.check_password(STRONG)
    assert user.sub_bureau == SubBureau.objects.get(code="FZ")
    assert "已创建系统管理员 root" in out
    assert AuditEntry.objects.filter(action="accounts.create_user", object_id=str(user.pk)).exists()
    assert AuditEntry.objects.filter(action="org.create_sub_bureau").exists()


@pytest.mark.django_db
def test_existing_sub_bureau_is_used_and_weak_or_duplicate_refused(monkeypatch, world):
    create(monkeypatch, username="root")
    assert User.objects.get(username="root").sub_bureau == world.sub_bureau
    with pytest.raises(CommandError, match="已存在"):
        create(monkeypatch, username="root")
    with pytest.raises(CommandError, match="密码不符合要求"):
        create(monkeypatch, username="root2", password="123")
    assert not User.objects.filter(username="root2").exists()


@pytest.mark.django_db
def test_a_refused_password_leaves_no_sub_bureau_behind(monkeypatch):
    with pytest.raises(CommandError, match="密码不符合要求"):
        create(
            monkeypatch,
            password="123",
            username="root",
            sub_bureau_name="丰泽分局",
            sub_bureau_code="FZ",
            division_code="350503",
        )
    with pytest.raises(CommandError, match="6 位"):
        create(
            monkeypatch,
            username="root",
            sub_bureau_name="丰泽分局",
            sub_bureau_code="FZ",
            division_code="３５０５０３",
        )
    assert not SubBureau.objects.exists() and not User.objects.filter(username="root").exists()
