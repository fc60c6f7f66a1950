"""Today's work on the officer's phone (ADR 0024, `GET /m/api/today`): dispatched alarms first, then overdue
and due visits, the duty shift and clock-in, patrols, disputes to follow up and service-desk items.

Each part comes from the owning app's own scoped selectors (the registry's visit to-do list, duty's clock
page rules, patrol's `running_for`/`plans_for`, mediation's and the desk's `*_for`), every list is capped, and
each item carries the `url` of its desktop page for when the phone is online. The answer is kept on the phone
for offline use: it holds no ID number and no phone, and a household is labelled by its address and the
head's masked name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from doorstep.accounts.choices import Role
from doorstep.alarms import services as alarm_services
from doorstep.alarms.choices import AlarmState
from doorstep.alarms.models import Alarm
from doorstep.core.masking import mask_name
from doorstep.desk import selectors as desk_selectors
from doorstep.desk.choices import CLOSED as DESK_CLOSED
from doorstep.duty import access as duty_access
from doorstep.duty import rules as duty_rules
from doorstep.duty.models import Attendance, RoomShift
from doorstep.mediation import access as mediation_access
from doorstep.mediation.choices import OPEN as DISPUTE_OPEN
from doorstep.org.territory import Territory
from doorstep.patrol import access as patrol_access
from doorstep.patrol import runs
from doorstep.patrol.models import Team, TrackPoint
from doorstep.registry.services import VISIT_ROLES
from doorstep.registry.todo import DUE_SOON_DAYS, visit_todo

MAX_ITEMS = 50
FOLLOW_UP_DAYS = 3  # disputes whose follow-up visit is due within this many days (as mediation's to-do list)
DUTY_AHEAD = dt.timedelta(hours=24)


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


# --- the parts ---------------------------------------------------------------------------------------------
def alarms_part(user: Any) -> list[dict[str, Any]]:
    """The alarms dispatched to me that are not closed, newest first (as the phone page alarms/mine): whoever
    dispatched me, wherever in the station, so not limited to my grids."""
    ids = list(
        Alarm.objects.filter(dispatched_to=user)
        .exclude(state=AlarmState.CLOSED)
        .order_by("-received_at", "-id")
        .values_list("pk", flat=True)[:MAX_ITEMS]
    )
    out = []
    for p in alarm_services.console_payloads(ids):
        out.append(
            {
                "id": p["id"],
                "unit": p["unit"]["name"],
                "address": p["unit"]["address"],
                "location": p["location"],
                "type_label": p["type_label"],
                "received_at": p["received_at"],
                "dispatched_at": p["dispatched_at"],
                "received_by_officer_at": p["received_by_officer_at"],
                "arrived_at": p["arrived_at"],
                "state": p["state"],
                "state_label": p["state_label"],
                "lng": p["lng"],
                "lat": p["lat"],
                "updated_at": p["updated_at"],
                "url": _url("alarms:mine"),
            }
        )
    return out


def visits_part(user: Any, today: dt.date) -> dict[str, list[dict[str, Any]]]:
    """Households of my grids due for a visit within DUE_SOON_DAYS, and the overdue ones (the registry's
    visit to-do list: most urgent colour first). Nothing for roles that do not record visits (a patrol member
    would be offered households the server then refuses)."""
    overdue: list[dict[str, Any]] = []
    due: list[dict[str, Any]] = []
    if user.role not in VISIT_ROLES:
        return {"overdue": overdue, "due": due}
    rows = visit_todo(user, today, days=DUE_SOON_DAYS).values(
        "id", "colour", "next_visit_due", "house__address__full_text", "head__name"
    )
    for row in rows[:MAX_ITEMS]:
        address = row["house__address__full_text"] or ""
        head = mask_name(row["head__name"])
        item = {
            "id": row["id"],
            "label": f"{address} · {head}" if head else address,
            "colour": row["colour"],
            "next_visit_due": row["next_visit_due"].isoformat() if row["next_visit_due"] else None,
            "url": _url("registry:household_detail", row["id"]),
        }
        (overdue if row["next_visit_due"] and row["next_visit_due"] < today else due).append(item)
    return {"overdue": overdue, "due": due}


def _room(room: Any) -> dict[str, Any]:
    return {"id": room.pk, "name": room.name, "lng": room.lng, "lat": room.lat, "geofence_m": room.geofence_m}


def duty_part(user: Any, now: dt.datetime) -> dict[str, Any] | None:
    """My police-room duty (as duty's clock page): the shift now or next within 24 hours, the room to clock in
    at, and whether an attendance is open. None for accounts that do not stand room duty."""
    staff = duty_access.duty_staff(user)
    if staff is None:
        return None
    open_one = (
        Attendance.objects.filter(
            staff=staff, clock_out_at__isnull=True, clock_in_at__gte=duty_rules.forgotten_before(now)
        )
        .select_related("room")
        .first()
    )
    shift = (
        RoomShift.objects.filter(staff=staff, ends_at__gt=now, starts_at__lt=now + DUTY_AHEAD)
        .select_related("room")
        .order_by("starts_at", "pk")
        .first()
    )
    if open_one is not None:
        room = open_one.room
    elif shift is not None:
        room = shift.room
    else:
        room = duty_access.clockable_rooms(user, staff, now).first()
    return {
        "shift": None
        if shift is None
        else {
            "id": shift.pk,
            "room": _room(shift.room),
            "starts": _iso(shift.starts_at),
            "ends": _iso(shift.ends_at),
            "now": shift.starts_at <= now,
        },
        "room": _room(room) if room is not None else None,
        "clocked_in": open_one is not None,
        "attendance": None
        if open_one is None
        else {"id": open_one.pk, "room": open_one.room.name, "clock_in_at": _iso(open_one.clock_in_at)},
        "url": _url("duty:clock"),
    }


def patrols_part(user: Any, now: dt.datetime) -> dict[str, Any] | None:
    """My running patrol, today's plans and what a patrol may be started for (communities, grids, teams where
    I may run one). None for roles that do not patrol."""
    if not patrol_access.may_run(user):
        return None
    territory = Territory.for_user(user)
    communities = [
        c for c in territory.communities().order_by("code")[:MAX_ITEMS] if patrol_access.may_run(user, c.pk)
    ]
    runnable = [c.pk for c in communities]
    grids = territory.grids().filter(community_id__in=runnable).order_by("code")[:MAX_ITEMS]
    teams = (
        territory.filter(Team.objects.filter(active=True))
        .filter(community_id__in=runnable)
        .order_by("community_id", "name", "pk")[:MAX_ITEMS]
    )
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59, microsecond=0)
    plans = (
        runs.plans_for(user)
        .filter(community_id__in=runnable, ends_at__gt=now, starts_at__lte=end_of_day)
        .order_by("starts_at", "pk")[:MAX_ITEMS]
    )
    running = runs.running_for(user)
    return {
        "running": None
        if running is None
        else {
            "id": running.pk,
            "community": running.community_id,
            "started_at": _iso(running.started_at),
            "url": _url("patrol:run_detail", running.pk),
            # The phone numbers its track points from here: points reuse no seq the server already holds
            # (it ignores a known seq), whatever the phone's own counter says after a wipe or another page.
            "next_seq": (TrackPoint.objects.filter(patrol=running).aggregate(m=Max("seq"))["m"] or 0) + 1,
        },
        "plans": [
            {
                "id": p.pk,
                "title": p.title,
                "community": p.community_id,
                "grid": p.grid_id,
                "team": p.team_id,
                "starts_at": _iso(p.starts_at),
                "ends_at": _iso(p.ends_at),
                "url": _url("patrol:plan_list"),
            }
            for p in plans
        ],
        "communities": [{"id": c.pk, "name": c.name} for c in communities],
        "grids": [{"id": g.pk, "name": g.name, "community": g.community_id} for g in grids],
        "teams": [{"id": t.pk, "name": t.name, "community": t.community_id} for t in teams],
        "url": _url("patrol:run"),
    }


def disputes_part(user: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """Disputes I am responsible for following up: those I took first-hand (首问首接) still open or with a
    follow-up visit due soon; for a director, every follow-up due soon in the station."""
    role = mediation_access.role(user)
    if role not in mediation_access.FIELD_ROLES:
        return []
    today = timezone.localtime(now).date()
    follow_up = Q(follow_up_due__isnull=False, follow_up_due__lte=today + dt.timedelta(days=FOLLOW_UP_DAYS))
    qs = mediation_access.disputes_for(user)
    if role == Role.DIRECTOR:
        qs = qs.filter(follow_up)
    elif user.staff_id:
        qs = qs.filter(Q(first_officer_id=user.staff_id) & (Q(status__in=DISPUTE_OPEN) | follow_up))
    else:
        return []
    out = []
    for d in qs.order_by("follow_up_due", "due_at", "pk")[:MAX_ITEMS]:
        if d.follow_up_due is not None:
            due = d.follow_up_due.isoformat()
        else:
            due = timezone.localtime(d.due_at).date().isoformat() if d.due_at else None
        out.append(
            {
                "id": d.pk,
                "label": f"{d.number} · {d.dispute_type.name}",
                "status": d.status,
                "status_label": str(d.get_status_display()),
                "due": due,
                "url": _url("mediation:detail", d.pk),
            }
        )
    return out


def desk_part(user: Any) -> list[dict[str, Any]]:
    """The service-desk items I own (承办人) that are still open, the earliest due first."""
    if not user.staff_id or not desk_selectors.may_act(user):
        return []
    qs = (
        desk_selectors.intakes_for(user)
        .filter(owner_id=user.staff_id)
        .exclude(status__in=DESK_CLOSED)
        .order_by("due_at", "received_at", "pk")
    )
    out = []
    for item in qs[:MAX_ITEMS]:
        what = item.business_type.name if item.business_type_id else str(item.get_kind_display())
        out.append(
            {
                "id": item.pk,
                "label": f"{item.receipt_no} · {what}",
                "status": item.status,
                "status_label": str(item.get_status_display()),
                "due": timezone.localtime(item.due_at).date().isoformat() if item.due_at else None,
                "url": _url("desk:item", item.pk),
            }
        )
    return out


def today_for(user: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything `GET /m/api/today` answers, for a workspace user."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    staff = user.staff if user.staff_id else None
    return {
        "user": {
            "id": user.pk,  # names the phone's local database: two officers sharing a phone never mix queues
            "name": staff.name if staff is not None and not user.display_name else str(user),
            "role": user.role,
            "role_label": str(user.get_role_display()),
        },
        "server_time": timezone.localtime(now).isoformat(),
        "alarms": alarms_part(user),
        "visits": visits_part(user, today),
        "duty": duty_part(user, now),
        "patrols": patrols_part(user, now),
        "disputes": disputes_part(user, now),
        "desk": desk_part(user),
    }
