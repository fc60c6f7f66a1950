"""The pictures of docs/user/mediator.md, in the order the guide shows them.

The tour takes in disputes of its own (受理纠纷): on the first it records a mediation session, makes the agreement
and fills in the follow-up visit; the second it hands to a competent department. The seeded disputes other tours
rely on are only looked at, never changed."""

from __future__ import annotations

import datetime as dt

from doorstep.manual.tour import Shot

PLACE = "西福社区云山路1号世茂御龙8栋楼道"
FACTS = "楼上住户夜间装修噪音扰民，楼下住户多次上门交涉未果，双方发生口角。"


def _intake(page, kind: str, place: str, facts: str, party_a: str, party_b: str) -> None:
    page.get_by_label("社区", exact=True).select_option(label="西福社区")
    page.get_by_label("网格", exact=True).select_option(label="西福第1网格")
    page.get_by_label("纠纷类型").select_option(label=kind)
    page.get_by_label("发生地点").fill(place)
    page.get_by_label("涉及人数").fill("2")
    page.get_by_label("简要情况").fill(facts)
    page.locator("[name=p0_name]").fill(party_a)
    page.locator("[name=p0_phone]").fill("13800000001")
    page.locator("[name=p1_name]").fill(party_b)
    page.locator("[name=p1_phone]").fill("13800000002")


def _fill_intake(page, ctx) -> None:
    _intake(page, "邻里纠纷", PLACE, FACTS, "陈建国", "林秀英")


def _submit_intake(page, ctx) -> None:
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_url(lambda url: "/mediation/new/" not in url)
    ctx.data["dispute_url"] = page.url


def _fill_session(page, ctx) -> None:
    form = page.locator("[data-testid=session]")
    form.get_by_label("调解地点").fill("驻所人民调解工作室")
    form.get_by_label("参加人员").fill("陈建国、林秀英，调解员黄文")
    form.get_by_label("调解情况").fill(
        "双方陈述事实，经释法说理，楼上住户同意晚间停止施工，并就此前扰民致歉。"
    )


def _save_session(page, ctx) -> None:
    page.get_by_role("button", name="保存调解记录").click()
    page.wait_for_load_state("networkidle")


def _fill_agreement(page, ctx) -> None:
    page.get_by_role("link", name="达成协议：制作调解协议书").click()
    page.wait_for_url("**/agreement/")
    page.get_by_label("争议事项").fill("装修施工时间及噪音扰民问题。")
    page.get_by_label("各方当事人的责任").fill("楼上住户未按规定时间施工，负主要责任。")
    deadline = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    page.locator("[name=t0_content]").fill("楼上住户每日施工时间限于8:00至12:00、14:00至18:00")
    page.locator("[name=t0_manner]").fill("自行遵守，社区网格员监督")
    page.locator("[name=t0_deadline]").fill(deadline)
    page.locator("[name=t1_content]").fill("楼上住户向楼下住户书面致歉")
    page.locator("[name=t1_manner]").fill("当面递交致歉信")
    page.locator("[name=t1_deadline]").fill(deadline)


def _save_agreement(page, ctx) -> None:
    page.get_by_role("button", name="生成协议书并结案").click()
    page.wait_for_url(ctx.data["dispute_url"])
    page.wait_for_load_state("networkidle")


def _fill_follow_up(page, ctx) -> None:
    form = page.locator("[data-testid=follow-up]")
    form.get_by_label("协议履行情况").select_option(label="已履行/未再发生纠纷")
    form.get_by_label("回访情况").fill("电话回访双方，楼上住户已按约定时间施工，未再发生纠纷。")


def _filter_open(page, ctx) -> None:
    page.get_by_label("办理情况").select_option(label="办理中")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state("networkidle")


def _fill_referral(page, ctx) -> None:
    """A second dispute of the tour's own, handed to a competent department (the seeded ones stay as they are)."""
    _intake(
        page,
        "劳资纠纷",
        "西福社区通港西街3号在建工地",
        "装修工人称被拖欠工资两个月，多次向包工头讨要未果。",
        "王建华",
        "某装饰工程公司",
    )
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_url(lambda url: "/mediation/new/" not in url)
    ctx.data["referral_url"] = page.url
    form = page.locator("form[action$='/refer/']")
    form.locator("[name=body]").fill("劳动保障监察大队")
    form.locator("[name=contact]").fill("值班室")
    form.locator("[name=reason]").fill("涉及拖欠劳动报酬，需劳动保障监察部门依法处理。")
    form.get_by_label("答复期限（可选）").fill((dt.date.today() + dt.timedelta(days=7)).isoformat())


def _refer(page, ctx) -> None:
    page.locator("form[action$='/refer/'] button[type=submit]").click()
    page.get_by_text("已移交职能部门", exact=True).first.wait_for()


SHOTS: list[Shot] = [
    Shot(
        "mediator/queue",
        "/mediation/",
        labels=(
            "矛盾调解",
            "调解待办",
            "我承办的纠纷",
            "受理纠纷",
        ),
        highlight="受理纠纷",
        full_page=True,
    ),
    Shot(
        "mediator/intake",
        "/mediation/new/",
        labels=(
            "受理矛盾纠纷",
            "社区",
            "纠纷类型",
            "调解类别",
            "发生地点",
            "简要情况",
            "风险等级",
            "当事人",
            "受理",
        ),
        act=_fill_intake,
        highlight="css=button[type=submit].btn-primary",
        full_page=True,
    ),
    Shot(
        "mediator/case",
        "",
        labels=(
            "已受理，纠纷编号",
            "调解室调解中",
            "调解期限",
            "当事人",
            "记录调解",
            "调解结果",
            "上报与移交",
            "办理记录",
        ),
        act=_submit_intake,
        full_page=True,
    ),
    Shot(
        "mediator/session",
        "",
        labels=("记录调解", "调解时间", "调解地点", "参加人员", "调解情况", "保存调解记录"),
        act=_fill_session,
        highlight="保存调解记录",
        clip="css=[data-testid=session]",
    ),
    Shot(
        "mediator/session-saved",
        "",
        labels=(
            "已记录调解情况",
            "调解记录",
            "达成协议：制作调解协议书",
            "调解不成，结案",
            "上报街道",
            "移交职能部门",
        ),
        act=_save_session,
        highlight="达成协议：制作调解协议书",
    ),
    Shot(
        "mediator/agreement",
        "",
        labels=(
            "制作调解协议书",
            "纠纷主要事实",
            "争议事项",
            "各方当事人的责任",
            "签订日期",
            "协议内容",
            "履行方式",
            "履行期限",
            "生成协议书并结案",
        ),
        act=_fill_agreement,
        highlight="生成协议书并结案",
        full_page=True,
    ),
    Shot(
        "mediator/agreement-done",
        "",
        labels=("调解成功", "调解协议书", "查看/打印PDF", "司法确认", "回访"),
        act=_save_agreement,
        highlight="查看/打印PDF",
        full_page=True,
    ),
    Shot(
        "mediator/follow-up",
        "",
        labels=("回访", "回访日期", "协议履行情况", "回访情况", "重新调解（退回调解室）", "保存回访"),
        act=_fill_follow_up,
        highlight="保存回访",
        clip="css=[data-testid=follow-up]",
    ),
    Shot(
        "mediator/refer",
        "/mediation/new/",
        labels=("上报与移交", "上报街道", "移交职能部门", "答复期限（可选）", "移交"),
        act=_fill_referral,
        highlight="css=form[action$='/refer/'] button[type=submit]",
        clip="css=[data-testid=escalation]",
    ),
    Shot(
        "mediator/reply",
        "",
        labels=(
            "已移交职能部门",
            "等待答复",
            "答复日期",
            "答复内容",
            "处理结果",
            "登记答复",
        ),
        act=_refer,
        highlight="登记答复",
    ),
    Shot(
        "mediator/list",
        "/mediation/list/",
        act=_filter_open,
        labels=("纠纷台账", "纠纷编号", "办理情况", "状态", "调解员", "筛选"),
        highlight="筛选",
    ),
    Shot(
        "mediator/rota",
        "/mediation/rota/",
        labels=("调解员值班", "调解员值班表", "本月值班天数", "上月", "下月"),
    ),
    Shot(
        "mediator/stats",
        "/mediation/stats/",
        labels=("调解统计", "开始日期", "结束日期", "统计", "受理", "调解成功率", "按类型", "按调解员"),
    ),
]
