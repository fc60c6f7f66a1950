"""The sealed queue after review (ADR 0024), in real Chromium against the live server:

- a sign-out everywhere with an EMPTY queue, then a new login: opening the workspace confirms the stored
  device with the server and enrols a new one, so a record made offline afterwards is stored, not wiped;
- the page's automatic sending (back online) carries `X-Doorstep-Background: 1`, the officer's own record
  does not; a double tap on 提交 makes one record;
- a patrol already running on the server with track points: the phone numbers its next points after them.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from doorstep.accounts import services as account_services
from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.mobile.models import Device
from doorstep.mobile.tests.test_browser_offline import _check, _go_offline, _phone, _wait_badge, _workspace
from doorstep.patrol import runs
from doorstep.registry import services as registry_services
from doorstep.registry.models import Household, Visit
from doorstep.registry.tests.conftest import make_house

pytestmark = pytest.mark.browser


def _overdue(grid, number: str) -> Household:
    household = registry_services.create_household(house=make_house(grid), household_no=number)
    Household.objects.filter(pk=household.pk).update(
        next_visit_due=timezone.localdate() - dt.timedelta(days=3)
    )
    return household


def _items_requests(page) -> list[str | None]:
    """The X-Doorstep-Background header of every POST to /m/api/items, in order (None: not sent)."""
    seen: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.headers.get("x-doorstep-background"))
            if r.method == "POST" and urlsplit(r.url).path == "/m/api/items"
            else None
        ),
    )
    return seen


def _visit(page, household: Household, text: str) -> None:
    page.locator("[data-testid=tab-today]").click()
    page.locator(f"[data-household='{household.pk}']").click()
    page.fill("#visit-findings", text)


def test_a_new_login_after_a_sign_out_everywhere_keeps_records_made_offline(world, live_server, chromium):
    first, second = _overdue(world.grid_a, "350503301"), _overdue(world.grid_a, "350503302")
    origin = live_server.url
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, origin, watch)
    officer = world.users["officer_a"]
    old = Device.objects.get(user=officer)

    # The queue is empty; the administrator signs the officer out everywhere (a 2FA reset, a lost phone).
    account_services.revoke_sessions(officer, by=world.users["admin"], reason="重置")
    sign_in(context, origin, watch, "officer_a").close()
    page.goto(f"{origin}/m/")
    page.locator("body[data-ready=device]").wait_for()
    fresh = Device.objects.exclude(pk=old.pk).get(user=officer)  # confirmed at start: a new device
    assert fresh.revoked_at is None
    sent = _items_requests(page)

    # Offline, a visit is sealed — to the new device.
    _go_offline(context, page)
    _visit(page, first, "离线走访，重新登录之后")
    page.locator("[data-testid=visit-submit]").click()
    _wait_badge(page, 1)

    # Back online the page sends it by itself (a background request) and it is stored, not wiped.
    context.set_offline(False)
    _wait_badge(page, 0)
    assert Visit.objects.filter(household=first).count() == 1
    assert page.locator("[data-testid=m-revoked]").is_hidden()
    assert sent == ["1"]

    # Online, the officer's own record (tapped twice in a row) is one record and not a background request.
    _visit(page, second, "在线走访，连点两次提交")
    page.evaluate(
        """() => {
          const form = document.getElementById("form-visit");
          form.requestSubmit();
          form.requestSubmit();
        }"""
    )
    page.wait_for_function("() => document.getElementById('m-toast').textContent === '已发送'")
    _wait_badge(page, 0)
    assert Visit.objects.filter(household=second).count() == 1
    assert sent == ["1", None]
    context.close()
    _check(watch, urlsplit(origin).netloc)


def _seq_counter(page, user_id: int) -> int:
    return page.evaluate(
        """(name) => new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction("meta").objectStore("meta").get("seq");
            get.onsuccess = () => { resolve(get.result || 0); open.result.close(); };
            get.onerror = () => reject(get.error);
          };
        })""",
        f"doorstep-m-u{user_id}",
    )


def test_a_running_patrol_with_points_on_the_server_is_numbered_after_them(world, live_server, chromium):
    officer = world.users["officer_a"]
    now = timezone.now()
    patrol = runs.start(by=officer, community=world.c1, now=now - dt.timedelta(minutes=20))
    points = [
        {
            "seq": seq,
            "at": (now - dt.timedelta(minutes=15 - seq)).isoformat(),
            "lng": 118.6032,
            "lat": 24.9071,
        }
        for seq in range(1, 8)
    ]
    assert runs.add_points(patrol, points, by=officer) == 7
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, live_server.url, watch)
    # The phone adopted the running patrol; its counter continues after the server's last point.
    page.locator("[data-testid=patrol-running]").wait_for(state="attached")
    page.wait_for_function(
        """(name) => new Promise((resolve) => {
          const open = indexedDB.open(name);
          open.onsuccess = () => {
            const get = open.result.transaction("meta").objectStore("meta").get("seq");
            get.onsuccess = () => { resolve((get.result || 0) >= 7); open.result.close(); };
          };
        })""",
        arg=f"doorstep-m-u{officer.pk}",
    )
    assert _seq_counter(page, officer.pk) >= 7
    context.close()


def _idb_items(page, user_id: int) -> int:
    return page.evaluate(
        """(name) => new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains("items")) { db.close(); resolve(-1); return; }
            const get = db.transaction("items").objectStore("items").count();
            get.onsuccess = () => { resolve(get.result); db.close(); };
            get.onerror = () => reject(get.error);
          };
        })""",
        f"doorstep-m-u{user_id}",
    )


def test_another_officer_signing_in_on_the_phone_never_sends_or_wipes_the_first_ones_queue(
    world, live_server, chromium
):
    household = _overdue(world.grid_a, "350503303")
    origin = live_server.url
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, origin, watch)
    first = world.users["officer_a"]
    # officer_a's record waits on the phone (the server cannot be reached for it).
    page.route("**/m/api/items", lambda route: route.abort())
    _visit(page, household, "走访记录，尚未发送")
    page.locator("[data-testid=visit-submit]").click()
    _wait_badge(page, 1)

    # officer_a's session ends (idle limit); another officer signs in on the same browser and opens the workspace.
    context.clear_cookies()
    sign_in(context, origin, watch, "officer_b").close()
    page.goto(f"{origin}/m/")
    page.locator("body[data-ready=device]").wait_for()
    notice = page.locator("[data-testid=m-otheruser]")
    notice.wait_for()
    assert notice.inner_text() == "本机待发送记录属于另一位用户，请用其账号登录后发送"
    page.unroute("**/m/api/items")
    page.locator("[data-testid=tab-queue]").click()
    page.locator("#queue-send").click()  # 立即发送: officer_b's own, empty queue
    _wait_badge(page, 0)
    assert _idb_items(page, first.pk) == 1  # kept, untouched
    assert Visit.objects.count() == 0
    assert Device.objects.filter(user=world.users["officer_b"], revoked_at__isnull=True).count() == 1
    assert Device.objects.get(user=first).revoked_at is None
    context.close()


def test_a_proxys_error_page_is_retried_not_a_refusal_and_says_why_after_three_tries(
    world, live_server, chromium
):
    household = _overdue(world.grid_a, "350503304")
    origin = live_server.url
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, origin, watch)
    # A proxy in front of the server answers an HTML error page (no JSON `detail` from our server).
    page.route(
        "**/m/api/items",
        lambda route: route.fulfill(status=404, content_type="text/html", body="<html>404 Not Found</html>"),
    )
    _visit(page, household, "代理出错时的走访")
    page.locator("[data-testid=visit-submit]").click()
    _wait_badge(page, 1)
    page.locator("[data-testid=tab-queue]").click()
    detail = page.locator("#queue-list [data-item] [data-testid=queue-detail]")
    detail.wait_for()  # after the third failure in a row (retries after 2 s and 4 s)
    assert "已尝试3次" in detail.inner_text()
    assert page.locator("#queue-list [data-item]").get_attribute("data-state") == "waiting"
    assert page.locator("#queue-list [data-item] [data-option]").count() == 0  # not offered for discarding

    page.unroute("**/m/api/items")
    page.locator("#queue-send").click()
    _wait_badge(page, 0)
    assert Visit.objects.filter(household=household).count() == 1
    context.close()
