"""House-plate QR codes: the SVG and the PDF sheet (portal.qr), and the staff page that prints a grid's plates.

The SVG is decoded back with OpenCV's QR detector (a project dependency for video patrol) after drawing its
path on a bitmap, so a broken encoder or a mis-drawn path fails here, not on a resident's phone.
"""

from __future__ import annotations

import io
import re

import cv2
import numpy as np
import pypdf
import pytest
from django.core.cache import cache
from django.urls import reverse

from doorstep.core import qr as core_qr
from doorstep.portal import officers, qr
from doorstep.registry import services as reg

URL = "https://police.example.cn/portal/a/2n.Abc-def_GHIjklMNOpqrSTUvwxYZ012/"


def decode_svg(svg: str) -> str:
    """Rasterise the SVG's path of unit runs ("M{x} {y}h{n}v1h-{n}z") and read it back."""
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    d = re.search(r'<path d="([^"]*)"', svg).group(1)
    image = np.full((size, size), 255, np.uint8)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", d)
    assert runs and len(runs) == d.count("M")
    for x, y, n in runs:
        image[int(y), int(x) : int(x) + int(n)] = 0
    image = cv2.resize(image, (size * 8, size * 8), interpolation=cv2.INTER_NEAREST)
    text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(image)
    return text


def test_qr_svg_decodes_back_and_is_csp_safe():
    svg = core_qr.qr_svg(URL, size_mm=30, label="门牌<二维码>")
    assert decode_svg(svg) == URL
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "style" not in svg and "<script" not in svg
    assert 'fill="#000000"' in svg and 'width="30mm"' in svg
    assert 'aria-label="门牌&lt;二维码&gt;"' in svg
    assert decode_svg(core_qr.qr_svg("你好，社区民警")) == "你好，社区民警"


class RectRecorder:
    """Stands in for a reportlab canvas to catch the rectangles `_draw_qr` draws (no PDF rasteriser here)."""

    def __init__(self) -> None:
        self.rects: list[tuple[float, float, float, float]] = []

    def saveState(self) -> None: ...  # noqa: N802 - reportlab's names

    def restoreState(self) -> None: ...  # noqa: N802

    def setFillColorRGB(self, *_rgb: float) -> None: ...  # noqa: N802

    def rect(self, x: float, y: float, w: float, h: float, stroke: int = 0, fill: int = 1) -> None:
        self.rects.append((x, y, w, h))


def test_pdf_qr_drawing_decodes_back():
    recorder = RectRecorder()
    x0, y0, size = 100.0, 200.0, 120.0
    qr._draw_qr(recorder, URL, x0, y0, size)
    total = len(core_qr.matrix(URL)) + 2 * core_qr.QUIET_ZONE
    box = size / total
    image = np.full((total, total), 255, np.uint8)
    for x, y, w, _h in recorder.rects:
        col, width = round((x - x0) / box), round(w / box)
        row = round((y0 + size - y) / box) - 1  # PDF y grows upwards
        image[row, col : col + width] = 0
    image = cv2.resize(image, (total * 8, total * 8), interpolation=cv2.INTER_NEAREST)
    assert cv2.QRCodeDetector().detectAndDecode(image)[0] == URL


def test_sheet_draws_each_labels_own_url(monkeypatch):
    drawn = []
    monkeypatch.setattr(qr, "_draw_qr", lambda canvas, text, x, y, size: drawn.append(text))
    labels = [(f"刺桐路{n}号", f"{URL}{n}") for n in range(5)]
    qr.qr_sheet_pdf(labels, title="t")
    assert drawn == [url for _label, url in labels]


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_qr_sheet_pdf_lays_out_labels_on_pages():
    labels = [(f"东海街道刺桐路{n}号", f"{URL}{n}") for n in range(1, 15)]
    data = qr.qr_sheet_pdf(labels, title="门牌二维码 · 测试网格")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2  # 12 per page
    text = text_of(data)
    for label, _url in labels:
        assert label in text
    assert "门牌二维码 · 测试网格" in text and "（1/2）" in text
    assert len(pypdf.PdfReader(io.BytesIO(qr.qr_sheet_pdf([], title="空"))).pages) == 1
    assert "扫码查看您的社区民警" in text


def test_long_addresses_still_print_whole():
    long = "东海街道" + "很长的路名" * 4 + "12号" + "非常长的小区名称" * 3 + "3栋"
    text = text_of(qr.qr_sheet_pdf([(long, URL)], title="t"))
    assert long in re.sub(r"\s", "", text)
    width, height = 150.0, 40.0
    para = qr._fit(long, width, height)
    assert para.wrap(width, height)[1] <= height and para.style.fontSize < 10
    assert qr._fit("刺桐路12号", width, height).style.fontSize == 10


# --- the staff page -------------------------------------------------------------------------------------
@pytest.fixture
def plates(world):
    """Grid A: building 3 of 阳光花园 (three flats, approved), building 5 (rejected in review); grid D
    (station 2): one."""
    cache.clear()
    made = []
    for n, (grid, building, room, approve) in enumerate(
        [
            (world.grid_a, "3", "501", True),
            (world.grid_a, "3", "502", True),
            (world.grid_a, "3", "601", True),
            (world.grid_a, "5", "101", False),
            (world.grid_b, "8", "101", True),
            (world.grid_d, "1", "101", True),
        ]
    ):
        address = reg.create_address(
            code=f"QR{n:04d}",
            grid=grid,
            division_code="350503",
            street_town="东海街道",
            road="刺桐路",
            door_number="12号",
            estate="阳光花园",
            building=building,
            room=room,
            lng=118.6,
            lat=24.9,
        )
        director = world.director if grid.community.station_id == world.s1.pk else world.director_s2
        address = reg.review_address(
            address, approve=approve, by=director, note="" if approve else "门牌号有误"
        )
        made.append(address)
    return made


def test_grid_sheet_has_one_label_per_approved_building(world, plates, client_for):
    response = client_for(world.officer_a).get(reverse("online:qr_grid_pdf", args=[world.grid_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = text_of(response.content)
    assert text.count("东海街道刺桐路12号阳光花园3栋") == 1
    assert "5栋" not in text and "8栋" not in text  # rejected; another grid
    assert "501室" not in text and "502室" not in text
    assert world.grid_a.name in text
    # the code in the label is the card of that building's first address
    assert officers.grid_buildings([world.grid_a])[0].address_id == plates[0].pk


def test_plate_url_uses_portal_base_url_when_set(world, plates, rf, settings):
    from doorstep.portal.officer_pages import plate_url

    request = rf.get("/online/qr/", HTTP_HOST="testserver")
    code = officers.address_code(plates[0].pk)
    assert plate_url(request, plates[0].pk) == f"http://testserver/portal/a/{code}/"
    settings.PORTAL_BASE_URL = "https://jingwu.example.cn/"
    assert plate_url(request, plates[0].pk) == f"https://jingwu.example.cn/portal/a/{code}/"


def test_community_sheet_is_limited_to_the_users_grids(world, plates, client_for):
    url = reverse("online:qr_community_pdf", args=[world.c1.pk])
    text = text_of(client_for(world.director).get(url).content)
    assert "阳光花园3栋" in text and "阳光花园8栋" in text
    text = text_of(client_for(world.officer_a).get(url).content)  # holds grid A only
    assert "阳光花园3栋" in text and "阳光花园8栋" not in text


@pytest.mark.parametrize(
    ("user", "grid", "status"),
    [
        ("officer_a", "grid_a", 200),
        ("officer_a", "grid_b", 404),
        ("auxiliary_a", "grid_a", 200),
        ("director", "grid_c", 200),
        ("director", "grid_d", 404),
        ("director_s2", "grid_a", 404),
        ("director_s2", "grid_d", 200),
        ("admin", "grid_d", 200),
        ("dispatcher", "grid_a", 403),
        ("patrol", "grid_a", 403),
        ("leader", "grid_a", 403),
        ("evaluator", "grid_a", 403),
    ],
)
def test_grid_sheet_permissions(world, plates, client_for, user, grid, status):
    url = reverse("online:qr_grid_pdf", args=[getattr(world, grid).pk])
    assert client_for(getattr(world, user)).get(url).status_code == status


def test_sheet_routes_refuse_bad_ids_and_anonymous(world, client_for):
    officer = client_for(world.officer_a)
    for bad in ["abc", "²", "9" * 30, "-1", "99999999"]:
        assert officer.get(f"/online/qr/{bad}.pdf").status_code == 404, bad
        assert officer.get(f"/online/qr/community/{bad}.pdf").status_code == 404, bad
    assert officer.get(reverse("online:qr_community_pdf", args=[world.c3.pk])).status_code == 404
    anonymous = client_for(None).get(reverse("online:qr_grid_pdf", args=[world.grid_a.pk]))
    assert anonymous.status_code == 302 and "/portal/" not in anonymous["Location"]


def test_qr_index_lists_the_territorys_grids(world, client_for):
    response = client_for(world.officer_a).get(reverse("online:qr"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("online:qr_grid_pdf", args=[world.grid_a.pk]) in html
    assert reverse("online:qr_grid_pdf", args=[world.grid_b.pk]) not in html
    html = client_for(world.director).get(reverse("online:qr")).content.decode()
    for grid in (world.grid_a, world.grid_b, world.grid_c):
        assert reverse("online:qr_grid_pdf", args=[grid.pk]) in html
    assert reverse("online:qr_grid_pdf", args=[world.grid_d.pk]) not in html
    assert client_for(world.dispatcher).get(reverse("online:qr")).status_code == 403
    assert client_for(None).get(reverse("online:qr")).status_code == 302
