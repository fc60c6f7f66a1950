"""What residents send through the portal (线索举报, 办事咨询, 纠纷调解) and the receipt/status page: end to end
through the test client, placement from address/community, anonymity, photos, rate limits, receipt codes."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from doorstep.audit.models import AuditEntry
from doorstep.core import sms
from doorstep.desk.models import BusinessType
from doorstep.portal import receipts
from doorstep.portal.choices import Kind, Status
from doorstep.portal.models import Submission

CODE_RE = re.compile(r'data-testid="receipt-code">([0-9A-Z-]+)<')


@pytest.fixture(autouse=True)
def _clean(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SMS_GATEWAY = "memory"
    cache.clear()
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def business(name: str = "户口迁入", **kw) -> BusinessType:
    return BusinessType.objects.create(
        name=name, documents=kw.pop("documents", ["居民身份证", "户口簿"]), time_limit=3, **kw
    )


def receipt_code(response) -> str:
    match = CODE_RE.search(response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def lookup(client: Client, code: str):
    return client.post("/portal/receipt/", {"action": "lookup", "code": code})


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x013B] = "Owner Name"  # Artist
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


TIP = {
    "content": "小区门口有人深夜聚集赌博",
    "address_text": "西福路3号",
    "name": "王五",
    "phone": "13912345678",
}


# --- receipt codes -------------------------------------------------------------------------------------------
def test_receipt_codes_are_random_unambiguous_and_normalised():
    codes = {receipts.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 12 and not set(code) & set("01OI")
    assert len(receipts.ALPHABET) ** receipts.LENGTH >= 2**60
    code = "ABCD2345EFGH"
    assert receipts.display(code) == "ABCD-2345-EFGH"
    assert receipts.normalise(" abcd-2345 efgh ") == code
    assert receipts.normalise("abcd2345efg") is None  # too short
    assert receipts.normalise("ABCD2345EFG0") is None  # 0 is not in the alphabet
    assert receipts.normalise(None) is None


# --- the hub -------------------------------------------------------------------------------------------------
def test_services_hub_lists_active_businesses_with_documents(world, client):
    business("户口迁入", documents=["准迁证"])
    business("停用业务", active=False)
    response = client.get("/portal/services/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "户口迁入" in text and "准迁证" in text and "3个工作日" in text
    assert "停用业务" not in text
    for url in ("/portal/report/tip/", "/portal/report/service/", "/portal/report/dispute/", "/portal/book/"):
        assert url in text
    assert "style=" not in text and "<script>" not in text


# --- each kind end to end ------------------------------------------------------------------------------------
def test_tip_end_to_end_with_community(world, client):
    response = client.get("/portal/report/tip/")
    assert response.status_code == 200
    response = client.post("/portal/report/tip/", {**TIP, "community": world.c1.pk})
    assert response.status_code == 200
    code = receipt_code(response)
    item = Submission.objects.get()
    assert receipts.display(item.receipt_code) == code
    assert item.kind == Kind.TIP and item.status == Status.NEW
    assert (item.community, item.station, item.room) == (world.c1, world.s1, world.room_c1)
    assert item.grid is None  # a community alone does not say which grid
    assert item.name == "王五" and item.phone == "13912345678"
    entry = AuditEntry.objects.get(action="portal.submit_tip")
    assert entry.after["phone"].startswith("139****5678 #")  # masked + a short keyed digest
    # The status page finds it by POST, in any case and grouping.
    page = lookup(client, code.lower().replace("-", " "))
    text = page.content.decode()
    assert page.status_code == 200 and "线索举报" in text and "待受理" in text
    assert "13912345678" not in text and "王五" not in text


def test_tip_placed_by_standard_address(world, client, monkeypatch):
    from doorstep.registry import services as registry

    address = registry.create_address(
        code="ADDR-PORTAL-1",
        grid=world.grid_b,
        division_code="350503",
        street_town="城东街道",
        road="西福路",
        door_number="8号",
        lng=118.615,
        lat=24.905,
    )

    def fake(code):
        return address if code == "signed-token" else None

    from doorstep.portal import officers

    monkeypatch.setattr(officers, "address_from_code", fake)
    # The standard address wins over a (different) community chosen.
    client.post(
        "/portal/report/tip/",
        {**TIP, "community": world.c3.pk, "address_text": "", "address_code": "signed-token"},
    )
    item = Submission.objects.get()
    assert (item.grid, item.community, item.station, item.address) == (
        world.grid_b,
        world.c1,
        world.s1,
        address,
    )
    assert item.address_text == address.full_text
    # A forged token: no address; the community chosen places it.
    client.post("/portal/report/tip/", {**TIP, "community": world.c3.pk, "address_code": "forged"})
    item = Submission.objects.order_by("-id").first()
    assert (
        item.address is None and item.grid is None and (item.community, item.station) == (world.c3, world.s2)
    )


def test_unplaced_item_is_saved_with_no_station(world, client):
    response = client.post("/portal/report/tip/", {**TIP, "address_text": "不知道哪里"})
    assert response.status_code == 200
    item = Submission.objects.get()
    assert item.station is None and item.community is None and item.address_text == "不知道哪里"


def test_service_question_end_to_end(world, client):
    bt = business()
    data = {
        "business_type": bt.pk,
        "content": "户口迁入需要本人到场吗？",
        "community": world.c3.pk,
        "name": "赵六",
        "phone": "138-0000-2222",
    }
    response = client.post("/portal/report/service/", data)
    code = receipt_code(response)
    item = Submission.objects.get()
    assert item.kind == Kind.SERVICE and item.business_type == bt and item.phone == "13800002222"
    assert (item.community, item.station, item.room) == (world.c3, world.s2, world.room_c3)
    text = lookup(client, code).content.decode()
    assert "办事咨询" in text and "户口迁入" in text


def test_dispute_request_end_to_end(world, client):
    data = {
        "content": "楼上每天半夜装修噪音",
        "other_party": "302室住户",
        "community": world.c1.pk,
        "address_text": "西福小区3栋",
        "name": "钱七",
        "phone": "13700001111",
    }
    response = client.post("/portal/report/dispute/", data)
    code = receipt_code(response)
    item = Submission.objects.get()
    assert item.kind == Kind.DISPUTE and item.community == world.c1
    assert (item.content, item.other_party) == ("楼上每天半夜装修噪音", "302室住户")
    assert "纠纷调解" in lookup(client, code).content.decode()


def test_required_fields_give_chinese_errors(world, client):
    response = client.post("/portal/report/service/", {"phone": "12345"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "此项为必填项" in text and "请填写正确的11位手机号码" in text
    response = client.post("/portal/report/tip/", {"content": "x"})
    assert "不匿名时请填写姓名" in response.content.decode()
    response = client.post("/portal/report/tip/", {**TIP, "community": "²"})
    assert response.status_code == 200 and "选择无效" in response.content.decode()
    response = client.post("/portal/report/tip/", {**TIP, "community": "99999999999999999999"})
    assert response.status_code == 200
    response = client.post("/portal/report/tip/", {**TIP, "content": "长" * 2001})
    assert response.status_code == 200
    assert not Submission.objects.exists()


def test_anonymous_tip_stores_no_name_or_phone(world, client):
    response = client.post(
        "/portal/report/tip/", {**TIP, "anonymous": "on", "name": "不该保存", "phone": "13912345678"}
    )
    assert response.status_code == 200
    item = Submission.objects.get()
    assert item.anonymous and item.name == "" and item.phone == ""
    # ... and needs none.
    client.post("/portal/report/tip/", {"content": "匿名线索", "anonymous": "on"})
    assert Submission.objects.filter(anonymous=True).count() == 2


def test_photo_is_reencoded_without_exif(world, client):
    upload = SimpleUploadedFile("p.jpg", jpeg_with_exif(), content_type="image/jpeg")
    response = client.post("/portal/report/tip/", {**TIP, "photo": upload})
    assert response.status_code == 200, response.content.decode()[:500]
    item = Submission.objects.get()
    assert item.photo.name.endswith(".jpg")
    with item.photo.open("rb") as f:
        data = f.read()
    assert b"SecretCamera" not in data and b"Owner Name" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and not image.getexif()


def test_non_image_photo_refused_with_field_error(world, client):
    upload = SimpleUploadedFile("p.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post("/portal/report/tip/", {**TIP, "photo": upload})
    assert response.status_code == 200
    text = response.content.decode()
    assert "上传的文件不是有效的图片" in text and 'data-testid="receipt-code"' not in text
    assert not Submission.objects.exists()


def test_oversized_photo_refused(world, client):
    upload = SimpleUploadedFile(
        "p.jpg", b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 10), content_type="image/jpeg"
    )
    response = client.post("/portal/report/tip/", {**TIP, "photo": upload})
    assert "照片不能超过5MB" in response.content.decode()
    assert not Submission.objects.exists()


# --- rate limits ---------------------------------------------------------------------------------------------
def test_rate_limit_per_ip(world, client, settings):
    settings.PORTAL_RATE_LIMITS = "submit_ip=2/3600"
    for i in range(2):
        assert client.post("/portal/report/tip/", {**TIP, "phone": f"1390000000{i}"}).status_code == 200
    response = client.post("/portal/report/tip/", {**TIP, "phone": "13900000009"})
    assert response.status_code == 429
    assert "操作过于频繁，请稍后再试" in response.content.decode()
    assert Submission.objects.count() == 2
    # another address is not limited
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert other.post("/portal/report/tip/", {**TIP, "phone": "13900000008"}).status_code == 200


def test_rate_limit_per_phone(world, settings):
    settings.PORTAL_RATE_LIMITS = "submit_phone=2/3600"
    for i in range(2):
        c = Client(REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert c.post("/portal/report/tip/", TIP).status_code == 200
    c = Client(REMOTE_ADDR="10.0.0.99")
    response = c.post("/portal/report/tip/", TIP)
    assert response.status_code == 429 and "操作过于频繁" in response.content.decode()
    assert Submission.objects.count() == 2
    assert c.post("/portal/report/tip/", {**TIP, "phone": "13600000000"}).status_code == 200


# --- the status page -----------------------------------------------------------------------------------------
def test_wrong_or_malformed_receipt_code_is_a_chinese_not_found(world, client):
    client.post("/portal/report/tip/", TIP)
    for code in ("ABCD-EFGH-JKLM", "nonsense", "²²²²", "x" * 39):
        response = lookup(client, code)
        assert response.status_code == 200
        assert "未找到该回执码对应的事项" in response.content.decode()
    assert client.get("/portal/receipt/").status_code == 200
    assert "请填写回执码" in lookup(client, "").content.decode()


def test_status_lookup_rate_limited(world, client, settings):
    settings.PORTAL_RATE_LIMITS = "status_ip=3/600"
    for _ in range(3):
        assert lookup(client, "ABCD-EFGH-JKLM").status_code == 200
    response = lookup(client, "ABCD-EFGH-JKLM")
    assert response.status_code == 429 and "操作过于频繁" in response.content.decode()


def test_portal_forms_need_csrf(world):
    c = Client(enforce_csrf_checks=True)
    assert c.post("/portal/report/tip/", TIP).status_code == 403
    assert not Submission.objects.exists()


def test_real_signed_address_code_places_the_item(world, client):
    """With the portal's real address codes (portal.officers): an approved address places the item."""
    from doorstep.portal import officers
    from doorstep.registry import services as registry

    address = registry.create_address(
        code="ADDR-PORTAL-2",
        grid=world.grid_c,
        division_code="350503",
        street_town="城东街道",
        road="东星路",
        door_number="2号",
        lng=118.605,
        lat=24.915,
    )
    registry.review_address(address, approve=True, by=world.director)
    response = client.post(
        "/portal/report/service/",
        {
            "business_type": business().pk,
            "content": "怎么办居住证",
            "name": "褚十",
            "phone": "13811112222",
            "address_code": officers.address_code(address.pk),
        },
    )
    assert response.status_code == 200
    item = Submission.objects.get()
    assert (item.address, item.grid, item.community, item.station) == (
        address,
        world.grid_c,
        world.c2,
        world.s1,
    )


def test_the_officer_cards_links_prefill_the_address_and_land_in_its_grid(world, client):
    from doorstep.portal import officers
    from doorstep.portal.tests.test_officer import add_address

    address = add_address(world.grid_a, approve_by=world.director)
    code = officers.address_code(address.pk)
    card = client.get(f"/portal/a/{code}/").content.decode()
    assert f"/portal/report/service/?a={code}" in card
    page = client.get("/portal/report/service/", {"a": code}).content.decode()
    assert officers.building_label(address) in page and f'value="{code}"' in page
    assert "502室" not in page  # the building, never the flat
    assert client.get("/portal/report/service/", {"a": "forged:code"}).status_code == 200
    response = client.post(
        "/portal/report/service/",
        {
            "business_type": business("居住证").pk,
            "content": "怎么办理居住证？",
            "name": "孙八",
            "phone": "13700002222",
            "address_code": code,
            "address_text": officers.building_label(address),
        },
    )
    assert response.status_code == 200
    item = Submission.objects.get()
    assert (item.grid_id, item.community_id, item.station_id) == (world.grid_a.pk, world.c1.pk, world.s1.pk)


@pytest.mark.parametrize("when", ["0001-01-01", "1990-05-01T08:00"])
def test_a_tip_dated_impossibly_long_ago_is_a_field_error_not_a_500(world, client, when):
    response = client.post(
        "/portal/report/tip/", {"content": "很久以前的事", "anonymous": "on", "occurred_at": when}
    )
    assert response.status_code == 200 and "发生时间不能早于十年前" in response.content.decode()
    assert not Submission.objects.exists()
