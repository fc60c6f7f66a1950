"""The pictures of docs/user/patrol.md, in the order the guide shows them.

The tour runs a patrol of its own on the phone (start, a finding, finish) with the browser's location set to a
street of 西福第1网格; the seeded patrols other tours rely on are only looked at."""

from __future__ import annotations

from doorstep.manual.tour import Shot

WHERE = {"longitude": 118.575377, "latitude": 24.901023, "accuracy": 8}


def _ready(page, ctx) -> None:
    """The patrol page with the phone's location allowed; a patrol left running by an earlier try is voided."""
    page.context.grant_permissions(["geolocation"], origin=ctx.base)
    page.context.set_geolocation(WHERE)
    if page.get_by_text("误操作？作废本次巡逻").count():
        page.get_by_text("误操作？作废本次巡逻").click()
        page.get_by_label("作废原因").fill("说明书截图前清理")
        page.get_by_role("button", name="作废").click()
        page.goto(ctx.url("/patrol/run/"))
    page.get_by_label("网格").select_option(label="西福第1网格")
    page.get_by_label("队伍").select_option(label="西福专职巡防队")
    page.get_by_label("参加人数").fill("2")


def _start(page, ctx) -> None:
    page.get_by_role("button", name="开始巡逻").click()
    page.get_by_text("巡逻已开始").wait_for()
    # The page sends its track every 10 seconds: wait for the first points to arrive.
    page.wait_for_function(
        "() => Number(document.getElementById('live-points').textContent) > 0", timeout=30_000
    )


def _fill_finding(page, ctx) -> None:
    page.get_by_label("类别").select_option(label="安全隐患")
    page.get_by_label("情况", exact=True).fill("云山路1号楼道堆放纸箱杂物，堵塞消防通道，已提醒物业清理。")


def _save_finding(page, ctx) -> None:
    page.get_by_role("button", name="保存发现").click()
    page.get_by_text("已记录发现").wait_for()


def _backdate(ctx) -> None:
    """Finishing a patrol under one minute is refused: start the tour's own patrol 40 minutes earlier."""
    ctx.django(
        "import datetime as dt;"
        "from doorstep.patrol.models import Patrol;"
        "p = Patrol.objects.get(led_by__username='patrol', status='running');"
        "Patrol.objects.filter(pk=p.pk).update(started_at=p.started_at - dt.timedelta(minutes=40))"
    )


def _fill_finish(page, ctx) -> None:
    page.get_by_label("巡逻情况").fill("沿云山路、通港西街巡逻一圈，发现消防通道堵塞一处，已提醒整改。")


def _finish(page, ctx) -> None:
    page.get_by_role("button", name="结束巡逻").click()
    page.get_by_text("巡逻已结束").wait_for()


SHOTS: list[Shot] = [
    Shot(
        "patrol/home",
        "/patrol/",
        labels=(
            "群防群治",
            "巡逻",
            "巡逻计划",
            "巡防队伍",
            "防控责任区",
            "警民恳谈",
            "防范宣传",
            "专职巡防队员",
            "近7天网格覆盖率",
        ),
    ),
    Shot(
        "patrol/start",
        "/patrol/run/",
        labels=(
            "群防群治",
            "巡逻",
            "开始巡逻",
            "社区",
            "巡逻计划",
            "网格",
            "队伍",
            "参加人数",
            "其中志愿者",
            "巡逻记录",
        ),
        act=_ready,
        highlight="css=[data-testid=run-start]",
        phone=True,
        full_page=True,
    ),
    Shot(
        "patrol/live",
        "",
        labels=(
            "巡逻已开始，请保持本页打开以记录轨迹",
            "巡逻中",
            "已巡逻",
            "里程（米）",
            "已上传定位点",
            "待上传",
            "正在记录轨迹",
        ),
        act=_start,
        phone=True,
    ),
    Shot(
        "patrol/finding",
        "",
        labels=(
            "记录发现",
            "类别",
            "情况",
            "照片",
            "移交（纠纷转调解，警情转警务室服务台）",
            "您的角色不能直接受理矛盾纠纷",
            "保存发现",
        ),
        act=_fill_finding,
        highlight="保存发现",
        phone=True,
    ),
    Shot(
        "patrol/finding-saved",
        "",
        labels=("已记录发现", "安全隐患"),
        act=_save_finding,
        highlight="css=[data-testid=live-findings]",
        phone=True,
    ),
    Shot(
        "patrol/finish",
        "",
        labels=("巡逻情况", "结束巡逻", "误操作？作废本次巡逻"),
        before=_backdate,
        act=_fill_finish,
        highlight="css=[data-testid=run-finish]",
        phone=True,
    ),
    Shot(
        "patrol/record",
        "",
        labels=("巡逻已结束", "已完成"),
        act=_finish,
        phone=True,
        full_page=True,
    ),
    Shot(
        "patrol/runs",
        "/patrol/runs/",
        labels=("巡逻", "巡逻记录", "开始时间", "社区/网格", "带队人", "时长", "里程（米）", "状态", "筛选"),
    ),
    Shot(
        "patrol/mobile",
        "/m/",
        labels=("移动警务", "值守", "签到", "签退", "巡逻", "开始巡逻"),
        highlight="css=[data-testid=today-duty] button",
        wait_for="[data-testid=today-duty] button",
        phone=True,
    ),
    Shot(
        "patrol/publicity",
        "/patrol/publicity/",
        labels=("防范宣传", "宣传活动", "最近的宣传场次", "宣传覆盖"),
    ),
    Shot(
        "patrol/meetings",
        "/patrol/meetings/",
        labels=("警民恳谈", "警民恳谈会与警务室开放日", "逾期未答复的群众反映问题"),
    ),
]
