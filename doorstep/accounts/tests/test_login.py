"""Login, lockout, session limits and API tokens, through the real views, middleware and DRF auth.

Time is moved with time-machine (it moves both `time.time`, which SessionLimitsMiddleware reads, and
`timezone.now`, which the database session store and the lockout read); nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from doorstep.accounts.choices import Role
from doorstep.accounts.models import ApiToken, User
from doorstep.accounts.services import create_user, issue_token, revoke_token
from doorstep.audit.models import AuditEntry
from doorstep.conftest import PASSWORD

LOGIN = "/accounts/login/"
HOME = "/"
ACCOUNT = "/accounts/me/"
API = "/api/v1/stations/"
START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WRONG_PASSWORD_TEXT = "用户名或密码不正确"
LOCKED_TEXT = "该账户因连续登录失败已被锁定"


def login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("core:home")


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as t:
        yield t


# --- the login page -------------------------------------------------------------------------------------


def test_login_page_renders_in_chinese(db):
    response = Client().get(LOGIN)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    for text in ("家门口派出所", "登录", "用户名", "密码", "连续5次输入错误将锁定账户10分钟"):
        assert text in html
    assert 'id="id_username"' in html and 'id="id_password"' in html


def test_wrong_password_shows_chinese_error_and_does_not_log_in(world):
    client = Client()

    response = login(client, "director", "wrong-password")

    assert response.status_code == 200
    html = response.content.decode()
    assert WRONG_PASSWORD_TEXT in html
    assert "连续5次失败将锁定账户10分钟" in html
    assert "_auth_user_id" not in client.session
    world.director.refresh_from_db()
    assert world.director.failed_logins == 1


def test_unknown_username_shows_the_same_error(db):
    response = login(Client(), "nobody", "whatever-password")

    assert response.status_code == 200
    assert WRONG_PASSWORD_TEXT in response.content.decode()


def test_right_password_logs_in_and_opens_home(world):
    client = Client()

    response = login(client, "director", PASSWORD)

    assert logged_in(response)
    assert client.get(HOME).status_code == 200


def test_login_follows_a_local_next_but_never_an_outside_one(world):
    local = Client().post(LOGIN, {"username": "director", "password": PASSWORD, "next": "/map/"})
    outside = Client().post(
        LOGIN, {"username": "director", "password": PASSWORD, "next": "https://evil.example.com/"}
    )

    assert local["Location"] == "/map/"
    assert logged_in(outside)


# --- lockout --------------------------------------------------------------------------------------------


def test_five_failures_lock_for_ten_minutes_then_right_password_works_and_resets(world, traveller):
    client = Client()
    for _ in range(4):
        response = login(client, "director", "wrong-password")
        assert WRONG_PASSWORD_TEXT in response.content.decode()

    fifth = login(client, "director", "wrong-password")

    assert LOCKED_TEXT in fifth.content.decode()
    user = User.objects.get(pk=world.director.pk)
    assert user.locked_until == START + dt.timedelta(minutes=10)
    # Locked: even the right password is refused, with the lock message, and nothing is counted.
    refused = login(client, "director", PASSWORD)
    assert refused.status_code == 200
    assert LOCKED_TEXT in refused.content.decode()
    assert "请10分钟后再试" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    traveller.shift(dt.timedelta(minutes=9, seconds=59))
    assert LOCKED_TEXT in login(client, "director", PASSWORD).content.decode()

    traveller.shift(dt.timedelta(seconds=2))
    assert logged_in(login(client, "director", PASSWORD))
    user.refresh_from_db()
    assert user.failed_logins == 0
    assert user.locked_until is None


def test_lock_writes_an_audit_entry(world, traveller):
    for _ in range(5):
        login(Client(), "director", "wrong-password")

    entry = AuditEntry.objects.get(action="accounts.lock")
    assert entry.object_type == "accounts.user"
    assert entry.object_id == str(world.director.pk)
    assert entry.actor_id is None
    assert (entry.ip, entry.channel) == ("127.0.0.1", "web")
    assert "连续5次登录失败" in entry.note
    assert dt.datetime.fromisoformat(entry.after["locked_until"]) == START + dt.timedelta(minutes=10)


def test_success_resets_the_failure_count(world):
    client = Client()
    for _ in range(4):
        login(client, "director", "wrong-password")
    assert User.objects.get(pk=world.director.pk).failed_logins == 4

    assert logged_in(login(client, "director", PASSWORD))
    assert User.objects.get(pk=world.director.pk).failed_logins == 0

    # Four more failures after the success do not add up to a lock.
    other = Client()
    for _ in range(4):
        response = login(other, "director", "wrong-password")
        assert WRONG_PASSWORD_TEXT in response.content.decode()
    user = User.objects.get(pk=world.director.pk)
    assert user.failed_logins == 4
    assert not user.is_locked()
    assert not AuditEntry.objects.filter(action="accounts.lock").exists()


def test_lock_of_one_account_does_not_affect_another(world, traveller):
    for _ in range(5):
        login(Client(), "director", "wrong-password")

    assert logged_in(login(Client(), "director_s2", PASSWORD))


def test_new_passwords_are_hashed_with_argon2(db):
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"]):
        user = create_user(username="argon_user", password=PASSWORD, role=Role.LEADER)
        assert user.password.startswith("argon2$argon2id$")
        assert logged_in(login(Client(), "argon_user", PASSWORD))


# --- session limits -------------------------------------------------------------------------------------


def test_idle_session_expires_after_thirty_minutes(world, traveller):
    client = Client()
    assert logged_in(login(client, "director", PASSWORD))

    traveller.shift(dt.timedelta(minutes=31))
    response = client.get(HOME)

    assert is_login_redirect(response)


def test_activity_every_twenty_minutes_keeps_the_session(world, traveller):
    client = Client()
    assert logged_in(login(client, "director", PASSWORD))

    for _ in range(4):  # 80 minutes in all, never 30 idle
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get(ACCOUNT).status_code == 200


def test_background_requests_do_not_keep_an_idle_session(world, traveller):
    """The phone workspace's timers (resending its queue, refreshing today's work) mark their requests: an
    unattended phone reaches the idle limit like any other session; a request the user makes renews it."""
    client = Client()
    assert logged_in(login(client, "director", PASSWORD))

    for _ in range(2):  # 20 and 40 minutes: the page's own requests, no activity of the user
        traveller.shift(dt.timedelta(minutes=20))
        response = client.get(ACCOUNT, headers={"X-Doorstep-Background": "1"})
    assert is_login_redirect(response)

    assert logged_in(login(client, "director", PASSWORD))
    traveller.shift(dt.timedelta(minutes=20))
    assert client.get(ACCOUNT).status_code == 200  # the user's own request: renewed
    traveller.shift(dt.timedelta(minutes=20))
    assert client.get(ACCOUNT, headers={"X-Doorstep-Background": "1"}).status_code == 200


def test_requests_within_a_minute_do_not_write_the_session(world, traveller):
    client = Client()
    assert logged_in(login(client, "director", PASSWORD))
    traveller.shift(dt.timedelta(minutes=2))
    client.get(ACCOUNT)  # renews the idle window

    with CaptureQueriesContext(connection) as captured:
        for _ in range(5):
            traveller.shift(dt.timedelta(seconds=5))
            assert client.get(ACCOUNT).status_code == 200

    assert not [q for q in captured.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]


def test_session_ends_after_twelve_hours_even_when_active(world, traveller):
    client = Client()
    assert logged_in(login(client, "director", PASSWORD))

    for _ in range(35):  # up to 11 h 40 min, a request every 20 minutes
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get(ACCOUNT).status_code == 200, "logged out before the absolute limit"
    traveller.shift(dt.timedelta(minutes=20))  # 12 h 00 min: not yet over the limit
    assert client.get(ACCOUNT).status_code == 200
    traveller.shift(dt.timedelta(minutes=20))  # 12 h 20 min
    response = client.get(ACCOUNT)

    assert is_login_redirect(response)
    assert "_auth_user_id" not in client.session
    # and the old session stays dead on the next request
    assert is_login_redirect(client.get(HOME))


# --- API tokens -----------------------------------------------------------------------------------------


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_api_token_authenticates(world, traveller):
    token, key = issue_token(world.director, name="对接系统", by=world.director)

    response = token_client(key).get(API)

    assert response.status_code == 200
    assert [s["id"] for s in response.json()["results"]] == [world.s1.pk]  # the director's territory
    token.refresh_from_db()
    assert token.last_used_at == START


def test_token_of_a_deactivated_user_is_refused(world):
    _token, key = issue_token(world.director, name="对接系统", by=world.director)
    User.objects.filter(pk=world.director.pk).update(is_active=False)

    response = token_client(key).get(API)

    assert response.status_code == 401
    assert response.json()["detail"] == "令牌无效、已过期或已吊销"


def test_api_without_credentials_is_refused_with_detail(world):
    response = APIClient().get(API)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_revoked_token_is_refused_with_detail(world):
    token, key = issue_token(world.director, name="对接系统", by=world.director)
    revoke_token(token, by=world.director)

    response = token_client(key).get(API)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "令牌无效、已过期或已吊销"


def test_expired_token_is_refused_with_detail(world, traveller):
    _token, key = issue_token(
        world.director, name="临时", expires_at=START + dt.timedelta(days=1), by=world.director
    )
    assert token_client(key).get(API).status_code == 200

    traveller.shift(dt.timedelta(days=1, seconds=1))
    response = token_client(key).get(API)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "令牌无效、已过期或已吊销"


def test_wrong_key_is_refused(world):
    issue_token(world.director, name="对接系统", by=world.director)

    response = token_client("ds_not-a-real-key").get(API)

    assert response.status_code == 401
    assert response.json()["detail"]


def test_only_the_hash_of_a_token_is_stored(world):
    token, key = issue_token(world.director, name="对接系统", by=world.director)

    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[3:11]
    assert all(key not in str(value) for value in row.values())
    audit = AuditEntry.objects.get(action="accounts.issue_token", object_id=str(token.pk))
    assert key not in str(audit.after) and key not in audit.object_repr


def test_account_page_creates_and_revokes_a_token(world, client_for):
    client = client_for(world.director)

    created = client.post(ACCOUNT, {"name": "指挥中心对接", "expires_on": "", "scopes": ["org:read"]})

    assert created.status_code == 200
    html = created.content.decode()
    key = re.search(r'data-testid="new-token">([^<]+)</code>', html).group(1)
    assert "只显示这一次" in html and "指挥中心对接" in html
    assert token_client(key).get(API).status_code == 200
    token = ApiToken.objects.get(user=world.director)
    assert token.name == "指挥中心对接"
    # the key is not shown again
    assert key not in client.get(ACCOUNT).content.decode()

    revoked = client.post(reverse("accounts:revoke_token", args=[token.pk]), follow=True)

    assert revoked.status_code == 200
    assert "令牌已吊销" in revoked.content.decode()
    assert "已吊销" in revoked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get(API).status_code == 401


def test_token_from_the_account_page_expires_at_the_end_of_the_chosen_day(world, client_for, traveller):
    created = client_for(world.director).post(
        ACCOUNT, {"name": "临时对接", "expires_on": "2026-11-30", "scopes": ["org:read"]}
    )
    key = re.search(r'data-testid="new-token">([^<]+)</code>', created.content.decode()).group(1)

    traveller.move_to(dt.datetime(2026, 11, 30, 23, 59, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert token_client(key).get(API).status_code == 200
    traveller.move_to(dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert token_client(key).get(API).status_code == 401


def test_account_page_cannot_revoke_another_users_token(world, client_for):
    token, key = issue_token(world.director_s2, name="对接系统", by=world.director_s2)

    response = client_for(world.director).post(reverse("accounts:revoke_token", args=[token.pk]))

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert token_client(key).get(API).status_code == 200


def test_account_page_needs_login(db):
    assert is_login_redirect(Client().get(ACCOUNT))


def test_token_form_refuses_a_past_expiry_date(world, client_for):
    response = client_for(world.director).post("/accounts/me/", {"name": "集成", "expires_on": "2000-01-01"})
    assert "过期日期不能早于今天" in response.content.decode()
    assert not world.director.api_tokens.exists()


def test_right_password_of_a_deactivated_account_is_not_counted_as_failure(world):
    from django.test import Client

    from doorstep.accounts.models import User

    User.objects.filter(pk=world.officer_a.pk).update(is_active=False)
    for _ in range(6):
        Client().post("/accounts/login/", {"username": "officer_a", "password": PASSWORD})
    user = User.objects.get(pk=world.officer_a.pk)
    assert user.failed_logins == 0 and user.locked_until is None


def test_every_failed_login_is_in_the_audit_log_without_what_was_typed(world):
    """For the weekly audit review: a wrong password is recorded against the account; an unknown user name is
    recorded without the typed text (people type passwords there), once a minute per client address."""
    from django.core.cache import cache

    cache.clear()
    client = Client()
    client.post(reverse("accounts:login"), {"username": "officer_a", "password": "wrong-password-1"})
    failed = AuditEntry.objects.filter(action="accounts.login_failed")
    assert failed.count() == 1 and failed.get().object_id == str(world.officer_a.pk)
    for _ in range(3):
        client.post(reverse("accounts:login"), {"username": "Secret#Passw0rd", "password": "x"})
    unknown = failed.exclude(object_id=str(world.officer_a.pk))
    assert unknown.count() == 1
    entry = unknown.get()
    assert "Secret#Passw0rd" not in f"{entry.object_repr} {entry.note} {entry.before} {entry.after}"


def test_the_login_page_answers_when_the_cache_is_down(world):
    """Recording an unknown user name's failure uses the cache to de-duplicate; Redis down must not be a 500."""
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=dead):
        from django.core.cache import caches

        caches._settings = None  # pick up the overridden CACHES
        response = Client().post(reverse("accounts:login"), {"username": "nobody-here", "password": "x"})
    assert response.status_code == 200 and WRONG_PASSWORD_TEXT in response.content.decode()
