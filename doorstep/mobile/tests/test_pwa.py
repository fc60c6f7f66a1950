"""The workspace shell, its manifest and its service worker as served by Django (the browser side is in
test_browser_pwa.py and test_browser_offline.py)."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from doorstep.mobile import pwa_views

pytestmark = pytest.mark.django_db

WORKSPACE_USERS = ["officer_a", "auxiliary_a", "director", "patrol"]
OTHER_USERS = ["dispatcher", "leader", "evaluator", "admin"]


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(client):
    response = client.get("/m/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/m/"


@pytest.mark.parametrize("username", WORKSPACE_USERS)
def test_the_shell_opens_for_the_field_roles_and_holds_nothing_personal(world, client_for, username):
    user = world.users[username]

    response = client_for(user).get("/m/")

    assert response.status_code == 200
    html = response.content.decode()
    # The service worker caches this page for every user of the phone: it is the same page for everyone.
    assert html == client_for(world.users["officer_b"]).get("/m/").content.decode()
    for personal in filter(None, [user.display_name, getattr(user.staff, "name", None), "officer_b", "杨凯"]):
        assert personal not in html
    assert "private" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    for container in (
        'id="tab-today"',
        'id="tab-record"',
        'id="tab-lookup"',
        'id="tab-map"',
        'id="tab-queue"',
    ):
        assert container in html
    assert 'id="dispatch-banner"' in html
    for label in ("今日", "记录", "查询", "地图", "待发送", "退出", "在线"):
        assert label in html
    assert 'rel="manifest" href="/m/manifest.webmanifest"' in html
    assert "csrftoken" in response.cookies  # the scripts send it back in the X-CSRFToken header


def test_the_shell_loads_its_scripts_deferred_in_the_agreed_order(world, client_for):
    html = client_for(world.users["officer_a"]).get("/m/").content.decode()

    scripts = re.findall(r'<script src="([^"]+)" defer></script>', html)
    mobile = [s.rsplit("/", 1)[-1] for s in scripts if "/doorstep/mobile/" in s]
    assert mobile == ["seal.js", "queue.js", "app.js", "lookup.js", "map.js", "dispatch.js"]
    assert all(" defer" in tag for tag in re.findall(r"<script[^>]*>", html))
    # Nothing from outside the server.
    assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.parametrize("username", OTHER_USERS)
def test_other_roles_get_a_chinese_refusal(world, client_for, username):
    response = client_for(world.users[username]).get("/m/")

    assert response.status_code == 403
    assert "手机工作台只供社区民警、协勤员、所长和巡防队员使用" in response.content.decode()


def test_the_manifest_makes_the_workspace_installable(client):
    response = client.get("/m/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["name"] == "家门口派出所·移动警务"
    assert manifest["short_name"] == "移动警务"
    assert manifest["start_url"] == "/m/" and manifest["scope"] == "/m/"
    assert manifest["display"] == "standalone" and manifest["lang"] == "zh-CN"
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in manifest["icons"]:
        name = icon["src"].removeprefix(static(""))
        found = finders.find(name)
        assert found, icon["src"]
        from PIL import Image

        with Image.open(found) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"


def test_the_service_worker_lists_every_static_file_and_never_the_api(client):
    response = client.get("/m/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    assert static("doorstep/mobile/app.js") in precache
    assert static("vendor/tabler/tabler.min.css") in precache
    assert "/m/manifest.webmanifest" in precache
    assert all(not url.startswith("/m/api/") for url in precache)
    for name in pwa_views.STATIC_FILES:
        assert static(name) in precache
        assert finders.find(name), f"{name} is precached but missing"
    assert 'const SHELL = "/m/";' in body
    assert 'const API_PREFIX = "/m/api/";' in body


def test_the_service_worker_version_follows_the_app_version(client, monkeypatch):
    first = re.search(r'const VERSION = "(\w+)"', client.get("/m/sw.js").content.decode()).group(1)
    monkeypatch.setattr(pwa_views, "_app_version", lambda: "99.0.0")

    second = re.search(r'const VERSION = "(\w+)"', client.get("/m/sw.js").content.decode()).group(1)

    assert first != second
    assert re.search(r'const VERSION = "(\w+)"', client.get("/m/sw.js").content.decode()).group(1) == second


def test_the_home_card_promises_each_role_only_what_its_phone_does(world, client_for):
    """Only officers and auxiliaries are dispatched (their phone rings); a patrol member records no visits."""
    rings, visits = "派警时手机会响铃并收到短信", "登记走访"
    officer = client_for(world.officer_a).get("/").content.decode()
    director = client_for(world.director).get("/").content.decode()
    patrol = client_for(world.patrol).get("/").content.decode()
    assert 'data-testid="mobile-workspace"' in officer + director + patrol
    assert rings in officer and visits in officer
    assert rings not in director and visits in director
    assert rings not in patrol and visits not in patrol.split('data-testid="mobile-workspace"')[1][:800]
