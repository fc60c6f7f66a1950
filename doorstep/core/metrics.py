"""Prometheus metrics: request latency and status classes (middleware), and domain gauges read from the
database at scrape time (alarm devices by status, unacknowledged alarms, alarm end-to-end latency, whether an
alarmd is active).

Labels are bounded on purpose: a request is labelled with its URL *route name* (`org:station_detail`),
never the raw path, so ids never multiply the series and no personal data (a phone, an ID number in a
query or path) can reach a label. Unresolved requests (404s, static files) share one label.

Multi-process: each uvicorn worker keeps its own request counters. With PROMETHEUS_MULTIPROC_DIR set (an
empty directory, wiped at every start, shared by the workers) prometheus_client writes them to files and
`/metrics` sums every worker's; without it a scrape shows the counters of whichever worker answered.
See docs/operations/monitoring.md.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from doorstep.core.logging import current_request
from doorstep.core.net import client_ip  # the project's one reading of X-Forwarded-For

logger = logging.getLogger(__name__)

DEFAULT_ALLOW = ("127.0.0.1", "::1")
UNMATCHED = "<unmatched>"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Seconds. Requests: a page is fast below 0.1 s; an alarm press over HTTP must be acknowledged well below 1 s.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Alarm end to end: press on the device to the alarm stored (and pushed to the consoles) by alarmd.
ALARM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
ALARM_WINDOW = timedelta(hours=1)

# The process's own metrics. In multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before this module is
# imported) prometheus_client stores their values in per-process files instead of memory.
REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "doorstep_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL route name.",
    ["method", "route"],
    buckets=REQUEST_BUCKETS,
    registry=REGISTRY,
)
RESPONSES = Counter(
    "doorstep_http_responses",
    "HTTP responses by status class (2xx, 3xx, 4xx, 5xx).",
    ["status_class"],
    registry=REGISTRY,
)


def route_label(request: HttpRequest) -> str:
    """The route name of the URL pattern that answered (`namespace:name`), or UNMATCHED.

    An unnamed pattern gives Django's view path (bounded too: one per view)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or UNMATCHED


def observe(request: HttpRequest, status: int, seconds: float) -> None:
    """Count one request. Never fails the request: a metrics problem (an unwritable multiprocess directory)
    is logged, the answer goes out."""
    try:
        method = request.method if request.method in METHODS else "other"
        REQUEST_LATENCY.labels(method=method, route=route_label(request)).observe(seconds)
        RESPONSES.labels(status_class=f"{status // 100}xx" if 100 <= status < 600 else "other").inc()
    except Exception:  # noqa: BLE001 (metrics must never break a request)
        logging.getLogger(__name__).exception("request metrics not recorded")


class RequestMetricsMiddleware:
    """Times every request and counts its status class; gives log records (JsonFormatter) the request id
    and route. Sync and async capable, so under ASGI it adds no
    thread hop. Place it right after WhiteNoiseMiddleware (static files are not counted)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        start = time.perf_counter()
        token = current_request.set((request_id(request), request))
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        observe(request, response.status_code, time.perf_counter() - start)
        return response

    async def _acall(self, request):
        start = time.perf_counter()
        token = current_request.set((request_id(request), request))
        try:
            response = await self.get_response(request)
        finally:
            current_request.reset(token)
        observe(request, response.status_code, time.perf_counter() - start)
        return response


def request_id(request: HttpRequest) -> str:
    """nginx's $request_id when it sends one (X-Request-ID, 8-64 safe characters), else a new random id."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if 8 <= len(given) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in given):
        return given
    return uuid.uuid4().hex


class DomainCollector:
    """Gauges read from the database at each scrape (a few aggregate queries, no rows fetched).

    The alarm latency histogram is computed over the alarms *received in the last hour* (drills included),
    from `received_at - pressed_at`: a sliding window, not a counter — query it without rate()."""

    failed = False  # set by each collect(): the database could not be read in this scrape

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "doorstep_domain_metrics_up", "1 if the domain gauges could be read from the database."
        )
        from doorstep.core import health

        # First a SELECT 1 bounded like /readyz's (2 s): with the database unreachable, the queries below
        # would each wait out the connection pool's timeout (10 s) and the scrape would outlive Prometheus'.
        reachable = health.run_checks({"database": health.check_database})["database"]
        if not reachable["ok"]:
            logger.warning("domain metrics: database unreachable (%s)", reachable["error"])
            self.failed = True
            up.add_metric([], 0)
            yield up
            return
        try:
            metrics = list(self._collect())
        except Exception:  # the database failed the queries: say so, keep the process metrics
            logger.warning("domain metrics: database read failed", exc_info=True)
            self.failed = True
            up.add_metric([], 0)
            yield up
            return
        self.failed = False
        yield from metrics
        up.add_metric([], 1)
        yield up

    def _collect(self) -> Iterator[Metric]:
        from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
        from django.utils import timezone

        from doorstep.alarms.choices import DeviceStatus
        from doorstep.alarms.models import Alarm, AlarmDevice

        devices = GaugeMetricFamily(
            "doorstep_alarm_devices",
            "Active alarm devices by status (online, offline = two heartbeats missed, unknown = never seen…).",
            labels=["status"],
        )
        counts = dict(
            AlarmDevice.objects.filter(active=True)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in DeviceStatus.values:
            devices.add_metric([status], counts.get(status, 0))
        yield devices

        unacknowledged = GaugeMetricFamily(
            "doorstep_alarms_unacknowledged", "Alarms nobody has acknowledged yet (and not closed)."
        )
        unacknowledged.add_metric(
            [], Alarm.objects.filter(acknowledged_at__isnull=True, closed_at__isnull=True).count()
        )
        yield unacknowledged

        since = timezone.now() - ALARM_WINDOW
        latency = ExpressionWrapper(F("received_at") - F("pressed_at"), output_field=DurationField())
        aggregates = {
            f"le{i}": Count("id", filter=Q(received_at__lte=F("pressed_at") + timedelta(seconds=bound)))
            for i, bound in enumerate(ALARM_BUCKETS)
        }
        row = Alarm.objects.filter(received_at__gte=since).aggregate(
            total=Count("id"), total_latency=Sum(latency), **aggregates
        )
        total_latency = row["total_latency"] or timedelta(0)
        histogram = HistogramMetricFamily(
            "doorstep_alarm_latency_last_hour_seconds",
            "Alarm end to end (device press to alarm stored by alarmd) of the alarms received in the last "
            "hour; computed at scrape time.",
        )
        buckets = [(_le(bound), row[f"le{i}"]) for i, bound in enumerate(ALARM_BUCKETS)]
        buckets.append(("+Inf", row["total"]))
        histogram.add_metric([], buckets, sum_value=max(total_latency.total_seconds(), 0.0))
        yield histogram
        yield from self._video()

    def _video(self) -> Iterator[Metric]:
        """The cameras by status, and how old the newest picture of any camera is: videod writes a camera's
        `last_frame_at` at least every 30 s while it reads it, so with cameras said to be online and this age
        growing, videod has stopped (or hangs) — the statuses it wrote last stay as they were."""
        from django.db.models import Count, Max
        from django.utils import timezone

        from doorstep.video.choices import CameraStatus
        from doorstep.video.models import Camera

        cameras = GaugeMetricFamily(
            "doorstep_cameras", "Enabled cameras by the status videod last wrote.", labels=["status"]
        )
        enabled = Camera.objects.filter(enabled=True)
        counts = dict(enabled.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        for status in CameraStatus.values:
            cameras.add_metric([status], counts.get(status, 0))
        yield cameras
        newest = enabled.aggregate(at=Max("last_frame_at"))["at"]
        if newest is not None:  # no sample before any camera was ever read
            age = GaugeMetricFamily(
                "doorstep_camera_newest_frame_age_seconds",
                "Seconds since the newest picture of any enabled camera (videod writes it at least every 30 s "
                "while a camera is online).",
            )
            age.add_metric([], max((timezone.now() - newest).total_seconds(), 0.0))
            yield age


class AlarmdCollector:
    """`doorstep_alarmd_active`: how many alarmd processes hold the alarmd lock of this database right now
    (alarms.leadership) — 1 is healthy, 0 means no receiver is running anywhere. Read at scrape time from the
    lock itself (PostgreSQL pg_locks; the lock file on SQLite), so it is the same in every web worker and
    counts a separate `doorstep alarmd` on another host as well.

    Not read when the domain gauges of the same scrape found the database unreachable: a second attempt
    would wait out the connection pool's timeout again (10 s each: the scrape outlived Prometheus' own
    timeout and even the process metrics were lost)."""

    def __init__(self, domain: DomainCollector | None = None) -> None:
        self.domain = domain

    def collect(self) -> Iterator[Metric]:
        from doorstep.alarms.leadership import lock_holders

        if self.domain is not None and self.domain.failed:
            return
        try:
            holders = lock_holders()
        except Exception:  # the database is down: no sample (doorstep_domain_metrics_up says why)
            logger.warning("alarmd lock state could not be read", exc_info=True)
            return
        gauge = GaugeMetricFamily(
            "doorstep_alarmd_active",
            "Processes holding the alarmd active/standby lock of this database (1 = one active alarmd, "
            "0 = no alarm receiver running anywhere).",
        )
        gauge.add_metric([], holders)
        yield gauge


def _le(bound: float) -> str:
    return repr(float(bound))


class _Chain:
    """Several collectors read as one registry, for generate_latest()."""

    def __init__(self, collectors: Iterable) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def scrape_sources() -> _Chain:
    """This process's registry, or every worker's files in multiprocess mode, plus the domain gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        process = multiprocess.MultiProcessCollector(None)
    else:
        process = REGISTRY
    domain = DomainCollector()
    return _Chain([process, domain, AlarmdCollector(domain)])


# --- access ---------------------------------------------------------------------------------------------


def address_allowed(address: str, allowed: Iterable[str]) -> bool:
    """Is the address in one of the allowed addresses or networks ("10.0.0.0/8")?"""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOW: %r is not an address or network", entry)
    return False


def token_matches(request: HttpRequest, token: str) -> bool:
    if not token:
        return False
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def may_scrape(request: HttpRequest) -> bool:
    """The bearer token, or an allowed client address. A request through a trusted proxy that names no valid
    client (no or a malformed X-Forwarded-For) is refused: the proxy's own address must not let the world in."""
    allowed = getattr(settings, "METRICS_ALLOW", DEFAULT_ALLOW)
    token = getattr(settings, "METRICS_TOKEN", "")
    if token_matches(request, token):
        return True
    peer = request.META.get("REMOTE_ADDR") or ""
    client = client_ip(request)
    if peer in getattr(settings, "TRUSTED_PROXIES", []) and client == peer:
        return False
    return address_allowed(client, allowed)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics — Prometheus text format. Anyone but an allowed address or the token holder: 404."""
    if not may_scrape(request):
        raise Http404
    return HttpResponse(generate_latest(scrape_sources()), content_type=CONTENT_TYPE_LATEST)
