"""The weekly audit review (issue #12 item 6): what an auditor should look at for one ISO week.

A week runs Monday 00:00 to Sunday 23:59:59 local time (settings.TIME_ZONE). Each section is a query on the
change log or the access log; the audit log page filters by the same section (`?section=<key>`), so the
review's counts and the log behind its links cannot disagree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.audit import actions, display
from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry
from doorstep.audit.services import DENIED, LOGIN_FAILED

WEEK_RE = re.compile(r"^([0-9]{4})-W([0-9]{2})$")  # ASCII digits only
# A wrong two-factor or recovery code counts toward the same lock as a wrong password (accounts.services).
FAILED_LOGIN_ACTIONS = (LOGIN_FAILED, "accounts.lock", "accounts.two_factor_failed")
# Changes of who may do what: accounts created (with their role and territory), role/scope changes,
# API tokens issued (with their scopes) or revoked, two-factor enrolments and resets, unlocks, sessions
# revoked, recovery codes made or used... every "accounts.*" action except failed logins and routine
# successful second factors.
PERMISSION_PREFIX = "accounts."
NOT_PERMISSION_ACTIONS = ("accounts.two_factor_passed",)
RETENTION_ACTIONS = ("audit.retention_start", "audit.retention_purge")
LIST_LIMIT = 20


@dataclass(frozen=True)
class SectionDef:
    key: str
    title: Any
    log: str  # "changes" (AuditEntry) or "access" (AccessEntry)
    query: Q


SECTIONS: tuple[SectionDef, ...] = (
    SectionDef("failed_logins", _("登录失败与锁定"), "changes", Q(action__in=FAILED_LOGIN_ACTIONS)),
    SectionDef("denied", _("越权访问（被拒绝）"), "changes", Q(action=DENIED)),
    SectionDef("reveals", _("显示完整个人信息"), "access", Q(kind=AccessKind.REVEAL)),
    SectionDef("exports", _("数据导出"), "access", Q(kind=AccessKind.EXPORT)),
    SectionDef("concern", _("查看重点人员"), "access", Q(kind=AccessKind.CONCERN)),
    SectionDef(
        "permissions",
        _("权限变更（账户、角色、令牌）"),
        "changes",
        Q(action__startswith=PERMISSION_PREFIX)
        & ~Q(action__in=FAILED_LOGIN_ACTIONS + NOT_PERMISSION_ACTIONS),
    ),
    SectionDef("retention", _("审计日志清理"), "changes", Q(action__in=RETENTION_ACTIONS)),
)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def start(self) -> dt.datetime:
        """Monday 00:00 local time (inclusive)."""
        return timezone.make_aware(dt.datetime.combine(self.monday, dt.time.min))

    @property
    def end(self) -> dt.datetime:
        """The next Monday 00:00 local time (exclusive): Sunday 23:59:59.999999 is still inside."""
        return timezone.make_aware(dt.datetime.combine(self.monday + dt.timedelta(days=7), dt.time.min))

    @classmethod
    def of(cls, day: dt.date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)


def parse_week(text: str) -> Week:
    """'2026-W47' → Week; ValueError (with a Chinese message) for anything else."""
    m = WEEK_RE.fullmatch(text or "")
    if not m:
        raise ValueError(_("周次格式应为 YYYY-Www，例如 2026-W47"))
    year, number = int(m.group(1)), int(m.group(2))
    try:
        dt.date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ValueError(_("%(year)s年没有第%(week)s周") % {"year": year, "week": number}) from exc
    if not 2000 <= year <= 9998:  # 9999-W52 would end past date.max
        raise ValueError(_("周次超出范围"))
    return Week(year, number)


def last_full_week(now: dt.datetime | None = None) -> Week:
    """The most recent Monday–Sunday week that has ended (local time)."""
    today = timezone.localdate(now or timezone.now())
    return Week.of(today - dt.timedelta(days=7))


def queryset(section: SectionDef, week: Week | None = None) -> QuerySet:
    model = AccessEntry if section.log == "access" else AuditEntry
    qs = model.objects.filter(section.query)
    if week is not None:
        qs = qs.filter(at__gte=week.start, at__lt=week.end)
    return qs.order_by("at", "id")


def log_url(section: SectionDef, week: Week) -> str:
    """The audit log page filtered to this section and week."""
    params = {"tab": section.log, "section": section.key, "since": week.monday, "until": week.sunday}
    return reverse("audit:log") + "?" + urlencode(params)


@dataclass
class Section:
    key: str
    title: Any
    log: str
    count: int
    rows: list[Any] = field(default_factory=list)
    url: str = ""


def build(week: Week, *, limit: int | None = LIST_LIMIT) -> list[Section]:
    """Counts and (the first `limit`) rows of every section for the week."""
    out = []
    for s in SECTIONS:
        qs = queryset(s, week)
        rows = list(qs if limit is None else qs[:limit])
        out.append(Section(s.key, s.title, s.log, qs.count(), rows, log_url(s, week)))
    return out


def describe(row: Any) -> str:
    """One line for a row, for the text summary and the download."""
    if isinstance(row, AccessEntry):
        ids = ", ".join(row.object_ids[:10]) + ("…" if len(row.object_ids) > 10 else "")
        return f"{display.type_label(row.object_type)} [{ids}] {row.purpose}".strip()
    text = f"{actions.label(row.action)} {row.object_repr}".strip()
    return f"{text} {row.note}".strip()


def text_summary(week: Week, *, limit: int = LIST_LIMIT) -> str:
    """The plain-text report for e-mail or cron (`doorstep audit_review`)."""
    lines = [f"审计周报 {week.label}（{week.monday:%Y-%m-%d} 至 {week.sunday:%Y-%m-%d}）", ""]
    for section in build(week, limit=limit):
        lines.append(f"{section.title}：{section.count}")
        for row in section.rows:
            at = timezone.localtime(row.at)
            lines.append(f"  {at:%m-%d %H:%M} {row.actor_name} {describe(row)} {row.ip or ''}".rstrip())
        if section.count > len(section.rows):
            lines.append(f"  ……另有 {section.count - len(section.rows)} 条，见审计日志")
    return "\n".join(lines) + "\n"


HEADERS = ["分类", "时间", "操作人", "操作人ID", "内容", "IP", "渠道"]


def export_rows(week: Week) -> list[list[Any]]:
    out: list[list[Any]] = []
    for section in build(week, limit=None):
        for row in section.rows:
            at = timezone.localtime(row.at).strftime("%Y-%m-%d %H:%M:%S")
            out.append(
                [
                    str(section.title),
                    at,
                    row.actor_name,
                    row.actor_id or "",
                    describe(row),
                    row.ip or "",
                    row.get_channel_display(),
                ]
            )
    return out


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text written by users (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(week: Week) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in export_rows(week):
        writer.writerow([_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(week: Week, fh: Any) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    summary = wb.create_sheet("汇总")
    summary.append(["周次", week.label, f"{week.monday:%Y-%m-%d} 至 {week.sunday:%Y-%m-%d}"])
    sections = build(week, limit=None)
    for s in sections:
        summary.append([str(s.title), s.count])
    detail = wb.create_sheet("明细")
    detail.append(HEADERS)
    for row in export_rows(week):
        detail.append([_safe(v) for v in row])
    wb.save(fh)
