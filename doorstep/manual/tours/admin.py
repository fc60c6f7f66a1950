"""The pictures of docs/user/admin.md, in the order the guide shows them."""

from __future__ import annotations

from doorstep.manual.tour import Shot, local_today

# The account the administrator helps here is the tour's own (周健, `zhoujian`), made for it: a lost phone
# (two-step verification bound) and a lock after wrong codes — made through the accounts services, as the real
# events would. No other tour signs in as it.
PREPARE = """
import secrets
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from doorstep.accounts import services
from doorstep.accounts.choices import Role
from doorstep.accounts.models import User
admin = User.objects.get(username="admin")
user = User.objects.filter(username="zhoujian").first() or services.create_user(
    username="zhoujian", password=secrets.token_urlsafe(16), role=Role.EVALUATOR, display_name="周健",
    by=admin, sub_bureau=admin.sub_bureau,
)
if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
    session = {}
    device = services.start_enrolment(user, session)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    services.confirm_enrolment(user, str(code).zfill(device.digits), session)
while not (user.locked_until and user.locked_until > timezone.now()):
    services.record_failed_login(user, second_factor=True)
    user.refresh_from_db()
print("ok")
"""

TOKEN_NAME = "治安数据对接（演示）"


def prepare(ctx) -> None:
    ctx.django(PREPARE)


def open_menu(page, ctx) -> None:
    page.get_by_role("link", name="账户").click()


def row(page):
    return page.locator("[data-testid=user-zhoujian]")


def find_user(page, ctx) -> None:
    page.get_by_label("用户名或姓名").fill("周健")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state("networkidle")
    row(page).get_by_label("重置原因").fill("手机丢失，本人电话申请")


def reset(page, ctx) -> None:
    row(page).get_by_role("button", name="重置两步验证").click()


def fill_unlock(page, ctx) -> None:
    row(page).get_by_label("解除锁定的原因").fill("已核实本人身份")


def unlock(page, ctx) -> None:
    row(page).get_by_role("button", name="解除锁定").click()


def sign_out(page, ctx) -> None:
    row(page).get_by_label("注销原因").fill("调离岗位")
    row(page).get_by_role("button", name="注销全部会话").click()


def fill_token(page, ctx) -> None:
    page.get_by_label("用途").fill(TOKEN_NAME)
    page.get_by_label("一标三实：读取（地址、房屋、户、人员、单位、走访、查询）").check()


def create_token(page, ctx) -> None:
    page.get_by_role("button", name="创建").click()


def fill_revoke(page, ctx) -> None:
    token = page.locator("[data-testid=token-table] tr", has_text=TOKEN_NAME).first
    token.get_by_label("吊销原因").fill("对接项目结束")


def revoke(page, ctx) -> None:
    page.locator("[data-testid=token-table] tr", has_text=TOKEN_NAME).first.get_by_role(
        "button", name="吊销"
    ).click()


def filter_audit(page, ctx) -> None:
    page.get_by_label("周报分类").select_option(label="权限变更（账户、角色、令牌）")
    page.get_by_role("button", name="筛选").click()


def calendar_of_this_year(page, ctx) -> None:
    """The demo enters the State Council's published years; in a year not entered yet (the page then says
    尚未录入), do what the guide's step 2 says and enter its New Year's Day, so the picture shows a year's
    entries with their 删除 whatever the date."""
    if page.get_by_test_id("calendar-empty").count():
        day = local_today().replace(month=1, day=1).isoformat()
        page.get_by_label("开始日期").fill(day)
        page.get_by_label("结束日期").fill(day)
        page.get_by_label("类别").select_option(label="法定节假日（休息）")
        page.get_by_label("节日/说明").fill("元旦")
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state("networkidle")


def this_week(page, ctx) -> None:
    page.get_by_role("link", name="下一周").click()


SHOTS: list[Shot] = [
    Shot(
        "admin/menu",
        "/",
        labels=("我的账户与接口令牌", "用户与安全", "审计日志", "审计周报", "接口文档", "退出登录"),
        before=prepare,
        act=open_menu,
        highlight="用户与安全",
    ),
    Shot(
        "admin/users",
        "/accounts/users/",
        labels=(
            "用户与安全",
            "用户名或姓名",
            "查询",
            "角色",
            "辖区",
            "两步验证",
            "状态",
            "已启用",
            "已锁定至",
            "重置两步验证",
            "同时吊销该用户的全部接口令牌",
            "解除锁定",
            "注销全部会话",
        ),
        act=find_user,
        highlight="重置两步验证",
    ),
    Shot(
        "admin/reset-done",
        "",
        labels=("的两步验证并注销其全部会话", "未启用", "解除锁定"),
        act=reset,
    ),
    Shot(
        "admin/unlock",
        "",
        labels=("解除锁定", "已锁定至"),
        act=fill_unlock,
        highlight="css=[data-testid=user-zhoujian] button:has-text('解除锁定')",
    ),
    Shot(
        "admin/unlock-done",
        "",
        labels=("已解除", "正常", "注销全部会话"),
        act=unlock,
    ),
    Shot(
        "admin/signed-out",
        "",
        labels=("的全部会话", "同时吊销该用户的全部接口令牌", "注销全部会话"),
        act=sign_out,
    ),
    Shot(
        "admin/token-new",
        "/accounts/me/",
        labels=(
            "我的账户与接口令牌",
            "我的账户",
            "两步验证",
            "启用两步验证",
            "接口令牌",
            "用途",
            "过期日期",
            "权限范围",
            "创建",
        ),
        act=fill_token,
        highlight="创建",
        full_page=True,
    ),
    Shot(
        "admin/token-created",
        "",
        labels=("新令牌（只显示这一次，请妥善保存）：", "前缀", "吊销"),
        act=create_token,
    ),
    Shot(
        "admin/token-revoke",
        "/accounts/users/",
        labels=("用户与安全", "接口令牌（全部用户）", "权限范围", "过期", "最近使用", "吊销"),
        act=fill_revoke,
        highlight=f"css=[data-testid=token-table] tr:has-text('{TOKEN_NAME}') button",
    ),
    Shot(
        "admin/token-revoked",
        "",
        labels=("已吊销",),
        act=revoke,
    ),
    Shot(
        "admin/audit-log",
        "/audit/",
        labels=(
            "审计日志",
            "操作日志",
            "个人信息访问日志",
            "操作人",
            "对象类型",
            "起始日期",
            "渠道",
            "周报分类",
            "权限变更（账户、角色、令牌）",
            "筛选",
            "操作",
            "变更",
            "吊销接口令牌",
            "解除锁定",
        ),
        act=filter_audit,
    ),
    Shot(
        "admin/audit-review",
        "/audit/review/",
        labels=(
            "审计周报",
            "下载 Excel",
            "上一周",
            "下一周",
            "登录失败与锁定",
            "越权访问（被拒绝）",
            "显示完整个人信息",
            "数据导出",
            "权限变更（账户、角色、令牌）",
            "在审计日志中查看全部",
        ),
        act=this_week,
    ),
    Shot(
        "admin/org",
        "/org/",
        labels=("组织管理", "组织机构", "派出所与社区", "网格", "警务室", "警务人员", "工作日历"),
        highlight="工作日历",
    ),
    Shot(
        "admin/staff",
        "/org/staff/",
        labels=("警务人员", "添加人员", "警号/工号", "类别", "所属派出所", "工作电话", "在职"),
        highlight="添加人员",
    ),
    Shot(
        "admin/staff-new",
        "/org/staff/new/",
        labels=(
            "添加警务人员",
            "人员类别",
            "姓名",
            "警号/工号",
            "工作电话",
            "入职日期",
            "照片",
            "所属派出所",
            "保存",
            "取消",
        ),
    ),
    Shot(
        "admin/calendar",
        "/org/calendar/",
        labels=(
            "组织机构",
            "工作日历",
            "法定节假日与调休上班",
            "法定节假日（休息）",
            "调休上班",
            "录入放假或调休安排",
            "开始日期",
            "结束日期",
            "类别",
            "保存",
            "删除",
        ),
        highlight="录入放假或调休安排",
        act=calendar_of_this_year,
    ),
]
