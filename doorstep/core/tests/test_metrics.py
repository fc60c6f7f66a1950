"""/metrics: Prometheus text with request metrics labelled by route name (never the raw path), domain gauges
read from the database, and access limited to allowed addresses or the bearer token (else 404)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from doorstep.alarms.choices import AlarmState, DeviceStatus, EventType, Protocol
from doorstep.alarms.models import Alarm, AlarmDevice
from doorstep.alarms.tests.test_stats import key_device
from doorstep.core import metrics

MIDDLEWARE_LINE = "doorstep.core.metrics.RequestMetricsMiddleware"
TOKEN = "s3cret-scrape-token-0123456789"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _metrics_middleware(settings):
    """Until the lead adds the middleware to settings.MIDDLEWARE (see the report), add it here."""
    if MIDDLEWARE_LINE not in settings.MIDDLEWARE:
        mw = list(settings.MIDDLEWARE)
        mw.insert(mw.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, MIDDLEWARE_LINE)
        settings.MIDDLEWARE = mw


def scrape(client: Client | None = None, **extra) -> dict[str, dict]:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family for family in families}


def samples(family, name: str | None = None) -> list:
    return [s for s in family.samples if name is None or s.name == name]


def test_metrics_from_localhost_has_the_expected_names():
    families = scrape(REMOTE_ADDR="127.0.0.1")
    for name in (
        "doorstep_http_request_duration_seconds",
        "doorstep_http_responses",
        "doorstep_alarm_devices",
        "doorstep_alarms_unacknowledged",
        "doorstep_alarm_latency_last_hour_seconds",
        "doorstep_domain_metrics_up",
    ):
        assert name in families, name
    assert samples(families["doorstep_domain_metrics_up"])[0].value == 1


def test_ipv6_localhost_is_allowed_by_default():
    assert Client().get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_other_address_without_token_gets_404():
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
def test_token_opens_metrics_from_any_address():
    client = Client()
    assert (
        client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code
        == 200
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    )
    assert (
        client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 404
    )


@override_settings(METRICS_TOKEN="")
def test_empty_token_setting_never_matches():
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@override_settings(METRICS_ALLOW=["10.9.0.0/16"])
def test_allow_list_takes_networks_and_replaces_the_default():
    assert Client().get("/metrics", REMOTE_ADDR="10.9.4.5").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_behind_a_trusted_proxy_the_forwarded_client_counts():
    """nginx on the same host: its own address must not open /metrics to the world."""
    client = Client()
    assert (
        client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 404
    )


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
@pytest.mark.parametrize("forwarded", [None, "1.2.3.4:5555", "[2001:db8::1]:443", "unknown", "127.0.0.1"])
def test_through_the_proxy_without_a_valid_client_address_is_refused(forwarded):
    """The proxy's own (allowed) address must not stand in for a client it failed to name."""
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **extra).status_code == 404


def test_a_metrics_failure_never_fails_the_request(monkeypatch, db):
    def broken(*args, **kwargs):
        raise FileNotFoundError("histogram_1.db")

    monkeypatch.setattr(metrics.REQUEST_LATENCY, "labels", broken)
    assert Client().get("/accounts/login/").status_code == 200


def _route_samples(families, route_prefix="org:"):
    family = families["doorstep_http_request_duration_seconds"]
    return {s.labels["route"] for s in samples(family, "doorstep_http_request_duration_seconds_count")}


def test_route_label_is_the_route_name_not_the_path(world, client_for):
    client = client_for(world.director)
    assert client.get(f"/org/stations/{world.s1.pk}/").status_code == 200
    client.get(f"/org/stations/{world.s2.pk}/")  # another id (404 or 200: the route is the same)
    client.get("/no/such/page/4401021990010112345/")
    routes = _route_samples(scrape(REMOTE_ADDR="127.0.0.1"))
    assert "org:station_detail" in routes
    assert metrics.UNMATCHED in routes
    assert not any("/" in route or str(world.s1.pk) in route or "4401" in route for route in routes), routes


def test_request_count_and_status_class_increase(world, client_for):
    def counts():
        families = scrape(REMOTE_ADDR="127.0.0.1")
        by_route = {
            s.labels["route"]: s.value
            for s in samples(families["doorstep_http_request_duration_seconds"])
            if s.name.endswith("_count") and s.labels["method"] == "GET"
        }
        by_class = {
            s.labels["status_class"]: s.value
            for s in samples(families["doorstep_http_responses"], "doorstep_http_responses_total")
        }
        return by_route, by_class

    client = client_for(world.director)
    routes_before, classes_before = counts()
    client.get(f"/org/stations/{world.s1.pk}/")
    client.get(f"/org/stations/{world.s1.pk}/")
    Client().get("/no/such/page/")
    routes_after, classes_after = counts()
    assert routes_after["org:station_detail"] - routes_before.get("org:station_detail", 0) == 2
    # + the first scrape itself (2xx)
    assert classes_after["2xx"] - classes_before.get("2xx", 0) == 3
    assert classes_after["4xx"] - classes_before.get("4xx", 0) == 1


def test_domain_gauges_count_devices_alarms_and_latency(world):
    online = key_device(world.grid_a, "城东银行", "BTN-M1", world.director)
    offline = key_device(world.grid_a, "城东商场", "BTN-M2", world.director)
    retired = key_device(world.grid_a, "城东旧店", "BTN-M3", world.director)
    AlarmDevice.objects.filter(pk=online.pk).update(status=DeviceStatus.ONLINE)
    AlarmDevice.objects.filter(pk__in=[offline.pk, retired.pk]).update(status=DeviceStatus.OFFLINE)
    AlarmDevice.objects.filter(pk=retired.pk).update(active=False)  # not counted
    now = timezone.now()

    def alarm(n, latency_s, *, ago_s=60, ack=False, closed=False):
        received = now - dt.timedelta(seconds=ago_s)
        Alarm.objects.create(
            device=online, unit_id=online.unit_id, grid_id=online.grid_id, station_id=online.station_id,
            event_id=f"m-{n}", event_type=EventType.PANIC, protocol=Protocol.HTTP,
            pressed_at=received - dt.timedelta(seconds=latency_s), received_at=received,
            state=AlarmState.ACKNOWLEDGED if ack else (AlarmState.CLOSED if closed else AlarmState.RECEIVED),
            acknowledged_at=received if ack else None, closed_at=received if closed else None,
        )  # fmt: skip

    alarm(1, 0.2)  # unacknowledged
    alarm(2, 0.8, ack=True)
    alarm(3, 4.0, closed=True)  # closed without acknowledgement (e.g. a drill): not waiting
    alarm(4, 0.3, ago_s=2 * 3600)  # unacknowledged, outside the latency window

    families = scrape(REMOTE_ADDR="127.0.0.1")
    devices = {s.labels["status"]: s.value for s in samples(families["doorstep_alarm_devices"])}
    assert devices["online"] == 1 and devices["offline"] == 1 and devices["unknown"] == 0
    assert set(devices) == set(DeviceStatus.values)
    assert samples(families["doorstep_alarms_unacknowledged"])[0].value == 2

    latency = families["doorstep_alarm_latency_last_hour_seconds"]
    buckets = {
        s.labels["le"]: s.value for s in samples(latency, "doorstep_alarm_latency_last_hour_seconds_bucket")
    }
    assert buckets["0.25"] == 1 and buckets["0.5"] == 1 and buckets["1.0"] == 2 and buckets["5.0"] == 3
    assert buckets["+Inf"] == 3
    assert samples(latency, "doorstep_alarm_latency_last_hour_seconds_count")[0].value == 3
    assert samples(latency, "doorstep_alarm_latency_last_hour_seconds_sum")[0].value == pytest.approx(
        5.0, abs=0.01
    )


def test_database_failure_keeps_metrics_up_and_says_so(monkeypatch):
    def broken(self):
        raise RuntimeError("database is down")

    holders = []
    monkeypatch.setattr(metrics.DomainCollector, "_collect", broken)
    monkeypatch.setattr("doorstep.alarms.leadership.lock_holders", lambda: holders.append(1) or 1)
    families = scrape(REMOTE_ADDR="127.0.0.1")
    assert samples(families["doorstep_domain_metrics_up"])[0].value == 0
    assert "doorstep_http_responses" in families
    # the database is not tried a second time in the same scrape (each try waits out the pool's timeout)
    assert holders == [] and "doorstep_alarmd_active" not in families


def test_an_unreachable_database_is_found_in_one_bounded_check_and_not_queried(monkeypatch):
    from doorstep.core import health

    def down():
        raise OSError("connection refused")

    queried = []
    monkeypatch.setattr(health, "check_database", down)
    monkeypatch.setattr(metrics.DomainCollector, "_collect", lambda self: queried.append(1) or iter(()))
    monkeypatch.setattr("doorstep.alarms.leadership.lock_holders", lambda: queried.append(2) or 1)
    families = scrape(REMOTE_ADDR="127.0.0.1")
    assert samples(families["doorstep_domain_metrics_up"])[0].value == 0
    assert "doorstep_http_responses" in families and queried == []


def test_the_alarmd_gauge_is_read_when_the_database_answers(monkeypatch):
    monkeypatch.setattr("doorstep.alarms.leadership.lock_holders", lambda: 1)
    families = scrape(REMOTE_ADDR="127.0.0.1")
    assert samples(families["doorstep_domain_metrics_up"])[0].value == 1
    assert samples(families["doorstep_alarmd_active"])[0].value == 1


def test_middleware_is_async_capable():
    async def view(request):
        raise AssertionError("not called")

    middleware = metrics.RequestMetricsMiddleware(view)
    from asgiref.sync import iscoroutinefunction

    assert iscoroutinefunction(middleware)


# --- structured JSON logs ------------------------------------------------------------------------------
def _json_handler():
    import io
    import logging

    from doorstep.core.logging import JsonFormatter, MaskPersonalDataFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskPersonalDataFilter())
    return stream, handler


def test_json_log_line_is_valid_json_and_masks_personal_data():
    import json
    import logging

    stream, handler = _json_handler()
    logger = logging.getLogger("doorstep.test.jsonlog")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("查询 %s 手机 %s", "350503199001011234", "13812345678")
        try:
            raise ValueError("bad id 35050319900101123X")
        except ValueError:
            logger.exception("failed for 13900001111")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "doorstep.test.jsonlog"
    assert first["time"].endswith("+00:00")
    assert "350503199001011234" not in first["message"] and "13812345678" not in first["message"]
    assert "3505" in first["message"] and "5678" in first["message"]  # masked, not dropped
    assert "request_id" not in first  # outside a request
    assert "13900001111" not in second["message"] and "ValueError" in second["exc"]
    assert "35050319900101123X" not in second["exc"]


def test_json_log_inside_a_request_has_request_id_and_route():
    import json
    import logging

    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    stream, handler = _json_handler()
    logger = logging.getLogger("doorstep.test.jsonlog.request")
    logger.addHandler(handler)

    def view_stack(request):
        request.resolver_match = resolve("/org/stations/7/")  # what Django's handler does
        logger.warning("viewing station")
        return HttpResponse("ok")

    middleware = metrics.RequestMetricsMiddleware(view_stack)
    try:
        middleware(RequestFactory().get("/org/stations/7/", HTTP_X_REQUEST_ID="req-abc-12345"))
        middleware(RequestFactory().get("/org/stations/7/", HTTP_X_REQUEST_ID="bad id with spaces"))
        logger.warning("after the request")
    finally:
        logger.removeHandler(handler)
    first, second, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-abc-12345" and first["route"] == "org:station_detail"
    assert len(second["request_id"]) == 32 and second["request_id"] != first["request_id"]  # a new id
    assert "request_id" not in after and "route" not in after


MULTIPROC_SCRIPT = """
import os, sys
import django
django.setup()
from django.http import HttpResponse
from django.test import RequestFactory
from prometheus_client.exposition import generate_latest
from doorstep.core import metrics
if sys.argv[1] == "request":
    metrics.RequestMetricsMiddleware(lambda r: HttpResponse("x"))(RequestFactory().get("/x"))
else:
    sys.stdout.write(generate_latest(metrics._Chain([metrics.scrape_sources().collectors[0]])).decode())
"""


def test_multiprocess_mode_sums_every_workers_counters(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: two "workers" answer a request each; a third process's scrape sees both."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "doorstep.settings",
        "DOORSTEP_ENV": "test",
    }
    for _ in range(2):
        subprocess.run([sys.executable, "-c", MULTIPROC_SCRIPT, "request"], env=env, check=True, timeout=60)
    out = subprocess.run(
        [sys.executable, "-c", MULTIPROC_SCRIPT, "scrape"],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    ).stdout.decode()
    families = {f.name: f for f in text_string_to_metric_families(out)}
    total = {
        s.labels["status_class"]: s.value
        for s in samples(families["doorstep_http_responses"], "doorstep_http_responses_total")
    }
    assert total["2xx"] == 2


def test_cameras_by_status_and_the_age_of_the_newest_picture(world):
    from doorstep.video.choices import CameraStatus
    from doorstep.video.models import Camera
    from doorstep.video.tests.conftest import build_video

    video = build_video(world)
    families = scrape(REMOTE_ADDR="127.0.0.1")
    by_status = {s.labels["status"]: s.value for s in samples(families["doorstep_cameras"])}
    assert by_status[CameraStatus.UNKNOWN] == 3 and by_status[CameraStatus.ONLINE] == 0
    assert "doorstep_camera_newest_frame_age_seconds" not in families  # no camera read yet

    now = timezone.now()
    # test set-up: the state videod leaves (two cameras read, the newest picture 95 s old; one disabled)
    Camera.objects.filter(pk=video.cam_a.pk).update(
        status=CameraStatus.ONLINE, last_frame_at=now - dt.timedelta(seconds=95)
    )
    Camera.objects.filter(pk=video.cam_b.pk).update(
        status=CameraStatus.ONLINE, last_frame_at=now - dt.timedelta(seconds=300)
    )
    Camera.objects.filter(pk=video.cam_d.pk).update(enabled=False, last_frame_at=now)
    families = scrape(REMOTE_ADDR="127.0.0.1")
    by_status = {s.labels["status"]: s.value for s in samples(families["doorstep_cameras"])}
    assert by_status[CameraStatus.ONLINE] == 2 and by_status[CameraStatus.UNKNOWN] == 0
    age = samples(families["doorstep_camera_newest_frame_age_seconds"])[0].value
    assert 95 <= age < 120  # the newest picture of an enabled camera (not the disabled one's)
