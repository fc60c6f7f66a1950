"""Every write of dispute mediation: intake, on-site mediation (首问首接), transfer to the mediation room and
assignment to the duty mediator, sessions, outcomes and agreements, escalation and referral, follow-up.

Each service checks who acts, validates, writes in one transaction with an audit entry and a history row
(DisputeStep). Audit snapshots carry the parties' ID numbers and phones masked.

Time limits: 治安调解 (public-security mediation) is completed within 3 working days of intake; people's
mediation within `settings.MEDIATION_LIMIT_DAYS` (30) days of the transfer to the room (of intake when taken
straight into the room). A closed case is due a follow-up visit within `settings.MEDIATION_FOLLOW_UP_DAYS`.
Parties may apply for judicial confirmation within 30 days of the agreement (人民调解法 art. 33).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.audit.services import record_change, snapshot
from doorstep.core.crypto import search_hash
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.ids import citizen_id_error
from doorstep.core.masking import mask_citizen_id, mask_phone
from doorstep.mediation import access, rota
from doorstep.mediation.choices import (
    CLOSED,
    Level,
    Procedure,
    Risk,
    SettledBy,
    Source,
    Status,
)
from doorstep.mediation.models import (
    Agreement,
    Dispute,
    DisputeStep,
    DisputeType,
    FollowUp,
    Party,
    Referral,
    Session,
)
from doorstep.org.choices import StaffKind
from doorstep.org.models import Community, Grid, Staff
from doorstep.org.territory import Territory
from doorstep.org.workdays import WorkCalendar
from doorstep.registry.models import Person

SECURITY_LIMIT_WORKING_DAYS = 3
CONFIRMATION_DAYS = 30  # 人民调解法 art. 33
MAX_PARTIES = 10
ATTEMPTS = 5
END_OF_DAY = dt.time(23, 59, 59)

ACTION_LABELS = {
    "create": gettext_lazy("受理"),
    "onsite_settled": gettext_lazy("现场调解成功"),
    "onsite_failed": gettext_lazy("现场调解未成功"),
    "transfer": gettext_lazy("移交驻所调解室"),
    "assign": gettext_lazy("分派调解员"),
    "auto_assign": gettext_lazy("自动分派值班调解员"),
    "session": gettext_lazy("调解"),
    "agreement": gettext_lazy("达成调解协议"),
    "no_agreement": gettext_lazy("调解不成"),
    "escalate": gettext_lazy("上报街道"),
    "refer": gettext_lazy("移交职能部门"),
    "reply": gettext_lazy("职能部门答复"),
    "follow_up": gettext_lazy("回访"),
    "reopen": gettext_lazy("重新调解"),
}


@dataclass
class PartyData:
    name: str
    side: str = "A"
    id_number: str = ""
    phone: str = ""
    address: str = ""


@dataclass
class TermData:
    content: str
    manner: str
    deadline: dt.date | None


# --- helpers -------------------------------------------------------------------------------------------------
def _masked_snapshot(dispute: Dispute) -> dict[str, Any]:
    return snapshot(dispute) or {}


def _party_snapshot(party: Party) -> dict[str, Any]:
    # the ID number and phone are encrypted fields: `snapshot` keeps the phone masked and nothing of the ID
    # number, each with a short keyed digest (crypto.audit_repr)
    return snapshot(party) or {}


def _step(dispute: Dispute, by: Any, action: str, *, before: str, note: str = "", at: dt.datetime) -> None:
    DisputeStep.objects.create(
        dispute=dispute,
        at=at,
        by=by if getattr(by, "is_authenticated", False) else None,
        by_name=str(by) if by is not None else "系统",
        action=action,
        from_status=before,
        to_status=dispute.status,
        note=(note or "")[:500],
    )


def _save(dispute: Dispute, by: Any, action: str, *, before: dict, before_status: str, note: str, now):
    dispute.save()
    _step(dispute, by, action, before=before_status, note=note, at=now)
    record_change(
        by, f"mediation.{action}", dispute, before=before, after=_masked_snapshot(dispute), note=note
    )


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, END_OF_DAY))


def security_due(received_at: dt.datetime) -> dt.datetime:
    day = timezone.localtime(received_at).date()
    return _end_of(WorkCalendar.around(day).add_working_days(day, SECURITY_LIMIT_WORKING_DAYS))


def people_due(start: dt.datetime) -> dt.datetime:
    return _end_of(timezone.localtime(start).date() + dt.timedelta(days=settings.MEDIATION_LIMIT_DAYS))


def station_short_name(name: str) -> str:
    return name.replace("派出所", "所") if name.endswith("派出所") else name


def dispute_number(station_name: str, year: int, seq: int) -> str:
    return f"{station_short_name(station_name)}调{year}第{seq:05d}号"


def _clean_parties(parties: list[PartyData]) -> list[PartyData]:
    cleaned: list[PartyData] = []
    for p in parties:
        name = (p.name or "").strip()
        id_number = (p.id_number or "").strip().upper()
        phone = (p.phone or "").strip()
        if not name:
            if id_number or phone or (p.address or "").strip():
                raise ServiceError(_("当事人须填写姓名或名称"), code="parties")
            continue
        if id_number:
            error = citizen_id_error(id_number)
            if error:
                raise ServiceError(
                    _("当事人%(name)s：%(error)s") % {"name": name, "error": _(error)}, code="parties"
                )
        if phone and not (phone.isascii() and phone.replace("-", "").isdigit() and 7 <= len(phone) <= 20):
            raise ServiceError(
                _("当事人%(name)s：联系电话只能由数字和连字符组成（7至20位）") % {"name": name},
                code="parties",
            )
        side = p.side if p.side in ("A", "B", "C") else "C"
        cleaned.append(PartyData(name[:100], side, id_number, phone[:20], (p.address or "").strip()[:200]))
    if len(cleaned) < 2:
        raise ServiceError(_("请登记纠纷双方当事人（至少两方）"), code="parties")
    if len(cleaned) > MAX_PARTIES:
        raise ServiceError(_("当事人最多%(n)s个") % {"n": MAX_PARTIES}, code="parties")
    if not any(p.side == "A" for p in cleaned) or not any(p.side == "B" for p in cleaned):
        raise ServiceError(_("当事人须至少有甲方和乙方各一人"), code="parties")
    return cleaned


def _next_seq(station_id: int, year: int) -> int:
    from doorstep.org.models import Station

    Station.objects.select_for_update().filter(pk=station_id).first()
    top = Dispute.objects.filter(station_id=station_id, year=year).aggregate(m=Max("seq"))["m"]
    return (top or 0) + 1


# --- intake --------------------------------------------------------------------------------------------------
def create_dispute(
    *,
    community: Community,
    dispute_type: DisputeType,
    place: str,
    facts: str,
    parties: list[PartyData],
    by: Any,
    source: str = Source.OFFICER,
    procedure: str = Procedure.PEOPLE,
    grid: Grid | None = None,
    occurred_at: dt.datetime | None = None,
    involved_count: int | None = None,
    risk: str = Risk.LOW,
    violence_risk: bool = False,
    intake: Any = None,
    alarm: Any = None,
) -> Dispute:
    """受理: take in a dispute. The person taking it is its first officer (首问首接) when they are an officer or
    auxiliary; it starts 首接调解中 (on-site mediation first)."""
    station_id = community.station_id
    if not access.may_take(by, station_id) or not Territory.for_user(by).contains(community):
        raise NotAllowed(_("您不能在该社区受理矛盾纠纷"))
    if grid is not None and grid.community_id != community.pk:
        raise ServiceError(_("网格不属于该社区"), code="grid")
    if not dispute_type.active:
        raise ServiceError(_("该纠纷类型已停用"), code="dispute_type")
    if source not in Source.values:
        raise ServiceError(_("来源无效"), code="source")
    if procedure not in Procedure.values:
        raise ServiceError(_("调解类别无效"), code="procedure")
    if risk not in Risk.values:
        raise ServiceError(_("风险等级无效"), code="risk")
    place, facts = (place or "").strip(), (facts or "").strip()
    if not place:
        raise ServiceError(_("请填写发生地点"), code="place")
    if not facts:
        raise ServiceError(_("请填写纠纷简要情况"), code="facts")
    now = timezone.now()
    if occurred_at is not None and occurred_at > now + dt.timedelta(minutes=5):
        raise ServiceError(_("发生时间不能晚于现在"), code="occurred_at")
    cleaned = _clean_parties(parties)
    count = involved_count if involved_count is not None else len(cleaned)
    if count < len(cleaned):
        raise ServiceError(_("涉及人数不能少于登记的当事人数"), code="involved_count")
    if count > 10000:
        raise ServiceError(_("涉及人数过大"), code="involved_count")
    staff = getattr(by, "staff", None)
    first = staff if staff is not None and staff.kind in ("police", "auxiliary") and staff.active else None
    # A mediator of the station taking a dispute in (a walk-in at the mediation room) mediates it there: it
    # starts 调解室调解中 with them, not 首接调解中 with nobody able to move it on.
    in_room = (
        staff
        if staff is not None
        and staff.kind == StaffKind.MEDIATOR
        and staff.active
        and staff.station_id == station_id
        else None
    )
    due = security_due(now) if procedure == Procedure.SECURITY else people_due(now)
    territory = Territory.for_user(by)

    last_error: Exception | None = None
    for _attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                year = timezone.localtime(now).year
                seq = _next_seq(station_id, year)
                dispute = Dispute.objects.create(
                    number=dispute_number(community.station.name, year, seq),
                    year=year,
                    seq=seq,
                    station_id=station_id,
                    community=community,
                    grid=grid,
                    dispute_type=dispute_type,
                    procedure=procedure,
                    source=source,
                    intake=intake,
                    alarm=alarm,
                    place=place[:200],
                    occurred_at=occurred_at,
                    involved_count=count,
                    facts=facts[:2000],
                    risk=risk,
                    violence_risk=bool(violence_risk),
                    status=Status.IN_ROOM if in_room else Status.ONSITE,
                    level=Level.COMMUNITY,
                    first_officer=first,
                    mediator=in_room,
                    transferred_at=now if in_room else None,
                    assigned_at=now if in_room else None,
                    received_by=by,
                    received_at=now,
                    due_at=due,
                )
                for p in cleaned:
                    person = (
                        Person.objects.filter(id_hash=search_hash("id", p.id_number)).first()
                        if p.id_number
                        else None
                    )
                    if person is not None and not territory.contains(person):
                        person = (
                            None  # outside the territory: do not link (nor reveal that they are registered)
                        )
                    party = Party.objects.create(
                        dispute=dispute,
                        side=p.side,
                        name=p.name,
                        id_number=p.id_number,
                        phone=p.phone,
                        address=p.address,
                        person=person,
                    )
                    record_change(by, "mediation.party", party, after=_party_snapshot(party))
                note = _("可能激化为暴力，须重点关注") if dispute.violence_risk else ""
                _step(dispute, by, "create", before="", note=note, at=now)
                record_change(by, "mediation.create", dispute, after=_masked_snapshot(dispute))
            return dispute
        except IntegrityError as exc:  # a number taken in between (SQLite without row locks): draw again
            last_error = exc
    raise RuleViolation(_("系统繁忙，编号分配失败，请重试")) from last_error


def create_from_intake(
    intake: Any, *, dispute_type: DisputeType, parties: list[PartyData], by: Any, **kw
) -> Dispute:
    """登记为矛盾纠纷: a dispute taken at a police room's service desk (待移交调解) becomes a mediation case; the
    desk item is closed as transferred to mediation, in the same transaction."""
    from doorstep.desk import services as desk_services
    from doorstep.desk.choices import IntakeKind, IntakeStatus

    if intake.kind != IntakeKind.DISPUTE:
        raise ServiceError(_("只有矛盾纠纷类事项可以登记为调解案件"), code="intake")
    if intake.status != IntakeStatus.PENDING_MEDIATION:
        raise RuleViolation(
            _("该事项已处理（%(status)s），不能再移交调解") % {"status": intake.get_status_display()}
        )
    if Dispute.objects.filter(intake=intake).exists():
        raise RuleViolation(_("该事项已登记为矛盾纠纷"))
    with transaction.atomic():
        dispute = create_dispute(
            community=intake.room.community,
            dispute_type=dispute_type,
            parties=parties,
            by=by,
            source=Source.DESK,
            intake=intake,
            place=kw.pop("place", "") or intake.room.name,
            facts=kw.pop("facts", "") or intake.summary,
            **kw,
        )
        desk_services.transition(
            intake, "transfer", by=by, note=_("已登记为矛盾纠纷 %(no)s") % {"no": dispute.number}
        )
    return dispute


# --- on the spot ---------------------------------------------------------------------------------------------
def _locked(dispute: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().select_related("station", "community").get(pk=dispute.pk)


def _require(check: bool, message: str) -> None:
    if not check:
        raise NotAllowed(message)


def _close(
    dispute: Dispute, status: str, now: dt.datetime, *, settled_by: str = "", result: str = ""
) -> None:
    dispute.status = status
    dispute.closed_at = now
    dispute.settled_by = settled_by
    dispute.result = (result or "")[:500]
    dispute.follow_up_due = timezone.localtime(now).date() + dt.timedelta(
        days=settings.MEDIATION_FOLLOW_UP_DAYS
    )


def record_onsite(dispute: Dispute, *, settled: bool, note: str, by: Any, transfer: bool = False) -> Dispute:
    """现场调解 by the first officer: settled → closed (化解在现场); not settled → transferred to the mediation
    room in the same action when `transfer` (the usual case)."""
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("请填写现场调解情况"), code="note")
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require(
            access.may_field(by, dispute.station_id) and Territory.for_user(by).contains(dispute),
            _("只有本社区民警、协勤员或所长可以记录现场调解"),
        )
        if dispute.status != Status.ONSITE:
            raise RuleViolation(
                _("当前状态为“%(s)s”，不能记录现场调解") % {"s": dispute.get_status_display()}, code="status"
            )
        before, before_status = _masked_snapshot(dispute), dispute.status
        if settled:
            _close(dispute, Status.SETTLED, now, settled_by=SettledBy.ONSITE, result=note)
            _save(
                dispute, by, "onsite_settled", before=before, before_status=before_status, note=note, now=now
            )
            return dispute
        _step(dispute, by, "onsite_failed", before=before_status, note=note, at=now)
        if transfer:
            _transfer(dispute, by, now, note=_("现场调解未成功，移交驻所调解室"))
        else:
            record_change(by, "mediation.onsite_failed", dispute, note=note)
    return dispute


def transfer(dispute: Dispute, *, by: Any, note: str = "") -> Dispute:
    """移交驻所调解室: to the mediator on duty today, or waiting for the director when nobody is."""
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require(
            access.may_field(by, dispute.station_id) and Territory.for_user(by).contains(dispute),
            _("只有本社区民警、协勤员或所长可以移交调解室"),
        )
        _transfer(dispute, by, now, note=note)
    return dispute


def _transfer(dispute: Dispute, by: Any, now: dt.datetime, *, note: str) -> None:
    if dispute.status in CLOSED:
        raise RuleViolation(_("纠纷已结案，不能移交调解室"), code="status")
    if dispute.status != Status.ONSITE:
        raise RuleViolation(
            _("当前状态为“%(s)s”，不能移交调解室") % {"s": dispute.get_status_display()}, code="status"
        )
    before, before_status = _masked_snapshot(dispute), dispute.status
    dispute.transferred_at = now
    dispute.level = Level.COMMUNITY
    if dispute.procedure == Procedure.PEOPLE:
        dispute.due_at = people_due(now)
    mediator = rota.duty_mediator(dispute.station_id, timezone.localtime(now).date())
    if mediator is not None:
        dispute.status, dispute.mediator, dispute.assigned_at = Status.IN_ROOM, mediator, now
        text = _("%(note)s；分派给今日值班调解员%(name)s") % {
            "note": note or _("移交调解室"),
            "name": mediator.name,
        }
    else:
        dispute.status, dispute.mediator, dispute.assigned_at = Status.AWAITING_MEDIATOR, None, None
        text = _("%(note)s；今日无值班调解员，已提请所长分派") % {"note": note or _("移交调解室")}
    _save(dispute, by, "transfer", before=before, before_status=before_status, note=text, now=now)


def assign(dispute: Dispute, mediator: Staff, *, by: Any, note: str = "") -> Dispute:
    """所长分派 (or re-assign) a mediator of the station."""
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require(access.may_manage(by, dispute.station_id), _("只有本所所长可以分派调解员"))
        if dispute.status not in (Status.AWAITING_MEDIATOR, Status.IN_ROOM):
            raise RuleViolation(
                _("当前状态为“%(s)s”，不能分派调解员") % {"s": dispute.get_status_display()}, code="status"
            )
        if not any(m.pk == mediator.pk for m in rota.mediators_of(dispute.station_id)):
            raise ServiceError(_("调解员须为本所在职的专职调解员"), code="mediator")
        before, before_status = _masked_snapshot(dispute), dispute.status
        dispute.status, dispute.mediator, dispute.assigned_at = Status.IN_ROOM, mediator, now
        text = _("分派给%(name)s") % {"name": mediator.name}
        if note.strip():
            text = f"{text}；{note.strip()}"
        _save(dispute, by, "assign", before=before, before_status=before_status, note=text, now=now)
    return dispute


def auto_assign(now: dt.datetime) -> int:
    """Hand disputes waiting for a mediator to the mediator on duty today (a working day). The periodic tick."""
    day = timezone.localtime(now).date()
    done = 0
    waiting = Dispute.objects.filter(status=Status.AWAITING_MEDIATOR).values_list("pk", "station_id")
    by_station: dict[int, list[int]] = {}
    for pk, station_id in waiting:
        by_station.setdefault(station_id, []).append(pk)
    for station_id, pks in by_station.items():
        mediator = rota.duty_mediator(station_id, day)
        if mediator is None:
            continue
        for pk in pks:
            with transaction.atomic():
                dispute = (
                    Dispute.objects.select_for_update().filter(pk=pk, status=Status.AWAITING_MEDIATOR).first()
                )
                if dispute is None:
                    continue
                before = _masked_snapshot(dispute)
                dispute.status, dispute.mediator, dispute.assigned_at = Status.IN_ROOM, mediator, now
                text = _("分派给今日值班调解员%(name)s") % {"name": mediator.name}
                _save(
                    dispute,
                    None,
                    "auto_assign",
                    before=before,
                    before_status=Status.AWAITING_MEDIATOR,
                    note=text,
                    now=now,
                )
                done += 1
    return done


def tick(now: dt.datetime) -> None:
    auto_assign(now)


# --- in the room ---------------------------------------------------------------------------------------------
ROOM_STATES = frozenset({Status.ONSITE, Status.IN_ROOM, Status.STREET})


def _require_room(dispute: Dispute, by: Any) -> None:
    if dispute.status == Status.ONSITE:
        _require(
            access.may_field(by, dispute.station_id)
            and Territory.for_user(by).contains(dispute)
            or access.may_room(by, dispute.station_id),
            _("您不能记录该纠纷的调解"),
        )
    else:
        _require(access.may_room(by, dispute.station_id), _("只有本所调解员或所长可以办理调解室的纠纷"))


def add_session(
    dispute: Dispute,
    *,
    held_at: dt.datetime,
    place: str,
    attendees: str,
    notes: str,
    by: Any,
    mediator_name: str = "",
) -> Session:
    """调解记录: one session (date, place, attendees, what was said)."""
    place, attendees, notes = (place or "").strip(), (attendees or "").strip(), (notes or "").strip()
    if not place:
        raise ServiceError(_("请填写调解地点"), code="place")
    if not attendees:
        raise ServiceError(_("请填写参加人员"), code="attendees")
    if not notes:
        raise ServiceError(_("请填写调解情况"), code="notes")
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_room(dispute, by)
        if dispute.status not in ROOM_STATES:
            raise RuleViolation(
                _("当前状态为“%(s)s”，不能记录调解") % {"s": dispute.get_status_display()}, code="status"
            )
        if held_at < dispute.received_at.replace(second=0, microsecond=0):
            raise ServiceError(_("调解时间不能早于受理时间"), code="held_at")
        if held_at > now + dt.timedelta(minutes=5):
            raise ServiceError(_("调解时间不能晚于现在"), code="held_at")
        staff = getattr(by, "staff", None)
        session = Session.objects.create(
            dispute=dispute,
            held_at=held_at,
            place=place[:100],
            level=dispute.level,
            mediator_name=(mediator_name or "").strip()[:50] or (staff.name if staff else str(by))[:50],
            attendees=attendees[:300],
            notes=notes[:4000],
            recorded_by=by,
            recorded_at=now,
        )
        _step(
            dispute,
            by,
            "session",
            before=dispute.status,
            note=f"{place}；{attendees}",
            at=now,
        )
        record_change(by, "mediation.session", session)
    return session


def _clean_terms(terms: list[TermData], signed_on: dt.date) -> list[dict[str, str]]:
    cleaned = []
    for t in terms:
        content, manner = (t.content or "").strip(), (t.manner or "").strip()
        if not content and not manner and t.deadline is None:
            continue
        if not content:
            raise ServiceError(_("协议条款须写明内容"), code="terms")
        if not manner:
            raise ServiceError(_("协议条款“%(c)s”须写明履行方式") % {"c": content[:20]}, code="terms")
        if t.deadline is None:
            raise ServiceError(_("协议条款“%(c)s”须写明履行期限") % {"c": content[:20]}, code="terms")
        if t.deadline < signed_on:
            raise ServiceError(_("履行期限不能早于协议签订日期"), code="terms")
        cleaned.append({"content": content[:500], "manner": manner[:200], "deadline": t.deadline.isoformat()})
    if not cleaned:
        raise ServiceError(_("调解协议须至少有一项协议内容（含履行方式和期限）"), code="terms")
    return cleaned


def _committee(dispute: Dispute) -> str:
    if dispute.level == Level.STREET:
        return _("%(street)s人民调解委员会") % {"street": dispute.community.street.name}
    return _("%(station)s驻所人民调解工作室") % {"station": dispute.station.name}


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def agreement_pdf(agreement: Agreement, parties: list[Party]) -> bytes:
    """The agreement as a PDF (ID numbers and phones masked: the paper copy is signed by the parties, who
    know their own numbers). Raises `MissingGlyphs` rather than print a character the font lacks."""
    from doorstep.core.ids import birth_date_of, gender_of, is_valid_citizen_id
    from doorstep.mediation.agreement_pdf import AgreementData, Term, render_agreement
    from doorstep.mediation.agreement_pdf import Party as PdfParty

    sides = {"A": _("甲方"), "B": _("乙方"), "C": _("第三方")}
    lines = []
    for p in parties:
        valid = bool(p.id_number) and is_valid_citizen_id(p.id_number)
        lines.append(
            PdfParty(
                side=str(sides.get(p.side, p.side)),
                name=p.name,
                gender=(_("男") if gender_of(p.id_number) == "1" else _("女")) if valid else "",
                age=_age(birth_date_of(p.id_number), agreement.signed_on) if valid else "",
                id_number_masked=mask_citizen_id(p.id_number) if p.id_number else "",
                address=p.address,
                phone_masked=mask_phone(p.phone) if p.phone else "",
            )
        )
    return render_agreement(
        AgreementData(
            number=agreement.number,
            committee=agreement.committee,
            dispute_type=agreement.dispute.dispute_type.name,
            parties=lines,
            facts=agreement.facts,
            issues=agreement.issues,
            responsibilities=agreement.responsibilities,
            terms=[
                Term(t["content"], t["manner"], dt.date.fromisoformat(t["deadline"])) for t in agreement.terms
            ],
            mediator_name=agreement.mediator_name,
            signed_on=agreement.signed_on,
            confirm_by=agreement.confirm_by,
            copies=len(parties) + 1,
        )
    )


def conclude_with_agreement(
    dispute: Dispute,
    *,
    facts: str,
    issues: str,
    responsibilities: str,
    terms: list[TermData],
    signed_on: dt.date,
    by: Any,
) -> Agreement:
    """达成协议: the agreement (人民调解法 art. 29) is written, its PDF generated and stored with the case, and
    the case closes as settled. Judicial confirmation may be applied for within 30 days (art. 33)."""
    facts, issues, responsibilities = (
        (facts or "").strip(),
        (issues or "").strip(),
        (responsibilities or "").strip(),
    )
    if not facts:
        raise ServiceError(_("请填写纠纷主要事实"), code="facts")
    if not issues:
        raise ServiceError(_("请填写争议事项"), code="issues")
    if not responsibilities:
        raise ServiceError(_("请填写各方当事人的责任"), code="responsibilities")
    now = timezone.now()
    today = timezone.localtime(now).date()
    if signed_on > today:
        raise ServiceError(_("签订日期不能晚于今天"), code="signed_on")
    cleaned = _clean_terms(terms, signed_on)
    written: list[str] = []
    try:
        with transaction.atomic():
            dispute = _locked(dispute)
            _require_room(dispute, by)
            if dispute.status not in ROOM_STATES:
                raise RuleViolation(
                    _("当前状态为“%(s)s”，不能制作调解协议") % {"s": dispute.get_status_display()},
                    code="status",
                )
            if signed_on < timezone.localtime(dispute.received_at).date():
                raise ServiceError(_("签订日期不能早于受理日期"), code="signed_on")
            staff = getattr(by, "staff", None)
            mediator_name = dispute.mediator.name if dispute.mediator else (staff.name if staff else str(by))
            dispute.agreements.filter(superseded=False).update(superseded=True)
            version = dispute.agreements.count() + 1
            agreement = Agreement(
                dispute=dispute,
                number=f"{dispute.number}-{version}" if version > 1 else dispute.number,
                facts=facts[:4000],
                issues=issues[:2000],
                responsibilities=responsibilities[:2000],
                terms=cleaned,
                mediator_name=mediator_name[:50],
                committee=_committee(dispute)[:100],
                signed_on=signed_on,
                confirm_by=signed_on + dt.timedelta(days=CONFIRMATION_DAYS),
                created_by=by,
                created_at=now,
            )
            pdf = agreement_pdf(agreement, list(dispute.parties.all()))  # refuses text the font cannot show
            name = default_storage.save(f"mediation/agreements/{dispute.pk}-{version}.pdf", ContentFile(pdf))
            written.append(name)
            agreement.pdf.name = name
            agreement.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
            agreement.save()
            record_change(by, "mediation.agreement", agreement)
            before, before_status = _masked_snapshot(dispute), dispute.status
            settled_by = {Level.STREET: SettledBy.STREET}.get(dispute.level) or (
                SettledBy.ONSITE if dispute.status == Status.ONSITE else SettledBy.ROOM
            )
            _close(
                dispute,
                Status.SETTLED,
                now,
                settled_by=settled_by,
                result=_("达成调解协议 %(no)s") % {"no": agreement.number},
            )
            _save(
                dispute,
                by,
                "agreement",
                before=before,
                before_status=before_status,
                note=agreement.number,
                now=now,
            )
    except BaseException:
        for name in written:  # the row never committed: do not leave its file behind
            default_storage.delete(name)
        raise
    return agreement


def conclude_without_agreement(dispute: Dispute, *, reason: str, by: Any) -> Dispute:
    """调解不成: closed without agreement (the parties are told of other remedies: litigation, arbitration)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("请填写调解不成的原因及告知当事人的救济途径"), code="reason")
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_room(dispute, by)
        if dispute.status not in ROOM_STATES:
            raise RuleViolation(
                _("当前状态为“%(s)s”，不能结案") % {"s": dispute.get_status_display()}, code="status"
            )
        before, before_status = _masked_snapshot(dispute), dispute.status
        _close(dispute, Status.FAILED, now, result=reason)
        _save(dispute, by, "no_agreement", before=before, before_status=before_status, note=reason, now=now)
    return dispute


# --- escalation and referral ---------------------------------------------------------------------------------
def escalate_to_street(
    dispute: Dispute, *, reason: str, by: Any, body: str = "", contact: str = ""
) -> Referral:
    """上报街道 (大事不出街道): the street's people's mediation committee takes it over."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("请填写上报理由"), code="reason")
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_room(dispute, by)
        if dispute.status in CLOSED:
            raise RuleViolation(_("纠纷已结案，不能上报"), code="status")
        if dispute.status not in (Status.ONSITE, Status.AWAITING_MEDIATOR, Status.IN_ROOM):
            raise RuleViolation(
                _("当前状态为“%(s)s”，不能上报街道") % {"s": dispute.get_status_display()}, code="status"
            )
        body = (body or "").strip() or _("%(street)s人民调解委员会") % {
            "street": dispute.community.street.name
        }
        referral = Referral.objects.create(
            dispute=dispute,
            level=Level.STREET,
            body=body[:100],
            contact=(contact or "").strip()[:50],
            reason=reason[:500],
            sent_on=timezone.localtime(now).date(),
            created_by=by,
        )
        record_change(by, "mediation.referral", referral)
        before, before_status = _masked_snapshot(dispute), dispute.status
        dispute.status, dispute.level = Status.STREET, Level.STREET
        _save(
            dispute,
            by,
            "escalate",
            before=before,
            before_status=before_status,
            note=f"{body}：{reason}",
            now=now,
        )
    return referral


def refer(
    dispute: Dispute, *, body: str, reason: str, by: Any, contact: str = "", reply_due: dt.date | None = None
) -> Referral:
    """移交职能部门 (职能部门对接联动): 司法所、劳动监察、市场监管、住建… with the date sent and the reply tracked."""
    body, reason = (body or "").strip(), (reason or "").strip()
    if not body:
        raise ServiceError(_("请填写接收单位"), code="body")
    if not reason:
        raise ServiceError(_("请填写移交理由"), code="reason")
    now = timezone.now()
    today = timezone.localtime(now).date()
    if reply_due is not None and reply_due < today:
        raise ServiceError(_("答复期限不能早于今天"), code="reply_due")
    with transaction.atomic():
        dispute = _locked(dispute)
        _require_room(dispute, by)
        if dispute.status in CLOSED:
            raise RuleViolation(_("纠纷已结案，不能移交"), code="status")
        if dispute.status == Status.REFERRED:
            raise RuleViolation(_("纠纷已移交职能部门，请先登记答复"), code="status")
        referral = Referral.objects.create(
            dispute=dispute,
            level=Level.DEPARTMENT,
            body=body[:100],
            contact=(contact or "").strip()[:50],
            reason=reason[:500],
            sent_on=today,
            reply_due=reply_due,
            created_by=by,
        )
        record_change(by, "mediation.referral", referral)
        before, before_status = _masked_snapshot(dispute), dispute.status
        dispute.status, dispute.level = Status.REFERRED, Level.DEPARTMENT
        _save(
            dispute,
            by,
            "refer",
            before=before,
            before_status=before_status,
            note=f"{body}：{reason}",
            now=now,
        )
    return referral


REPLY_OUTCOMES = {
    "": None,
    "settled": Status.SETTLED,
    "handled": Status.CLOSED_REFERRED,
    "returned": Status.IN_ROOM,
}


def record_reply(referral: Referral, *, replied_on: dt.date, reply: str, outcome: str, by: Any) -> Referral:
    """职能部门答复: the receiving body's answer. outcome "settled" (化解) closes the case as settled;
    "handled" (纳入部门程序办理) closes it as referred; "returned" (退回) brings it back to the room; "" records
    the reply only."""
    reply = (reply or "").strip()
    if not reply:
        raise ServiceError(_("请填写答复内容"), code="reply")
    if outcome not in REPLY_OUTCOMES:
        raise ServiceError(_("处理结果无效"), code="outcome")
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(referral.dispute)
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        _require_room(dispute, by)
        if replied_on < referral.sent_on:
            raise ServiceError(_("答复日期不能早于移交日期"), code="replied_on")
        if replied_on > timezone.localtime(now).date():
            raise ServiceError(_("答复日期不能晚于今天"), code="replied_on")
        if referral.replied_on is not None:
            raise RuleViolation(_("该移交已登记答复"), code="status")
        if dispute.status not in (Status.REFERRED, Status.STREET) or dispute.level != referral.level:
            raise RuleViolation(_("纠纷已不在该移交环节"), code="status")
        before_ref = snapshot(referral)
        referral.replied_on, referral.reply = replied_on, reply[:1000]
        referral.outcome = {"settled": "agreement", "handled": "referred", "returned": "no_agreement"}.get(
            outcome, ""
        )
        referral.save()
        record_change(by, "mediation.reply", referral, before=before_ref)
        target = REPLY_OUTCOMES[outcome]
        before, before_status = _masked_snapshot(dispute), dispute.status
        if target == Status.SETTLED:
            settled_by = SettledBy.STREET if referral.level == Level.STREET else SettledBy.DEPARTMENT
            _close(dispute, Status.SETTLED, now, settled_by=settled_by, result=reply)
        elif target == Status.CLOSED_REFERRED:
            _close(dispute, Status.CLOSED_REFERRED, now, settled_by="", result=reply)
        elif target == Status.IN_ROOM:
            dispute.status, dispute.level = (
                Status.IN_ROOM if dispute.mediator_id else Status.AWAITING_MEDIATOR,
                Level.COMMUNITY,
            )
        _save(
            dispute,
            by,
            "reply",
            before=before,
            before_status=before_status,
            note=f"{referral.body}：{reply}",
            now=now,
        )
    return referral


# --- follow-up -----------------------------------------------------------------------------------------------
def record_follow_up(
    dispute: Dispute, *, visited_on: dt.date, kept: bool, note: str, by: Any, reopen: bool = False
) -> FollowUp:
    """回访: after closing, was the agreement kept? A broken agreement can reopen the case (back to the room,
    with its own time limit again)."""
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("请填写回访情况"), code="note")
    if reopen and kept:
        raise ServiceError(_("协议已履行的纠纷无需重新调解"), code="reopen")
    now = timezone.now()
    with transaction.atomic():
        dispute = _locked(dispute)
        _require(
            (access.may_field(by, dispute.station_id) and Territory.for_user(by).contains(dispute))
            or access.may_room(by, dispute.station_id),
            _("您不能回访该纠纷"),
        )
        if dispute.status not in CLOSED:
            raise RuleViolation(_("纠纷尚未结案，不能回访"), code="status")
        if visited_on < timezone.localtime(dispute.closed_at).date():
            raise ServiceError(_("回访日期不能早于结案日期"), code="visited_on")
        if visited_on > timezone.localtime(now).date():
            raise ServiceError(_("回访日期不能晚于今天"), code="visited_on")
        follow = FollowUp.objects.create(
            dispute=dispute, visited_on=visited_on, kept=kept, note=note[:500], by=by, reopened=reopen
        )
        record_change(by, "mediation.follow_up", follow)
        before, before_status = _masked_snapshot(dispute), dispute.status
        dispute.follow_up_due = None
        if reopen:
            dispute.status = Status.IN_ROOM if dispute.mediator_id else Status.AWAITING_MEDIATOR
            dispute.level = Level.COMMUNITY
            dispute.closed_at, dispute.settled_by, dispute.result = None, "", ""
            dispute.reopened_count += 1
            dispute.due_at = security_due(now) if dispute.procedure == Procedure.SECURITY else people_due(now)
            _save(dispute, by, "reopen", before=before, before_status=before_status, note=note, now=now)
        else:
            _save(dispute, by, "follow_up", before=before, before_status=before_status, note=note, now=now)
    return follow


# --- dispute types -------------------------------------------------------------------------------------------
def save_type(
    *, name: str, active: bool, position: int, by: Any, dispute_type: DisputeType | None = None
) -> DisputeType:
    if not access.may_admin(by):
        raise NotAllowed(_("纠纷类型全分局通用，只有系统管理员可以维护"))
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("请填写类型名称"), code="name")
    clash = DisputeType.objects.filter(name=name)
    if dispute_type is not None:
        clash = clash.exclude(pk=dispute_type.pk)
    if clash.exists():
        raise ServiceError(_("已有同名纠纷类型"), code="name")
    with transaction.atomic():
        before = snapshot(dispute_type) if dispute_type else None
        obj = dispute_type or DisputeType()
        obj.name, obj.active, obj.position = name[:30], active, position
        obj.save()
        record_change(by, "mediation.type", obj, before=before)
    return obj
