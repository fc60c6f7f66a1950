"""Monthly bulletins (考评通报): services, the bulletin's data, and its PDF and Excel.

Lifecycle: a draft (one per sub-bureau and month) shows figures recomputed on demand and its commentary
(总体情况、通报表扬、存在问题、工作要求) is edited by the evaluation office; publishing freezes it: the data
(KPI table, ranking, best/worst per KPI) is stored as JSON on the row, and the PDF and the Excel are built
from that JSON once and stored with their SHA-256. Every edit, recompute or republish of a published
bulletin is refused; a correction is a new draft of the same month that supersedes the published one when
it is itself published (the old one becomes 已更正 and stays readable).

Ranking: stations by the total score (综合得分) of the KPI pages — `pages.build_rows`, i.e. the same
normalisation and weights as the KPI index page, imported, not copied.

Downloads: the documents name stations, and the commentary (表扬、问题) routinely names officers, which is
personal information (PIPL): every download is recorded as an export in the access log.

Who: the evaluation office and administrators draft, edit and publish; leaders and station directors read
published bulletins only; other roles have no bulletin pages (404).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core import pdf
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import pages, periods, scopes
from doorstep.evaluation.access import MAX_PK
from doorstep.evaluation.choices import Level, PeriodKind
from doorstep.evaluation.engine import Period
from doorstep.evaluation.models_links import Bulletin, BulletinStatus
from doorstep.org.models import Station, SubBureau

READ_ROLES = frozenset({Role.LEADER, Role.DIRECTOR, Role.EVALUATOR, Role.ADMIN})
DRAFT_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})
COMMENTARY = ("summary", "commendations", "problems", "requirements")
COMMENTARY_TITLES = {
    "summary": "总体情况",
    "commendations": "通报表扬",
    "problems": "存在问题",
    "requirements": "工作要求",
}
MAX_TEXT = 4000
STATIONS_PER_TABLE = 5  # the PDF's KPI table: KPIs down, stations across, this many stations per table
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- access ---------------------------------------------------------------------------------------------------
def role(user: Any) -> str | None:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def may_read(user: Any) -> bool:
    return role(user) in READ_ROLES


def may_draft(user: Any) -> bool:
    return role(user) in DRAFT_ROLES


def bulletins_for(user: Any) -> QuerySet[Bulletin]:
    """Drafters see every bulletin; readers only published (and superseded) ones."""
    if not may_read(user):
        return Bulletin.objects.none()
    qs = Bulletin.objects.select_related("sub_bureau", "published_by", "supersedes")
    if not may_draft(user):
        qs = qs.exclude(status=BulletinStatus.DRAFT)
    return qs


def get_bulletin_for(user: Any, pk: int) -> Bulletin:
    if not may_read(user) or not 0 < pk < MAX_PK:
        raise Http404
    bulletin = bulletins_for(user).filter(pk=pk).first()
    if bulletin is None:
        raise Http404
    return bulletin


# --- the data -------------------------------------------------------------------------------------------------
def month_period(month: dt.date) -> Period:
    return periods.period_of(PeriodKind.MONTH, month)


def parse_month(raw: Any) -> dt.date:
    """ "2026-11" → 2026-11-01; a Chinese error for anything else, or for a month not yet begun."""
    period = periods.parse(PeriodKind.MONTH, raw if isinstance(raw, str) else None)
    if period is None:
        raise ServiceError(_("月份格式不正确，应为如 2026-11"), code="month")
    if period.start > timezone.localdate():
        raise ServiceError(_("不能为尚未开始的月份起草通报"), code="month")
    return period.start


def _station_scopes(sub_bureau: SubBureau) -> list[Any]:
    ids = Station.objects.filter(sub_bureau=sub_bureau).order_by("code").values_list("id", flat=True)
    return [s for s in (scopes.scope_for(Level.STATION, pk) for pk in ids) if s is not None]


def compute_data(sub_bureau: SubBureau, month: dt.date) -> dict[str, Any]:
    """The bulletin's figures: the stations' KPI table for the month, ranked by total score (JSON-ready)."""
    period = month_period(month)
    station_scopes = _station_scopes(sub_bureau)
    columns = pages.columns_for(Level.STATION)
    rows = pages.build_rows(station_scopes, period, columns)
    # Ranked first by rank (best first), unranked (no figure at all) last by name.
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.scope.name))
    cols = [
        {
            "code": c.code,
            "name": str(c.kpi.name),
            "unit": c.kpi.unit,
            "target": c.target_text,
            "weight": c.setting.weight,
            "higher_is_better": c.kpi.higher_is_better,
        }
        for c in columns
    ]
    out_rows = [
        {
            "station_id": r.scope.id,
            "name": r.scope.name,
            "rank": r.rank,
            "score": None if r.score is None else round(r.score, 2),
            "cells": {
                cell.column.code: {"value": cell.figure.value, "text": cell.text, "worse": cell.worse}
                for cell in r.cells
            },
        }
        for r in rows
    ]
    best_worst = {}
    for j, c in enumerate(columns):
        valued = [(r.cells[j].figure.value, r.scope.name, r.cells[j].text) for r in rows]
        valued = [v for v in valued if v[0] is not None]
        if not valued:
            best_worst[c.code] = {"best": [], "worst": [], "best_text": "—", "worst_text": "—"}
            continue
        hi, lo = max(v[0] for v in valued), min(v[0] for v in valued)
        best, worst = (hi, lo) if c.kpi.higher_is_better else (lo, hi)
        best_worst[c.code] = {
            "best": [name for v, name, _t in valued if v == best],
            "worst": [name for v, name, _t in valued if v == worst] if hi != lo else [],
            "best_text": next(t for v, _n, t in valued if v == best),
            "worst_text": next(t for v, _n, t in valued if v == worst) if hi != lo else "—",
        }
    return {
        "sub_bureau": sub_bureau.name,
        "month": periods.value(period),
        "label": period.label,
        "columns": cols,
        "rows": out_rows,
        "best_worst": best_worst,
        "computed_at": timezone.now().isoformat(timespec="seconds"),
    }


def data_of(bulletin: Bulletin) -> dict[str, Any]:
    """The frozen data of a published bulletin; a draft's recomputed now."""
    if bulletin.frozen and bulletin.data is not None:
        return bulletin.data
    return compute_data(bulletin.sub_bureau, bulletin.month)


def title_of(data: dict[str, Any]) -> str:
    return f"{data['sub_bureau']}{data['label']}社区警务考评通报"


# --- services -------------------------------------------------------------------------------------------------
def _sub_bureau_of(user: Any) -> SubBureau:
    sub_bureau = getattr(user, "sub_bureau", None) or SubBureau.objects.order_by("code").first()
    if sub_bureau is None:
        raise ServiceError(_("尚未设置分局"))
    return sub_bureau


@transaction.atomic
def draft_bulletin(*, month: Any, by: Any) -> Bulletin:
    """A new draft for the month; when the month already has a published bulletin, the draft corrects it."""
    if not may_draft(by):
        raise NotAllowed(_("只有考评办和系统管理员可以起草通报"))
    first = month if isinstance(month, dt.date) else parse_month(month)
    sub_bureau = _sub_bureau_of(by)
    if Bulletin.objects.filter(sub_bureau=sub_bureau, month=first, status=BulletinStatus.DRAFT).exists():
        raise RuleViolation(_("该月已有通报草稿，请直接编辑"), code="month")
    published = Bulletin.objects.filter(
        sub_bureau=sub_bureau, month=first, status=BulletinStatus.PUBLISHED
    ).first()
    try:
        with transaction.atomic():
            bulletin = Bulletin.objects.create(
                sub_bureau=sub_bureau, month=first, supersedes=published, created_by=by
            )
    except IntegrityError as exc:  # a concurrent draft of the same month
        raise RuleViolation(_("该月已有通报草稿，请直接编辑"), code="month") from exc
    if published is not None:  # carry the commentary over for the correction
        for name in COMMENTARY:
            setattr(bulletin, name, getattr(published, name))
        bulletin.save(update_fields=[*COMMENTARY, "updated_at"])
    record_change(by, "evaluation.draft_bulletin", bulletin)
    return bulletin


def _locked_draft(bulletin: Bulletin) -> Bulletin:
    locked = Bulletin.objects.select_for_update().select_related("sub_bureau").get(pk=bulletin.pk)
    if locked.frozen:
        raise RuleViolation(_("通报已发布，不能修改；如需更正请起草更正通报"))
    return locked


@transaction.atomic
def update_commentary(bulletin: Bulletin, *, by: Any, **texts: str) -> Bulletin:
    """Edit the commentary of a draft (refused once published); every character must print in the PDF."""
    if not may_draft(by):
        raise NotAllowed(_("只有考评办和系统管理员可以编辑通报"))
    bulletin = _locked_draft(bulletin)
    unknown = set(texts) - set(COMMENTARY)
    if unknown:
        raise ServiceError(_("无效的字段"))
    for name, text in texts.items():
        text = (text or "").strip()
        if len(text) > MAX_TEXT:
            raise ServiceError(_("每段文字不能超过%(n)d个字") % {"n": MAX_TEXT}, code=name)
        try:
            pdf.check_text(text)
        except pdf.MissingGlyphs as exc:
            raise ServiceError(str(exc), code=name) from exc
        texts[name] = text
    before = snapshot(bulletin)
    for name, text in texts.items():
        setattr(bulletin, name, text)
    bulletin.save(update_fields=[*texts, "updated_at"])
    record_change(by, "evaluation.edit_bulletin", bulletin, before=before)
    return bulletin


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@transaction.atomic
def publish(bulletin: Bulletin, *, by: Any) -> Bulletin:
    """Freeze a draft: store its data, build the PDF and the Excel once, store them with their SHA-256."""
    if not may_draft(by):
        raise NotAllowed(_("只有考评办和系统管理员可以发布通报"))
    bulletin = _locked_draft(bulletin)
    data = compute_data(bulletin.sub_bureau, bulletin.month)
    texts = {name: getattr(bulletin, name) for name in COMMENTARY}
    pdf_bytes = render_pdf(data, texts)
    xlsx_bytes = render_xlsx(data, texts)
    before = snapshot(bulletin)
    old = bulletin.supersedes
    if old is not None:
        old = Bulletin.objects.select_for_update().get(pk=old.pk)
        if old.status == BulletinStatus.PUBLISHED:
            old_before = snapshot(old)
            old.status = BulletinStatus.SUPERSEDED
            old.save(update_fields=["status", "updated_at"])
            record_change(by, "evaluation.supersede_bulletin", old, before=old_before)
    # A draft of a month published meanwhile (not through this draft) would leave two published bulletins.
    if Bulletin.objects.filter(
        sub_bureau=bulletin.sub_bureau, month=bulletin.month, status=BulletinStatus.PUBLISHED
    ).exists():
        raise RuleViolation(_("该月已有发布的通报，请起草更正通报"))
    bulletin.data = data
    bulletin.pdf = pdf_bytes
    bulletin.pdf_sha256 = sha256(pdf_bytes)
    bulletin.xlsx = xlsx_bytes
    bulletin.xlsx_sha256 = sha256(xlsx_bytes)
    bulletin.status = BulletinStatus.PUBLISHED
    bulletin.published_at = timezone.now()
    bulletin.published_by = by
    bulletin.save()
    after = snapshot(bulletin)
    for key in ("pdf", "xlsx", "data"):  # the hashes name the bytes; the log keeps no blobs
        after.pop(key, None)
        if before:
            before.pop(key, None)
    record_change(by, "evaluation.publish_bulletin", bulletin, before=before, after=after)
    return bulletin


def stored_document(bulletin: Bulletin, kind: str) -> bytes:
    """The published PDF or Excel, verified against its SHA-256 (a mismatch is an error, never served)."""
    if bulletin.status == BulletinStatus.DRAFT:
        raise RuleViolation(_("通报尚未发布"))
    blob = bytes(bulletin.pdf if kind == "pdf" else bulletin.xlsx or b"")
    expected = bulletin.pdf_sha256 if kind == "pdf" else bulletin.xlsx_sha256
    if not blob or sha256(blob) != expected:
        raise RuntimeError(f"bulletin {bulletin.pk} {kind}: stored bytes do not match their SHA-256")
    return blob


# --- PDF ------------------------------------------------------------------------------------------------------
def _bar_chart(data: dict[str, Any], width: float) -> Any:
    """Total scores as a bar chart (reportlab.graphics, drawn in the PDF: no image files)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    ranked = [r for r in data["rows"] if r["score"] is not None]
    height = 170
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 30, 40
    chart.width, chart.height = width - 40, height - 55
    chart.data = [[r["score"] for r in ranked]]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 20
    chart.valueAxis.labels.fontName = pdf.FONT_NAME
    chart.categoryAxis.categoryNames = [r["name"] for r in ranked]
    chart.categoryAxis.labels.fontName = pdf.FONT_NAME
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.angle = 30 if len(ranked) > 5 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(ranked) > 5 else "n"
    chart.bars[0].fillColor = colors.HexColor("#206bc4")
    chart.barLabelFormat = "%.1f"
    chart.barLabels.fontName = pdf.FONT_NAME
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing


def _score_text(score: float | None) -> str:
    return "—" if score is None else f"{score:.1f}"


def render_pdf(data: dict[str, Any], texts: dict[str, str]) -> bytes:
    """The bulletin as an A4 PDF in Chinese: title, ranking with chart, KPI tables, commentary."""
    from reportlab.platypus import Spacer

    st = pdf.styles()
    width = pdf.frame_width()
    title = title_of(data)
    pdf.check_text(
        title, *texts.values(), *(r["name"] for r in data["rows"]), *(c["name"] for c in data["columns"])
    )
    story: list[Any] = [pdf.para(title, st["title"])]
    numbers = iter("一二三四五六七八九十")

    def heading(text: str) -> None:
        story.append(pdf.para(f"{next(numbers)}、{text}", st["heading"]))

    if texts.get("summary"):
        heading(COMMENTARY_TITLES["summary"])
        story.append(pdf.para(texts["summary"], st["indent"]))
    heading("综合排名")
    ranking = [["名次", "派出所", "综合得分"]] + [
        [str(r["rank"]) if r["rank"] else "—", r["name"], _score_text(r["score"])] for r in data["rows"]
    ]
    story.append(pdf.table(ranking, [width * 0.2, width * 0.5, width * 0.3], style=st["center"], grid=True))
    if sum(1 for r in data["rows"] if r["score"] is not None) > 0:
        story.append(Spacer(1, 4))
        story.append(_bar_chart(data, width))
    heading("各项指标")
    rows = data["rows"]
    for i in range(0, max(len(rows), 1), STATIONS_PER_TABLE):
        chunk = rows[i : i + STATIONS_PER_TABLE]
        header = ["指标", "目标", *(r["name"] for r in chunk)]
        body = [
            [c["name"], c["target"], *(r["cells"].get(c["code"], {}).get("text", "—") for r in chunk)]
            for c in data["columns"]
        ]
        first = width * 0.28
        rest = (width - first - width * 0.12) / max(len(chunk), 1)
        story.append(
            pdf.table(
                [header, *body], [first, width * 0.12, *([rest] * len(chunk))], style=st["small"], grid=True
            )
        )
        story.append(Spacer(1, 6))
    best_rows = [["指标", "最好", "最差"]]
    for c in data["columns"]:
        bw = data["best_worst"].get(c["code"], {})
        best = "、".join(bw.get("best", [])) or "—"
        worst = "、".join(bw.get("worst", [])) or "—"
        best_rows.append(
            [c["name"], f"{best}（{bw.get('best_text', '—')}）", f"{worst}（{bw.get('worst_text', '—')}）"]
        )
    story.append(
        pdf.table(best_rows, [width * 0.28, width * 0.36, width * 0.36], style=st["small"], grid=True)
    )
    for name in ("commendations", "problems", "requirements"):
        if texts.get(name):
            heading(COMMENTARY_TITLES[name])
            story.append(pdf.para(texts[name], st["indent"]))
    story.append(Spacer(1, 12))
    story.append(pdf.para(f"{data['sub_bureau']}考评办", st["right"]))
    return pdf.build(story, title=title, author=data["sub_bureau"], subject="考评通报")


# --- Excel ----------------------------------------------------------------------------------------------------
def _sheet_title(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:28] or "指标"
    title, n = clean, 2
    while title in used:
        title, n = f"{clean[:26]}{n}", n + 1
    used.add(title)
    return title


def render_xlsx(data: dict[str, Any], texts: dict[str, str]) -> bytes:
    """The bulletin as a workbook: one sheet of the ranking (with every KPI), then one sheet per KPI."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "综合排名"
    used = {ws.title}
    ws.append([title_of(data)])
    ws.append(["名次", "派出所", "综合得分", *(c["name"] for c in data["columns"])])
    for r in data["rows"]:
        ws.append(
            [
                r["rank"],
                r["name"],
                r["score"],
                *(r["cells"].get(c["code"], {}).get("text", "—") for c in data["columns"]),
            ]
        )
    ws.column_dimensions["B"].width = 20
    for c in data["columns"]:
        sheet = wb.create_sheet(_sheet_title(c["name"], used))
        sheet.append([c["name"], f"目标 {c['target']}", f"权重 {c['weight']:g}"])
        sheet.append(["指标排名", "派出所", "值", "显示"])
        valued = [r for r in data["rows"] if r["cells"].get(c["code"], {}).get("value") is not None]
        valued.sort(key=lambda r: r["cells"][c["code"]]["value"], reverse=c["higher_is_better"])
        for i, r in enumerate(valued, 1):
            cell = r["cells"][c["code"]]
            sheet.append([i, r["name"], cell["value"], cell["text"]])
        for r in data["rows"]:
            if r not in valued:
                sheet.append([None, r["name"], None, "—"])
        sheet.column_dimensions["B"].width = 20
    if any(texts.values()):
        notes = wb.create_sheet(_sheet_title("通报内容", used))
        for name in COMMENTARY:
            notes.append([COMMENTARY_TITLES[name], texts.get(name, "")])
    # Text is text: a cell starting with = + - @ would become a live formula in Excel (formula injection).
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                    cell.value = "'" + cell.value
                    cell.data_type = "s"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
