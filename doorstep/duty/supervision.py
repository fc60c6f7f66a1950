"""The live state of police rooms (在岗 / 迟到 / 离岗 / 无人在岗) and the supervision tick that closes forgotten
clock-outs and raises and clears the station's alerts for rooms with nobody in them (published live to the
station's duty WebSocket group after commit, `realtime.publish_room_alert`).

`room_states` is computed from the database on every call, so the live board is right even when no tick
runs; `tick(now)` persists the alerts (one open alert per room, closed by the next clock-in) and is meant to
run every minute beside the other periodic jobs.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from doorstep.audit.services import record_change, snapshot
from doorstep.duty import realtime, rules, services
from doorstep.duty.choices import AlertReason, RoomState
from doorstep.duty.models import Attendance, RoomAlert, RoomShift
from doorstep.org.models import PoliceRoom

log = logging.getLogger(__name__)


@dataclass
class Expected:
    shift: RoomShift
    present: bool
    late: bool  # not there and never clocked in for the shift, past the grace period (迟到 / 未到)
    left: bool = False  # clocked in for the shift, then left before its end (离岗)


@dataclass
class RoomStatus:
    room: PoliceRoom
    state: str
    present: list[Attendance] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    next_shift: RoomShift | None = None
    empty_since: dt.datetime | None = None
    open_alert: RoomAlert | None = None
    alert_reason: str | None = None  # what the tick would raise now (None: nothing to raise)

    @property
    def state_label(self) -> str:
        return str(RoomState(self.state).label)

    @property
    def late(self) -> list[Expected]:
        return [e for e in self.expected if e.late]

    @property
    def left(self) -> list[Expected]:
        return [e for e in self.expected if e.left]

    @property
    def alerting(self) -> bool:
        return self.open_alert is not None or self.alert_reason is not None

    @property
    def alert_label(self) -> str:
        reason = self.open_alert.reason if self.open_alert is not None else self.alert_reason
        return str(AlertReason(reason).label) if reason else ""


def room_states(rooms: Iterable[PoliceRoom], now: dt.datetime | None = None) -> list[RoomStatus]:
    """Each room's state at `now`, in a fixed number of queries whatever the number of rooms — and whatever
    the length of the attendance history: only the attendance that can matter now is read."""
    now = now or timezone.now()
    rooms = list(rooms)
    ids = [room.pk for room in rooms]
    grace, alert_after = rules.late_grace(), rules.alert_after()
    # What can matter now: the open attendance that still proves presence (one left open past the horizon is
    # a forgotten clock-out: nobody is there), and the clock-outs since the horizon — every attendance of a
    # shift covering now (a shift is at most MAX_SHIFT long) and the last clock-out of a room empty for less
    # than the horizon. A room whose last clock-out is older is simply "empty since before the horizon"
    # (empty_since None), which raises its alert exactly as the old clock-out would (the horizon is never
    # shorter than alert_after); `tick` looks the exact time up when it opens that alert.
    fresh = rules.forgotten_before(now)
    horizon = now - max(rules.PROOF_HORIZON, alert_after)
    recent = Attendance.objects.filter(room_id__in=ids).filter(
        Q(clock_out_at__isnull=True, clock_in_at__gte=fresh) | Q(clock_out_at__gte=horizon)
    )
    present: dict[int, list[Attendance]] = {pk: [] for pk in ids}
    closed: dict[int, list[Attendance]] = {pk: [] for pk in ids}
    last_out: dict[int, dt.datetime] = {}
    for a in recent.select_related("staff"):
        if a.clock_out_at is None:
            present[a.room_id].append(a)
            continue
        closed[a.room_id].append(a)
        if a.room_id not in last_out or a.clock_out_at > last_out[a.room_id]:
            last_out[a.room_id] = a.clock_out_at
    covering: dict[int, list[RoomShift]] = {pk: [] for pk in ids}
    upcoming: dict[int, RoomShift] = {}
    for s in RoomShift.objects.filter(
        room_id__in=ids, starts_at__lt=now + dt.timedelta(hours=24), ends_at__gt=now
    ).select_related("staff"):
        if s.starts_at <= now:
            covering[s.room_id].append(s)
        elif s.room_id not in upcoming or s.starts_at < upcoming[s.room_id].starts_at:
            upcoming[s.room_id] = s
    alerts = {a.room_id: a for a in RoomAlert.objects.filter(room_id__in=ids, closed_at__isnull=True)}
    result = []
    for room in rooms:
        here = present[room.pk]
        here_staff = {a.staff_id for a in here}
        expected = []
        for s in covering[room.pk]:
            if s.staff_id in here_staff:
                expected.append(Expected(s, present=True, late=False))
            elif any(rules.attended(a, s, now) for a in closed[room.pk]):
                expected.append(Expected(s, present=False, late=False, left=True))
            else:
                expected.append(Expected(s, present=False, late=now - s.starts_at > grace))
        if here:
            state = RoomState.STAFFED
        elif any(e.late for e in expected):
            state = RoomState.LATE
        elif any(e.left for e in expected):
            state = RoomState.LEFT
        else:
            state = RoomState.EMPTY
        empty_since = None if here else last_out.get(room.pk)
        reason = None
        if not here and room.open_24h and (empty_since is None or now - empty_since > alert_after):
            reason = AlertReason.UNSTAFFED if expected else AlertReason.NO_COVER
        result.append(
            RoomStatus(
                room=room,
                state=state,
                present=here,
                expected=expected,
                next_shift=upcoming.get(room.pk),
                empty_since=empty_since,
                open_alert=alerts.get(room.pk),
                alert_reason=reason,
            )
        )
    return result


def _last_clock_out(room: PoliceRoom) -> dt.datetime | None:
    """The room's last clock-out ever (one index lookup): the `empty_since` of an alert opened for a room
    empty since before `room_states`' horizon."""
    return (
        Attendance.objects.filter(room=room, clock_out_at__isnull=False)
        .order_by("-clock_out_at")
        .values_list("clock_out_at", flat=True)
        .first()
    )


def tick(now: dt.datetime | None = None) -> dict[str, int]:
    """Open an alert for every 24-hour room unstaffed for longer than `rules.alert_after()` (whether or not a
    shift covers it) and close the alerts of rooms someone is in again. Idempotent: run it every minute."""
    now = now or timezone.now()
    opened = closed = 0
    # Forgotten clock-outs first: they already prove nothing, but they would keep the person from clocking in.
    services.close_forgotten_attendances(now)
    rooms = PoliceRoom.objects.select_related("community")
    for status in room_states(rooms, now):
        if status.alert_reason and status.open_alert is None:
            empty_since = status.empty_since or _last_clock_out(status.room)
            try:
                with transaction.atomic():
                    alert = RoomAlert.objects.create(
                        room=status.room,
                        reason=status.alert_reason,
                        opened_at=now,
                        empty_since=empty_since,
                    )
                    record_change(None, "duty.alert_open", alert)
                    transaction.on_commit(functools.partial(realtime.publish_room_alert, alert.pk))
            except IntegrityError:  # another process opened it first
                continue
            opened += 1
            log.warning("police room %s unstaffed: %s", status.room.pk, status.alert_reason)
        elif status.present and status.open_alert is not None:
            with transaction.atomic():
                alert = status.open_alert
                before = snapshot(alert)
                alert.closed_at = now
                alert.save(update_fields=["closed_at", "updated_at"])
                record_change(None, "duty.alert_close", alert, before=before)
                transaction.on_commit(functools.partial(realtime.publish_room_alert, alert.pk))
            closed += 1
    return {"opened": opened, "closed": closed}
