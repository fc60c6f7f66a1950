"""The mediation services: intake, the transfer-and-assign flow, time limits on a frozen clock, the agreement
and its PDF, escalation and referral, follow-up and reopening — and every refusal of bad input."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
from pypdf import PdfReader

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.pdf import MissingGlyphs
from doorstep.mediation import services
from doorstep.mediation.choices import Level, Procedure, SettledBy, Status
from doorstep.mediation.forms import overdue_q
from doorstep.mediation.models import Agreement, Dispute, DisputeStep, Referral
from doorstep.mediation.services import PartyData, TermData
from doorstep.mediation.tests.conftest import dtype, new_dispute, new_id, on_duty, parties, terms
from doorstep.org.models import CalendarDay

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
FRIDAY = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _at(time_machine, when: dt.datetime) -> None:
    time_machine.move_to(when, tick=False)


def _in_room(med, time_machine, when=FRIDAY) -> Dispute:
    _at(time_machine, when)
    on_duty(med, when.date())
    d = new_dispute(med)
    return services.record_onsite(d, settled=False, transfer=True, note="双方分歧大", by=med.officer_a)


# --- intake --------------------------------------------------------------------------------------------------
def test_a_dispute_is_taken_with_its_parties_and_a_number(med):
    d = new_dispute(med)
    assert d.status == Status.ONSITE and d.level == Level.COMMUNITY
    assert d.number == f"城东所调{d.year}第00001号"
    assert d.first_officer == med.officer_a_staff
    assert [p.side for p in d.parties.all()] == ["A", "B"]
    assert new_dispute(med).number.endswith("第00002号")
    steps = list(DisputeStep.objects.filter(dispute=d).values_list("action", flat=True))
    assert steps == ["create"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([PartyData("王伟", "A")], "至少两方"),
        ([], "至少两方"),
        ([PartyData("王伟", "A"), PartyData("李娜", "A")], "甲方和乙方"),
        ([PartyData("王伟", "A"), PartyData("", "B", id_number=new_id())], "姓名"),
        ([PartyData("王伟", "A", id_number="350503199001011230"), PartyData("李娜", "B")], "王伟"),
        ([PartyData("王伟", "A", phone="12ab"), PartyData("李娜", "B")], "联系电话"),
    ],
)
def test_missing_or_bad_parties_are_refused_and_nothing_is_written(med, given, message):
    with pytest.raises(ServiceError, match=message):
        new_dispute(med, parties=given)
    assert not Dispute.objects.exists()


def test_missing_facts_place_and_a_future_time_are_refused(med):
    with pytest.raises(ServiceError, match="简要情况"):
        new_dispute(med, facts="  ")
    with pytest.raises(ServiceError, match="地点"):
        new_dispute(med, place="")
    from django.utils import timezone

    with pytest.raises(ServiceError, match="晚于现在"):
        new_dispute(med, occurred_at=timezone.now() + dt.timedelta(hours=2))
    with pytest.raises(ServiceError, match="不属于"):
        new_dispute(med, grid=med.grid_d)
    assert not Dispute.objects.exists()


def test_only_the_stations_people_take_disputes_in_their_territory(med):
    with pytest.raises(NotAllowed):
        new_dispute(med, by=med.director_s2)
    with pytest.raises(NotAllowed):
        new_dispute(med, by=med.patrol)
    with pytest.raises(NotAllowed):
        new_dispute(med, by=med.leader)
    # A mediator and the dispatcher of the station may take one (no first officer then).
    d = new_dispute(med, by=med.mediator_user)
    assert d.first_officer is None


def test_a_dispute_a_mediator_takes_in_is_mediated_in_the_room_by_them(med):
    """A walk-in at the mediation room: it starts 调解室调解中 with the mediator who took it (it used to sit
    首接调解中 with nobody, which nobody could move on, and count as settled on site)."""
    d = new_dispute(med, by=med.mediator_user)
    assert d.status == Status.IN_ROOM and d.mediator == med.mediator_user.staff
    assert d.transferred_at == d.assigned_at == d.received_at
    officer_taken = new_dispute(med)
    assert officer_taken.status == Status.ONSITE and officer_taken.mediator is None


def test_parties_audit_entries_carry_masked_numbers(med):
    d = new_dispute(med)
    party = d.parties.first()
    entry = AuditEntry.objects.get(action="mediation.party", object_id=str(party.pk))
    assert party.id_number not in str(entry.after)
    # nothing readable of the ID number, only a keyed digest that shows a change (crypto.audit_repr)
    assert entry.after["id_number"].startswith("（已加密）#")
    assert party.id_number[-4:] not in entry.after["id_number"]


# --- on the spot and the transfer ----------------------------------------------------------------------------
def test_settled_on_the_spot_closes_the_case_with_a_follow_up_due(med, time_machine, settings):
    settings.MEDIATION_FOLLOW_UP_DAYS = 10
    _at(time_machine, FRIDAY)
    d = services.record_onsite(new_dispute(med), settled=True, note="当场和解", by=med.officer_a)
    assert d.status == Status.SETTLED and d.settled_by == SettledBy.ONSITE
    assert d.follow_up_due == dt.date(2026, 12, 7)
    with pytest.raises(RuleViolation, match="已结案"):
        services.transfer(d, by=med.officer_a)


def test_transfer_goes_to_the_duty_mediator_of_the_day(med, time_machine, settings):
    settings.MEDIATION_LIMIT_DAYS = 30
    d = _in_room(med, time_machine)
    assert d.status == Status.IN_ROOM and d.mediator == med.mediator_a
    assert d.transferred_at is not None
    assert d.due_at.astimezone(TZ) == dt.datetime(2026, 12, 27, 23, 59, 59, tzinfo=TZ)
    actions = list(d.steps.values_list("action", flat=True))
    assert actions == ["create", "onsite_failed", "transfer"]
    assert "黄文" in d.steps.get(action="transfer").note


def test_nobody_on_duty_waits_for_the_director_then_the_tick_assigns(med, time_machine):
    saturday = dt.datetime(2026, 11, 28, 20, 0, tzinfo=TZ)
    _at(time_machine, saturday)
    d = services.record_onsite(new_dispute(med), settled=False, transfer=True, note="未成", by=med.officer_a)
    assert d.status == Status.AWAITING_MEDIATOR and d.mediator is None
    assert "提请所长" in d.steps.get(action="transfer").note
    # The tick on Sunday finds nobody on duty either; on Monday morning the duty mediator gets it.
    services.auto_assign(saturday + dt.timedelta(hours=14))
    assert Dispute.objects.get(pk=d.pk).status == Status.AWAITING_MEDIATOR
    monday = dt.datetime(2026, 11, 30, 8, 30, tzinfo=TZ)
    on_duty(med, monday.date(), med.mediator_b)
    assert services.auto_assign(monday) == 1
    d.refresh_from_db()
    assert d.status == Status.IN_ROOM and d.mediator == med.mediator_b
    assert services.auto_assign(monday) == 0  # once


def test_a_mediator_on_leave_is_not_on_duty(med, time_machine):
    from doorstep.mediation.models import MediatorLeave

    _at(time_machine, FRIDAY)
    on_duty(med, FRIDAY.date())
    MediatorLeave.objects.create(
        mediator=med.mediator_a,
        start=FRIDAY.date(),
        end=FRIDAY.date(),
        reason="病假",
        created_by=med.director,
    )
    d = services.record_onsite(new_dispute(med), settled=False, transfer=True, note="未成", by=med.officer_a)
    assert d.status == Status.AWAITING_MEDIATOR


def test_the_director_assigns_only_the_stations_mediators(med, time_machine):
    saturday = dt.datetime(2026, 11, 28, 20, 0, tzinfo=TZ)
    _at(time_machine, saturday)
    d = services.record_onsite(new_dispute(med), settled=False, transfer=True, note="未成", by=med.officer_a)
    with pytest.raises(NotAllowed):
        services.assign(d, med.mediator_b, by=med.mediator_user)
    with pytest.raises(NotAllowed):
        services.assign(d, med.mediator_b, by=med.director_s2)
    with pytest.raises(ServiceError, match="专职调解员"):
        services.assign(d, med.officer_a_staff, by=med.director)
    d = services.assign(d, med.mediator_b, by=med.director)
    assert d.status == Status.IN_ROOM and d.mediator == med.mediator_b


def test_only_field_staff_of_the_community_record_on_site(med):
    d = new_dispute(med)
    with pytest.raises(NotAllowed):
        services.record_onsite(d, settled=True, note="x", by=med.mediator_user)
    with pytest.raises(NotAllowed):
        services.record_onsite(d, settled=True, note="x", by=med.director_s2)
    with pytest.raises(ServiceError, match="现场调解情况"):
        services.record_onsite(d, settled=True, note=" ", by=med.officer_a)


# --- time limits ---------------------------------------------------------------------------------------------
def test_security_mediation_is_due_in_three_working_days_over_the_holiday(med, time_machine):
    for day in range(1, 8):
        CalendarDay.objects.create(day=dt.date(2026, 10, day), kind="holiday", name="国庆节")
    CalendarDay.objects.create(day=dt.date(2026, 10, 10), kind="workday", name="调休")
    _at(time_machine, dt.datetime(2026, 9, 30, 15, 0, tzinfo=TZ))
    d = new_dispute(med, procedure=Procedure.SECURITY)
    # 8 Oct (Thu), 9 Oct (Fri), 10 Oct (the adjusted Saturday).
    assert d.due_at.astimezone(TZ) == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=TZ)
    _at(time_machine, dt.datetime(2026, 10, 10, 23, 0, tzinfo=TZ))
    assert not Dispute.objects.filter(overdue_q(dt.datetime(2026, 10, 10, 23, 0, tzinfo=TZ))).exists()
    later = dt.datetime(2026, 10, 11, 0, 1, tzinfo=TZ)
    assert Dispute.objects.filter(overdue_q(later)).get() == d


def test_overdue_stops_counting_when_closed_or_with_a_department(med, time_machine):
    d = _in_room(med, time_machine)
    late = d.due_at + dt.timedelta(days=1)
    assert Dispute.objects.filter(overdue_q(late)).exists()
    services.refer(d, body="司法所", reason="涉及法律咨询", by=med.mediator_user)
    assert not Dispute.objects.filter(overdue_q(late)).exists()


# --- sessions ------------------------------------------------------------------------------------------------
def test_a_session_is_recorded_but_never_before_the_intake_or_in_the_future(med, time_machine):
    d = _in_room(med, time_machine)
    with pytest.raises(ServiceError, match="早于受理"):
        services.add_session(
            d,
            held_at=FRIDAY - dt.timedelta(days=1),
            place="调解室",
            attendees="双方",
            notes="x",
            by=med.mediator_user,
        )
    with pytest.raises(ServiceError, match="晚于现在"):
        services.add_session(
            d,
            held_at=FRIDAY + dt.timedelta(hours=3),
            place="调解室",
            attendees="双方",
            notes="x",
            by=med.mediator_user,
        )
    with pytest.raises(NotAllowed):
        services.add_session(d, held_at=FRIDAY, place="调解室", attendees="双方", notes="x", by=med.officer_a)
    s = services.add_session(
        d, held_at=FRIDAY, place="调解室", attendees="双方当事人", notes="释法说理", by=med.mediator_user
    )
    assert s.mediator_name == "黄文" and s.level == Level.COMMUNITY


# --- the agreement -------------------------------------------------------------------------------------------
def _agree(d, med, *, t=None, signed_on=None, by=None):
    return services.conclude_with_agreement(
        d,
        facts="楼上漏水致楼下天花板受损。",
        issues="修缮费用的承担。",
        responsibilities="乙方负全部责任。",
        terms=t if t is not None else terms(FRIDAY.date() + dt.timedelta(days=30)),
        signed_on=signed_on or FRIDAY.date(),
        by=by or med.mediator_user,
    )


def test_the_agreement_pdf_holds_the_parties_and_terms_in_chinese(med, time_machine, settings):
    d = _in_room(med, time_machine)
    agreement = _agree(d, med)
    d.refresh_from_db()
    assert d.status == Status.SETTLED and d.settled_by == SettledBy.ROOM
    assert agreement.confirm_by == dt.date(2026, 12, 27)
    data = agreement.pdf.read()
    assert data.startswith(b"%PDF")
    import hashlib

    assert hashlib.sha256(data).hexdigest() == agreement.pdf_sha256
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for needle in (
        "人民调解协议书",
        "王伟",
        "李娜",
        "乙方赔偿甲方修缮费人民币3000元",
        "银行转账",
        "2026年12月27日",
        "三十日内",
    ):
        assert needle in text, needle
    # Masked in the paper copy: no full ID number.
    for p in d.parties.all():
        if p.id_number:
            assert p.id_number not in text


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([], "至少有一项"),
        ([TermData("", "", None)], "至少有一项"),
        ([TermData("赔偿3000元", "", dt.date(2026, 12, 31))], "履行方式"),
        ([TermData("赔偿3000元", "转账", None)], "履行期限"),
        ([TermData("", "转账", dt.date(2026, 12, 31))], "内容"),
        ([TermData("赔偿3000元", "转账", dt.date(2026, 11, 1))], "早于协议签订"),
    ],
)
def test_an_agreement_without_proper_terms_is_refused(med, time_machine, given, message):
    d = _in_room(med, time_machine)
    with pytest.raises(ServiceError, match=message):
        _agree(d, med, t=given)
    d.refresh_from_db()
    assert d.status == Status.IN_ROOM and not Agreement.objects.exists()


def test_a_character_the_font_lacks_is_refused_and_leaves_no_file(med, time_machine, settings):
    _at(time_machine, FRIDAY)
    on_duty(med, FRIDAY.date())
    d = new_dispute(med, parties=[PartyData("王𠀀", "A"), PartyData("李娜", "B")])
    d = services.record_onsite(d, settled=False, transfer=True, note="未成", by=med.officer_a)
    with pytest.raises(MissingGlyphs, match="𠀀"):
        _agree(d, med)
    d.refresh_from_db()
    assert d.status == Status.IN_ROOM and not Agreement.objects.exists()
    media = settings.MEDIA_ROOT
    assert not list(media.rglob("*.pdf")) if media.exists() else True


def test_a_file_written_before_a_failure_is_removed(med, time_machine, settings, monkeypatch):
    d = _in_room(med, time_machine)

    def boom(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services, "record_change", boom)
    with pytest.raises(RuntimeError):
        _agree(d, med)
    assert not list(settings.MEDIA_ROOT.rglob("*.pdf"))
    assert not Agreement.objects.exists()


def test_signed_before_the_intake_or_in_the_future_is_refused(med, time_machine):
    d = _in_room(med, time_machine)
    with pytest.raises(ServiceError, match="晚于今天"):
        _agree(d, med, signed_on=FRIDAY.date() + dt.timedelta(days=1))
    with pytest.raises(ServiceError, match="早于受理"):
        _agree(d, med, signed_on=FRIDAY.date() - dt.timedelta(days=1))


def test_no_agreement_closes_as_failed_with_a_reason(med, time_machine):
    d = _in_room(med, time_machine)
    with pytest.raises(ServiceError, match="原因"):
        services.conclude_without_agreement(d, reason="", by=med.mediator_user)
    d = services.conclude_without_agreement(d, reason="各执一词，已告知可起诉", by=med.mediator_user)
    assert d.status == Status.FAILED and d.follow_up_due is not None
    with pytest.raises(RuleViolation):
        services.add_session(d, held_at=FRIDAY, place="x", attendees="x", notes="x", by=med.mediator_user)


# --- escalation and referral ---------------------------------------------------------------------------------
def test_escalation_to_the_street_and_its_reply_settles_the_case(med, time_machine):
    d = _in_room(med, time_machine)
    referral = services.escalate_to_street(d, reason="涉及多户", by=med.mediator_user)
    d.refresh_from_db()
    assert d.status == Status.STREET and d.level == Level.STREET
    assert referral.body == "城东街道人民调解委员会" and referral.sent_on == FRIDAY.date()
    with pytest.raises(RuleViolation):  # no second escalation while the street has it
        services.escalate_to_street(d, reason="再报", by=med.mediator_user)
    with pytest.raises(ServiceError, match="早于移交"):
        services.record_reply(
            referral,
            replied_on=FRIDAY.date() - dt.timedelta(days=1),
            reply="x",
            outcome="",
            by=med.mediator_user,
        )
    services.record_reply(
        referral,
        replied_on=FRIDAY.date(),
        reply="街道调委会调解成功",
        outcome="settled",
        by=med.mediator_user,
    )
    d.refresh_from_db()
    assert d.status == Status.SETTLED and d.settled_by == SettledBy.STREET
    with pytest.raises(RuleViolation, match="已登记答复"):
        services.record_reply(referral, replied_on=FRIDAY.date(), reply="x", outcome="", by=med.mediator_user)


def test_referral_to_a_department_tracks_the_body_date_and_reply(med, time_machine):
    d = _in_room(med, time_machine)
    with pytest.raises(ServiceError, match="接收单位"):
        services.refer(d, body="", reason="x", by=med.mediator_user)
    with pytest.raises(ServiceError, match="答复期限"):
        services.refer(
            d, body="劳动保障监察大队", reason="欠薪", reply_due=dt.date(2026, 11, 1), by=med.mediator_user
        )
    referral = services.refer(
        d, body="劳动保障监察大队", reason="欠薪", reply_due=dt.date(2026, 12, 4), by=med.mediator_user
    )
    d.refresh_from_db()
    assert d.status == Status.REFERRED and d.level == Level.DEPARTMENT
    with pytest.raises(RuleViolation, match="请先登记答复"):
        services.refer(d, body="司法所", reason="x", by=med.mediator_user)
    # A reply that only informs keeps it there; one that sends it back returns it to the room.
    services.record_reply(
        referral, replied_on=FRIDAY.date(), reply="已立案调查", outcome="", by=med.mediator_user
    )
    assert Referral.objects.get(pk=referral.pk).replied_on == FRIDAY.date()
    d.refresh_from_db()
    assert d.status == Status.REFERRED
    again = services.refer  # a new referral is allowed only once the case is back in the room
    with pytest.raises(RuleViolation):
        again(d, body="司法所", reason="x", by=med.mediator_user)


def test_a_department_that_returns_the_case_sends_it_back_to_the_room(med, time_machine):
    d = _in_room(med, time_machine)
    referral = services.refer(d, body="市场监督管理所", reason="消费争议", by=med.mediator_user)
    services.record_reply(
        referral, replied_on=FRIDAY.date(), reply="不属本部门职责", outcome="returned", by=med.mediator_user
    )
    d.refresh_from_db()
    assert d.status == Status.IN_ROOM and d.level == Level.COMMUNITY and d.mediator == med.mediator_a
    referral2 = services.refer(d, body="住房和城乡建设局", reason="物业", by=med.mediator_user)
    services.record_reply(
        referral2, replied_on=FRIDAY.date(), reply="纳入行政处理", outcome="handled", by=med.mediator_user
    )
    d.refresh_from_db()
    assert d.status == Status.CLOSED_REFERRED and d.closed_at is not None


def test_a_closed_dispute_cannot_be_escalated_or_referred(med, time_machine):
    _at(time_machine, FRIDAY)
    d = services.record_onsite(new_dispute(med), settled=True, note="和解", by=med.officer_a)
    with pytest.raises(RuleViolation, match="已结案"):
        services.escalate_to_street(d, reason="x", by=med.director)
    with pytest.raises(RuleViolation, match="已结案"):
        services.refer(d, body="司法所", reason="x", by=med.director)


# --- follow-up -----------------------------------------------------------------------------------------------
def test_follow_up_only_after_closing_and_a_broken_agreement_reopens(med, time_machine):
    d = _in_room(med, time_machine)
    with pytest.raises(RuleViolation, match="尚未结案"):
        services.record_follow_up(d, visited_on=FRIDAY.date(), kept=True, note="x", by=med.officer_a)
    first = _agree(d, med)
    d.refresh_from_db()
    with pytest.raises(ServiceError, match="早于结案"):
        services.record_follow_up(
            d, visited_on=FRIDAY.date() - dt.timedelta(days=1), kept=True, note="x", by=med.officer_a
        )
    with pytest.raises(ServiceError, match="无需重新调解"):
        services.record_follow_up(
            d, visited_on=FRIDAY.date(), kept=True, note="x", reopen=True, by=med.officer_a
        )
    _at(time_machine, FRIDAY + dt.timedelta(days=12))
    services.record_follow_up(
        d,
        visited_on=(FRIDAY + dt.timedelta(days=12)).date(),
        kept=False,
        note="乙方未付款",
        reopen=True,
        by=med.officer_a,
    )
    d.refresh_from_db()
    assert (
        d.status == Status.IN_ROOM
        and d.reopened_count == 1
        and d.closed_at is None
        and d.follow_up_due is None
    )
    # A new agreement supersedes the first one, which stays on file.
    second = _agree(d, med, signed_on=(FRIDAY + dt.timedelta(days=12)).date(), t=terms(dt.date(2027, 1, 31)))
    first.refresh_from_db()
    assert first.superseded and not second.superseded and second.number.endswith("-2")
    assert d.agreements.count() == 2


def test_a_kept_agreement_clears_the_follow_up(med, time_machine):
    _at(time_machine, FRIDAY)
    d = services.record_onsite(new_dispute(med), settled=True, note="和解", by=med.officer_a)
    services.record_follow_up(d, visited_on=FRIDAY.date(), kept=True, note="关系融洽", by=med.officer_a)
    d.refresh_from_db()
    assert d.follow_up_due is None and d.status == Status.SETTLED
    with pytest.raises(NotAllowed):
        services.record_follow_up(d, visited_on=FRIDAY.date(), kept=True, note="x", by=med.director_s2)


# --- from the service desk -----------------------------------------------------------------------------------
def test_a_desk_dispute_becomes_a_case_and_the_desk_item_is_closed(med):
    from doorstep.desk import services as desk_services
    from doorstep.desk.choices import IntakeStatus

    intake = desk_services.create_intake(
        room=med.room_c1,
        kind="dispute",
        applicant_name="王伟",
        id_number=new_id(),
        summary="与楼上邻居因漏水发生纠纷",
        other_party="楼上住户",
        by=med.officer_a,
    )
    d = services.create_from_intake(intake, dispute_type=dtype(), parties=parties(), by=med.officer_a)
    intake.refresh_from_db()
    assert d.intake == intake and d.source == "desk" and d.community == med.c1
    assert d.facts == "与楼上邻居因漏水发生纠纷"
    assert intake.status == IntakeStatus.TRANSFERRED and d.number in intake.outcome
    with pytest.raises(RuleViolation):
        services.create_from_intake(intake, dispute_type=dtype(), parties=parties(), by=med.officer_a)


# --- types ---------------------------------------------------------------------------------------------------
def test_dispute_types_are_kept_by_the_administrator(med):
    with pytest.raises(NotAllowed):
        services.save_type(name="相邻权纠纷", active=True, position=5, by=med.director)
    t = services.save_type(name="相邻权纠纷", active=True, position=5, by=med.admin)
    with pytest.raises(ServiceError, match="同名"):
        services.save_type(name="邻里纠纷", active=True, position=5, by=med.admin)
    services.save_type(dispute_type=t, name="相邻权纠纷", active=False, position=5, by=med.admin)
    with pytest.raises(ServiceError, match="停用"):
        new_dispute(med, dispute_type=t)
