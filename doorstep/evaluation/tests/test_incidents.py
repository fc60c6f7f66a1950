"""Incident services: recording, correcting and deleting by role and territory, the rules, registering a desk
case once, and the all-or-nothing Excel import."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.desk.tests import factories as desk
from doorstep.evaluation import access, incidents
from doorstep.evaluation.choices import IncidentCategory, IncidentSource
from doorstep.evaluation.models import Incident
from doorstep.registry.importers import FileError

HEADER = ["网格编码*", "发案日期*", "案件类别*", "案由*", "发案地点*", "案件编号", "备注"]


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def record(world, by=None, grid=None, **kw):
    values = {
        "grid": grid or world.grid_a,
        "occurred_on": yesterday(),
        "category": IncidentCategory.CRIMINAL,
        "kind": "盗窃",
        "place": "西福小区3号楼车棚",
        "case_number": "",
        "note": "",
    }
    values.update(kw)
    return incidents.record_incident(**values, by=by or world.officer_a)


def xlsx(rows, header=HEADER, name="发案.xlsx"):
    return SimpleUploadedFile(name, incidents.workbook_bytes(header, rows))


def good_row(world, n=1, grid=None):
    return [
        (grid or world.grid_a).code,
        yesterday().isoformat(),
        "刑事",
        "盗窃",
        f"西福小区{n}号楼",
        f"A{n:04d}",
        "",
    ]


# --- recording -----------------------------------------------------------------------------------------------
def test_officer_records_an_incident_in_their_grid_with_an_audit_entry(world):
    incident = record(world, case_number="J2026001")

    assert incident.source == IncidentSource.ENTERED
    assert incident.created_by == world.officer_a
    entry = AuditEntry.objects.get(action="evaluation.incident_create")
    assert entry.object_id == str(incident.pk)


def test_officer_cannot_record_in_another_grid(world):
    with pytest.raises(NotAllowed):
        record(world, grid=world.grid_b)


@pytest.mark.parametrize("name", ["leader", "dispatcher", "auxiliary_a", "patrol"])
def test_roles_without_recording_are_refused(world, name):
    with pytest.raises(NotAllowed):
        record(world, by=getattr(world, name))


def test_director_records_only_in_their_station(world):
    assert record(world, by=world.director, grid=world.grid_c).pk
    with pytest.raises(NotAllowed):
        record(world, by=world.director, grid=world.grid_d)
    assert record(world, by=world.director_s2, grid=world.grid_d).pk


def test_evaluator_records_anywhere(world):
    assert record(world, by=world.evaluator, grid=world.grid_d).pk


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_on", timezone.localdate() + dt.timedelta(days=1)),
        ("occurred_on", dt.date(1999, 12, 31)),
        ("category", "traffic"),
        ("kind", ""),
        ("kind", "盗" * 31),
        ("place", "  "),
    ],
)
def test_bad_values_are_refused_on_their_field(world, field, value):
    with pytest.raises(ServiceError) as exc:
        record(world, **{field: value})
    assert exc.value.code == field
    assert not Incident.objects.exists()


def test_free_text_kind_up_to_30_characters_is_accepted(world):
    assert record(world, kind="电信网络诈骗（冒充客服）").kind == "电信网络诈骗（冒充客服）"


def test_the_same_case_number_twice_in_a_grid_on_a_day_is_refused(world):
    record(world, case_number="J1")
    with pytest.raises(RuleViolation) as exc:
        record(world, case_number="J1")
    assert exc.value.code == "case_number"
    # another day, or no case number: not a duplicate
    record(world, case_number="J1", occurred_on=yesterday() - dt.timedelta(days=1))
    record(world)
    record(world)
    assert Incident.objects.count() == 4


def test_update_is_audited_and_checks_duplicates(world):
    first = record(world, case_number="J1")
    second = record(world, case_number="J2")
    with pytest.raises(RuleViolation):
        incidents.update_incident(second, **_values(second, case_number="J1"), by=world.officer_a)
    incidents.update_incident(first, **_values(first, kind="诈骗"), by=world.officer_a)
    first.refresh_from_db()
    assert first.kind == "诈骗"
    entry = AuditEntry.objects.get(action="evaluation.incident_update")
    assert entry.before == {"kind": "盗窃"} and entry.after == {"kind": "诈骗"}


def test_update_cannot_move_an_incident_out_of_the_territory(world):
    incident = record(world)
    with pytest.raises(NotAllowed):
        incidents.update_incident(incident, **_values(incident, grid=world.grid_b), by=world.officer_a)
    with pytest.raises(NotAllowed):
        incidents.update_incident(incident, **_values(incident), by=world.officer_b)


def test_delete_is_audited(world):
    incident = record(world)
    with pytest.raises(NotAllowed):
        incidents.delete_incident(incident, by=world.leader)
    incidents.delete_incident(incident, by=world.director)
    assert not Incident.objects.exists()
    assert AuditEntry.objects.filter(action="evaluation.incident_delete").count() == 1


def _values(incident, **changes):
    values = {
        "grid": incident.grid,
        "occurred_on": incident.occurred_on,
        "category": incident.category,
        "kind": incident.kind,
        "place": incident.place,
        "case_number": incident.case_number,
        "note": incident.note,
    }
    values.update(changes)
    return values


# --- from the service desk -----------------------------------------------------------------------------------
def test_a_desk_case_is_registered_once(world):
    intake = desk.case(world)
    incident = record(world, intake=intake, case_number=intake.case_number)
    assert incident.source == IncidentSource.DESK
    assert incident.intake == intake
    with pytest.raises(RuleViolation) as exc:
        record(world, intake=intake, occurred_on=yesterday() - dt.timedelta(days=3))
    assert exc.value.code == "intake"
    assert Incident.objects.count() == 1


def test_only_a_case_can_be_registered(world):
    with pytest.raises(ServiceError) as exc:
        record(world, intake=desk.dispute(world))
    assert exc.value.code == "intake"


def test_a_desk_case_goes_to_a_grid_of_the_rooms_community(world):
    intake = desk.case(world)  # room of community C1 (grids A and B)
    with pytest.raises(ServiceError) as exc:
        record(world, by=world.director, grid=world.grid_c, intake=intake)
    assert exc.value.code == "grid"
    assert record(world, by=world.director, grid=world.grid_b, intake=intake).grid == world.grid_b


def test_selectors_scope_by_territory(world):
    a = record(world)
    d = record(world, by=world.evaluator, grid=world.grid_d)
    assert list(access.incidents_for(world.officer_a)) == [a]
    assert set(access.incidents_for(world.director)) == {a}
    assert set(access.incidents_for(world.director_s2)) == {d}
    assert set(access.incidents_for(world.leader)) == {a, d}
    assert not access.incidents_for(world.dispatcher).exists()


# --- import --------------------------------------------------------------------------------------------------
def test_a_good_file_imports_every_row(world):
    rows = [good_row(world, n) for n in range(1, 6)]
    rows[2][2] = "治安案件"
    rows[3][5] = ""  # no case number

    report = incidents.import_incidents(xlsx(rows), filename="发案.xlsx", by=world.officer_a)

    assert report.ok and report.created == 5 and report.total == 5
    assert Incident.objects.filter(source=IncidentSource.IMPORTED).count() == 5
    assert Incident.objects.filter(category=IncidentCategory.PUBLIC_ORDER).count() == 1
    assert AuditEntry.objects.filter(action="evaluation.incident_import").count() == 5


def test_a_file_with_one_bad_row_writes_nothing_and_reports_that_row(world):
    rows = [good_row(world, n) for n in range(1, 5)]
    rows[2][1] = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    rows[2][2] = "交通"

    report = incidents.import_incidents(xlsx(rows), filename="发案.xlsx", by=world.officer_a)

    assert not report.ok and report.created == 0
    assert [b.row for b in report.bad] == [4]
    reasons = "；".join(report.bad[0].reasons)
    assert "案件类别" in reasons and "不能晚于今天" in reasons
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.filter(action="evaluation.incident_import").exists()


def test_import_checks_grid_territory_and_duplicates(world):
    record(world, case_number="A0001")
    rows = [good_row(world, 1), good_row(world, 2), good_row(world, 2), good_row(world, 3, grid=world.grid_b)]
    rows.append(["NOPE", "2026-13-01", "刑事", "", "某地", "", ""])

    report = incidents.import_incidents(xlsx(rows), filename="x.xlsx", by=world.officer_a)

    bad = {b.row: "；".join(b.reasons) for b in report.bad}
    assert set(bad) == {2, 4, 5, 6}
    assert "已有此案件编号" in bad[2]
    assert "与第3行重复" in bad[4]
    assert "不在您的辖区内" in bad[5]
    assert "日期格式" in bad[6] and "案由" in bad[6]
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("a.xlsx", b"not a zip at all"), "不是有效的 .xlsx 文件"),
        (SimpleUploadedFile("a.xlsx", b""), "文件是空的"),
        (SimpleUploadedFile("a.csv", b"a,b\n1,2\n"), "只支持 .xlsx"),
        (
            SimpleUploadedFile("a.xlsx", incidents.workbook_bytes(["姓名", "地址"], [["x", "y"]])),
            "缺少必填列",
        ),
        (SimpleUploadedFile("a.xlsx", incidents.workbook_bytes(HEADER, [])), "没有数据行"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(world, upload, message):
    with pytest.raises(FileError) as exc:
        incidents.import_incidents(upload, filename=upload.name, by=world.officer_a)
    assert message in str(exc.value)


def test_a_zip_that_is_not_a_workbook_is_refused(world):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("hello.txt", "hi")
    upload = SimpleUploadedFile("a.xlsx", buffer.getvalue())
    with pytest.raises(FileError, match="不是有效的 .xlsx 文件"):
        incidents.import_incidents(upload, filename="a.xlsx", by=world.officer_a)


def test_too_many_rows_are_refused(world, monkeypatch):
    monkeypatch.setattr(incidents, "MAX_IMPORT_ROWS", 3)
    rows = [good_row(world, n) for n in range(1, 5)]
    with pytest.raises(FileError, match="超过 3 行"):
        incidents.import_incidents(xlsx(rows), filename="a.xlsx", by=world.officer_a)
    assert not Incident.objects.exists()


def test_the_template_has_the_columns_and_imports_when_filled(world):
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(incidents.template_workbook()))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert [h.rstrip("*") for h in header] == [
        "网格编码",
        "发案日期",
        "案件类别",
        "案由",
        "发案地点",
        "案件编号",
        "备注",
    ]
    ws.append(good_row(world))
    buffer = io.BytesIO()
    wb.save(buffer)
    report = incidents.import_incidents(
        SimpleUploadedFile("t.xlsx", buffer.getvalue()), filename="t.xlsx", by=world.officer_a
    )
    assert report.ok and report.created == 1


def test_import_is_refused_to_leaders(world):
    with pytest.raises(NotAllowed):
        incidents.import_incidents(xlsx([good_row(world)]), filename="a.xlsx", by=world.leader)
