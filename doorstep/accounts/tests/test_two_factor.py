"""Two-factor login (issue #12 item 3), through the real login view, middleware, django-otp devices and the
ASGI application: enforcement for pages, the session API and WebSockets; enrolment with a code computed here
from the secret the page shows; replay; recovery codes; lockout.

TOTP codes are computed with django_otp.oath.totp from the page's base32 secret (RFC 6238 arithmetic, no
authenticator app); time is frozen with time-machine, which moves the clock both django-otp and the test read.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from doorstep.accounts import two_factor
from doorstep.accounts.choices import TWO_FACTOR_ROLES, Role
from doorstep.accounts.models import RecoveryCode, RecoveryCodeDevice, User
from doorstep.audit.models import AuditEntry
from doorstep.conftest import PASSWORD, build_world

LOGIN = "/accounts/login/"
VERIFY = "/accounts/two-factor/"
ENROL = "/accounts/two-factor/enrol/"
ACCOUNT = "/accounts/me/"
HOME = "/"
API = "/api/v1/stations/"
START = dt.datetime(2026, 11, 28, 9, 0, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
LOCKED_TEXT = "该账户因连续"


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.TWO_FACTOR_REQUIRED = True


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as t:
        yield t


def password_login(username: str, client: Client | None = None, next_url: str = ""):
    client = client or Client()
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client, client.post(LOGIN, data)


def secret_of(html: str) -> bytes:
    text = re.search(r'data-testid="two-factor-secret">([^<]+)</code>', html).group(1)
    return base64.b32decode(text.replace(" ", ""))


def code(key: bytes) -> str:
    return f"{totp(key):06d}"


def enrol(client: Client) -> tuple[bytes, list[str]]:
    """Enrol through the pages: read the secret, confirm with the current code. Returns (key, recovery codes)."""
    page = client.get(ENROL)
    assert page.status_code == 200
    key = secret_of(page.content.decode())
    done = client.post(ENROL, {"code": code(key), "next": HOME})
    assert done.status_code == 200, done.content.decode()[:500]
    codes = re.findall(r"<li class=\"col-6 mb-1\"><code>([A-Z0-9-]+)</code></li>", done.content.decode())
    return key, codes


def enrolled_user(username: str, traveller) -> tuple[bytes, list[str]]:
    client, _ = password_login(username)
    key, codes = enrol(client)
    client.post(reverse("accounts:logout"))
    traveller.shift(dt.timedelta(seconds=30))  # the next code is a new one
    return key, codes


# --- policy ---------------------------------------------------------------------------------------------


def test_every_role_sees_personal_data_so_every_role_needs_two_factor():
    assert set(Role) == set(TWO_FACTOR_ROLES)


def test_required_only_when_the_setting_is_on(world, settings):
    assert two_factor.required_for(world.patrol)
    settings.TWO_FACTOR_REQUIRED = False
    assert not two_factor.required_for(world.patrol)


# --- enforcement ----------------------------------------------------------------------------------------


def test_after_the_password_a_required_role_goes_to_enrolment_and_reaches_nothing_else(world):
    client, response = password_login("officer_a", next_url="/map/")

    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next=%2Fmap%2F"
    assert "_auth_user_id" in client.session  # the password step is done…
    page = client.get(HOME)  # …but no page opens
    assert page.status_code == 302 and page["Location"] == f"{ENROL}?next=%2F"
    assert client.get(ACCOUNT)["Location"].startswith(ENROL)
    assert client.get("/registry/persons/").status_code == 302
    api = client.get(API)
    assert api.status_code == 403
    assert api.json()["detail"] == "请先完成两步验证"
    assert client.post("/api/v1/assignments/", {}).status_code == 403
    # the phone workspace's API answers JSON too: its prompt sends the officer to sign in (and verify)
    workspace = client.get("/m/api/today")
    assert workspace.status_code == 401 and workspace.json() == {
        "detail": "请先完成两步验证",
        "code": "login",
    }
    # the enrolment page itself and logout stay open
    assert client.get(ENROL).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_enrolled_user_is_asked_for_the_code(world, traveller):
    enrolled_user("director", traveller)

    client, response = password_login("director")

    assert response["Location"] == f"{VERIFY}?next=%2F"
    assert client.get(HOME)["Location"] == f"{VERIFY}?next=%2F"
    # an unverified session may not replace the authenticator
    assert client.get(ENROL)["Location"].startswith(VERIFY)
    page = client.get(VERIFY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "两步验证" in html and "验证码或恢复码" in html
    assert "nav-group-org" not in html  # no navigation before the second factor


def test_a_role_that_does_not_require_it_reaches_home_after_the_password(world, monkeypatch):
    monkeypatch.setattr(two_factor, "TWO_FACTOR_ROLES", TWO_FACTOR_ROLES - {Role.PATROL})

    client, response = password_login("patrol")

    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    assert client.get(API).status_code == 200


def test_with_the_setting_off_nobody_is_asked(world, settings):
    settings.TWO_FACTOR_REQUIRED = False

    client, response = password_login("officer_a")

    assert response["Location"] == HOME
    assert client.get(HOME).status_code == 200


def test_an_api_token_is_not_held_by_two_factor(world):
    from rest_framework.test import APIClient

    from doorstep.accounts.services import issue_token

    _token, key = issue_token(world.director, name="对接系统", scopes=["org:read"], by=world.director)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.get(API).status_code == 200


# --- enrolment ------------------------------------------------------------------------------------------


def test_enrolment_with_a_real_code_shows_ten_recovery_codes_once_and_opens_the_site(world, traveller):
    client, _ = password_login("officer_a")
    page = client.get(ENROL)
    html = page.content.decode()
    assert "<svg" in html and 'aria-label="两步验证二维码"' in html
    key = secret_of(html)
    device = TOTPDevice.objects.get(user=world.officer_a)
    assert not device.confirmed and device.bin_key == key
    assert "otpauth://totp/" in device.config_url

    wrong = client.post(ENROL, {"code": "000000" if code(key) != "000000" else "111111"})
    assert "验证码不正确" in wrong.content.decode()
    assert client.get(HOME).status_code == 302  # still held

    traveller.shift(dt.timedelta(seconds=2))  # django-otp's wait after a wrong code
    done = client.post(ENROL, {"code": code(key), "next": "/map/"})

    html = done.content.decode()
    codes = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "只显示这一次" in html and "打印" in html and 'download="doorstep-recovery-codes.txt"' in html
    assert "no-store" in done["Cache-Control"]
    assert client.get(HOME).status_code == 200
    assert client.get(API).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(
        action="accounts.two_factor_enrol", object_id=str(world.officer_a.pk)
    ).exists()
    # stored as hashes only
    stored = " ".join(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert all(c.replace("-", "") not in stored and c not in stored for c in codes)
    assert RecoveryCode.objects.filter(device__user=world.officer_a).count() == 10
    # and the codes are not shown again
    assert codes[0] not in client.get(ACCOUNT).content.decode()


def test_any_user_may_enrol_from_the_account_page_and_is_then_asked_at_login(world, settings, traveller):
    settings.TWO_FACTOR_REQUIRED = False
    client, _ = password_login("patrol")
    account = client.get(ACCOUNT).content.decode()
    assert "启用两步验证" in account

    key, codes = enrol(client)
    assert len(codes) == 10
    assert "已启用" in client.get(ACCOUNT).content.decode()

    traveller.shift(dt.timedelta(seconds=30))
    other, response = password_login("patrol")
    assert response["Location"].startswith(VERIFY)
    assert other.get(HOME).status_code == 302
    assert other.post(VERIFY, {"code": code(key)}).status_code == 302
    assert other.get(HOME).status_code == 200


# --- verification and replay ----------------------------------------------------------------------------


def test_the_right_code_opens_the_site_and_the_same_code_is_refused_again(world, traveller):
    key, _codes = enrolled_user("director", traveller)
    first, _ = password_login("director")
    the_code = code(key)

    response = first.post(VERIFY, {"code": the_code, "next": "/map/"})

    assert response.status_code == 302 and response["Location"] == "/map/"
    assert first.get(HOME).status_code == 200
    assert first.get(API).status_code == 200

    # the same code, in the same 30-second step, on another login: refused (replay)
    traveller.shift(dt.timedelta(seconds=5))
    second, _ = password_login("director")
    replay = second.post(VERIFY, {"code": the_code})
    assert replay.status_code == 200
    assert "验证码或恢复码不正确" in replay.content.decode()
    assert second.get(HOME).status_code == 302
    assert AuditEntry.objects.filter(action="accounts.two_factor_failed").count() == 1

    traveller.shift(dt.timedelta(seconds=30))
    assert second.post(VERIFY, {"code": code(key)}).status_code == 302
    assert second.get(HOME).status_code == 200


def test_verification_gives_the_session_a_new_key(world, traveller):
    key, _codes = enrolled_user("director", traveller)
    client, _ = password_login("director")
    before = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post(VERIFY, {"code": code(key)})

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before


# --- recovery codes -------------------------------------------------------------------------------------


def test_a_recovery_code_works_once(world, traveller):
    _key, codes = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")

    response = client.post(VERIFY, {"code": codes[3].lower().replace("-", " ")}, follow=True)

    assert response.status_code == 200
    assert "已使用恢复码登录，剩余9个恢复码" in response.content.decode()
    assert client.get(HOME).status_code == 200
    entry = AuditEntry.objects.get(action="accounts.recovery_code_used")
    assert entry.object_id == str(world.officer_a.pk) and entry.after == {"remaining": 9}
    assert "剩余恢复码：9个" in client.get(ACCOUNT).content.decode()

    again, _ = password_login("officer_a")
    refused = again.post(VERIFY, {"code": codes[3]})
    assert "验证码或恢复码不正确" in refused.content.decode()
    assert again.get(HOME).status_code == 302
    # another code still works
    assert again.post(VERIFY, {"code": codes[4]}).status_code == 302


def test_regenerating_replaces_every_recovery_code(world, traveller):
    key, old = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")
    client.post(VERIFY, {"code": code(key)})

    page = client.post(reverse("accounts:recovery_codes"))

    new = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert RecoveryCodeDevice.objects.filter(user=world.officer_a).count() == 1
    assert AuditEntry.objects.filter(action="accounts.recovery_codes_regenerate").exists()
    other, _ = password_login("officer_a")
    assert "不正确" in other.post(VERIFY, {"code": old[0]}).content.decode()
    assert other.post(VERIFY, {"code": new[0]}).status_code == 302


def test_regenerating_after_a_recovery_code_login_keeps_the_session_verified(world, traveller):
    _key, codes = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")
    assert client.post(VERIFY, {"code": codes[0]}).status_code == 302
    device = RecoveryCodeDevice.objects.get(user=world.officer_a)

    page = client.post(reverse("accounts:recovery_codes"))

    new = re.findall(r"<code>([A-Z0-9]{5}-[A-Z0-9]{5})</code>", page.content.decode())
    assert len(new) == 10
    assert client.get(HOME).status_code == 200  # still verified: the device the session used is kept
    assert client.get(API).status_code == 200
    assert RecoveryCodeDevice.objects.get(user=world.officer_a).pk == device.pk
    assert RecoveryCode.objects.filter(device=device).count() == 10


# --- enrolment belongs to the session that was shown the secret --------------------------------------------


def test_a_secret_read_in_another_session_cannot_be_confirmed(world, traveller):
    """Someone who knows the starting password opens the enrolment page first and reads the secret; when the
    owner signs in, a new secret is made for the owner's session and the first one is void."""
    insider, _ = password_login("officer_a")
    insider_key = secret_of(insider.get(ENROL).content.decode())
    owner, _ = password_login("officer_a")
    owner_page = owner.get(ENROL)
    owner_key = secret_of(owner_page.content.decode())
    assert owner_key != insider_key
    assert TOTPDevice.objects.filter(user=world.officer_a, confirmed=False).count() == 1

    refused = insider.post(ENROL, {"code": code(insider_key)})

    assert "二维码已失效" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=world.officer_a, confirmed=True).exists()
    # …and the page it re-shows has a new secret, which voids the owner's in turn: only the session that was
    # shown a secret confirms it, so the owner is told to scan again, never bound to a secret someone else saw
    again = owner.post(ENROL, {"code": code(owner_key)}).content.decode()
    assert "二维码已失效" in again
    new_key = secret_of(again)
    assert new_key not in (owner_key, insider_key)
    traveller.shift(dt.timedelta(seconds=30))
    assert owner.post(ENROL, {"code": code(new_key)}).status_code == 200
    assert TOTPDevice.objects.get(user=world.officer_a, confirmed=True).bin_key == new_key
    assert owner.get(HOME).status_code == 200
    assert insider.get(HOME).status_code == 302  # the insider's session is still held


def test_the_same_session_keeps_its_secret_for_15_minutes_then_gets_a_new_one(world, traveller):
    client, _ = password_login("officer_a")
    first = secret_of(client.get(ENROL).content.decode())
    traveller.shift(dt.timedelta(minutes=14))
    assert secret_of(client.get(ENROL).content.decode()) == first

    traveller.shift(dt.timedelta(minutes=2))
    expired = client.post(ENROL, {"code": code(first)})

    assert "二维码已失效" in expired.content.decode()
    second = secret_of(expired.content.decode())
    assert second != first
    assert not TOTPDevice.objects.filter(user=world.officer_a, confirmed=True).exists()
    assert client.post(ENROL, {"code": code(second)}).status_code == 200


def test_the_enrolment_page_is_not_cached(world):
    client, _ = password_login("officer_a")

    page = client.get(ENROL)

    assert "no-store" in page["Cache-Control"]


# --- lockout --------------------------------------------------------------------------------------------


def test_five_wrong_codes_lock_the_account_and_end_the_session(world, traveller):
    key, codes = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")
    for n in range(4):
        if n:
            traveller.shift(dt.timedelta(seconds=2 ** (n - 1)))  # django-otp's wait after the n-th wrong code
        wrong = client.post(VERIFY, {"code": f"{(int(code(key)) + 1 + n) % 1000000:06d}"})
        assert "验证码或恢复码不正确" in wrong.content.decode()

    fifth = client.post(VERIFY, {"code": "WRONG-CODES"}, follow=True)

    assert LOCKED_TEXT in fifth.content.decode()
    assert "_auth_user_id" not in client.session
    user = User.objects.get(pk=world.officer_a.pk)
    assert user.locked_until == START + dt.timedelta(seconds=30 + 7) + dt.timedelta(minutes=10)
    assert AuditEntry.objects.filter(action="accounts.two_factor_failed").count() == 5
    assert AuditEntry.objects.filter(action="accounts.lock", object_id=str(user.pk)).exists()
    # the password is refused while locked, even with the right recovery code to follow
    _client, refused = password_login("officer_a")
    assert refused.status_code == 200 and "锁定" in refused.content.decode()


def test_signing_in_again_with_the_password_does_not_clear_the_code_failures(world, traveller):
    key, _codes = enrolled_user("officer_a", traveller)
    for _ in range(4):
        client, _ = password_login("officer_a")
        client.post(VERIFY, {"code": "AAAAA-BBBBB"})
    assert User.objects.get(pk=world.officer_a.pk).failed_logins == 4

    client, _ = password_login("officer_a")  # the password is right: the count stays
    assert User.objects.get(pk=world.officer_a.pk).failed_logins == 4
    client.post(VERIFY, {"code": "AAAAA-BBBBB"})

    assert User.objects.get(pk=world.officer_a.pk).is_locked()


def test_a_passed_second_factor_clears_the_failure_count(world, traveller):
    key, _codes = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")
    client.post(VERIFY, {"code": "AAAAA-BBBBB"})
    assert User.objects.get(pk=world.officer_a.pk).failed_logins == 1

    client.post(VERIFY, {"code": code(key)})

    assert User.objects.get(pk=world.officer_a.pk).failed_logins == 0


def test_wrong_totp_codes_are_throttled_by_the_device(world, traveller):
    """Besides the lock, django-otp makes the device wait 1, 2, 4… seconds after failures: a right code sent
    during the wait is refused too, so codes cannot be tried in a burst."""
    key, _codes = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")
    client.post(VERIFY, {"code": f"{(int(code(key)) + 1) % 1000000:06d}"})
    client.post(VERIFY, {"code": f"{(int(code(key)) + 2) % 1000000:06d}"})

    during_wait = client.post(VERIFY, {"code": code(key)})

    assert during_wait.status_code == 200
    traveller.shift(dt.timedelta(seconds=3))
    assert client.post(VERIFY, {"code": code(key)}).status_code == 302


def test_a_right_code_during_the_wait_is_told_to_wait_and_not_counted(world, traveller):
    key, _codes = enrolled_user("officer_a", traveller)
    client, _ = password_login("officer_a")
    client.post(VERIFY, {"code": f"{(int(code(key)) + 1) % 1000000:06d}"})
    traveller.shift(dt.timedelta(seconds=1))
    client.post(VERIFY, {"code": f"{(int(code(key)) + 2) % 1000000:06d}"})  # now a 2-second wait
    assert User.objects.get(pk=world.officer_a.pk).failed_logins == 2

    during_wait = client.post(VERIFY, {"code": code(key)})

    html = during_wait.content.decode()
    assert "请等待2秒后再输入" in html and "验证码或恢复码不正确" not in html
    assert User.objects.get(pk=world.officer_a.pk).failed_logins == 2  # not counted toward the lock
    assert AuditEntry.objects.filter(action="accounts.two_factor_failed").count() == 2
    traveller.shift(dt.timedelta(seconds=2))
    assert client.post(VERIFY, {"code": code(key)}).status_code == 302


def test_the_wait_never_exceeds_the_lock_length(world, traveller, settings):
    key, _codes = enrolled_user("officer_a", traveller)
    # months of wrong codes, lock after lock: django-otp alone would wait 2^29 s (17 years)
    TOTPDevice.objects.filter(user=world.officer_a).update(
        throttling_failure_count=30, throttling_failure_timestamp=START
    )
    traveller.shift(dt.timedelta(minutes=settings.LOCKOUT_MINUTES))
    client, _ = password_login("officer_a")

    assert client.post(VERIFY, {"code": code(key)}).status_code == 302
    assert client.get(HOME).status_code == 200


def test_a_recovery_code_login_ends_the_authenticators_wait(world, traveller):
    key, codes = enrolled_user("officer_a", traveller)
    TOTPDevice.objects.filter(user=world.officer_a).update(
        throttling_failure_count=8, throttling_failure_timestamp=START
    )
    client, _ = password_login("officer_a")
    assert client.post(VERIFY, {"code": codes[0]}).status_code == 302

    device = TOTPDevice.objects.get(user=world.officer_a)
    assert device.throttling_failure_count == 0 and device.throttling_failure_timestamp is None
    other, _ = password_login("officer_a")
    assert other.post(VERIFY, {"code": code(key)}).status_code == 302


# --- WebSockets -----------------------------------------------------------------------------------------


@pytest.fixture
def socket_world(transactional_db):
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        channel_layers.backends.clear()
        yield build_world()
    channel_layers.backends.clear()


def _socket_connects(client: Client) -> tuple[bool, int | None]:
    from doorstep.asgi import application

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()

    async def body():
        ws = WebsocketCommunicator(
            application,
            "/ws/alarms/",
            headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)],
        )
        connected, close_code = await ws.connect()
        await ws.disconnect()
        return connected, close_code

    return async_to_sync(body)()


def test_an_unverified_session_gets_no_websocket_until_verified(socket_world):
    client, _ = password_login("director")

    assert _socket_connects(client) == (False, 4401)

    _key, _codes = enrol(client)
    connected, _code = _socket_connects(client)
    assert connected


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


@pytest.mark.parametrize("path", ["/ws/alarms/", "/ws/duty/", "/ws/video/"])
@pytest.mark.parametrize("action", ["revoke_sessions", "reset_two_factor"])
def test_signing_out_everywhere_closes_the_users_open_websockets(socket_world, settings, path, action):
    from asgiref.sync import sync_to_async

    from doorstep.accounts import services
    from doorstep.asgi import application

    settings.TWO_FACTOR_REQUIRED = False
    director = socket_world.users["director"]
    mine, others = _session_cookie(director), _session_cookie(socket_world.users["director_s2"])

    def socket(cookie):
        return WebsocketCommunicator(
            application,
            path,
            headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"), (b"cookie", cookie)],
        )

    async def body():
        ws, other = socket(mine), socket(others)
        assert (await ws.connect())[0] and (await other.connect())[0]
        assert (await ws.receive_json_from())["type"] == "hello"
        assert (await other.receive_json_from())["type"] == "hello"
        await sync_to_async(getattr(services, action))(
            director, reason="手机丢失", by=socket_world.users["admin"]
        )
        assert await ws.receive_json_from(timeout=2) == {"type": "session_revoked"}
        assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
        assert await other.receive_nothing(timeout=0.2)  # another user's socket stays open
        await other.disconnect()

    async_to_sync(body)()


def test_a_role_that_does_not_require_it_gets_its_websocket(socket_world, monkeypatch):
    monkeypatch.setattr(two_factor, "TWO_FACTOR_ROLES", TWO_FACTOR_ROLES - {Role.DIRECTOR})
    client, _ = password_login("director")

    connected, _code = _socket_connects(client)

    assert connected
