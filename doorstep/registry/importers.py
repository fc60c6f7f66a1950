"""Bulk import of the registry from Excel (.xlsx) and CSV (UTF-8 with or without BOM, GBK/GB18030).

One entity per file: persons, houses, units or addresses. A file is read as a stream (openpyxl read-only,
csv reader), checked row by row and in batches against the database, and either

* **dry run** — every bad row is reported with its row number and reasons, nothing is written; or
* **real run** — every good row is written, batch by batch, each batch in one transaction, and the bad rows
  are listed. Rows are upserted by their key (ID number, house code, credit code, address code): an
  unchanged row is skipped, a changed row is updated, so importing the same file twice changes nothing.

Coordinates are stored in WGS-84; a file copied from a Chinese web map (GCJ-02 from Gaode or Tencent, BD-09
from Baidu) is imported with `crs=` and every longitude and latitude is converted as it is read.

Why batches instead of one service call per row, and what the batch does in place of the services (the
same validation, name initials, birth date and gender from the ID, one audit entry per batch, re-colouring
of the households the batch touched) is in docs/adr/0009-bulk-import.md.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import (
    DateField,
    DateTimeField,
    DecimalField,
    JSONField,
    Model,
    OuterRef,
    Subquery,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin.constants import PHRASES_DICT, RE_HANS

from doorstep.audit.services import record_change
from doorstep.core import crypto, tilecache
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.geo import CRS_CHOICES, GeometryError, check_point, to_wgs84
from doorstep.core.ids import credit_code_error
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.registry import colours, services
from doorstep.registry.choices import (
    ETHNICITIES,
    KEY_UNIT_TYPES,
    Gender,
    HouseStructure,
    HouseUse,
    KeyLevel,
    Occupancy,
    PermitType,
    PersonCategory,
    PropertyType,
    ReviewStatus,
    RiskLevel,
    UnitType,
)
from doorstep.registry.models import Address, House, Household, Person, Unit
from doorstep.registry.privacy import masked

BATCH_SIZE = 5000
# Decimal places kept of a converted coordinate (about 1 cm): the conversion's float noise below that
# carries no information, and a tidy value exports cleanly.
CONVERTED_PLACES = 7


_HANS = re.compile(RE_HANS.pattern.rstrip("$").lstrip("^"))  # one or more characters with a pinyin


class FileError(ServiceError):
    """The file as a whole cannot be imported (unreadable, wrong encoding, missing columns)."""

    code = "file"


# --- reading -----------------------------------------------------------------------------------------------
def detect_encoding(path: str | os.PathLike) -> str:
    """'utf-8-sig' when the whole file decodes as UTF-8 (BOM or not), else 'gb18030' (what Chinese Excel
    writes as "CSV"); GB18030 is a superset of GBK and GB2312. Reads the file once, in 1 MiB chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _cell(value: Any) -> str:
    """An Excel cell as the text a person typed (numbers without '.0', dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass
class Source:
    """A file opened for import: its header and a stream of (row number, cells)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    total: int | None  # data rows, when known cheaply (for the progress bar)
    encoding: str = ""
    close: Callable[[], None] = lambda: None


def open_source(path: str | os.PathLike, filename: str | None = None) -> Source:
    """Open a CSV or .xlsx file (by its name) for streaming; FileError when it cannot be read."""
    name = (filename or str(path)).lower()
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        return _open_xlsx(path)
    if name.endswith(".csv") or name.endswith(".txt"):
        return _open_csv(path)
    raise FileError(_("只支持 .xlsx 或 .csv 文件"))


def _open_csv(path: str | os.PathLike) -> Source:
    encoding = detect_encoding(path)
    with open(path, "rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    try:
        fh = open(path, encoding=encoding, newline="")  # noqa: SIM115 - closed by Source.close
    except OSError as exc:
        raise FileError(_("无法读取文件：%(error)s") % {"error": exc}) from exc
    # Excel writes commas; some exports use tabs or semicolons: take whichever the header line has most of.
    first = fh.readline()
    fh.seek(0)
    delimiter = max(",\t;", key=first.count) if first else ","
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise FileError(_("文件是空的")) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        fh.close()
        raise FileError(_("文件格式错误：%(error)s") % {"error": exc}) from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from enumerate(reader, start=2)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileError(
                _("第%(row)d行附近格式错误：%(error)s") % {"row": reader.line_num, "error": exc}
            ) from exc

    return Source(header, rows(), max(0, lines - 1), encoding, fh.close)


def _open_xlsx(path: str | os.PathLike) -> Source:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileError(_("不是有效的 .xlsx 文件：%(error)s") % {"error": exc}) from exc
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = [_cell(c).strip() for c in next(it)]
    except StopIteration:
        wb.close()
        raise FileError(_("文件是空的")) from None
    total = (ws.max_row - 1) if ws.max_row else None

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, values in enumerate(it, start=2):
            yield number, [_cell(v) for v in values]

    return Source(header, rows(), total, "xlsx", wb.close)


# --- columns -----------------------------------------------------------------------------------------------
class CellError(ValueError):
    pass


def _labels(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Accept a code or its Chinese label (as the template's drop-down offers)."""
    out = {}
    for code, label in choices:
        out[str(code)] = str(code)
        out[str(label)] = str(code)
        out[str(label).split("（")[0]] = str(code)
    return out


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str = "text"  # text, upper, date, int, decimal, float, bool, choice
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    help: str = ""
    default: Any = None

    @property
    def lookup(self) -> dict[str, str]:
        return _choice_lookup(self.choices)

    def parse(self, raw: str) -> Any:
        value = raw.strip()
        if not value:
            if self.required:
                raise CellError(_("不能为空"))
            return self.empty()
        kind = self.kind
        if kind in ("text", "upper"):
            if self.max_length and len(value) > self.max_length:
                raise CellError(_("超过%(n)d个字符") % {"n": self.max_length})
            return value.upper() if kind == "upper" else value
        if kind == "choice":
            code = self.lookup.get(value)
            if code is None:
                raise CellError(
                    _("应为以下之一：%(values)s")
                    % {"values": "、".join(str(label) for _c, label in self.choices)}
                )
            return code
        if kind == "date":
            return parse_date(value)
        if kind == "bool":
            lowered = value.lower()
            if lowered in TRUE_WORDS:
                return True
            if lowered in FALSE_WORDS:
                return False
            raise CellError(_("应填写“是”或“否”"))
        if kind == "int":
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise CellError(_("应为整数")) from None
            if number != number.to_integral_value() or number < 0 or number > 2**31:
                raise CellError(_("应为不小于0的整数"))
            return int(number)
        if kind == "decimal":
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise CellError(_("应为数字")) from None
            if not number.is_finite() or number < 0 or number >= Decimal(10**7):
                raise CellError(_("数值超出范围"))
            return number.quantize(Decimal("0.01"))
        if kind == "float":
            try:
                number = float(value)
            except ValueError:
                raise CellError(_("应为数字")) from None
            if number != number or number in (float("inf"), float("-inf")):
                raise CellError(_("应为数字"))
            return number
        raise AssertionError(kind)

    def empty(self) -> Any:
        if self.default is not None:
            return self.default
        return None if self.kind in ("date", "int", "decimal", "float", "choice_null") else ""


@lru_cache(maxsize=64)
def _choice_lookup(choices: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return _labels(choices)


TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "有"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "无"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def parse_date(value: str) -> dt.date:
    text = value.strip().split(" ")[0].split("T")[0]
    if len(text) == 10 and text[4] == "-":  # ISO, what the template and every export write
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if 1880 <= day.year <= 2200:
                return day
    for fmt in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
        if day.year < 1880 or day.year > 2200:
            raise CellError(_("日期不合理"))
        return day
    raise CellError(_("日期格式应为 YYYY-MM-DD"))


def _choices(choices_cls: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(c), str(label)) for c, label in choices_cls.choices)


def _text(model: type[Model], name: str, header: str | None = None, **kw: Any) -> Column:
    f = model._meta.get_field(name)
    return Column(header or str(f.verbose_name), name, max_length=getattr(f, "max_length", None), **kw)


def _typed(model: type[Model], name: str, kind: str, header: str | None = None, **kw: Any) -> Column:
    f = model._meta.get_field(name)
    return Column(header or str(f.verbose_name), name, kind=kind, **kw)


# --- results -----------------------------------------------------------------------------------------------
@dataclass
class BadRow:
    row: int
    key: str  # masked where it is personal
    label: str  # a name to recognise the row by
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "key": self.key, "label": self.label, "reasons": self.reasons}


@dataclass
class ImportResult:
    entity: str
    filename: str
    dry_run: bool
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: list[BadRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    encoding: str = ""
    crs: str = "wgs84"  # the coordinate system of the file's lng/lat (stored as WGS-84)

    @property
    def rejected(self) -> int:
        return len(self.bad)

    @property
    def good(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        if self.dry_run:
            return _(
                "试导入：共%(total)d行，可导入%(good)d行（新增%(created)d、更新%(updated)d、无变化%(same)d），"
                "有误%(bad)d行；未写入任何数据。"
            ) % {
                "total": self.total,
                "good": self.good,
                "created": self.created,
                "updated": self.updated,
                "same": self.unchanged,
                "bad": self.rejected,
            }
        return _(
            "导入完成：共%(total)d行，新增%(created)d行，更新%(updated)d行，无变化%(same)d行，拒绝%(bad)d行。"
        ) % {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "same": self.unchanged,
            "bad": self.rejected,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "filename": self.filename,
            "dry_run": self.dry_run,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "encoding": self.encoding,
            "crs": self.crs,
            "summary": self.summary(),
        }


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, Any]
    errors: list[str]
    key: Any = None
    action: str = ""  # create, update, same, bad
    existing: dict[str, Any] | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class _ImportLog:
    """What an audit entry of one batch points at: the file and the batch (an import has no single object)."""

    def __init__(self, label: str, batch_id: str, text: str) -> None:
        self._meta = SimpleNamespace(label_lower=label)
        self.pk = batch_id
        self.text = text

    def __str__(self) -> str:
        return self.text


# --- the importer ------------------------------------------------------------------------------------------
Progress = Callable[[int, int | None], None]


class Importer:
    """One entity's import. Subclasses declare the columns and the key, check and write batches."""

    entity = ""
    label = ""
    model: type[Model] = Model
    columns: tuple[Column, ...] = ()
    key_header = ""

    def __init__(
        self,
        *,
        by: Any = None,
        filename: str = "",
        dry_run: bool = True,
        progress: Progress | None = None,
        batch_size: int = BATCH_SIZE,
        crs: str = "wgs84",
    ) -> None:
        if by is not None and by.role not in services.WRITER_ROLES:
            raise NotAllowed(_("只有社区民警、协勤员和所长可以导入登记信息"))
        if crs not in CRS_CHOICES:
            raise ServiceError(_("不支持的坐标系：%(crs)s（应为 wgs84、gcj02 或 bd09）") % {"crs": crs})
        self.by = by
        self.territory = Territory.for_user(by) if by is not None else None
        self.filename = filename
        self.dry_run = dry_run
        self.progress = progress
        self.batch_size = batch_size
        self.crs = crs
        self.result = ImportResult(self.entity, filename, dry_run, crs=crs)
        self.seen: dict[Any, int] = {}  # key → first row number in this file
        self.batch_no = 0
        self.written, self.analyze_at = 0, ANALYZE_FIRST_AFTER  # rows sent to `write`; next ANALYZE
        self.now = timezone.now()

    # The public entry points ------------------------------------------------------------------------------
    def run_path(self, path: str | os.PathLike) -> ImportResult:
        source = open_source(path, self.filename or str(path))
        try:
            return self.run(source)
        finally:
            source.close()

    def run(self, source: Source) -> ImportResult:
        with bulk_session():
            return self._run(source)

    def _run(self, source: Source) -> ImportResult:
        self.result.encoding = source.encoding
        index = self._map_header(source.header)
        batch: list[Row] = []
        done = 0
        for number, cells in source.rows:
            if not any(c.strip() for c in cells if c):
                continue
            batch.append(self._parse(number, cells, index))
            if len(batch) >= self.batch_size:
                done += len(batch)
                self._batch(batch)
                batch = []
                if self.progress:
                    self.progress(done, source.total)
        if batch:
            done += len(batch)
            self._batch(batch)
        if self.progress:
            self.progress(done, done)
        self.result.bad.sort(key=lambda b: b.row)
        return self.result

    # Header and cells -------------------------------------------------------------------------------------
    def _map_header(self, header: list[str]) -> list[tuple[int, Column]]:
        by_header = {c.header: c for c in self.columns}
        by_field = {c.field: c for c in self.columns}
        index: list[tuple[int, Column]] = []
        seen: set[str] = set()
        unknown = []
        for i, text in enumerate(header):
            text = (text or "").strip().lstrip("\ufeff").rstrip("*").strip()
            column = by_header.get(text) or by_field.get(text)
            if column is None:
                if text:
                    unknown.append(text)
                continue
            if column.field in seen:
                raise FileError(_("列“%(column)s”出现了两次") % {"column": column.header})
            seen.add(column.field)
            index.append((i, column))
        missing = [c.header for c in self.columns if c.required and c.field not in seen]
        if missing:
            raise FileError(
                _("缺少必填列：%(columns)s。请使用下载的导入模板。") % {"columns": "、".join(missing)}
            )
        if unknown:
            self.result.warnings.append(
                _("以下列无法识别，已忽略：%(columns)s") % {"columns": "、".join(unknown)}
            )
        self.present = seen
        self.blanks = {c.field: c.empty() for _i, c in index if not c.required}
        return index

    def _parse(self, number: int, cells: list[str], index: list[tuple[int, Column]]) -> Row:
        # The hot loop of an import: blank cells and plain text take a short path (same results as
        # Column.parse, which handles everything else).
        values = dict(self.blanks)
        errors: list[str] = []
        width = len(cells)
        for i, column in index:
            raw = cells[i] if i < width else ""
            if column.kind == "text" and raw:
                text = raw.strip()
                if text and (column.max_length is None or len(text) <= column.max_length):
                    values[column.field] = text
                    continue
            elif not raw and not column.required:
                continue
            try:
                values[column.field] = column.parse(raw)
            except CellError as exc:
                values.pop(column.field, None)
                errors.append(f"{column.header}：{exc}")
        if self.crs != "wgs84":
            self._to_wgs84(values)
        return Row(number, values, errors)

    def _to_wgs84(self, values: dict[str, Any]) -> None:
        """Convert the row's point from the file's coordinate system before any check sees it (a lone
        longitude or latitude is left for the checks to refuse)."""
        lng, lat = values.get("lng"), values.get("lat")
        if lng is None or lat is None:
            return
        lng, lat = to_wgs84(lng, lat, self.crs)
        values["lng"], values["lat"] = round(lng, CONVERTED_PLACES), round(lat, CONVERTED_PLACES)

    # Batches ----------------------------------------------------------------------------------------------
    def _batch(self, rows: list[Row]) -> None:
        self.result.total += len(rows)
        self.check(rows)
        for row in rows:
            if row.errors:
                row.action = "bad"
            elif row.key is not None:
                first = self.seen.get(row.key)
                if first is not None:
                    row.errors.append(
                        _("与第%(row)d行的%(key)s重复") % {"row": first, "key": self.key_header}
                    )
                    row.action = "bad"
                else:
                    self.seen[row.key] = row.number
        good = [r for r in rows if r.action != "bad"]
        self.decide(good)
        if not self.dry_run and any(r.action in ("create", "update") for r in good):
            self._write(good)
        for row in rows:
            if row.action == "bad":
                self.result.bad.append(
                    BadRow(row.number, self.describe_key(row), self.describe(row), row.errors)
                )
            elif row.action == "create":
                self.result.created += 1
            elif row.action == "update":
                self.result.updated += 1
            else:
                self.result.unchanged += 1

    def _write(self, good: list[Row]) -> None:
        self.batch_no += 1
        if self.written >= self.analyze_at:  # the tables have grown: fresh plans for the next batches
            analyze_registry()
            self.analyze_at = 2 * self.written
        self.written += len(good)
        try:
            with transaction.atomic():
                self.write(good)
        except (IntegrityError, DatabaseError):
            # Something the checks could not foresee (a concurrent edit, a constraint): write one row per
            # transaction to find it, so the good rows still go in and no row is ever half-written.
            pass
        else:
            self.committed()
            return
        for row in good:
            if row.action not in ("create", "update"):
                continue
            try:
                with transaction.atomic():
                    self.write([row])
            except (IntegrityError, DatabaseError, ServiceError) as exc:
                row.action = "bad"
                row.errors.append(_("数据库拒绝写入：%(error)s") % {"error": str(exc)[:200]})
            else:
                self.committed()

    def allowed(self, grid_id: int | None) -> bool:
        t = self.territory
        return t is None or t.whole or grid_id in t.grid_ids

    def describe_key(self, row: Row) -> str:
        return str(row.values.get(self.key_field, "") or "")

    def describe(self, row: Row) -> str:
        return ""

    def audit(self, created: list[int], updated: dict[int, dict[str, Any]], rows: list[Row]) -> None:
        """One change-log entry for the batch: the file, the rows, what was created and what changed."""
        first, last = rows[0].number, rows[-1].number
        text = _("批量导入%(label)s：%(file)s 第%(batch)d批（第%(first)d—%(last)d行）") % {
            "label": self.label,
            "file": self.filename,
            "batch": self.batch_no,
            "first": first,
            "last": last,
        }
        record_change(
            self.by,
            f"registry.import_{self.entity}",
            _ImportLog(self.model._meta.label_lower, f"{self.filename}#{self.batch_no}"[:64], text),
            after={
                "file": self.filename,
                "batch": self.batch_no,
                "rows": [first, last],
                "created": len(created),
                "updated": len(updated),
                "created_ids": created,
                "changes": {str(k): v for k, v in updated.items()},
            },
            note=text,
        )

    # To be provided by each entity ------------------------------------------------------------------------
    key_field = ""

    def check(self, rows: list[Row]) -> None:
        """Set `errors`, `key` and `existing` of every row (no writes)."""
        raise NotImplementedError

    def decide(self, rows: list[Row]) -> None:
        """Set `action` (create, update, same) and `changes` of the good rows."""
        for row in rows:
            if row.existing is None:
                row.action = "create"
            else:
                row.changes = _diff(row.existing, {k: row.values[k] for k in self.compare if k in row.values})
                row.action = "update" if row.changes else "same"

    def write(self, rows: list[Row]) -> None:
        """Write the rows to create or update; runs inside a transaction."""
        raise NotImplementedError

    def committed(self) -> None:
        """The last `write` committed: caches may now remember what it created."""

    compare: tuple[str, ...] = ()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return value


def _change(model: type[Model], name: str, old: Any, new: Any) -> list[Any]:
    """[old, new] of a changed field for the change log, which is not encrypted: an encrypted field's values
    are kept masked with a short keyed digest, as `audit.services.snapshot` keeps them."""
    if not isinstance(_attnames(model).get(name), crypto.EncryptedCharField):
        return [_jsonable(old), _jsonable(new)]
    return [crypto.audit_repr(v) for v in (old, new)]


def _diff(existing: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in new.items() if existing.get(k) != v}


def _grid_map(codes: set[str]) -> dict[str, int]:
    return dict(Grid.objects.filter(code__in=codes).values_list("code", "id")) if codes else {}


# --- writing in bulk --------------------------------------------------------------------------------------
SQLITE_BULK_CACHE_KIB = 128 * 1024


REGISTRY_TABLES = (
    "registry_address",
    "registry_house",
    "registry_household",
    "registry_person",
    "registry_personofconcern",
    "registry_unit",
)
ANALYZE_FIRST_AFTER = 20_000  # rows written; then each time the rows written since start have doubled


def analyze_registry() -> None:
    """Refresh PostgreSQL's statistics of the registry tables (a no-op on SQLite, which plans by its indexes).

    PostgreSQL plans the `… IN (2,000 ids)` reads of the colour rules from them; after a bulk load they still
    describe the tables as they were (empty), and every such read becomes a sequential scan — measured: the
    district recolour took 119 s before an ANALYZE and ~40 s after. Autovacuum would get there, later."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(REGISTRY_TABLES))


@contextmanager
def bulk_session() -> Iterator[None]:
    """Settings of this connection while a bulk job runs on SQLite; on PostgreSQL, fresh statistics at the end
    (`analyze_registry`). On SQLite:

    * a 128 MiB page cache instead of the 2 MiB default: a person row updates about fifteen indexes, and a
      small cache reads their pages again for every batch;
    * `synchronous=NORMAL` instead of FULL: in WAL mode a commit still survives a crash of the process;
      a power cut may lose the last batches (never part of one), which running the file again restores.
    """
    if connection.vendor != "sqlite":
        yield
        analyze_registry()
        return
    # SQLite refuses to change `synchronous` inside a transaction (a caller's, or a test's); a job that
    # runs inside one commits once at its end anyway.
    outside = not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (cache,) = cursor.fetchone()
        cursor.execute("PRAGMA synchronous")
        (sync,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
        if outside:
            cursor.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
            if outside:
                cursor.execute(f"PRAGMA synchronous = {int(sync)}")


@lru_cache(maxsize=16)
def _insert_plan(model: type[Model], vendor: str) -> tuple[str, tuple[Any, ...]]:
    # Generated columns (the search keys) are the database's to fill.
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key and not f.generated)
    qn = connection.ops.quote_name
    table, columns = qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
    if vendor == "postgresql":
        return f"COPY {table} ({columns}) FROM STDIN", fields
    # Identifiers from the model's own metadata, quoted; every value is a parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    return sql, fields


def _adapter(field: Any) -> Callable[[Any], Any] | None:
    """How a value reaches the database driver (dates and times need help, and encrypted text must be
    encrypted here: these raw writes do not go through the field; other text and numbers go as they are)."""
    if isinstance(field, crypto.EncryptedCharField):
        return field.get_prep_value
    if isinstance(field, DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, DecimalField):
        return lambda v: connection.ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    if isinstance(field, JSONField):
        return lambda v: field.get_db_prep_save(v, connection)
    return None


def insert_rows(model: type[Model], rows: list[dict[str, Any]], now: dt.datetime) -> None:
    """INSERT many rows (attname → value; missing fields take their defaults): one `executemany` on SQLite,
    one COPY on PostgreSQL.

    This is what `bulk_create` does, without building a model instance and compiling SQL per object, which
    is most of the cost at 600,000 rows; the rows have been checked like the services check them. As
    `bulk_create` would, it encrypts the encrypted fields and computes their search hashes (core.crypto).
    """
    if not rows:
        return
    sql, fields = _insert_plan(model, connection.vendor)
    plain, adapted = [], []  # (position, attname, default[, adapter])
    hashed = []  # (position, source attname, source default, kind, last)
    values: list[Any] = [None] * len(fields)
    for pos, f in enumerate(fields):
        adapt = _adapter(f)
        if isinstance(f, crypto.SearchHashField):
            source = model._meta.get_field(f.source)
            hashed.append((pos, source.attname, source.get_default(), f.kind, f.last))
        elif f.attname in ("created_at", "updated_at"):
            values[pos] = adapt(now) if adapt else now
        elif adapt is None:
            plain.append((pos, f.attname, f.get_default()))
        else:
            adapted.append((pos, f.attname, f.get_default(), adapt))
    params = []
    for row in rows:
        get = row.get
        for pos, name, default in plain:
            values[pos] = get(name, default)
        for pos, name, default, adapt in adapted:
            value = get(name, default)
            values[pos] = None if value is None else adapt(value)
        for pos, name, default, kind, last in hashed:
            values[pos] = crypto.search_hash(kind, get(name, default), last=last)
        params.append(tuple(values))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: PostgreSQL's bulk path, several times faster than one INSERT per row.
            with cursor.cursor.copy(sql) as copy:
                for values in params:
                    copy.write_row(values)
        else:  # SQLite prepares the statement once and steps it for every row
            cursor.executemany(sql, params)


def update_rows(model: type[Model], changes: list[tuple[int, dict[str, Any]]], now: dt.datetime) -> None:
    """UPDATE many rows by primary key, one `executemany` per set of changed fields (plus updated_at);
    `bulk_update` would build a CASE expression per row and field instead. A changed encrypted field is
    encrypted and its search hashes are written with it (core.crypto)."""
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
    for pk, diff in changes:
        if diff:
            diff = _with_hashes(model, diff)
            groups.setdefault(tuple(sorted(diff)), []).append((pk, diff))
    qn = connection.ops.quote_name
    meta = model._meta
    stamp = meta.get_field("updated_at")
    for names, items in groups.items():
        fields = [_attnames(model)[n] for n in names]
        sql = "UPDATE {} SET {}, {} = %s WHERE {} = %s".format(  # noqa: S608 - quoted model identifiers
            qn(meta.db_table),
            ", ".join(f"{qn(f.column)} = %s" for f in fields),
            qn(stamp.column),
            qn(meta.pk.column),
        )
        adapters = [_adapter(f) for f in fields]
        stamp_value = _adapter(stamp)(now)
        params = [
            [
                *(
                    a(d[n]) if a is not None and d[n] is not None else d[n]
                    for n, a in zip(names, adapters, strict=True)
                ),
                stamp_value,
                pk,
            ]
            for pk, d in items
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _with_hashes(model: type[Model], diff: dict[str, Any]) -> dict[str, Any]:
    """`diff` plus the search hashes of the encrypted fields it changes (a raw UPDATE has no `pre_save`)."""
    hashes = [f for f in crypto.hash_fields(model) if f.source in diff]
    if not hashes:
        return diff
    return {**diff, **{f.attname: crypto.search_hash(f.kind, diff[f.source], last=f.last) for f in hashes}}


def select_in(sql: str, values: list[Any], chunk: int = 5000) -> list[tuple[Any, ...]]:
    """Rows of `sql` (one `IN ({})` placeholder) for many values, in chunks: the importer's own lookups of
    what it has just written, without the ORM preparing every value of a 5,000-item IN list."""
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for i in range(0, len(values), chunk):
            part = values[i : i + chunk]
            cursor.execute(sql.format(", ".join(["%s"] * len(part))), part)
            rows.extend(cursor.fetchall())
    return rows


@lru_cache(maxsize=16)
def _attnames(model: type[Model]) -> dict[str, Any]:
    return {f.attname: f for f in model._meta.concrete_fields}


# --- persons -----------------------------------------------------------------------------------------------
PERSON_COLUMNS: tuple[Column, ...] = (
    _text(Person, "id_number", kind="upper", help="18位；境外人员无公民身份号码时可空"),
    _text(Person, "name", required=True),
    _typed(
        Person, "category", "choice", required=True, choices=_choices(PersonCategory), help="01至05或类别名称"
    ),
    _typed(Person, "ethnicity", "choice", choices=tuple(ETHNICITIES), default="01", help="默认汉族"),
    _text(Person, "phone"),
    _text(Person, "register_address"),
    Column("现住房屋编码", "house_code", max_length=40, help="已登记房屋的编码；与网格编码至少填一项"),
    Column("网格编码", "grid_code", max_length=20, help="未填现住房屋时必填"),
    Column("户号", "household_no", max_length=20, help="同一房屋内按户号归户；空则归入该房屋的第一户"),
    _text(Person, "relation_to_head", help="户主、配偶、子女……"),
    _typed(Person, "registered_here", "bool", default=True, help="是/否，默认是"),
    _text(Person, "inflow_reason"),
    _typed(Person, "permit_type", "choice", choices=_choices(PermitType), default="", help="流动人口必填"),
    _text(Person, "permit_number"),
    _typed(Person, "permit_expires_on", "date"),
    _typed(Person, "registered_on", "date"),
    _text(Person, "residence_type"),
    _text(Person, "foreign_name"),
    _text(Person, "nationality", kind="upper", help="三位字母代码，如 USA"),
    _text(Person, "document_type"),
    _text(Person, "document_number", kind="upper"),
    _text(Person, "stay_purpose"),
    _typed(Person, "arrived_on", "date"),
    _typed(Person, "expected_departure_on", "date"),
    _text(Person, "unsettled_reason", help="未落常住人口必填"),
    _typed(Person, "unsettled_since", "date"),
    _typed(
        Person,
        "gender",
        "choice",
        choices=_choices(Gender),
        default="",
        help="仅境外人员填写；其他人员按身份号码",
    ),
    _typed(Person, "birth_date", "date", help="仅境外人员填写；其他人员按身份号码"),
)
# Model fields an import may set (the rest are derived: grid, house, household, initials…).
PERSON_DATA_FIELDS = tuple(
    c.field for c in PERSON_COLUMNS if c.field not in {"house_code", "grid_code", "household_no"}
)
PERSON_COMPARE = (*PERSON_DATA_FIELDS, "name_initials", "grid_id", "house_id", "household_id")
_BLANK_PERSON = {f.attname: (None if f.null else "") for f in Person._meta.concrete_fields}


@lru_cache(maxsize=50_000)
def _whole_name_initials(name: str) -> str:
    return services.initials(name)


@lru_cache(maxsize=50_000)
def _char_initial(char: str) -> str:
    return services.initials(char)


def fast_initials(name: str) -> str:
    """`services.initials(name)`, fast: pypinyin reads a name character by character unless part of it is a
    phrase in its dictionary (or not a Chinese character), so only such names need the whole conversion.
    tests/test_import.py checks that both agree."""
    if len(name) <= 1 or not _HANS.fullmatch(name):
        return _whole_name_initials(name)
    for i in range(len(name) - 1):
        for j in range(i + 2, len(name) + 1):
            if name[i:j] in PHRASES_DICT:
                return _whole_name_initials(name)
    return "".join(_char_initial(c) for c in name)[:20]


_initials = fast_initials


class PersonImporter(Importer):
    entity = "persons"
    label = "实有人口"
    model = Person
    columns = PERSON_COLUMNS
    key_header = "公民身份号码"
    key_field = "id_number"
    compare = PERSON_COMPARE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.houses: dict[str, tuple[int, int] | None] = {}  # code → (house id, grid id)
        self.grids: dict[str, int | None] = {}
        # (house id, 户号) → household id; ids < 0 are households still to be created (`pending`).
        self.households: dict[tuple[int, str], int] = {}
        self.first_household: dict[int, int] = {}
        self.pending: dict[int, tuple[int, int, str]] = {}  # temporary id → (house, grid, 户号)
        self.resolved: dict[int, int] = {}  # temporary id → the id it got when written
        self._just_created: dict[int, int] = {}

    def describe_key(self, row: Row) -> str:
        v = row.values
        if v.get("id_number"):
            return masked("id_number", v["id_number"])
        if v.get("document_number"):
            return f"{v.get('nationality', '')} {masked('document_number', v['document_number'])}".strip()
        return ""

    def describe(self, row: Row) -> str:
        return row.values.get("name", "") or ""

    # Checks -----------------------------------------------------------------------------------------------
    def check(self, rows: list[Row]) -> None:
        self._resolve_places(rows)
        for row in rows:
            self._check_row(row)
        self._match_existing(rows)

    def _resolve_places(self, rows: list[Row]) -> None:
        house_codes = {r.values.get("house_code") for r in rows} - set(self.houses) - {"", None}
        if house_codes:
            found = {
                code: (hid, gid)
                for code, hid, gid in House.objects.filter(code__in=house_codes).values_list(
                    "code", "id", "grid_id"
                )
            }
            for code in house_codes:
                self.houses[code] = found.get(code)
            for hid, hh_id, number in (
                Household.objects.filter(house_id__in=[h for h, _g in found.values()])
                .order_by("id")
                .values_list("house_id", "id", "household_no")
            ):
                self.households.setdefault((hid, number), hh_id)
                self.first_household.setdefault(hid, hh_id)
        grid_codes = {r.values.get("grid_code") for r in rows} - set(self.grids) - {"", None}
        if grid_codes:
            found_grids = _grid_map(grid_codes)
            for code in grid_codes:
                self.grids[code] = found_grids.get(code)

    def _check_row(self, row: Row) -> None:
        v, errors = row.values, row.errors
        # Where the person lives: a house (and through it a grid), or only a grid.
        house_code, grid_code = v.pop("house_code", ""), v.pop("grid_code", "")
        row.extra["household_no"] = v.pop("household_no", "")
        house = grid_id = None
        if house_code:
            house = self.houses.get(house_code)
            if house is None:
                errors.append(_("现住房屋编码 %(code)s 不存在") % {"code": house_code})
            else:
                grid_id = house[1]
                if grid_code and self.grids.get(grid_code) != grid_id:
                    errors.append(_("网格编码与现住房屋所在网格不一致"))
        elif grid_code:
            grid_id = self.grids.get(grid_code)
            if grid_id is None:
                errors.append(_("网格编码 %(code)s 不存在") % {"code": grid_code})
        if grid_id is not None and not self.allowed(grid_id):
            errors.append(_("现住房屋或网格不在您的辖区"))
        row.extra.update(
            house_id=house[0] if house else None, grid_id=grid_id, place=bool(house_code or grid_code)
        )
        if "category" not in v or "name" not in v:
            return  # the cell could not be read; its error is already there
        # The services' own checks: category, name, ID number, category blocks, phone.
        problems = services.person_problems(SimpleNamespace(**{**_BLANK_PERSON, **v}))
        errors.extend(_person_problem(name, message) for name, message in problems.items())
        if errors:
            return
        category, id_number = v["category"], v.get("id_number")
        if id_number:  # valid by now: birth date and gender follow from it, as in the services
            v["birth_date"] = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            v["gender"] = "1" if int(id_number[16]) % 2 else "2"
            row.key = id_number
        else:  # a foreigner without a citizen ID: known by the travel document
            v["id_number"] = None
            v["gender"] = v.get("gender") or Gender.UNKNOWN
            row.key = ("04", v["nationality"], v["document_type"], v["document_number"])
        # One person, one category, one block: the blocks of the other categories are cleared.
        for block, names in services.CATEGORY_BLOCKS.items():
            if block != category:
                for name in names:
                    if name in v:
                        v[name] = _BLANK_PERSON[name]
        v["name_initials"] = _initials(v["name"])

    def _match_existing(self, rows: list[Row]) -> None:
        live = [r for r in rows if not r.errors]
        ids = [r.key for r in live if isinstance(r.key, str)]
        docs = [r.values["document_number"] for r in live if isinstance(r.key, tuple)]
        fields = ("id", "category", "name", *PERSON_COMPARE)
        existing: dict[Any, dict[str, Any]] = {}
        if ids:  # by the keyed hash: the stored ID numbers are encrypted (core.crypto)
            hashes = [crypto.search_hash("id", i) for i in ids]
            for rec in Person.objects.filter(id_hash__in=hashes).values(*fields):
                existing[rec["id_number"]] = rec
        if docs:
            for rec in Person.objects.filter(
                category=PersonCategory.FOREIGN, id_number__isnull=True, document_number__in=docs
            ).values(*fields):
                existing.setdefault(
                    ("04", rec["nationality"], rec["document_type"], rec["document_number"]), rec
                )
        for row in live:
            rec = existing.get(row.key)
            if rec is None:
                if not row.extra["place"]:
                    row.errors.append(_("请填写现住房屋编码或网格编码"))
                continue
            category = PersonCategory(rec["category"]).label
            if not self.allowed(rec["grid_id"]):
                row.errors.append(
                    _("该公民身份号码已在其他辖区登记为%(category)s，不能通过导入修改")
                    % {"category": category}
                )
            elif rec["category"] != row.values["category"]:
                row.errors.append(
                    _("该公民身份号码已登记为%(category)s（%(name)s）")
                    % {"category": category, "name": rec["name"]}
                )
            else:
                row.existing = rec
                if not row.extra["place"]:  # no place given: the person stays where they are
                    row.extra["house_id"], row.extra["grid_id"] = rec["house_id"], rec["grid_id"]

    # Households -------------------------------------------------------------------------------------------
    def _household_for(self, row: Row) -> int | None:
        house_id = row.extra["house_id"]
        if house_id is None:
            return None
        number, rec = row.extra["household_no"], row.existing
        if not number and rec is not None and rec["house_id"] == house_id and rec["household_id"]:
            return rec["household_id"]  # blank 户号: a known person keeps their household
        hh = self.households.get((house_id, number)) if number else self.first_household.get(house_id)
        if hh is None:
            hh = -(len(self.pending) + len(self.resolved) + 1)
            self.pending[hh] = (house_id, row.extra["grid_id"], number)
            self.households[(house_id, number)] = hh
            self.first_household.setdefault(house_id, hh)
        return self.resolved.get(hh, hh)

    def decide(self, rows: list[Row]) -> None:
        for row in rows:
            v = row.values
            v["grid_id"], v["house_id"] = row.extra["grid_id"], row.extra["house_id"]
            v["household_id"] = self._household_for(row)
        super().decide(rows)

    # Writing ----------------------------------------------------------------------------------------------
    def write(self, rows: list[Row]) -> None:
        self._just_created = {}
        temp = sorted(
            {hh for r in rows if (hh := r.values["household_id"]) is not None and hh < 0}, reverse=True
        )
        temp = [t for t in temp if t not in self.resolved]
        if temp:
            wanted = [self.pending[t] for t in temp]
            insert_rows(
                Household, [{"house_id": h, "grid_id": g, "household_no": n} for h, g, n in wanted], self.now
            )
            # Each (house, 户号) is created once, so the new ids are found by it.
            found = {
                (house_id, number): pk
                for pk, house_id, number in select_in(
                    "SELECT id, house_id, household_no FROM registry_household WHERE house_id IN ({})",
                    sorted({h for h, _g, _n in wanted}),
                )
            }
            self._just_created = {t: found[(h, n)] for t, (h, _g, n) in zip(temp, wanted, strict=True)}

        def real(hh: int | None) -> int | None:
            if hh is None or hh >= 0:
                return hh
            return self._just_created.get(hh) or self.resolved[hh]

        # Nothing here changes the rows themselves: if the transaction fails, they are written again one by
        # one, and must not carry ids of households that were rolled back.
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        inserts = [{**r.values, "household_id": real(r.values["household_id"])} for r in creates]
        insert_rows(Person, inserts, self.now)
        new = self._created_ids(creates)
        diffs = [
            (r, {k: (real(v) if k == "household_id" else v) for k, v in r.changes.items()}) for r in updates
        ]
        update_rows(Person, [(r.existing["id"], diff) for r, diff in diffs], self.now)
        changes = {
            r.existing["id"]: {k: _change(Person, k, r.existing[k], v) for k, v in diff.items()}
            for r, diff in diffs
        }
        households = [(real(r.values["household_id"]), r) for r in creates + updates]
        heads = {hh for hh, r in households if r.values.get("relation_to_head") == "户主"}
        heads.discard(None)
        if heads:  # the first 户主 of the household becomes its head, as `services.set_household` does
            Household.objects.filter(id__in=heads).update(
                head=Subquery(
                    Person.objects.filter(household=OuterRef("pk"), relation_to_head="户主")
                    .order_by("id")
                    .values("pk")[:1]
                )
            )
        touched = {hh for hh, _r in households}
        touched |= {r.existing["household_id"] for r in updates if "household_id" in r.changes}
        touched.discard(None)
        if touched:
            colours.recolour_households(touched, trigger="registry.import_persons")
        self.audit(new, changes, rows)

    @staticmethod
    def _created_ids(creates: list[Row]) -> list[int]:
        ids = [crypto.search_hash("id", r.values["id_number"]) for r in creates if r.values.get("id_number")]
        found = [pk for (pk,) in select_in("SELECT id FROM registry_person WHERE id_hash IN ({})", ids)]
        docs = {
            (r.values["nationality"], r.values["document_type"], r.values["document_number"])
            for r in creates
            if not r.values.get("id_number")
        }
        if docs:
            found += [
                pk
                for pk, *key in Person.objects.filter(
                    category=PersonCategory.FOREIGN,
                    id_number__isnull=True,
                    document_number__in=[d for _n, _t, d in docs],
                ).values_list("id", "nationality", "document_type", "document_number")
                if tuple(key) in docs
            ]
        return sorted(found)

    def committed(self) -> None:
        for t, pk in self._just_created.items():
            self.resolved[t] = pk
            house_id, _grid, number = self.pending.pop(t)
            self.households[(house_id, number)] = pk
            if self.first_household.get(house_id) == t:
                self.first_household[house_id] = pk
        self._just_created = {}


def _person_problem(field_name: str, message: str) -> str:
    try:
        label = Person._meta.get_field(field_name).verbose_name
    except Exception:  # a problem that is not about one field
        return str(message)
    return str(message) if str(message).startswith(str(label)) else f"{label}：{message}"


# --- houses, addresses, units ------------------------------------------------------------------------------
class ModelImporter(Importer):
    """Houses, addresses and units: one model row per file row, upserted by a unique code."""

    also_fetch: tuple[str, ...] = ()  # stored values the checks need besides the compared ones

    def describe_key(self, row: Row) -> str:
        return str(row.values.get(self.key_field) or "")

    def check(self, rows: list[Row]) -> None:
        refs = self.references(rows)
        keys = [r.values[self.key_field] for r in rows if r.values.get(self.key_field)]
        existing = {
            rec[self.key_field]: rec
            for rec in self.model._default_manager.filter(**{f"{self.key_field}__in": keys}).values(
                "id", *self.compare, *self.also_fetch
            )
        }
        for row in rows:
            key = row.values.get(self.key_field)
            if not key:
                continue
            row.key = key
            rec = existing.get(key)
            if rec is not None and not self.allowed(rec["grid_id"]):
                row.errors.append(_("%(key)s 已在其他辖区登记，不能通过导入修改") % {"key": key})
                continue
            row.existing = rec
            self.check_row(row, refs)
            if (
                not row.errors
                and row.values.get("grid_id") is not None
                and not self.allowed(row.values["grid_id"])
            ):
                row.errors.append(_("不在您的辖区"))

    def references(self, rows: list[Row]) -> dict[str, Any]:
        return {}

    def check_row(self, row: Row, refs: dict[str, Any]) -> None:
        raise NotImplementedError

    def _instance(self, values: dict[str, Any]) -> Model:
        return self.model(**{k: values[k] for k in self.compare if k in values})

    def write(self, rows: list[Row]) -> None:
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        new = self.model._default_manager.bulk_create(
            [self._instance(r.values) for r in creates], batch_size=500
        )
        changes = {
            r.existing["id"]: {k: _change(self.model, k, r.existing[k], v) for k, v in r.changes.items()}
            for r in updates
        }
        update_rows(self.model, [(r.existing["id"], r.changes) for r in updates], self.now)
        self.after_write([o.pk for o in new], updates)
        self.audit([o.pk for o in new], changes, rows)

    def after_write(self, created: list[int], updates: list[Row]) -> None:
        pass


def _addresses(codes: set[str]) -> dict[str, dict[str, Any]]:
    if not codes:
        return {}
    return {
        rec["code"]: rec
        for rec in Address.objects.filter(code__in=codes).values(
            "id", "code", "grid_id", "lng", "lat", "full_text"
        )
    }


def _service_check(row: Row, check: Callable[[Any], None], obj: Any) -> None:
    try:
        check(obj)
    except ServiceError as exc:
        row.errors.append(str(exc))


COORD_HELP = "WGS-84；高德、腾讯（GCJ-02）或百度（BD-09）坐标请在导入时选择坐标系"
ADDRESS_COLUMNS: tuple[Column, ...] = (
    _text(Address, "code", required=True),
    Column("网格编码", "grid_code", required=True, max_length=20),
    _text(Address, "division_code", default="350503", help="6位数字，如 350503"),
    _text(Address, "street_town", required=True),
    _text(Address, "road", required=True),
    _text(Address, "door_number", required=True),
    _text(Address, "estate"),
    _text(Address, "building"),
    _text(Address, "unit_no"),
    _text(Address, "floor"),
    _text(Address, "room"),
    _typed(Address, "lng", "float", help=COORD_HELP),
    _typed(Address, "lat", "float", help=COORD_HELP),
)


class AddressImporter(ModelImporter):
    entity = "addresses"
    label = "标准地址"
    model = Address
    columns = ADDRESS_COLUMNS
    key_header = "地址编码"
    key_field = "code"
    compare = ("code", "grid_id", *sorted(services.ADDRESS_FIELDS), "full_text", "review_status")

    def references(self, rows: list[Row]) -> dict[str, Any]:
        return {"grids": _grid_map({r.values.get("grid_code") for r in rows} - {"", None})}

    def check_row(self, row: Row, refs: dict[str, Any]) -> None:
        v = row.values
        grid_id = refs["grids"].get(v.pop("grid_code", ""))
        if grid_id is None:
            row.errors.append(_("网格编码不存在"))
            return
        if row.existing is not None and row.existing["grid_id"] != grid_id:
            row.errors.append(_("该地址已登记在其他网格，不能通过导入改变网格"))
            return
        v["grid_id"] = grid_id
        address = Address(**{k: v[k] for k in ("code", "grid_id", *services.ADDRESS_FIELDS) if k in v})
        _service_check(row, services._check_address, address)
        v["full_text"] = address.full_text

    def decide(self, rows: list[Row]) -> None:
        super().decide(rows)
        for row in rows:  # an edited address is reviewed again, as `services.update_address` does
            if row.action == "update" and row.existing["review_status"] != ReviewStatus.PENDING:
                row.changes["review_status"] = ReviewStatus.PENDING
            row.values.setdefault("review_status", ReviewStatus.PENDING)

    def _instance(self, values: dict[str, Any]) -> Model:
        values = {**values, "review_status": ReviewStatus.PENDING}
        return super()._instance(values)


HOUSE_COLUMNS: tuple[Column, ...] = (
    _text(House, "code", required=True),
    Column("地址编码", "address_code", required=True, max_length=40, help="已登记标准地址的编码"),
    _typed(House, "property_type", "choice", required=True, choices=_choices(PropertyType)),
    _typed(House, "use", "choice", choices=_choices(HouseUse), default=HouseUse.RESIDENTIAL),
    _typed(House, "structure", "choice", required=True, choices=_choices(HouseStructure)),
    _typed(House, "floors", "int", default=1),
    _typed(House, "area", "decimal"),
    _typed(House, "occupancy", "choice", choices=_choices(Occupancy), default=Occupancy.OWNER),
    _typed(House, "rooms_let", "int"),
    _typed(House, "tenants", "int"),
    _typed(House, "monthly_rent", "decimal"),
    _typed(House, "rental_since", "date"),
    _typed(House, "responsibility_signed_on", "date"),
    _typed(House, "refused_rectification", "bool", default=False),
    _text(House, "owner_name"),
    _text(House, "owner_id_number", kind="upper"),
    _text(House, "owner_phone"),
    _text(House, "landlord_name"),
    _text(House, "landlord_phone"),
    _text(House, "manager_name"),
    _text(House, "manager_phone"),
    _typed(House, "lng", "float", help=COORD_HELP),
    _typed(House, "lat", "float", help=COORD_HELP),
)
HOUSE_DATA = tuple(c.field for c in HOUSE_COLUMNS if c.field != "address_code")


class HouseImporter(ModelImporter):
    entity = "houses"
    label = "实有房屋"
    model = House
    columns = HOUSE_COLUMNS
    key_header = "房屋编码"
    key_field = "code"
    compare = (*HOUSE_DATA, "address_id", "grid_id")
    also_fetch = ("footprint",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claims: dict[int, str] = {}  # address id → the house code that took it earlier in this file

    def references(self, rows: list[Row]) -> dict[str, Any]:
        addresses = _addresses({r.values.get("address_code") for r in rows} - {"", None})
        taken = dict(
            House.objects.filter(address_id__in=[a["id"] for a in addresses.values()]).values_list(
                "address_id", "code"
            )
        )
        return {"addresses": addresses, "taken": taken}

    def check_row(self, row: Row, refs: dict[str, Any]) -> None:
        v = row.values
        code = v.pop("address_code", "")
        address = refs["addresses"].get(code)
        if address is None:
            row.errors.append(_("地址编码 %(code)s 不存在") % {"code": code})
            return
        taken_by = refs["taken"].get(address["id"]) or self.claims.get(address["id"])
        if taken_by not in (None, v["code"]):
            row.errors.append(_("该地址已登记房屋 %(code)s") % {"code": taken_by})
        if row.existing is not None and row.existing["address_id"] != address["id"]:
            row.errors.append(_("该房屋已登记在其他地址，不能通过导入改换地址"))
        for name in ("rooms_let", "tenants", "floors"):
            if (v.get(name) or 0) > 32767:
                row.errors.append(
                    _("%(field)s数值过大") % {"field": House._meta.get_field(name).verbose_name}
                )
        if row.errors:
            return
        v["address_id"], v["grid_id"] = address["id"], address["grid_id"]
        house = House(**{k: v[k] for k in self.compare if k in v})
        # The footprint is drawn on the map, not imported; the check derives a missing centre from it.
        house.footprint = row.existing["footprint"] if row.existing else None
        _service_check(row, services._check_house, house)
        if not row.errors:
            self.claims.setdefault(address["id"], v["code"])
        for name in ("landlord_name", "lng", "lat"):  # filled in by the check
            if name in v or getattr(house, name) not in (None, ""):
                v[name] = getattr(house, name)

    def after_write(self, created: list[int], updates: list[Row]) -> None:
        recoloured = [r.existing["id"] for r in updates if services.COLOUR_FIELDS_OF_HOUSE & set(r.changes)]
        if recoloured:
            households = list(Household.objects.filter(house_id__in=recoloured).values_list("id", flat=True))
            colours.recolour_households(households, trigger="registry.import_houses")
        if created or recoloured:
            colours.recolour_houses([*created, *recoloured], trigger="registry.import_houses")
        if created or updates:  # positions, floors, occupancy: the map tiles are stale
            transaction.on_commit(tilecache.bump_all)


UNIT_COLUMNS: tuple[Column, ...] = (
    _text(Unit, "credit_code", kind="upper", required=True),
    _text(Unit, "name", required=True),
    _typed(Unit, "unit_type", "choice", required=True, choices=_choices(UnitType)),
    _text(Unit, "industry"),
    Column("地址编码", "address_code", required=True, max_length=40, help="已登记标准地址的编码"),
    _text(Unit, "legal_representative"),
    _text(Unit, "security_lead"),
    _text(Unit, "security_phone"),
    _typed(Unit, "is_key", "bool", help="空则按单位类型判断（党政机关、金融、学校、医院等为重点单位）"),
    _typed(Unit, "key_level", "choice", choices=_choices(KeyLevel), default="", help="重点单位必填"),
    _typed(Unit, "risk_level", "choice", choices=_choices(RiskLevel), default=RiskLevel.LOW),
    _typed(Unit, "camera_count", "int", default=0),
    _typed(Unit, "lng", "float", help=COORD_HELP + "；空则取地址坐标"),
    _typed(Unit, "lat", "float", help=COORD_HELP + "；空则取地址坐标"),
)
UNIT_DATA = tuple(c.field for c in UNIT_COLUMNS if c.field != "address_code")


class UnitImporter(ModelImporter):
    entity = "units"
    label = "实有单位"
    model = Unit
    columns = UNIT_COLUMNS
    key_header = "统一社会信用代码"
    key_field = "credit_code"
    compare = (*UNIT_DATA, "address_id", "grid_id")

    def references(self, rows: list[Row]) -> dict[str, Any]:
        return {"addresses": _addresses({r.values.get("address_code") for r in rows} - {"", None})}

    def check_row(self, row: Row, refs: dict[str, Any]) -> None:
        # The checks of `services._check_unit`, without its per-row queries (the batch looked them up).
        v = row.values
        if error := credit_code_error(v["credit_code"]):
            row.errors.append(f"{self.key_header}：{_(error)}")
        code = v.pop("address_code", "")
        address = refs["addresses"].get(code)
        if address is None:
            row.errors.append(_("地址编码 %(code)s 不存在") % {"code": code})
            return
        if v.get("is_key") in ("", None):
            v["is_key"] = v.get("unit_type") in KEY_UNIT_TYPES
        if v["is_key"] and not v.get("key_level"):
            row.errors.append(_("重点单位须确定等级"))
        if not v["is_key"]:
            v["key_level"] = ""
        v["address_id"], v["grid_id"] = address["id"], address["grid_id"]
        if v.get("lng") is None and v.get("lat") is None and address["lng"] is not None:
            v["lng"], v["lat"] = address["lng"], address["lat"]
        if (v.get("lng") is None) != (v.get("lat") is None):
            row.errors.append(_("经度和纬度须同时填写"))
        elif v.get("lng") is not None:
            try:
                check_point(v["lng"], v["lat"])
            except GeometryError as exc:
                row.errors.append(str(exc))
        if v.get("camera_count", 0) > 2**31 - 1:
            row.errors.append(_("监控探头数数值过大"))


IMPORTERS: dict[str, type[Importer]] = {
    "persons": PersonImporter,
    "houses": HouseImporter,
    "units": UnitImporter,
    "addresses": AddressImporter,
}
ENTITY_LABELS = {name: cls.label for name, cls in IMPORTERS.items()}


def importer_for(entity: str, **kwargs: Any) -> Importer:
    try:
        cls = IMPORTERS[entity]
    except KeyError:
        raise ServiceError(_("不支持导入此类数据：%(entity)s") % {"entity": entity}) from None
    return cls(**kwargs)


def import_file(
    entity: str,
    path: str | os.PathLike,
    *,
    by: Any = None,
    dry_run: bool = True,
    filename: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    crs: str = "wgs84",
) -> ImportResult:
    """Dry-run or import one file; `by=None` is the system (the command line). `crs` is the coordinate
    system of the file's longitudes and latitudes ("wgs84", "gcj02" from Gaode or Tencent, "bd09" from
    Baidu); they are converted to WGS-84 before they are checked and stored."""
    name = filename or Path(path).name
    importer = importer_for(
        entity, by=by, filename=name, dry_run=dry_run, progress=progress, batch_size=batch_size, crs=crs
    )
    return importer.run_path(path)


# --- templates ---------------------------------------------------------------------------------------------
TEXT_KINDS = {"text", "upper"}


def template_workbook(entity: str) -> bytes:
    """The downloadable .xlsx template: a header row (required columns marked *), drop-downs for coded
    columns, text format for ID numbers and codes, and a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    cls = IMPORTERS[entity]
    wb = Workbook()
    ws = wb.active
    ws.title = f"{cls.label}导入"
    lists = wb.create_sheet("代码表")
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "格式或可选值", "说明"])
    list_col = 0
    for i, column in enumerate(cls.columns, start=1):
        letter = get_column_letter(i)
        cell = ws.cell(row=1, column=i, value=column.header + ("*" if column.required else ""))
        cell.font = Font(bold=True, color="FFFFFF" if column.required else "000000")
        cell.fill = PatternFill("solid", fgColor="C0392B" if column.required else "D9E1F2")
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4)
        if column.kind in TEXT_KINDS:
            for row in range(2, 1002):  # text, so Excel keeps 18-digit numbers and leading zeros intact
                ws.cell(row=row, column=i).number_format = "@"
        fmt = {
            "date": "日期，如 2026-11-28",
            "int": "整数",
            "decimal": "数字",
            "float": "数字",
            "bool": "是 / 否",
        }.get(column.kind, "文本")
        if column.choices:
            list_col += 1
            list_letter = get_column_letter(list_col)
            lists.cell(row=1, column=list_col, value=column.header)
            for j, (_code, label) in enumerate(column.choices, start=2):
                lists.cell(row=j, column=list_col, value=label)
            dv = DataValidation(
                type="list",
                formula1=f"代码表!${list_letter}$2:${list_letter}${len(column.choices) + 1}",
                allow_blank=not column.required,
            )
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}100000")
            fmt = "、".join(label for _c, label in column.choices[:12]) + (
                "……" if len(column.choices) > 12 else ""
            )
        notes.append([column.header, "是" if column.required else "", fmt, column.help])
    ws.freeze_panes = "A2"
    for letter, width in (("A", 18), ("B", 10), ("C", 60), ("D", 50)):
        notes.column_dimensions[letter].width = width
    lists.sheet_state = "hidden"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def template_csv(entity: str) -> bytes:
    """The header row as UTF-8 CSV with a BOM (Excel opens it without garbling the Chinese)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([c.header for c in IMPORTERS[entity].columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_csv(
    path: str | os.PathLike | BinaryIO, entity: str, rows: Iterable[dict[str, Any]], *, encoding="utf-8-sig"
) -> None:
    """Write rows (field → value) under the template headers; used by tests and the benchmark."""
    columns = IMPORTERS[entity].columns
    fh = open(path, "w", encoding=encoding, newline="") if not hasattr(path, "write") else path  # noqa: SIM115
    try:
        writer = csv.writer(fh)
        writer.writerow([c.header for c in columns])
        for values in rows:
            writer.writerow([_format(values.get(c.field)) for c in columns])
    finally:
        if fh is not path:
            fh.close()


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
