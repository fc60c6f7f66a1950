"""Find my officer (找民警): from an address to the public card of the grid's community officer.

Everything here is a read for the public portal, so it is shaped to show only public facts:

- Addresses are shown at BUILDING level — street, road, door number, estate and building — never the unit
  entrance, floor or room, so a lookup cannot confirm who lives where. Only approved standard addresses are
  offered. A building is represented by the lowest address id among its addresses.
- A card carries the officer's public work details (name, badge number, public work phone, photo), the grid
  name, the community police room and the station's duty phone; never residents, colours, persons of
  concern or notes.
- Addresses and staff are referred to by signed tokens (`address_code`, `staff_code`), so the codes printed
  on house plates and photo URLs cannot be enumerated; a forged code resolves to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db.models import Min, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from doorstep.org.choices import Position
from doorstep.org.models import Grid, GridAssignment, PoliceRoom, Staff, Station
from doorstep.registry.choices import ReviewStatus
from doorstep.registry.models import Address
from doorstep.registry.search import address_q, normalise

ADDRESS_SALT = "doorstep.portal.address-plate"
STAFF_SALT = "doorstep.portal.officer-photo"
MAX_CODE = 40
SIGNATURE_CHARS = 16  # 96 bits
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
MIN_QUERY = 2
MAX_HITS = 10

# The columns that make a building: addresses sharing them are one plate, one card.
BUILDING_FIELDS = ("street_town", "road", "door_number", "estate", "building")


# --- signed codes ---------------------------------------------------------------------------------------
def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt)


def _to_base36(number: int) -> str:
    digits = BASE36
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _sign_id(salt: str, pk: int) -> str:
    """ "<id in base 36>.<first SIGNATURE_CHARS of its salted HMAC-SHA256>": short enough for a small QR code
    on a house plate, and 96 bits of signature cannot be guessed (and "." is outside the signature's URL-safe
    alphabet, so the code needs no escaping in a path)."""
    value = _to_base36(int(pk))
    return f"{value}.{_signer(salt).signature(value)[:SIGNATURE_CHARS]}"


def _unsign_id(salt: str, code: str | None) -> int | None:
    """The id inside a code, or None for anything forged, malformed or oversized."""
    if not code or len(code) > MAX_CODE or not code.isascii():
        return None
    value, _sep, signature = code.partition(".")
    if not value or len(value) > 12 or any(c not in BASE36 for c in value):
        return None
    if len(signature) != SIGNATURE_CHARS:
        return None
    if not constant_time_compare(signature, _signer(salt).signature(value)[:SIGNATURE_CHARS]):
        return None
    return int(value, 36)


def address_code(address_id: int) -> str:
    """The code printed (as a QR URL) on the house plate of an address."""
    return _sign_id(ADDRESS_SALT, address_id)


def address_from_code(code: str | None) -> Address | None:
    """The address a plate code stands for, or None (forged, unknown or rejected in review). An address still
    waiting for review has its card: its grid is known, and the resident standing at the door is real."""
    pk = _unsign_id(ADDRESS_SALT, code)
    if pk is None:
        return None
    return (
        Address.objects.select_related("grid__community__station")
        .filter(pk=pk)
        .exclude(review_status=ReviewStatus.REJECTED)
        .first()
    )


def staff_code(staff_id: int) -> str:
    """The code in an officer's photo URL."""
    return _sign_id(STAFF_SALT, staff_id)


def staff_from_code(code: str | None) -> int | None:
    return _unsign_id(STAFF_SALT, code)


# --- building-level addresses ---------------------------------------------------------------------------
def building_label(row: Any) -> str:
    """The address of a building: street, road, door number, estate, building — never unit, floor or room.

    `row` is an Address or a dict of BUILDING_FIELDS.
    """
    get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name))
    parts = [get("street_town"), get("road"), get("door_number"), get("estate")]
    building = get("building")
    if building:
        parts.append(building if building.endswith("栋") else f"{building}栋")
    return "".join(p for p in parts if p)


def buildings(qs: QuerySet[Address]) -> QuerySet[Any]:
    """One row per building of the addresses in `qs` not rejected in review: BUILDING_FIELDS, grid_id and
    `first_id` (the lowest address id, the building's representative on plates and cards)."""
    return (
        qs.exclude(review_status=ReviewStatus.REJECTED)
        .order_by()
        .values(*BUILDING_FIELDS, "grid_id")
        .annotate(first_id=Min("id"))
        .order_by(*BUILDING_FIELDS)
    )


@dataclass(frozen=True)
class BuildingHit:
    label: str
    address_id: int

    @property
    def code(self) -> str:
        return address_code(self.address_id)

    @property
    def url(self) -> str:
        return reverse("portal:officer_card", kwargs={"code": self.code})


def lookup(q: str | None, limit: int = MAX_HITS) -> list[BuildingHit]:
    """Approved buildings whose address starts with `q` at the street, the road or the estate (the registry's
    indexed address keys), at most `limit`, deduplicated by building. Too short a query finds nothing."""
    q = normalise(q)
    if len(q) < MIN_QUERY:
        return []
    limit = max(1, min(int(limit), MAX_HITS))
    hits: dict[str, BuildingHit] = {}
    for row in buildings(Address.objects.filter(address_q(q)))[: limit * 3]:
        label = building_label(row)
        if label not in hits:
            hits[label] = BuildingHit(label, row["first_id"])
        if len(hits) >= limit:
            break
    return list(hits.values())


def grid_buildings(grids: QuerySet[Grid] | list[Grid]) -> list[BuildingHit]:
    """Every approved building of the grids, one per plate, in address order (the QR sheet)."""
    grid_ids = [g.pk for g in grids]
    seen: dict[str, BuildingHit] = {}
    for row in buildings(Address.objects.filter(grid_id__in=grid_ids)):
        label = building_label(row)
        seen.setdefault(label, BuildingHit(label, row["first_id"]))
    return list(seen.values())


# --- the card -------------------------------------------------------------------------------------------
@dataclass
class OfficerCard:
    """The public face of one community officer."""

    name: str
    badge_number: str
    phone: str
    photo_code: str | None  # signed staff code for the photo route; None when there is no photo
    star_month: Any = None  # the month (date) of a current monthly star, or None

    @property
    def tel(self) -> str:
        return tel(self.phone)


@dataclass
class Card:
    """What a resident sees for an address: all public, nothing about residents."""

    label: str
    grid_name: str
    community_name: str
    officers: list[OfficerCard] = field(default_factory=list)
    room: PoliceRoom | None = None
    station: Station | None = None
    boundary: dict | None = None

    @property
    def room_tel(self) -> str:
        return tel(self.room.public_phone) if self.room else ""

    @property
    def station_tel(self) -> str:
        return tel(self.station.phone) if self.station else ""


def tel(phone: str | None) -> str:
    """A phone number as a tel: URI body (digits, a leading + and the - of area codes), or ""."""
    return "".join(c for c in (phone or "") if c.isascii() and (c.isdigit() or c in "+-"))


def current_officers(grid: Grid, on: Any = None) -> list[Staff]:
    """The grid's community officers on `on` (today by default), active staff only."""
    on = on or timezone.localdate()
    posts = (
        GridAssignment.objects.active_on(on)
        .filter(grid=grid, position=Position.OFFICER, staff__active=True)
        .select_related("staff")
        .order_by("started_on", "staff__name")
    )
    return [post.staff for post in posts]


def _star_months() -> dict[int, Any]:
    from doorstep.evaluation.stars import current_stars

    return {star.staff_id: star.month for star in current_stars()}


def card_for(address: Address) -> Card:
    """The public card for an address's grid."""
    grid = address.grid
    community = grid.community
    stars = _star_months()
    officers = [
        OfficerCard(
            name=staff.name,
            badge_number=staff.badge_number,
            phone=staff.phone,
            photo_code=staff_code(staff.pk) if staff.photo else None,
            star_month=stars.get(staff.pk),
        )
        for staff in current_officers(grid)
    ]
    return Card(
        label=building_label(address),
        grid_name=grid.name,
        community_name=community.name,
        officers=officers,
        room=PoliceRoom.objects.filter(community=community).first(),
        station=community.station,
        boundary=grid.boundary if isinstance(grid.boundary, dict) else None,
    )


def photo_of(code: str | None) -> Staff | None:
    """The staff member behind a photo code, only while they hold a community officer post and have a photo."""
    pk = staff_from_code(code)
    if pk is None:
        return None
    staff = Staff.objects.filter(pk=pk, active=True).first()
    if staff is None or not staff.photo:
        return None
    holds_post = (
        GridAssignment.objects.active_on(timezone.localdate())
        .filter(staff=staff, position=Position.OFFICER)
        .exists()
    )
    return staff if holds_post else None


__all__ = [
    "BuildingHit",
    "Card",
    "OfficerCard",
    "address_code",
    "address_from_code",
    "building_label",
    "card_for",
    "grid_buildings",
    "lookup",
    "photo_of",
    "staff_code",
]


# --- the location sketch --------------------------------------------------------------------------------
def _rings(boundary: dict | None) -> list[list[tuple[float, float]]]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon, as (lng, lat) lists; [] for anything else."""
    if not isinstance(boundary, dict):
        return []
    coords = boundary.get("coordinates")
    kind = boundary.get("type")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    out: list[list[tuple[float, float]]] = []
    for polygon in polygons or []:
        try:
            ring = [(float(p[0]), float(p[1])) for p in polygon[0]]
        except (TypeError, ValueError, IndexError):
            continue
        if len(ring) >= 3:
            out.append(ring)
    return out


def location_sketch(boundary: dict | None, lng: float | None, lat: float | None, *, label: str = "") -> str:
    """A small inline SVG: the grid's boundary (blue) and the police room (a red dot), drawn on the server.

    A drawing rather than a map: the portal loads nothing from outside and its CSP allows no worker from a
    blob (which a vector map library needs), and a sketch with the room inside the grid is what a resident
    needs to recognise where it is. Empty string when there is nothing to draw.
    """
    import math
    from xml.sax.saxutils import escape

    rings = _rings(boundary)
    points = [p for ring in rings for p in ring]
    room = (float(lng), float(lat)) if lng is not None and lat is not None else None
    if room:
        points.append(room)
    if not points:
        return ""
    min_x, max_x = min(p[0] for p in points), max(p[0] for p in points)
    min_y, max_y = min(p[1] for p in points), max(p[1] for p in points)
    k = math.cos(math.radians((min_y + max_y) / 2)) or 1.0  # equal scale in both directions, near enough
    span = max((max_x - min_x) * k, max_y - min_y, 0.002)
    size, pad = 300.0, 20.0
    scale = (size - 2 * pad) / span
    width = (max_x - min_x) * k * scale
    height = (max_y - min_y) * scale

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        x = pad + (size - 2 * pad - width) / 2 + (p[0] - min_x) * k * scale
        y = pad + (size - 2 * pad - height) / 2 + (max_y - p[1]) * scale
        return round(x, 1), round(y, 1)

    shapes = [f'<rect x="0" y="0" width="{size:g}" height="{size:g}" fill="#eef2f7"/>']
    for ring in rings:
        d = " ".join(f"{x},{y}" for x, y in map(xy, ring))
        shapes.append(
            f'<polygon points="{d}" fill="#066fd1" fill-opacity="0.15" stroke="#066fd1" stroke-width="2"/>'
        )
    if room:
        x, y = xy(room)
        shapes.append(f'<circle cx="{x}" cy="{y}" r="8" fill="#d63939" stroke="#ffffff" stroke-width="3"/>')
    name = escape(label, {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size:g} {size:g}" role="img" '
        f'aria-label="{name}" preserveAspectRatio="xMidYMid meet">{"".join(shapes)}</svg>'
    )
