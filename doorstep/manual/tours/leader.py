"""The pictures of docs/user/leader.md, in the order the guide shows them."""

from __future__ import annotations

from doorstep.manual.tour import Shot, local_today

# What the leader's day needs and the demo does not hold: a station linked to the leader (挂点) and last
# month's station reviews submitted by the evaluation office, waiting for the leader's sign-off. Made here,
# on the tour's own behalf; the evaluation office's tour scores the current month, never last month.
PREPARE = """
import datetime as dt
from django.contrib.auth import get_user_model
from django.utils import timezone
from doorstep.evaluation import links, periods, reviews
from doorstep.evaluation.models_links import LeaderLink
from doorstep.evaluation.models_review import Review
from doorstep.org.models import Station
U = get_user_model()
office = U.objects.get(username="kaoping")
leader = U.objects.get(username="leader")
today = timezone.localdate()
if not LeaderLink.objects.filter(leader=leader, ended_on__isnull=True).exists():
    links.link_leader(leader=leader, stations=[Station.objects.order_by("code").first()],
                      started_on=today - dt.timedelta(days=60), note="", by=office)
period = periods.previous(periods.period_of("month", today))
reviews.generate_reviews("month", period, by=office)
for review in Review.objects.filter(level="month", period_start=period.start, status="draft"):
    scores = {s.pk: (s.points * 9 // 10, "") for s in review.scores.filter(kind="manual")}
    reviews.save_scores(review, scores, by=office, comment="")
    reviews.submit(review, by=office)
print("ok")
"""


def prepare(ctx) -> None:
    ctx.django(PREPARE)


def open_trend(page, ctx) -> None:
    page.locator('[data-kpi="mediation_success"]').get_by_role("link", name="趋势").first.click()


def open_stats(page, ctx) -> None:
    page.get_by_role("link", name="报警统计").first.click()


def open_review(page, ctx) -> None:
    page.locator("table").first.get_by_role("link").first.click()
    page.get_by_label("签核意见").fill("同意。")


def sign_off(page, ctx) -> None:
    page.locator("form:has(#signoff-note) button[type=submit]").click()


def fill_inspection(page, ctx) -> None:
    page.get_by_role("link", name="登记督导检查").click()
    page.get_by_label("派出所").select_option(index=1)
    page.get_by_label("检查日期").fill(local_today().isoformat())
    page.get_by_label("检查情况").fill("检查东星警务室值守和走访台账，值守正常；个别网格走访记录不及时。")
    page.locator('input[name="action_0"]').fill("补齐东星社区逾期走访")
    page.locator('input[name="owner_0"]').fill("社区民警")


def save_inspection(page, ctx) -> None:
    page.get_by_role("button", name="保存").click()


SHOTS: list[Shot] = [
    Shot(
        "leader/home",
        "/",
        labels=("首页", "考核待办", "待签核", "需要关注的网格", "待审批事项", "各所网格配备情况"),
        before=prepare,
        highlight="css=[data-testid=review-reminders]",
        settle_ms=900,
    ),
    Shot(
        "leader/kpis",
        "/evaluation/",
        labels=(
            "考核指标",
            "KPI 指标",
            "层级",
            "周期",
            "查询",
            "上一期",
            "未达标",
            "趋势",
            "派出所综合得分排名",
        ),
        highlight="css=[data-kpi=mediation_success]",
        settle_ms=900,
    ),
    Shot(
        "leader/kpi-trend",
        "",
        labels=("近 12 期趋势", "按派出所分解", "查看计入的记录", "计算公式"),
        act=open_trend,
        highlight="查看计入的记录",
        settle_ms=900,
    ),
    Shot(
        "leader/console",
        "/alarms/console/",
        labels=("报警调度", "报警调度台", "开启提示音", "设备告警"),
        highlight="开启提示音",
    ),
    Shot(
        "leader/alarm-stats",
        "/alarms/devices/",
        labels=("报警设备", "报警统计", "出警达标率", "误报率", "导出Excel", "起始月份"),
        act=open_stats,
        highlight="出警达标率",
    ),
    Shot(
        "leader/review",
        "/evaluation/reviews/",
        labels=(
            "考核指标",
            "考核评分",
            "月考核（分局评派出所）",
            "已提交",
            "领导评价",
            "签核意见",
            "签核",
            "历史考核",
        ),
        act=open_review,
        highlight="css=form:has(#signoff-note) button[type=submit]",
        full_page=True,
    ),
    Shot(
        "leader/review-signed",
        "",
        labels=("已签核考核", "已签核", "签核人"),
        act=sign_off,
    ),
    Shot(
        "leader/inspections",
        "/evaluation/inspections/",
        labels=("考核指标", "领导挂点", "近8周挂点领导督导检查情况", "登记督导检查", "检查记录"),
        highlight="登记督导检查",
    ),
    Shot(
        "leader/inspection-new",
        "",
        labels=("派出所", "检查日期", "检查情况", "整改事项", "保存"),
        act=fill_inspection,
        highlight="保存",
        full_page=True,
    ),
    Shot(
        "leader/inspection-saved",
        "",
        labels=("已登记督导检查", "整改事项", "责任人", "确认完成", "返回督导检查"),
        act=save_inspection,
    ),
    Shot(
        "leader/bulletins",
        "/evaluation/bulletins/",
        labels=("考核指标", "考评通报", "月份", "下载"),
    ),
    Shot(
        "leader/stars",
        "/evaluation/stars/",
        labels=("月度之星", "社区警务月度之星", "月度得分", "事迹简介"),
    ),
]
