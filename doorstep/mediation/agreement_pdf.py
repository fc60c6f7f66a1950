"""The people's-mediation agreement (人民调解协议书) as a PDF (人民调解法 arts. 28–33; ADR 0015).

Plain data in, bytes out: the service fills `AgreementData` from the case, so this module knows nothing of
the models. The document is a legal record in Chinese whatever the user's language, so its wording is not
translated.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from doorstep.core import pdf

_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Party:
    """当事人: one person (or unit) on one side of the dispute, identifiers already masked."""

    side: str  # 甲方 / 乙方 / 第三方
    name: str
    gender: str = ""
    age: int | str = ""  # an age in years, or birth text such as "1980年5月出生"
    id_number_masked: str = ""
    address: str = ""
    phone_masked: str = ""


class Term(NamedTuple):
    """One clause agreed: what is done, how (履行方式) and by when (履行期限)."""

    content: str
    manner: str
    deadline: datetime.date


@dataclass(frozen=True)
class AgreementData:
    number: str  # 协议书编号
    committee: str  # the people's mediation committee (or its studio), as it signs and seals
    parties: Sequence[Party]
    dispute_type: str
    facts: str  # 纠纷主要事实
    issues: str  # 争议事项
    responsibilities: str  # 各方当事人的责任
    terms: Sequence[Term]
    mediator_name: str
    signed_on: datetime.date
    confirm_by: datetime.date  # last day to apply for judicial confirmation (art. 33: 30 days)
    copies: int  # one per party plus the committee's


def cn_date(day: datetime.date) -> str:
    """2026年3月5日 (no leading zeros, as Chinese documents write dates)."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_ordinal(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九; larger numbers stay in Arabic digits."""
    if not 0 < n < 100:
        return str(n)
    tens, units = divmod(n, 10)
    text = ""
    if tens:
        text = ("" if tens == 1 else _DIGITS[tens]) + "十"
    return text + (_DIGITS[units] if units else "")


def _party_line(party: Party) -> str:
    age = f"{party.age}岁" if isinstance(party.age, int) else party.age
    details = [party.name, party.gender, age]
    if party.id_number_masked:
        details.append(f"身份证号码：{party.id_number_masked}")
    if party.address:
        details.append(f"住址：{party.address}")
    if party.phone_masked:
        details.append(f"联系电话：{party.phone_masked}")
    return f"{party.side}：" + "，".join(d for d in details if d)


def _texts(data: AgreementData) -> list[str]:
    texts = [
        data.number,
        data.committee,
        data.dispute_type,
        data.facts,
        data.issues,
        data.responsibilities,
        data.mediator_name,
    ]
    for party in data.parties:
        texts += [party.side, party.name, party.gender, str(party.age)]
        texts += [party.id_number_masked, party.address, party.phone_masked]
    for term in data.terms:
        texts += [term.content, term.manner]
    return texts


def _section(heading: str, text: str, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    body = [pdf.para(line, s["indent"]) for line in text.splitlines() if line.strip()]
    return [pdf.para(heading, s["heading"]), *(body or [pdf.para("无。", s["indent"])])]


def _signatures(data: AgreementData, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    width = pdf.frame_width()
    rows = [
        [f"{party.side}（{party.name}）签名（按指印）：________________", "日期：______年____月____日"]
        for party in data.parties
    ]
    rows.append([f"人民调解员签名：________________（{data.mediator_name}）", ""])
    return [
        Spacer(0, 6 * mm),
        pdf.table(rows, [width * 0.62, width * 0.38], style=s["left"]),
        Spacer(0, 10 * mm),
        pdf.para(f"{data.committee}（印章）", s["right"]),
        pdf.para(cn_date(data.signed_on), s["right"]),
    ]


def render_agreement(data: AgreementData) -> bytes:
    """The agreement as A4 PDF bytes. Raises `pdf.MissingGlyphs` (and builds nothing) if any text supplied
    holds a character the font cannot draw."""
    if not data.parties:
        raise ValueError("an agreement needs at least one party")
    if not data.terms:
        raise ValueError("an agreement needs at least one term")
    if data.copies < len(data.parties) + 1:
        raise ValueError("one copy per party plus the committee's is the least")
    pdf.check_text(*_texts(data))

    s = pdf.styles()
    story: list[Flowable] = [
        pdf.para("人民调解协议书", s["title"]),
        pdf.para(f"编号：{data.number}", s["right"]),
        pdf.para("当事人", s["heading"]),
        *(pdf.para(_party_line(party), s["item"]) for party in data.parties),
        pdf.para("纠纷类型", s["heading"]),
        pdf.para(data.dispute_type, s["indent"]),
        *_section("纠纷主要事实", data.facts, s),
        *_section("争议事项", data.issues, s),
        *_section("各方当事人的责任", data.responsibilities, s),
        pdf.para("协议内容", s["heading"]),
        pdf.para("经调解，当事人自愿达成如下协议：", s["indent"]),
    ]
    for n, term in enumerate(data.terms, start=1):
        story += [
            pdf.para(f"{cn_ordinal(n)}、{term.content}", s["indent"]),
            pdf.para(f"履行方式：{term.manner}；履行期限：{cn_date(term.deadline)}前。", s["indent"]),
        ]
    closing: list[Flowable] = [
        pdf.para("协议效力", s["heading"]),
        pdf.para(
            "本协议自各方当事人签名、盖章或者按指印，人民调解员签名并加盖人民调解委员会印章之日起生效。"
            f"本协议书一式{data.copies}份，当事人各执一份，人民调解委员会留存一份。",
            s["indent"],
        ),
        pdf.para("经人民调解委员会调解达成的调解协议，具有法律约束力，当事人应当按照约定履行。", s["indent"]),
        pdf.para(
            "当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认"
            f"（申请截止日期：{cn_date(data.confirm_by)}）。"
            "人民法院依法确认调解协议有效，一方当事人拒绝履行或者未全部履行的，"
            "对方当事人可以向人民法院申请强制执行。",
            s["indent"],
        ),
        *_signatures(data, s),
    ]
    # The signatures and seal must not land on a page of their own, cut off from the text they sign: they
    # move with the closing clauses.
    story.append(KeepTogether(closing))
    return pdf.build(story, title=f"人民调解协议书 {data.number}", author=data.committee)
