"""The pictures of docs/user/officer.md, in the order the guide shows them.

The community officer 刘芳 (demo login `officer`, 西福第1网格): the desktop home page and visit to-do list, a visit
registered at the desk, then the phone workspace /m/ — today's work, a visit recorded without a connection, the
queue that holds it until the connection returns, the lookup, the map — and an alarm dispatched to the officer
(pressed on a demo button of the officer's station, dispatched to the officer, closed again at the end)."""

from __future__ import annotations

from doorstep.manual.shoot import sign_in
from doorstep.manual.tour import Shot

DEVICE = "KU00008-01"  # the button at 丰泽区教育局 (the officer's station; no other tour presses it)
WHERE = {"latitude": 24.896988, "longitude": 118.577283, "accuracy": 15}  # at 云山路5号, in the grid


def _visit_first(page, ctx) -> None:
    """From 走访待办, open the first household's 登记走访 form and fill it in."""
    page.locator("a.btn", has_text="走访").first.click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("走访情况").fill("入户核实在住人员3人，与登记一致；提醒关好门窗、防范电信诈骗。")


def _map(page, ctx) -> None:
    """The phone allows the workspace its position: the map shows where the officer stands."""
    page.context.grant_permissions(["geolocation"], origin=ctx.base)
    page.context.set_geolocation(WHERE)
    page.get_by_test_id("tab-map").click()
    page.wait_for_timeout(800)
    page.get_by_text("定位到我", exact=True).click()
    page.wait_for_timeout(800)


def _today(page, ctx) -> None:
    page.get_by_test_id("today-loading").wait_for(state="hidden")


def _offline_switch(ctx):
    """While the phone is "offline" the alarm socket's reconnection is held back (Chromium would log each
    failed attempt as an error); online, it reaches the server as always."""

    def handler(ws) -> None:
        if not ctx.data.get("offline"):
            ws.connect_to_server()

    return handler


def _lookup(page, ctx) -> None:
    page.get_by_test_id("today-loading").wait_for(state="hidden")
    page.get_by_test_id("tab-lookup").click()
    page.get_by_test_id("lookup-q").fill("云山路5号")
    page.get_by_test_id("lookup-go").click()
    page.get_by_test_id("lookup-results").get_by_text("走访", exact=True).first.wait_for(state="visible")


def _record_offline(page, ctx) -> None:
    """Lose the connection, then open 走访 on the house found and fill the visit in."""
    page.route_web_socket("**/ws/alarms/", _offline_switch(ctx))
    ctx.data["offline"] = True
    page.context.set_offline(True)
    page.get_by_test_id("m-conn").filter(has_text="离线").wait_for(state="visible")
    page.get_by_test_id("lookup-results").get_by_text("走访", exact=True).first.click()
    page.locator("#visit-findings").fill("走访核实出租屋住户2人，居住证有效；宣传防盗、防诈骗。")


def _save_offline(page, ctx) -> None:
    page.get_by_test_id("visit-submit").click()
    page.wait_for_timeout(800)
    page.get_by_test_id("tab-queue").click()
    page.get_by_test_id("queue-list").locator("*").first.wait_for(state="visible")


def _send(page, ctx) -> None:
    ctx.data["offline"] = False
    page.context.set_offline(False)
    page.get_by_test_id("m-conn").filter(has_text="在线").wait_for(state="visible")
    if page.get_by_test_id("queue-send").is_visible():
        page.get_by_test_id("queue-send").click()
    page.get_by_test_id("queue-empty").wait_for(state="visible")


def _press(ctx) -> None:
    """Someone presses the demo button at 丰泽区教育局: an alarm comes into the station's console."""
    ctx.press(DEVICE)


def _dispatch(page, ctx) -> None:
    """The workspace is open (and was tapped, so it may vibrate); the dispatcher dispatches the alarm to the
    officer from the console, in a browser of their own: the phone rings over the WebSocket."""
    page.get_by_test_id("today-loading").wait_for(state="hidden")
    page.get_by_test_id("tab-today").click()
    page.wait_for_function("document.documentElement.dataset.alarmSocket === 'live'")
    found = ctx.django(
        "from doorstep.alarms.models import Alarm; from doorstep.accounts.models import User;"
        f"a = Alarm.objects.filter(device__device_id='{DEVICE}').exclude(state='closed').latest('id');"
        "print(a.pk, User.objects.get(username='officer').pk)"
    )
    alarm, officer = found.splitlines()[-1].split()
    other = page.context.browser.new_context()
    try:
        desk = other.new_page()
        desk.goto(ctx.url("/accounts/login/"))
        sign_in(desk, "dispatcher")
        token = next(c["value"] for c in other.cookies() if c["name"] == "csrftoken")
        desk.request.post(
            ctx.url(f"/alarms/{alarm}/dispatch/"),
            form={"officer": officer, "csrfmiddlewaretoken": token},
            headers={"Referer": ctx.url("/alarms/console/"), "X-CSRFToken": token},
        )
    finally:
        other.close()
    page.locator("#dispatch-banner").get_by_text("收到", exact=True).wait_for(state="visible")


def _receive(page, ctx) -> None:
    page.locator("#dispatch-banner").get_by_text("收到", exact=True).click()
    page.wait_for_timeout(1500)


def _close_alarm(ctx) -> None:
    """The tour's own alarm is closed again, so that no other tour's console finds it open."""
    ctx.django(
        "from doorstep.alarms.models import Alarm; from doorstep.alarms import services;"
        "from doorstep.accounts.models import User;"
        "[services.close(a, disposition='test', note='说明书截图', by=User.objects.get(username='dispatcher'))"
        f" for a in Alarm.objects.filter(device__device_id='{DEVICE}').exclude(state='closed')]"
    )


SHOTS: list[Shot] = [
    Shot(
        "officer/home",
        "/",
        labels=("走访待办", "手机工作台", "我的网格", "打开手机工作台", "矛盾调解"),
        highlight="走访待办",
        full_page=True,
    ),
    Shot(
        "officer/todo",
        "/registry/todo/",
        labels=("走访待办", "走访待办：逾期与7天内到期", "走访"),
        highlight="css=a.btn:has-text('走访')",
    ),
    Shot(
        "officer/visit",
        "",
        act=_visit_first,
        labels=("登记走访", "走访时间", "走访情况", "现场照片（可选）", "下次走访期限", "查看户详情"),
        highlight="css=button[type=submit]:has-text('登记走访')",
    ),
    Shot(
        "officer/m-today",
        "/m/",
        act=_today,
        phone=True,
        labels=("移动警务", "在线", "今日", "走访", "记录", "查询", "地图", "待发送"),
    ),
    Shot(
        "officer/m-lookup",
        "",
        act=_lookup,
        phone=True,
        labels=("查询", "姓名、身份证后几位、电话或地址", "房屋", "走访"),
        highlight="css=[data-testid=lookup-results] :text-is('走访')",
    ),
    Shot(
        "officer/m-record",
        "",
        act=_record_offline,
        phone=True,
        labels=(
            "离线",
            "今日",
            "查询",
            "记录",
            "走访",
            "入户走访",
            "走访户",
            "走访情况",
            "走访时间",
            "拍照或选择照片",
            "保存走访记录",
        ),
        highlight="保存走访记录",
    ),
    Shot(
        "officer/m-queue",
        "",
        act=_save_offline,
        phone=True,
        labels=("本机待发送的记录（已加密保存，联网后自动发送）", "立即发送", "待发送"),
        highlight="立即发送",
    ),
    Shot("officer/m-sent", "", act=_send, phone=True, labels=("没有待发送的记录", "在线"), settle_ms=3800),
    Shot(
        "officer/m-map",
        "/m/",
        act=_map,
        phone=True,
        labels=("地图", "定位到我"),
        wait_for="#tab-map canvas",
        settle_ms=2500,
    ),
    Shot(
        "officer/m-dispatch",
        "/m/",
        before=_press,
        act=_dispatch,
        phone=True,
        labels=("新派警", "今日", "收到", "到场", "派警"),
        highlight="css=#dispatch-banner :text-is('收到')",
    ),
    Shot(
        "officer/m-received",
        "",
        act=_receive,
        phone=True,
        labels=("已收到", "到场"),
        highlight="css=#dispatch-banner :text-is('到场')",
    ),
    Shot(
        "officer/mine",
        "/alarms/mine/",
        labels=("我的出警", "开启响铃和振动", "治保负责人", "导航", "本系统地图", "到场"),
        highlight="开启响铃和振动",
    ),
    Shot(
        "officer/field-days",
        "/duty/field-days/",
        before=_close_alarm,
        labels=(
            "警务室值守",
            "下沉社区",
            "下沉社区记录",
            "上一周",
            "下一周",
            "日期",
            "类型",
            "时间",
            "内容",
            "定位",
        ),
    ),
]
