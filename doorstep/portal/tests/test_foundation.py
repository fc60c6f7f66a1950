"""The portal's foundations: the separation from the staff session and the security headers, rate limits,
phone validation and hashing, one-time codes, and the SMS gateways (core.sms) over a real socket."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import re
import threading

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from doorstep.core import sms
from doorstep.core.errors import ServiceError
from doorstep.portal import middleware, phones, ratelimit
from doorstep.portal.choices import VerificationPurpose
from doorstep.portal.models import PhoneCode

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


# --- middleware ---------------------------------------------------------------------------------------------
def _through(path: str, cookies: dict[str, str]):
    seen = {}

    def view(request):
        seen["cookies"] = dict(request.COOKIES)
        response = HttpResponse("ok")
        response.set_cookie(settings.SESSION_COOKIE_NAME, "set-by-someone")
        return response

    request = RequestFactory().get(path)
    request.COOKIES.update(cookies)
    response = middleware.PortalMiddleware(view)(request)
    return seen["cookies"], response


def test_portal_requests_never_see_the_staff_session_and_never_get_one():
    cookies, response = _through(
        "/portal/a/x/", {settings.SESSION_COOKIE_NAME: "staff-session", "csrftoken": "t"}
    )
    assert settings.SESSION_COOKIE_NAME not in cookies and cookies["csrftoken"] == "t"
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_staff_paths_are_untouched():
    cookies, response = _through("/online/", {settings.SESSION_COOKIE_NAME: "staff-session"})
    assert cookies[settings.SESSION_COOKIE_NAME] == "staff-session"
    assert "Content-Security-Policy" not in response.headers
    assert settings.SESSION_COOKIE_NAME in response.cookies


def test_a_logged_in_officer_is_anonymous_on_the_portal(client, world):
    client.force_login(world.officer_a)
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    assert response.wsgi_request.user.is_anonymous
    assert "Content-Security-Policy" in response.headers
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.get("/").wsgi_request.user == world.officer_a  # the staff session is intact


# --- rate limits ------------------------------------------------------------------------------------------
def test_fixed_window_counts_and_resets():
    count, seconds = ratelimit.DEFAULTS["code_phone"]
    start = 1_000_000 * seconds
    assert all(ratelimit.hit("code_phone", "k", now=start + i) for i in range(count))
    assert not ratelimit.hit("code_phone", "k", now=start + count)
    assert ratelimit.hit("code_phone", "other", now=start + count)  # per key
    assert ratelimit.hit("code_phone", "k", now=start + seconds)  # the next window


@override_settings(PORTAL_RATE_LIMITS="submit_ip=2/60, nonsense=1/1, status_ip=x/5")
def test_limits_are_overridable_and_bad_overrides_ignored():
    limits = ratelimit.limits()
    assert limits["submit_ip"] == (2, 60)
    assert limits["status_ip"] == ratelimit.DEFAULTS["status_ip"]
    assert "nonsense" not in limits


@override_settings(PORTAL_RATE_LIMITS="submit_ip=2/3600,submit_phone=100/3600")
def test_check_counts_every_limit_and_raises_429():
    request = RequestFactory().post("/portal/report/tip/", REMOTE_ADDR="10.1.2.3")
    ratelimit.check(request, ("submit_ip", "ip"), ("submit_phone", "p"))
    ratelimit.check(request, ("submit_ip", "ip"), ("submit_phone", "p"))
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.check(request, ("submit_ip", "ip"), ("submit_phone", "p"))
    assert refused.value.status == 429 and "频繁" in str(refused.value)
    other = RequestFactory().post("/portal/report/tip/", REMOTE_ADDR="10.1.2.4")
    ratelimit.check(other, ("submit_ip", "ip"))


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_client_address_behind_a_trusted_proxy_only():
    rf = RequestFactory()
    via_proxy = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.9")
    assert ratelimit.client_ip(via_proxy) == "10.0.0.9"  # the right-most hop not a trusted proxy
    spoofed = rf.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert ratelimit.client_ip(spoofed) == "203.0.113.5"  # not through our proxy: the header is ignored
    garbage = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert ratelimit.client_ip(garbage) == "127.0.0.1"


# --- phones and one-time codes ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["139 1234-5678", " 13912345678 "])
def test_mobile_numbers_are_cleaned(value):
    assert phones.clean_mobile(value) == PHONE


@pytest.mark.parametrize(
    "value", ["", "12912345678", "1391234567", "１３９１２３４５６７８", "139123456789", "+8613912345678"]
)
def test_bad_mobile_numbers_are_refused_in_chinese(value):
    with pytest.raises(ServiceError, match="手机号码"):
        phones.clean_mobile(value)


def test_phone_hash_is_keyed_and_stable():
    assert phones.phone_hash(PHONE) == phones.phone_hash(PHONE) != phones.phone_hash("13912345679")
    assert PHONE not in phones.phone_hash(PHONE)
    ours = phones.phone_hash(PHONE)
    with override_settings(SECRET_KEY="another-key-" + "x" * 50):
        assert phones.phone_hash(PHONE) != ours  # useless without the server's key


def _last_code() -> str:
    return re.search(r"验证码(\d{6})", sms.outbox[-1].text).group(1)


def test_a_code_is_sent_stored_as_hashes_and_works_once(db):
    phones.send_code(PHONE, VerificationPurpose.SURVEY, scope="tok")
    assert sms.outbox[-1].phone == PHONE
    code = _last_code()
    row = PhoneCode.objects.get()
    assert PHONE not in row.phone_hash and code not in row.code_hash
    assert not phones.verify_code(PHONE, code, VerificationPurpose.SURVEY, scope="other")  # scope matters
    assert not phones.verify_code(PHONE, code, VerificationPurpose.SUBMISSION, scope="tok")  # purpose too
    assert phones.verify_code(PHONE, code, VerificationPurpose.SURVEY, scope="tok")
    assert not phones.verify_code(PHONE, code, VerificationPurpose.SURVEY, scope="tok")  # used up


def test_a_new_code_replaces_the_old_one(db):
    phones.send_code(PHONE, VerificationPurpose.SURVEY)
    first = _last_code()
    phones.send_code(PHONE, VerificationPurpose.SURVEY)
    second = _last_code()
    if first != second:
        assert not phones.verify_code(PHONE, first, VerificationPurpose.SURVEY)
    assert phones.verify_code(PHONE, second, VerificationPurpose.SURVEY)


def test_codes_expire_and_die_after_wrong_tries(db):
    start = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        phones.send_code(PHONE, VerificationPurpose.SURVEY)
        code = _last_code()
        clock.shift(dt.timedelta(minutes=phones.CODE_MINUTES, seconds=1))
        assert not phones.verify_code(PHONE, code, VerificationPurpose.SURVEY)
        phones.send_code(PHONE, VerificationPurpose.SURVEY)
        code = _last_code()
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(phones.CODE_ATTEMPTS):
            assert not phones.verify_code(PHONE, wrong, VerificationPurpose.SURVEY)
        assert not phones.verify_code(PHONE, code, VerificationPurpose.SURVEY)  # dead after the tries
        clock.shift(dt.timedelta(days=2))
        assert phones.purge(dt.datetime.now(dt.UTC)) == 2
        assert not PhoneCode.objects.exists()


# --- SMS gateways -----------------------------------------------------------------------------------------
class _Receiver(http.server.BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict, str]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((json.loads(body), self.headers.get("Authorization", "")))
        self.send_response(_Receiver.answers.pop(0))
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received.clear()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sms"
    finally:
        server.shutdown()


def test_http_gateway_posts_json_and_reports_refusals(receiver):
    _Receiver.answers[:] = [200, 500]
    with override_settings(SMS_GATEWAY="http", SMS_URL=receiver, SMS_TOKEN="secret"):
        sms.send(PHONE, "测试短信")
        with pytest.raises(sms.SmsError):
            sms.send(PHONE, "第二条")
    assert _Receiver.received[0] == ({"phone": PHONE, "text": "测试短信"}, "Bearer secret")


def test_http_gateway_down_is_an_sms_error_and_code_sending_says_so(db):
    with override_settings(SMS_GATEWAY="http", SMS_URL="http://127.0.0.1:9/sms"):
        with pytest.raises(sms.SmsError):
            sms.send(PHONE, "x")
        with pytest.raises(ServiceError, match="短信发送失败"):
            phones.send_code(PHONE, VerificationPurpose.SURVEY)


def test_console_gateway_masks_the_phone(caplog):
    with override_settings(SMS_GATEWAY="console"), caplog.at_level(logging.INFO, logger="doorstep.sms"):
        sms.send(PHONE, "您好")
    assert "139****5678" in caplog.text and PHONE not in caplog.text


def test_not_found_pages_are_chinese_everywhere(client, world):
    portal = client.get("/portal/no-such-page/")
    assert portal.status_code == 404 and "页面不存在" in portal.content.decode()
    assert "portal-tabbar" in portal.content.decode()  # the portal's layout, not the staff one
    client.force_login(world.officer_a)
    staff = client.get("/no-such-page/")
    assert staff.status_code == 404 and "返回首页" in staff.content.decode()
    api = client.get("/api/v1/no-such-endpoint/")
    assert api.status_code == 404 and api.json()["detail"]
