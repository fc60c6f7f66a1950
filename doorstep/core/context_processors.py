"""Navigation: only modules that exist, only those the role may open."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from doorstep.accounts.choices import Role
from doorstep.alarms import devices as alarm_devices
from doorstep.alarms import stats as alarm_stats
from doorstep.alarms.services import CONSOLE_ROLES
from doorstep.desk import selectors as desk_selectors
from doorstep.evaluation import pages as evaluation_pages
from doorstep.mediation import access as mediation_access
from doorstep.mobile import access as mobile_access
from doorstep.patrol import access as patrol_access
from doorstep.portal import access as portal_access
from doorstep.video import access as video_access

AUDIT_ROLES = {Role.ADMIN, Role.LEADER, Role.EVALUATOR}
VISIT_ROLES = {Role.OFFICER, Role.AUXILIARY}  # the grid team's visit to-do list


def can_read_audit(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in AUDIT_ROLES)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from doorstep.accounts import two_factor

    if two_factor.session_must_verify(user, getattr(request, "session", None)) and not _verified(user):
        return {}  # between password and second factor: no links to pages the session cannot open yet
    items = [
        ("core:home", "home", _("首页")),
        ("org:station_list", "building-community", _("组织机构")),
        ("org:staffing", "users-group", _("网格编制")),
        ("org:approvals", "checklist", _("审批")),
        ("maps:map", "map-2", _("电子地图")),
        ("registry:index", "address-book", _("一标三实")),
    ]
    if user.is_superuser or user.role in CONSOLE_ROLES:
        items.append(("alarms:console", "urgent", _("报警调度")))
    if alarm_devices.may_view(user):  # devices, health, drills and statistics link to each other by tabs
        items.append(("alarms:device_list", "device-mobile", _("报警设备")))
    elif alarm_stats.may_see(user):
        items.append(("alarms:stats", "chart-bar", _("报警统计")))
    if mobile_access.may_use(user):  # the phone workspace (today's work, offline records, dispatch)
        items.append(("mobile:app", "device-mobile", _("手机工作台")))
    if user.role in VISIT_ROLES:  # the grid team: alarms dispatched to them
        items.append(("alarms:mine", "run", _("我的出警")))
    if user.role in VISIT_ROLES:
        items.append(("registry:todo", "list-check", _("走访待办")))
    items.append(("duty:board", "building-broadcast-tower", _("警务室值守")))
    if desk_selectors.may_view(user):
        items.append(("desk:index", "clipboard-list", _("服务台")))
    if portal_access.may_view_queue(user):  # what residents sent through the portal, slots, notices, surveys
        items.append(("online:index", "world", _("网上警务")))
    if mediation_access.may_view(user):
        items.append(("mediation:index", "scale", _("矛盾调解")))
    if patrol_access.may_view(user):
        items.append(("patrol:index", "shield-check", _("群防群治")))
    if evaluation_pages.may_view(user):
        items.append(("evaluation:index", "chart-dots", _("考核指标")))
    if video_access.may_patrol(user):  # the console links to cameras, events, tours and broadcasts by tabs
        items.append(("video:patrol", "video", _("视频巡查")))
    elif video_access.may_view(user):
        items.append(("video:camera_list", "video", _("视频巡查")))
    # Pages visited now and then (the audit log, the API documentation) sit in the account menu, so the
    # navbar keeps to one row.
    account_items = []
    if can_read_audit(user):
        account_items.append({"url": reverse("audit:log"), "icon": "history", "label": _("审计日志")})
        account_items.append(
            {"url": reverse("audit:review"), "icon": "report-search", "label": _("审计周报")}
        )
    if user.is_superuser or user.role in {Role.ADMIN, Role.LEADER}:
        account_items.append({"url": reverse("api-docs"), "icon": "api", "label": _("接口文档")})
    if user.is_superuser or user.role == Role.ADMIN:  # accounts, two-factor resets, locks, sessions, tokens
        account_items.append(
            {"url": reverse("accounts:user_list"), "icon": "user-shield", "label": _("用户与安全")}
        )
    path = request.path
    nav = [
        {"url": reverse(name), "icon": icon, "label": label, "active": False, "group": GROUPS.get(name, "")}
        for name, icon, label in items
    ]
    # The longest matching prefix wins, so /org/staffing/ lights up 网格编制, not 组织机构 as well.
    matches = [
        item for item in nav if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": nav, "nav_entries": _entries(nav), "account_items": account_items}


def _verified(user) -> bool:
    is_verified = getattr(user, "is_verified", None)  # installed by django_otp's OTPMiddleware
    return bool(is_verified and is_verified())


# Modules opened now and then share one dropdown, so that a director's navbar keeps to one row at 1366 px.
GROUPS = {"org:station_list": "org", "org:staffing": "org", "org:approvals": "org"}
GROUP_LABELS = {"org": (gettext_noop("组织管理"), "building-community")}


def _entries(nav: list[dict]) -> list[dict]:
    """The navbar's entries: single items, and groups (a dropdown) in the place of their first member."""
    entries: list[dict] = []
    groups: dict[str, dict] = {}
    for item in nav:
        group = item["group"]
        if not group:
            entries.append({"item": item})
            continue
        if group not in groups:
            label, icon = GROUP_LABELS[group]
            groups[group] = {"group": group, "label": _(label), "icon": icon, "members": [], "active": False}
            entries.append(groups[group])
        groups[group]["members"].append(item)
        groups[group]["active"] = groups[group]["active"] or item["active"]
    return entries
