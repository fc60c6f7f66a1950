"""Forms of what residents send and of the staff queue. They only parse and bound input (Chinese errors);
the services in portal.services enforce the rules, and a ServiceError's `code` names the field it belongs to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.errors import ServiceError
from doorstep.core.forms import IdModelChoiceField, StyledForm
from doorstep.desk.models import BusinessType
from doorstep.org.models import Community
from doorstep.portal import phones, services
from doorstep.portal.choices import Kind, Status

REQUIRED = {"required": _("此项为必填项")}
WEEKDAYS = [
    (0, _("周一")),
    (1, _("周二")),
    (2, _("周三")),
    (3, _("周四")),
    (4, _("周五")),
    (5, _("周六")),
    (6, _("周日")),
]


def _choice_errors() -> dict[str, Any]:
    return {"required": _("请选择"), "invalid_choice": _("选择无效，请重新选择")}


class ChoiceStyledForm(StyledForm):
    """A styled form whose radio and checkbox lists get Bootstrap's check class (registry's `style` gives
    every non-select widget `form-control`)."""

    def _check_classes(self) -> None:
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._check_classes()

    def full_clean(self) -> None:
        super().full_clean()
        self._check_classes()


class PortalForm(ServiceErrorsMixin, ChoiceStyledForm):
    """A resident's form: a ServiceError goes on the field its code names (alarms.forms.ServiceErrorsMixin)."""


def _phone_field(required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("手机号码"),
        max_length=20,
        required=required,
        error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


def _name_field(required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("姓名"),
        max_length=50,
        required=required,
        error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class LocationMixin(forms.Form):
    """Where: the community (those with a police room) and/or address text, and the signed code of a
    standard address picked from the address lookup."""

    community = IdModelChoiceField(
        label=_("所在社区"),
        queryset=Community.objects.none(),
        required=False,
        empty_label=_("（不清楚可不选）"),
        error_messages=_choice_errors(),
    )
    address_text = forms.CharField(label=_("地址"), max_length=200, required=False)
    address_code = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = (
            Community.objects.filter(police_room__isnull=False).select_related("station").order_by("code")
        )

    def location(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "community": d.get("community"),
            "address_text": d.get("address_text", ""),
            "address_code": d.get("address_code", ""),
        }


def _clean_phone(value: str) -> str:
    try:
        return phones.clean_mobile(value)
    except ServiceError as exc:
        raise forms.ValidationError(str(exc)) from exc


class TipForm(PortalForm, LocationMixin):
    content = forms.CharField(
        label=_("线索内容"),
        max_length=2000,
        error_messages=REQUIRED,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    occurred_at = forms.DateTimeField(
        label=_("发生时间"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("请填写正确的时间")},
    )
    photo = forms.FileField(
        label=_("照片（可选，不超过5MB）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
    anonymous = forms.BooleanField(label=_("匿名举报（不留姓名和电话）"), required=False)
    name = _name_field(required=False)
    phone = _phone_field(required=False)

    field_order = [
        "content",
        "community",
        "address_text",
        "occurred_at",
        "photo",
        "anonymous",
        "name",
        "phone",
    ]

    def clean_occurred_at(self) -> dt.datetime | None:
        value = self.cleaned_data.get("occurred_at")
        if value and value > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError(_("发生时间不能晚于现在"))
        if value and value < timezone.now() - dt.timedelta(days=services.OLDEST_OCCURRENCE_DAYS):
            raise forms.ValidationError(_("发生时间不能早于十年前"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("anonymous"):
            data["name"], data["phone"] = "", ""
            return data
        if not (data.get("name") or "").strip() and "name" not in self.errors:
            self.add_error("name", _("不匿名时请填写姓名"))
        phone = data.get("phone")
        if not phone and "phone" not in self.errors:
            self.add_error("phone", _("不匿名时请填写手机号码"))
        elif phone:
            try:
                data["phone"] = _clean_phone(phone)
            except forms.ValidationError as exc:
                self.add_error("phone", exc)
        return data


class ContactMixin(forms.Form):
    name = _name_field()
    phone = _phone_field()

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data["phone"])


def _business_field() -> IdModelChoiceField:
    return IdModelChoiceField(
        label=_("办理业务"),
        queryset=BusinessType.objects.filter(active=True),
        empty_label=_("请选择"),
        error_messages=_choice_errors(),
    )


class ServiceForm(PortalForm, LocationMixin, ContactMixin):
    business_type = _business_field()
    content = forms.CharField(
        label=_("咨询的问题"),
        max_length=2000,
        error_messages=REQUIRED,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    field_order = ["business_type", "content", "community", "address_text", "name", "phone"]


class DisputeForm(PortalForm, LocationMixin, ContactMixin):
    content = forms.CharField(
        label=_("事情经过"),
        max_length=1800,
        error_messages=REQUIRED,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    other_party = forms.CharField(
        label=_("对方当事人"),
        max_length=100,
        error_messages=REQUIRED,
        help_text=_("对方的姓名或称呼，如“楼上住户”“某某公司”"),
    )

    field_order = ["content", "other_party", "community", "address_text", "name", "phone"]


class SlotChoiceField(IdModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        start = timezone.localtime(obj.starts_at)
        end = timezone.localtime(obj.ends_at)
        return _("%(day)s %(start)s–%(end)s（余%(free)s个）") % {
            "day": start.strftime("%m-%d ") + str(WEEKDAYS[start.weekday()][1]),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "free": obj.free,
        }


class RoomChoiceForm(forms.Form):
    """Step one of a booking (GET): which police room."""

    room = IdModelChoiceField(
        label=_("警务室"), queryset=None, empty_label=_("请选择警务室"), error_messages=_choice_errors()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from doorstep.org.models import PoliceRoom

        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = PoliceRoom.objects.select_related("community").order_by(
            "community__code"
        )
        self.fields["room"].widget.attrs["class"] = "form-select"


class BookForm(PortalForm, ContactMixin):
    room = forms.CharField(widget=forms.HiddenInput, max_length=20)
    slot = SlotChoiceField(
        label=_("预约时段"),
        queryset=None,
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": _("请选择预约时段"), "invalid_choice": _("该时段已不可预约，请重新选择")},
    )
    business_type = _business_field()
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=8,
        error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
    address_text = forms.CharField(label=_("您的住址（可选）"), max_length=200, required=False)
    address_code = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)

    field_order = ["room", "slot", "business_type", "name", "phone", "code", "address_text"]

    def __init__(self, *args: Any, slots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slot"].queryset = slots


class CodeRequestForm(forms.Form):
    phone = forms.CharField(max_length=20, error_messages={"required": _("请填写手机号码")})

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data["phone"])


class ReceiptForm(PortalForm):
    code = forms.CharField(
        label=_("回执码"),
        max_length=40,
        error_messages={"required": _("请填写回执码")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class CancelBookingForm(PortalForm):
    code = forms.CharField(
        max_length=40, widget=forms.HiddenInput, error_messages={"required": _("请填写回执码")}
    )
    phone = _phone_field()


# --- staff ---------------------------------------------------------------------------------------------------
class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *Status.choices]
    )
    kind = forms.ChoiceField(label=_("类别"), required=False, choices=[("", _("全部类别")), *Kind.choices])
    community = IdModelChoiceField(
        label=_("社区"),
        queryset=Community.objects.none(),
        required=False,
        empty_label=_("全部社区"),
        error_messages=_choice_errors(),
    )

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select"


class ReplyForm(StyledForm):
    text = forms.CharField(
        label=_("答复群众"),
        max_length=1000,
        required=False,
        help_text=_("群众凭回执码可见，请勿填写内部信息"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RejectForm(StyledForm):
    reason = forms.CharField(
        label=_("不予受理理由"),
        max_length=1000,
        error_messages={"required": _("请填写不予受理的理由")},
        help_text=_("群众凭回执码可见"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class MediationForm(StyledForm):
    dispute_type = IdModelChoiceField(
        label=_("纠纷类型"), queryset=None, empty_label=_("请选择"), error_messages=_choice_errors()
    )
    other_party = forms.CharField(label=_("对方当事人"), max_length=100, error_messages=REQUIRED)
    community = IdModelChoiceField(
        label=_("纠纷所在社区"),
        queryset=Community.objects.none(),
        required=False,
        empty_label=_("（按事项所在社区）"),
        error_messages=_choice_errors(),
    )
    place = forms.CharField(label=_("发生地点"), max_length=200, required=False)

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        from doorstep.mediation.models import DisputeType

        super().__init__(*args, **kwargs)
        self.fields["dispute_type"].queryset = DisputeType.objects.filter(active=True)
        self.fields["community"].queryset = communities


class PlaceForm(StyledForm):
    community = IdModelChoiceField(
        label=_("转派到社区"),
        queryset=Community.objects.none(),
        empty_label=_("请选择"),
        error_messages=_choice_errors(),
    )

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities


class PublishSlotsForm(ServiceErrorsMixin, ChoiceStyledForm):
    room = IdModelChoiceField(
        label=_("警务室"), queryset=None, empty_label=None, error_messages=_choice_errors()
    )
    start = forms.DateField(
        label=_("开始日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("请填写开始日期"), "invalid": _("日期格式不正确")},
    )
    end = forms.DateField(
        label=_("结束日期"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("请填写结束日期"), "invalid": _("日期格式不正确")},
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("星期"),
        choices=WEEKDAYS,
        coerce=int,
        initial=[0, 1, 2, 3, 4],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请选择星期"), "invalid_choice": _("选择无效")},
    )
    start_times = forms.CharField(
        label=_("开始时间"),
        max_length=300,
        initial="09:00 10:00 15:00 16:00",
        help_text=_("多个时间用空格或逗号分隔，如 09:00 10:00"),
        error_messages={"required": _("请填写开始时间")},
    )
    minutes = forms.IntegerField(
        label=_("每个时段（分钟）"),
        min_value=5,
        max_value=480,
        initial=60,
        error_messages={
            "required": _("请填写时长"),
            "invalid": _("请填写整数"),
            "min_value": _("每个时段5至480分钟"),
            "max_value": _("每个时段5至480分钟"),
        },
    )
    capacity = forms.IntegerField(
        label=_("每个时段可约人数"),
        min_value=1,
        max_value=50,
        initial=2,
        error_messages={
            "required": _("请填写可约人数"),
            "invalid": _("请填写整数"),
            "min_value": _("可约人数为1至50"),
            "max_value": _("可约人数为1至50"),
        },
    )

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = rooms

    def clean_start_times(self) -> list[dt.time]:
        raw = self.cleaned_data["start_times"].replace("，", ",").replace(",", " ").split()
        if len(raw) > 24:
            raise forms.ValidationError(_("开始时间最多24个"))
        times: list[dt.time] = []
        for part in raw:
            try:
                times.append(dt.datetime.strptime(part, "%H:%M").time())
            except ValueError as exc:
                raise forms.ValidationError(
                    _("时间“%(t)s”格式不正确，应为 时:分") % {"t": part[:10]}
                ) from exc
        if not times:
            raise forms.ValidationError(_("请填写开始时间"))
        return times
