"""Lookup within the grid and the phone reveal to call, for the officer's phone (ADR 0024).

`lookup` runs the registry's own search (`registry.search.search`: every key — names, full ID numbers and
phones through their keyed hashes, last digits, addresses — inside the user's territory, masked as the
registry shows it) and shapes the houses and persons for the phone; the persons shown are written to the
access log. `reveal_phone` is the registry's audited reveal (`privacy.reveal`) of one field.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from doorstep.audit.models import AccessKind
from doorstep.audit.services import record_access
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.masking import mask_name
from doorstep.org.territory import get_in_territory
from doorstep.registry import privacy, search, selectors
from doorstep.registry.choices import Colour

LIMIT = 20
MIN_QUERY = 2  # one character finds half a district's surnames; a 4-digit tail or a road name is enough
LOOKUP_PURPOSE = "移动工作台查询"
CALL_PURPOSE = "移动工作台拨打电话"
COLOURS = dict(Colour.choices)


def clean_query(q: Any) -> str:
    if not isinstance(q, str):
        raise ServiceError(_("请输入要查询的姓名、身份证号、电话或地址"), code="q")
    q = search.normalise(q)
    if len(q) < MIN_QUERY:
        raise ServiceError(_("请至少输入2个字或数字"), code="q")
    return q


def _household_label(address: str, head_name: str | None) -> str:
    head = mask_name(head_name)
    return f"{address} · {head}" if head else address


def lookup(user: Any, q: Any) -> dict[str, list[dict[str, Any]]]:
    """Houses and persons in the user's territory matching `q` (at most LIMIT hits in all), masked; the
    persons shown are logged (access log `read`, without the query: it may be a name or an ID number)."""
    q = clean_query(q)
    hits = [h for h in search.search(user, q, limit=LIMIT) if h.kind in ("house", "person")]
    house_ids = [h.id for h in hits if h.kind == "house"]
    person_ids = [h.id for h in hits if h.kind == "person"]
    households: dict[int, list[dict[str, Any]]] = {}
    if house_ids:
        rows = (
            selectors.households_for(user)
            .filter(house_id__in=house_ids)
            .order_by("pk")
            .values("id", "house_id", "head__name", "house__address__full_text", "colour")
        )
        for row in rows:
            households.setdefault(row["house_id"], []).append(
                {
                    "id": row["id"],
                    "label": _household_label(row["house__address__full_text"] or "", row["head__name"]),
                    "colour": row["colour"],
                }
            )
    people: dict[int, dict[str, Any]] = {}
    if person_ids:
        for person in (
            selectors.persons_for(user)
            .filter(pk__in=person_ids)
            .select_related(None)
            .select_related("house__address", "household__head")
            .only(
                "id",
                "id_number",
                "document_number",
                "phone",
                "household_id",
                "house__address__full_text",
                "household__head__name",
            )
        ):
            if person.id_number:
                identifier = privacy.masked("id_number", person.id_number)
            else:
                identifier = privacy.masked("document_number", person.document_number)
            people[person.pk] = {
                "id_number": identifier,
                "phone": privacy.masked("phone", person.phone),
                "address": person.house.address.full_text if person.house_id else "",
                "has_phone": bool(person.phone),
                "household": None
                if person.household_id is None
                else {
                    "id": person.household_id,
                    "label": _household_label(
                        person.house.address.full_text if person.house_id else "",
                        person.household.head.name if person.household.head_id else "",
                    ),
                },
            }
    may_call = privacy.may_reveal(user)
    houses, persons = [], []
    for hit in hits:
        if hit.kind == "house":
            houses.append(
                {
                    "id": hit.id,
                    "address": hit.title,
                    "detail": hit.subtitle,
                    "colour": hit.colour,
                    "colour_label": str(COLOURS.get(hit.colour, "")),
                    "lng": hit.lng,
                    "lat": hit.lat,
                    "households": households.get(hit.id, []),
                    "url": hit.url,
                }
            )
        elif hit.id in people:
            extra = people[hit.id]
            persons.append(
                {
                    "id": hit.id,
                    "name": hit.title,
                    "id_number": extra["id_number"],
                    "phone": extra["phone"],
                    "address": extra["address"],
                    "colour": hit.colour,
                    "colour_label": str(COLOURS.get(hit.colour, "")),
                    "house": hit.house,
                    "household": extra["household"],
                    "has_phone": extra["has_phone"],
                    "can_call": may_call and extra["has_phone"],
                    "lng": hit.lng,
                    "lat": hit.lat,
                    "url": hit.url,
                }
            )
    record_access(
        user,
        AccessKind.READ,
        "registry.person",
        [p["id"] for p in persons],
        fields=["name", "id_number", "phone", "address"],
        purpose=LOOKUP_PURPOSE,
    )
    return {"houses": houses, "persons": persons}


def reveal_phone(user: Any, pk: int) -> str:
    """The full phone of a person in the user's territory, to call it: 404 outside the territory (Http404),
    NotAllowed for roles that may not reveal; audited by the registry's reveal (purpose 移动工作台拨打电话)."""
    person = get_in_territory(user, selectors.persons_for(user), pk=pk)
    if not privacy.may_reveal(user):
        raise NotAllowed(_("您的角色无权查看完整电话"))
    if not person.phone:
        raise ServiceError(_("该人员没有登记电话"), code="no_phone")
    return privacy.reveal(user, person, ["phone"], purpose=CALL_PURPOSE)["phone"]
