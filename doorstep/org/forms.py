from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.core.forms import StyledForm, StyledMixin
from doorstep.org.choices import Position, StaffKind
from doorstep.org.models import PoliceRoom

DATE = forms.DateInput(attrs={"type": "date"})


# Codes other systems match on (badge numbers, the organisation's codes) and staff work phones; also the
# rules of `doorstep import-org`.
CODE_PATTERN = r"^[0-9A-Za-z-]+$"
WORK_PHONE_PATTERN = r"^[0-9-]{7,20}$"


class AssignForm(StyledForm):
    staff = forms.ModelChoiceField(label=_("人员"), queryset=None)
    position = forms.ChoiceField(label=_("岗位"), choices=Position.choices)
    started_on = forms.DateField(label=_("开始日期"), widget=DATE)
    reason = forms.CharField(label=_("任职原因"), max_length=200, required=False)

    def __init__(self, *args, staff_qs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_qs.filter(
            active=True, kind__in=[StaffKind.POLICE, StaffKind.AUXILIARY]
        ).order_by("kind", "name")


class EndAssignmentForm(StyledForm):
    ended_on = forms.DateField(label=_("离岗日期"), widget=DATE)
    reason = forms.CharField(label=_("离岗原因"), max_length=200)


class DepartureRequestForm(StyledForm):
    leave_on = forms.DateField(label=_("拟离岗日期"), widget=DATE)
    reason = forms.CharField(label=_("申请原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 3}))


class SecondmentForm(StyledForm):
    staff = forms.ModelChoiceField(label=_("社区民警"), queryset=None)
    destination = forms.CharField(label=_("抽调去向"), max_length=100)
    purpose = forms.CharField(label=_("抽调事由"), max_length=300)
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE)

    def __init__(self, *args, staff_qs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_qs.filter(active=True, kind=StaffKind.POLICE).order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("结束日期不能早于开始日期"))
        return data


class DecisionForm(StyledForm):
    decision = forms.ChoiceField(label=_("审批结果"), choices=[("approve", _("批准")), ("reject", _("驳回"))])
    note = forms.CharField(label=_("审批意见"), max_length=300, required=False)


class PoliceRoomForm(StyledMixin, forms.ModelForm):
    class Meta:
        model = PoliceRoom
        fields = ["name", "address", "public_phone", "hours", "open_24h", "lng", "lat"]

    def clean_lng(self):
        lng = self.cleaned_data["lng"]
        if not 73 <= lng <= 136:
            raise forms.ValidationError(_("经度应在 73 至 136 之间（WGS-84）"))
        return lng

    def clean_lat(self):
        lat = self.cleaned_data["lat"]
        if not 3 <= lat <= 54:
            raise forms.ValidationError(_("纬度应在 3 至 54 之间（WGS-84）"))
        return lat


class StaffForm(StyledForm):
    kind = forms.ChoiceField(label=_("人员类别"), choices=StaffKind.choices)
    name = forms.CharField(label=_("姓名"), max_length=50)
    badge_number = forms.RegexField(
        label=_("警号/工号"),
        max_length=20,
        regex=CODE_PATTERN,
        error_messages={"invalid": _("警号/工号只能包含字母、数字和连字符")},
    )
    phone = forms.RegexField(
        label=_("工作电话"),
        max_length=20,
        required=False,
        regex=WORK_PHONE_PATTERN,
        error_messages={"invalid": _("请输入有效的电话号码")},
    )
    joined_on = forms.DateField(label=_("入职日期"), required=False, widget=DATE)
    photo = forms.ImageField(label=_("照片"), required=False)
    station = forms.ModelChoiceField(label=_("所属派出所"), queryset=None)

    MAX_PHOTO_BYTES = 2 * 1024 * 1024

    def __init__(self, *args, stations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
        if stations.count() == 1:
            self.fields["station"].initial = stations.first().pk

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > self.MAX_PHOTO_BYTES:
            raise forms.ValidationError(_("照片不能超过2MB"))
        return photo
