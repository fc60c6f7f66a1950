"""The pictures of docs/user/kaoping.md, in the order the guide shows them."""

from __future__ import annotations

from doorstep.manual.tour import Shot, local_today

# The tour scores the current month's station reviews (the leader's tour signs off last month's), draws a spot
# check in 清源派出所, links a department, and drafts and publishes last month's bulletin. It never confirms a
# star: the star shows on everyone's home page.


def accept_dialogs(page) -> None:
    page.once("dialog", lambda dialog: dialog.accept())


def fill_generate(page, ctx) -> None:
    form = page.locator("form", has=page.get_by_role("button", name="生成考核草稿"))
    level = form.locator("[name=level]")
    if level.first.get_attribute("type") == "radio":
        form.get_by_label("月考核（分局评派出所）").check()
    else:
        level.select_option(label="月考核（分局评派出所）")
    form.locator("[name=period]").fill(local_today().strftime("%Y-%m"))


def generate(page, ctx) -> None:
    page.get_by_role("button", name="生成考核草稿").click()


def open_draft(page, ctx) -> None:
    page.get_by_role("link", name="城东派出所").first.click()
    row = page.locator("tr", has_text="领导评价")
    row.locator("input").first.fill("17")
    row.locator("input").nth(1).fill("网格“1+2”配备基本到位，走访台账规范。")


def save_and_submit(page, ctx) -> None:
    page.get_by_role("button", name="保存评分").click()
    page.wait_for_load_state("networkidle")
    accept_dialogs(page)
    page.get_by_role("button", name="提交考核").click()


def fill_draw(page, ctx) -> None:
    page.get_by_label("派出所").select_option(label="清源派出所")
    page.get_by_label("抽取人数").fill("2")
    page.get_by_label("抽查内容").fill("入户走访记录真实性")


def draw(page, ctx) -> None:
    page.get_by_role("button", name="随机抽取").click()
    page.wait_for_load_state("networkidle")
    form = page.locator("form[action*='/record/']").first
    form.get_by_label("检查日期").fill(local_today().isoformat())
    form.get_by_label("检查内容").fill("抽查10户走访记录，电话回访核实")
    form.get_by_label("结果").select_option(label="合格")
    form.get_by_label("得分（0–100，可不填）").fill("90")


def fill_link(page, ctx) -> None:
    page.get_by_role("link", name="设置挂点").click()
    page.get_by_label("挂点类型").select_option(label="部门挂点")
    page.get_by_label("部门", exact=True).fill("治安大队")
    page.get_by_label("部门挂点派出所").select_option(label="清源派出所")
    page.get_by_label("开始日期").fill(local_today().isoformat())
    page.get_by_label("备注").fill("每周一次业务指导")


def save_link(page, ctx) -> None:
    page.get_by_role("button", name="保存").click()


def draft_bulletin(page, ctx) -> None:
    page.get_by_role("button", name="起草通报").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("总体情况").fill("本月各派出所社区警务工作总体平稳，治安要素掌控率稳步提升。")
    page.get_by_label("存在问题").fill("调解成功率、出警达标率未达到目标。")
    page.get_by_label("工作要求").fill("各所对照未达标指标逐项整改，下月通报整改情况。")


def publish(page, ctx) -> None:
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")
    accept_dialogs(page)
    page.get_by_role("button", name="发布").click()


def pick_star(page, ctx) -> None:
    page.locator("input[name=staff]").first.check()
    page.get_by_label("事迹简介").fill("扎根社区，走访到户，辖区矛盾纠纷化解及时。")


SHOTS: list[Shot] = [
    Shot(
        "kaoping/kpis",
        "/evaluation/",
        labels=(
            "考核指标",
            "层级",
            "周期",
            "期间",
            "查询",
            "指标设置",
            "各派出所指标",
            "显示计算公式",
            "综合得分",
        ),
        highlight="显示计算公式",
        full_page=True,
        settle_ms=900,
    ),
    Shot(
        "kaoping/settings",
        "/evaluation/settings/",
        labels=("指标设置", "目标值", "权重", "启用", "默认目标", "越低越好", "保存"),
    ),
    Shot(
        "kaoping/review-generate",
        "/evaluation/reviews/",
        labels=(
            "考核指标",
            "考核评分",
            "我的待办",
            "考核层级",
            "月考核（分局评派出所）",
            "周期",
            "生成考核草稿",
        ),
        act=fill_generate,
        highlight="生成考核草稿",
    ),
    Shot(
        "kaoping/review-drafts",
        "",
        labels=("份考核草稿", "草稿", "评分期限"),
        act=generate,
    ),
    Shot(
        "kaoping/review-score",
        "",
        labels=(
            "自动（指标）",
            "人工评分",
            "领导评价",
            "总体评价",
            "保存评分",
            "重新计算自动项目",
            "提交考核",
        ),
        act=open_draft,
        highlight="保存评分",
        full_page=True,
    ),
    Shot(
        "kaoping/review-submitted",
        "",
        labels=("已提交考核", "已提交"),
        act=save_and_submit,
    ),
    Shot(
        "kaoping/spotcheck-draw",
        "/evaluation/spotchecks/",
        labels=("考核指标", "抽查", "派出所", "抽取人数", "随机种子", "抽查内容", "随机抽取"),
        act=fill_draw,
        highlight="随机抽取",
    ),
    Shot(
        "kaoping/spotcheck-record",
        "",
        labels=("名民警", "候选名单（按警号）", "检查日期", "检查内容", "结果", "记录结果"),
        act=draw,
        highlight="记录结果",
    ),
    Shot(
        "kaoping/inspections",
        "/evaluation/inspections/",
        labels=("考核指标", "领导挂点", "督导检查", "挂点设置"),
        highlight="挂点设置",
    ),
    Shot(
        "kaoping/link-new",
        "/evaluation/links/",
        labels=(
            "考核指标",
            "领导挂点",
            "设置挂点",
            "挂点类型",
            "挂点领导",
            "挂点派出所（1–2个）",
            "部门",
            "部门挂点派出所",
            "开始日期",
            "保存",
        ),
        act=fill_link,
        highlight="保存",
        full_page=True,
    ),
    Shot(
        "kaoping/links",
        "",
        labels=("已保存挂点", "领导挂点（现行）", "部门挂点（现行）", "挂点历史", "结束"),
        act=save_link,
    ),
    Shot(
        "kaoping/bulletin-draft",
        "/evaluation/bulletins/",
        labels=("考核指标", "考评通报", "起草通报"),
        highlight="起草通报",
    ),
    Shot(
        "kaoping/bulletin-edit",
        "",
        labels=(
            "已起草通报",
            "发布",
            "保存",
            "综合排名",
            "各项指标最好与最差",
            "通报内容",
            "总体情况",
            "存在问题",
        ),
        act=draft_bulletin,
        highlight="发布",
    ),
    Shot(
        "kaoping/bulletin-published",
        "",
        labels=("通报已发布", "PDF", "Excel", "起草更正通报"),
        act=publish,
        highlight="PDF",
    ),
    Shot(
        "kaoping/stars",
        "/evaluation/stars/",
        labels=("考核指标", "月度之星", "候选排名"),
        highlight="候选排名",
    ),
    Shot(
        "kaoping/star",
        "/evaluation/stars/candidates/",
        labels=("考核指标", "月度之星", "月度之星候选", "名次", "月度得分", "事迹简介", "确认为月度之星"),
        act=pick_star,
        highlight="确认为月度之星",
        full_page=True,
    ),
]
