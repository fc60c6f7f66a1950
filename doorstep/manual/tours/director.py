"""The pictures of docs/user/director.md, in the order the guide shows them."""

from __future__ import annotations

import datetime as dt

from doorstep.manual.tour import Ctx, Shot, local_today

# The secondment the tour asks for and then rejects itself, so that the staffing of the demo stays as seeded.
DESTINATION = "分局巡特警大队（演示）"


def fill_secondment(page, ctx: Ctx) -> None:
    form = page.locator("form", has=page.get_by_role("button", name="提交，待所长审批"))
    staff = form.get_by_label("社区民警")
    staff.select_option(label=staff.locator("option", has_text="廖强").first.inner_text())
    form.get_by_label("抽调去向").fill(DESTINATION)
    form.get_by_label("抽调事由").fill("元旦重大活动安保")
    form.get_by_label("开始日期").fill((local_today() + dt.timedelta(days=30)).isoformat())
    form.get_by_label("结束日期").fill((local_today() + dt.timedelta(days=36)).isoformat())


def pending(page):
    return page.locator(".list-group-item", has_text=DESTINATION).first


def submit_secondment(page, ctx: Ctx) -> None:
    page.get_by_role("button", name="提交，待所长审批").click()
    page.wait_for_load_state("networkidle")
    pending(page).wait_for()
    pending(page).get_by_placeholder("审批意见").fill("活动期间网格不能空岗，另行安排")


def reject_and_open_roster(page, ctx: Ctx) -> None:
    pending(page).get_by_role("button", name="驳回").click()
    page.wait_for_load_state("networkidle")
    page.goto(ctx.url("/duty/station/"))


GAP_ROW = "tbody tr:not(:has-text('已全覆盖')) a:has-text('排班')"


def open_room_roster(page, ctx: Ctx) -> None:
    page.locator(GAP_ROW).first.click()
    page.wait_for_load_state("networkidle")


def fill_shift(page, ctx: Ctx) -> None:
    page.get_by_role("link", name="添加班次").click()
    page.wait_for_load_state("networkidle")
    staff = page.get_by_label("值守人员")
    staff.select_option(index=1)
    day = local_today() + dt.timedelta(days=3)
    page.get_by_label("开始时间").fill(f"{day.isoformat()}T00:00")
    page.get_by_label("结束时间").fill(f"{day.isoformat()}T08:00")


def choose_xun(page, ctx: Ctx) -> None:
    day = local_today()
    xun = 1 if day.day <= 10 else 2 if day.day <= 20 else 3
    form = page.locator("form", has=page.get_by_role("button", name="生成考核草稿"))
    form.get_by_label("考核层级").select_option(label="旬考核（派出所评民警、协勤）")
    form.get_by_label("周期").fill(f"{day.year}-{day.month:02d}-{xun}")


SHOTS: list[Shot] = [
    Shot(
        "director/home",
        "/",
        labels=(
            "首页",
            "待审批事项",
            "需要关注的网格",
            "社区民警提前离岗申请",
            "抽调申请",
            "查看编制看板",
            "矛盾调解",
            "查看调解待办",
            "手机工作台",
        ),
    ),
    Shot(
        "director/staffing",
        "/org/staffing/",
        labels=(
            "组织管理",
            "网格编制",
            "网格编制看板",
            "缺社区民警",
            "缺协勤员",
            "超配",
            "合规",
            "民警抽调中",
            "离岗待批",
        ),
    ),
    Shot(
        "director/secondment",
        "/org/approvals/",
        labels=(
            "组织管理",
            "审批",
            "离岗与抽调审批",
            "申请抽调社区民警",
            "社区民警",
            "抽调去向",
            "抽调事由",
            "开始日期",
            "结束日期",
            "提交，待所长审批",
        ),
        act=fill_secondment,
        highlight="提交，待所长审批",
    ),
    Shot(
        "director/approvals",
        "",
        labels=(
            "待审批：社区民警提前离岗（任职未满3年）",
            "待审批：抽调社区民警",
            "批准",
            "驳回",
            "审批记录",
        ),
        act=submit_secondment,
        highlight="css=.list-group-item:has-text('分局巡特警大队（演示）') button[value=reject]",
    ),
    Shot(
        "director/station-roster",
        "",
        labels=(
            "所值班备勤",
            "周排班",
            "排入",
            "复制上周排班到本周",
            "人手不足",
            "例外",
            "换班",
            "例外审批",
            "换班申请",
            "班次设置",
        ),
        act=reject_and_open_roster,
        highlight="复制上周排班到本周",
    ),
    Shot(
        "director/duty-board",
        "/duty/",
        labels=("警务室值守", "警务室实时看板", "在岗", "迟到", "离岗", "无人在岗", "排班"),
    ),
    Shot(
        "director/gaps",
        "/duty/gaps/",
        labels=("排班缺口", "无人排班时段", "已全覆盖", "排班"),
        highlight="css=" + GAP_ROW,
    ),
    Shot(
        "director/room-roster",
        "",
        labels=("24小时值守排班", "添加班次", "复制上周排班到本周", "本周班次"),
        act=open_room_roster,
        highlight="添加班次",
    ),
    Shot(
        "director/shift",
        "",
        labels=("添加班次", "值守人员", "开始时间", "结束时间", "备注", "保存"),
        act=fill_shift,
        highlight="保存",
    ),
    Shot(
        "director/field-days",
        "/duty/field-days/",
        labels=("下沉社区", "下沉社区周报", "下沉天数", "不足", "含专职协勤员", "查看"),
    ),
    Shot(
        "director/mediation",
        "/mediation/",
        labels=("矛盾调解", "调解待办", "纠纷台账", "调解员值班", "调解统计"),
    ),
    Shot(
        "director/reviews",
        "/evaluation/reviews/",
        labels=(
            "考核指标",
            "考核评分",
            "我的待办",
            "考核层级",
            "旬考核（派出所评民警、协勤）",
            "周期",
            "生成考核草稿",
            "抽查",
            "排名",
        ),
        act=choose_xun,
        highlight="生成考核草稿",
    ),
]
