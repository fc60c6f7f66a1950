"""`doorstep seed --scale demo|district`: deterministic synthetic data; running it twice adds nothing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from doorstep.alarms import seed as alarms_seed
from doorstep.desk import inspection_seed
from doorstep.desk import seed as desk_seed
from doorstep.duty import seed as duty_seed
from doorstep.duty import station_seed, training_seed
from doorstep.evaluation import seed as evaluation_seed
from doorstep.mediation import seed as mediation_seed
from doorstep.org import seed as org_seed
from doorstep.patrol import seed as patrol_seed
from doorstep.portal import seed as portal_seed
from doorstep.registry import seed as registry_seed
from doorstep.video import seed as video_seed


class Command(BaseCommand):
    help = "Seed a synthetic district (deterministic: the same scale and seed give the same data)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(org_seed.SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, scale, seed, **options):
        try:
            with transaction.atomic():
                result = org_seed.seed(scale, seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "已生成" if result.created else "已存在，未重复生成"
        self.stdout.write(self.style.SUCCESS(f"{result.sub_bureau.name}（{scale}）{verb}。"))
        # The registry commits on its own, so a database seeded before the registry existed gets it now.
        with transaction.atomic():
            registry = registry_seed.seed(scale, seed)
        c = registry.counts
        self.stdout.write(
            f"一标三实{'已生成' if registry.created else '已存在，未重复生成'}：地址 {c['addresses']}，"
            f"房屋 {c['houses']}，户 {c['households']}，实有人口 {c['persons']}，"
            f"单位 {c['units']}（重点单位 {c['key_units']}），重点人员 {c['concerns']}。"
        )
        alarms = alarms_seed.seed(seed)
        self.stdout.write(
            f"一键报警{'已生成' if alarms.created else '已存在，未重复生成'}：设备 {alarms.devices}，"
            f"历史报警 {alarms.alarms}。"
        )
        video = video_seed.seed(seed)
        self.stdout.write(
            f"视频巡查{'已生成' if video.created else '已存在，未重复生成'}：摄像机 {video.cameras}，"
            f"广播音柱 {video.speakers}（演示视频在 var/video/demo/，音柱为模拟音柱）。"
        )
        desk = desk_seed.seed(seed)
        self.stdout.write(
            f"警务室服务台{'已生成' if desk.created else '已存在，未重复生成'}：受理事项 {desk.intakes}。"
        )
        inspections = inspection_seed.seed(seed)
        self.stdout.write(
            f"五统一检查{'已生成' if inspections.created else '已存在，未重复生成'}：检查 {inspections.inspections}，"
            f"未完成整改 {inspections.open_tasks}。"
        )
        duty = duty_seed.seed(seed)
        self.stdout.write(f"警务室值守排班：新增班次 {duty['shifts']}，签到 {duty['clock_ins']}。")
        station_duty = station_seed.seed(seed)
        self.stdout.write(
            f"所值班备勤：新增排班 {station_duty['assignments']}，例外审批 {station_duty['exceptions']}，"
            f"待审换班 {station_duty['swaps']}。"
        )
        training = training_seed.seed(seed)
        self.stdout.write(
            f"培训：新增课程 {training['courses']}，报名 {training['enrolments']}，考勤 {training['attendance']}，"
            f"考核 {training['assessments']}。"
        )
        mediation = mediation_seed.seed(seed)
        self.stdout.write(
            f"矛盾纠纷调解{'已生成' if mediation.created else '已存在，未重复生成'}：纠纷 {mediation.disputes}，"
            f"新增工作日历调整 {mediation.calendar_days} 天，新增调解员值班 {mediation.rota_days} 天。"
        )
        patrol = patrol_seed.seed(seed)
        self.stdout.write(
            f"群防群治{'已生成' if patrol.created else '已存在，未重复生成'}：巡逻 {patrol.patrols}"
            "（含防控责任区、巡防队伍、宣传活动和警民恳谈）。"
        )
        evaluation = evaluation_seed.seed(seed)
        self.stdout.write(
            f"考核评价{'已生成' if evaluation.created else '已存在，未重复生成'}：发案 {evaluation.incidents}，"
            f"应采集基数 {evaluation.baselines}，核查抽样 {evaluation.verifications}。"
        )
        portal = portal_seed.seed(seed)
        self.stdout.write(
            f"网上警务室{'已生成' if portal.created else '已存在，未重复生成'}：公告 {portal.notices}，"
            f"预约时段 {portal.slots}，群众事项 {portal.submissions}，问卷 {portal.surveys}，答卷 {portal.responses}。"
        )
        self.stdout.write(f"演示账号（密码均为 {org_seed.DEMO_PASSWORD}）：")
        for role, username, description in result.logins:
            self.stdout.write(f"  {role:<6} {username:<11} {description}")
