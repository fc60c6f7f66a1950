"""The people's-mediation agreement PDF (人民调解协议书), read back with pypdf. No database needed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from doorstep.core import pdf
from doorstep.mediation.agreement_pdf import AgreementData, Party, Term, cn_date, cn_ordinal, render_agreement

RARE = "\U00020000"  # 𠀀 (CJK Extension B): not in Noto Sans SC


def _agreement(**changes) -> AgreementData:
    data = AgreementData(
        number="城东调〔2026〕15号",
        committee="城东派出所驻所人民调解工作室",
        parties=[
            Party(
                "甲方", "陈建国", "男", 52, "350503********1234", "城东街道幸福里3号楼201室", "138****5678"
            ),
            Party(
                "乙方",
                "林秀英",
                "女",
                "1978年4月出生",
                "350503********567X",
                "城东街道幸福里3号楼101室",
                "139****0001",
            ),
        ],
        dispute_type="邻里纠纷",
        facts="甲方于2026年10月装修房屋，施工渗水致乙方厨房顶棚受损，双方协商未果。",
        issues="渗水损失的赔偿数额及维修责任。",
        responsibilities="甲方施工不当，对渗水负主要责任；乙方未及时告知物业，负次要责任。",
        terms=[
            Term("甲方赔偿乙方维修费用人民币叁仟元整", "银行转账一次性支付", dt.date(2026, 12, 15)),
            Term("甲方负责修复防水层并经乙方验收", "甲方自行雇请施工队修复", dt.date(2027, 1, 10)),
        ],
        mediator_name="郑明华",
        signed_on=dt.date(2026, 11, 28),
        confirm_by=dt.date(2026, 12, 28),
        copies=3,
    )
    return dataclasses.replace(data, **changes)


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def _text(data: bytes) -> str:
    """The text of every page, page numbers and line breaks removed (wrapping splits words anywhere)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(re.sub(r"第\d+页", "", text).split())


def test_agreement_text_holds_parties_terms_dates_and_legal_clauses():
    data = render_agreement(_agreement())

    text = _text(data)
    for expected in [
        "人民调解协议书",
        "编号：城东调〔2026〕15号",
        "甲方：陈建国，男，52岁，身份证号码：350503********1234",
        "住址：城东街道幸福里3号楼201室，联系电话：138****5678",
        "乙方：林秀英，女，1978年4月出生",
        "纠纷主要事实",
        "施工渗水致乙方厨房顶棚受损",
        "争议事项",
        "各方当事人的责任",
        "经调解，当事人自愿达成如下协议：",
        "一、甲方赔偿乙方维修费用人民币叁仟元整",
        "履行方式：银行转账一次性支付；履行期限：2026年12月15日前。",
        "二、甲方负责修复防水层并经乙方验收",
        "履行期限：2027年1月10日前。",
        "本协议自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起生效。",
        "本协议书一式3份，当事人各执一份，人民调解委员会留存一份。",
        "当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认",
        "2026年12月28日",
        "甲方（陈建国）签名（按指印）：",
        "乙方（林秀英）签名（按指印）：",
        "人民调解员签名：",
        "郑明华",
        "城东派出所驻所人民调解工作室（印章）",
        "2026年11月28日",
    ]:
        assert expected in text, expected
    metadata = PdfReader(io.BytesIO(data)).metadata
    assert metadata.title == "人民调解协议书 城东调〔2026〕15号"
    assert metadata.author == "城东派出所驻所人民调解工作室"


def test_long_facts_wrap_onto_more_pages():
    short = render_agreement(_agreement())
    facts = "\n".join(
        ["甲方长期在楼道堆放杂物并饲养家禽，气味与噪声影响邻居生活，乙方多次交涉无果。" * 8] * 20
    )

    long = render_agreement(_agreement(facts=facts))

    assert _pages(short) <= 2
    assert _pages(long) > _pages(short) + 2
    assert "".join(facts.split()) in _text(long)


def test_the_font_is_embedded_and_subset():
    data = render_agreement(_agreement())

    assert b"/FontFile2" in data
    assert len(data) < 200_000  # the font file alone is 10 MB


@pytest.mark.parametrize(
    "changes",
    [
        {"parties": [Party("甲方", f"陈{RARE}"), Party("乙方", "林秀英")]},
        {"parties": [Party("甲方", "陈建国", address=f"幸福里{RARE}巷"), Party("乙方", "林秀英")]},
        {"facts": f"因{RARE}引起纠纷"},
        {"terms": [Term(f"赔偿{RARE}", "现金", dt.date(2026, 12, 1))]},
        {"terms": [Term("赔偿", f"现金{RARE}", dt.date(2026, 12, 1))]},
        {"committee": f"{RARE}人民调解委员会"},
        {"mediator_name": f"郑{RARE}"},
    ],
)
def test_a_character_missing_from_the_font_refuses_before_building(changes, monkeypatch):
    assert pdf.missing_glyphs(RARE) == [RARE]
    built = []
    monkeypatch.setattr(pdf, "build", lambda *args, **kwargs: built.append(args) or b"%PDF-")

    with pytest.raises(pdf.MissingGlyphs) as caught:
        render_agreement(_agreement(**changes))

    assert caught.value.chars == [RARE]
    assert built == []


def test_markup_in_user_text_is_printed_as_typed():
    data = render_agreement(_agreement(issues="赔偿<2000元 & 道歉"))

    assert "赔偿<2000元&道歉" in _text(data)


def test_copies_must_cover_every_party_and_the_committee():
    with pytest.raises(ValueError):
        render_agreement(_agreement(copies=2))


def test_same_agreement_gives_the_same_bytes():
    assert render_agreement(_agreement()) == render_agreement(_agreement())


def test_chinese_dates_and_ordinals():
    assert cn_date(dt.date(2027, 1, 5)) == "2027年1月5日"
    assert [cn_ordinal(n) for n in (1, 9, 10, 11, 20, 21, 99, 100)] == [
        "一",
        "九",
        "十",
        "十一",
        "二十",
        "二十一",
        "九十九",
        "100",
    ]
