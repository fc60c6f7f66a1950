"""Incident services (发案): record, correct, delete, register from a service-desk case, import from Excel.

Every write checks the role and the territory, validates with the same rules (`incident_problems`), writes
in one transaction with its audit entry. The grid's row is locked while a write checks for a duplicate
(same grid, date and case number), so two concurrent writes cannot both pass the check.

An Excel import is all or nothing: every row is parsed and checked first; if any row is bad, each bad row
is reported with its row number and reasons and nothing is written. Only when every row is good are all of
them written, in one transaction, each with its audit entry (an import is at most MAX_IMPORT_ROWS rows, so
the per-row audit entry costs little and keeps every incident's history in one place). Reading the file
reuses the registry importer's reader, cell parsing and error types (docs/adr/0009-bulk-import.md).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.validators import within_service_years
from doorstep.desk.choices import IntakeKind
from doorstep.evaluation import access
from doorstep.evaluation.choices import INCIDENT_TYPES, IncidentCategory, IncidentSource
from doorstep.evaluation.models import Incident
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.registry.importers import BadRow, CellError, Column, FileError, open_source

MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 5 << 20  # 5,000 incidents are well under 1 MB of .xlsx

# Category cells: the template offers 刑事 / 治安; the full labels and the codes are accepted too.
CATEGORY_WORDS = {
    "刑事": IncidentCategory.CRIMINAL,
    "刑事案件": IncidentCategory.CRIMINAL,
    IncidentCategory.CRIMINAL.value: IncidentCategory.CRIMINAL,
    "治安": IncidentCategory.PUBLIC_ORDER,
    "治安案件": IncidentCategory.PUBLIC_ORDER,
    IncidentCategory.PUBLIC_ORDER.value: IncidentCategory.PUBLIC_ORDER,
}

# The import's columns, in the template's order (headers are matched without a trailing "*").
COLUMNS = (
    Column("网格编码", "grid_code", kind="upper", required=True, max_length=20, help="本辖区网格的编码"),
    Column("发案日期", "occurred_on", kind="date", required=True, help="如 2026-11-28，不能晚于今天"),
    Column("案件类别", "category", kind="category", required=True, help="刑事 或 治安"),
    Column("案由", "kind", required=True, max_length=30, help="如 " + "、".join(INCIDENT_TYPES[:6])),
    Column("发案地点", "place", required=True, max_length=200),
    Column("案件编号", "case_number", max_length=40, help="有编号时，同一网格同一天的编号不能重复"),
    Column("备注", "note", max_length=300),
)


# --- rules ---------------------------------------------------------------------------------------------------
def today() -> dt.date:
    return timezone.localdate()


def incident_problems(
    *, occurred_on: Any, category: Any, kind: str, place: str, case_number: str = "", note: str = ""
) -> list[tuple[str, str]]:
    """Every rule of one incident that needs no database: (field, reason in Chinese) pairs."""
    problems: list[tuple[str, str]] = []
    if not isinstance(occurred_on, dt.date):
        problems.append(("occurred_on", _("请填写发案日期")))
    else:
        try:
            within_service_years(occurred_on)
        except ValidationError as exc:
            problems.append(("occurred_on", exc.messages[0]))
        else:
            if occurred_on > today():
                problems.append(("occurred_on", _("发案日期不能晚于今天")))
    if category not in IncidentCategory.values:
        problems.append(("category", _("案件类别应为刑事案件或治安案件")))
    if not kind:
        problems.append(("kind", _("请填写案由")))
    elif len(kind) > 30:
        problems.append(("kind", _("案由不能超过30个字")))
    if not place:
        problems.append(("place", _("请填写发案地点")))
    elif len(place) > 200:
        problems.append(("place", _("发案地点不能超过200个字")))
    if len(case_number) > 40:
        problems.append(("case_number", _("案件编号不能超过40个字符")))
    if len(note) > 300:
        problems.append(("note", _("备注不能超过300个字")))
    return problems


def _duplicate_exists(grid_id: int, occurred_on: dt.date, case_number: str, exclude: int | None) -> bool:
    if not case_number:
        return False
    qs = Incident.objects.filter(grid_id=grid_id, occurred_on=occurred_on, case_number=case_number)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def duplicate_message() -> str:
    return _("该网格同一发案日期已有此案件编号的发案")


def _check(
    grid: Grid,
    occurred_on: Any,
    category: Any,
    kind: str,
    place: str,
    case_number: str,
    note: str,
    *,
    exclude: int | None = None,
) -> None:
    """Raise the first problem as a ServiceError on its field; call inside the transaction (grid locked)."""
    problems = incident_problems(
        occurred_on=occurred_on,
        category=category,
        kind=kind,
        place=place,
        case_number=case_number,
        note=note,
    )
    if problems:
        name, message = problems[0]
        raise ServiceError(message, code=name)
    Grid.objects.select_for_update().filter(pk=grid.pk).first()
    if _duplicate_exists(grid.pk, occurred_on, case_number, exclude):
        raise RuleViolation(duplicate_message(), code="case_number")


def _require_recorder(by: Any, grid: Grid) -> None:
    if not access.may_record_incidents(by):
        raise NotAllowed(_("只有所长、社区民警、考评办和系统管理员可以登记发案"))
    if not access.may_record_in(by, grid):
        raise NotAllowed(_("该网格不在您的辖区内"), code="grid")


def _intake_grid_ok(intake: Any, grid: Grid) -> bool:
    """A desk case belongs to the grid of its address, or to a grid of the police room's community."""
    if intake.address_id and intake.address.grid_id == grid.pk:
        return True
    return grid.community_id == intake.room.community_id


# --- writes --------------------------------------------------------------------------------------------------
def record_incident(
    *,
    grid: Grid,
    occurred_on: dt.date,
    category: str,
    kind: str,
    place: str,
    by: Any,
    case_number: str = "",
    note: str = "",
    intake: Any = None,
) -> Incident:
    """登记发案: record one incident in a grid, optionally from a service-desk case (警情/案件) — one incident
    per desk item, in the grid of the item's address or a grid of its police room's community."""
    _require_recorder(by, grid)
    kind, place = (kind or "").strip(), (place or "").strip()
    case_number, note = (case_number or "").strip(), (note or "").strip()
    source = IncidentSource.ENTERED
    if intake is not None:
        if not Territory.for_user(by).contains(intake):
            raise NotAllowed(_("该服务台事项不在您的辖区内"))
        if intake.kind != IntakeKind.CASE:
            raise ServiceError(_("只有警情/案件类事项可以登记为发案"), code="intake")
        if not _intake_grid_ok(intake, grid):
            raise ServiceError(_("网格应为事项地址所在网格或该警务室所在社区的网格"), code="grid")
        source = IncidentSource.DESK
    try:
        with transaction.atomic():
            _check(grid, occurred_on, category, kind, place, case_number, note)
            if intake is not None and Incident.objects.filter(intake=intake).exists():
                raise RuleViolation(_("该事项已登记为发案"), code="intake")
            incident = Incident.objects.create(
                grid=grid,
                occurred_on=occurred_on,
                category=category,
                kind=kind,
                place=place,
                case_number=case_number,
                note=note,
                source=source,
                intake=intake,
                created_by=by,
            )
            record_change(by, "evaluation.incident_create", incident)
    except IntegrityError as exc:  # a concurrent registration of the same desk item
        raise RuleViolation(_("该事项已登记为发案"), code="intake") from exc
    return incident


def update_incident(
    incident: Incident,
    *,
    grid: Grid,
    occurred_on: dt.date,
    category: str,
    kind: str,
    place: str,
    by: Any,
    case_number: str = "",
    note: str = "",
) -> Incident:
    """更正发案: correct an incident (its grid may move only inside the user's territory)."""
    _require_recorder(by, incident.grid)
    _require_recorder(by, grid)
    kind, place = (kind or "").strip(), (place or "").strip()
    case_number, note = (case_number or "").strip(), (note or "").strip()
    if incident.intake_id and not _intake_grid_ok(incident.intake, grid):
        raise ServiceError(_("网格应为事项地址所在网格或该警务室所在社区的网格"), code="grid")
    with transaction.atomic():
        _check(grid, occurred_on, category, kind, place, case_number, note, exclude=incident.pk)
        before = snapshot(incident)
        incident.grid = grid
        incident.occurred_on = occurred_on
        incident.category = category
        incident.kind = kind
        incident.place = place
        incident.case_number = case_number
        incident.note = note
        incident.save()
        record_change(by, "evaluation.incident_update", incident, before=before)
    return incident


def delete_incident(incident: Incident, *, by: Any) -> None:
    """删除发案 (a desk item registered by mistake can then be registered again)."""
    _require_recorder(by, incident.grid)
    with transaction.atomic():
        record_change(by, "evaluation.incident_delete", incident, before=snapshot(incident), after={})
        incident.delete()


# --- import --------------------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import found: the rows read, the rows written (0 when any row is bad) and every bad row."""

    filename: str
    total: int = 0
    created: int = 0
    bad: list[BadRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad

    def summary(self) -> str:
        if self.bad:
            return _("共%(total)d行，有误%(bad)d行；未导入任何数据，请改正后重新上传。") % {
                "total": self.total,
                "bad": len(self.bad),
            }
        return _("导入完成：共%(total)d行，新增发案%(created)d起。") % {
            "total": self.total,
            "created": self.created,
        }


def _parse_category(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise CellError(_("不能为空"))
    code = CATEGORY_WORDS.get(value) or CATEGORY_WORDS.get(value.lower())
    if code is None:
        raise CellError(_("应为“刑事”或“治安”"))
    return str(code)


def _map_header(header: list[str], report: ImportReport) -> list[tuple[int, Column]]:
    by_header = {c.header: c for c in COLUMNS}
    index: list[tuple[int, Column]] = []
    seen: set[str] = set()
    unknown: list[str] = []
    for i, text in enumerate(header):
        text = (text or "").strip().lstrip("\ufeff").rstrip("*").strip()
        column = by_header.get(text)
        if column is None:
            if text:
                unknown.append(text[:30])
            continue
        if column.field in seen:
            raise FileError(_("列“%(column)s”出现了两次") % {"column": column.header})
        seen.add(column.field)
        index.append((i, column))
    missing = [c.header for c in COLUMNS if c.required and c.field not in seen]
    if missing:
        raise FileError(
            _("缺少必填列：%(columns)s。请使用下载的导入模板。") % {"columns": "、".join(missing)}
        )
    if unknown:
        report.warnings.append(
            _("以下列无法识别，已忽略：%(columns)s") % {"columns": "、".join(unknown[:10])}
        )
    return index


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    errors: list[str]
    failed: set[str] = field(default_factory=set)  # the fields whose cells could not be read
    grid: Grid | None = None


def _parse_row(number: int, cells: list[str], index: list[tuple[int, Column]]) -> _Row:
    values: dict[str, Any] = {"case_number": "", "note": ""}
    errors: list[str] = []
    failed: set[str] = set()
    for i, column in index:
        raw = cells[i] if i < len(cells) else ""
        try:
            if column.kind == "category":
                values[column.field] = _parse_category(raw)
            else:
                values[column.field] = column.parse(raw)
        except CellError as exc:
            errors.append(f"{column.header}：{exc}")
            failed.add(column.field)
    return _Row(number, values, errors, failed)


def _read_rows(upload: IO[bytes], filename: str, report: ImportReport) -> list[_Row]:
    if not filename.lower().endswith(".xlsx"):
        raise FileError(_("只支持 .xlsx 文件，请使用下载的导入模板"))
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_IMPORT_BYTES:
        raise FileError(_("文件超过 %(mb)d MB") % {"mb": MAX_IMPORT_BYTES >> 20})
    if size == 0:
        raise FileError(_("文件是空的"))
    if not zipfile.is_zipfile(upload):
        raise FileError(_("不是有效的 .xlsx 文件，请使用下载的导入模板"))
    upload.seek(0)
    try:
        source = open_source(upload, filename)  # type: ignore[arg-type]  # openpyxl reads file objects too
    except FileError:
        raise
    except Exception as exc:  # a zip that is not a workbook: openpyxl raises many kinds of errors
        raise FileError(_("不是有效的 .xlsx 文件，请使用下载的导入模板")) from exc
    rows: list[_Row] = []
    try:
        index = _map_header(source.header, report)
        try:
            for number, cells in source.rows:
                if not any(c.strip() for c in cells if c):
                    continue
                if len(rows) >= MAX_IMPORT_ROWS:
                    raise FileError(_("文件超过 %(n)d 行，请分成几个文件导入") % {"n": MAX_IMPORT_ROWS})
                rows.append(_parse_row(number, cells, index))
        except FileError:
            raise
        except Exception as exc:  # a damaged sheet inside a valid zip
            raise FileError(_("不是有效的 .xlsx 文件，请使用下载的导入模板")) from exc
    finally:
        source.close()
    if not rows:
        raise FileError(_("文件中没有数据行"))
    return rows


def _check_rows(rows: list[_Row], by: Any) -> None:
    """Grid, rules and duplicates of every row (inside the import's transaction, grids locked)."""
    codes = {r.values["grid_code"] for r in rows if r.values.get("grid_code")}
    grids = {g.code: g for g in Territory.for_user(by).grids().filter(code__in=codes)}
    list(Grid.objects.select_for_update().filter(pk__in=[g.pk for g in grids.values()]).order_by("pk"))
    seen: dict[tuple[int, dt.date, str], int] = {}
    keys: list[tuple[_Row, tuple[int, dt.date, str]]] = []
    for row in rows:
        values = row.values
        code = values.get("grid_code")
        if code:
            row.grid = grids.get(code)
            if row.grid is None:
                row.errors.append(_("网格编码：%(code)s 不存在或不在您的辖区内") % {"code": code})
        problems = incident_problems(
            occurred_on=values.get("occurred_on"),
            category=values.get("category"),
            kind=values.get("kind") or "",
            place=values.get("place") or "",
            case_number=values.get("case_number") or "",
            note=values.get("note") or "",
        )
        row.errors.extend(m for name, m in problems if name not in row.failed)  # unread cells: reported
        if row.grid is not None and values.get("case_number") and values.get("occurred_on"):
            key = (row.grid.pk, values["occurred_on"], values["case_number"])
            if key in seen:
                row.errors.append(_("与第%(row)d行重复（同一网格、发案日期和案件编号）") % {"row": seen[key]})
            else:
                seen[key] = row.number
                keys.append((row, key))
    if keys:
        numbers = {k[2] for _r, k in keys}
        existing = set(
            Incident.objects.filter(
                grid_id__in={k[0] for _r, k in keys}, case_number__in=numbers
            ).values_list("grid_id", "occurred_on", "case_number")
        )
        for row, key in keys:
            if key in existing:
                row.errors.append(duplicate_message())


def import_incidents(upload: IO[bytes], *, filename: str, by: Any) -> ImportReport:
    """导入发案 from an .xlsx file (the template's columns). All or nothing: when any row is bad the report
    lists every bad row and nothing is written. FileError when the file as a whole cannot be read."""
    if not access.may_record_incidents(by):
        raise NotAllowed(_("只有所长、社区民警、考评办和系统管理员可以导入发案"))
    report = ImportReport(filename=filename[-100:])
    rows = _read_rows(upload, filename, report)
    report.total = len(rows)
    with transaction.atomic():
        _check_rows(rows, by)
        report.bad = [
            BadRow(
                r.number, str(r.values.get("case_number") or ""), str(r.values.get("place") or ""), r.errors
            )
            for r in rows
            if r.errors
        ]
        if report.bad:
            return report
        for row in rows:
            v = row.values
            incident = Incident.objects.create(
                grid=row.grid,
                occurred_on=v["occurred_on"],
                category=v["category"],
                kind=v["kind"],
                place=v["place"],
                case_number=v["case_number"],
                note=v["note"],
                source=IncidentSource.IMPORTED,
                created_by=by,
            )
            record_change(
                by,
                "evaluation.incident_import",
                incident,
                note=_("%(file)s 第%(row)d行") % {"file": report.filename, "row": row.number},
            )
        report.created = len(rows)
    return report


# --- the template ------------------------------------------------------------------------------------------
def template_workbook() -> bytes:
    """The downloadable .xlsx template: the header row (required columns marked *), a drop-down for the
    category and the offered incident types, text format for codes, and a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "发案导入"
    lists = wb.create_sheet("代码表")
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    lists.cell(row=1, column=1, value="案件类别")
    for j, word in enumerate(("刑事", "治安"), start=2):
        lists.cell(row=j, column=1, value=word)
    lists.cell(row=1, column=2, value="案由")
    for j, word in enumerate(INCIDENT_TYPES, start=2):
        lists.cell(row=j, column=2, value=word)
    for i, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(row=1, column=i, value=column.header + ("*" if column.required else ""))
        cell.font = Font(bold=True, color="FFFFFF" if column.required else "000000")
        cell.fill = PatternFill("solid", fgColor="C0392B" if column.required else "D9E1F2")
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[letter].width = 24 if column.field == "place" else 14
        if column.field in ("grid_code", "case_number"):
            for row in range(2, 1002):  # text, so Excel keeps long codes and leading zeros intact
                ws.cell(row=row, column=i).number_format = "@"
        if column.field == "occurred_on":
            for row in range(2, 1002):
                ws.cell(row=row, column=i).number_format = "yyyy-mm-dd"
        notes.append([column.header, "是" if column.required else "", column.help])
    category = DataValidation(type="list", formula1="代码表!$A$2:$A$3", allow_blank=False)
    # The offered types; any other text is accepted (no error box).
    kinds = DataValidation(
        type="list", formula1=f"代码表!$B$2:$B${len(INCIDENT_TYPES) + 1}", showErrorMessage=False
    )
    ws.add_data_validation(category)
    ws.add_data_validation(kinds)
    category.add(f"C2:C{MAX_IMPORT_ROWS + 1}")
    kinds.add(f"D2:D{MAX_IMPORT_ROWS + 1}")
    ws.freeze_panes = "A2"
    for letter, width in (("A", 14), ("B", 10), ("C", 50)):
        notes.column_dimensions[letter].width = width
    lists.sheet_state = "hidden"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def workbook_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A one-sheet .xlsx of `header` and `rows` (tests and scripts that build import files)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
