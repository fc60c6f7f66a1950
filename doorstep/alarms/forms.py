"""Forms and the device FilterSet of the alarm device pages. Forms only parse input; the services validate
the domain and write, and their refusals come back as errors on the field their `code` names."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.alarms import devices, drills, stats
from doorstep.alarms.choices import DeviceKind, Protocol
from doorstep.alarms.models import AlarmDevice
from doorstep.core.forms import StyledForm
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Station
from doorstep.registry.forms import DATETIME_WIDGET
from doorstep.registry.models import Unit

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONTH_WIDGET = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"})


def show_defaults(form: forms.Form, **values: Any) -> None:
    """Put the defaults a bound form applied into its data, so that its inputs show what was used."""
    data = form.data.copy()
    for name, value in values.items():
        if not data.get(name):
            data[name] = value
    form.data = data


class ServiceErrorsMixin:
    """Put a ServiceError on the field its code names (or on the form)."""

    error_fields: dict[str, str] = {}

    def add_service_error(self, exc: Exception) -> None:
        code = getattr(exc, "code", "")
        name = self.error_fields.get(code, code)
        self.add_error(name if name in self.fields else None, str(exc))  # type: ignore[attr-defined]


# --- devices ---------------------------------------------------------------------------------------------------
class DeviceFilterSet(ScopedFilterSet):
    """The device list's filters (station, key unit, health, protocol, kind, text)."""

    q = filters.CharFilter(label=_("设备编号或位置"), method="filter_q")
    station = filters.ModelChoiceFilter(label=_("派出所"), queryset=Station.objects.all())
    unit = filters.ModelChoiceFilter(label=_("单位"), queryset=Unit.objects.filter(is_key=True))
    health = filters.ChoiceFilter(label=_("状态"), choices=devices.Health.choices, method="filter_health")
    protocol = filters.ChoiceFilter(label=_("接入协议"), choices=Protocol.choices)
    kind = filters.ChoiceFilter(label=_("设备类型"), choices=DeviceKind.choices)

    class Meta:
        model = AlarmDevice
        fields = ["q", "station", "unit", "health", "protocol", "kind"]

    def filter_q(self, qs, name, value):
        value = value.strip()
        return qs.filter(Q(device_id__icontains=value) | Q(location__contains=value)) if value else qs

    def filter_health(self, qs, name, value):
        return qs.filter(health=value)


class DeviceForm(ServiceErrorsMixin, StyledForm):
    """新增报警设备."""

    error_fields = {"unit": "unit"}
    unit = forms.ModelChoiceField(label=_("重点单位"), queryset=Unit.objects.none())
    device_id = forms.CharField(
        label=_("设备编号"),
        max_length=40,
        help_text=_("4至40位字母、数字、下划线或连字符，与设备上配置的一致"),
    )
    kind = forms.ChoiceField(label=_("设备类型"), choices=DeviceKind.choices, initial=DeviceKind.BUTTON)
    protocol = forms.ChoiceField(label=_("接入协议"), choices=Protocol.choices, initial=Protocol.HTTP)
    location = forms.CharField(
        label=_("安装位置"), max_length=100, help_text=_("单位内的位置，如“东门保安亭”")
    )
    heartbeat_seconds = forms.IntegerField(
        label=_("心跳间隔（秒）"),
        initial=300,
        min_value=devices.MIN_HEARTBEAT,
        max_value=devices.MAX_HEARTBEAT,
        help_text=_("连续两个间隔没有心跳即判为离线"),
    )
    sia_account = forms.CharField(
        label=_("SIA 账号"),
        max_length=16,
        required=False,
        help_text=_("仅 SIA DC-09：3至16位十六进制数字，与报警主机上的账号一致"),
    )
    with_aes_key = forms.BooleanField(
        label=_("生成 AES 密钥（加密传输，推荐）"), required=False, initial=True
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["unit"].label_from_instance = lambda u: f"{u.name}（{u.address.full_text}）"
        self.fields["device_id"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("protocol") == Protocol.DC09 and not data.get("sia_account"):
            self.add_error("sia_account", _("SIA DC-09 设备须填写 SIA 账号"))
        return data


class DeviceEditForm(ServiceErrorsMixin, StyledForm):
    location = forms.CharField(label=_("安装位置"), max_length=100)
    heartbeat_seconds = forms.IntegerField(
        label=_("心跳间隔（秒）"), min_value=devices.MIN_HEARTBEAT, max_value=devices.MAX_HEARTBEAT
    )


class RotateForm(ServiceErrorsMixin, StyledForm):
    confirm = forms.BooleanField(
        label=_("我已知晓：旧密钥将立即失效，设备须改用新密钥"),
        error_messages={"required": _("请确认旧密钥将立即失效")},
    )
    with_aes_key = forms.BooleanField(label=_("生成 AES 密钥（该设备改为加密传输）"), required=False)

    def __init__(self, *args: Any, device: AlarmDevice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if device.protocol != Protocol.DC09 or device.aes_key:
            del self.fields["with_aes_key"]


class NoteForm(StyledForm):
    """A required note (clearing an alert)."""

    note = forms.CharField(label=_("说明"), max_length=200, widget=forms.TextInput)


class OptionalNoteForm(StyledForm):
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


# --- drills ------------------------------------------------------------------------------------------------------
TARGETS = [("device", _("一台设备")), ("station", _("本所全部启用设备"))]


class DrillForm(ServiceErrorsMixin, StyledForm):
    error_fields = {"target": "target"}
    target = forms.ChoiceField(
        label=_("演练对象"), choices=TARGETS, widget=forms.RadioSelect, initial="device"
    )
    device = forms.ModelChoiceField(label=_("设备"), queryset=AlarmDevice.objects.none(), required=False)
    station = forms.ModelChoiceField(label=_("派出所"), queryset=Station.objects.none(), required=False)
    first_start = forms.DateTimeField(label=_("首次演练开始"), widget=DATETIME_WIDGET)
    window_minutes = forms.IntegerField(
        label=_("演练时长（分钟）"), initial=60, min_value=5, max_value=24 * 60
    )
    every_months = forms.IntegerField(
        label=_("每隔几个月重复"), initial=3, min_value=1, max_value=12, help_text=_("默认每季度一次")
    )
    occurrences = forms.IntegerField(
        label=_("演练次数"), initial=4, min_value=1, max_value=drills.MAX_OCCURRENCES
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, device_qs: Any, station_qs: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = device_qs
        self.fields["device"].label_from_instance = lambda d: f"{d.device_id} · {d.unit.name} · {d.location}"
        self.fields["station"].queryset = station_qs
        self.fields["station"].help_text = _("选择“本所全部启用设备”时填写")
        if "first_start" not in self.initial:
            tomorrow = timezone.localdate() + dt.timedelta(days=1)
            self.initial["first_start"] = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9)))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        target = data.get("target")
        if target == "device" and not data.get("device"):
            self.add_error("device", _("请选择设备"))
        if target == "station" and not data.get("station"):
            self.add_error("station", _("请选择派出所"))
        return data


YEARS = (2000, 2099)  # what a drill period or schedule may reach (as statistics months)


class PeriodForm(StyledForm):
    """The drill report's station and period (dates inclusive)."""

    station = forms.ModelChoiceField(label=_("派出所"), queryset=Station.objects.none(), required=False)
    start = forms.DateField(label=_("起始日期"), widget=DATE_WIDGET, required=False)
    end = forms.DateField(label=_("截止日期"), widget=DATE_WIDGET, required=False)

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
        self.fields["station"].empty_label = _("全部")

    def clean(self) -> dict[str, Any]:
        """Missing dates default to a quarter: the current one, or the three months from the start given
        (up to the end given)."""
        data = super().clean()
        if self.errors:
            return data
        start, end = data.get("start"), data.get("end")
        for name, day in (("start", start), ("end", end)):
            if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
                self.add_error(name, _("日期应在%(a)s年至%(b)s年之间") % {"a": YEARS[0], "b": YEARS[1]})
        if self.errors:
            return data
        if start is None and end is None:
            today = timezone.localdate()
            start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        if end is None:
            end = drills.shift_months(start, 3) - dt.timedelta(days=1)
        if start is None:
            start = drills.shift_months(end + dt.timedelta(days=1), -3)
        data["start"], data["end"] = start, end
        show_defaults(self, start=data["start"].isoformat(), end=data["end"].isoformat())
        if data["end"] < data["start"]:
            self.add_error("end", _("截止日期不能早于起始日期"))
        elif (data["end"] - data["start"]).days > 366 * 2:
            self.add_error("end", _("统计期间不能超过两年"))
        return data


# --- statistics --------------------------------------------------------------------------------------------------
class MonthField(forms.CharField):
    widget = MONTH_WIDGET
    default_error_messages = {"invalid": _("月份格式应为“年-月”，如 2026-11")}

    def to_python(self, value: Any) -> stats.Month | None:
        value = super().to_python(value)
        if not value:
            return None
        try:
            return stats.Month.parse(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None

    def prepare_value(self, value: Any) -> Any:
        return str(value) if isinstance(value, stats.Month) else value


class StatsForm(StyledForm):
    """The station × month table: optional station, a range of months (default: the last six)."""

    station = forms.ModelChoiceField(label=_("派出所"), queryset=Station.objects.none(), required=False)
    start = MonthField(label=_("起始月份"), required=False)
    end = MonthField(label=_("截止月份"), required=False)

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
        self.fields["station"].empty_label = _("全部")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or stats.Month.of()
        start = data.get("start") or end.shift(-5)
        show_defaults(self, start=str(start), end=str(end))
        if end < start:
            self.add_error("end", _("截止月份不能早于起始月份"))
        elif len(stats.month_range(start, end)) > stats.MAX_MONTHS:
            self.add_error("start", _("一次最多统计24个月"))
        data["start"], data["end"] = start, end
        return data


class StatsDetailForm(StyledForm):
    """One station-month and one figure: the alarms behind it."""

    station = forms.ModelChoiceField(label=_("派出所"), queryset=Station.objects.none())
    month = MonthField(label=_("月份"))
    figure = forms.ChoiceField(
        label=_("指标"), choices=[(k, v) for k, v in stats.FIGURES.items()], required=False
    )

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
