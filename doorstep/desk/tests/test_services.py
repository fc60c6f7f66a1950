from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.desk import selectors, services
from doorstep.desk.choices import IntakeKind, IntakeStatus
from doorstep.desk.models import Intake
from doorstep.desk.tests.factories import VALID_ID, business_type, case, dispute, household, new_id
from doorstep.org.choices import StaffKind
from doorstep.registry.models import Person

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
S = IntakeStatus


def test_household_intake_with_all_documents_is_received_with_an_owner_and_a_history_row(world):
    intake = household(world)
    assert intake.status == S.RECEIVED
    assert intake.owner == world.officer_a_staff
    assert intake.station == world.s1
    assert [s.action for s in intake.steps.all()] == ["create"]
    assert intake.steps.get().by == world.officer_a


def test_missing_documents_make_the_item_wait_then_supplying_them_restarts_the_clock(world):
    bt = business_type()
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=False):  # Monday
        intake = household(world, docs=bt.documents[:1])
    assert intake.status == S.AWAITING_DOCUMENTS
    assert intake.missing_documents == bt.documents[1:]
    assert "缺少材料" in intake.steps.get().note
    with pytest.raises(RuleViolation, match="不能办结"):
        services.transition(intake, "complete", by=world.officer_a)
    with time_machine.travel(dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ), tick=False):  # Friday
        intake = services.supply_documents(intake, bt.documents, by=world.auxiliary_a)
    assert intake.status == S.IN_PROGRESS
    # 居住证申领: 15 working days from Friday 27 Nov → Friday 18 Dec (weekends skipped).
    assert intake.due_at.astimezone(TZ) == dt.datetime(2026, 12, 18, 23, 59, 59, tzinfo=TZ)
    services.transition(intake, "complete", by=world.officer_a, note="已发证")
    intake.refresh_from_db()
    assert intake.status == S.DONE and intake.closed_at is not None
    assert [(s.from_status, s.to_status) for s in intake.steps.all()] == [
        ("", S.AWAITING_DOCUMENTS),
        (S.AWAITING_DOCUMENTS, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.DONE),
    ]


def test_an_item_with_unticked_documents_cannot_be_completed(world):
    bt = business_type()
    intake = household(world)
    intake = services.supply_documents(intake, bt.documents[:2], by=world.officer_a)
    assert intake.status == S.RECEIVED
    with pytest.raises(RuleViolation, match="材料不齐，不能办结（缺：近期一寸照片）"):
        services.transition(intake, "complete", by=world.officer_a)


def test_due_time_over_a_weekend_with_a_frozen_clock(world):
    with time_machine.travel(dt.datetime(2026, 11, 27, 17, 0, tzinfo=TZ), tick=False):  # Friday
        intake = household(world, bt_name="无犯罪记录证明")  # 5 working days
    assert intake.due_at.astimezone(TZ) == dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=TZ)


@pytest.mark.parametrize(
    ("path", "action", "allowed"),
    [
        ([], "start", True),
        ([], "request_documents", True),
        ([], "complete", True),
        ([], "transfer", True),
        ([], "reject", True),
        (["start"], "start", False),
        (["start"], "complete", True),
        (["complete"], "start", False),
        (["complete"], "reject", False),
        (["reject"], "transfer", False),
        (["transfer"], "complete", False),
        (["request_documents"], "start", False),
        (["request_documents"], "reject", True),
    ],
)
def test_each_transition_is_allowed_or_refused_with_a_reason(world, path, action, allowed):
    intake = household(world)
    for step in path:
        intake = services.transition(intake, step, by=world.officer_a, note="说明")
    if allowed:
        intake = services.transition(intake, action, by=world.officer_a, note="说明")
        assert intake.status == services.TRANSITIONS[action][1]
        assert intake.steps.last().action == action
    else:
        with pytest.raises(RuleViolation, match="不能") as exc:
            services.transition(intake, action, by=world.officer_a, note="说明")
        assert intake.get_status_display() in str(exc.value)
        assert intake.steps.count() == len(path) + 1


def test_reject_and_transfer_need_a_reason_and_record_it(world):
    intake = household(world)
    with pytest.raises(ServiceError, match="不予受理的理由"):
        services.transition(intake, "reject", by=world.officer_a)
    with pytest.raises(ServiceError, match="转交的单位"):
        services.transition(intake, "transfer", by=world.officer_a, note="  ")
    intake = services.transition(intake, "reject", by=world.officer_a, note="非本辖区户籍")
    assert intake.outcome == "非本辖区户籍"
    assert intake.steps.last().note == "非本辖区户籍"
    assert AuditEntry.objects.filter(action="desk.reject", object_id=str(intake.pk)).exists()


def test_case_report_gets_a_sequential_case_number_per_station_and_year(world):
    with time_machine.travel(dt.datetime(2026, 12, 30, 10, 0, tzinfo=TZ), tick=False):
        first = case(world)
        second = case(world, by=world.dispatcher)
        other_station = case(world, by=world.director_s2, room=world.room_c3)
    assert first.case_number == "城东所2026第00001号"
    assert second.case_number == "城东所2026第00002号"
    assert other_station.case_number == "清源所2026第00001号"
    assert "城东所2026第00001号" in first.steps.get().note
    with time_machine.travel(dt.datetime(2027, 1, 4, 10, 0, tzinfo=TZ), tick=False):
        next_year = case(world)
    assert next_year.case_number == "城东所2027第00001号"


def test_case_report_needs_what_where_when(world):
    with pytest.raises(ServiceError, match="发生地点") as exc:
        services.create_intake(
            room=world.room_c1,
            kind=IntakeKind.CASE,
            applicant_name="李娜",
            id_number=new_id(),
            summary="被盗",
            by=world.officer_a,
        )
    assert exc.value.code == "place"


def test_dispute_waits_for_mediation_and_cannot_be_started(world):
    intake = dispute(world)
    assert intake.status == S.PENDING_MEDIATION
    with pytest.raises(RuleViolation):
        services.transition(intake, "start", by=world.officer_a)
    with pytest.raises(RuleViolation, match="只有户籍业务"):
        services.transition(case(world), "request_documents", by=world.officer_a)
    with pytest.raises(ServiceError, match="调解的结果"):
        services.transition(intake, "complete", by=world.officer_a)
    intake = services.transition(intake, "complete", by=world.officer_a, note="当场调解，双方和解")
    assert intake.status == S.DONE


def test_overdue_flag_follows_the_clock_and_the_status(world):
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ), tick=False):  # Monday
        item = case(world)  # 3 working days → Thursday 26 Nov 23:59:59
        waiting = household(world, docs=[])
    thursday = dt.datetime(2026, 11, 26, 23, 0, tzinfo=TZ)
    friday = dt.datetime(2026, 11, 27, 0, 0, 1, tzinfo=TZ)
    assert not Intake.objects.filter(selectors.overdue_q(thursday)).exists()
    overdue = set(Intake.objects.filter(selectors.overdue_q(friday)).values_list("pk", flat=True))
    assert overdue == {item.pk}  # 待补材料 waits on the resident: never overdue
    rooms = selectors.room_counts(selectors.rooms_for(world.director), friday, friday)
    assert {r.pk: r.overdue_count for r in rooms}[world.room_c1.pk] == 1
    services.transition(item, "complete", by=world.officer_a)
    assert not Intake.objects.filter(selectors.overdue_q(friday)).exists()
    assert waiting.status == S.AWAITING_DOCUMENTS


def test_owner_is_assignable_within_the_station_only(world):
    intake = case(world, by=world.dispatcher)
    assert intake.owner is None  # the dispatcher has no staff record
    intake = services.assign(intake, world.officer_b_staff, by=world.director, note="请跟进")
    assert intake.owner == world.officer_b_staff
    assert intake.steps.last().note == "承办人：杨凯；请跟进"
    s2_officer = world.director_s2.staff
    with pytest.raises(ServiceError, match="本所在职") as exc:
        services.assign(intake, s2_officer, by=world.director)
    assert exc.value.code == "owner"
    from doorstep.conftest import make_staff

    patrol = make_staff(world.sub_bureau, world.s1, StaffKind.PATROL, "巡防甲")
    with pytest.raises(ServiceError):
        services.assign(intake, patrol, by=world.director)


def test_id_number_is_validated_with_the_gb11643_check(world):
    with pytest.raises(ServiceError, match="校验位错误") as exc:
        household(world, id_number=VALID_ID[:-1] + "7")
    assert exc.value.code == "id_number"
    with pytest.raises(ServiceError, match="出生日期不存在"):
        household(world, id_number="350503199002301234")
    assert household(world, id_number=VALID_ID.lower()).id_number == VALID_ID


def test_audit_entries_hold_masked_identifiers_only(world):
    intake = household(world, id_number=VALID_ID, phone="13912345678")
    entry = AuditEntry.objects.get(action="desk.create_intake", object_id=str(intake.pk))
    # a short keyed digest that shows a change without the number (crypto.audit_repr): an ID number keeps
    # nothing readable — region and last four beside the stored birth date would give it back
    assert entry.after["id_number"].startswith("（已加密）#") and "1236" not in entry.after["id_number"]
    assert entry.after["phone"].startswith("139****5678 #")
    assert VALID_ID not in str(entry.after) and "13912345678" not in str(entry.after)


def test_intake_links_a_registered_person_in_the_territory(world):

    person = Person.objects.create(name="陈静", gender="1", id_number=VALID_ID, grid=world.grid_a)
    intake = household(world, id_number=VALID_ID)
    assert intake.person == person
    # The director of another station takes the same ID at their room: not linked (nor revealed).
    other = household(world, id_number=VALID_ID, room=world.room_c3, by=world.director_s2)
    assert other.person is None


def test_who_may_take_intakes(world):
    for user in (world.officer_a, world.auxiliary_a, world.director, world.dispatcher):
        assert household(world, by=user).pk
    for user in (world.leader, world.admin, world.patrol, world.evaluator):
        with pytest.raises(NotAllowed):
            household(world, by=user)
    with pytest.raises(NotAllowed, match="不能在该警务室"):
        household(world, by=world.director_s2)  # room_c1 is in S1
    with pytest.raises(NotAllowed):
        household(world, by=world.officer_a, room=world.room_c3)


def test_moving_an_item_on_is_refused_outside_the_station(world):
    intake = household(world)
    with pytest.raises(NotAllowed):
        services.transition(intake, "start", by=world.director_s2)
    with pytest.raises(NotAllowed):
        services.transition(intake, "start", by=world.leader)


def test_business_types_are_kept_by_leaders_and_admins(world):
    bt = services.create_business_type(
        name="港澳通行证咨询", documents=["身份证", " 身份证", ""], time_limit=2, by=world.leader
    )
    assert bt.documents == ["身份证"]
    with pytest.raises(ServiceError, match="同名"):
        services.create_business_type(name="港澳通行证咨询", documents=[], time_limit=1, by=world.admin)
    with pytest.raises(NotAllowed):
        services.create_business_type(name="X", documents=[], time_limit=1, by=world.officer_a)
    with pytest.raises(ServiceError, match="至少为1"):
        services.create_business_type(name="Y", documents=[], time_limit=0, by=world.admin)
    services.update_business_type(
        bt,
        name="港澳通行证咨询",
        documents=["身份证"],
        time_limit=0,
        limit_unit="working_days",
        instant=True,
        active=False,
        position=5,
        by=world.admin,
    )
    bt.refresh_from_db()
    assert bt.instant and not bt.active
    # The list is sub-bureau-wide: a station director (or an evaluator) may not change it.
    for user in (world.director, world.director_s2, world.evaluator):
        with pytest.raises(NotAllowed, match="分局领导或系统管理员"):
            services.create_business_type(name="Z", documents=[], time_limit=1, by=user)
        with pytest.raises(NotAllowed):
            services.update_business_type(
                bt,
                name="改名",
                documents=[],
                time_limit=1,
                limit_unit="working_days",
                instant=False,
                active=True,
                position=0,
                by=user,
            )
    bt.refresh_from_db()
    assert bt.name == "港澳通行证咨询"
    with pytest.raises(ServiceError, match="已停用"):
        household(world, bt_name="港澳通行证咨询")


def test_seeded_business_types_exist(db):
    names = set(selectors.business_types().values_list("name", flat=True))
    assert {
        "居住证申领",
        "居住证签注",
        "户籍证明开具",
        "户口迁移咨询",
        "身份证申领/换领",
        "临时身份证明",
    } <= names
    assert {"无犯罪记录证明", "其他咨询"} <= names
    assert business_type().documents == ["身份证", "居住地址证明（租赁合同或房产证）", "近期一寸照片"]
