"""The weekly audit review: week boundaries in local time, counts per section, links, permissions, download."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.http import HttpResponse, HttpResponseForbidden
from django.test import RequestFactory

from doorstep.accounts import services as accounts
from doorstep.audit import review
from doorstep.audit.middleware import DeniedAccessMiddleware
from doorstep.audit.models import AccessEntry, AuditEntry
from doorstep.audit.services import (
    record_access,
    record_change,
    record_denied,
    record_event,
    record_login_failure,
)

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
WEEK = "2026-W47"  # Monday 2026-11-16 .. Sunday 2026-11-22
MONDAY = dt.datetime(2026, 11, 16, 0, 0, 0, tzinfo=TZ)
IN_WEEK = dt.datetime(2026, 11, 18, 10, 0, tzinfo=TZ)


def at(when, fn, *args, **kwargs):
    with time_machine.travel(when, tick=False):
        return fn(*args, **kwargs)


@pytest.fixture
def week_rows(world):
    """One known set of rows inside the week, plus look-alikes just outside it."""
    w = world
    at(IN_WEEK, record_login_failure, "officer_a", user=w.officer_a)
    at(IN_WEEK, record_login_failure, "nobody")
    at(IN_WEEK, record_event, None, "accounts.lock", "accounts.user", object_id=w.officer_a.pk)
    at(IN_WEEK, record_denied, w.officer_b, "GET", "/audit/")
    at(
        IN_WEEK,
        record_access,
        w.officer_a,
        "reveal",
        "registry.person",
        [1],
        fields=["id_number"],
        purpose="核查",
    )
    at(
        IN_WEEK,
        record_access,
        w.officer_a,
        "reveal",
        "registry.person",
        [2],
        fields=["phone"],
        purpose="回访",
    )
    at(IN_WEEK, record_access, w.director, "export", "registry.person", [1, 2, 3], purpose="=HYPERLINK(1)")
    at(IN_WEEK, record_access, w.officer_a, "concern", "registry.personofconcern", [7])
    at(IN_WEEK, record_access, w.officer_a, "read", "registry.person", [1])  # a plain read: no section
    at(IN_WEEK, accounts.issue_token, w.officer_a, name="门禁", by=w.admin)
    at(IN_WEEK, record_change, w.director, "org.rename", w.grid_a)  # not a permission change
    # Boundaries: Monday 00:00 local is in, Sunday 23:59:59 local is in; one second outside on each side is not.
    at(MONDAY, record_denied, w.officer_b, "GET", "/a/")
    at(MONDAY + dt.timedelta(days=7) - dt.timedelta(seconds=1), record_denied, w.officer_b, "GET", "/b/")
    at(MONDAY - dt.timedelta(seconds=1), record_denied, w.officer_b, "GET", "/before/")
    at(MONDAY + dt.timedelta(days=7), record_denied, w.officer_b, "GET", "/after/")
    return w


def counts(week_text=WEEK):
    return {s.key: s.count for s in review.build(review.parse_week(week_text))}


def test_week_runs_monday_to_sunday_local_time():
    week = review.parse_week(WEEK)
    assert (week.monday, week.sunday) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert week.start == MONDAY
    assert week.end == dt.datetime(2026, 11, 23, tzinfo=TZ)
    assert week.start.astimezone(dt.UTC) == dt.datetime(
        2026, 11, 15, 16, 0, tzinfo=dt.UTC
    )  # not UTC midnight
    assert review.parse_week("2020-W53").monday == dt.date(2020, 12, 28)


@pytest.mark.parametrize(
    "text", ["", "2026-47", "2026-W60", "2025-W53", "２０２６-W47", "2026-W٤٧", "1999-W01"]
)
def test_bad_weeks_are_refused(text):
    with pytest.raises(ValueError):
        review.parse_week(text)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2026, 11, 23, 0, 30, tzinfo=TZ), "2026-W47"),  # Monday just after midnight local
        (dt.datetime(2026, 11, 22, 23, 59, tzinfo=TZ), "2026-W46"),  # Sunday night: W47 has not ended
        (dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC), "2026-W47"),  # = Monday 01:00 in Shanghai
        (dt.datetime(2027, 1, 4, 9, 0, tzinfo=TZ), "2026-W53"),
    ],
)
def test_default_is_the_last_full_week(now, expected):
    with time_machine.travel(now, tick=False):
        assert review.last_full_week().label == expected


def test_counts_per_section(week_rows):
    assert counts() == {
        "failed_logins": 3,
        "denied": 3,  # the in-week one and both boundary rows inside the week
        "reveals": 2,
        "exports": 1,
        "concern": 1,
        "permissions": 1,  # the token issued (the world's accounts were created today, not in W47)
        "retention": 0,
    }
    assert counts("2026-W46")["denied"] == 1
    assert counts("2026-W48")["denied"] == 1
    denied = [r.object_repr for r in review.build(review.parse_week(WEEK))[1].rows]
    assert denied == ["GET /a/", "GET /audit/", "GET /b/"]


def test_page_shows_counts_and_links_to_the_same_rows_in_the_log(week_rows, client_for):
    c = client_for(week_rows.leader)
    r = c.get(f"/audit/review/?week={WEEK}")
    assert r.status_code == 200
    sections = {s.key: s for s in r.context["sections"]}
    assert sections["reveals"].count == 2
    assert "回访" in r.content.decode()
    # rows in words: the action's label and the object type's name, not codes
    html = r.content.decode()
    assert "创建接口令牌" in html and "重点人员" in html and "registry.personofconcern" not in html
    for s in sections.values():  # the filtered audit log behind each link lists exactly the counted rows
        log = c.get(s.url)
        assert log.status_code == 200
        assert log.context["page"].paginator.count == s.count, s.key


def test_default_page_is_last_full_week(week_rows, client_for):
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 0, tzinfo=TZ), tick=False):
        r = client_for(week_rows.evaluator).get("/audit/review/")
    assert r.context["week"].label == WEEK
    assert {s.key: s.count for s in r.context["sections"]}["exports"] == 1


def test_bad_week_on_the_page_is_a_400_not_a_500(world, client_for):
    r = client_for(world.admin).get("/audit/review/?week=2026-W99")
    assert r.status_code == 400
    assert "没有第99周" in r.content.decode()


@pytest.mark.parametrize("who", ["officer_a", "auxiliary_a", "director", "dispatcher", "patrol"])
def test_other_roles_get_404_like_the_audit_log(world, client_for, who):
    c = client_for(getattr(world, who))
    assert c.get("/audit/").status_code == 404
    assert c.get("/audit/review/").status_code == 404
    assert c.get(f"/audit/review/export/?week={WEEK}").status_code == 404
    assert not AccessEntry.objects.filter(object_type="audit.review").exists()


def test_anonymous_is_sent_to_login(client_for):
    r = client_for(None).get("/audit/review/")
    assert r.status_code == 302
    assert "/login" in r["Location"] or "login" in r["Location"]


@pytest.mark.parametrize("who", ["leader", "evaluator", "admin"])
def test_auditor_roles_may_open_it(world, client_for, who):
    assert client_for(getattr(world, who)).get("/audit/review/").status_code == 200


def test_excel_download_is_audited_as_an_export(week_rows, client_for):
    from openpyxl import load_workbook

    r = client_for(week_rows.leader).get(f"/audit/review/export/?week={WEEK}&fmt=xlsx")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    summary = {row[0]: row[1] for row in wb["汇总"].iter_rows(values_only=True)}
    assert summary["显示完整个人信息"] == 2
    detail = list(wb["明细"].iter_rows(values_only=True))
    assert (
        len(detail) == 1 + 11
    )  # header + 3 failed logins, 3 denied, 2 reveals, 1 export, 1 concern, 1 token
    entry = AccessEntry.objects.get(object_type="audit.review")
    assert entry.kind == "export"
    assert entry.actor_id == week_rows.leader.pk
    assert entry.object_ids == [WEEK]


def test_csv_download_is_audited_and_neutralises_formulas(week_rows, client_for):
    at(IN_WEEK, record_event, None, "accounts.set_role", "accounts.user", actor_name="=HYPERLINK(1)")
    r = client_for(week_rows.admin).get(f"/audit/review/export/?week={WEEK}&fmt=csv")
    assert r.status_code == 200
    text = r.content.decode("utf-8-sig")
    assert "创建接口令牌" in text  # the action by its label
    assert "accounts.set_role" in text  # any accounts.* action counts as a permission change
    assert "'=HYPERLINK(1)" in text
    assert ",=HYPERLINK" not in text
    assert AccessEntry.objects.filter(object_type="audit.review", actor_id=week_rows.admin.pk).count() == 1


@pytest.mark.parametrize("query", ["week=2026-W47&fmt=pdf", "week=junk&fmt=csv"])
def test_bad_download_requests_are_400_and_not_audited(world, client_for, query):
    r = client_for(world.admin).get(f"/audit/review/export/?{query}")
    assert r.status_code == 400
    assert not AccessEntry.objects.filter(object_type="audit.review").exists()


def test_command_prints_the_same_summary(week_rows, capsys):
    call_command("audit_review", "--week", WEEK)
    out = capsys.readouterr().out
    assert "审计周报 2026-W47（2026-11-16 至 2026-11-22）" in out
    assert "登录失败与锁定：3" in out
    assert "越权访问（被拒绝）：3" in out
    assert "数据导出：1" in out
    assert "创建接口令牌" in out and "accounts.issue_token" not in out  # the label, not the code


def test_command_refuses_a_bad_week():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--week"):
        call_command("audit_review", "--week", "2026-W00")


def test_failed_login_of_an_unknown_name_does_not_store_the_typed_text(db):
    row = record_login_failure("my-secret-password")
    assert "my-secret-password" not in str(row.after) + row.object_repr + row.note
    assert row.action == "accounts.login_failed"


def test_denied_access_middleware_records_403_only_once_per_burst(world):
    from django.core.cache import cache

    cache.clear()
    from django.contrib.auth.models import AnonymousUser
    from django.urls import resolve

    factory = RequestFactory()

    def req(path, user, method="get"):
        request = getattr(factory, method)(path)
        request.user = user
        request.resolver_match = resolve(path.split("?")[0])
        return request

    request = req("/registry/persons/5/?q=13800138000", world.officer_b)
    forbidden = DeniedAccessMiddleware(lambda r: HttpResponseForbidden())
    forbidden(request)
    forbidden(request)  # the same refusal again within a minute: not recorded twice
    forbidden(req("/registry/persons/6/", world.officer_b))  # the same route, another id: not either
    DeniedAccessMiddleware(lambda r: HttpResponse())(request)
    rows = list(AuditEntry.objects.filter(action="security.denied"))
    assert len(rows) == 1
    route = resolve("/registry/persons/5/").view_name
    assert (
        rows[0].object_repr == f"GET {route}"
    )  # the route's name: never the path a caller chose, nor a query
    assert rows[0].actor_id == world.officer_b.pk
    forbidden(req("/registry/houses/5/", world.officer_b))  # another route
    assert AuditEntry.objects.filter(action="security.denied").count() == 2
    # Anonymous callers (a CSRF refusal needs no account): one entry a minute per address, whatever the route.
    for path in ("/org/stations/1/", "/org/stations/2/", "/registry/persons/7/", "/desk/"):
        forbidden(req(path, AnonymousUser(), method="post"))
    assert AuditEntry.objects.filter(action="security.denied").count() == 3
    cache.clear()


def _forbidden_view(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied("不允许")


def _urlpatterns():
    from django.urls import path

    from doorstep.urls import urlpatterns as site

    return [path("forbidden/", _forbidden_view), *site]  # the site's routes too: the 403 page links to them


urlpatterns = _urlpatterns()


def test_denied_access_middleware_wired_after_authentication_sees_user_and_ip(world, client_for, settings):
    """Wired as the lead will wire it: a PermissionDenied raised in a view arrives as a 403 with the user."""
    from django.core.cache import cache

    cache.clear()
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "doorstep.audit.middleware.DeniedAccessMiddleware"]
    settings.ROOT_URLCONF = __name__
    assert client_for(world.officer_a).get("/forbidden/?phone=13800138000").status_code == 403
    row = AuditEntry.objects.get(action="security.denied")
    assert (row.actor_id, row.ip, row.channel) == (world.officer_a.pk, "127.0.0.1", "web")
    assert row.object_repr.startswith("GET ") and "_forbidden_view" in row.object_repr
    assert "13800138000" not in row.object_repr
    assert review.SECTION_BY_KEY["denied"].query is not None
    cache.clear()


@pytest.mark.parametrize("week", ["9999-W52", "1999-W10", "2026-W01\n"])
def test_weeks_out_of_range_are_a_400_not_a_500(world, client_for, week):
    client = client_for(world.admin)
    assert client.get("/audit/review/", {"week": week}).status_code == 400
    assert client.get("/audit/review/export/", {"week": week, "fmt": "csv"}).status_code == 400
