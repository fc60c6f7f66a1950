"""Find my officer (找民警): the typeahead, the card behind a house-plate code, the officer's photo.

The card is public: these tests plant residents with phones, ID numbers, a person of concern and a red
household in the grid, then scan every public page for any of it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from doorstep.evaluation.models import MonthlyStar
from doorstep.org.models import GridAssignment, Staff
from doorstep.portal import officers
from doorstep.portal.middleware import CSP
from doorstep.registry import services as reg
from doorstep.registry.choices import (
    Colour,
    ConcernStatus,
    ConcernType,
    HouseStructure,
    PersonCategory,
    PropertyType,
    ReviewStatus,
)
from doorstep.registry.models import Address, House, Person
from doorstep.registry.tests.conftest import new_id

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82"
)
ID_RE = re.compile(r"(?<![0-9])[1-9]\d{16}[\dXx](?![0-9])")
INTERNAL_WORDS = [
    "红色",
    "黄色",
    "绿色",
    "重点户",
    "关注户",
    "放心户",
    "重点人员",
    "关注人员",
    "列管",
    "管控",
    "分色",
    "户籍",
    "人户",
    "身份号码",
    "走访",
    *[str(label) for label in Colour.labels],
    *[str(label) for label in ConcernType.labels],
]

_n = iter(range(1, 10**6))


def add_address(grid, *, road="刺桐路", door="12号", estate="阳光花园", building="3", unit="1", floor="5",
                room="502", approve_by=None) -> Address:  # fmt: skip
    n = next(_n)
    address = reg.create_address(
        code=f"PTL{n:06d}",
        grid=grid,
        division_code="350503",
        street_town="东海街道",
        road=road,
        door_number=door,
        estate=estate,
        building=building,
        unit_no=unit,
        floor=floor,
        room=room,
        lng=(grid.center_lng or 118.6),
        lat=(grid.center_lat or 24.9),
    )
    if approve_by is not None:
        address = reg.review_address(address, approve=True, by=approve_by)
    return address


@dataclass
class Planted:
    address: Address
    house: House
    head: Person
    concern_person: Person


@pytest.fixture
def planted(world) -> Planted:
    """Grid A: an approved flat (room 502 of building 3) with a red household — its head has a phone and an
    ID number, a lodger is a listed person of concern."""
    cache.clear()
    address = add_address(world.grid_a, approve_by=world.director)
    house = reg.create_house(
        code=f"PH{address.pk:06d}",
        address=address,
        property_type=PropertyType.SELF_BUILT,
        structure=HouseStructure.BRICK_CONCRETE,
        floors=18,
        owner_name="陈建国",
        owner_phone="13912345678",
        owner_id_number=new_id(),
    )
    household = reg.create_household(house=house, household_no="PTL0001")
    head = reg.create_person(
        name="郑秀英",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="户主",
        phone="13698765432",
    )
    lodger = reg.create_person(
        name="钱多多",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=household,
        relation_to_head="其他",
        phone="13511112222",
    )
    concern = reg.request_listing(
        lodger, concern_type=ConcernType.DRUGS, reason="测试列管事由", by=world.officer_a
    )
    reg.decide_concern(concern, approve=True, by=world.director)
    house.refresh_from_db()
    assert house.colour == Colour.RED  # the world really holds what must never show
    assert lodger.concerns.filter(status=ConcernStatus.LISTED).exists()
    return Planted(address, house, head, lodger)


def card_url(address_id: int) -> str:
    return reverse("portal:officer_card", kwargs={"code": officers.address_code(address_id)})


def suggest(client, q: str):
    return client.post(reverse("portal:officer_suggest"), {"q": q})


# --- codes ----------------------------------------------------------------------------------------------
def test_address_code_round_trip_and_forgery(planted):
    code = officers.address_code(planted.address.pk)
    assert officers.address_from_code(code) == planted.address
    body, _, signature = code.partition(".")
    forged_body = officers._to_base36(planted.address.pk + 1)
    assert officers.address_from_code(f"{forged_body}.{signature}") is None
    assert officers.address_from_code(code[:-1] + ("A" if code[-1] != "A" else "B")) is None
    assert officers.address_from_code(body) is None
    assert officers.address_from_code("") is None
    assert officers.address_from_code("²." + signature) is None
    # a staff photo code is not an address code (different salt)
    assert officers.address_from_code(officers.staff_code(planted.address.pk)) is None


def test_an_address_rejected_in_review_has_no_card_a_pending_one_has(world, client):
    cache.clear()
    pending = add_address(world.grid_a)
    assert pending.review_status == ReviewStatus.PENDING
    assert client.get(card_url(pending.pk)).status_code == 200
    rejected = add_address(world.grid_a, building="9")
    rejected = reg.review_address(rejected, approve=False, by=world.director, note="门牌号有误")
    assert rejected.review_status == ReviewStatus.REJECTED
    assert client.get(card_url(rejected.pk)).status_code == 404
    assert all("9栋" not in hit["label"] for hit in suggest(client, "刺桐路").json())


def test_forged_code_is_a_chinese_404(planted, client):
    code = officers.address_code(planted.address.pk)
    unknown = officers.address_code(10**9)  # well signed, no such address
    assert len(code) < 30  # small enough for a small QR code on a plate
    for bad in [code[:-2] + "zz", "1.abcdefghijklmnopqrstuvwxyz0", "x" * 200, "%00", "１.abc", unknown]:
        response = client.get(f"/portal/a/{bad}/")
        assert response.status_code == 404, bad
        assert "没有找到这个地址" in response.content.decode()
        assert response["Content-Security-Policy"] == CSP


# --- the card -------------------------------------------------------------------------------------------
def test_card_shows_the_officers_public_fields(world, planted, client):
    staff = world.officer_a_staff
    response = client.get(card_url(planted.address.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert staff.name in html
    assert staff.badge_number in html
    assert staff.phone in html and f'href="tel:{staff.phone}"' in html
    assert "打电话" in html
    assert world.grid_a.name in html
    assert world.room_c1.name in html and world.room_c1.address in html and world.room_c1.hours in html
    assert world.room_c1.public_phone in html and 'href="tel:0595-22000001"' in html
    assert world.s1.name in html
    # building level: the building is named, the room is not
    assert "东海街道刺桐路12号阳光花园3栋" in html
    # (the flat as the address writes it: a bare "502" may be part of a badge number such as 504502)
    assert "502室" not in html and "1单元" not in html
    # the officer of grid B is not on grid A's card
    assert world.officer_b_staff.name not in html
    assert 'data-testid="room-sketch"' in html and "<polygon" in html


def test_card_and_lookup_pages_leak_nothing_about_residents(world, planted, client):
    head, lodger, house = planted.head, planted.concern_person, planted.house
    secrets = [head.id_number, lodger.id_number, head.phone, lodger.phone, head.name, lodger.name,
               house.owner_phone, house.owner_id_number, house.owner_name, "测试列管事由", house.code]  # fmt: skip
    pages = {
        "card": client.get(card_url(planted.address.pk)).content.decode(),
        "list": client.post(reverse("portal:find_officer"), {"q": "刺桐路"}).content.decode(),
        "json": suggest(client, "阳光花园").content.decode("unicode_escape"),
    }
    assert "阳光花园" in pages["list"] and "阳光花园" in pages["json"]
    for name, html in pages.items():
        for secret in secrets:
            assert secret not in html, (name, secret)
        for word in INTERNAL_WORDS:
            assert word not in html, (name, word)
        assert not ID_RE.search(html), (name, ID_RE.search(html))
        for phone in re.findall(r"1[3-9]\d{9}", html):
            assert phone == world.officer_a_staff.phone, (name, phone)


def test_card_shows_the_monthly_star(world, planted, client):
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    html = client.get(card_url(planted.address.pk)).content.decode()
    assert 'data-testid="officer-star"' not in html
    MonthlyStar.objects.create(
        month=last_month, staff=world.officer_a_staff, citation="不公开的事迹", confirmed_by=world.evaluator
    )
    # The card is cached for CARD_CACHE_SECONDS: the star shows once that has passed (the cache emptied here).
    assert 'data-testid="officer-star"' not in client.get(card_url(planted.address.pk)).content.decode()
    cache.clear()
    html = client.get(card_url(planted.address.pk)).content.decode()
    assert 'data-testid="officer-star"' in html and "社区警务之星" in html
    assert "不公开的事迹" not in html


def test_grid_without_officer_shows_room_and_station(world, client):
    cache.clear()
    address = add_address(
        world.grid_c, road="东星路", door="8号", estate="", building="", approve_by=world.director
    )
    response = client.get(card_url(address.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="no-officer"' in html and 'data-testid="officer-card"' not in html
    assert "东星警务室" in html and "0595-22000002" in html
    assert world.s1.name in html


def test_ended_post_leaves_the_card(world, planted, client):
    GridAssignment.objects.filter(pk=world.post_a.pk).update(ended_on=timezone.localdate())
    html = client.get(card_url(planted.address.pk)).content.decode()
    assert world.officer_a_staff.name not in html
    assert 'data-testid="no-officer"' in html


def test_portal_has_csp_and_no_staff_session(world, planted, client_for):
    officer = client_for(world.officer_a)
    response = officer.get(card_url(planted.address.pk))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CSP
    assert response.wsgi_request.user.is_anonymous
    assert "sessionid" not in response.cookies
    html = response.content.decode()
    assert world.officer_a.username not in html
    assert "<style" not in html and 'style="' not in html and "onclick" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    response = officer.post(reverse("portal:find_officer"), {"q": "阳光花园"})
    assert response["Content-Security-Policy"] == CSP and response.wsgi_request.user.is_anonymous
    html = response.content.decode()
    assert "<style" not in html and 'style="' not in html and "onclick" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


# --- lookup ---------------------------------------------------------------------------------------------
def test_typeahead_is_post_only(planted, client):
    url = reverse("portal:officer_suggest")
    assert client.get(url, {"q": "阳光花园"}).status_code == 405


def test_typeahead_needs_the_pages_csrf_token(planted):
    """What portal-officer.js does: read the token from the form, send it as X-CSRFToken with the cookie."""
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("portal:find_officer")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    url = reverse("portal:officer_suggest")
    assert browser.post(url, {"q": "阳光花园"}).status_code == 403
    response = browser.post(url, {"q": "阳光花园"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json()[0]["label"].endswith("3栋")


def test_typeahead_gives_buildings_without_rooms(world, planted, client):
    for room in ("501", "601", "602"):  # more flats of the same building: still one line
        add_address(world.grid_a, room=room, floor=room[0], approve_by=world.director)
    add_address(world.grid_a, building="4", room="101", approve_by=world.director)
    rejected = add_address(world.grid_a, building="9", room="101")
    reg.review_address(
        rejected, approve=False, by=world.director, note="门牌号有误"
    )  # rejected: never offered
    add_address(world.grid_a, building="9", estate="阳光花园东区", room="101")  # pending: offered
    response = suggest(client, "阳光花园")
    assert response.status_code == 200
    data = response.json()
    labels = [hit["label"] for hit in data]
    assert labels == [
        "东海街道刺桐路12号阳光花园3栋",
        "东海街道刺桐路12号阳光花园4栋",
        "东海街道刺桐路12号阳光花园东区9栋",
    ]
    for hit in data:
        assert re.fullmatch(r"/portal/a/[0-9a-z]+\.[\w-]+/", hit["url"])
        assert "室" not in hit["label"] and "单元" not in hit["label"]
    assert client.get(data[0]["url"]).status_code == 200
    # the road, full width and spaces work too; one character finds nothing
    assert len(suggest(client, "刺桐路１２号").json()) == 3
    assert len(suggest(client, "东海街道 刺桐路").json()) == 3
    assert suggest(client, "刺").json() == []
    assert suggest(client, "不存在的路").json() == []


def test_typeahead_is_capped_at_ten(world, client):
    cache.clear()
    for b in range(1, 14):
        add_address(world.grid_a, building=str(b), approve_by=world.director)
    assert len(suggest(client, "阳光花园").json()) == 10


def test_lookup_form_without_js(world, planted, client):
    response = client.post(reverse("portal:find_officer"), {"q": "阳光花园"})
    html = response.content.decode()
    assert response.status_code == 200
    assert card_url(planted.address.pk) in html
    assert "东海街道刺桐路12号阳光花园3栋" in html
    response = client.post(reverse("portal:find_officer"), {"q": "x"})
    assert "请至少输入2个字" in response.content.decode()
    response = client.post(reverse("portal:find_officer"), {"q": "无此路"})
    assert "没有找到这个地址" in response.content.decode()
    assert client.get(reverse("portal:find_officer")).status_code == 200


def test_lookup_is_rate_limited(world, planted, client, settings):
    cache.clear()
    settings.PORTAL_RATE_LIMITS = "lookup_ip=3/60"
    for _ in range(3):
        assert suggest(client, "阳光花园").status_code == 200
    response = suggest(client, "阳光花园")
    assert response.status_code == 429
    assert "操作过于频繁" in json.loads(response.content)["error"]
    response = client.post(reverse("portal:find_officer"), {"q": "阳光花园"})
    assert response.status_code == 429 and "操作过于频繁" in response.content.decode()
    response = client.get(card_url(planted.address.pk))
    assert response.status_code == 429 and "操作过于频繁" in response.content.decode()
    cache.clear()
    assert suggest(client, "阳光花园").status_code == 200


# --- the photo ------------------------------------------------------------------------------------------
def test_photo_only_for_current_officers(world, planted, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    staff = world.officer_a_staff
    staff.photo.save("a.png", ContentFile(PNG), save=True)
    html = client.get(card_url(planted.address.pk)).content.decode()
    photo_url = reverse("portal:officer_photo", kwargs={"code": officers.staff_code(staff.pk)})
    assert photo_url in html
    response = client.get(photo_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Security-Policy"] == CSP
    # a forged code, a staff member without a post, and an officer whose post ended: 404
    assert client.get(photo_url[:-3] + "zz/").status_code == 404
    director = world.director.staff
    director.photo.save("d.png", ContentFile(PNG), save=True)
    assert (
        client.get(reverse("portal:officer_photo", args=[officers.staff_code(director.pk)])).status_code
        == 404
    )
    aux = world.auxiliary_a.staff
    aux.photo.save("x.png", ContentFile(PNG), save=True)
    assert client.get(reverse("portal:officer_photo", args=[officers.staff_code(aux.pk)])).status_code == 404
    GridAssignment.objects.filter(pk=world.post_a.pk).update(ended_on=timezone.localdate())
    assert client.get(photo_url).status_code == 404


def test_card_without_photo_has_placeholder(world, planted, client):
    html = client.get(card_url(planted.address.pk)).content.decode()
    assert "/portal/officer-photo/" not in html
    assert "portal-card-photo-empty" in html


def test_officer_moved_off_the_grid(world, planted, client):
    """Grid B's card names grid B's officer; once grid A's post ends, grid A's card no longer names its officer."""
    address_b = add_address(
        world.grid_b, road="西福路", door="1号", estate="", building="", approve_by=world.director
    )
    assert world.officer_b_staff.name in client.get(card_url(address_b.pk)).content.decode()
    GridAssignment.objects.filter(pk=world.post_a.pk).update(ended_on=timezone.localdate())
    cache.clear()  # the card is cached for CARD_CACHE_SECONDS
    assert world.officer_a_staff.name not in client.get(card_url(planted.address.pk)).content.decode()


def test_the_card_is_cached_per_code_and_language(world, planted, client):
    from doorstep.portal.officer_pages import CARD_CACHE_SECONDS

    url = card_url(planted.address.pk)
    first = client.get(url).content
    Staff.objects.filter(pk=world.officer_a_staff.pk).update(name="改名测试")
    assert client.get(url).content == first  # served from the cache
    english = client.get(url, headers={"Cookie": "django_language=en"}).content.decode()
    assert "改名测试" in english  # another language: its own entry, rendered afresh
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=CARD_CACHE_SECONDS + 1)):
        assert "改名测试" in client.get(url).content.decode()
    assert client.get(url + "x").status_code == 404  # a forged code is never served from a cache


def test_location_sketch_handles_bad_boundaries():
    assert officers.location_sketch(None, None, None) == ""
    svg = officers.location_sketch({"type": "Polygon", "coordinates": "junk"}, 118.6, 24.9)
    assert svg.startswith("<svg") and "<circle" in svg and "<polygon" not in svg
    svg = officers.location_sketch({"type": "Point", "coordinates": [1, 2]}, 118.6, 24.9, label='a"b')
    assert 'aria-label="a&quot;b"' in svg
    assert "style" not in svg
