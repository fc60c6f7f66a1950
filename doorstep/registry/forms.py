"""Forms of the registry pages. They only parse input; the services validate the domain and write.

Model fields are borrowed with `fields_for_model` (labels, choices and lengths stay those of the model)
but the forms are plain `Form`s: no instance is built or validated here, so a ServiceError from the service
is the one place a domain rule is enforced and shown (views map its `code` to the field it names).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.forms.models import fields_for_model, model_to_dict
from django.utils.translation import gettext_lazy as _

from doorstep.core import crypto
from doorstep.core.forms import StyledForm, style
from doorstep.org.models import Grid
from doorstep.registry import privacy, rules
from doorstep.registry.choices import ConcernType, PersonCategory
from doorstep.registry.models import Address, House, Person, Unit

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
        kwargs["widget"] = DATE_WIDGET
    return db_field.formfield(**kwargs)


class RegistryForm(StyledForm):
    """A form over some fields of a registry model; `instance` only provides the initial values."""

    model: type[models.Model]
    field_names: tuple[str, ...] = ()
    # ServiceError code → the field its message belongs to (codes that are field names map to themselves).
    error_fields: dict[str, str] = {}

    def __init__(self, *args: Any, instance: models.Model | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs["initial"] = {
                **model_to_dict(instance, fields=self.field_names),
                **kwargs.get("initial", {}),
            }
        super().__init__(*args, **kwargs)
        borrowed = fields_for_model(self.model, fields=self.field_names, formfield_callback=_formfield)
        declared = self.fields
        self.fields = {**borrowed, **declared}
        self.adjust()
        if instance is not None:
            self._hide_personal_values(instance)
        style(self)

    def _hide_personal_values(self, instance: models.Model) -> None:
        """An edit form must not print full ID numbers and phones into the page: those fields start empty,
        show the masked value as a placeholder, and an empty answer keeps the stored value."""
        for name in set(self.fields) & set(privacy.PERSONAL_FIELDS):
            value = getattr(instance, name, "")
            self.initial.pop(name, None)
            field = self.fields[name]
            field.required = False
            if value:
                field.widget.attrs["placeholder"] = privacy.masked(name, value)
                field.help_text = _("已登记 %(value)s；留空则不修改") % {"value": privacy.masked(name, value)}
            self.personal_kept = getattr(self, "personal_kept", set()) | {name}

    def adjust(self) -> None:
        """Hook for subclasses: change the borrowed fields."""

    def changes(self) -> dict[str, Any]:
        """Cleaned values of the model fields that the user changed (for the update services)."""
        kept = getattr(self, "personal_kept", set())
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name in self.field_names and not (name in kept and not self.cleaned_data[name])
        }

    def model_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.field_names if name in self.cleaned_data}

    def add_service_error(self, exc: Exception) -> None:
        code = getattr(exc, "code", "")
        field = self.error_fields.get(code, code)
        self.add_error(field if field in self.fields else None, str(exc))


class CodeLookupField(forms.CharField):
    """A registry object typed in by its code (a select of tens of thousands of addresses would not do)."""

    def __init__(self, *args: Any, queryset: Any = None, lookup: str = "code", not_found: str = "", **kwargs):
        self.queryset, self.lookup, self.not_found = queryset, lookup, not_found
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value:
            return None
        obj = (
            self.queryset.filter(**{self.lookup: value.strip()}).first()
            if self.queryset is not None
            else None
        )
        if obj is None:
            raise forms.ValidationError(
                self.not_found or _("未找到编码为 %(code)s 的记录"), params={"code": value}
            )
        return obj


# --- addresses ------------------------------------------------------------------------------------------
class AddressForm(RegistryForm):
    model = Address
    field_names = (
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
    )
    error_fields = {"duplicate": "code", "geometry": "lng"}
    code = forms.CharField(label=_("地址编码"), max_length=40)
    grid = forms.ModelChoiceField(label=_("网格/警务区"), queryset=None)

    def __init__(self, *args: Any, grids: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids
        if self.instance is not None:  # the code and grid of a stored address do not change
            del self.fields["code"]
            del self.fields["grid"]
        elif grids.count() == 1:
            self.fields["grid"].initial = grids.first().pk
        self.order_fields(["code", "grid"])

    def adjust(self) -> None:
        self.fields["division_code"].initial = "350503"
        self.fields["division_code"].widget.attrs["inputmode"] = "numeric"


class AddressReviewForm(StyledForm):
    decision = forms.ChoiceField(
        label=_("审核结果"), choices=[("approve", _("审核通过")), ("reject", _("审核不通过"))]
    )
    note = forms.CharField(label=_("审核意见"), max_length=200, required=False)


# --- houses ---------------------------------------------------------------------------------------------
HOUSE_BASE = ("property_type", "use", "structure", "floors", "area", "occupancy", "lng", "lat")
HOUSE_RENTAL = (
    "rooms_let",
    "tenants",
    "monthly_rent",
    "rental_since",
    "responsibility_signed_on",
    "refused_rectification",
)
HOUSE_PEOPLE = (
    "owner_name",
    "owner_id_number",
    "owner_phone",
    "landlord_name",
    "landlord_phone",
    "manager_name",
    "manager_phone",
)


class HouseForm(RegistryForm):
    model = House
    field_names = HOUSE_BASE + HOUSE_RENTAL + HOUSE_PEOPLE
    error_fields = {"duplicate": "code", "id_number": "owner_id_number", "geometry": "lng"}
    code = forms.CharField(label=_("房屋编码"), max_length=40)
    address = CodeLookupField(
        label=_("地址编码"),
        max_length=40,
        not_found=_("辖区内没有该地址编码，或该地址已登记房屋"),
        help_text=_("先登记标准地址，再登记房屋"),
    )
    groups = (
        (_("房屋"), ("code", "address", *HOUSE_BASE)),
        (_("出租信息（出租或群租时填写）"), HOUSE_RENTAL),
        (_("产权人、出租人、托管人"), HOUSE_PEOPLE),
    )

    def __init__(self, *args: Any, addresses: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["code"]
            del self.fields["address"]
        else:
            self.fields["address"].queryset = addresses
        self.order_fields([name for _label, names in self.groups for name in names])

    @property
    def bound_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(label, [self[n] for n in names if n in self.fields]) for label, names in self.groups]


# --- households -----------------------------------------------------------------------------------------
class HouseholdForm(StyledForm):
    house = CodeLookupField(label=_("房屋编码"), max_length=40, not_found=_("辖区内没有该房屋编码"))
    household_no = forms.CharField(label=_("户号"), max_length=20, required=False)

    def __init__(self, *args: Any, houses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["house"].queryset = houses


RELATIONS = ["户主", "配偶", "子", "女", "父母", "孙子女", "兄弟姐妹", "其他亲属", "租户", "借住", "其他"]


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        ident = (
            privacy.masked("id_number", obj.id_number)
            or obj.document_number
            and privacy.masked("document_number", obj.document_number)
        )
        return f"{obj.name}（{ident or obj.get_category_display()}）"


class MembershipForm(StyledForm):
    person = PersonChoiceField(
        label=_("本房屋的其他住户"), queryset=None, required=False, empty_label=_("— 请选择 —")
    )
    id_number = forms.CharField(
        label=_("或：成员公民身份号码"),
        max_length=18,
        required=False,
        help_text=_("辖区内已登记的人员，完整18位"),
    )
    relation = forms.CharField(label=_("与户主关系"), max_length=10, required=False)

    def __init__(self, *args: Any, persons: Any, candidates: Any, **kwargs: Any) -> None:
        self.persons = persons
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = candidates
        self.fields["relation"].widget.attrs["list"] = "relations"
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        value = (data.get("id_number") or "").strip().upper()
        if not data.get("person") and value:
            data["person"] = self.persons.filter(id_hash=crypto.search_hash("id", value)).first()
            if data["person"] is None:
                self.add_error("id_number", _("辖区内未找到该公民身份号码的人员，请先登记人员"))
        elif not data.get("person") and "person" not in self.errors:
            self.add_error(None, _("请选择本房屋的住户或填写公民身份号码"))
        return data


# --- persons --------------------------------------------------------------------------------------------
PERSON_BASE = (
    "category",
    "name",
    "id_number",
    "gender",
    "ethnicity",
    "phone",
    "register_address",
    "registered_here",
    "relation_to_head",
)
PERSON_BLOCKS = {
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


class PersonForm(RegistryForm):
    model = Person
    field_names = PERSON_BASE + tuple(f for block in PERSON_BLOCKS.values() for f in block)
    error_fields = {"duplicate": "id_number"}
    grid = forms.ModelChoiceField(label=_("网格"), queryset=None, required=False)
    house = CodeLookupField(
        label=_("现住房屋编码"), max_length=40, required=False, not_found=_("辖区内没有该房屋编码")
    )
    household = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, grids: Any = None, houses: Any = None, households: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:  # moving people is done through the household page
            for name in ("grid", "house", "household"):
                del self.fields[name]
        else:
            self.fields["grid"].queryset = grids
            self.fields["grid"].help_text = _("未填房屋时须选择网格")
            self.fields["house"].queryset = houses
            self.fields["household"].queryset = households
            if grids is not None and grids.count() == 1:
                self.fields["grid"].initial = grids.first().pk
        self.order_fields(["household", "category", "name", "id_number", "grid", "house"])

    def adjust(self) -> None:
        self.fields["gender"].required = False
        self.fields["gender"].help_text = _("有公民身份号码时按号码自动确定")
        self.fields["id_number"].help_text = _("18位；境外人员可不填")
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        self.fields["phone"].widget.attrs["inputmode"] = "tel"
        self.fields["relation_to_head"].widget.attrs["list"] = "relations"
        self.fields["category"].widget.attrs["data-category-select"] = "1"

    @property
    def base_fields_bound(self) -> list[forms.BoundField]:
        blocked = {f for block in PERSON_BLOCKS.values() for f in block}
        return [self[name] for name in self.fields if name not in blocked and name != "household"]

    @property
    def blocks(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        return [
            (category.value, category.label, [self[name] for name in names if name in self.fields])
            for category, names in PERSON_BLOCKS.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance is None and not (data.get("grid") or data.get("house") or data.get("household")):
            self.add_error("grid", _("请选择网格或填写现住房屋编码"))
        if not data.get("gender"):
            data["gender"] = getattr(self.instance, "gender", None) or "0"
        return data


# --- units ----------------------------------------------------------------------------------------------
class UnitForm(RegistryForm):
    model = Unit
    field_names = (
        "name",
        "credit_code",
        "unit_type",
        "industry",
        "legal_representative",
        "security_lead",
        "security_phone",
        "is_key",
        "key_level",
        "risk_level",
        "camera_count",
        "lng",
        "lat",
    )
    error_fields = {"duplicate": "credit_code", "geometry": "lng"}
    address = CodeLookupField(label=_("地址编码"), max_length=40, not_found=_("辖区内没有该地址编码"))

    def __init__(self, *args: Any, addresses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = addresses
        if self.instance is not None and not self.is_bound:
            self.initial["address"] = self.instance.address.code
        self.order_fields(["name", "credit_code", "unit_type", "industry", "address"])

    def adjust(self) -> None:
        self.fields["credit_code"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        self.fields["key_level"].help_text = _("重点单位须确定等级")

    def changes(self) -> dict[str, Any]:
        changes = super().changes()
        if "address" in self.changed_data:
            changes["address"] = self.cleaned_data["address"]
        return changes


# --- visits, reveals, persons of concern ----------------------------------------------------------------
class VisitForm(StyledForm):
    visited_at = forms.DateTimeField(label=_("走访时间"), widget=DATETIME_WIDGET)
    findings = forms.CharField(label=_("走访情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)
    photo = forms.ImageField(label=_("现场照片（可选）"), required=False)

    MAX_PHOTO_BYTES = 8 * 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Phones open the camera directly.
        self.fields["photo"].widget.attrs.update({"accept": "image/*", "capture": "environment"})

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > self.MAX_PHOTO_BYTES:
            raise forms.ValidationError(_("照片不能超过8MB"))
        return photo


class RevealForm(StyledForm):
    purpose = forms.CharField(
        label=_("查看事由"),
        max_length=200,
        help_text=_("将记入个人信息访问日志"),
        error_messages={"required": _("请填写查看事由")},
    )


class ConcernRequestForm(StyledForm):
    concern_type = forms.ChoiceField(label=_("重点人员类别"), choices=ConcernType.choices)
    reason = forms.CharField(label=_("列管事由"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class DelistForm(StyledForm):
    reason = forms.CharField(label=_("撤管理由"), max_length=300)


class ReclassForm(StyledForm):
    concern_type = forms.ChoiceField(label=_("转为类别"), choices=ConcernType.choices)
    reason = forms.CharField(label=_("转类理由"), max_length=250)


class TransferForm(StyledForm):
    to_grid = forms.ModelChoiceField(
        label=_("转递至网格"),
        queryset=Grid.objects.select_related("community__station").order_by(
            "community__station__name", "community__name", "name"
        ),
        error_messages={"required": _("请选择接收的网格"), "invalid_choice": _("请选择接收的网格")},
    )
    reason = forms.CharField(label=_("转递理由"), max_length=300)


class DecisionForm(StyledForm):
    decision = forms.ChoiceField(label=_("审批结果"), choices=[("approve", _("批准")), ("reject", _("驳回"))])
    note = forms.CharField(label=_("审批意见"), max_length=300, required=False)


# --- colour rules ---------------------------------------------------------------------------------------
DIRECT_CHOICES = [("red", _("红")), ("yellow", _("黄")), ("", _("不直接定色"))]
COLOUR_LABELS = {"red": _("红色户"), "yellow": _("黄色户"), "green": _("绿色户")}


class ColourRulesForm(StyledForm):
    """Every factor of the rule set (enabled, 直接定色, 扣分), the thresholds and the visit intervals."""

    start_score = forms.IntegerField(label=_("起始分"), min_value=1, max_value=100)
    red_below = forms.IntegerField(label=_("低于此分定为红色"), min_value=-100, max_value=100)
    yellow_below = forms.IntegerField(label=_("低于此分定为黄色"), min_value=-100, max_value=100)

    def __init__(self, *args: Any, params: dict[str, Any], **kwargs: Any) -> None:
        initial = {
            "start_score": params["start_score"],
            "red_below": params["red_below"],
            "yellow_below": params["yellow_below"],
        }
        for colour, days in params["visit_days"].items():
            initial[f"visit_{colour}"] = days
        for name, factor in params["factors"].items():
            initial[f"{name}__enabled"] = factor["enabled"]
            initial[f"{name}__direct"] = factor["direct"] or ""
            initial[f"{name}__deduct"] = factor["deduct"]
        kwargs["initial"] = initial
        self.params = params
        super().__init__(*args, **kwargs)
        for colour in params["visit_days"]:
            self.fields[f"visit_{colour}"] = forms.IntegerField(
                label=_("%(colour)s走访周期（天）") % {"colour": COLOUR_LABELS.get(colour, colour)},
                min_value=1,
                max_value=366,
            )
        for name in params["factors"]:
            self.fields[f"{name}__enabled"] = forms.BooleanField(label=_("启用"), required=False)
            self.fields[f"{name}__direct"] = forms.ChoiceField(
                label=_("直接定色"), choices=DIRECT_CHOICES, required=False
            )
            self.fields[f"{name}__deduct"] = forms.IntegerField(label=_("扣分"), min_value=0, max_value=10)
        style(self)

    @property
    def factor_rows(self) -> list[tuple[str, str, forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (
                name,
                factor["label"],
                self[f"{name}__enabled"],
                self[f"{name}__direct"],
                self[f"{name}__deduct"],
            )
            for name, factor in self.params["factors"].items()
        ]

    @property
    def score_fields(self) -> list[forms.BoundField]:
        return [self["start_score"], self["red_below"], self["yellow_below"]]

    @property
    def visit_fields(self) -> list[forms.BoundField]:
        return [self[f"visit_{colour}"] for colour in self.params["visit_days"]]

    def to_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "start_score": data["start_score"],
            "red_below": data["red_below"],
            "yellow_below": data["yellow_below"],
            "visit_days": {colour: data[f"visit_{colour}"] for colour in self.params["visit_days"]},
            "factors": {
                name: {
                    "enabled": data[f"{name}__enabled"],
                    "direct": data[f"{name}__direct"] or None,
                    "deduct": data[f"{name}__deduct"],
                }
                for name in self.params["factors"]
            },
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            for problem in rules.validate_params(rules.merged_params(self.to_params())):
                self.add_error(None, problem)
        return data
