"""Monthly alarm statistics per station (read-only): counts, response intervals, 出警达标率, false-alarm rate.

Definitions (every figure is a set of alarms, and the pages link each number to its set):

- **The alarms of a station-month**: alarms of the station whose `received_at` falls in the calendar month
  in local time (Asia/Shanghai), **drills excluded** (`is_drill`: a matched drill press or a `test`-type
  press). The excluded drills are shown as a separate count so that nothing is hidden.
- **Counts** by event type (紧急报警, 无声报警, 测试按键) and by disposition of the closed ones (真实警情, 误报,
  测试, 其他), plus 未结案 (not closed yet).
- **Intervals** received→acknowledged, received→dispatched, received→arrived, in seconds, over the alarms of
  the month that reached that step (an alarm closed without acknowledgement is acknowledged by the close,
  `services.close`). **Percentile pXX** is the *nearest-rank* percentile: sort the n intervals and take the
  value at rank ⌈XX/100 × n⌉ (1-based) — always an observed interval, so it can be checked by hand. No
  intervals: no percentile (shown as “—”).
- **Emergency (紧急警情)**: an alarm of the month (drills excluded) of type panic or silent_panic that was
  not closed as 误报 or 测试; open ones and those closed as 真实警情 or 其他 are emergencies.
  Each emergency is exactly one of:
  - **reached (按时到场)**: `arrived_at − received_at` ≤ the norm of the station's area (`Station.area_type`:
    5 minutes in the city, 10 in the suburbs);
  - **late (超时/未到场)**: arrived after the norm, or not arrived although the norm has passed — an
    emergency **never arrived counts as not reached**, also when it was closed without arrival;
  - **pending (待定)**: not arrived yet and the norm has not passed yet (only in the current minutes);
    left out of the rate until it arrives or its norm passes.
- **出警达标率** = reached ÷ (reached + late). No such emergencies: no rate (“—”).
- **False-alarm rate (误报率)** = alarms closed as 误报 ÷ closed alarms (both drills excluded). None closed:
  no rate.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.accounts.choices import Role
from doorstep.alarms.choices import ALARM_TYPES, Disposition, EventType
from doorstep.alarms.models import Alarm
from doorstep.alarms.supervision import arrival_norm_seconds
from doorstep.org.models import Station

EMERGENCY_TYPES = {EventType.PANIC, EventType.SILENT_PANIC}
NOT_EMERGENCY = {Disposition.FALSE, Disposition.TEST}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MAX_MONTHS = 24
# Station directors see their station; sub-bureau leaders and the evaluation office the whole sub-bureau.
STATS_ROLES = {Role.DIRECTOR, Role.LEADER, Role.EVALUATOR}


def may_see(user: Any) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.role in STATS_ROLES))


# --- months -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2026-11' → Month; ValueError for anything else (including years outside 2000–2099)."""
        match = MONTH.match((text or "").strip())
        if not match:
            raise ValueError(text)
        year, month = int(match[1]), int(match[2])
        if not (2000 <= year <= 2099 and 1 <= month <= 12):
            raise ValueError(text)
        return cls(year, month)

    @classmethod
    def of(cls, moment: dt.datetime | None = None) -> Month:
        local = timezone.localtime(moment or timezone.now())
        return cls(local.year, local.month)

    def shift(self, months: int) -> Month:
        year, month0 = divmod(self.month - 1 + months, 12)
        return Month(self.year + year, month0 + 1)

    @property
    def start(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime(self.year, self.month, 1))

    @property
    def end(self) -> dt.datetime:
        return self.shift(1).start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def title(self) -> str:
        return f"{self.year}年{self.month}月"


def month_range(first: Month, last: Month) -> list[Month]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month.shift(1)
    return months


# --- percentiles ----------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the value at rank ⌈p/100 × n⌉ of the sorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Interval:
    n: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Interval:
        return cls(len(seconds), percentile(seconds, 50), percentile(seconds, 90))

    @property
    def p50_text(self) -> str:
        return fmt_seconds(self.p50)

    @property
    def p90_text(self) -> str:
        return fmt_seconds(self.p90)


# --- figures --------------------------------------------------------------------------------------------------
FIGURES: dict[str, Any] = {
    "all": _("报警总数"),
    **{f"type:{t.value}": t.label for t in EventType if t in ALARM_TYPES},
    **{f"disposition:{d.value}": d.label for d in Disposition},
    "open": _("未结案"),
    "acknowledged": _("已确认"),
    "dispatched": _("已派警"),
    "arrived": _("已到场"),
    "emergency": _("紧急警情"),
    "reached": _("按时到场"),
    "late": _("超时或未到场"),
    "pending": _("待定（未到场，时限未过）"),
    "closed": _("已结案"),
    "false": _("误报"),
    "drill": _("演练（不计入统计）"),
}
STEPS = {"acknowledged": "acknowledged_at", "dispatched": "dispatched_at", "arrived": "arrived_at"}
ROW_FIELDS = (
    "id",
    "station_id",
    "event_type",
    "received_at",
    "acknowledged_at",
    "dispatched_at",
    "arrived_at",
    "closed_at",
    "disposition",
    "is_drill",
)


def norm_for(station: Station) -> int:
    """The arrival norm of the station's area, as supervision flags lateness: 5 min city, 10 min suburb."""
    return arrival_norm_seconds(station.area_type)


def classify(row: dict[str, Any], norm_seconds: int, now: dt.datetime) -> set[str]:
    """The figures an alarm (a `ROW_FIELDS` dict) belongs to. A drill belongs to "drill" only."""
    if row["is_drill"]:
        return {"drill"}
    keys = {"all", f"type:{row['event_type']}"}
    closed = row["closed_at"] is not None
    if closed:
        keys |= {"closed", f"disposition:{row['disposition']}"}
        if row["disposition"] == Disposition.FALSE:
            keys.add("false")
    else:
        keys.add("open")
    keys |= {step for step, attr in STEPS.items() if row[attr] is not None}
    if row["event_type"] in EMERGENCY_TYPES and not (closed and row["disposition"] in NOT_EMERGENCY):
        keys.add("emergency")
        norm = dt.timedelta(seconds=norm_seconds)
        arrived = row["arrived_at"]
        if arrived is not None:
            keys.add("reached" if arrived - row["received_at"] <= norm else "late")
        elif now - row["received_at"] > norm:
            keys.add("late")
        else:
            keys.add("pending")
    return keys


@dataclass
class StationMonth:
    station: Station
    month: Month
    norm_seconds: int
    ids: dict[str, list[int]] = field(default_factory=dict)  # figure → alarm ids
    intervals: dict[str, Interval] = field(default_factory=dict)  # step → Interval

    def count(self, figure: str) -> int:
        return len(self.ids.get(figure, ()))

    @property
    def counts(self) -> dict[str, int]:
        return {figure: self.count(figure) for figure in FIGURES}

    @property
    def on_time_rate(self) -> float | None:
        settled = self.count("reached") + self.count("late")
        return self.count("reached") / settled if settled else None

    @property
    def false_rate(self) -> float | None:
        return self.count("false") / self.count("closed") if self.count("closed") else None

    @property
    def on_time_text(self) -> str:
        return fmt_rate(self.on_time_rate)

    @property
    def false_rate_text(self) -> str:
        return fmt_rate(self.false_rate)

    @property
    def settled(self) -> int:
        return self.count("reached") + self.count("late")


def _rows(station_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    return list(
        Alarm.objects.filter(station_id__in=list(station_ids), received_at__gte=start, received_at__lt=end)
        .order_by("received_at", "id")
        .values(*ROW_FIELDS)
    )


def compute(
    stations: Iterable[Station], months: Sequence[Month], now: dt.datetime | None = None
) -> list[StationMonth]:
    """Figures of every station × month (months in order), from one query. Rows: month by month, then the
    stations in the order given."""
    now = now or timezone.now()
    stations = list(stations)
    if not stations or not months:
        return []
    table = {
        (s.pk, m): StationMonth(s, m, norm_for(s)) for m in months for s in stations
    }  # fmt: skip
    seconds: dict[tuple[int, Month], dict[str, list[float]]] = {key: {} for key in table}
    for row in _rows([s.pk for s in stations], months[0].start, months[-1].end):
        key = (row["station_id"], Month.of(row["received_at"]))
        cell = table.get(key)
        if cell is None:
            continue
        keys = classify(row, cell.norm_seconds, now)
        for figure in keys:
            cell.ids.setdefault(figure, []).append(row["id"])
        for step, attr in STEPS.items():
            if step in keys:
                interval = (row[attr] - row["received_at"]).total_seconds()
                seconds[key].setdefault(step, []).append(interval)
    for key, cell in table.items():
        cell.intervals = {step: Interval.of(seconds[key].get(step, [])) for step in STEPS}
    return [table[(s.pk, m)] for m in months for s in stations]


def station_month(station: Station, month: Month, now: dt.datetime | None = None) -> StationMonth:
    return compute([station], [month], now)[0]


# --- export ---------------------------------------------------------------------------------------------------
def fmt_seconds(value: float | None) -> str:
    """123.4 → '2分03秒'; None → '—'."""
    if value is None:
        return "—"
    total = round(value)
    minutes, seconds = divmod(total, 60)
    return f"{minutes}分{seconds:02d}秒" if minutes else f"{seconds}秒"


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _seconds_cell(value: float | None) -> float | int | str:
    if value is None:
        return ""
    value = round(value, 1)
    return int(value) if value == int(value) else value


def export_columns() -> list[tuple[str, Any]]:
    """(header, value of a StationMonth) of the export; intervals in seconds, rates as fractions."""
    columns: list[tuple[str, Any]] = [
        ("派出所", lambda c: c.station.name),
        ("月份", lambda c: str(c.month)),
        ("区域类型", lambda c: str(c.station.get_area_type_display())),
        ("到场时限（分钟）", lambda c: c.norm_seconds // 60),
    ]
    counted = ["all", *[f for f in FIGURES if f.startswith(("type:", "disposition:"))], "open"]
    columns += [(str(FIGURES[f]), lambda c, f=f: c.count(f)) for f in counted]
    for step, label in (("acknowledged", "接警→确认"), ("dispatched", "接警→派警"), ("arrived", "接警→到场")):
        columns += [
            (f"{label}（起数）", lambda c, s=step: c.intervals[s].n),
            (f"{label} P50（秒）", lambda c, s=step: _seconds_cell(c.intervals[s].p50)),
            (f"{label} P90（秒）", lambda c, s=step: _seconds_cell(c.intervals[s].p90)),
        ]
    columns += [
        (str(FIGURES["emergency"]), lambda c: c.count("emergency")),
        (str(FIGURES["reached"]), lambda c: c.count("reached")),
        (str(FIGURES["late"]), lambda c: c.count("late")),
        (str(FIGURES["pending"]), lambda c: c.count("pending")),
        ("出警达标率", lambda c: c.on_time_rate),
        (str(FIGURES["closed"]), lambda c: c.count("closed")),
        (str(FIGURES["false"]), lambda c: c.count("false")),
        ("误报率", lambda c: c.false_rate),
        (str(FIGURES["drill"]), lambda c: c.count("drill")),
    ]
    return columns


RATE_HEADERS = {"出警达标率", "误报率"}
DEFINITIONS = (
    "统计口径：按接警时间（北京时间）归入月份，不含演练（演练按键和测试按键）。",
    "间隔分位数采用最近秩法：n 个间隔升序排列，取第 ⌈百分位×n⌉ 个。",
    "紧急警情：紧急报警和无声报警中未以“误报”“测试”结案的；出警达标率 = 时限内到场 ÷（时限内到场 + 超时或未到场），"
    "时限城区5分钟、郊区10分钟，从接警到到场计；从未到场且时限已过的计为未达标，时限未过的待定，不计入。",
    "误报率 = 以“误报”结案 ÷ 已结案。",
)


def write_csv(cells: Sequence[StationMonth]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese headers correctly; rates as percentages."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = export_columns()
    writer.writerow([h for h, _get in columns])
    for cell in cells:
        row = []
        for header, get in columns:
            value = get(cell)
            row.append(fmt_rate(value) if header in RATE_HEADERS else value)
        writer.writerow(row)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(cells: Sequence[StationMonth], fh: Any) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("报警统计")
    columns = export_columns()
    header = []
    for title, _get in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in cells:
        out = []
        for title, get in columns:
            value = get(row)
            if title in RATE_HEADERS:
                cell = WriteOnlyCell(ws, value="" if value is None else round(value, 4))
                cell.number_format = "0.0%"
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
    notes = wb.create_sheet("口径说明")
    for line in DEFINITIONS:
        notes.append([line])
    wb.save(fh)
