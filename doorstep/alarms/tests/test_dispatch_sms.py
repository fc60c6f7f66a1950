"""The dispatch text message (派警短信, ADR 0024): after the commit of every dispatch and re-dispatch, on a
worker thread, to the officer's work phone through `core.sms` — the memory gateway, and the HTTP gateway
against a real local HTTP server (accepting, failing with 500, and answering slowly).

These tests commit (transactional_db): the worker thread has its own database connection and must see the
dispatch and write its audit entry for real.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from doorstep.alarms import notify, realtime, services
from doorstep.alarms.choices import AlarmState
from doorstep.alarms.models import Alarm
from doorstep.alarms.tests import test_dispatch as dispatch_tests
from doorstep.alarms.tests.test_dispatch import key_unit, provision, raise_alarm
from doorstep.audit.models import AuditEntry
from doorstep.conftest import build_world
from doorstep.core import sms
from doorstep.org.models import Staff

button = dispatch_tests.button  # for the one test without transactional_db
OFFICER_PHONE = "13800001111"  # every staff member's work phone in the test world (conftest.make_staff)
MASKED = "138****1111"


@pytest.fixture
def live(transactional_db, settings):
    """The world, committed, with a button at 西福小学 in grid A (officer_a's grid) of station S1; texts go to
    the memory gateway (`sms.outbox`)."""
    settings.SMS_GATEWAY = "memory"
    world = build_world()
    button = provision(key_unit(world.grid_a, "西福小学"), "BTN-SMS-1", world.director)
    sms.outbox.clear()
    yield world, button
    notify.wait()
    sms.outbox.clear()


def outcomes(alarm) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="alarms.alarm", object_id=str(alarm.pk), action__startswith="alarms.dispatch_sms"
        ).order_by("id")
    )


class Gateway:
    """A real HTTP server on 127.0.0.1 standing in for the carrier's SMS platform."""

    def __init__(self, status: int | list[int] = 200, hold: float = 0.0) -> None:
        self.statuses = (
            list(status) if isinstance(status, list) else [status]
        )  # one per request; last repeats
        self.hold = hold
        self.requests: list[dict] = []
        self.release = threading.Event()  # a held answer goes out when set (or after `hold` seconds)
        self.answered = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {"body": json.loads(body), "auth": self.headers.get("Authorization"), "path": self.path}
                )
                if gateway.hold:
                    gateway.release.wait(gateway.hold)
                status = gateway.statuses[min(len(gateway.requests), len(gateway.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                gateway.answered.set()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    made: list[Gateway] = []

    def make(**kwargs) -> Gateway:
        g = Gateway(**kwargs)
        made.append(g)
        settings.SMS_GATEWAY, settings.SMS_URL, settings.SMS_TOKEN = "http", g.url, "t0ken"
        return g

    yield make
    notify.wait()
    for g in made:
        g.close()


# --- memory gateway --------------------------------------------------------------------------------------------
def test_every_dispatch_texts_the_officers_work_phone_without_resident_data(live):
    world, button = live
    alarm = raise_alarm(button)

    services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    (message,) = sms.outbox
    unit = Alarm.objects.select_related("unit__address").get(pk=alarm.pk).unit
    assert message.phone == OFFICER_PHONE
    assert message.text == (
        f"【家门口派出所】派警：西福小学（{unit.address.full_text}）一键报警，请立即出警并在手机工作台确认接警。"
    )
    assert "陈保安" not in message.text and "13900001111" not in message.text  # the unit's contact
    (entry,) = outcomes(alarm)
    assert entry.action == "alarms.dispatch_sms" and entry.after == {
        "officer": world.officer_a.pk,
        "phone": MASKED,
    }
    assert OFFICER_PHONE not in json.dumps(entry.after) + entry.note + entry.object_repr


def test_the_text_goes_out_even_when_the_live_path_fails(live, monkeypatch):
    """The text is the officer's fallback: a channel layer that is down (Redis gone) must not stop it."""
    world, button = live

    def down(*args, **kwargs):
        raise ConnectionError("channel layer down")

    alarm = raise_alarm(button)
    monkeypatch.setattr(services.realtime, "publish_to_station", down)
    with pytest.raises(ConnectionError):
        services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.DISPATCHED  # committed before the publish
    assert [m.phone for m in sms.outbox] == [OFFICER_PHONE]


def test_a_dispatch_committed_while_the_channel_layer_is_down_is_answered_as_done(live, monkeypatch, caplog):
    """Redis down: the dispatch is stored and the text goes out; the dispatcher is not shown a failure for what
    was saved (the consoles find it when they reconnect), and the log says what was not pushed."""
    world, button = live

    class Down:
        async def group_send(self, group, message):
            raise ConnectionError("Redis down")

    alarm = raise_alarm(button)
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: Down())
    with caplog.at_level("ERROR", logger="doorstep.alarms"):
        dispatched = services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    assert dispatched.state == AlarmState.DISPATCHED
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.DISPATCHED
    assert [m.phone for m in sms.outbox] == [OFFICER_PHONE]
    assert any("实时推送失败" in r.getMessage() for r in caplog.records)


def test_a_redispatch_texts_the_new_officer_and_the_same_officer_again_nothing(live):
    world, button = live
    alarm = services.dispatch(raise_alarm(button), by=world.dispatcher)
    Staff.objects.filter(pk=world.auxiliary_a.staff_id).update(phone="13700002222")

    notify.wait()
    services.dispatch(alarm, officer=world.auxiliary_a, by=world.dispatcher)
    services.dispatch(alarm, officer=world.auxiliary_a, by=world.dispatcher)  # the same person: no change
    notify.wait()

    assert [m.phone for m in sms.outbox] == [OFFICER_PHONE, "13700002222"]
    assert [e.action for e in outcomes(alarm)] == ["alarms.dispatch_sms"] * 2


def test_an_officer_without_a_work_phone_is_recorded_and_the_console_says_so(live, client_for):
    world, button = live
    Staff.objects.filter(pk=world.officer_a.staff_id).update(phone="")
    alarm = raise_alarm(button)

    services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    assert sms.outbox == []
    (entry,) = outcomes(alarm)
    assert entry.action == "alarms.dispatch_sms_failed" and "没有登记工作电话" in entry.note
    assert services.console_payload(alarm)["sms_failed"] is True
    state = client_for(world.dispatcher).get("/alarms/console/", HTTP_ACCEPT="application/json").json()
    assert [a["sms_failed"] for a in state["alarms"] if a["id"] == alarm.pk] == [True]


def test_nothing_is_sent_when_the_dispatch_rolls_back(live):
    from django.db import transaction

    world, button = live
    alarm = raise_alarm(button)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.dispatch(alarm, by=world.dispatcher)
        raise RuntimeError("rolled back")
    notify.wait()
    assert sms.outbox == [] and outcomes(alarm) == []


# --- HTTP gateway ----------------------------------------------------------------------------------------------
def test_the_http_gateway_receives_the_json(live, gateway):
    world, button = live
    g = gateway()
    alarm = raise_alarm(button)

    services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    (request,) = g.requests
    assert request["path"] == "/send" and request["auth"] == "Bearer t0ken"
    assert request["body"]["phone"] == OFFICER_PHONE and "西福小学" in request["body"]["text"]
    assert [e.action for e in outcomes(alarm)] == ["alarms.dispatch_sms"]


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(notify, "RETRY_DELAYS", (0.05, 0.05))


def test_a_gateway_answering_500_is_a_recorded_failure_and_the_dispatch_stands(
    live, gateway, caplog, quick_retries
):
    world, button = live
    g = gateway(status=500)
    alarm = raise_alarm(button)

    with caplog.at_level(logging.INFO):
        services.dispatch(alarm, by=world.dispatcher)
        notify.wait()

    assert len(g.requests) == notify.SEND_ATTEMPTS == 3  # a gateway that is away is asked again, twice
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.DISPATCHED
    (entry,) = outcomes(alarm)
    assert entry.action == "alarms.dispatch_sms_failed" and "500" in entry.note and "已试 3 次" in entry.note
    assert entry.after["phone"] == MASKED
    assert "not delivered" in caplog.text and OFFICER_PHONE not in caplog.text


def test_a_gateway_busy_for_a_moment_gets_the_text_on_a_later_attempt(live, gateway, caplog, quick_retries):
    world, button = live
    g = gateway(status=[503, 429, 200])
    alarm = raise_alarm(button)

    with caplog.at_level(logging.WARNING):
        services.dispatch(alarm, by=world.dispatcher)
        notify.wait()

    assert len(g.requests) == 3 and all(r["body"]["phone"] == OFFICER_PHONE for r in g.requests)
    assert [e.action for e in outcomes(alarm)] == ["alarms.dispatch_sms"]  # delivered: no failure recorded
    assert "attempt 1 of 3" in caplog.text and "attempt 2 of 3" in caplog.text
    assert OFFICER_PHONE not in caplog.text


def test_a_message_the_gateway_refuses_is_not_sent_again(live, gateway, quick_retries):
    world, button = live
    g = gateway(status=400)  # the message itself is refused: another try would be refused as well
    alarm = raise_alarm(button)

    services.dispatch(alarm, by=world.dispatcher)
    notify.wait()

    assert len(g.requests) == 1
    (entry,) = outcomes(alarm)
    assert entry.action == "alarms.dispatch_sms_failed" and "400" in entry.note and "已试" not in entry.note


def test_the_dispatch_request_does_not_wait_for_a_slow_gateway(live, gateway, client_for):
    world, button = live
    g = gateway(hold=3.0)  # answers after 3 s (or when the test releases it)
    alarm = raise_alarm(button)

    response = client_for(world.dispatcher).post(
        f"/alarms/{alarm.pk}/dispatch/", HTTP_ACCEPT="application/json"
    )

    # The dispatcher has the answer while the gateway is still holding its own.
    assert response.status_code == 200 and response.json()["state"] == "dispatched"
    assert not g.answered.is_set()
    assert outcomes(alarm) == []
    g.release.set()
    notify.wait()
    assert g.answered.wait(5) and len(g.requests) == 1  # set by the gateway just after its answer went out
    assert [e.action for e in outcomes(alarm)] == ["alarms.dispatch_sms"]


def test_inside_an_outer_transaction_the_text_is_sent_inline(
    button, world, settings, django_capture_on_commit_callbacks
):
    """A test wrapped in a transaction (the `db` fixture) running the commit callbacks: a thread could not
    see the dispatch, and its audit row would outlive the test's rollback; the text goes out inline."""
    settings.SMS_GATEWAY = "memory"
    sms.outbox.clear()
    alarm = raise_alarm(button)

    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch(alarm, by=world.dispatcher)

    assert [m.phone for m in sms.outbox] == [OFFICER_PHONE]
    assert [e.action for e in outcomes(alarm)] == ["alarms.dispatch_sms"]
    sms.outbox.clear()
