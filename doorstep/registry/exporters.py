"""Export of a filtered registry list to Excel: masked unless the role may export full values, always audited.

`export_response(user, entity, queryset)` is what list pages call with their already scoped and filtered
queryset. Persons, houses, units and addresses are written under the import template's headers (so a full
export by a director can be corrected and imported again), followed by read-only columns.
Colour reasons pass through `display.shown_reasons`, so an export never names a person of concern.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core.errors import ServiceError
from doorstep.registry import importers, privacy, selectors
from doorstep.registry.choices import Colour, Occupancy, ReviewStatus
from doorstep.registry.display import shown_reasons

MAX_ROWS = 1_048_575  # an Excel sheet holds 1,048,576 rows, one of them the header
CHUNK = 2000


@dataclass(frozen=True)
class Out:
    """One exported column: its header and the queryset value (a `values()` lookup) it shows."""

    header: str
    lookup: str
    show: Callable[[Any], Any] | None = None
    personal: str = ""  # a privacy.PERSONAL_FIELDS name: masked unless the user may export full values


def _label(choices: Any) -> Callable[[Any], str]:
    table = {
        str(code): str(label) for code, label in (choices.choices if hasattr(choices, "choices") else choices)
    }
    return lambda value: table.get(str(value), value or "") if value not in (None, "") else ""


def _yes_no(value: Any) -> str:
    return "是" if value else "否"


def _columns_from(template: tuple[importers.Column, ...], lookups: dict[str, str]) -> list[Out]:
    """The import template's columns, in its order, with choices shown by their Chinese label."""
    out = []
    for column in template:
        lookup = lookups.get(column.field, column.field)
        show = None
        if column.kind == "choice":
            show = _label(column.choices)
        elif column.kind == "bool":
            show = _yes_no
        personal = column.field if column.field in privacy.PERSONAL_FIELDS else ""
        out.append(Out(column.header, lookup, show, personal))
    return out


PERSON_OUT = [
    *_columns_from(
        importers.PERSON_COLUMNS,
        {"house_code": "house__code", "grid_code": "grid__code", "household_no": "household__household_no"},
    ),
    Out("网格", "grid__name"),
    Out("现住地址", "house__address__full_text"),
]
HOUSE_OUT = [
    *_columns_from(importers.HOUSE_COLUMNS, {"address_code": "address__code"}),
    Out("地址", "address__full_text"),
    Out("网格", "grid__name"),
    Out("分色", "colour", _label(Colour)),
    Out("分色原因", "colour_reasons"),
    Out("最近走访", "last_visit_at"),
    Out("下次走访期限", "next_visit_due"),
]
HOUSEHOLD_OUT = [
    Out("房屋编码", "house__code"),
    Out("地址", "house__address__full_text"),
    Out("户号", "household_no"),
    Out("户主", "head__name"),
    Out("人数", "member_count"),
    Out("居住类型", "house__occupancy", _label(Occupancy)),
    Out("网格", "grid__name"),
    Out("分色", "colour", _label(Colour)),
    Out("分色原因", "colour_reasons"),
    Out("最近走访", "last_visit_at"),
    Out("下次走访期限", "next_visit_due"),
]
UNIT_OUT = [
    *_columns_from(importers.UNIT_COLUMNS, {"address_code": "address__code"}),
    Out("地址", "address__full_text"),
    Out("网格", "grid__name"),
]
ADDRESS_OUT = [
    *_columns_from(importers.ADDRESS_COLUMNS, {"grid_code": "grid__code"}),
    Out("完整地址", "full_text"),
    Out("网格", "grid__name"),
    Out("审核结果", "review_status", _label(ReviewStatus)),
]


@dataclass(frozen=True)
class Entity:
    label: str
    columns: list[Out]
    scoped: Callable[[Any], QuerySet]  # the selector of what the user may see


ENTITIES: dict[str, Entity] = {
    "persons": Entity("实有人口", PERSON_OUT, selectors.persons_for),
    "houses": Entity("实有房屋", HOUSE_OUT, selectors.houses_for),
    "households": Entity("户", HOUSEHOLD_OUT, selectors.households_for),
    "units": Entity("实有单位", UNIT_OUT, selectors.units_for),
    "addresses": Entity("标准地址", ADDRESS_OUT, selectors.addresses_for),
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else value
    if isinstance(value, Decimal):
        return float(value)
    return value


def rows(user: Any, entity: str, queryset: QuerySet) -> Iterator[tuple[int, list[Any]]]:
    """(pk, cells) for every object of the queryset, masked for `user` unless they may export full values."""
    spec = ENTITIES[entity]
    full = privacy.may_export_full(user)
    if entity == "households":
        queryset = queryset.annotate(member_count=Count("members"))
    lookups = ["pk", *dict.fromkeys(c.lookup for c in spec.columns)]
    for record in queryset.values(*lookups).iterator(chunk_size=CHUNK):
        cells = []
        for column in spec.columns:
            value = record[column.lookup]
            if column.lookup == "colour_reasons":
                value = "；".join(shown_reasons(user, value))
            elif column.personal and not full:
                value = privacy.masked(column.personal, value)
            elif column.show is not None:
                value = column.show(value)
            cells.append(_cell(value))
        yield record["pk"], cells


def write_workbook(user: Any, entity: str, queryset: QuerySet, fh: Any) -> list[int]:
    """Write the export to a binary file object; returns the exported primary keys."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    spec = ENTITIES[entity]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(spec.label)
    header = []
    for column in spec.columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    ids = []
    for pk, cells in rows(user, entity, queryset):
        if len(ids) >= MAX_ROWS:
            raise ServiceError(_("导出超过Excel的行数上限，请缩小筛选范围"), code="too_many")
        ws.append(cells)
        ids.append(pk)
    wb.save(fh)
    return ids


def export_response(user: Any, entity: str, queryset: QuerySet, *, purpose: str = "") -> FileResponse:
    """An .xlsx download of `queryset` (already scoped and filtered by the caller), audited as an export.

    The queryset is scoped once more by the entity's selector, so a caller cannot widen what leaves the
    system by mistake.
    """
    if entity not in ENTITIES:
        raise ServiceError(_("不支持导出此类数据"), code="entity")
    spec = ENTITIES[entity]
    if not (user and user.is_authenticated):
        raise ServiceError(_("请先登录"), code="not_allowed")
    scoped = queryset.filter(pk__in=spec.scoped(user).values("pk"))
    fh = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 - FileResponse closes it
    ids = write_workbook(user, entity, scoped, fh)
    full = privacy.may_export_full(user)
    privacy.log_export(user, scoped.model._meta.label_lower, ids, full=full, purpose=purpose)
    fh.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{spec.label}-{stamp}{'' if full else '-脱敏'}.xlsx"
    response = FileResponse(
        fh,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response
