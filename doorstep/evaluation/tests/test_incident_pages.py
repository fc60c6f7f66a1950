"""Pages of incidents, baselines and verification samples: the permission matrix by role and territory, the
filters the KPI drill-downs use, Chinese form errors, the import page and registering a desk case once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from doorstep.audit.models import AuditEntry
from doorstep.desk.tests import factories as desk
from doorstep.evaluation import baselines, incidents
from doorstep.evaluation.choices import Element, IncidentCategory
from doorstep.evaluation.models import Baseline, Incident, Verification
from doorstep.evaluation.tests.test_baselines import make_address
from doorstep.evaluation.tests.test_incidents import HEADER, good_row, record, yesterday

LIST = reverse("evaluation:incidents")
NEW = reverse("evaluation:incident_new")
IMPORT = reverse("evaluation:incident_import")


def edit_url(pk):
    return reverse("evaluation:incident_edit", args=[pk])


def form_data(world, **kw):
    data = {
        "grid": world.grid_a.pk,
        "occurred_on": yesterday().isoformat(),
        "category": IncidentCategory.CRIMINAL,
        "kind": "盗窃",
        "place": "西福小区3号楼",
        "case_number": "",
        "note": "",
    }
    data.update(kw)
    return data


@pytest.fixture
def two(world):
    """One incident in grid A (station S1), one in grid D (station S2)."""
    a = record(world, place="甲地", case_number="A-1")
    d = record(
        world, by=world.evaluator, grid=world.grid_d, place="丁地", category=IncidentCategory.PUBLIC_ORDER
    )
    return a, d


# --- list and territory --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "sees_a", "sees_d"),
    [
        ("officer_a", True, False),
        ("officer_b", False, False),
        ("director", True, False),
        ("director_s2", False, True),
        ("leader", True, True),
        ("evaluator", True, True),
        ("admin", True, True),
    ],
)
def test_list_shows_the_territorys_incidents(world, two, client_for, name, sees_a, sees_d):
    response = client_for(getattr(world, name)).get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert ("甲地" in html) is sees_a
    assert ("丁地" in html) is sees_d
    assert 'data-testid="evaluation-tabs"' in html


@pytest.mark.parametrize("name", ["dispatcher", "auxiliary_a", "patrol"])
def test_roles_without_incidents_get_404(world, client_for, name):
    client = client_for(getattr(world, name))
    assert client.get(LIST).status_code == 404
    assert client.get(NEW).status_code == 404


def test_anonymous_is_sent_to_login(world, client_for):
    assert client_for(None).get(LIST).status_code == 302


def test_incidents_outside_the_territory_are_404(world, two, client_for):
    a, d = two
    assert client_for(world.officer_b).get(edit_url(a.pk)).status_code == 404
    assert client_for(world.director_s2).get(edit_url(a.pk)).status_code == 404
    assert (
        client_for(world.director_s2).post(reverse("evaluation:incident_delete", args=[a.pk])).status_code
        == 404
    )
    assert client_for(world.officer_a).get(edit_url(d.pk)).status_code == 404
    assert client_for(world.officer_a).get(edit_url(2**64)).status_code == 404
    assert client_for(world.officer_a).get(edit_url(2**70)).status_code == 404
    assert Incident.objects.count() == 2


def test_leaders_see_but_may_not_act(world, two, client_for):
    a, _d = two
    client = client_for(world.leader)
    for response in (
        client.get(NEW),
        client.get(edit_url(a.pk)),
        client.post(reverse("evaluation:incident_delete", args=[a.pk])),
        client.get(IMPORT),
    ):
        assert response.status_code == 403
        assert "发案" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "places"),
    [
        ("grid={a}", {"甲地"}),
        ("community={c3}", {"丁地"}),
        ("station={s1}", {"甲地"}),
        ("category=public_order", {"丁地"}),
        ("occurred_from={today}", set()),
        ("occurred_to={yesterday}&station={s2}", {"丁地"}),
        ("grid=99999999999999999999999", set()),
        ("grid=abc", set()),
        ("occurred_from=9999-01-01", set()),
    ],
)
def test_filters_for_drill_downs(world, two, client_for, params, places):
    query = params.format(
        a=world.grid_a.pk,
        c3=world.c3.pk,
        s1=world.s1.pk,
        s2=world.s2.pk,
        today=timezone.localdate().isoformat(),
        yesterday=yesterday().isoformat(),
    )
    html = client_for(world.evaluator).get(f"{LIST}?{query}").content.decode()
    assert {p for p in ("甲地", "丁地") if p in html} == places


def test_a_grid_outside_the_territory_filters_to_nothing(world, two, client_for):
    response = client_for(world.officer_a).get(f"{LIST}?grid={world.grid_d.pk}")
    assert response.status_code == 200
    assert "甲地" not in response.content.decode()


# --- forms ---------------------------------------------------------------------------------------------------
def test_officer_records_an_incident(world, client_for):
    response = client_for(world.officer_a).post(NEW, form_data(world, kind="电信诈骗（冒充客服）"))
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.kind == "电信诈骗（冒充客服）" and incident.created_by == world.officer_a


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"occurred_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat()}, "日期不能晚于今天"),
        ({"occurred_on": "1899-01-01"}, "日期须在"),
        ({"occurred_on": "not a date"}, "请输入有效的日期"),
        ({"category": "traffic"}, "案件类别应为刑事案件或治安案件"),
        ({"kind": ""}, "请填写案由"),
        ({"kind": "盗" * 31}, "案由不能超过30个字"),
        ({"place": ""}, "请填写发案地点"),
        ({"grid": ""}, "请选择网格"),
        ({"grid": "2"}, "请选择您辖区内的网格"),
        ({"grid": str(2**70)}, "请选择您辖区内的网格"),
    ],
)
def test_bad_input_shows_chinese_errors(world, client_for, changes, message):
    data = form_data(world, **changes)
    if changes.get("grid") == "2":
        data["grid"] = world.grid_b.pk  # officer A's form offers grid A only
    response = client_for(world.officer_a).post(NEW, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Incident.objects.exists()


def test_a_duplicate_case_number_is_an_error_on_its_field(world, client_for):
    client = client_for(world.officer_a)
    assert client.post(NEW, form_data(world, case_number="J9")).status_code == 302
    response = client.post(NEW, form_data(world, case_number="J9"))
    assert response.status_code == 400
    assert "已有此案件编号" in response.content.decode()


def test_edit_and_delete(world, client_for):
    incident = record(world)
    client = client_for(world.director)
    assert client.get(edit_url(incident.pk)).status_code == 200
    response = client.post(edit_url(incident.pk), form_data(world, kind="抢劫", grid=world.grid_b.pk))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.kind == "抢劫" and incident.grid == world.grid_b
    delete = reverse("evaluation:incident_delete", args=[incident.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not Incident.objects.exists()
    assert AuditEntry.objects.filter(action="evaluation.incident_delete").count() == 1


# --- import --------------------------------------------------------------------------------------------------
def upload(rows, header=HEADER, name="发案.xlsx"):
    return SimpleUploadedFile(name, incidents.workbook_bytes(header, rows))


def test_importing_a_good_file(world, client_for):
    rows = [good_row(world, n) for n in range(1, 4)]
    response = client_for(world.officer_a).post(IMPORT, {"file": upload(rows)})
    assert response.status_code == 302
    assert Incident.objects.count() == 3


def test_a_bad_row_is_reported_and_nothing_written(world, client_for):
    rows = [good_row(world, n) for n in range(1, 4)]
    rows[1][0] = world.grid_d.code
    response = client_for(world.officer_a).post(IMPORT, {"file": upload(rows)})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="bad-row"><td>3</td>' in html
    assert "不在您的辖区内" in html and "未导入任何数据" in html
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (SimpleUploadedFile("a.xlsx", b"PK\x03\x04 garbage"), "不是有效的 .xlsx 文件"),
        (SimpleUploadedFile("a.xls", b"\xd0\xcf\x11\xe0"), "只支持 .xlsx 文件"),
        (SimpleUploadedFile("a.xlsx", b""), "文件是空的"),
        (upload([["x"]], header=["网格", "日期"]), "缺少必填列"),
        (upload([]), "没有数据行"),
    ],
)
def test_unreadable_uploads_show_a_clear_error(world, client_for, file, message):
    response = client_for(world.officer_a).post(IMPORT, {"file": file})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_no_file_is_a_clear_error(world, client_for):
    response = client_for(world.officer_a).post(IMPORT, {})
    assert response.status_code == 400
    assert "请选择要上传的文件" in response.content.decode()


def test_a_huge_file_is_refused(world, client_for, monkeypatch):
    monkeypatch.setattr(incidents, "MAX_IMPORT_BYTES", 1000)
    rows = [good_row(world, n) for n in range(1, 50)]
    response = client_for(world.officer_a).post(IMPORT, {"file": upload(rows)})
    assert response.status_code == 400
    assert "文件超过" in response.content.decode()
    assert not Incident.objects.exists()


def test_too_many_rows_are_refused(world, client_for, monkeypatch):
    monkeypatch.setattr(incidents, "MAX_IMPORT_ROWS", 2)
    rows = [good_row(world, n) for n in range(1, 4)]
    response = client_for(world.officer_a).post(IMPORT, {"file": upload(rows)})
    assert response.status_code == 400
    assert "超过 2 行" in response.content.decode()


def test_template_download(world, client_for):
    response = client_for(world.officer_a).get(reverse("evaluation:incident_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client_for(world.dispatcher).get(reverse("evaluation:incident_template")).status_code == 404


# --- from the service desk -----------------------------------------------------------------------------------
def test_registering_a_desk_case_once(world, client_for):
    intake = desk.case(world)
    client = client_for(world.officer_a)
    item = reverse("desk:item", args=[intake.pk])
    assert "登记为发案" in client.get(item).content.decode()

    page = client.get(f"{NEW}?intake={intake.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert intake.receipt_no in html and intake.case_number in html and "3号楼车棚" in html
    assert timezone.localtime(intake.occurred_at).date().isoformat() in html

    response = client.post(
        f"{NEW}?intake={intake.pk}",
        form_data(world, place=intake.place, case_number=intake.case_number, intake=intake.pk),
    )
    assert response.status_code == 302 and response["Location"] == item
    incident = Incident.objects.get()
    assert incident.intake == intake and incident.source == "desk"

    html = client.get(item).content.decode()
    assert 'data-testid="incident-link"' in html and edit_url(incident.pk) in html
    assert 'data-testid="register-incident"' not in html
    # a second registration is refused
    again = client.get(f"{NEW}?intake={intake.pk}")
    assert again.status_code == 302 and again["Location"] == item
    client.post(
        f"{NEW}?intake={intake.pk}",
        form_data(world, occurred_on=(yesterday() - dt.timedelta(days=5)).isoformat()),
    )
    assert Incident.objects.count() == 1


def test_a_desk_case_offers_only_grids_of_its_community(world, client_for):
    intake = desk.case(world)
    response = client_for(world.director).post(
        f"{NEW}?intake={intake.pk}", form_data(world, grid=world.grid_c.pk)
    )
    assert response.status_code == 400
    assert "请选择您辖区内的网格" in response.content.decode()


def test_who_sees_the_register_button(world, client_for):
    intake = desk.case(world)
    item = reverse("desk:item", args=[intake.pk])
    assert 'data-testid="register-incident"' in client_for(world.director).get(item).content.decode()
    assert 'data-testid="register-incident"' not in client_for(world.dispatcher).get(item).content.decode()
    assert 'data-testid="register-incident"' not in client_for(world.leader).get(item).content.decode()
    household = desk.household(world)
    html = client_for(world.officer_a).get(reverse("desk:item", args=[household.pk])).content.decode()
    assert "登记为发案" not in html


def test_bad_intake_parameters_are_404(world, client_for):
    client = client_for(world.officer_a)
    household = desk.household(world)
    other = desk.case(world, room=world.room_c3, by=world.director_s2)
    for value in ("abc", str(2**70), str(household.pk), str(other.pk), "-1"):
        assert client.get(f"{NEW}?intake={value}").status_code == 404


# --- baselines and verification samples ----------------------------------------------------------------------
BASELINES = reverse("evaluation:baselines")
BASELINE_NEW = reverse("evaluation:baseline_new")
VERIFICATIONS = reverse("evaluation:verifications")
VERIFICATION_NEW = reverse("evaluation:verification_new")


def baseline_data(world, **kw):
    data = {
        "grid": world.grid_a.pk,
        "element": Element.PERSON,
        "as_of": yesterday().isoformat(),
        "expected": "1200",
        "source": "户籍系统",
    }
    data.update(kw)
    return data


def test_baseline_pages_by_role(world, client_for):
    baselines.record_baseline(
        grid=world.grid_d,
        element="house",
        expected=77,
        as_of=yesterday(),
        source="七普台账",
        by=world.evaluator,
    )
    assert 'data-testid="baseline-form"' in client_for(world.evaluator).get(BASELINES).content.decode()
    director = client_for(world.director).get(BASELINES)
    assert director.status_code == 200
    assert 'data-testid="baseline-form"' not in director.content.decode()
    assert "七普台账" not in director.content.decode()  # S2's figure
    assert "七普台账" in client_for(world.director_s2).get(BASELINES).content.decode()
    assert "七普台账" in client_for(world.leader).get(BASELINES).content.decode()
    assert client_for(world.director).post(BASELINE_NEW, baseline_data(world)).status_code == 403
    assert client_for(world.officer_a).get(BASELINES).status_code == 404
    assert client_for(world.officer_a).post(BASELINE_NEW, baseline_data(world)).status_code == 404


def test_recording_a_baseline(world, client_for):
    client = client_for(world.evaluator)
    assert client.post(BASELINE_NEW, baseline_data(world)).status_code == 302
    assert Baseline.objects.get().expected == 1200
    again = client.post(BASELINE_NEW, baseline_data(world))
    assert again.status_code == 400
    assert "已有基数" in again.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expected": "-3"}, "应采集数不能小于0"),
        ({"expected": "abc"}, "应采集数应为整数"),
        ({"as_of": (timezone.localdate() + dt.timedelta(days=1)).isoformat()}, "日期不能晚于今天"),
        ({"element": "car"}, "要素无效"),
        ({"source": ""}, "请填写数据来源"),
        ({"grid": str(2**70)}, "请选择您辖区内的网格"),
    ],
)
def test_bad_baselines_show_chinese_errors(world, client_for, changes, message):
    response = client_for(world.evaluator).post(BASELINE_NEW, baseline_data(world, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Baseline.objects.exists()


def test_recording_a_verification(world, client_for):
    address = make_address(world.grid_a)
    data = {
        "grid": world.grid_a.pk,
        "element": Element.ADDRESS,
        "object_id": address.pk,
        "checked_on": yesterday().isoformat(),
        "correct": "no",
        "note": "门牌变更",
    }
    client = client_for(world.evaluator)
    assert client.post(VERIFICATION_NEW, data).status_code == 302
    v = Verification.objects.get()
    assert v.correct is False and v.object_id == address.pk
    assert "门牌变更" in client.get(VERIFICATIONS).content.decode()

    for changes, message in (
        ({"object_id": address.pk + 999}, "没有ID为"),
        ({"grid": world.grid_b.pk}, "没有ID为"),
        ({"object_id": str(2**70)}, "记录ID过大"),
        ({"correct": ""}, "请选择信息是否准确"),
        ({"checked_on": "2999-01-01"}, "日期"),
    ):
        response = client.post(VERIFICATION_NEW, {**data, **changes})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert Verification.objects.count() == 1


def test_verification_pages_by_role(world, client_for):
    assert client_for(world.director).get(VERIFICATIONS).status_code == 200
    assert client_for(world.director).post(VERIFICATION_NEW, {}).status_code == 403
    assert client_for(world.officer_a).get(VERIFICATIONS).status_code == 404
    assert client_for(world.admin).get(VERIFICATION_NEW).status_code == 302
