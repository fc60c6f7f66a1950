"""用户与安全: the administrator's page — two-factor status, reset (with a reason, audited), unlock, signing a
user out everywhere, and revoking anyone's API token; every other role gets 403."""

from __future__ import annotations

import base64
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from doorstep.accounts import services
from doorstep.accounts.models import ApiToken, RecoveryCodeDevice, User
from doorstep.audit.models import AuditEntry
from doorstep.conftest import PASSWORD

USERS = "/accounts/users/"
START = dt.datetime(2026, 11, 28, 9, 0, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as t:
        yield t


def enrol(user) -> bytes:
    """Enrol `user` through the pages (two-factor on), return the TOTP key."""
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    page = client.get("/accounts/two-factor/enrol/").content.decode()
    key = base64.b32decode(re.search(r'two-factor-secret">([^<]+)<', page).group(1).replace(" ", ""))
    assert client.post("/accounts/two-factor/enrol/", {"code": f"{totp(key):06d}"}).status_code == 200
    return key


@pytest.mark.parametrize("name", ["director", "officer_a", "leader", "evaluator", "dispatcher", "patrol"])
def test_only_the_administrator_may_open_the_page_or_act(world, client_for, name):
    client = client_for(world.users[name])
    target = world.officer_b

    assert client.get(USERS).status_code == 403
    for route in ("user_reset_two_factor", "user_unlock", "user_revoke_sessions"):
        response = client.post(reverse(f"accounts:{route}", args=[target.pk]), {"reason": "x"})
        assert response.status_code == 403, route
    token, _key = services.issue_token(target, name="x", by=None)
    assert (
        client.post(reverse("accounts:user_revoke_token", args=[token.pk]), {"reason": "x"}).status_code
        == 403
    )
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEntry.objects.filter(
        action__in=["accounts.two_factor_reset", "accounts.unlock", "accounts.revoke_sessions"]
    ).exists()


def test_the_page_lists_users_with_role_two_factor_and_lock_and_every_token(
    world, client_for, settings, traveller
):
    settings.TWO_FACTOR_REQUIRED = True
    enrol(world.director)
    User.objects.filter(pk=world.officer_b.pk).update(locked_until=START + dt.timedelta(minutes=5))
    services.issue_token(world.officer_a, name="走访App", scopes=["registry:read"], by=None)
    settings.TWO_FACTOR_REQUIRED = False

    html = client_for(world.admin).get(USERS).content.decode()

    director_row = re.search(r'data-testid="user-director">(.*?)</tr>', html, re.S).group(1)
    assert "所长" in director_row and "已启用" in director_row and "重置两步验证" in director_row
    officer_b_row = re.search(r'data-testid="user-officer_b">(.*?)</tr>', html, re.S).group(1)
    assert "已锁定至" in officer_b_row and "解除锁定" in officer_b_row and "未启用" in officer_b_row
    assert "注销全部会话" in officer_b_row
    assert "走访App" in html and "registry:read" in html


def test_the_administrator_finds_the_page_in_the_account_menu(world, client_for):
    assert "用户与安全" in client_for(world.admin).get("/").content.decode()
    assert "用户与安全" not in client_for(world.director).get("/").content.decode()


def test_reset_needs_a_reason_then_removes_the_devices_and_is_audited(world, client_for, settings, traveller):
    settings.TWO_FACTOR_REQUIRED = True
    enrol(world.director)
    admin = client_for(world.admin)
    # the administrator's own session is verified: enrol through the pages
    admin_key = enrol(world.admin)
    admin = Client()
    admin.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    traveller.shift(dt.timedelta(seconds=30))
    assert admin.post("/accounts/two-factor/", {"code": f"{totp(admin_key):06d}"}).status_code == 302
    url = reverse("accounts:user_reset_two_factor", args=[world.director.pk])

    no_reason = admin.post(url, {"reason": "  "}, follow=True)
    assert "请填写重置原因" in no_reason.content.decode()
    assert TOTPDevice.objects.filter(user=world.director).exists()

    done = admin.post(url, {"reason": "手机丢失，本人到场核实"}, follow=True)

    assert "已重置" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=world.director).exists()
    assert not RecoveryCodeDevice.objects.filter(user=world.director).exists()
    entry = AuditEntry.objects.get(action="accounts.two_factor_reset")
    assert entry.actor_id == world.admin.pk and entry.object_id == str(world.director.pk)
    assert entry.note == "手机丢失，本人到场核实"
    assert entry.after == {"devices_deleted": 2, "sessions": 1, "tokens_revoked": 0}  # enrol()'s session
    # at the next login the director enrols again
    client = Client()
    response = client.post("/accounts/login/", {"username": "director", "password": PASSWORD})
    assert response["Location"].startswith("/accounts/two-factor/enrol/")


def test_a_reset_signs_the_user_out_everywhere_so_a_lost_phone_cannot_enrol_again(world, settings, traveller):
    settings.TWO_FACTOR_REQUIRED = True
    key = enrol(world.director)
    phone = Client()
    phone.post("/accounts/login/", {"username": "director", "password": PASSWORD})
    traveller.shift(dt.timedelta(seconds=30))
    phone.post("/accounts/two-factor/", {"code": f"{totp(key):06d}"})
    assert phone.get("/").status_code == 200
    token, token_key = services.issue_token(
        world.director, name="大屏", scopes=["org:read"], by=world.director
    )

    services.reset_two_factor(world.director, reason="手机丢失", by=world.admin)

    # the lost phone's session is gone: it is sent to the password, not to enrolment
    response = phone.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert phone.get("/accounts/two-factor/enrol/")["Location"].startswith("/accounts/login/")
    assert not TOTPDevice.objects.filter(user=world.director).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None  # the default: the tokens go too
    entry = AuditEntry.objects.get(action="accounts.two_factor_reset")
    assert entry.after == {"devices_deleted": 2, "sessions": 2, "tokens_revoked": 1}
    assert AuditEntry.objects.get(action="accounts.revoke_token").note == "手机丢失"


def test_the_reset_form_may_keep_the_tokens(world, client_for):
    token, _key = services.issue_token(world.officer_a, name="走访App", scopes=["registry:read"], by=None)
    url = reverse("accounts:user_reset_two_factor", args=[world.officer_a.pk])
    page = client_for(world.admin).get(USERS).content.decode()
    assert "同时吊销该用户的全部接口令牌" in page

    client_for(world.admin).post(url, {"reason": "换手机"})  # the box unticked

    token.refresh_from_db()
    assert token.revoked_at is None
    assert AuditEntry.objects.get(action="accounts.two_factor_reset").after["tokens_revoked"] == 0


def test_a_user_with_only_an_unconfirmed_authenticator_can_be_reset(world, client_for, settings):
    settings.TWO_FACTOR_REQUIRED = True
    enrolling = Client()
    enrolling.post("/accounts/login/", {"username": "officer_a", "password": PASSWORD})
    assert enrolling.get("/accounts/two-factor/enrol/").status_code == 200
    settings.TWO_FACTOR_REQUIRED = False
    admin = client_for(world.admin)

    row = re.search(
        r'data-testid="user-officer_a">(.*?)</tr>', admin.get(USERS).content.decode(), re.S
    ).group(1)
    assert "绑定中" in row and "重置两步验证" in row
    admin.post(
        reverse("accounts:user_reset_two_factor", args=[world.officer_a.pk]), {"reason": "核实前有人登录过"}
    )

    assert not TOTPDevice.objects.filter(user=world.officer_a).exists()
    assert enrolling.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("route", "action"),
    [
        ("user_reset_two_factor", "accounts.two_factor_reset"),
        ("user_unlock", "accounts.unlock"),
        ("user_revoke_sessions", "accounts.revoke_sessions"),
        ("user_revoke_token", "accounts.revoke_token"),
    ],
)
def test_every_administrator_action_needs_a_reason_kept_in_the_audit_note(world, client_for, route, action):
    User.objects.filter(pk=world.officer_a.pk).update(locked_until=START + dt.timedelta(days=3650))
    token, _key = services.issue_token(world.officer_a, name="走访App", scopes=["registry:read"], by=None)
    target = token.pk if route == "user_revoke_token" else world.officer_a.pk
    admin = client_for(world.admin)
    url = reverse(f"accounts:{route}", args=[target])

    for data in ({}, {"reason": "   "}):
        refused = admin.post(url, data, follow=True)
        assert refused.status_code == 200 and "原因" in refused.content.decode()
    assert not AuditEntry.objects.filter(action=action).exists()

    admin.post(url, {"reason": "本人来电核实"})

    assert AuditEntry.objects.filter(action=action, note="本人来电核实").exists()


def test_a_system_administrator_may_not_act_on_a_superuser(world, client_for):
    root = User.objects.create_superuser(username="root", password=PASSWORD, role="admin")
    token, _key = services.issue_token(root, name="运维", scopes=["org:read"], by=None)
    admin = client_for(world.admin)

    for route, target in (
        ("user_reset_two_factor", root.pk),
        ("user_revoke_sessions", root.pk),
        ("user_unlock", root.pk),
        ("user_revoke_token", token.pk),
    ):
        response = admin.post(reverse(f"accounts:{route}", args=[target]), {"reason": "x"})
        assert response.status_code == 403, route
        assert "超级管理员" in response.content.decode(), route
    token.refresh_from_db()
    assert token.revoked_at is None
    # a superuser may
    client_for(root).post(reverse("accounts:user_revoke_token", args=[token.pk]), {"reason": "轮换"})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_unlock_lifts_the_lock_and_is_audited(world, client_for, traveller):
    for _ in range(5):
        Client().post("/accounts/login/", {"username": "officer_b", "password": "wrong-password"})
    assert User.objects.get(pk=world.officer_b.pk).is_locked()

    client_for(world.admin).post(
        reverse("accounts:user_unlock", args=[world.officer_b.pk]), {"reason": "本人来电"}
    )

    user = User.objects.get(pk=world.officer_b.pk)
    assert not user.is_locked() and user.failed_logins == 0
    entry = AuditEntry.objects.get(action="accounts.unlock")
    assert entry.actor_id == world.admin.pk and entry.object_id == str(user.pk) and entry.note == "本人来电"
    response = Client().post("/accounts/login/", {"username": "officer_b", "password": PASSWORD})
    assert response.status_code == 302


def test_revoking_sessions_signs_the_user_out_everywhere(world, client_for):
    token, key = services.issue_token(world.officer_a, name="走访App", scopes=["registry:read"], by=None)
    phone, desk = Client(), Client()
    for c in (phone, desk):
        c.post("/accounts/login/", {"username": "officer_a", "password": PASSWORD})
        assert c.get("/").status_code == 200
    other = client_for(world.officer_b)

    done = client_for(world.admin).post(
        reverse("accounts:user_revoke_sessions", args=[world.officer_a.pk]),
        {"reason": "手机丢失", "revoke_tokens": "on"},  # the box ticked, as the page shows it
        follow=True,
    )

    assert "已注销" in done.content.decode()
    for c in (phone, desk):
        response = c.get("/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert other.get("/").status_code == 200  # other users keep their sessions
    entry = AuditEntry.objects.get(action="accounts.revoke_sessions")
    assert entry.after == {"sessions": 2, "tokens_revoked": 1}
    assert entry.note == "手机丢失" and entry.actor_id == world.admin.pk
    token.refresh_from_db()
    assert token.revoked_at is not None  # the form's default


def test_signing_out_may_keep_the_tokens(world, client_for):
    token, key = services.issue_token(world.officer_a, name="走访App", scopes=["registry:read"], by=None)
    page = client_for(world.admin).get(USERS).content.decode()
    row = re.search(r'data-testid="user-officer_a">(.*?)</tr>', page, re.S).group(1)
    assert 'name="revoke_tokens" value="on" checked' in row

    client_for(world.admin).post(
        reverse("accounts:user_revoke_sessions", args=[world.officer_a.pk]), {"reason": "换电脑"}
    )

    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_administrator_revokes_anyones_token(world, client_for):
    token, key = services.issue_token(
        world.officer_a, name="走访App", scopes=["registry:read"], by=world.officer_a
    )

    client_for(world.admin).post(reverse("accounts:user_revoke_token", args=[token.pk]), {"reason": "离职"})

    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action="accounts.revoke_token")
    assert entry.actor_id == world.admin.pk and entry.after["user"] == "officer_a" and entry.note == "离职"
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_the_weekly_review_lists_resets_and_token_changes_as_permission_changes(world, traveller):
    from doorstep.audit import review

    token, _key = services.issue_token(
        world.officer_a, name="走访App", scopes=["registry:read"], by=world.admin
    )
    services.revoke_token(token, by=world.admin, reason="离职")
    services.reset_two_factor(world.director, reason="手机丢失", by=world.admin)
    services.unlock(world.officer_b, by=world.admin, reason="本人来电")
    services.record_failed_login(world.officer_b, second_factor=True)

    week = review.last_full_week(START + dt.timedelta(days=7))
    permissions = {row.action for row in review.queryset(review.SECTION_BY_KEY["permissions"], week)}
    failures = {row.action for row in review.queryset(review.SECTION_BY_KEY["failed_logins"], week)}

    assert {
        "accounts.issue_token",
        "accounts.revoke_token",
        "accounts.two_factor_reset",
        "accounts.unlock",
    } <= (permissions)
    assert "accounts.two_factor_failed" in failures and "accounts.two_factor_failed" not in permissions


def test_the_page_shows_the_phone_workspaces_that_revoking_sessions_ends(world, client_for):
    from doorstep.mobile import devices as mobile_devices

    phone = mobile_devices.enrol(world.officer_a, "警务通")
    admin = client_for(world.admin)
    page = admin.get(USERS).content.decode()
    assert "手机工作台 1 台" in page

    admin.post(
        reverse("accounts:user_revoke_sessions", args=[world.officer_a.pk]),
        {"reason": "手机丢失"},
        follow=True,
    )

    phone.refresh_from_db()
    assert mobile_devices.is_revoked(phone)
    assert (
        "手机工作台" not in admin.get(USERS).content.decode().split('data-testid="user-officer_a"')[1][:3000]
    )
