"""Forms of the surveys: the resident's questionnaire (public, no account), the staff's survey form and the
filter of the responses list. Validation of shape only; the rules live in portal.surveys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.core.errors import ServiceError
from doorstep.core.forms import IdModelChoiceField, IdMultipleChoiceField
from doorstep.core.ids import ascii_digits
from doorstep.evaluation import periods
from doorstep.org.models import Community, Station
from doorstep.org.territory import Territory
from doorstep.portal import phones, surveys
from doorstep.portal.choices import Rating, SafetyRating
from doorstep.portal.models import Survey

REQUIRED = _("请选择一项")


def _radio(choices: Any, label: Any, *, coerce: Any = None) -> forms.Field:
    widget = forms.RadioSelect(attrs={"class": "form-check-input"})
    messages = {"required": REQUIRED, "invalid_choice": _("请选择页面上的选项")}
    if coerce is None:
        return forms.ChoiceField(choices=choices, label=label, widget=widget, error_messages=messages)
    return forms.TypedChoiceField(
        choices=choices, label=label, widget=widget, coerce=coerce, error_messages=messages
    )


class AnswerForm(forms.Form):
    """The questionnaire of one grid's link: the awareness questions (`q_officer`, `q_phone`, `q_room`, only
    those the grid has an answer for), 满意度, 安全感, an optional comment, the phone and its one-time code.
    A posted option that is not on the page is refused ("请选择页面上的选项")."""

    satisfaction = _radio(Rating.choices, _("您对社区民警工作的满意程度"), coerce=int)
    safety = _radio(SafetyRating.choices, _("您在本社区生活的安全感"), coerce=int)
    comment = forms.CharField(
        label=_("意见建议（选填）"),
        required=False,
        max_length=surveys.COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control", "maxlength": surveys.COMMENT_MAX}),
        error_messages={"max_length": _("意见建议不能超过500字")},
    )
    phone = forms.CharField(
        label=_("手机号码"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"class": "form-control", "inputmode": "numeric", "autocomplete": "tel", "maxlength": 13}
        ),
        error_messages={"required": _("请填写手机号码")},
    )
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=phones.CODE_DIGITS,
        widget=forms.TextInput(
            attrs={"class": "form-control", "inputmode": "numeric", "autocomplete": "one-time-code"}
        ),
        error_messages={"required": _("请填写短信验证码"), "max_length": _("验证码为6位数字")},
    )

    def __init__(self, questions: list[surveys.Question], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        new = {f"q_{q.key}": _radio(q.choices, q.label) for q in questions}
        self.fields = {**new, **self.fields}

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q_{q.key}"] for q in self.questions]

    def clean_phone(self) -> str:
        try:
            return phones.clean_mobile(self.cleaned_data.get("phone"))
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip()
        if not (ascii_digits(code) and len(code) == phones.CODE_DIGITS):
            raise forms.ValidationError(_("验证码为6位数字"))
        return code

    def answers(self) -> surveys.Answers:
        data = self.cleaned_data
        return surveys.Answers(
            choices={q.key: data[f"q_{q.key}"] for q in self.questions},
            satisfaction=data["satisfaction"],
            safety=data["safety"],
            comment=data.get("comment", ""),
        )


class SurveyForm(forms.ModelForm):
    """A survey's title, scope (a station, or the whole sub-bureau for leaders, the evaluation office and
    administrators), dates, target per grid and the grids sampled (from the user's territory)."""

    grids = IdMultipleChoiceField(
        queryset=None,
        label=_("抽样网格"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一个网格")},
    )

    target_per_grid = forms.IntegerField(
        label=_("每网格样本量"),
        min_value=1,
        max_value=surveys.MAX_TARGET,
        initial=30,
        error_messages={
            "min_value": _("每网格样本量至少为1"),
            "max_value": _("每网格样本量不能超过10000"),
        },
    )

    class Meta:
        model = Survey
        fields = ["title", "station", "opens_on", "closes_on", "target_per_grid"]
        widgets = {
            "opens_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "closes_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from doorstep.portal import access

        self.user = user
        station_field = self.fields["station"]
        station_field.queryset = surveys.manageable_stations(user)
        station_field.required = not access.may_manage_surveys(user, None)
        station_field.empty_label = str(_("全分局"))
        station_field.label = _("问卷范围")
        if station_field.required:  # a director: their station only, no sub-bureau choice
            station_field.empty_label = None
        grids = surveys.manageable_grids(user, None).select_related("community__station")
        self.fields["grids"].queryset = grids
        self.fields["grids"].label_from_instance = lambda g: (
            f"{g.community.station.name} · {g.community.name} · {g.name}"
        )
        if self.instance.pk:
            self.initial.setdefault("grids", list(self.instance.grids.values_list("grid_id", flat=True)))
        for name in ("title", "opens_on", "closes_on", "target_per_grid"):
            self.fields[name].widget.attrs["class"] = "form-control"
        station_field.widget.attrs["class"] = "form-select"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        opens_on, closes_on = data.get("opens_on"), data.get("closes_on")
        if opens_on and closes_on and closes_on < opens_on:
            self.add_error("closes_on", _("结束日期不能早于开始日期"))
        station, grids = data.get("station"), data.get("grids")
        if station is not None and grids:
            outside = [g.name for g in grids if g.community.station_id != station.pk]
            if outside:
                self.add_error("grids", _("以下网格不属于所选派出所：%s") % "、".join(outside))
        return data

    def _post_clean(self) -> None:  # the model is written by the service, not by the form
        pass


class ResponseFilterForm(forms.Form):
    """Filters of the responses list (GET): community, station, dates, survey. Grids come as repeated
    `grid` parameters (the KPI drill-down) and are read by the page."""

    station = IdModelChoiceField(queryset=Station.objects.none(), required=False, label=_("派出所"))
    community = IdModelChoiceField(queryset=Community.objects.none(), required=False, label=_("社区"))
    date_from = forms.DateField(
        required=False, label=_("提交日期自"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(required=False, label=_("至"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        territory = Territory.for_user(user)
        self.fields["station"].queryset = territory.stations().order_by("code")
        self.fields["community"].queryset = territory.communities().order_by("code")
        for name, field in self.fields.items():
            field.widget.attrs["class"] = (
                "form-select" if name in ("station", "community") else "form-control"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("date_from", "date_to"):
            if data.get(name) and not periods.MIN_YEAR <= data[name].year <= periods.MAX_YEAR:
                self.add_error(
                    name, _("日期须在%(a)s年至%(b)s年之间") % {"a": periods.MIN_YEAR, "b": periods.MAX_YEAR}
                )
                data.pop(name, None)
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("结束日期不能早于开始日期"))
        return data
