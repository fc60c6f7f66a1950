"""Every write to the registry: validate, write, audit and re-colour in one transaction (rule 1).

Writers are the officer and auxiliaries of the grid and the station director; the grid must be inside the
writer's territory. `by=None` is the system (seed, imports run from the command line).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core import crypto, tilecache
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.geo import GeometryError, check_point, polygon_bounds
from doorstep.core.ids import ascii_digits, birth_date_of, citizen_id_error, credit_code_error, gender_of
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.registry import colours, rules
from doorstep.registry.choices import (
    KEY_UNIT_TYPES,
    ConcernStatus,
    ConcernType,
    Occupancy,
    PersonCategory,
    ReviewStatus,
)
from doorstep.registry.models import (
    Address,
    ColourRuleSet,
    House,
    Household,
    Person,
    PersonOfConcern,
    Unit,
    Visit,
)

WRITER_ROLES = {Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR}
PERSON_CATEGORIES = frozenset(PersonCategory.values)  # `.values` rebuilds its list on every access
CONCERN_ROLES = {Role.LEADER, Role.DIRECTOR, Role.OFFICER}  # who may see persons of concern at all
RULE_EDITORS = {Role.ADMIN, Role.LEADER}


def require_writer(by: Any, grid: Grid) -> None:
    if by is None:
        return
    if by.role not in WRITER_ROLES or not Territory.for_user(by).contains(grid):
        raise NotAllowed(_("您无权修改该网格的登记信息"))


def require_director(by: Any, grid: Grid) -> None:
    if by is None:
        return
    if by.role != Role.DIRECTOR or by.station_id != grid.community.station_id:
        raise NotAllowed(_("此事项须由本所所长审批"))


def initials(name: str) -> str:
    """Pinyin initials for search ("张三" → "zs"); Latin letters pass through."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p).lower()[
        :20
    ]


def _grid(grid_or_id: Grid | int) -> Grid:
    return (
        grid_or_id
        if isinstance(grid_or_id, Grid)
        else Grid.objects.select_related("community").get(pk=grid_or_id)
    )


def _point(lng: float | None, lat: float | None) -> None:
    if lng is None and lat is None:
        return
    if lng is None or lat is None:
        raise ServiceError(_("经度和纬度须同时填写"))
    try:
        check_point(lng, lat)
    except GeometryError as exc:
        raise ServiceError(str(exc), code="geometry") from exc


def _apply(obj: Any, changes: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ServiceError(_("不可修改的字段：%(fields)s") % {"fields": ", ".join(sorted(unknown))})
    for key, value in changes.items():
        setattr(obj, key, value)


# --- addresses ------------------------------------------------------------------------------------------
ADDRESS_FIELDS = {
    "division_code",
    "street_town",
    "road",
    "door_number",
    "estate",
    "building",
    "unit_no",
    "floor",
    "room",
    "lng",
    "lat",
}


def _check_address(address: Address) -> None:
    if not (len(address.division_code) == 6 and ascii_digits(address.division_code)):
        raise ServiceError(_("行政区划代码应为6位数字"), code="division_code")
    for field in ("street_town", "road", "door_number"):
        if not getattr(address, field).strip():
            raise ServiceError(
                _("%(field)s不能为空") % {"field": Address._meta.get_field(field).verbose_name}
            )
    _point(address.lng, address.lat)
    address.full_text = address.compose()


@transaction.atomic
def create_address(*, code: str, grid: Grid | int, by: Any = None, **fields: Any) -> Address:
    grid = _grid(grid)
    require_writer(by, grid)
    if Address.objects.filter(code=code).exists():
        raise ServiceError(_("地址编码 %(code)s 已存在") % {"code": code}, code="duplicate")
    address = Address(code=code, grid=grid)
    _apply(address, fields, ADDRESS_FIELDS)
    _check_address(address)
    address.save()
    record_change(by, "registry.create_address", address)
    return address


@transaction.atomic
def update_address(address: Address, *, by: Any, **changes: Any) -> Address:
    address = Address.objects.select_for_update().get(pk=address.pk)
    require_writer(by, _grid(address.grid_id))
    before = snapshot(address)
    _apply(address, changes, ADDRESS_FIELDS)
    _check_address(address)
    address.review_status = ReviewStatus.PENDING  # an edited address is reviewed again
    address.save()
    record_change(by, "registry.update_address", address, before=before)
    return address


@transaction.atomic
def review_address(address: Address, *, approve: bool, note: str = "", by: Any) -> Address:
    address = Address.objects.select_for_update().select_related("grid__community").get(pk=address.pk)
    require_director(by, address.grid)
    before = snapshot(address)
    address.review_status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    address.reviewed_by, address.reviewed_at, address.review_note = by, timezone.now(), note
    address.save()
    record_change(by, "registry.review_address", address, before=before)
    return address


# --- houses ---------------------------------------------------------------------------------------------
HOUSE_FIELDS = {
    "property_type",
    "use",
    "structure",
    "floors",
    "area",
    "occupancy",
    "rooms_let",
    "tenants",
    "monthly_rent",
    "rental_since",
    "responsibility_signed_on",
    "refused_rectification",
    "owner_name",
    "owner_id_number",
    "owner_phone",
    "landlord_name",
    "landlord_phone",
    "manager_name",
    "manager_phone",
    "footprint",
    "lng",
    "lat",
}
COLOUR_FIELDS_OF_HOUSE = {"occupancy", "refused_rectification", "responsibility_signed_on"}


def _check_house(house: House) -> None:
    if house.owner_id_number and (error := citizen_id_error(house.owner_id_number)):
        raise ServiceError(_("产权人：%(error)s") % {"error": _(error)}, code="id_number")
    if not 1 <= (house.floors or 0) <= 200:
        raise ServiceError(_("层数应在1至200之间"))
    if house.occupancy in (Occupancy.RENTED, Occupancy.GROUP_RENTAL) and not house.landlord_name:
        house.landlord_name = house.owner_name
    if house.footprint is not None:
        try:
            min_lng, min_lat, max_lng, max_lat, c_lng, c_lat = polygon_bounds(house.footprint)
        except GeometryError as exc:
            raise ServiceError(str(exc), code="geometry") from exc
        if house.lng is None:
            house.lng, house.lat = round(c_lng, 6), round(c_lat, 6)
        if house.lng is not None and (
            max(abs(min_lng - house.lng), abs(max_lng - house.lng)) > tilecache.HOUSE_MARGIN
            or max(abs(min_lat - house.lat), abs(max_lat - house.lat)) > tilecache.HOUSE_MARGIN
        ):
            # The map's tiles find a house by its point; a footprint this far from it is a data error.
            raise ServiceError(_("房屋轮廓距房屋位置超过约100米，请核对坐标"), code="footprint")
    _point(house.lng, house.lat)


def _map_changed(*points: tuple[float | None, float | None]) -> None:
    """The map tiles around these house points are stale once this transaction commits."""
    transaction.on_commit(lambda: tilecache.bump_points(points))


@transaction.atomic
def create_house(*, code: str, address: Address, by: Any = None, **fields: Any) -> House:
    grid = _grid(address.grid_id)
    require_writer(by, grid)
    if House.objects.filter(code=code).exists():
        raise ServiceError(_("房屋编码 %(code)s 已存在") % {"code": code}, code="duplicate")
    if House.objects.filter(address=address).exists():
        raise ServiceError(_("该地址已登记房屋"), code="duplicate")
    house = House(code=code, address=address, grid_id=address.grid_id)
    _apply(house, fields, HOUSE_FIELDS)
    _check_house(house)
    house.save()
    colours.recolour_houses([house.pk], trigger="registry.create_house")
    house.refresh_from_db()
    _map_changed((house.lng, house.lat))
    record_change(by, "registry.create_house", house)
    return house


@transaction.atomic
def update_house(house: House, *, by: Any, **changes: Any) -> House:
    house = House.objects.select_for_update().get(pk=house.pk)
    require_writer(by, _grid(house.grid_id))
    before = snapshot(house)
    old_point = (house.lng, house.lat)
    _apply(house, changes, HOUSE_FIELDS)
    _check_house(house)
    house.save()
    _map_changed(old_point, (house.lng, house.lat))
    if COLOUR_FIELDS_OF_HOUSE & set(changes):
        ids = list(house.households.values_list("id", flat=True))
        colours.recolour_households(ids, trigger="registry.update_house")
        colours.recolour_houses([house.pk], trigger="registry.update_house")
        house.refresh_from_db()
    record_change(by, "registry.update_house", house, before=before)
    return house


# --- households and persons -----------------------------------------------------------------------------
@transaction.atomic
def create_household(*, house: House, household_no: str = "", by: Any = None) -> Household:
    require_writer(by, _grid(house.grid_id))
    household = Household.objects.create(house=house, grid_id=house.grid_id, household_no=household_no)
    colours.recolour_households([household.pk], trigger="registry.create_household")
    household.refresh_from_db()
    record_change(by, "registry.create_household", household)
    return household


PERSON_FIELDS = {
    "id_number",
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "phone",
    "register_address",
    "house",
    "household",
    "relation_to_head",
    "registered_here",
    "category",
    "inflow_reason",
    "permit_type",
    "permit_number",
    "permit_expires_on",
    "registered_on",
    "residence_type",
    "foreign_name",
    "nationality",
    "document_type",
    "document_number",
    "stay_purpose",
    "arrived_on",
    "expected_departure_on",
    "unsettled_reason",
    "unsettled_since",
}
CATEGORY_BLOCKS = {
    PersonCategory.FLOATING: (
        "inflow_reason",
        "permit_type",
        "permit_number",
        "permit_expires_on",
        "registered_on",
        "residence_type",
    ),
    PersonCategory.FOREIGN: (
        "foreign_name",
        "nationality",
        "document_type",
        "document_number",
        "stay_purpose",
        "arrived_on",
        "expected_departure_on",
    ),
    PersonCategory.UNSETTLED: ("unsettled_reason", "unsettled_since"),
}


def person_problems(person: Person) -> dict[str, str]:
    """Field → reason for everything wrong with a person record (shared by services, forms and imports)."""
    problems: dict[str, str] = {}
    category = person.category
    if category not in PERSON_CATEGORIES:
        problems["category"] = _("人员类别应为01至05")
    if not person.name or not person.name.strip():
        problems["name"] = _("姓名不能为空")
    if category == PersonCategory.FOREIGN:
        if person.id_number and (error := citizen_id_error(person.id_number)):
            problems["id_number"] = _(error)
        for field in ("nationality", "document_type", "document_number"):
            if not getattr(person, field):
                problems[field] = _("境外人员须填写%(field)s") % {
                    "field": Person._meta.get_field(field).verbose_name
                }
    else:
        if error := citizen_id_error(person.id_number):
            problems["id_number"] = _(error)
    if category == PersonCategory.FLOATING and not person.permit_type:
        problems["permit_type"] = _("流动人口须填写居住证件类型（未办理也须注明）")
    if category == PersonCategory.UNSETTLED and not person.unsettled_reason:
        problems["unsettled_reason"] = _("未落常住人口须填写未落户原因")
    if person.phone and not (ascii_digits(person.phone.replace("-", "")) and 7 <= len(person.phone) <= 20):
        problems["phone"] = _("联系电话格式不正确")
    return problems


def _prepare_person(person: Person, by: Any = None) -> None:
    if person.id_number:
        person.id_number = person.id_number.upper()
    problems = person_problems(person)
    if person.id_number and "id_number" not in problems:
        other = (
            Person.objects.filter(id_hash=crypto.search_hash("id", person.id_number))
            .exclude(pk=person.pk)
            .first()
        )
        if other is not None:
            problems["id_number"] = _duplicate_message(
                other,
                _("该公民身份号码已登记为%(category)s（%(name)s）"),
                _("该公民身份号码已在其他辖区登记为%(category)s"),
                by,
            )
        person.birth_date = birth_date_of(person.id_number)
        person.gender = gender_of(person.id_number)
    if person.category == PersonCategory.FOREIGN and "document_number" not in problems:
        other = (
            Person.objects.filter(
                category=PersonCategory.FOREIGN,
                nationality=person.nationality,
                document_type=person.document_type,
                document_number=person.document_number,
            )
            .exclude(pk=person.pk)
            .first()
        )
        if other is not None:
            problems["document_number"] = _duplicate_message(
                other, _("该证件已登记为境外人员（%(name)s）"), _("该证件已在其他辖区登记为境外人员"), by
            )
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceError(message, code=field)
    # Blocks of other categories are cleared: one person, one category, one block.
    for category, fields in CATEGORY_BLOCKS.items():
        if category != person.category:
            for field in fields:
                setattr(person, field, None if Person._meta.get_field(field).null else "")
    if person.household_id and person.house_id is None:
        person.house_id = person.household.house_id
    if person.house_id:
        person.grid_id = person.house.grid_id
    person.name_initials = initials(person.name)


def _duplicate_message(other: Person, here: str, elsewhere: str, by: Any) -> str:
    """Who already holds an identity: named only when the writer may see that person (no leak across
    territories)."""
    category = other.get_category_display()
    if by is None or Territory.for_user(by).contains(other):
        return here % {"category": category, "name": other.name}
    return elsewhere % {"category": category}


def _recolour_for(*household_ids: int | None, trigger: str) -> None:
    ids = [i for i in household_ids if i]
    if ids:
        colours.recolour_households(ids, trigger=trigger)


@transaction.atomic
def create_person(*, grid: Grid | int | None = None, by: Any = None, **fields: Any) -> Person:
    person = Person(gender=fields.pop("gender", "0"))
    _apply(person, fields, PERSON_FIELDS)
    if grid is not None:
        person.grid = _grid(grid)
    elif person.house_id is None and person.household_id is None:
        raise ServiceError(_("请指定现住房屋或网格"))
    _prepare_person(person, by)
    require_writer(by, _grid(person.grid_id))
    person.save()
    if person.household_id and person.relation_to_head == "户主":
        Household.objects.filter(pk=person.household_id).update(head=person)
    _recolour_for(person.household_id, trigger="registry.create_person")
    record_change(by, "registry.create_person", person)
    return person


@transaction.atomic
def update_person(person: Person, *, by: Any, **changes: Any) -> Person:
    person = Person.objects.select_for_update().get(pk=person.pk)
    require_writer(by, _grid(person.grid_id))
    before = snapshot(person)
    old_household = person.household_id
    _apply(person, changes, PERSON_FIELDS)
    _prepare_person(person, by)
    require_writer(by, _grid(person.grid_id))  # moving a person needs rights on the new grid too
    person.save()
    _recolour_for(old_household, person.household_id, trigger="registry.update_person")
    record_change(by, "registry.update_person", person, before=before)
    return person


@transaction.atomic
def set_household(person: Person, household: Household | None, *, relation: str = "", by: Any) -> Person:
    changes: dict[str, Any] = {"household": household, "relation_to_head": relation}
    if household is not None:
        changes["house"] = household.house
    person = update_person(person, by=by, **changes)
    if household is not None and relation == "户主":
        Household.objects.filter(pk=household.pk).update(head=person)
    return person


# --- units ----------------------------------------------------------------------------------------------
UNIT_FIELDS = {
    "name",
    "credit_code",
    "unit_type",
    "industry",
    "address",
    "legal_representative",
    "security_lead",
    "security_phone",
    "is_key",
    "key_level",
    "risk_level",
    "camera_count",
    "lng",
    "lat",
}


def _check_unit(unit: Unit) -> None:
    unit.credit_code = (unit.credit_code or "").upper()
    if error := credit_code_error(unit.credit_code):
        raise ServiceError(_(error), code="credit_code")
    if Unit.objects.filter(credit_code=unit.credit_code).exclude(pk=unit.pk).exists():
        raise ServiceError(
            _("统一社会信用代码 %(code)s 已登记") % {"code": unit.credit_code}, code="duplicate"
        )
    if unit.is_key and not unit.key_level:
        raise ServiceError(_("重点单位须确定等级"), code="key_level")
    if not unit.is_key:
        unit.key_level = ""
    unit.grid_id = unit.address.grid_id
    if unit.lng is None and unit.address.lng is not None:
        unit.lng, unit.lat = unit.address.lng, unit.address.lat
    _point(unit.lng, unit.lat)


@transaction.atomic
def create_unit(*, by: Any = None, **fields: Any) -> Unit:
    unit = Unit()
    _apply(unit, fields, UNIT_FIELDS)
    if unit.unit_type in KEY_UNIT_TYPES and "is_key" not in fields:
        unit.is_key = True
    _check_unit(unit)
    require_writer(by, _grid(unit.grid_id))
    unit.save()
    record_change(by, "registry.create_unit", unit)
    return unit


@transaction.atomic
def update_unit(unit: Unit, *, by: Any, **changes: Any) -> Unit:
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    require_writer(by, _grid(unit.grid_id))
    before = snapshot(unit)
    old_grid = unit.grid_id
    _apply(unit, changes, UNIT_FIELDS)
    _check_unit(unit)
    require_writer(by, _grid(unit.grid_id))
    unit.save()
    record_change(by, "registry.update_unit", unit, before=before)
    if unit.grid_id != old_grid:
        # A key unit's alarm devices (and their coming drills) belong to its grid and station: they move with
        # it, or its alarms would still ring at the old station. Imported here: alarms builds on the registry.
        from doorstep.alarms import devices as alarm_devices

        alarm_devices.follow_unit(unit, by=by)
    return unit


# --- persons of concern ---------------------------------------------------------------------------------
def _concern_grid(person: Person) -> Grid:
    return Grid.objects.select_related("community").get(pk=person.grid_id)


def require_concern_role(by: Any) -> None:
    if by is not None and by.role not in CONCERN_ROLES:
        raise NotAllowed(_("您的角色无权处理重点人员"))


@transaction.atomic
def request_listing(person: Person, *, concern_type: str, reason: str, by: Any) -> PersonOfConcern:
    """列管申请 (status 1): the officer asks; the station director decides."""
    require_concern_role(by)
    require_writer(by, _concern_grid(person))
    ConcernType(concern_type)
    if not reason.strip():
        raise ServiceError(_("请填写列管事由"))
    if (
        PersonOfConcern.objects.filter(person=person, concern_type=concern_type)
        .exclude(status=ConcernStatus.DELISTED)
        .exists()
    ):
        raise RuleViolation(_("该人员已有同类列管记录或申请"), code="duplicate")
    concern = PersonOfConcern.objects.create(
        person=person,
        concern_type=concern_type,
        reason=reason,
        status=ConcernStatus.LISTING_REQUESTED,
        requested_by=by,
    )
    record_change(by, "registry.request_listing", concern)
    return concern


@transaction.atomic
def request_delisting(concern: PersonOfConcern, *, reason: str, by: Any) -> PersonOfConcern:
    """撤管申请 (status 3): still counts as listed until the director approves."""
    concern = PersonOfConcern.objects.select_for_update().select_related("person").get(pk=concern.pk)
    require_concern_role(by)
    require_writer(by, _concern_grid(concern.person))
    if concern.status != ConcernStatus.LISTED:
        raise RuleViolation(_("只有已列管的人员可以申请撤管"), code="not_listed")
    if not reason.strip():
        raise ServiceError(_("请填写撤管理由"))
    before = snapshot(concern)
    concern.status, concern.request_note, concern.requested_by = ConcernStatus.DELISTING_REQUESTED, reason, by
    concern.save()
    record_change(by, "registry.request_delisting", concern, before=before)
    return concern


@transaction.atomic
def request_reclass(concern: PersonOfConcern, *, concern_type: str, reason: str, by: Any) -> PersonOfConcern:
    """转类申请 (status 7): change the type of a listed person."""
    concern = PersonOfConcern.objects.select_for_update().select_related("person").get(pk=concern.pk)
    require_concern_role(by)
    require_writer(by, _concern_grid(concern.person))
    ConcernType(concern_type)
    if concern.status != ConcernStatus.LISTED:
        raise RuleViolation(_("只有已列管的人员可以申请转类"), code="not_listed")
    before = snapshot(concern)
    concern.status, concern.request_note, concern.requested_by = (
        ConcernStatus.RECLASS_REQUESTED,
        f"{concern_type}|{reason}",
        by,
    )
    concern.save()
    record_change(by, "registry.request_reclass", concern, before=before)
    return concern


@transaction.atomic
def request_transfer(
    concern: PersonOfConcern, *, to_grid: Grid | int, reason: str, by: Any
) -> PersonOfConcern:
    """转递申请 (status 5): a listed person has moved to another grid (usually another station's); the
    management passes there once the receiving station's director accepts. Both sides see the request."""
    concern = PersonOfConcern.objects.select_for_update().select_related("person").get(pk=concern.pk)
    require_concern_role(by)
    require_writer(by, _concern_grid(concern.person))
    to_grid = _grid(to_grid)
    if concern.status != ConcernStatus.LISTED:
        raise RuleViolation(_("只有已列管的人员可以申请转递"), code="not_listed")
    if to_grid.pk == concern.person.grid_id:
        raise ServiceError(_("转递的接收网格不能是该人员现在的网格"), code="to_grid")
    if not reason.strip():
        raise ServiceError(_("请填写转递理由（如迁往何处）"))
    before = snapshot(concern)
    concern.status, concern.transfer_to = ConcernStatus.TRANSFER_REQUESTED, to_grid
    concern.request_note, concern.requested_by = reason[:300], by
    concern.save()
    record_change(by, "registry.request_transfer", concern, before=before)
    return concern


def _move_to_grid(person: Person, grid: Grid, by: Any) -> int | None:
    """The person now lives in `grid` at an address its officers will register: out of the old household."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    before, old_household = snapshot(person), person.household_id
    Household.objects.filter(head=person).update(head=None)
    person.grid, person.house, person.household, person.relation_to_head = grid, None, None, ""
    person.save()
    record_change(by, "registry.transfer_person", person, before=before)
    return old_household


@transaction.atomic
def decide_concern(concern: PersonOfConcern, *, approve: bool, note: str = "", by: Any) -> PersonOfConcern:
    """The station director approves or rejects a pending listing, delisting, reclassification or transfer
    (a transfer is decided by the director of the receiving station)."""
    concern = PersonOfConcern.objects.select_for_update().select_related("person").get(pk=concern.pk)
    transferring = concern.status == ConcernStatus.TRANSFER_REQUESTED and concern.transfer_to_id
    require_director(by, _grid(concern.transfer_to_id) if transferring else _concern_grid(concern.person))
    before = snapshot(concern)
    today = timezone.localdate()
    old_household = concern.person.household_id
    if transferring:
        if approve:
            old_household = _move_to_grid(concern.person, _grid(concern.transfer_to_id), by)
        concern.status, concern.transfer_to = ConcernStatus.LISTED, None
    elif concern.status == ConcernStatus.LISTING_REQUESTED:
        # A rejected listing request never managed the person: it ends as 已撤管 without a listing date.
        concern.status = ConcernStatus.LISTED if approve else ConcernStatus.DELISTED
        concern.listed_on = today if approve else None
    elif concern.status == ConcernStatus.DELISTING_REQUESTED:
        concern.status = ConcernStatus.DELISTED if approve else ConcernStatus.LISTED
        concern.delisted_on = today if approve else None
    elif concern.status == ConcernStatus.RECLASS_REQUESTED:
        if approve:
            concern.concern_type = concern.request_note.split("|", 1)[0]
        concern.status = ConcernStatus.LISTED
    else:
        raise RuleViolation(_("该记录没有待审批的申请"), code="nothing_pending")
    concern.decided_by, concern.decided_at = by, timezone.now()
    concern.request_note = (note or concern.request_note)[:300]
    concern.save()
    record_change(
        by, "registry.approve_concern" if approve else "registry.reject_concern", concern, before=before
    )
    _recolour_for(old_household, trigger="registry.decide_concern")
    return concern


# --- visits ---------------------------------------------------------------------------------------------
VISIT_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR})  # who records 入户走访


@transaction.atomic
def record_visit(
    household: Household, *, findings: str, visited_at: dt.datetime | None = None, photo: Any = None, by: Any
) -> Visit:
    """入户走访: resets the household's (and its house's) visit clock according to its colour."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    grid = _grid(household.grid_id)
    if by is None or by.role not in VISIT_ROLES:
        raise NotAllowed(_("只有社区民警、协勤员或所长可以登记走访"))
    require_writer(by, grid)
    visited_at = visited_at or timezone.now()
    if visited_at > timezone.now() + dt.timedelta(minutes=5):
        raise ServiceError(_("走访时间不能晚于当前时间"))
    if not findings.strip():
        raise ServiceError(_("请填写走访情况"))
    params = colours.active_params()
    due = colours.next_due(visited_at, household.colour, params, timezone.localdate())
    visit = Visit(
        household=household,
        grid_id=household.grid_id,
        visited_by=by,
        visited_at=visited_at,
        findings=findings,
        colour_at_visit=household.colour,
        next_due=due,
    )
    if photo:
        visit.photo = photo
    visit.save()
    if household.last_visit_at is None or visited_at >= household.last_visit_at:
        Household.objects.filter(pk=household.pk).update(last_visit_at=visited_at, next_visit_due=due)
        house = House.objects.get(pk=household.house_id)
        if house.last_visit_at is None or visited_at >= house.last_visit_at:
            House.objects.filter(pk=house.pk).update(
                last_visit_at=visited_at,
                next_visit_due=colours.next_due(visited_at, house.colour, params, timezone.localdate()),
            )
            _map_changed((house.lng, house.lat))  # the overdue filter reads the due date
    record_change(by, "registry.record_visit", visit)
    return visit


# --- rules ----------------------------------------------------------------------------------------------
@transaction.atomic
def update_colour_rules(params: dict[str, Any], *, by: Any) -> int:
    """Save the administrator's rule set and re-evaluate every household; returns how many changed."""
    if by is not None and not (by.is_superuser or by.role in RULE_EDITORS):
        raise NotAllowed(_("只有系统管理员或分局领导可以修改分色规则"))
    merged = rules.merged_params(params)
    problems = rules.validate_params(merged)
    if problems:
        raise ServiceError("；".join(problems), code="rules")
    row = ColourRuleSet.objects.order_by("id").first() or ColourRuleSet(params={})
    before = {"params": row.params} if row.pk else None
    row.params, row.updated_by = merged, by
    row.save()
    record_change(by, "registry.update_colour_rules", row, before=before, after={"params": merged})
    return colours.recolour_all(trigger="registry.update_colour_rules", params=merged)
