"""Monthly bulletins: the lifecycle (draft → published, frozen: edits and republishing refused, stored bytes
and SHA-256 unchanged, a correction supersedes), the PDF's extracted text holds the ranking in Chinese, the
Excel opens with the ranking and one sheet per KPI, permissions by role, Chinese errors and 404s."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from doorstep.audit.models import AccessEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.evaluation import bulletins, kpis, periods
from doorstep.evaluation.choices import PeriodKind
from doorstep.evaluation.engine import REGISTRY
from doorstep.evaluation.models import KpiSetting
from doorstep.evaluation.models_links import Bulletin, BulletinStatus
from doorstep.evaluation.tests.test_pages import disputes

KEEP = ("mediation_success",)


def month() -> str:
    return periods.value(periods.period_of(PeriodKind.MONTH, timezone.localdate()))


@pytest.fixture
def ranked(world):
    """Only 调解成功率 active: 城东派出所 settles 2 of 3 disputes, 清源派出所 0 of 1 — 城东 ranks first."""
    assert kpis.BATCHES  # every KPI registered before the others are switched off
    for code in REGISTRY:
        if code not in KEEP:
            KpiSetting.objects.create(code=code, active=False)
    disputes(world)
    return world


def draft(world, by=None):
    return bulletins.draft_bulletin(month=month(), by=by or world.evaluator)


def text_of(pdf_bytes: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)


def test_draft_ranks_stations_by_total_score(ranked):
    data = bulletins.data_of(draft(ranked))
    assert [(r["rank"], r["name"]) for r in data["rows"]] == [(1, "城东派出所"), (2, "清源派出所")]
    assert data["best_worst"]["mediation_success"]["best"] == ["城东派出所"]
    assert data["best_worst"]["mediation_success"]["worst"] == ["清源派出所"]


def test_publish_freezes_everything(ranked):
    b = draft(ranked)
    bulletins.update_commentary(
        b, by=ranked.evaluator, summary="本月总体平稳。", commendations="表扬城东派出所。"
    )
    b = bulletins.publish(b, by=ranked.evaluator)
    assert b.status == BulletinStatus.PUBLISHED and b.data["rows"][0]["name"] == "城东派出所"
    stored = Bulletin.objects.get(pk=b.pk)
    pdf_bytes, xlsx_bytes = bytes(stored.pdf), bytes(stored.xlsx)
    assert hashlib.sha256(pdf_bytes).hexdigest() == stored.pdf_sha256
    assert hashlib.sha256(xlsx_bytes).hexdigest() == stored.xlsx_sha256
    with pytest.raises(RuleViolation, match="已发布"):
        bulletins.update_commentary(stored, by=ranked.evaluator, summary="改")
    with pytest.raises(RuleViolation, match="已发布"):
        bulletins.publish(stored, by=ranked.evaluator)
    # A new target after publishing changes the live figures, not the bulletin.
    KpiSetting.objects.create(code="mediation_success", target=0.1, weight=5)
    assert bulletins.compute_data(stored.sub_bureau, stored.month)["columns"] != b.data["columns"]
    again = Bulletin.objects.get(pk=b.pk)
    assert bytes(again.pdf) == pdf_bytes and bytes(again.xlsx) == xlsx_bytes
    assert again.data == b.data and again.summary == "本月总体平稳。"
    assert bulletins.stored_document(again, "pdf") == pdf_bytes


def test_tampered_bytes_are_never_served(ranked):
    b = bulletins.publish(draft(ranked), by=ranked.evaluator)
    Bulletin.objects.filter(pk=b.pk).update(pdf=b"%PDF-forged")
    with pytest.raises(RuntimeError):
        bulletins.stored_document(Bulletin.objects.get(pk=b.pk), "pdf")


def test_pdf_text_contains_the_ranking_in_chinese(ranked):
    b = bulletins.publish(draft(ranked), by=ranked.evaluator)
    text = text_of(bytes(b.pdf))
    assert "社区警务考评通报" in text and "综合排名" in text
    assert text.index("城东派出所") < text.index("清源派出所")
    assert b"FontFile2" in bytes(b.pdf)


def test_excel_has_the_ranking_and_a_sheet_per_kpi(ranked):
    b = bulletins.publish(draft(ranked), by=ranked.evaluator)
    wb = load_workbook(io.BytesIO(bytes(b.xlsx)))
    assert wb.sheetnames[0] == "综合排名"
    ws = wb["综合排名"]
    assert [ws.cell(row=r, column=2).value for r in (3, 4)] == ["城东派出所", "清源派出所"]
    assert ws.cell(row=3, column=1).value == 1
    assert str(REGISTRY["mediation_success"].name) in wb.sheetnames


def test_corrections(ranked):
    first = bulletins.publish(draft(ranked), by=ranked.evaluator)
    correction = draft(ranked)
    assert correction.supersedes == first
    with pytest.raises(RuleViolation, match="草稿"):
        draft(ranked)
    bulletins.publish(correction, by=ranked.evaluator)
    first.refresh_from_db()
    assert first.status == BulletinStatus.SUPERSEDED and bytes(first.pdf)


def test_bad_input_gives_chinese_errors(world):
    with pytest.raises(ServiceError, match="月份格式不正确"):
        bulletins.draft_bulletin(month="2026-13", by=world.evaluator)
    with pytest.raises(ServiceError, match="尚未开始"):
        bulletins.draft_bulletin(month="2099-01", by=world.evaluator)
    with pytest.raises(NotAllowed):
        bulletins.draft_bulletin(month=month(), by=world.director)
    b = draft(world)
    with pytest.raises(ServiceError, match="无法在PDF中正确显示"):
        bulletins.update_commentary(b, by=world.evaluator, problems="\U0002a6a5")


def test_pages_by_role(ranked, client_for):
    world = ranked
    ev = client_for(world.evaluator)
    r = ev.post(reverse("evaluation:bulletin_new"), {"month": month()})
    assert r.status_code == 302
    b = Bulletin.objects.get()
    detail = reverse("evaluation:bulletin_detail", args=[b.pk])
    # Drafts: hidden from leaders and directors, who cannot draft either.
    assert client_for(world.leader).get(detail).status_code == 404
    assert (
        client_for(world.director).post(reverse("evaluation:bulletin_new"), {"month": month()}).status_code
        == 403
    )
    assert client_for(world.officer_a).get(reverse("evaluation:bulletins")).status_code == 404
    assert ev.get(reverse("evaluation:bulletin_pdf", args=[b.pk])).status_code == 404
    r = ev.post(detail, {"summary": "总体平稳", "commendations": "", "problems": "", "requirements": ""})
    assert r.status_code == 302
    assert ev.post(reverse("evaluation:bulletin_publish", args=[b.pk])).status_code == 302
    b.refresh_from_db()
    assert b.status == BulletinStatus.PUBLISHED
    # Published: leaders and directors read and download; nobody edits.
    leader = client_for(world.leader)
    html = leader.get(detail).content.decode()
    assert "城东派出所" in html and "总体平稳" in html
    r = leader.get(reverse("evaluation:bulletin_pdf", args=[b.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content == bytes(b.pdf)
    assert AccessEntry.objects.filter(kind="export", object_type="evaluation.bulletin").count() == 1
    r = client_for(world.director).get(reverse("evaluation:bulletin_xlsx", args=[b.pk]))
    assert r.status_code == 200 and r.content == bytes(b.xlsx)
    assert leader.post(reverse("evaluation:bulletin_publish", args=[b.pk])).status_code == 403
    ev.post(detail, {"summary": "改"})
    b.refresh_from_db()
    assert b.summary == "总体平稳"
    assert leader.get(reverse("evaluation:bulletin_detail", args=[2**63 + 1])).status_code == 404
    assert leader.get(reverse("evaluation:bulletin_pdf", args=[99999999999999999999])).status_code == 404
    r = ev.post(reverse("evaluation:bulletin_new"), {"month": "garbage"}, follow=True)
    assert "月份格式不正确" in r.content.decode()
