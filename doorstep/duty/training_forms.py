"""Forms of training, with their errors in Chinese. The services check the rules again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.core.forms import style
from doorstep.core.validators import within_service_years
from doorstep.duty.choices import AttendanceMark, CourseForm
from doorstep.duty.forms import INPUT_FORMATS, LOCAL_INPUT, StaffChoiceField
from doorstep.org.choices import StaffKind
from doorstep.org.models import Staff, Station

DATE_FORMATS = ["%Y-%m-%d"]


def _dt(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        validators=[within_service_years],
        input_formats=INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        error_messages={"required": _("请填写%(label)s") % {"label": label}, "invalid": _("时间格式不正确")},
    )


def _date(label: str, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        validators=[within_service_years],
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("请填写%(label)s") % {"label": label}, "invalid": _("日期格式不正确")},
    )


class CourseEditForm(forms.Form):
    title = forms.CharField(
        label=_("课程名称"),
        max_length=120,
        error_messages={"required": _("请填写课程名称"), "max_length": _("课程名称不能超过120字")},
    )
    form = forms.ChoiceField(
        label=_("培训形式"),
        choices=[("", "---------"), *CourseForm.choices],
        error_messages={"required": _("请选择培训形式"), "invalid_choice": _("请选择有效的培训形式")},
    )
    organiser = forms.ChoiceField(
        label=_("主办单位"),
        error_messages={"required": _("请选择主办单位"), "invalid_choice": _("主办单位无效")},
    )
    starts_at = _dt(_("开始时间"))
    ends_at = _dt(_("结束时间"))
    hours = forms.DecimalField(
        label=_("学时"),
        max_digits=5,
        decimal_places=1,
        min_value=0.5,
        max_value=500,
        error_messages={
            "required": _("请填写学时"),
            "invalid": _("学时必须是数字"),
            "min_value": _("学时至少为0.5"),
            "max_value": _("学时不能超过500"),
            "max_decimal_places": _("学时最多保留1位小数"),
            "max_digits": _("学时不能超过500"),
        },
    )
    place = forms.CharField(
        label=_("地点或链接"),
        max_length=200,
        required=False,
        error_messages={"max_length": _("地点不能超过200字")},
    )
    trainer = forms.CharField(
        label=_("授课人"),
        max_length=100,
        required=False,
        error_messages={"max_length": _("授课人不能超过100字")},
    )
    capacity = forms.IntegerField(
        label=_("名额"),
        required=False,
        min_value=1,
        max_value=10000,
        error_messages={
            "invalid": _("名额必须是整数"),
            "min_value": _("名额至少为1"),
            "max_value": _("名额过大"),
        },
        help_text=_("留空表示不限"),
    )
    target_kinds = forms.MultipleChoiceField(
        label=_("参训人员类别"),
        choices=StaffKind.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"invalid_choice": _("参训人员类别无效")},
        help_text=_("不选表示全部类别"),
    )
    target_stations = forms.ModelMultipleChoiceField(
        label=_("参训派出所"),
        queryset=Station.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={"invalid_choice": _("参训派出所无效"), "invalid_pk_value": _("参训派出所无效")},
        help_text=_("仅分局组织的培训可选；不选表示全部派出所"),
    )
    content = forms.CharField(
        label=_("培训内容"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": _("培训内容不能超过4000字")},
    )

    def __init__(self, *args, organisers: list[tuple[str, str]], stations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organiser"].choices = organisers
        self.fields["target_stations"].queryset = stations
        style(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("结束时间必须晚于开始时间"))
        if data.get("organiser") not in (None, "", "sb") and data.get("target_stations"):
            self.add_error("target_stations", _("派出所组织的培训只面向本所，不能另选参训派出所"))
        return data


class EnrolForm(forms.Form):
    staff = forms.ModelMultipleChoiceField(
        label=_("参训人员"),
        queryset=Staff.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        error_messages={"invalid_choice": _("所选人员不在可报名范围内"), "invalid_pk_value": _("人员无效")},
    )
    by_station = forms.ModelChoiceField(
        label=_("按派出所批量添加"),
        queryset=Station.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("派出所不在可报名范围内")},
    )
    by_kind = forms.ChoiceField(
        label=_("按人员类别批量添加"),
        choices=[("", "---------"), *StaffKind.choices],
        required=False,
        error_messages={"invalid_choice": _("人员类别无效")},
    )

    def __init__(self, *args, staff_qs, stations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_qs
        self.fields["staff"].label_from_instance = lambda s: (
            f"{s.station.name if s.station else ''} {s.name}（{s.get_kind_display()} {s.badge_number}）"
        )
        self.fields["by_station"].queryset = stations
        self.staff_qs = staff_qs
        style(self)

    def clean(self):
        data = super().clean()
        chosen = list(data.get("staff") or [])
        station, kind = data.get("by_station"), data.get("by_kind")
        if station or kind:
            bulk = self.staff_qs
            if station:
                bulk = bulk.filter(station=station)
            if kind:
                bulk = bulk.filter(kind=kind)
            chosen += list(bulk)
        if not chosen and not self.errors:
            raise forms.ValidationError(_("请选择参训人员，或按派出所、人员类别批量添加"))
        data["people"] = list(dict.fromkeys(chosen))
        data["bulk"] = bool(station or kind)
        return data


ATTENDANCE_CHOICES = [
    (AttendanceMark.PRESENT, AttendanceMark.PRESENT.label),
    (AttendanceMark.ABSENT, AttendanceMark.ABSENT.label),
    (AttendanceMark.LEAVE, AttendanceMark.LEAVE.label),
]


class MentorshipForm(forms.Form):
    mentor = StaffChoiceField(
        label=_("师傅"),
        queryset=Staff.objects.none(),
        error_messages={"required": _("请选择师傅"), "invalid_choice": _("师傅不在主办单位辖区内")},
    )
    apprentice = StaffChoiceField(
        label=_("徒弟"),
        queryset=Staff.objects.none(),
        error_messages={"required": _("请选择徒弟"), "invalid_choice": _("徒弟不在本课程的参训范围内")},
    )
    starts_on = _date(_("开始日期"))
    ends_on = _date(_("结束日期"))
    notes = forms.CharField(
        label=_("带学记录"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": _("带学记录不能超过2000字")},
    )

    def __init__(self, *args, mentors, apprentices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mentor"].queryset = mentors
        self.fields["apprentice"].queryset = apprentices
        style(self)

    def clean(self):
        data = super().clean()
        if data.get("mentor") and data.get("mentor") == data.get("apprentice"):
            self.add_error("apprentice", _("师傅和徒弟不能是同一人"))
        a, b = data.get("starts_on"), data.get("ends_on")
        if a and b and b < a:
            self.add_error("ends_on", _("结束日期不能早于开始日期"))
        return data


PASS_CHOICES = [("", _("未评")), ("1", _("通过")), ("0", _("不通过"))]


class AssessmentForm(forms.Form):
    """One score field (0–100) and one pass/fail field per active item: `score_<id>`, `pass_<id>`."""

    assessed_on = _date(_("考核日期"))
    assessor = forms.CharField(
        label=_("考核人"),
        max_length=50,
        error_messages={"required": _("请填写考核人"), "max_length": _("考核人不能超过50字")},
    )
    note = forms.CharField(
        label=_("备注"), max_length=200, required=False, error_messages={"max_length": _("备注不能超过200字")}
    )

    def __init__(self, *args, items, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"score_{item.pk}"] = forms.IntegerField(
                label=_("%(item)s 得分") % {"item": item.name},
                required=False,
                min_value=0,
                max_value=100,
                error_messages={
                    "invalid": _("得分必须是整数"),
                    "min_value": _("得分不能小于0"),
                    "max_value": _("得分不能超过100"),
                },
            )
            self.fields[f"pass_{item.pk}"] = forms.ChoiceField(
                label=_("%(item)s 通过与否") % {"item": item.name},
                choices=PASS_CHOICES,
                required=False,
                error_messages={"invalid_choice": _("请选择通过或不通过")},
            )
        style(self)

    def rows(self):
        return [(item, self[f"score_{item.pk}"], self[f"pass_{item.pk}"]) for item in self.items]

    def clean(self):
        data = super().clean()
        marks = {}
        for item in self.items:
            score = data.get(f"score_{item.pk}")
            flag = data.get(f"pass_{item.pk}")
            passed = None if flag in (None, "") else flag == "1"
            if score is not None or passed is not None:
                marks[item.pk] = (score, passed)
        if not marks and not self.errors:
            raise forms.ValidationError(_("请至少为一个考核项目打分或评定通过与否"))
        data["marks"] = marks
        return data
