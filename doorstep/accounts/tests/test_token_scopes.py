"""Scoped API tokens (issue #12 item 3): a token reaches only the API of its scopes (read = safe methods,
write = the others), a view without a scope is refused to every token, session requests are unaffected;
the account page's form needs at least one scope; issuing and revoking are audited."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from doorstep.accounts.choices import API_MODULE_SCOPES, TokenScope
from doorstep.accounts.models import ApiToken
from doorstep.accounts.permissions import required_scope
from doorstep.accounts.services import issue_token, revoke_token
from doorstep.audit.models import AuditEntry
from doorstep.core.errors import ServiceError

ACCOUNT = "/accounts/me/"


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_read_scope_reads_its_api_and_nothing_else(world):
    _token, key = issue_token(world.director, name="大屏", scopes=["org:read"], by=world.director)
    client = token_client(key)

    assert client.get("/api/v1/stations/").status_code == 200
    assert client.get("/api/v1/grids/").status_code == 200
    write = client.post("/api/v1/assignments/", {}, format="json")
    assert write.status_code == 403
    assert write.json()["detail"] == "令牌缺少权限范围：org:write（组织机构：写入（任职、离岗与借调审批））"
    other = client.get("/api/v1/persons/")
    assert other.status_code == 403
    assert "registry:read" in other.json()["detail"]
    assert client.get("/api/v1/map/grids.geojson").status_code == 403


def test_a_registry_token_reads_persons_but_not_the_organisation(world):
    _token, key = issue_token(world.officer_a, name="走访App", scopes=["registry:read"], by=world.officer_a)
    client = token_client(key)

    assert client.get("/api/v1/persons/").status_code == 200
    assert client.get("/api/v1/houses/").status_code == 200
    refused = client.get("/api/v1/stations/")
    assert refused.status_code == 403 and "org:read" in refused.json()["detail"]


def test_a_write_scope_can_write(world):
    from doorstep.conftest import make_staff
    from doorstep.org.choices import StaffKind
    from doorstep.org.models import GridAssignment

    _token, key = issue_token(
        world.director, name="排班系统", scopes=["org:read", "org:write"], by=world.director
    )
    aux = make_staff(world.sub_bureau, world.s1, StaffKind.AUXILIARY, "新辅警")
    body = {"grid": world.grid_a.pk, "staff": aux.pk, "position": "auxiliary", "started_on": "2026-11-28"}

    response = token_client(key).post("/api/v1/assignments/", body, format="json")

    assert response.status_code == 201, response.content
    assert GridAssignment.objects.filter(staff=aux, grid=world.grid_a).exists()
    # the same write with only the read scope is refused
    _token, read_key = issue_token(world.director, name="只读", scopes=["org:read"], by=world.director)
    other = make_staff(world.sub_bureau, world.s1, StaffKind.AUXILIARY, "另一辅警")
    refused = token_client(read_key).post("/api/v1/assignments/", {**body, "staff": other.pk}, format="json")
    assert refused.status_code == 403


def test_the_api_root_opens_to_any_token_and_maps_need_maps_read(world):
    _token, key = issue_token(world.director, name="地图", scopes=["maps:read"], by=world.director)
    client = token_client(key)

    assert client.get("/api/v1/").status_code == 200
    assert client.get("/api/v1/map/grids.geojson").status_code == 200


def test_a_refused_scope_is_in_the_audit_log(world):
    from django.core.cache import cache

    cache.clear()
    _token, key = issue_token(world.director, name="大屏", scopes=["org:read"], by=world.director)

    token_client(key).get("/api/v1/persons/")

    entry = AuditEntry.objects.get(action="security.denied")
    assert entry.actor_id == world.director.pk
    assert "api:person-list" in entry.object_repr


def test_session_requests_are_not_limited_by_scopes(world, client_for):
    client = client_for(world.director)

    assert client.get("/api/v1/stations/").status_code == 200
    assert client.get("/api/v1/persons/").status_code == 200


def test_a_view_without_a_scope_is_refused_to_every_token():
    class Elsewhere(APIView):
        pass

    class Declared(APIView):
        token_scope = "registry"

    assert required_scope(Elsewhere(), "GET") is None
    assert required_scope(Declared(), "GET") == "registry:read"
    assert required_scope(Declared(), "DELETE") == "registry:write"
    # every module in the catalogue has at least its read scope
    assert {f"{r}:read" for r in API_MODULE_SCOPES.values()} <= set(TokenScope.values)


def test_every_token_api_route_has_a_scope():
    """Every DRF view under /api/v1/ (but the signed device endpoint and the root) maps to a scope."""
    from django.urls import get_resolver

    from doorstep.urls import api_patterns

    missing = []
    for pattern in api_patterns:
        view = getattr(pattern.callback, "cls", None)
        if view is None or pattern.name in {"alarm-events", "api-root"}:
            continue
        if required_scope(view(), "GET") is None:
            missing.append(pattern.name)
    assert missing == []
    assert get_resolver()  # the URLconf loads


def _api_urls() -> list[tuple[str, str]]:
    """(name, a concrete path) of every URL pattern of the whole URLconf whose path starts with /api/."""
    import uuid

    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.resolvers import RoutePattern

    samples = {"int": "1", "uuid": str(uuid.uuid4()), "drf_format_suffix": ".json"}
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern.pattern, RoutePattern):
                route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: samples.get(m.group(1) or "str", "x"), route)
            else:  # a regex route (the router's format suffixes)
                route = re.sub(r"\(\?P<format>[^)]*\)", "json", route)
                route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
                route = route.lstrip("^").rstrip("$").replace("/?", "").replace("\\.", ".")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern) and (prefix + route).startswith("api/"):
                found.append((pattern.name or route, "/" + prefix + route))

    walk(get_resolver().url_patterns, "")
    return found


@pytest.mark.parametrize("scopes", [[], ["alarms:launch"]])
def test_a_token_without_a_valid_scope_reaches_no_url_under_api(world, scopes):
    """Every URL under /api/ — the whole URLconf, not only api_patterns: the schema and docs too — refuses a
    token that has no valid scope, for reads and writes."""
    from doorstep.accounts.models import hash_token

    key = "ds_noscope-" + "x" * 30
    ApiToken.objects.create(
        user=world.director, name="无范围", prefix="noscope-", key_hash=hash_token(key), scopes=scopes
    )
    client = token_client(key)
    urls = _api_urls()
    names = {name for name, _path in urls}
    assert {"api-schema", "api-docs", "api-root", "person-list", "map-house-tile"} <= names, names

    opened = []
    refused = 0
    for name, path in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(path, {}, format="json")
            # 405: the view has no such method, for anyone (the signed device endpoint takes only POST)
            if response.status_code not in (401, 403, 405):
                opened.append((name, path, method, response.status_code))
            refused += response.status_code != 405
    assert opened == []
    assert refused >= 2 * len(urls) - 1  # only the device endpoint's GET answers 405


def test_the_schema_and_the_api_root_open_to_a_token_with_any_scope(world):
    _token, key = issue_token(world.director, name="地图", scopes=["maps:read"], by=world.director)
    client = token_client(key)

    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/v1/").status_code == 200


def test_unknown_or_no_scopes_are_refused_by_the_service(world):
    with pytest.raises(ServiceError, match="至少选择一项"):
        issue_token(world.director, name="x", scopes=[], by=world.director)
    with pytest.raises(ServiceError, match="未知的权限范围"):
        issue_token(world.director, name="x", scopes=["alarms:launch"], by=world.director)
    assert not ApiToken.objects.exists()


def test_the_form_needs_at_least_one_scope(world, client_for):
    response = client_for(world.director).post(ACCOUNT, {"name": "集成", "expires_on": ""})

    assert "请至少选择一项权限范围" in response.content.decode()
    assert not world.director.api_tokens.exists()


def test_the_form_issues_a_token_with_its_scopes_and_the_list_shows_them(world, client_for):
    client = client_for(world.director)
    page = client.get(ACCOUNT).content.decode()
    for scope in TokenScope:
        assert f'value="{scope.value}"' in page and str(scope.label) in page

    created = client.post(ACCOUNT, {"name": "指挥中心", "scopes": ["registry:read", "org:read"]})

    key = re.search(r'data-testid="new-token">([^<]+)</code>', created.content.decode()).group(1)
    token = ApiToken.objects.get(user=world.director)
    assert token.scopes == ["org:read", "registry:read"]
    html = client.get(ACCOUNT).content.decode()
    assert "registry:read" in html and "org:read" in html and "最近使用" in html and "过期" in html
    assert token_client(key).get("/api/v1/persons/").status_code == 200
    entry = AuditEntry.objects.get(action="accounts.issue_token", object_id=str(token.pk))
    assert entry.after["scopes"] == ["org:read", "registry:read"]
    assert key not in str(entry.after)


def test_a_token_from_the_form_expires_in_90_days_unless_told_and_at_most_in_365(world, client_for):
    import datetime as dt

    from django.utils import timezone

    client = client_for(world.director)
    today = timezone.localdate()
    assert f'value="{today + dt.timedelta(days=90):%Y-%m-%d}"' in client.get(ACCOUNT).content.decode()

    client.post(ACCOUNT, {"name": "默认", "expires_on": "", "scopes": ["org:read"]})
    token = ApiToken.objects.get(name="默认")
    assert timezone.localdate(token.expires_at) == today + dt.timedelta(days=90)

    too_long = client.post(
        ACCOUNT,
        {"name": "太长", "expires_on": f"{today + dt.timedelta(days=366):%Y-%m-%d}", "scopes": ["org:read"]},
    )
    assert "令牌有效期最长365天" in too_long.content.decode()
    assert not ApiToken.objects.filter(name="太长").exists()
    client.post(
        ACCOUNT,
        {"name": "一年", "expires_on": f"{today + dt.timedelta(days=365):%Y-%m-%d}", "scopes": ["org:read"]},
    )
    assert ApiToken.objects.filter(name="一年").exists()


def test_the_page_that_shows_a_new_key_is_not_cached(world, client_for):
    created = client_for(world.director).post(ACCOUNT, {"name": "指挥中心", "scopes": ["org:read"]})

    assert 'data-testid="new-token"' in created.content.decode()
    assert "no-store" in created["Cache-Control"]


def test_revoking_is_audited_and_ends_the_token(world, client_for):
    token, key = issue_token(world.director, name="大屏", scopes=["org:read"], by=world.director)

    client_for(world.director).post(reverse("accounts:revoke_token", args=[token.pk]))

    assert token_client(key).get("/api/v1/stations/").status_code == 401
    entry = AuditEntry.objects.get(action="accounts.revoke_token", object_id=str(token.pk))
    assert entry.actor_id == world.director.pk and entry.after["prefix"] == token.prefix
    revoke_token(token, by=world.director)  # twice: no second entry
    assert AuditEntry.objects.filter(action="accounts.revoke_token").count() == 1


def test_existing_tokens_keep_the_whole_api_after_the_migration():
    from importlib import import_module

    migration = import_module("doorstep.accounts.migrations.0003_two_factor_and_token_scopes")
    assert sorted(migration.EXISTING_TOKEN_SCOPES) == sorted(TokenScope.values)
