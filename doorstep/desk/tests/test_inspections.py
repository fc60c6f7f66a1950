"""五统一 inspections: rules, services, photos, pages, scoping, the overview and its GeoJSON, the seed."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import struct
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from doorstep.audit.models import AuditEntry
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.photos import MAX_PHOTO_BYTES, normalise_photo
from doorstep.desk import inspection_seed
from doorstep.desk import inspections as insp
from doorstep.desk.choices import InspectionStatus, TaskStatus
from doorstep.desk.models import Inspection, InspectionPhoto, RectificationTask
from doorstep.org.choices import StaffKind


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _checklist(request):
    # A transactional test elsewhere in this worker flushes the tables, and with them the migration's rows.
    if "db" in request.fixturenames or "world" in request.fixturenames:
        request.getfixturevalue("db")
        inspection_seed.ensure_checklist()


def jpeg(name="p.jpg", size=(64, 48), exif=False) -> SimpleUploadedFile:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "CameraMaker"  # Make
        data[0x8825] = {2: (24.0, 54.0, 0.0)}  # GPS info
        kwargs["exif"] = data
    image.save(out, format="JPEG", **kwargs)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 128, 0, 128)).save(out, format="PNG")
    return SimpleUploadedFile("p.png", out.getvalue(), content_type="image/png")


def fill(inspection, by, *, fail=(), photos=None):
    """Judge every row: the rows at the indexes in `fail` fail (with a note), the others pass."""
    rows = list(inspection.rows.all())
    results = {
        r.pk: insp.RowResult(passed=i not in fail, note="标牌破损" if i in fail else "")
        for i, r in enumerate(rows)
    }
    insp.record_results(inspection, results=results, photos=photos or {}, by=by)
    return rows


def submitted(world, *, by=None, fail=(1,), room=None, owner=None):
    by = by or world.director
    inspection = insp.start_inspection(room or world.room_c1, by=by)
    fill(inspection, by, fail=fail)
    return insp.submit_inspection(inspection, owner=owner or world.officer_a_staff, by=by)


# --- rules -----------------------------------------------------------------------------------------------------
def test_score_is_points_passed_over_total_times_100_with_one_decimal():
    assert insp.compute_score([(10, True), (5, False)]) == (10, 15, Decimal("66.7"))
    assert insp.compute_score([(10, True), (10, True)]) == (20, 20, Decimal("100.0"))
    assert insp.compute_score([(3, False)]) == (0, 3, Decimal("0.0"))
    assert insp.compute_score([]) == (0, 0, Decimal("0.0"))


def test_rooms_are_stale_after_90_days_or_when_never_inspected():
    now = timezone.now()
    assert insp.is_stale(None, now)
    assert insp.is_stale(now - dt.timedelta(days=91), now)
    assert not insp.is_stale(now - dt.timedelta(days=89), now)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("统一标识 | 门头标牌", "格式应为"),
        ("统一标识 | 门头标牌 | 十", "分值必须是1到100之间的整数"),
        ("统一标识 | 门头标牌 | 0", "分值必须是1到100之间的整数"),
        (" | 门头标牌 | 5", "缺少类别或检查内容"),
        ("# only a comment\n", "至少要有一项"),
    ],
)
def test_checklist_lines_are_refused_with_a_chinese_reason(text, message):
    with pytest.raises(ServiceError, match=message):
        insp.parse_checklist(text)


def test_checklist_lines_parse_with_full_width_bars():
    assert insp.parse_checklist("统一标识｜门头标牌｜10\n\n统一公示 | 监督电话 | 4") == [
        ("统一标识", "门头标牌", 10),
        ("统一公示", "监督电话", 4),
    ]


# --- the seeded checklist and its versions ---------------------------------------------------------------------
def test_the_migration_and_the_seed_hold_the_same_checklist():
    migration = importlib.import_module("doorstep.desk.migrations.0004_seed_checklist")
    assert migration.ITEMS == inspection_seed.DEFAULT_CHECKLIST


def test_version_1_has_the_five_unified_items_worth_100_points(db):
    checklist = insp.current_checklist()
    assert checklist.version == 1
    categories = list(dict.fromkeys(checklist.items.values_list("category", flat=True)))
    assert categories == ["统一标识", "统一布局", "统一公示", "统一公开民警工作电话", "统一工作制度"]
    assert sum(checklist.items.values_list("points", flat=True)) == 100


def test_old_inspections_keep_the_items_they_were_scored_on(world):
    old = submitted(world)
    old_rows = list(old.rows.values_list("text", "points"))
    v2 = insp.publish_checklist(
        items=[("统一标识", "新标牌", 50), ("统一公示", "新公示", 50)], by=world.leader
    )
    assert v2.version == 2
    assert list(Inspection.objects.get(pk=old.pk).rows.values_list("text", "points")) == old_rows
    assert old.checklist.version == 1
    new = insp.start_inspection(world.room_c3, by=world.leader)
    assert new.checklist == v2 and list(new.rows.values_list("text", flat=True)) == ["新标牌", "新公示"]
    assert AuditEntry.objects.filter(action="desk.publish_checklist").count() == 1


@pytest.mark.parametrize("username", ["director", "evaluator", "officer_a"])
def test_only_leaders_and_admins_publish_the_checklist(world, username):
    with pytest.raises(NotAllowed):
        insp.publish_checklist(items=[("a", "b", 1)], by=getattr(world, username))
    insp.publish_checklist(items=[("a", "b", 1)], by=world.admin)


# --- who may inspect -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "room", "allowed"),
    [
        ("director", "room_c1", True),
        ("director", "room_c3", False),
        ("director_s2", "room_c1", False),
        ("director_s2", "room_c3", True),
        ("leader", "room_c3", True),
        ("evaluator", "room_c1", True),
        ("officer_a", "room_c1", False),
        ("auxiliary_a", "room_c1", False),
        ("dispatcher", "room_c1", False),
        ("admin", "room_c1", False),
    ],
)
def test_who_may_inspect_which_room(world, username, room, allowed):
    user, room = getattr(world, username), getattr(world, room)
    if allowed:
        inspection = insp.start_inspection(room, by=user)
        assert inspection.rows.count() == 14 and inspection.station_id == room.community.station_id
    else:
        with pytest.raises(NotAllowed):
            insp.start_inspection(room, by=user)
        assert not Inspection.objects.exists()


def test_starting_again_resumes_the_inspectors_own_draft(world):
    first = insp.start_inspection(world.room_c1, by=world.director)
    assert insp.start_inspection(world.room_c1, by=world.director) == first
    other = insp.start_inspection(world.room_c1, by=world.leader)
    assert other != first


def test_only_the_inspector_fills_in_and_submits(world):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    with pytest.raises(NotAllowed):
        fill(inspection, world.leader)
    fill(inspection, world.director)
    with pytest.raises(NotAllowed):
        insp.submit_inspection(inspection, owner=world.officer_a_staff, by=world.leader)


# --- submitting ------------------------------------------------------------------------------------------------
def test_all_passed_scores_100_and_makes_no_task(world):
    inspection = submitted(world, fail=())
    assert inspection.status == InspectionStatus.SUBMITTED and inspection.score == Decimal("100.0")
    assert not RectificationTask.objects.exists()
    entry = AuditEntry.objects.get(action="desk.submit_inspection")
    assert entry.after["score"] == "100.0"


def test_failed_items_become_tasks_for_the_owner_due_in_7_days(world):
    with time_machine.travel(dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC), tick=False):
        inspection = submitted(world, fail=(0, 5))
    rows = list(inspection.rows.all())
    # items 0 (10 points) and 5 (8 points) failed out of 100
    assert inspection.points_passed == 82 and inspection.points_total == 100
    assert inspection.score == Decimal("82.0")
    tasks = list(inspection.tasks.order_by("row__position"))
    assert [t.row for t in tasks] == [rows[0], rows[5]]
    assert {t.owner for t in tasks} == {world.officer_a_staff}
    assert {t.due_on for t in tasks} == {dt.date(2026, 12, 5)}
    assert {t.status for t in tasks} == {TaskStatus.OPEN}
    assert all(t.room == world.room_c1 and t.station == world.s1 for t in tasks)


def test_a_submitted_inspection_cannot_change(world):
    inspection = submitted(world)
    with pytest.raises(RuleViolation):
        fill(inspection, world.director)
    with pytest.raises(RuleViolation):
        insp.submit_inspection(inspection, owner=world.officer_a_staff, by=world.director)


def test_submit_refuses_unjudged_items_unexplained_failures_and_foreign_owners(world):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    rows = list(inspection.rows.all())
    insp.record_results(inspection, results={rows[0].pk: insp.RowResult(passed=False)}, by=world.director)
    with pytest.raises(ServiceError, match="还有13项未判定"):
        insp.submit_inspection(inspection, owner=world.officer_a_staff, by=world.director)
    insp.record_results(
        inspection,
        results={r.pk: insp.RowResult(passed=(i != 0)) for i, r in enumerate(rows)},
        by=world.director,
    )
    with pytest.raises(ServiceError, match="不合格项须填写问题说明"):
        insp.submit_inspection(inspection, owner=world.officer_a_staff, by=world.director)
    insp.record_results(inspection, results={rows[0].pk: insp.RowResult(False, "无标牌")}, by=world.director)
    with pytest.raises(ServiceError, match="请指定整改责任人"):
        insp.submit_inspection(inspection, owner=None, by=world.director)
    s2_officer = world.director_s2.staff
    with pytest.raises(ServiceError, match="整改责任人须为该警务室所属派出所"):
        insp.submit_inspection(inspection, owner=s2_officer, by=world.director)
    with pytest.raises(ServiceError, match="整改期限不能早于今天"):
        insp.submit_inspection(
            inspection,
            owner=world.officer_a_staff,
            due_on=timezone.localdate() - dt.timedelta(days=1),
            by=world.director,
        )
    assert Inspection.objects.get(pk=inspection.pk).status == InspectionStatus.DRAFT
    assert not RectificationTask.objects.exists()


def test_rows_of_another_inspection_are_refused(world):
    mine = insp.start_inspection(world.room_c1, by=world.director)
    other = insp.start_inspection(world.room_c1, by=world.leader)
    foreign = other.rows.first()
    with pytest.raises(ServiceError, match="不属于本次检查"):
        insp.record_results(mine, results={foreign.pk: insp.RowResult(True)}, by=world.director)


# --- tasks -----------------------------------------------------------------------------------------------------
def test_the_owner_closes_a_task_with_a_note_and_a_photo(world):
    task = submitted(world).tasks.get()
    with pytest.raises(ServiceError, match="请上传整改后的照片"):
        insp.close_task(task, note="已更换", photo=None, by=world.officer_a)
    with pytest.raises(ServiceError, match="请填写整改情况"):
        insp.close_task(task, note=" ", photo=jpeg(), by=world.officer_a)
    task = insp.close_task(task, note="已更换标牌", photo=jpeg(), by=world.officer_a)
    assert task.status == TaskStatus.CLOSED and task.closed_by == world.officer_a
    assert task.close_photo.name.endswith(".jpg")
    with pytest.raises(RuleViolation, match="已完成"):
        insp.close_task(task, note="again", photo=jpeg(), by=world.director)
    assert AuditEntry.objects.filter(action="desk.close_rectification_task").count() == 1


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("officer_a", True),
        ("director", True),
        ("officer_b", False),
        ("auxiliary_a", False),
        ("leader", False),
        ("director_s2", False),
    ],
)
def test_who_may_close_a_task(world, username, allowed):
    task = submitted(world).tasks.get()
    user = getattr(world, username)
    assert insp.may_close(user, task) is allowed
    if allowed:
        insp.close_task(task, note="已整改", photo=jpeg(), by=user)
    else:
        with pytest.raises(NotAllowed):
            insp.close_task(task, note="已整改", photo=jpeg(), by=user)
        assert RectificationTask.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_a_task_past_its_due_date_is_overdue_until_closed(world):
    with time_machine.travel(dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC), tick=False):
        task = submitted(world).tasks.get()
    assert not insp.is_overdue(task, dt.date(2026, 12, 5))
    assert insp.is_overdue(task, dt.date(2026, 12, 6))
    assert insp.overdue_tasks(RectificationTask.objects.all(), dt.date(2026, 12, 6)).count() == 1
    task = insp.close_task(task, note="已整改", photo=jpeg(), by=world.officer_a)
    assert not insp.is_overdue(task, dt.date(2026, 12, 6))


# --- photos ----------------------------------------------------------------------------------------------------
def test_a_photo_is_re_encoded_as_jpeg_without_exif():
    content = normalise_photo(jpeg(exif=True))
    with Image.open(io.BytesIO(content.read())) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
    content = normalise_photo(png())  # transparency flattened onto white
    assert content.name.endswith(".jpg")


def test_a_file_that_is_not_an_image_is_refused_in_chinese():
    fake = SimpleUploadedFile("p.jpg", b"<?php echo 'x'; ?>", content_type="image/jpeg")
    with pytest.raises(ServiceError, match="不是有效的图片"):
        normalise_photo(fake)


def test_a_huge_photo_is_refused_before_it_is_decoded():
    huge = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * MAX_PHOTO_BYTES, content_type="image/jpeg")
    with pytest.raises(ServiceError, match="照片不能超过10MB"):
        normalise_photo(huge)


def test_a_bad_photo_refuses_the_whole_save(world):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    row = inspection.rows.first()
    fake = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    with pytest.raises(ServiceError, match="不是有效的图片"):
        insp.record_results(
            inspection,
            results={row.pk: insp.RowResult(False, "破损")},
            photos={row.pk: [jpeg(), fake]},
            by=world.director,
        )
    row.refresh_from_db()
    assert row.passed is None and not InspectionPhoto.objects.exists()


def test_at_most_five_photos_per_item(world):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    row = inspection.rows.first()
    insp.record_results(
        inspection, results={}, photos={row.pk: [jpeg() for _ in range(5)]}, by=world.director
    )
    with pytest.raises(ServiceError, match="最多5张"):
        insp.record_results(inspection, results={}, photos={row.pk: [jpeg()]}, by=world.director)


# --- pages: filling in -----------------------------------------------------------------------------------------
def _post_all(inspection, *, fail_index=None, note="", action="submit", photo=None, owner=None):
    data = {"action": action, "owner": owner or "", "due_on": "", "note": ""}
    for i, row in enumerate(inspection.rows.all()):
        data[f"passed-{row.pk}"] = "0" if i == fail_index else "1"
        data[f"note-{row.pk}"] = note if i == fail_index else ""
        if photo is not None and i == fail_index:
            data[f"photos-{row.pk}"] = photo
    return data


def test_director_fills_in_and_submits_on_the_page(world, client_for):
    c = client_for(world.director)
    response = c.post(reverse("desk:inspection_start", args=[world.room_c1.pk]))
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "desk:inspection_edit", args=[inspection.pk]
    )
    page = c.get(response.url)
    assert page.status_code == 200 and "统一公开民警工作电话" in page.content.decode()
    assert page["Cache-Control"].startswith("no-store")
    data = _post_all(
        inspection, fail_index=0, note="门头标牌缺失", photo=jpeg(), owner=world.officer_a_staff.pk
    )
    response = c.post(reverse("desk:inspection_edit", args=[inspection.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SUBMITTED and inspection.score == Decimal("90.0")
    task = inspection.tasks.get()
    assert task.owner == world.officer_a_staff
    assert task.due_on == timezone.localdate() + dt.timedelta(days=7)
    photo = InspectionPhoto.objects.get()
    served = c.get(reverse("desk:inspection_photo", args=[photo.pk]))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "private, no-store"
    detail = c.get(reverse("desk:inspection_detail", args=[inspection.pk])).content.decode()
    assert "90.0" in detail and "门头标牌缺失" in detail


def test_page_errors_are_chinese_and_keep_what_was_typed(world, client_for):
    c = client_for(world.director)
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    url = reverse("desk:inspection_edit", args=[inspection.pk])
    data = _post_all(inspection, fail_index=2, note="", owner=world.officer_a_staff.pk)
    response = c.post(url, data)
    assert response.status_code == 400
    assert "不合格项须填写问题说明" in response.content.decode()
    data = _post_all(inspection, fail_index=2, note="接待台缺", owner="")
    response = c.post(url, data)
    assert response.status_code == 400 and "请指定整改责任人" in response.content.decode()
    data = _post_all(inspection, fail_index=2, note="接待台缺", owner="999999")
    data["due_on"] = "2026-13-45"
    page = c.post(url, data).content.decode()
    assert "请选择本所在职人员" in page and "请输入有效的日期" in page and "接待台缺" in page
    fake = SimpleUploadedFile("x.jpg", b"GIF89a-not-really", content_type="image/jpeg")
    response = c.post(url, _post_all(inspection, fail_index=2, note="接待台缺", photo=fake, action="save"))
    assert response.status_code == 400 and "上传的文件不是有效的图片" in response.content.decode()
    assert Inspection.objects.get(pk=inspection.pk).status == InspectionStatus.DRAFT


def test_another_inspector_may_see_but_not_fill_in_a_draft(world, client_for):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    c = client_for(world.leader)
    assert c.get(reverse("desk:inspection_detail", args=[inspection.pk])).status_code == 200
    response = c.get(reverse("desk:inspection_edit", args=[inspection.pk]))
    assert response.status_code == 403 and "只有发起本次检查的检查人" in response.content.decode()


# --- pages: scoping --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("director", 200),
        ("leader", 200),
        ("evaluator", 200),
        ("officer_a", 200),
        ("auxiliary_a", 200),
        ("director_s2", 404),
        ("patrol", 404),
    ],
)
def test_inspection_task_and_photo_scoping(world, client_for, username, status):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    row = inspection.rows.first()
    insp.record_results(
        inspection,
        results={row.pk: insp.RowResult(False, "破损")},
        photos={row.pk: [jpeg()]},
        by=world.director,
    )
    fill(inspection, world.director, fail=(0,))
    insp.submit_inspection(inspection, owner=world.officer_a_staff, by=world.director)
    task = inspection.tasks.get()
    c = client_for(getattr(world, username))
    assert c.get(reverse("desk:inspection_detail", args=[inspection.pk])).status_code == status
    assert c.get(reverse("desk:inspection_room", args=[world.room_c1.pk])).status_code == status
    assert c.get(reverse("desk:inspection_task", args=[task.pk])).status_code == status
    photo = InspectionPhoto.objects.get()
    assert c.get(reverse("desk:inspection_photo", args=[photo.pk])).status_code == status


def test_officer_sees_her_room_read_only(world, client_for):
    inspection = submitted(world)
    c = client_for(world.officer_b)  # grid B, same community, not the task owner
    page = c.get(reverse("desk:inspection_room", args=[world.room_c1.pk])).content.decode()
    assert "开始五统一检查" not in page and "标牌破损" not in page  # the history, no start button
    response = c.post(reverse("desk:inspection_start", args=[world.room_c1.pk]))
    assert (
        response.status_code == 403
        and "只有所长、分局领导或考评办可以检查警务室" in response.content.decode()
    )
    task = inspection.tasks.get()
    page = c.get(reverse("desk:inspection_task", args=[task.pk])).content.decode()
    assert "确认整改完成" not in page
    response = c.post(reverse("desk:inspection_task", args=[task.pk]), {"note": "x", "photo": jpeg()})
    assert response.status_code == 403 and "只有整改责任人或所长" in response.content.decode()
    assert c.get(reverse("desk:inspection_room", args=[world.c2.police_room.pk])).status_code == 404


def test_director_s2_cannot_start_in_s1_it_is_a_404(world, client_for):
    c = client_for(world.director_s2)
    assert c.post(reverse("desk:inspection_start", args=[world.room_c1.pk])).status_code == 404
    assert not Inspection.objects.exists()


def test_the_owner_closes_her_task_on_the_phone_page(world, client_for):
    task = submitted(world).tasks.get()
    c = client_for(world.officer_a)
    url = reverse("desk:inspection_task", args=[task.pk])
    assert "确认整改完成" in c.get(url).content.decode()
    response = c.post(url, {"note": ""})
    page = response.content.decode()
    assert response.status_code == 400 and "此项为必填项" in page
    fake = SimpleUploadedFile("x.png", b"nope", content_type="image/png")
    page = c.post(url, {"note": "已整改", "photo": fake}).content.decode()
    assert "上传的文件不是有效的图片" in page
    assert c.post(url, {"note": "已更换标牌", "photo": jpeg()}).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED
    served = c.get(reverse("desk:inspection_task_photo", args=[task.pk]))
    assert served.status_code == 200 and served["Cache-Control"] == "private, no-store"
    assert (
        client_for(world.director_s2).get(reverse("desk:inspection_task_photo", args=[task.pk])).status_code
        == 404
    )


def test_task_list_flags_overdue_tasks(world, client_for):
    task = submitted(world).tasks.get()
    RectificationTask.objects.filter(pk=task.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    c = client_for(world.director)
    page = c.get(reverse("desk:inspection_tasks") + "?show=overdue").content.decode()
    assert 'data-testid="overdue-badge"' in page and "超期" in page
    mine = client_for(world.officer_a).get(reverse("desk:inspection_tasks") + "?show=mine").content.decode()
    assert "标牌" in mine or "徽标" in mine
    other = client_for(world.director_s2).get(reverse("desk:inspection_tasks")).content.decode()
    assert 'data-testid="task-row"' not in other


# --- overview and GeoJSON --------------------------------------------------------------------------------------
def _names(features):
    return sorted(f["properties"]["name"] for f in features)


@pytest.mark.parametrize(
    ("username", "rooms"),
    [
        ("leader", ["东星警务室", "仁风警务室", "西福警务室"]),
        ("evaluator", ["东星警务室", "仁风警务室", "西福警务室"]),
        ("director", ["东星警务室", "西福警务室"]),
        ("director_s2", ["仁风警务室"]),
        ("officer_a", ["西福警务室"]),
        ("patrol", None),
    ],
)
def test_overview_and_geojson_are_scoped(world, client_for, username, rooms):
    submitted(world)
    c = client_for(getattr(world, username))
    geo = c.get(reverse("desk:inspection_rooms_geojson"))
    page = c.get(reverse("desk:inspection_overview"))
    if rooms is None:
        assert geo.status_code == 404 and page.status_code == 404
        return
    assert geo.status_code == 200 and geo["Cache-Control"] == "private, no-store"
    data = geo.json()
    assert data["type"] == "FeatureCollection" and _names(data["features"]) == rooms
    html = page.content.decode()
    assert all(name in html for name in rooms)
    assert html.count('data-testid="overview-row"') == len(rooms)


def test_geojson_carries_score_staleness_and_task_counts(world, client_for):
    with time_machine.travel(timezone.now() - dt.timedelta(days=100), tick=False):
        submitted(world, fail=(0, 1))
    data = client_for(world.leader).get(reverse("desk:inspection_rooms_geojson")).json()
    by_name = {f["properties"]["name"]: f for f in data["features"]}
    c1 = by_name["西福警务室"]
    assert c1["geometry"] == {"type": "Point", "coordinates": [118.605, 24.905]}
    props = c1["properties"]
    assert props["score"] == 85.0 and props["stale"] is True
    assert props["open_tasks"] == 2 and props["overdue_tasks"] == 2 and props["status"] == "overdue"
    never = by_name["仁风警务室"]["properties"]
    assert never["score"] is None and never["last_inspected_at"] is None and never["stale"] is True
    assert never["status"] == "stale"


def test_overview_query_count_does_not_grow_with_rooms(world, client_for, django_assert_max_num_queries):
    submitted(world)
    submitted(world, room=world.room_c3, by=world.leader, owner=world.director_s2.staff)
    c = client_for(world.leader)
    with django_assert_max_num_queries(8):
        c.get(reverse("desk:inspection_overview"))


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("desk:inspection_overview"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


# --- checklist pages -------------------------------------------------------------------------------------------
def test_leader_publishes_a_new_checklist_version_on_the_page(world, client_for):
    c = client_for(world.leader)
    url = reverse("desk:inspection_checklist_edit")
    assert "统一标识 | 门头标牌" in c.get(url).content.decode()
    response = c.post(url, {"items": "统一标识 | 门头标牌 | abc", "note": ""})
    assert response.status_code == 400 and "第1行分值必须是1到100之间的整数" in response.content.decode()
    response = c.post(url, {"items": "", "note": ""})
    assert response.status_code == 400 and "此项为必填项" in response.content.decode()
    response = c.post(url, {"items": "统一标识 | 门头标牌 | 60\n统一公示 | 监督电话 | 40", "note": "精简"})
    assert response.status_code == 302
    assert insp.current_checklist().version == 2
    assert "第2版" in c.get(reverse("desk:inspection_checklist")).content.decode()


def test_director_sees_the_checklist_but_may_not_edit_it(world, client_for):
    c = client_for(world.director)
    assert c.get(reverse("desk:inspection_checklist")).status_code == 200
    response = c.get(reverse("desk:inspection_checklist_edit"))
    assert (
        response.status_code == 403
        and "只有分局领导或系统管理员可以修改检查标准" in response.content.decode()
    )


# --- seed ------------------------------------------------------------------------------------------------------
def test_seed_gives_each_room_two_inspections_open_tasks_one_overdue_and_is_idempotent(world):
    make_staff_extra = world.director_s2.staff  # S2 has officer and leader staff: tasks can be owned
    assert make_staff_extra.kind == StaffKind.LEADER
    first = inspection_seed.seed(42)
    assert first.created
    for room in (world.room_c1, world.room_c3):
        assert Inspection.objects.filter(room=room, status=InspectionStatus.SUBMITTED).count() == 2
    assert first.open_tasks >= 3
    today = timezone.localdate()
    assert insp.overdue_tasks(RectificationTask.objects.all(), today).count() == 1
    assert RectificationTask.objects.filter(status=TaskStatus.CLOSED).exists()
    again = inspection_seed.seed(42)
    assert not again.created and again.inspections == first.inspections


def test_the_map_colours_police_rooms_by_inspection_for_those_who_may_see_them(world, client_for):
    """The map page hands the inspection GeoJSON to map.js (which colours the rooms) only to desk roles."""
    page = client_for(world.director).get("/map/").content.decode()
    assert 'data-inspections-url="/desk/inspections/rooms.geojson"' in page
    assert "data-inspections-url" not in client_for(world.patrol).get("/map/").content.decode()


# --- review #7: partial posts, files of rolled-back saves, broken images ---------------------------------------
def _media_files(settings) -> set[str]:
    root = settings.MEDIA_ROOT
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_partial_post_keeps_the_judgments_of_the_rows_it_does_not_carry(world, client_for):
    c = client_for(world.director)
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    rows = fill(inspection, world.director, fail=(1,))
    inspection.refresh_from_db()
    insp.record_results(inspection, results={}, note="整体较好", by=world.director)
    # Only the first row is posted (a page cut short, an old form): it changes, the others stay.
    data = {
        "action": "save",
        "owner": "",
        "due_on": "",
        f"passed-{rows[0].pk}": "0",
        f"note-{rows[0].pk}": "缺",
    }
    response = c.post(reverse("desk:inspection_edit", args=[inspection.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = {r.pk: (r.passed, r.note) for r in inspection.rows.all()}
    assert saved[rows[0].pk] == (False, "缺")
    assert saved[rows[1].pk] == (False, "标牌破损")
    assert all(saved[r.pk] == (True, "") for r in rows[2:])
    inspection.refresh_from_db()
    assert inspection.note == "整体较好"
    # A row whose note is posted but not its radio buttons keeps its judgment and takes the note.
    data = {"action": "save", f"note-{rows[2].pk}": "补充说明"}
    assert c.post(reverse("desk:inspection_edit", args=[inspection.pk]), data).status_code == 302
    row = inspection.rows.get(pk=rows[2].pk)
    assert row.passed is True and row.note == "补充说明"


def test_photos_of_a_save_that_rolls_back_are_deleted(world, settings):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    first, second = list(inspection.rows.all())[:2]
    insp.record_results(
        inspection, results={}, photos={second.pk: [jpeg() for _ in range(5)]}, by=world.director
    )
    before = _media_files(settings)
    assert len(before) == 5
    # The first row's photo is written, then the second row's sixth photo refuses the whole save.
    with pytest.raises(ServiceError, match="最多5张"):
        insp.record_results(
            inspection,
            results={first.pk: insp.RowResult(False, "破损")},
            photos={first.pk: [jpeg()], second.pk: [jpeg()]},
            by=world.director,
        )
    assert _media_files(settings) == before
    assert InspectionPhoto.objects.count() == 5 and not InspectionPhoto.objects.filter(row=first).exists()


def test_the_photo_of_a_task_closing_that_rolls_back_is_deleted(world, settings, monkeypatch):
    """The audit write is made to fail (monkeypatched): nothing else after the photo's write can fail here."""
    inspection = submitted(world)
    task = inspection.tasks.get()
    before = _media_files(settings)

    def broken(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(insp, "record_change", broken)
    with pytest.raises(RuntimeError):
        insp.close_task(task, note="已更换标牌", photo=jpeg(), by=world.officer_a)
    assert _media_files(settings) == before
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and not task.close_photo


def test_photos_of_a_committed_save_stay(world, settings):
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    row = inspection.rows.first()
    insp.record_results(inspection, results={}, photos={row.pk: [jpeg()]}, by=world.director)
    photo = InspectionPhoto.objects.get()
    assert _media_files(settings) == {photo.image.name}


def _truncated_jpeg() -> bytes:
    data = jpeg(size=(640, 480)).read()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data",
    [
        _truncated_jpeg(),
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\x08\x00",  # an EXIF segment cut short
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"GIF89a\x10\x00\x10\x00",
        b"",
    ],
    ids=["half-jpeg", "jpeg-magic", "short-exif", "short-png", "short-gif", "empty"],
)
def test_truncated_images_are_refused_in_chinese(data):
    with pytest.raises(ServiceError, match="不是有效的图片"):
        normalise_photo(SimpleUploadedFile("p.jpg", data, content_type="image/jpeg"))


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=4096),
    st.sampled_from([b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00"]),
)
def test_random_bytes_are_refused_in_chinese_never_an_exception(data, magic):
    try:
        content = normalise_photo(SimpleUploadedFile("p.jpg", magic + data, content_type="image/jpeg"))
    except ServiceError as exc:
        assert str(exc) == "上传的文件不是有效的图片"
    else:  # random bytes that happen to be an image: then a clean JPEG came out
        with Image.open(io.BytesIO(content.read())) as image:
            assert image.format == "JPEG"


@pytest.mark.parametrize("error", [EOFError("no more images"), struct.error("unpack requires a buffer")])
def test_decoder_errors_outside_pillows_own_are_refused_in_chinese(monkeypatch, error):
    """Pillow 13 wraps most of these itself; other versions and plugins let EOFError and struct.error out of
    load() on truncated data, so the decoder is made to raise them here (monkeypatched)."""
    from PIL import ImageFile

    def broken(self):
        raise error

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken)
    with pytest.raises(ServiceError, match="不是有效的图片"):
        normalise_photo(jpeg())


def test_a_truncated_photo_on_the_page_is_a_400_in_chinese_not_a_500(world, client_for, settings):
    c = client_for(world.director)
    inspection = insp.start_inspection(world.room_c1, by=world.director)
    broken = SimpleUploadedFile("p.jpg", _truncated_jpeg(), content_type="image/jpeg")
    data = _post_all(inspection, fail_index=0, note="门头标牌缺失", photo=broken, action="save")
    response = c.post(reverse("desk:inspection_edit", args=[inspection.pk]), data)
    assert response.status_code == 400 and "上传的文件不是有效的图片" in response.content.decode()
    assert not InspectionPhoto.objects.exists() and _media_files(settings) == set()
