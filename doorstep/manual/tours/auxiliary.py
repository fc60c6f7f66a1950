"""The pictures of docs/user/auxiliary.md, in the order the guide shows them.

The auxiliary 翁磊秀 (demo login `auxiliary`, 西福第1网格, 西福警务室): the home page, the visit to-do list and a
visit form sent empty (the red field errors, nothing saved), clocking in at the police room on the phone (and out
again at the end, so the duty board is as before), the duty board, a 户籍业务 taken in at the service desk with
its receipt (a record of the tour's own), the phone workspace and the alarms dispatched to the auxiliary."""

from __future__ import annotations

from doorstep.manual.tour import Shot

ROOM = {"latitude": 24.892375, "longitude": 118.581952, "accuracy": 10}  # 西福警务室, inside its geofence


def _id_number(body: str) -> str:
    """A fictional citizen ID with its GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _open_visit_empty(page, ctx) -> None:
    """Open the first household's 登记走访 and press the button with 走访情况 left empty: nothing is saved."""
    page.locator("a.btn", has_text="走访").first.click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="登记走访").click()
    page.wait_for_load_state("networkidle")


def _at_the_room(page, ctx) -> None:
    """At 西福警务室, whatever the hour: the seed may have clocked the auxiliary in for a shift under way (that
    attendance is closed first), and the room chosen by default is the one of the shift now or next, which
    may be another room."""
    page.context.grant_permissions(["geolocation"], origin=ctx.base)
    page.context.set_geolocation(ROOM)
    page.reload()
    page.wait_for_load_state("networkidle")
    _clock_out(page, ctx)
    page.locator("#clock-room").select_option(label="西福警务室")


def _clock_in(page, ctx) -> None:
    page.get_by_test_id("clock-in").click()
    page.get_by_test_id("clock-open").wait_for(state="visible")


def _clock_out(page, ctx) -> None:
    """Back to how the demo was: the tour's own clock-in is closed."""
    if page.get_by_test_id("clock-out").count():
        page.get_by_test_id("clock-out").click()
        page.get_by_test_id("clock-in").wait_for(state="visible")


def _intake(page, ctx) -> None:
    page.get_by_role("link", name="受理户籍业务").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("业务类型").select_option(label="居住证申领")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    boxes = page.locator("input[type=checkbox][name=received_documents]").locator("visible=true")
    for i in range(max(boxes.count() - 1, 0)):  # one document missing: it goes on the list of 待补材料
        boxes.nth(i).check()
    page.get_by_label("姓名").fill("陈晓明")
    page.get_by_label("公民身份号码").fill(_id_number("35050319900307123"))
    page.get_by_label("联系电话").fill("13800138000")
    page.get_by_label("住址").fill("城东街道云山路5号")


def _submit(page, ctx) -> None:
    page.get_by_test_id("intake-submit").click()
    page.get_by_test_id("receipt-no").wait_for(state="visible")


def _back_to_item(page, ctx) -> None:
    page.get_by_role("link", name="返回事项").click()
    page.wait_for_load_state("networkidle")


def _today(page, ctx) -> None:
    page.get_by_test_id("today-loading").wait_for(state="hidden")


SHOTS: list[Shot] = [
    Shot(
        "auxiliary/home",
        "/",
        labels=("走访待办", "手机工作台", "我的网格", "搭档", "警务室"),
        highlight="走访待办",
        full_page=True,
    ),
    Shot(
        "auxiliary/todo",
        "/registry/todo/",
        labels=("走访待办", "走访待办：逾期与7天内到期", "走访"),
        highlight="css=a.btn:has-text('走访')",
    ),
    Shot(
        "auxiliary/visit-error",
        "",
        act=_open_visit_empty,
        labels=(
            "登记走访",
            "走访时间",
            "走访情况",
            "下次走访期限",
            "该字段是必填项。",
            "请修改标红的项目后重新提交。",
        ),
        highlight="css=.invalid-feedback",
    ),
    Shot(
        "auxiliary/clock",
        "/duty/clock/",
        act=_at_the_room,
        phone=True,
        labels=("警务室值守", "值守签到", "值守人员：", "警务室", "签到（读取定位）"),
        highlight="签到（读取定位）",
    ),
    Shot("auxiliary/clocked", "", act=_clock_in, phone=True, labels=("签退", "最近签到"), highlight="签退"),
    Shot(
        "auxiliary/board",
        "/duty/",
        labels=("警务室值守", "警务室实时看板", "在岗", "迟到", "无人在岗", "值守签到", "排班"),
    ),
    Shot(
        "auxiliary/clock-out-press",
        "/duty/clock/",
        phone=True,
        labels=("值守签到", "签退"),
        highlight="签退",
    ),
    Shot(
        "auxiliary/clock-out",
        "",
        act=_clock_out,
        phone=True,
        labels=("值守签到", "签到（读取定位）", "最近签到"),
    ),
    Shot(
        "auxiliary/desk",
        "/desk/",
        labels=("服务台", "受理户籍业务", "受理警情/案件", "受理矛盾纠纷", "今日受理", "未办结", "超期"),
        highlight="受理户籍业务",
    ),
    Shot(
        "auxiliary/intake",
        "",
        act=_intake,
        labels=("受理户籍业务", "业务类型", "已收材料", "姓名", "公民身份号码", "联系电话", "受理并生成回执"),
        highlight="受理并生成回执",
        full_page=True,
    ),
    Shot(
        "auxiliary/receipt",
        "",
        act=_submit,
        labels=("回执号", "打印回执", "返回事项", "待补", "办理时限"),
        highlight="打印回执",
    ),
    Shot(
        "auxiliary/item",
        "",
        act=_back_to_item,
        labels=("回执", "申请人", "业务类型", "办理期限", "承办人", "材料清单", "办理记录", "保存材料"),
        full_page=True,
    ),
    Shot("auxiliary/m-today", "/m/", act=_today, phone=True, labels=("移动警务", "今日", "记录", "待发送")),
    Shot(
        "auxiliary/mine",
        "/alarms/mine/",
        labels=("我的出警", "开启响铃和振动"),
        highlight="开启响铃和振动",
    ),
]
