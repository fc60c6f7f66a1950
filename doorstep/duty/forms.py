"""Forms of police-room duty, with their errors in Chinese."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.core.forms import style
from doorstep.core.validators import within_service_years
from doorstep.duty.rules import ELIGIBLE_KINDS
from doorstep.org.models import PoliceRoom, Staff

LOCAL_INPUT = "%Y-%m-%dT%H:%M"
INPUT_FORMATS = [LOCAL_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        validators=[within_service_years],
        input_formats=INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        error_messages={"required": _("请填写%(label)s") % {"label": label}, "invalid": _("时间格式不正确")},
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Staff) -> str:
        return f"{obj.name}（{obj.get_kind_display()} {obj.badge_number}）"


class ShiftForm(forms.Form):
    staff = StaffChoiceField(
        label=_("值守人员"),
        queryset=Staff.objects.none(),
        error_messages={"required": _("请选择值守人员"), "invalid_choice": _("请选择本所的值守人员")},
    )
    starts_at = _datetime_field(_("开始时间"))
    ends_at = _datetime_field(_("结束时间"))
    note = forms.CharField(
        label=_("备注"), max_length=200, required=False, error_messages={"max_length": _("备注不能超过200字")}
    )

    def __init__(self, *args, room: PoliceRoom, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = Staff.objects.filter(
            station_id=room.community.station_id, kind__in=ELIGIBLE_KINDS, active=True
        ).order_by("kind", "badge_number")
        style(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("结束时间必须晚于开始时间"))
        return data


class WeekForm(forms.Form):
    week = forms.DateField(
        validators=[within_service_years],
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("日期格式不正确")},
    )


class ClockForm(forms.Form):
    """A position from the phone (navigator.geolocation): WGS-84 degrees and the accuracy in metres."""

    lng = forms.FloatField(
        label=_("经度"), error_messages={"required": _("缺少定位（经度）"), "invalid": _("经度格式不正确")}
    )
    lat = forms.FloatField(
        label=_("纬度"), error_messages={"required": _("缺少定位（纬度）"), "invalid": _("纬度格式不正确")}
    )
    accuracy = forms.FloatField(
        label=_("定位精度"),
        min_value=0,
        error_messages={
            "required": _("缺少定位精度"),
            "invalid": _("定位精度格式不正确"),
            "min_value": _("定位精度无效"),
        },
    )


class ClockOutForm(forms.Form):
    lng = forms.FloatField(required=False, error_messages={"invalid": _("经度格式不正确")})
    lat = forms.FloatField(required=False, error_messages={"invalid": _("纬度格式不正确")})
    accuracy = forms.FloatField(
        required=False, min_value=0, error_messages={"invalid": _("定位精度格式不正确")}
    )


def first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return str(_("提交的数据无效"))


def parse_week(value: str | None, today: dt.date) -> dt.date:
    form = WeekForm({"week": value or ""})
    if form.is_valid() and form.cleaned_data["week"]:
        return form.cleaned_data["week"]
    return today
