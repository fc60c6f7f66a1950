"""The pictures of docs/user/resident.md (the public portal on a phone, not signed in), in the order the guide
shows them. The tour sends one tip of its own and looks it up by its receipt code; nothing else is changed."""

from __future__ import annotations

from doorstep.manual.tour import Shot


def _type_address(page, ctx) -> None:
    page.get_by_label("您的住址").press_sequentially("云山路", delay=80)
    page.locator("[data-officer-suggestions] a").first.wait_for()


def _open_card(page, ctx) -> None:
    page.locator("[data-officer-suggestions] a").first.click()
    page.wait_for_url("**/portal/a/**")


def _fill_tip(page, ctx) -> None:
    page.get_by_label("线索内容").fill("西福社区云山路口夜间常有人撬电动自行车锁，已发生多次。")
    page.get_by_label("所在社区").select_option(label="西福社区")
    page.get_by_label("地址", exact=True).fill("云山路1号世茂御龙小区北门")
    page.get_by_label("匿名举报（不留姓名和电话）").check()


def _send_tip(page, ctx) -> None:
    page.get_by_role("button", name="提交").click()
    page.get_by_text("您的回执码").wait_for()
    ctx.data["receipt"] = page.locator("[data-testid=receipt-code]").inner_text().strip()


def _look_up(page, ctx) -> None:
    page.get_by_label("回执码").fill(ctx.data["receipt"])
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state("networkidle")


def _fill_dispute(page, ctx) -> None:
    page.get_by_label("事情经过").fill("楼上住户装修，晚上十点以后仍在施工，噪音很大，多次沟通没有结果。")
    page.get_by_label("对方当事人").fill("楼上住户")
    page.get_by_label("所在社区").select_option(label="西福社区")
    page.get_by_label("姓名").fill("林秀英")
    page.get_by_label("手机号码").fill("13800000002")


def _choose_room(page, ctx) -> None:
    page.get_by_label("选择警务室").select_option(label="西福警务室")
    page.get_by_role("button", name="查看可约时段").click()
    page.wait_for_load_state("networkidle")


def _survey_token(ctx) -> None:
    ctx.data["survey"] = ctx.django(
        "from doorstep.portal.models import SurveyGrid;"
        "g = SurveyGrid.objects.filter(survey__status='open').order_by('grid__code', 'pk').first();"
        "print(g.token)"
    ).splitlines()[-1]


def _open_survey(page, ctx) -> None:
    page.goto(ctx.url(f"/portal/s/{ctx.data['survey']}/"))
    page.wait_for_load_state("networkidle")


SHOTS: list[Shot] = [
    Shot(
        "resident/home",
        "/portal/",
        labels=("网上警务室", "紧急情况请拨打110", "找民警", "我要办事", "查进度", "公告宣传"),
        phone=True,
    ),
    Shot(
        "resident/find",
        "/portal/officer/",
        labels=("找民警", "您的住址", "查找"),
        act=_type_address,
        phone=True,
    ),
    Shot(
        "resident/card",
        "",
        labels=("我的社区民警", "社区民警", "工作电话", "打电话", "所属派出所", "值班电话"),
        act=_open_card,
        phone=True,
    ),
    Shot(
        "resident/services",
        "/portal/services/",
        labels=("我要办事", "线索举报", "办事咨询", "纠纷调解", "预约办事", "警务室可办业务"),
        highlight="线索举报",
        phone=True,
    ),
    Shot(
        "resident/tip",
        "/portal/report/tip/",
        labels=(
            "我要办事",
            "线索举报",
            "线索内容",
            "所在社区",
            "地址",
            "发生时间",
            "匿名举报（不留姓名和电话）",
            "提交",
        ),
        act=_fill_tip,
        highlight="css=form button[type=submit]",
        phone=True,
        full_page=True,
    ),
    Shot(
        "resident/receipt",
        "",
        labels=("提交成功", "您的回执码", "查询办理进度"),
        act=_send_tip,
        phone=True,
    ),
    Shot(
        "resident/status",
        "/portal/receipt/",
        labels=("查进度", "回执码", "查询", "类别", "提交时间"),
        act=_look_up,
        phone=True,
    ),
    Shot(
        "resident/dispute",
        "/portal/report/dispute/",
        labels=("我要办事", "纠纷调解", "事情经过", "对方当事人", "姓名", "手机号码", "提交"),
        act=_fill_dispute,
        highlight="css=form button[type=submit]",
        phone=True,
        full_page=True,
    ),
    Shot(
        "resident/book",
        "/portal/book/",
        labels=(
            "我要办事",
            "预约办事",
            "选择警务室",
            "查看可约时段",
            "预约时段（未来14天）",
            "办理业务",
            "短信验证码",
            "获取验证码",
            "确认预约",
        ),
        act=_choose_room,
        phone=True,
    ),
    Shot(
        "resident/notices",
        "/portal/notices/",
        labels=("公告宣传", "通知公告", "宣传文章", "宣传手册下载", "宣传活动日历"),
        phone=True,
    ),
    Shot(
        "resident/survey",
        "/portal/",
        labels=("问卷匿名作答，手机号只用于验证，不会保存号码。", "获取验证码", "提交问卷"),
        before=_survey_token,
        act=_open_survey,
        highlight="获取验证码",
        phone=True,
    ),
]
