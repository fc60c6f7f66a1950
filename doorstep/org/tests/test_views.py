from __future__ import annotations

import datetime as dt

from doorstep.conftest import TODAY
from doorstep.org import services
from doorstep.org.choices import RequestStatus
from doorstep.org.models import DepartureRequest, PoliceRoom, Secondment


def test_staffing_board_lists_gaps_per_grid(world, client_for):
    response = client_for(world.director).get(f"/org/staffing/?station={world.s1.pk}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "西福第1网格" in body and "缺协勤员1人" in body  # grid A: officer + 1 auxiliary
    assert "缺社区民警" in body  # grid C has nobody
    assert "仁风第1网格" not in body  # other station


def test_police_room_form_shows_chinese_field_errors_and_keeps_data(world, client_for):
    response = client_for(world.director).post(
        f"/org/police-rooms/{world.room_c1.pk}/edit/",
        {
            "name": "",
            "address": "新地址",
            "public_phone": "0595-1",
            "hours": "24小时",
            "lng": "200",
            "lat": "24.9",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "该字段是必填项" in body  # Django's Chinese "required"
    assert "经度应在 73 至 136 之间" in body
    room = PoliceRoom.objects.get(pk=world.room_c1.pk)
    assert room.name == "西福警务室" and room.address == "西福社区服务中心"


def test_police_room_edit_saves_through_service(world, client_for):
    response = client_for(world.director).post(
        f"/org/police-rooms/{world.room_c1.pk}/edit/",
        {
            "name": "西福警务室",
            "address": "西福路1号",
            "public_phone": "0595-22000009",
            "hours": "24小时",
            "open_24h": "on",
            "lng": "118.605",
            "lat": "24.905",
        },
    )
    assert response.status_code == 302
    room = PoliceRoom.objects.get(pk=world.room_c1.pk)
    assert room.address == "西福路1号" and room.public_phone == "0595-22000009"
    from doorstep.audit.models import AuditEntry

    entry = AuditEntry.objects.get(action="org.update_police_room")
    assert entry.before == {"address": "西福社区服务中心", "public_phone": "0595-22000001"}


def test_officer_cannot_edit_police_room(world, client_for):
    response = client_for(world.officer_a).post(
        f"/org/police-rooms/{world.room_c1.pk}/edit/", {"name": "改名"}, follow=True
    )
    assert "只有本所所长" in response.content.decode()
    assert PoliceRoom.objects.get(pk=world.room_c1.pk).name == "西福警务室"


def test_early_departure_through_pages(world, client_for):
    officer = client_for(world.officer_a)
    page = officer.get(f"/org/assignments/{world.post_a.pk}/end/")
    assert "未满3年" in page.content.decode()
    officer.post(
        f"/org/assignments/{world.post_a.pk}/end/",
        {"request": "1", "leave_on": TODAY.isoformat(), "reason": "家庭原因"},
    )
    request = DepartureRequest.objects.get()
    assert request.status == RequestStatus.PENDING

    director = client_for(world.director)
    assert "家庭原因" in director.get("/org/approvals/").content.decode()
    director.post(f"/org/departures/{request.pk}/decide/", {"decision": "approve", "note": "同意"})
    request.refresh_from_db()
    world.post_a.refresh_from_db()
    assert request.status == RequestStatus.APPROVED and world.post_a.ended_on == TODAY


def test_other_station_director_gets_404_on_decide(world, client_for):
    request = services.request_departure(world.post_a, leave_on=TODAY, reason="家庭原因", by=world.officer_a)
    response = client_for(world.director_s2).post(
        f"/org/departures/{request.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_secondment_form_errors_in_chinese(world, client_for):
    response = client_for(world.director).post(
        "/org/approvals/",
        {
            "staff": world.officer_a_staff.pk,
            "destination": "刑侦大队",
            "purpose": "专项",
            "starts_on": "2026-12-10",
            "ends_on": "2026-12-01",
        },
    )
    assert "结束日期不能早于开始日期" in response.content.decode()
    assert not Secondment.objects.exists()


def test_secondment_request_and_approval_through_pages(world, client_for):
    director = client_for(world.director)
    director.post(
        "/org/approvals/",
        {
            "staff": world.officer_a_staff.pk,
            "destination": "刑侦大队",
            "purpose": "专项行动",
            "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + dt.timedelta(days=20)).isoformat(),
        },
    )
    sec = Secondment.objects.get()
    director.post(f"/org/secondments/{sec.pk}/decide/", {"decision": "approve"})
    sec.refresh_from_db()
    assert sec.status == RequestStatus.APPROVED


def test_assign_form_errors_are_shown(world, client_for):
    response = client_for(world.director).post(
        f"/org/grids/{world.grid_c.pk}/assign/",
        {"staff": world.officer_a_staff.pk, "position": "officer", "started_on": TODAY.isoformat()},
        follow=True,
    )
    assert "只能专职负责一个网格" in response.content.decode()


def test_english_is_switchable(world, client_for):
    c = client_for(world.director)
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = c.get("/").content.decode()
    assert 'lang="en"' in body
    assert "Grid staffing" in body and "Home" in body and "网格编制" not in body


def test_chinese_by_default_even_for_an_english_browser(world, client_for):
    body = client_for(world.director).get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-CN"' in body and "首页" in body


def test_only_the_current_module_is_highlighted(world, client_for):
    response = client_for(world.director).get("/org/staffing/")
    active = [item["label"] for item in response.context["nav_items"] if item["active"]]
    assert active == ["网格编制"]


def _png_bytes():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def test_director_adds_staff_with_photo_served_only_in_territory(world, client_for, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from doorstep.org.models import Staff

    settings.MEDIA_ROOT = tmp_path
    director = client_for(world.director)
    response = director.post(
        "/org/staff/new/",
        {
            "kind": "auxiliary",
            "name": "王小明",
            "badge_number": "A-2001",
            "phone": "13900002222",
            "station": world.s1.pk,
            "photo": SimpleUploadedFile("p.png", _png_bytes(), content_type="image/png"),
        },
    )
    member = Staff.objects.get(badge_number="A-2001")
    assert response.status_code == 302 and member.station == world.s1
    photo = director.get(f"/org/staff/{member.pk}/photo/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert client_for(world.director_s2).get(f"/org/staff/{member.pk}/photo/").status_code == 404
    assert client_for(None).get(f"/org/staff/{member.pk}/photo/").status_code == 302
    assert "王小明" in director.get(f"/org/staff/{member.pk}/").content.decode()


def test_staff_form_errors_in_chinese(world, client_for):
    from doorstep.org.models import Staff

    before = Staff.objects.count()
    response = client_for(world.director).post(
        "/org/staff/new/",
        {
            "kind": "auxiliary",
            "name": "",
            "badge_number": "坏 号",
            "phone": "abc",
            "station": world.s1.pk,
        },
    )
    body = response.content.decode()
    assert "警号/工号只能包含字母、数字和连字符" in body and "请输入有效的电话号码" in body
    assert Staff.objects.count() == before


def test_staff_form_is_404_for_officers_and_other_station(world, client_for):
    assert client_for(world.officer_a).get("/org/staff/new/").status_code == 404
    response = client_for(world.director).post(
        "/org/staff/new/",
        {
            "kind": "auxiliary",
            "name": "李四",
            "badge_number": "B-1",
            "station": world.s2.pk,
        },
    )
    assert response.status_code == 200  # S2 is not a choice for S1's director
    assert "选择一个有效的选项" in response.content.decode()


def test_the_staff_list_offers_to_add_people_to_those_who_may(world, client_for):
    """添加人员 on /org/staff/ for who may open /org/staff/new/ (a director, an administrator), not for an
    officer (the button was once never shown to anyone)."""
    for user in (world.director, world.admin):
        assert "/org/staff/new/" in client_for(user).get("/org/staff/").content.decode()
    assert "/org/staff/new/" not in client_for(world.officer_a).get("/org/staff/").content.decode()


def test_the_org_forms_wear_the_same_controls_as_every_other_form(world, client_for):
    """Tabler classes on the staff, secondment and departure forms (they were bare browser widgets)."""
    import re

    body = client_for(world.director).get("/org/staff/new/").content.decode()
    assert re.search(
        r'<input[^>]*name="name"[^>]*class="form-control|class="form-control[^"]*"[^>]*name="name"', body
    )
    assert re.search(
        r'<select[^>]*name="kind"[^>]*class="form-select|class="form-select[^"]*"[^>]*name="kind"', body
    )
    approvals = client_for(world.director).get("/org/approvals/").content.decode()
    assert 'name="destination"' in approvals
    assert re.search(
        r'class="form-control[^"]*"[^>]*name="destination"|name="destination"[^>]*class="form-control',
        approvals,
    )


def test_every_module_shows_in_the_navbar_and_the_org_pages_share_a_dropdown(world, client_for):
    """Each entry renders its label (a template slip once rendered empty entries), and 组织机构, 网格编制 and
    审批 sit in one 组织管理 dropdown so a director's navbar keeps to one row."""
    import re

    response = client_for(world.director).get("/org/staffing/")
    html = response.content.decode()
    navbar = html[html.index('id="navbar-menu"') : html.index("</header>")]
    for item in response.context["nav_items"]:
        assert re.search(
            rf'href="{re.escape(item["url"])}"><i class="ti ti-[\w-]+ me-1"></i>{item["label"]}</a>', navbar
        ), item
    group = navbar[navbar.index('data-testid="nav-group-org"') :]
    group = group[: group.index("</li>")]
    assert "组织管理" in group and all(label in group for label in ("组织机构", "网格编制", "审批"))
    assert 'class="dropdown-item active" href="/org/staffing/"' in group


def test_staff_list_filters_by_status_with_all_as_the_default(world, client_for):
    from doorstep.org.models import Staff

    gone = Staff.objects.filter(station=world.s1).exclude(pk=world.director.staff_id).first()
    Staff.objects.filter(pk=gone.pk).update(active=False)  # test set-up: a member who has left
    director = client_for(world.director)
    body = director.get("/org/staff/").content.decode()
    # 全部 / 在职 / 离职, selected "all": never the BooleanFilter's 未知 (read as "status unknown")
    assert '<option value="" selected>全部</option>' in body and "未知" not in body
    assert '<option value="true">在职</option>' in body and '<option value="false">离职</option>' in body
    assert gone.name in body
    # the shared filter form wears Tabler's controls, and a choice left open reads 全部
    assert '<input type="text" name="q" class="form-control"' in body
    assert '<select name="kind" class="form-select" id="id_kind">' in body and "---------" not in body
    left = director.get("/org/staff/?active=false").content.decode()
    assert gone.name in left and '<option value="false" selected>离职</option>' in left
    assert gone.name not in director.get("/org/staff/?active=true").content.decode()
