"""Audit retention: delete audit rows older than N days (N ≥ 365), in batches, and audit the deletion.

Audit records are kept at least one year (issue #12 item 6). This module is the only code path that deletes
audit rows. Three guards, innermost last:
- `purge` refuses N < 365 and computes the cutoff itself from the clock;
- the DELETE statement names the cutoff (`at < cutoff`), never a list of ids chosen elsewhere;
- on PostgreSQL the append-only trigger (migration audit.0003) lets a DELETE through only when this
  transaction has `SET LOCAL doorstep.audit_retention = 'on'` AND the row is older than 365 days by the
  database clock. SQLite has no DELETE trigger, so there the first two guards are the only ones.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.models import AccessEntry, AuditEntry
from doorstep.audit.services import record_event
from doorstep.core.errors import ServiceError

MIN_DAYS = 365
MAX_DAYS = 36500  # a hundred years: beyond, the cutoff would fall before year 1
DEFAULT_BATCH = 5000
LOGS = (("auditentry", AuditEntry), ("accessentry", AccessEntry))
LOG_LABELS = {"auditentry": "操作日志", "accessentry": "个人信息访问日志"}


@dataclass(frozen=True)
class Plan:
    days: int
    cutoff: dt.datetime
    counts: dict[str, int]


def cutoff_for(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """Rows strictly older than this instant may go. Refuses anything shorter than one year."""
    if isinstance(days, bool) or not isinstance(days, int) or days < MIN_DAYS:
        raise ServiceError(
            _("审计记录至少保留%(min)s天，不能按%(days)s天清理") % {"min": MIN_DAYS, "days": days},
            code="too_short",
        )
    if days > MAX_DAYS:
        raise ServiceError(_("保留天数不能超过%(max)s天") % {"max": MAX_DAYS}, code="too_long")
    return (now or timezone.now()) - dt.timedelta(days=days)


def plan(days: int, now: dt.datetime | None = None) -> Plan:
    """What `purge` would delete: the cutoff and how many rows of each log are older (a dry run)."""
    cutoff = cutoff_for(days, now)
    counts = {key: model.objects.filter(at__lt=cutoff).count() for key, model in LOGS}
    return Plan(days=days, cutoff=cutoff, counts=counts)


def _delete_batch(table: str, cutoff: dt.datetime, batch: int) -> int:
    """Delete up to `batch` rows older than `cutoff` in one transaction; the database may still refuse."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL doorstep.audit_retention = 'on'")
        # The table name comes from LOGS (model metadata), never from input.
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN "  # noqa: S608
            f"(SELECT id FROM {table} WHERE at < %s ORDER BY id LIMIT %s)",
            [connection.ops.adapt_datetimefield_value(cutoff), batch],
        )
        n = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute(
                "SET LOCAL doorstep.audit_retention = 'off'"
            )  # even if nested in a longer transaction
        return n


def purge(
    days: int,
    *,
    by: Any = None,
    batch: int = DEFAULT_BATCH,
    now: dt.datetime | None = None,
    progress: Any = None,
) -> Plan:
    """Delete audit rows older than `days` days (≥ 365) in batches; both the start and the result are audited.

    Returns the plan with the counts actually deleted. `progress(key, deleted_so_far)` is called per batch."""
    if batch < 1:
        raise ServiceError(_("批量大小必须大于0"))
    before = plan(days, now)
    operator = getpass.getuser() if by is None else None
    who = f"命令行:{operator}" if operator else None
    details = {"days": days, "cutoff": before.cutoff.isoformat(), "os_user": operator}
    with transaction.atomic():
        record_event(
            by,
            "audit.retention_start",
            "audit.retention",
            object_repr=_("审计日志清理"),
            after={**details, "to_delete": before.counts},
            actor_name=who,
        )
    deleted: dict[str, int] = {}
    for key, model in LOGS:
        table = model._meta.db_table
        total = 0
        while True:
            n = _delete_batch(table, before.cutoff, batch)
            total += n
            if progress is not None and n:
                progress(key, total)
            if n < batch:
                break
        deleted[key] = total
    with transaction.atomic():
        record_event(
            by,
            "audit.retention_purge",
            "audit.retention",
            object_repr=_("审计日志清理"),
            after={**details, "deleted": deleted},
            note=_("删除%(days)s天前的审计记录") % {"days": days},
            actor_name=who,
        )
    return Plan(days=days, cutoff=before.cutoff, counts=deleted)
