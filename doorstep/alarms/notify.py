"""The dispatch text message (派警短信, ADR 0024): every dispatch, and every re-dispatch to a new officer, also
goes to the officer's work phone (`Staff.phone`, 工作电话) through `core.sms`, so an officer whose workspace
is closed is still reached.

It is sent after the commit, on a worker thread: an HTTP gateway that answers slowly (or not at all until
its timeout) must never hold up the dispatcher's request. A gateway that is busy or away is asked again
twice (after 2 s, then 5 s) before the text counts as not delivered. The text names the unit and its address, never a
resident. The outcome is written to the change log of the alarm — `alarms.dispatch_sms` when the gateway
took it, `alarms.dispatch_sms_failed` when it did not or the officer has no work phone — with the phone
masked; the log never holds a full phone number either.

Tests wait for the worker threads with `wait()`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, connections
from django.utils import translation
from django.utils.translation import gettext as _

from doorstep.audit.services import record_event
from doorstep.core import sms
from doorstep.core.masking import mask_phone, mask_text
from doorstep.org.models import Staff

log = logging.getLogger("doorstep.alarms.notify")

SENT = "alarms.dispatch_sms"
FAILED = "alarms.dispatch_sms_failed"

_lock = threading.Lock()
_threads: list[threading.Thread] = []  # started and not yet waited for (only `wait` reads it)


@dataclass(frozen=True)
class Notice:
    """What the worker needs, read inside the dispatch's transaction (the thread reads no domain rows)."""

    alarm_id: int
    station_id: int
    officer_id: int
    officer: str
    phone: str
    text: str


def dispatch_text(unit_name: str, address: str) -> str:
    """The message, in the site's language whatever the dispatcher's page is in."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "【家门口派出所】派警：%(unit)s（%(address)s）一键报警，请立即出警并在手机工作台确认接警。"
        ) % {
            "unit": unit_name,
            "address": address,
        }


def notice_for(alarm: Any) -> Notice:
    """Read inside the dispatch's transaction what the text to the dispatched officer needs; the caller
    hands it to `start` after the commit."""
    officer = alarm.dispatched_to
    # The work phone as it is now (not as a user object loaded earlier remembers it).
    staff = (
        Staff.objects.filter(pk=officer.staff_id).only("name", "phone").first() if officer.staff_id else None
    )
    unit = alarm.unit
    return Notice(
        alarm_id=alarm.pk,
        station_id=alarm.station_id,
        officer_id=officer.pk,
        officer=str(staff.name if staff is not None else officer),
        phone=(staff.phone or "").strip() if staff is not None else "",
        text=dispatch_text(unit.name, unit.address.full_text),
    )


def start(notice: Notice) -> threading.Thread | None:
    """Send on a daemon thread; returns it (tests join it through `wait`).

    Called from `on_commit`, normally when no transaction is open any more. When one still is — the callbacks
    of a test that wraps everything in a transaction — a thread's own connection could not see the dispatch
    and its audit row would escape that transaction, so the text is then sent right here instead."""
    if connection.in_atomic_block:
        _deliver(notice)
        return None
    thread = threading.Thread(
        target=_deliver_on_thread, args=(notice,), name=f"dispatch-sms-{notice.alarm_id}", daemon=True
    )
    with _lock:
        _threads[:] = [t for t in _threads if t.is_alive()]  # a long-running server keeps only live ones
        _threads.append(thread)
    thread.start()
    return thread


def wait(timeout: float = 30.0) -> None:
    """Join every worker started so far (for tests and for a clean shutdown)."""
    with _lock:
        pending = list(_threads)
        _threads.clear()
    for thread in pending:
        thread.join(timeout)


def _deliver_on_thread(notice: Notice) -> None:
    try:
        _deliver(notice, retry=True)
    finally:
        connections.close_all()  # this thread's own connections


SEND_ATTEMPTS = 3
RETRY_DELAYS = (2.0, 5.0)  # seconds before the second and the third attempt


def _send(notice: Notice, *, retry: bool) -> str:
    """Hand the text to the gateway; "" when it took it, else why not. A gateway that is busy or away (no
    answer, 5xx, 429) is asked again after a pause, on this worker thread, before the text counts as not
    delivered; a refusal of the message itself (4xx) is final at once."""
    attempts = SEND_ATTEMPTS if retry else 1
    attempt = 1
    while True:
        try:
            sms.send(notice.phone, notice.text)
            return ""
        except sms.SmsError as exc:
            error = mask_text(str(exc))[:200]
            if not exc.transient or attempt == attempts:
                if attempt > 1:
                    return _("短信网关未接收（已试 %(n)d 次）：%(error)s") % {"n": attempt, "error": error}
                return _("短信网关未接收：%(error)s") % {"error": error}
        except Exception:  # a gateway class of one's own may fail in any way; the dispatch stands
            log.exception("dispatch text for alarm %s: the gateway failed", notice.alarm_id)
            return _("短信网关出错")
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
        log.warning(
            "dispatch text for alarm %s: gateway not reached (%s); attempt %d of %d, again in %g s",
            notice.alarm_id,
            error,
            attempt,
            attempts,
            delay,
        )
        time.sleep(delay)
        attempt += 1


def _deliver(notice: Notice, *, retry: bool = False) -> None:
    failure = _("出警人员没有登记工作电话") if not notice.phone else _send(notice, retry=retry)
    masked = mask_phone(notice.phone) if notice.phone else ""
    if failure:
        log.warning(
            "dispatch text for alarm %s to %s (%s) not delivered: %s",
            notice.alarm_id,
            notice.officer_id,
            masked or "-",
            failure,
        )
    if _record(notice, masked, failure) and failure:
        _tell_consoles(notice)


def _tell_consoles(notice: Notice) -> None:
    """The station's consoles show "短信未送达" on the alarm (the dispatcher may phone the officer instead)."""
    from doorstep.alarms import realtime, services  # services imports this module

    try:
        realtime.publish_to_station(notice.station_id, services.console_payloads([notice.alarm_id])[0])
    except Exception:  # the consoles will see it on their next reload
        log.exception("dispatch text for alarm %s: could not tell the consoles", notice.alarm_id)


RECORD_ATTEMPTS = 3  # a writer holding SQLite's lock (an in-memory database does not wait for it) goes by


def _record(notice: Notice, masked: str, failure: str) -> bool:
    for attempt in range(RECORD_ATTEMPTS):
        try:
            record_event(
                None,
                FAILED if failure else SENT,
                "alarms.alarm",
                object_id=notice.alarm_id,
                object_repr=_("派警短信 → %(name)s") % {"name": notice.officer},
                after={"officer": notice.officer_id, "phone": masked},
                note=failure or _("短信已发送"),
            )
        except OperationalError:
            if attempt + 1 < RECORD_ATTEMPTS and not connection.in_atomic_block:
                time.sleep(0.2 * (attempt + 1))
                continue
            log.exception("dispatch text for alarm %s: could not record the outcome", notice.alarm_id)
            return False
        except Exception:  # the database is away (or shutting down): the log keeps the outcome (masked)
            log.exception("dispatch text for alarm %s: could not record the outcome", notice.alarm_id)
            return False
        return True
    return False
