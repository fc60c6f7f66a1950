"""The pictures of docs/user/dispatcher.md, in the order the guide shows them."""

from __future__ import annotations

from doorstep.manual.tour import Ctx, Shot

# The demo button the tour presses: the outpatient hall of 泉州市第2医院 (an HTTP button of 城东派出所). The tour
# closes the alarm it made (as 测试) before it ends, so no other role's console keeps it.
DEVICE = "KU00004-01"
UNIT = "泉州市第2医院"

# The video worker is not running while the tour takes its pictures: give each camera the picture the worker
# would keep (a frame of its demo video), so the console and the patrol desk show one, as on a live system.
FRAMES = """
import cv2
from doorstep.video import frames
from doorstep.video.models import Camera
for camera in Camera.objects.filter(stream_url__startswith="file://"):
    capture = cv2.VideoCapture(camera.stream_url.removeprefix("file://"))
    ok, image = False, None
    for _ in range(20):
        ok, image = capture.read() if capture.isOpened() else (False, None)
    capture.release()
    if ok:
        frames.write(camera.pk, cv2.imencode(".jpg", image)[1].tobytes())
print("ok")
"""


def press(ctx: Ctx) -> None:
    ctx.django(FRAMES)
    ctx.press(DEVICE)


def card(page):
    return page.locator("[data-testid=alarm]").filter(has_text=UNIT).first


def wait_card(page, ctx: Ctx) -> None:
    card(page).wait_for(state="visible")
    card(page).locator("[data-testid=officer-select]").and_(page.locator(":enabled")).wait_for()


def acknowledge(page, ctx: Ctx) -> None:
    wait_card(page, ctx)
    card(page).get_by_role("button", name="确认", exact=True).click()
    card(page).get_by_text("已确认").wait_for()
    who = card(page).locator("[data-testid=officer-select]").and_(page.locator(":enabled"))
    who.wait_for()
    if not who.input_value():  # the grid has no officer to preselect: choose the first community officer
        first = who.locator("option", has_text="社区民警").first.get_attribute("value")
        who.select_option(first)


def dispatch(page, ctx: Ctx) -> None:
    card(page).get_by_role("button", name="派警", exact=True).click()
    card(page).get_by_role("button", name="代为登记到场").wait_for()


def arrive_and_fill(page, ctx: Ctx) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    card(page).get_by_role("button", name="代为登记到场").click()
    card(page).locator("[data-testid=no-fix]").wait_for()
    card(page).get_by_label("结案").select_option(label="测试")
    card(page).get_by_placeholder("处置说明").fill("演示：调度台测试按钮，现场正常")


def close_and_open_health(page, ctx: Ctx) -> None:
    card(page).get_by_role("button", name="结案", exact=True).click()
    card(page).wait_for(state="detached")
    page.goto(ctx.url("/alarms/devices/health/"))


def choose_camera(page, ctx: Ctx) -> None:
    page.locator("#camera-list, [data-testid=camera-list]").first.wait_for(state="attached")
    page.get_by_text("丰泽区第1实验小学门口").first.click()
    page.get_by_role("button", name="广播喊话").and_(page.locator(":enabled")).wait_for()
    page.wait_for_function(
        "() => { const i = document.getElementById('viewer-img'); return i && !i.hidden && i.naturalWidth > 0; }"
    )


def open_broadcast(page, ctx: Ctx) -> None:
    page.get_by_role("button", name="广播喊话").click()
    dialog = page.locator("#broadcast-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("[data-testid=broadcast-presets] button").first.wait_for()
    dialog.locator("[data-testid=broadcast-presets] button").first.click()


def send_broadcast(page, ctx: Ctx) -> None:
    dialog = page.locator("#broadcast-dialog")
    dialog.get_by_role("button", name="发送").click()
    dialog.locator("[data-testid=broadcast-deliveries] tbody tr").first.wait_for()


SHOTS: list[Shot] = [
    Shot(
        "dispatcher/console",
        "/alarms/console/",
        labels=("报警调度", "报警调度台", "开启提示音", "实时连接正常", "报警位置", "设备告警"),
        highlight="开启提示音",
        act=lambda page, ctx: page.get_by_text("实时连接正常").wait_for(),
    ),
    Shot(
        "dispatcher/alarm",
        "/alarms/console/",
        before=press,
        labels=("确认", "派警", "治保负责人", "网格民警", "到场时限", "附近摄像机（500米内）"),
        act=wait_card,
        highlight="css=[data-testid=alarm] [data-testid=ack]",
        settle_ms=800,
    ),
    Shot(
        "dispatcher/dispatch",
        "",
        labels=("派警", "网格民警", "地图"),
        act=acknowledge,
        highlight="css=[data-testid=alarm] [data-testid=dispatch]",
    ),
    Shot(
        "dispatcher/arrive",
        "",
        labels=("代为登记到场", "改派"),
        act=dispatch,
        highlight="代为登记到场",
    ),
    Shot(
        "dispatcher/close",
        "",
        labels=("无定位", "结案", "处置说明", "真实警情", "误报", "测试", "其他"),
        act=arrive_and_fill,
        highlight="css=[data-testid=alarm] [data-testid=close]",
    ),
    Shot(
        "dispatcher/health",
        "",
        labels=("设备健康", "报警设备", "演练", "在线", "离线", "未解除告警"),
        act=close_and_open_health,
    ),
    Shot(
        "dispatcher/patrol",
        "/video/patrol/",
        labels=("视频巡查", "视频巡查台", "我的巡查", "摄像机", "入侵事件", "全部入侵事件", "开启提示音"),
        highlight="丰泽区第1实验小学门口",
    ),
    Shot(
        "dispatcher/camera",
        "",
        labels=("广播喊话", "单独查看"),
        act=choose_camera,
        highlight="广播喊话",
    ),
    Shot(
        "dispatcher/broadcast",
        "",
        labels=("广播对象", "按音柱", "按分区", "预设警示语", "播报内容", "播放次数", "发送"),
        act=open_broadcast,
        clip="css=#broadcast-dialog .modal-content",
    ),
    Shot(
        "dispatcher/broadcast-sent",
        "",
        labels=("音柱", "状态", "尝试次数", "查看广播记录", "再发一条"),
        act=send_broadcast,
        clip="css=#broadcast-dialog .modal-content",
    ),
    Shot(
        "dispatcher/broadcasts",
        "/video/broadcasts/",
        labels=("广播记录", "发送人", "播报内容", "已送达", "失败", "待发送"),
    ),
]
