"""Registry API serializers: read serializers mask personal fields; write serializers only check shapes and
resolve references inside the territory, the services do the rest (and say what is wrong, in Chinese).

Write serializers never `.save()`: the viewsets pass `validated_data` to `registry.services`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from doorstep.core.serializers import ScopedPrimaryKeyRelatedField
from doorstep.org.models import Grid
from doorstep.registry import display, privacy
from doorstep.registry.choices import ConcernType, KeyLevel, PermitType
from doorstep.registry.models import Address, House, Household, Person, PersonOfConcern, Unit, Visit

POINT = {"lng": {"min_value": 73.0, "max_value": 136.0}, "lat": {"min_value": 3.0, "max_value": 54.0}}
SMALL_COUNT = {"min_value": 0, "max_value": 32767}


class MaskedField(serializers.CharField):
    """A personal identifier shown masked (`privacy.masked`); `mask_as` names the rule when the field's own
    name is not one of `privacy.PERSONAL_FIELDS` (e.g. a unit's security lead's phone is masked as a phone)."""

    def __init__(self, mask_as: str | None = None, **kwargs: Any) -> None:
        self.mask_as = mask_as
        kwargs["read_only"] = True
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return privacy.masked(self.mask_as or self.field_name, value)


class ColourReasonsField(serializers.ListField):
    """The reasons of a colour as this user may see them: the listed-concern reason never names anyone here
    (API reads of houses and households are not concern reads), and says nothing to roles outside
    `privacy.CONCERN_ROLES` (`display.shown_reasons`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), read_only=True, **kwargs)

    def to_representation(self, data: Any) -> list[str]:
        request = self.context.get("request")
        return display.shown_reasons(getattr(request, "user", None), list(data or []))


def _no_unique_validators(*names: str) -> dict[str, dict[str, Any]]:
    # Uniqueness is the services' to check: they say which record holds the code, in the domain's words.
    return {name: {"validators": []} for name in names}


# --- addresses ------------------------------------------------------------------------------------------
ADDRESS_WRITABLE = [
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
]


class AddressSerializer(serializers.ModelSerializer):
    grid_name = serializers.CharField(source="grid.name", read_only=True)

    class Meta:
        model = Address
        fields = [
            "id",
            "code",
            *ADDRESS_WRITABLE,
            "full_text",
            "grid",
            "grid_name",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AddressUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ADDRESS_WRITABLE
        extra_kwargs = POINT


class AddressCreateSerializer(AddressUpdateSerializer):
    grid = ScopedPrimaryKeyRelatedField(queryset=Grid.objects.select_related("community"))

    class Meta(AddressUpdateSerializer.Meta):
        fields = ["code", "grid", *ADDRESS_WRITABLE]
        extra_kwargs = {**POINT, **_no_unique_validators("code")}


# --- houses ---------------------------------------------------------------------------------------------
HOUSE_WRITABLE = [
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
]
HOUSE_PERSONAL = ["owner_id_number", "owner_phone", "landlord_phone", "manager_phone"]


class HouseSerializer(serializers.ModelSerializer):
    address_text = serializers.CharField(source="address.full_text", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    owner_id_number = MaskedField()
    owner_phone = MaskedField()
    landlord_phone = MaskedField()
    manager_phone = MaskedField()
    colour_reasons = ColourReasonsField()

    class Meta:
        model = House
        fields = [
            "id",
            "code",
            "address",
            "address_text",
            "grid",
            "grid_name",
            *HOUSE_WRITABLE,
            "colour",
            "colour_reasons",
            "last_visit_at",
            "next_visit_due",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HouseUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = House
        fields = HOUSE_WRITABLE
        extra_kwargs = {
            **POINT,
            "floors": {"min_value": 1, "max_value": 200},
            "rooms_let": SMALL_COUNT,
            "tenants": SMALL_COUNT,
            "area": {"min_value": 0},
            "monthly_rent": {"min_value": 0},
        }


class HouseCreateSerializer(HouseUpdateSerializer):
    address = ScopedPrimaryKeyRelatedField(queryset=Address.objects.all())

    class Meta(HouseUpdateSerializer.Meta):
        fields = ["code", "address", *HOUSE_WRITABLE]
        extra_kwargs = {**HouseUpdateSerializer.Meta.extra_kwargs, **_no_unique_validators("code")}


# --- households -----------------------------------------------------------------------------------------
class HouseholdMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "name", "relation_to_head", "category", "gender"]
        read_only_fields = fields


class HouseholdSerializer(serializers.ModelSerializer):
    address_text = serializers.CharField(source="house.address.full_text", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    head_name = serializers.CharField(source="head.name", read_only=True, default="")
    member_count = serializers.IntegerField(read_only=True)
    colour_reasons = ColourReasonsField()

    class Meta:
        model = Household
        fields = [
            "id",
            "house",
            "address_text",
            "grid",
            "grid_name",
            "household_no",
            "head",
            "head_name",
            "member_count",
            "colour",
            "colour_reasons",
            "last_visit_at",
            "next_visit_due",
            "created_at",
        ]
        read_only_fields = fields


class HouseholdDetailSerializer(HouseholdSerializer):
    members = HouseholdMemberSerializer(many=True, read_only=True)

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "members"]
        read_only_fields = fields


class HouseholdCreateSerializer(serializers.Serializer):
    house = ScopedPrimaryKeyRelatedField(queryset=House.objects.all())
    household_no = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


# --- persons --------------------------------------------------------------------------------------------
PERSON_WRITABLE = [
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
]
PERSON_PERSONAL = ["id_number", "phone", "document_number", "permit_number"]


class PersonSerializer(serializers.ModelSerializer):
    """A person as every role that may see persons sees them: masked, and without any concern status."""

    id_number = MaskedField()
    phone = MaskedField()
    document_number = MaskedField()
    permit_number = MaskedField()
    # Read-only fields lose `allow_blank` in ModelSerializer; say it, or the schema forbids the blank value.
    permit_type = serializers.ChoiceField(choices=PermitType.choices, allow_blank=True, read_only=True)
    address_text = serializers.CharField(source="house.address.full_text", read_only=True, default="")
    grid_name = serializers.CharField(source="grid.name", read_only=True)

    class Meta:
        model = Person
        fields = ["id", *PERSON_WRITABLE, "address_text", "grid", "grid_name", "created_at", "updated_at"]
        read_only_fields = fields


class PersonUpdateSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(max_length=18, required=False, allow_null=True, allow_blank=True)
    house = ScopedPrimaryKeyRelatedField(queryset=House.objects.all(), required=False, allow_null=True)
    household = ScopedPrimaryKeyRelatedField(
        queryset=Household.objects.select_related("house"), required=False, allow_null=True
    )

    class Meta:
        model = Person
        fields = PERSON_WRITABLE
        extra_kwargs = {"gender": {"required": False}}  # citizens: taken from the ID number
        validators: list = []  # the services check one ID per category and one foreigner per document

    def validate_id_number(self, value: str | None) -> str | None:
        # Blank means "none" (foreigners may have no citizen ID): NULL, never "", as the services store it.
        return (value.strip().upper() or None) if value else None


class PersonCreateSerializer(PersonUpdateSerializer):
    grid = ScopedPrimaryKeyRelatedField(
        queryset=Grid.objects.select_related("community"), required=False, allow_null=True
    )

    class Meta(PersonUpdateSerializer.Meta):
        fields = ["grid", *PERSON_WRITABLE]


class PersonRevealRequestSerializer(serializers.Serializer):
    """Which personal fields of a person to show in full, and why (the purpose goes to the access log)."""

    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=PERSON_PERSONAL), min_length=1, max_length=len(PERSON_PERSONAL)
    )
    purpose = serializers.CharField(max_length=200, allow_blank=True)


class PersonRevealedSerializer(serializers.Serializer):
    id_number = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    document_number = serializers.CharField(required=False)
    permit_number = serializers.CharField(required=False)


class HouseRevealRequestSerializer(serializers.Serializer):
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=HOUSE_PERSONAL), min_length=1, max_length=len(HOUSE_PERSONAL)
    )
    purpose = serializers.CharField(max_length=200, allow_blank=True)


class HouseRevealedSerializer(serializers.Serializer):
    owner_id_number = serializers.CharField(required=False)
    owner_phone = serializers.CharField(required=False)
    landlord_phone = serializers.CharField(required=False)
    manager_phone = serializers.CharField(required=False)


# --- units ----------------------------------------------------------------------------------------------
UNIT_WRITABLE = [
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
]


class UnitSerializer(serializers.ModelSerializer):
    address_text = serializers.CharField(source="address.full_text", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    security_phone = MaskedField(mask_as="phone")
    key_level = serializers.ChoiceField(choices=KeyLevel.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Unit
        fields = ["id", *UNIT_WRITABLE, "address_text", "grid", "grid_name", "created_at", "updated_at"]
        read_only_fields = fields


class UnitUpdateSerializer(serializers.ModelSerializer):
    address = ScopedPrimaryKeyRelatedField(queryset=Address.objects.all(), required=False)

    class Meta:
        model = Unit
        fields = UNIT_WRITABLE
        validators: list = []
        extra_kwargs = {
            **POINT,
            **_no_unique_validators("credit_code"),
            "camera_count": {"min_value": 0, "max_value": 2**31 - 1},
        }


class UnitCreateSerializer(UnitUpdateSerializer):
    address = ScopedPrimaryKeyRelatedField(queryset=Address.objects.all())


# --- persons of concern ---------------------------------------------------------------------------------
class PersonOfConcernSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    person_id_number = MaskedField(mask_as="id_number", source="person.id_number")
    grid = serializers.IntegerField(source="person.grid_id", read_only=True)
    grid_name = serializers.CharField(source="person.grid.name", read_only=True)
    requested_by_name = serializers.StringRelatedField(source="requested_by")
    decided_by_name = serializers.StringRelatedField(source="decided_by", allow_null=True)
    transfer_to_name = serializers.CharField(source="transfer_to.name", read_only=True, allow_null=True)

    class Meta:
        model = PersonOfConcern
        fields = [
            "id",
            "person",
            "person_name",
            "person_id_number",
            "grid",
            "grid_name",
            "concern_type",
            "status",
            "reason",
            "listed_on",
            "delisted_on",
            "requested_by",
            "requested_by_name",
            "request_note",
            "transfer_to",
            "transfer_to_name",
            "decided_by",
            "decided_by_name",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


class ListingRequestSerializer(serializers.Serializer):
    concern_type = serializers.ChoiceField(choices=ConcernType.choices)
    reason = serializers.CharField(max_length=300)


class DelistingRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ReclassRequestSerializer(serializers.Serializer):
    concern_type = serializers.ChoiceField(choices=ConcernType.choices)
    reason = serializers.CharField(max_length=250)


class TransferRequestSerializer(serializers.Serializer):
    """The receiving grid may be anywhere in the sub-bureau (the person has moved out of the territory)."""

    to_grid = serializers.PrimaryKeyRelatedField(queryset=Grid.objects.all())
    reason = serializers.CharField(max_length=300)


# --- visits ---------------------------------------------------------------------------------------------
class VisitSerializer(serializers.ModelSerializer):
    address_text = serializers.CharField(source="household.house.address.full_text", read_only=True)
    visited_by_name = serializers.StringRelatedField(source="visited_by")
    photo = serializers.ImageField(read_only=True, allow_null=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "household",
            "address_text",
            "grid",
            "visited_by",
            "visited_by_name",
            "visited_at",
            "findings",
            "photo",
            "colour_at_visit",
            "next_due",
            "created_at",
        ]
        read_only_fields = fields


class VisitCreateSerializer(serializers.Serializer):
    household = ScopedPrimaryKeyRelatedField(queryset=Household.objects.all())
    findings = serializers.CharField(max_length=5000)
    visited_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    photo = serializers.ImageField(required=False, allow_null=True, default=None)


# --- search ---------------------------------------------------------------------------------------------
class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=100, help_text="身份号码（全号或末4–6位）、姓名、拼音首字母、电话或地址"
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20, required=False)


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["person", "house", "unit"])
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField(allow_blank=True)
    url = serializers.CharField()
    colour = serializers.CharField(allow_blank=True)
    house = serializers.IntegerField(
        allow_null=True, help_text="房屋（人员的现住房屋）；地图据此打开房屋详情"
    )
    lng = serializers.FloatField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)


class SearchResultsSerializer(serializers.Serializer):
    results = SearchHitSerializer(many=True)
