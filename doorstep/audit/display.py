"""How a change-log row reads on the auditor's page: the action's label, the object's type in words, and the
stored before/after values as short "字段：前 → 后" lines.

Only what the row stores is shown: snapshots already hold masked values for encrypted fields (a phone's
display mask, an ID number's digest), and nothing here looks anything up beyond field names and choices.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.audit import actions
from doorstep.audit.models import AccessEntry, AuditEntry

MAX_FIELDS = 8  # lines per row; the rest is summed up as "等N项"
MAX_CHARS = 80  # per value
EMPTY = "—"


# Keys of the values that services write with an event rather than a snapshot (no model field names them)
EVENT_FIELDS = {
    "accuracy_m": gettext_lazy("定位精度（米）"),
    "assignments": gettext_lazy("值班安排"),
    "at": gettext_lazy("时间"),
    "batch": gettext_lazy("批次"),
    "camera": gettext_lazy("摄像机"),
    "count": gettext_lazy("数量"),
    "days": gettext_lazy("天数"),
    "device": gettext_lazy("验证设备"),
    "devices_deleted": gettext_lazy("删除的验证设备"),
    "distance_m": gettext_lazy("距离（米）"),
    "file": gettext_lazy("文件"),
    "from": gettext_lazy("原为"),
    "gaps": gettext_lazy("缺口"),
    "lat": gettext_lazy("纬度"),
    "lng": gettext_lazy("经度"),
    "n": gettext_lazy("数量"),
    "note": gettext_lazy("说明"),
    "officer": gettext_lazy("民警"),
    "phone": gettext_lazy("电话"),
    "points": gettext_lazy("轨迹点数"),
    "remaining": gettext_lazy("剩余"),
    "result": gettext_lazy("结果"),
    "rows": gettext_lazy("行数"),
    "scopes": gettext_lazy("权限范围"),
    "sessions": gettext_lazy("注销的会话"),
    "shifts": gettext_lazy("班次数"),
    "speakers": gettext_lazy("音柱"),
    "status": gettext_lazy("状态"),
    "to": gettext_lazy("改为"),
    "tokens_revoked": gettext_lazy("吊销的令牌"),
    "user": gettext_lazy("用户"),
    "week": gettext_lazy("周次"),
    "zones": gettext_lazy("检测区域"),
}


# Object types that are not models, and the values of AccessEntry.fields that are not field names
TYPE_NAMES = {
    "audit.review": gettext_lazy("审计周报"),
    "http.request": gettext_lazy("网页请求"),
}
ACCESS_FIELDS = {
    "full": gettext_lazy("完整信息"),
    "masked": gettext_lazy("遮挡后的信息"),
    "statistics": gettext_lazy("统计数据"),
    "pdf": "PDF",
    "xlsx": "Excel",
}
MAX_IDS = 10  # object ids shown per access row; the rest is counted


@dataclass(frozen=True)
class Line:
    """One field of a row: `before` is None for a creation or an event (only the value is shown)."""

    field: str
    after: str
    before: str | None = None


@dataclass
class Row:
    entry: AuditEntry
    action_label: str
    type_label: str
    lines: list[Line] = field(default_factory=list)
    more: str = ""  # "等3项" when fields were left out


@functools.lru_cache(maxsize=256)
def _model(object_type: str) -> type[models.Model] | None:
    """The model an `object_type` (a model's label_lower) names; None for events such as "http.request"."""
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


@functools.lru_cache(maxsize=256)
def _fields(object_type: str) -> dict[str, models.Field]:
    """The model's concrete fields by attname and by name (snapshots store foreign keys as "grid_id")."""
    model = _model(object_type)
    if model is None:
        return {}
    out: dict[str, models.Field] = {}
    for f in model._meta.concrete_fields:
        out[f.name] = f
        out[f.attname] = f
    return out


def type_label(object_type: str) -> str:
    """The model's verbose_name ("人员"), or the stored text for a type that is not a model."""
    model = _model(object_type)
    if model is not None:
        return str(model._meta.verbose_name)
    return str(TYPE_NAMES.get(object_type, object_type))


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def _date_time(text: str) -> str | None:
    """An ISO date-time as stored by services.snapshot, shown in local time; None when it is not one."""
    if len(text) < 19 or text[4:5] != "-" or text[10:11] != "T":
        return None
    try:
        value = parse_datetime(text)
    except ValueError:
        return None
    if value is None:
        return None
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def plain(value: Any, model_field: models.Field | None = None) -> str:
    """A stored value as an auditor reads it: — for nothing, 是/否, lists joined, choices by their label."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list | tuple):
        return _truncate("、".join(plain(v) for v in value))
    if isinstance(value, dict):
        return _truncate("；".join(f"{k}：{plain(v)}" for k, v in value.items()))
    if model_field is not None and model_field.choices and not isinstance(value, dict | list):
        choices = dict(model_field.flatchoices)
        if value in choices:
            return _truncate(str(choices[value]))
    if isinstance(value, str):
        return _truncate(_date_time(value) or value)
    if isinstance(value, float | int | dt.date):
        return str(value)
    return _truncate(str(value))


def _name(key: str, fields: dict[str, models.Field]) -> str:
    f = fields.get(key)
    if f is not None:
        return str(f.verbose_name)
    return str(EVENT_FIELDS.get(key, key))


def changes(entry: AuditEntry) -> tuple[list[Line], int]:
    """The row's lines (at most MAX_FIELDS) and how many more fields there are."""
    before, after = entry.before, entry.after
    fields = _fields(entry.object_type)
    if not isinstance(before, dict) and not isinstance(after, dict):
        # a value that is not a snapshot (never written today, but the column is free JSON)
        value = after if after not in (None, "") else before
        return ([Line(_("内容"), plain(value))] if value not in (None, "") else []), 0
    if isinstance(before, dict):
        after_dict = after if isinstance(after, dict) else {}
        keys = list(dict.fromkeys([*before, *after_dict]))
        lines = [
            Line(
                _name(k, fields),
                plain(after_dict.get(k), fields.get(k)),
                plain(before.get(k), fields.get(k)),
            )
            for k in keys[:MAX_FIELDS]
        ]
    else:
        # a creation or an event: the object's own id is already in the 对象 column
        model = _model(entry.object_type)
        pk = model._meta.pk.attname if model is not None else None
        keys = [k for k in after if k != pk]
        lines = [Line(_name(k, fields), plain(after[k], fields.get(k))) for k in keys[:MAX_FIELDS]]
    return lines, max(0, len(keys) - MAX_FIELDS)


def row(entry: AuditEntry) -> Row:
    lines, more = changes(entry)
    more_text = _("等%(count)d项") % {"count": more} if more else ""
    return Row(entry, actions.label(entry.action), type_label(entry.object_type), lines, more_text)


def rows(entries: Any) -> list[Row]:
    return [row(e) for e in entries]


@dataclass
class AccessRow:
    entry: AccessEntry
    type_label: str
    ids: str  # "#12、#15 等3条"
    fields: str  # the fields by their names: "公民身份号码、联系电话"


def access_row(entry: AccessEntry) -> AccessRow:
    from doorstep.audit.review import SECTION_BY_KEY  # review imports models only; no cycle at import time

    names = _fields(entry.object_type)
    fields = []
    for key in entry.fields or []:
        if key in names:
            fields.append(str(names[key].verbose_name))
        elif key in SECTION_BY_KEY:
            fields.append(str(SECTION_BY_KEY[key].title))
        else:
            fields.append(str(ACCESS_FIELDS.get(key, key)))
    ids = list(entry.object_ids or [])
    shown = "、".join(f"#{i}" for i in ids[:MAX_IDS])
    if len(ids) > MAX_IDS:
        shown += _(" 等%(count)d条") % {"count": len(ids)}
    return AccessRow(entry, type_label(entry.object_type), shown, "、".join(fields))


def access_rows(entries: Any) -> list[AccessRow]:
    return [access_row(e) for e in entries]
