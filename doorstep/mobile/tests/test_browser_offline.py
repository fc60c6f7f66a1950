"""The workspace's sealed offline queue in real Debian Chromium (Playwright, sync API) on a phone-sized
screen, against pytest-django's live server (Playwright's emulated offline mode; its geolocation mock moved a
few times stands for a walking officer — a real phone's GPS cannot run here).

- Offline, the grid officer records a visit (with a camera photo, downscaled in the page) and a whole patrol
  (start, track points, a finding, finish); a reload while still offline keeps every record (待发送 shows the
  count); back online the page sends them, and the database holds exactly one visit and one patrol with its
  points.
- A lost answer: the first POST of a record reaches the server but the page sees the connection drop; the
  page sends it again and the server answers with the stored result — still exactly one row.
- Revocation: a record waits offline, the administrator signs the officer out everywhere (the phone is lost);
  back online the page asks for a new login and keeps the record; after a new sign-in the queued record is
  refused, the workspace wipes its local database and says so.
- A conflict waits in 待发送 with the server's reason and choices; logout asks first when records wait, then
  revokes the device and deletes the local database.

While offline the page's own failed requests (the alarm socket reconnecting) are expected console errors, so
these tests check the page errors and the requests leaving the server, not the console.
"""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from PIL import Image

from doorstep.accounts import services as account_services
from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.duty import services as duty_services
from doorstep.duty.models import Attendance
from doorstep.mobile.models import Device, ItemStatus, SyncItem
from doorstep.org.models import PoliceRoom
from doorstep.patrol.choices import PatrolStatus
from doorstep.patrol.models import Finding, Patrol, TrackPoint
from doorstep.registry import services as registry_services
from doorstep.registry.models import Household, Visit
from doorstep.registry.tests.conftest import make_house

pytestmark = pytest.mark.browser

HERE = {
    "longitude": 118.6032,
    "latitude": 24.9071,
    "accuracy": 8,
}  # inside grid A (118.60–118.61, 24.90–24.91)


@pytest.fixture
def household(world):
    """A household of grid A (officer_a's) whose visit is overdue: it is on today's list."""
    house = make_house(world.grid_a)
    household = registry_services.create_household(house=house, household_no="350503201")
    Household.objects.filter(pk=household.pk).update(
        next_visit_due=timezone.localdate() - dt.timedelta(days=3)
    )
    return household


def _phone(chromium, **extra):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation=HERE,
        permissions=["geolocation"],
        **extra,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _workspace(context, origin: str, watch: Watch, username: str = "officer_a", service_worker: bool = True):
    page = sign_in(context, origin, watch, username)
    page.goto(f"{origin}/m/")
    page.locator("body[data-ready=device]").wait_for()  # the device is enrolled: records can be sealed
    if service_worker:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    return page


def _photo_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1200), (90, 140, 200)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _badge(page) -> str:
    return page.locator("[data-testid=queue-badge]").inner_text()


def _wait_badge(page, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=queue-badge]').textContent === '{count}'",
        timeout=TIMEOUT_MS,
    )


def _toast(page, text: str) -> None:
    page.wait_for_function(
        "(text) => document.getElementById('m-toast').textContent === text && !document.getElementById('m-toast').hidden",
        arg=text,
    )


def _go_offline(context, page) -> None:
    context.set_offline(True)
    page.wait_for_function("() => document.getElementById('m-conn').textContent === '离线'")


def _check(watch: Watch, server: str) -> None:
    outside = [
        u
        for u in watch.requests
        if urlsplit(u).scheme not in {"data", "blob"} and urlsplit(u).netloc != server
    ]
    assert not outside, outside
    assert not watch.page_errors, watch.page_errors


def test_a_visit_and_a_patrol_recorded_offline_are_stored_exactly_once(
    world, household, live_server, chromium
):
    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, origin, watch)
    officer = world.users["officer_a"]
    _go_offline(context, page)

    # A visit: the overdue household on today's list opens the form prefilled.
    page.locator(f"[data-household='{household.pk}']").click()
    assert page.locator("#visit-household").input_value() == str(household.pk)
    page.locator("[data-testid=visit-submit]").click()
    assert page.locator("#visit-findings + .invalid-feedback").inner_text() == "请填写走访情况"
    page.fill("#visit-findings", "户主在家，家中无异常；提醒注意用电安全")
    page.set_input_files(
        "#visit-photo", files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": _photo_bytes()}]
    )
    page.locator("[data-testid=visit-submit]").click()
    _toast(page, "已保存到本机，待发送")
    _wait_badge(page, 1)

    # A patrol begun three minutes ago (a finished patrol lasts at least a minute; the test does not wait it).
    page.locator("[data-testid=record-patrol]").click()
    page.evaluate(
        """() => {
          const d = new Date(Date.now() - 3 * 60000), pad = (n) => String(n).padStart(2, "0");
          document.getElementById("patrol-started").value =
            `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
        }"""
    )
    page.select_option("#patrol-community", str(world.c1.pk))
    page.select_option("#patrol-grid", str(world.grid_a.pk))
    page.fill("#patrol-participants", "2")
    page.locator("[data-testid=patrol-start]").click()
    page.locator("[data-testid=patrol-running]").wait_for()
    # Walk east, about 20 m every few seconds (the page keeps at most one fix every 2 s).
    for step in range(1, 5):
        page.wait_for_timeout(2300)
        context.set_geolocation({"latitude": 24.9071, "longitude": 118.6032 + 0.0002 * step, "accuracy": 8})
    page.wait_for_function("() => Number(document.getElementById('patrol-fixes').textContent) >= 4")
    # The first fix (where the patrol began) may or may not be kept, and the last move may still be on its way:
    # the count is read once it has stood still for longer than the gap between two fixes.
    fixes, since = -1, 0.0
    while since < 2.5:
        now = int(page.locator("[data-testid=patrol-fixes]").inner_text())
        since = since + 0.5 if now == fixes else 0.0
        fixes = now
        page.wait_for_timeout(500)
    page.select_option("#finding-kind", "hazard")
    page.fill("#finding-note", "西福路12号楼道堆放杂物")
    page.locator("[data-testid=finding-submit]").click()
    _toast(page, "已保存到本机，待发送")
    page.fill("#patrol-summary", "沿西福路巡逻，发现一处隐患")
    page.locator("[data-testid=patrol-finish]").click()
    page.locator("#form-patrol-start").wait_for()
    # visit, start, the points up to the finding, the finding, the rest of the points, finish
    waiting = int(_badge(page))
    assert waiting >= 5
    assert Visit.objects.count() == 0 and Patrol.objects.count() == 0  # nothing reached the server

    # The app is closed and opened again, still offline: every record is still there.
    response = page.reload()
    assert response is not None and response.from_service_worker
    _wait_badge(page, waiting)
    page.locator("[data-testid=tab-queue]").click()
    assert page.locator("#queue-list [data-state=waiting]").count() == waiting
    page.screenshot(path=str(SCREENSHOTS / "mobile-queue-offline.png"))
    # Only sealed records are kept: nothing of the visit's text is readable in the page's database.
    stored = page.evaluate(
        """async () => {
          const names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith("doorstep-m-u"));
          const db = await new Promise((ok, ko) => { const r = indexedDB.open(names[0]); r.onsuccess = () => ok(r.result); r.onerror = ko; });
          const items = await new Promise((ok) => { const r = db.transaction("items").objectStore("items").getAll(); r.onsuccess = () => ok(r.result); });
          db.close();
          return JSON.stringify(items);
        }"""
    )
    assert "提醒注意用电安全" not in stored and "楼道堆放杂物" not in stored and "沿西福路巡逻" not in stored
    assert "118.6" not in stored

    # Back online: everything is sent, in order, once.
    context.set_offline(False)
    _wait_badge(page, 0)
    page.screenshot(path=str(SCREENSHOTS / "mobile-queue-sent.png"))

    visit = Visit.objects.get()
    assert visit.household_id == household.pk and visit.visited_by_id in {officer.pk, officer.staff_id}
    assert "用电安全" in visit.findings
    with Image.open(visit.photo.open("rb")) as image:
        assert max(image.size) <= 1600  # downscaled in the page before it was sealed
    patrol = Patrol.objects.get()
    assert patrol.status == PatrolStatus.DONE and patrol.community_id == world.c1.pk
    assert patrol.summary == "沿西福路巡逻，发现一处隐患"
    assert TrackPoint.objects.filter(patrol=patrol).count() == fixes
    assert Finding.objects.get(patrol=patrol).note == "西福路12号楼道堆放杂物"
    items = SyncItem.objects.filter(user=officer)
    assert items.count() == waiting and set(items.values_list("status", flat=True)) == {ItemStatus.APPLIED}

    context.close()
    _check(watch, server)


def test_a_lost_answer_is_sent_again_and_stored_once(world, household, live_server, chromium):
    """The first POST of a record reaches the server (it is applied) but the page sees the connection drop;
    the page sends the same record again and gets the stored answer. Playwright's routing does not reliably
    see requests of a page its service worker controls, so this context runs without the service worker
    (it plays no part in sending)."""
    origin = live_server.url
    server = urlsplit(origin).netloc
    watch = Watch()
    context = _phone(chromium, service_workers="block")
    page = _workspace(context, origin, watch, service_worker=False)
    calls = []

    def lose_first_answer(route):
        calls.append(route.request.post_data_json["id"])
        if len(calls) == 1:
            route.fetch()  # the server applies it…
            route.abort("connectionreset")  # …but the answer never arrives
        else:
            route.continue_()

    page.route("**/m/api/items", lose_first_answer)
    page.locator(f"[data-household='{household.pk}']").click()
    assert page.locator("#visit-household").input_value() == str(household.pk)
    page.fill("#visit-findings", "回访：隐患已整改")
    page.locator("[data-testid=visit-submit]").click()
    _toast(page, "已保存到本机，待发送")  # the first answer was lost: the record waits…
    _wait_badge(page, 0)  # …and goes again after a short backoff

    assert len(calls) >= 2 and len(set(calls)) == 1  # the same record, sent again
    assert Visit.objects.filter(household=household).count() == 1
    item = SyncItem.objects.get(client_id=calls[0])
    assert item.status == ItemStatus.APPLIED
    context.close()
    # The dropped answer is the one failed request.
    watch.failed = [f for f in watch.failed if "/m/api/items" not in f]
    _check(watch, server)


def test_a_revoked_phone_has_its_queue_refused_and_wiped(world, household, live_server, chromium):
    origin = live_server.url
    server = urlsplit(origin).netloc
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, origin, watch)
    officer = world.users["officer_a"]
    _go_offline(context, page)
    page.locator(f"[data-household='{household.pk}']").click()
    page.fill("#visit-findings", "离线记录，手机随后丢失")
    page.locator("[data-testid=visit-submit]").click()
    _wait_badge(page, 1)

    # The phone is reported lost: the administrator signs the officer out everywhere.
    account_services.revoke_sessions(officer, by=world.users["admin"], reason="手机丢失")

    # Back online, the page finds its session gone: it asks for a new login and keeps the record.
    context.set_offline(False)
    page.locator("[data-testid=m-relogin]").wait_for()
    assert "请重新登录" in page.locator("[data-testid=m-relogin]").inner_text()
    assert page.locator("[data-testid=m-relogin] a").get_attribute("href") == "/accounts/login/?next=/m/"
    assert _badge(page) == "1"

    # The officer signs in again and opens the workspace: the queued record is refused.
    sign_in(context, origin, watch, "officer_a").close()
    page.goto(f"{origin}/m/")
    page.locator("[data-testid=m-revoked]").wait_for()
    assert page.locator("[data-testid=m-revoked]").inner_text() == "本机已被注销，未发送的记录已清除"
    _wait_badge(page, 0)
    page.locator("[data-testid=tab-queue]").click()
    assert page.locator("#queue-list [data-item]").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "mobile-revoked.png"))
    assert Visit.objects.count() == 0
    assert not SyncItem.objects.filter(user=officer).exists()
    context.close()
    _check(watch, server)


def test_a_conflict_waits_for_the_officers_choice_and_logout_clears_the_phone(world, live_server, chromium):
    origin = live_server.url
    server = urlsplit(origin).netloc
    watch = Watch()
    context = _phone(chromium)
    page = _workspace(context, origin, watch)
    officer = world.users["officer_a"]
    # A household of grid B (officer_b's), as if the lookup had offered it: not officer_a's to visit.
    elsewhere = registry_services.create_household(house=make_house(world.grid_b), household_no="350503202")

    def visit(text: str) -> None:
        page.evaluate(
            "(id) => document.dispatchEvent(new CustomEvent('doorstep:visit', {detail: {household: id, label: '西福2'}}))",
            elsewhere.pk,
        )
        page.fill("#visit-findings", text)
        page.locator("[data-testid=visit-submit]").click()

    visit("走访一户")
    _toast(page, "有冲突，请在“待发送”中处理")
    _wait_badge(page, 1)
    page.locator("[data-testid=tab-queue]").click()
    card = page.locator("#queue-list [data-state=conflict]")
    assert "不在您的网格" in card.locator("[data-testid=queue-detail]").inner_text()
    assert card.locator("[data-option=discard]").inner_text() == "放弃这条记录"
    assert card.locator("[data-option=retry]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "mobile-queue-conflict.png"))

    # Logging out with a record still waiting asks first; "cancel" keeps everything.
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.locator("[data-testid=m-logout]").click()
    for _ in range(100):
        if dialogs:
            break
        page.wait_for_timeout(100)
    assert dialogs == ["还有1条记录未发送，退出将清除，确定退出？"]
    assert page.url == f"{origin}/m/" and _badge(page) == "1"

    # The officer discards it: the server keeps the decision, nothing is saved.
    card.locator("[data-option=discard]").click()
    _wait_badge(page, 0)
    item = SyncItem.objects.get(user=officer)
    assert item.status == ItemStatus.DISCARDED and not Visit.objects.exists()

    # Another conflict waits; this time the officer logs out anyway.
    visit("再走访一户")
    _wait_badge(page, 1)
    page.once("dialog", lambda d: d.accept())
    page.locator("[data-testid=m-logout]").click()
    page.wait_for_url(f"{origin}/accounts/login/**")
    device = Device.objects.get(user=officer)
    assert device.revoked_at is not None  # its queue could never be sent again
    names = page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)")
    assert not [n for n in names if n.startswith("doorstep-m-")]
    context.close()
    _check(watch, server)


def test_clock_in_from_the_today_tab_sends_the_phones_position(world, live_server, chromium):
    origin = live_server.url
    server = urlsplit(origin).netloc
    watch = Watch()
    context = _phone(chromium)
    context.set_geolocation({"longitude": world.room_c1.lng, "latitude": world.room_c1.lat, "accuracy": 10})
    page = _workspace(context, origin, watch)

    page.locator("#today-duty [data-testid=clock-in]").click()

    _toast(page, "已发送")
    attendance = Attendance.objects.get(staff=world.users["officer_a"].staff)
    assert attendance.room_id == world.room_c1.pk and attendance.clock_out_at is None
    # Today's work is reloaded after the record was saved: the duty card says so, with the clock-in time, the
    # room clocked in at and not the other room's shift; 签到 is off until 签退.
    page.wait_for_function("() => document.getElementById('today-duty').textContent.includes('已签到')")
    # A shift later today at another room of the station: while clocked in here, it is not this card's time.
    later = timezone.localtime() + dt.timedelta(hours=3)
    later = later.replace(minute=17 if later.minute != 17 else 23, second=0, microsecond=0)
    duty_services.create_shift(
        room=PoliceRoom.objects.get(name="东星警务室"),
        staff=world.users["officer_a"].staff,
        starts_at=later,
        ends_at=later + dt.timedelta(hours=2),
        by=world.director,
    )
    page.reload()
    page.wait_for_function("() => document.getElementById('today-duty').textContent.includes('已签到')")
    card = page.inner_text("#today-duty")
    assert "西福警务室" in card and timezone.localtime(attendance.clock_in_at).strftime("%H:%M") in card
    assert later.strftime("%H:%M") not in card
    assert page.locator("#today-duty [data-testid=clock-in]").is_disabled()
    assert page.locator("#today-duty [data-testid=clock-out]").is_enabled()
    context.close()
    _check(watch, server)
