"""Forms and FilterSets of the incident, baseline and verification pages. Forms only parse input; the
services validate the domain and write, and their refusals come back on the field their code names."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.forms import IdModelChoiceField, StyledForm, style, yes_no_select
from doorstep.core.validators import within_service_years
from doorstep.evaluation import incidents
from doorstep.evaluation.choices import INCIDENT_TYPES, Element, IncidentCategory
from doorstep.evaluation.models import Baseline, Incident, Verification
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Community, Grid, Station

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
GRID_ERRORS = {
    "required": _("请选择网格"),
    "invalid_choice": _("请选择您辖区内的网格"),
    "invalid_pk_value": _("请选择您辖区内的网格"),
}
DATE_ERRORS = {"invalid": _("请输入有效的日期，如 2026-11-28")}


def not_in_future(value: dt.date | None) -> None:
    if value is not None and value > timezone.localdate():
        raise forms.ValidationError(_("日期不能晚于今天"), code="future")


class GridChoiceField(IdModelChoiceField):
    def label_from_instance(self, obj: Grid) -> str:
        return f"{obj.community.name} · {obj.name}（{obj.code}）"


def _grid_field(queryset: QuerySet[Grid]) -> GridChoiceField:
    return GridChoiceField(
        label=_("网格"), queryset=queryset, empty_label=_("请选择网格"), error_messages=GRID_ERRORS
    )


def _day_field(label: Any, required: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=DATE_WIDGET,
        validators=[within_service_years, not_in_future],
        error_messages={"required": required, **DATE_ERRORS},
    )


# --- incidents -----------------------------------------------------------------------------------------------
class IncidentForm(ServiceErrorsMixin, StyledForm):
    """登记/更正发案. 案由 offers the usual types (a datalist) and accepts any text up to 30 characters."""

    grid = forms.ModelChoiceField(queryset=Grid.objects.none())
    occurred_on = _day_field(_("发案日期"), _("请填写发案日期"))
    category = forms.ChoiceField(
        label=_("案件类别"),
        choices=[("", _("请选择")), *IncidentCategory.choices],
        error_messages={
            "required": _("请选择案件类别"),
            "invalid_choice": _("案件类别应为刑事案件或治安案件"),
        },
    )
    kind = forms.CharField(
        label=_("案由"),
        max_length=30,
        widget=forms.TextInput(attrs={"list": "incident-types", "autocomplete": "off"}),
        error_messages={"required": _("请填写案由"), "max_length": _("案由不能超过30个字")},
    )
    place = forms.CharField(
        label=_("发案地点"),
        max_length=200,
        error_messages={"required": _("请填写发案地点"), "max_length": _("发案地点不能超过200个字")},
    )
    case_number = forms.CharField(
        label=_("案件编号"),
        max_length=40,
        required=False,
        error_messages={"max_length": _("案件编号不能超过40个字符")},
    )
    note = forms.CharField(
        label=_("备注"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": _("备注不能超过300个字")},
    )
    types = INCIDENT_TYPES

    def __init__(self, *args: Any, grids: QuerySet[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"] = _grid_field(grids.select_related("community").order_by("code"))
        self.order_fields(["grid", "occurred_on", "category", "kind", "place", "case_number", "note"])
        style(self)

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "grid": data["grid"],
            "occurred_on": data["occurred_on"],
            "category": data["category"],
            "kind": data["kind"],
            "place": data["place"],
            "case_number": data.get("case_number") or "",
            "note": data.get("note") or "",
        }


class IncidentFilterSet(ScopedFilterSet):
    """The incident list's filters; the KPI drill-downs link to exactly these parameters."""

    grid = filters.ModelChoiceFilter(label=_("网格"), queryset=Grid.objects.all())
    community = filters.ModelChoiceFilter(
        label=_("社区"), field_name="grid__community", queryset=Community.objects.all()
    )
    station = filters.ModelChoiceFilter(
        label=_("派出所"), field_name="grid__community__station", queryset=Station.objects.all()
    )
    category = filters.ChoiceFilter(label=_("案件类别"), choices=IncidentCategory.choices)
    occurred_from = filters.DateFilter(
        label=_("发案日期自"),
        field_name="occurred_on",
        lookup_expr="gte",
        widget=DATE_WIDGET,
        validators=[within_service_years],
    )
    occurred_to = filters.DateFilter(
        label=_("发案日期至"),
        field_name="occurred_on",
        lookup_expr="lte",
        widget=DATE_WIDGET,
        validators=[within_service_years],
    )

    class Meta:
        model = Incident
        fields = ["grid", "community", "station", "category", "occurred_from", "occurred_to"]


class ImportForm(StyledForm):
    file = forms.FileField(
        label=_("发案登记表（.xlsx）"),
        error_messages={"required": _("请选择要上传的文件"), "empty": _("文件是空的")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(".xlsx"):
            raise forms.ValidationError(_("只支持 .xlsx 文件，请使用下载的导入模板"))
        if upload.size > incidents.MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("文件超过 %(mb)d MB") % {"mb": incidents.MAX_IMPORT_BYTES >> 20})
        return upload


# --- baselines and verification samples ----------------------------------------------------------------------
class BaselineForm(ServiceErrorsMixin, StyledForm):
    grid = forms.ModelChoiceField(queryset=Grid.objects.none())
    element = forms.ChoiceField(
        label=_("要素"),
        choices=Element.choices,
        error_messages={"required": _("请选择要素"), "invalid_choice": _("要素无效")},
    )
    as_of = _day_field(_("基准日期"), _("请填写基准日期"))
    expected = forms.IntegerField(
        label=_("应采集数"),
        min_value=0,
        max_value=10_000_000,
        error_messages={
            "required": _("请填写应采集数"),
            "invalid": _("应采集数应为整数"),
            "min_value": _("应采集数不能小于0"),
            "max_value": _("应采集数过大"),
        },
    )
    source = forms.CharField(
        label=_("数据来源"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("如 户籍系统、人口普查、街道台账")}),
        error_messages={"required": _("请填写数据来源"), "max_length": _("数据来源不能超过100个字")},
    )

    def __init__(self, *args: Any, grids: QuerySet[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"] = _grid_field(grids.select_related("community").order_by("code"))
        self.order_fields(["grid", "element", "as_of", "expected", "source"])
        style(self)


class VerificationForm(ServiceErrorsMixin, StyledForm):
    grid = forms.ModelChoiceField(queryset=Grid.objects.none())
    element = forms.ChoiceField(
        label=_("要素"),
        choices=Element.choices,
        error_messages={"required": _("请选择要素"), "invalid_choice": _("要素无效")},
    )
    object_id = forms.IntegerField(
        label=_("记录ID"),
        min_value=1,
        max_value=2**63 - 1,
        error_messages={
            "required": _("请填写记录ID"),
            "invalid": _("记录ID应为正整数"),
            "min_value": _("记录ID应为正整数"),
            "max_value": _("记录ID过大"),
        },
    )
    checked_on = _day_field(_("核查日期"), _("请填写核查日期"))
    correct = forms.TypedChoiceField(
        label=_("信息准确"),
        choices=[("", _("请选择")), ("yes", _("准确")), ("no", _("不准确"))],
        coerce=lambda v: v == "yes",
        error_messages={"required": _("请选择信息是否准确"), "invalid_choice": _("请选择信息是否准确")},
    )
    note = forms.CharField(
        label=_("核查情况"),
        max_length=300,
        required=False,
        error_messages={"max_length": _("核查情况不能超过300个字")},
    )

    def __init__(self, *args: Any, grids: QuerySet[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"] = _grid_field(grids.select_related("community").order_by("code"))
        self.order_fields(["grid", "element", "object_id", "checked_on", "correct", "note"])
        style(self)


class BaselineFilterSet(ScopedFilterSet):
    grid = filters.ModelChoiceFilter(label=_("网格"), queryset=Grid.objects.all())
    element = filters.ChoiceFilter(label=_("要素"), choices=Element.choices)

    class Meta:
        model = Baseline
        fields = ["grid", "element"]


class VerificationFilterSet(ScopedFilterSet):
    """The verification list's filters; 准确率's drill-down links to grid/community/station and the period."""

    grid = filters.ModelChoiceFilter(label=_("网格"), queryset=Grid.objects.all())
    community = filters.ModelChoiceFilter(
        label=_("社区"), field_name="grid__community", queryset=Community.objects.all()
    )
    station = filters.ModelChoiceFilter(
        label=_("派出所"), field_name="grid__community__station", queryset=Station.objects.all()
    )
    element = filters.ChoiceFilter(label=_("要素"), choices=Element.choices)
    correct = filters.BooleanFilter(
        label=_("信息准确"),
        widget=yes_no_select(_("准确"), _("不准确")),
    )
    checked_from = filters.DateFilter(
        label=_("核查日期自"),
        field_name="checked_on",
        lookup_expr="gte",
        widget=DATE_WIDGET,
        validators=[within_service_years],
    )
    checked_to = filters.DateFilter(
        label=_("核查日期至"),
        field_name="checked_on",
        lookup_expr="lte",
        widget=DATE_WIDGET,
        validators=[within_service_years],
    )

    class Meta:
        model = Verification
        fields = ["grid", "community", "station", "element", "correct", "checked_from", "checked_to"]
