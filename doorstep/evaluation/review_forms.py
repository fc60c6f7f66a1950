"""Forms and the FilterSet of the evaluation (考核评分) and spot-check (抽查) pages. Forms only parse input; the
services in `reviews` and `spotchecks` validate the rules and write."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.forms import IdModelChoiceField, StyledForm
from doorstep.evaluation import periods, spotchecks
from doorstep.evaluation.engine import Period
from doorstep.evaluation.models_review import CheckResult, ItemKind, Review, ReviewLevel, ReviewStatus
from doorstep.org.models import Station
from doorstep.org.territory import Territory

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERIOD_HELP = _("如 2026-W48（周）、2026-11-3（旬）、2026-11（月）")
SCORE_ERRORS = {
    "invalid": _("请输入数字分数"),
    "max_digits": _("分数位数过多"),
    "max_decimal_places": _("分数最多一位小数"),
}


def parse_period(level: str | None, text: str | None) -> Period | None:
    """A period value of the level's kind (or, without a level, of any of the three)."""
    kinds = [level] if level in ReviewLevel.values else list(ReviewLevel.values)
    for kind in kinds:
        period = periods.parse(kind, text)
        if period is not None:
            return period
    return None


class ReviewFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text = data.get("period")
        if text and parse_period(data.get("level"), text) is None:
            self.add_error("period", _("周期格式不正确，") + str(PERIOD_HELP))
        return data


class ReviewFilterSet(filters.FilterSet):
    """The review list's filters: level, period, status."""

    level = filters.ChoiceFilter(label=_("考核层级"), choices=ReviewLevel.choices)
    period = filters.CharFilter(label=_("周期"), method="filter_period")
    status = filters.ChoiceFilter(label=_("状态"), choices=ReviewStatus.choices)

    class Meta:
        model = Review
        fields = ["level", "period", "status"]
        form = ReviewFilterForm

    def filter_period(self, qs: QuerySet[Review], name: str, value: str) -> QuerySet[Review]:
        period = parse_period(self.form.cleaned_data.get("level"), value)
        if period is None:
            return qs.none()
        return qs.filter(level=period.kind, period_start=period.start)


class GenerateForm(StyledForm):
    level = forms.ChoiceField(
        label=_("考核层级"),
        choices=ReviewLevel.choices,
        error_messages={"required": _("请选择考核层级"), "invalid_choice": _("请选择考核层级")},
    )
    period = forms.CharField(
        label=_("周期"),
        max_length=12,
        help_text=PERIOD_HELP,
        error_messages={"required": _("请填写周期")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        level = data.get("level")
        if level and data.get("period"):
            period = periods.parse(level, data["period"])
            if period is None:
                self.add_error("period", _("周期格式不正确，") + str(PERIOD_HELP))
            else:
                data["period_obj"] = period
        return data


class ScoresForm(ServiceErrorsMixin, StyledForm):
    """The manual items of a draft review: a score and a comment each, and the overall comment."""

    def __init__(self, review: Review, *args: Any, **kwargs: Any) -> None:
        self.review = review
        self.items = [s for s in review.scores.all() if s.kind == ItemKind.MANUAL]
        super().__init__(*args, **kwargs)
        for s in self.items:
            self.fields[f"score-{s.pk}"] = forms.DecimalField(
                label=s.name,
                required=False,
                max_digits=5,
                decimal_places=1,
                initial=s.score,
                error_messages=SCORE_ERRORS,
            )
            self.fields[f"comment-{s.pk}"] = forms.CharField(
                label=_("评语"), required=False, max_length=300, initial=s.comment
            )
        self.fields["comment"] = forms.CharField(
            label=_("总体评价"),
            required=False,
            max_length=500,
            initial=review.comment,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def entries(self) -> dict[int, tuple[Any, str]]:
        return {
            s.pk: (self.cleaned_data.get(f"score-{s.pk}"), self.cleaned_data.get(f"comment-{s.pk}", ""))
            for s in self.items
        }

    def rows(self) -> list[dict[str, Any]]:
        """The review's items in order with their bound fields (manual) for the template."""
        out = []
        for s in self.review.scores.all():
            row: dict[str, Any] = {"item": s}
            if s.kind == ItemKind.MANUAL:
                row["score"] = self[f"score-{s.pk}"]
                row["comment"] = self[f"comment-{s.pk}"]
            out.append(row)
        return out


class StationChoiceField(IdModelChoiceField):
    def label_from_instance(self, obj: Station) -> str:
        return obj.name


class DrawForm(ServiceErrorsMixin, StyledForm):
    station = StationChoiceField(
        label=_("派出所"),
        queryset=Station.objects.none(),
        required=False,
        empty_label=_("全分局"),
        error_messages={"invalid_choice": _("请选择您辖区内的派出所")},
    )
    count = forms.IntegerField(
        label=_("抽取人数"),
        min_value=1,
        max_value=spotchecks.MAX_DRAW,
        error_messages={
            "required": _("请填写抽取人数"),
            "invalid": _("请输入整数"),
            "min_value": _("抽取人数至少为 1"),
            "max_value": _("抽取人数不能超过 %(limit_value)s"),
        },
    )
    seed = forms.IntegerField(
        label=_("随机种子"),
        required=False,
        min_value=0,
        max_value=spotchecks.MAX_SEED,
        help_text=_("留空则随机生成；相同种子和候选名单得到相同结果"),
        error_messages={
            "invalid": _("随机种子须为非负整数"),
            "min_value": _("随机种子须为非负整数"),
            "max_value": _("随机种子过大"),
        },
    )
    purpose = forms.CharField(label=_("抽查内容"), required=False, max_length=200)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = Territory.for_user(user).stations().order_by("code")
        if not Territory.for_user(user).whole:
            self.fields["station"].required = True
            self.fields["station"].error_messages["required"] = _("请选择派出所")


class RecordForm(ServiceErrorsMixin, StyledForm):
    checked_on = forms.DateField(
        label=_("检查日期"),
        widget=DATE_WIDGET,
        error_messages={"required": _("请填写检查日期"), "invalid": _("请输入有效的日期，如 2026-11-28")},
    )
    subject = forms.CharField(
        label=_("检查内容"), max_length=200, error_messages={"required": _("请填写检查内容")}
    )
    result = forms.ChoiceField(
        label=_("结果"),
        choices=[(CheckResult.PASS, CheckResult.PASS.label), (CheckResult.FAIL, CheckResult.FAIL.label)],
        error_messages={"required": _("请选择检查结果"), "invalid_choice": _("请选择检查结果")},
    )
    score = forms.DecimalField(
        label=_("得分（0–100，可不填）"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        error_messages={
            "invalid": _("请输入数字分数"),
            "min_value": _("得分须在 0 到 100 之间"),
            "max_value": _("得分须在 0 到 100 之间"),
            "max_digits": _("得分须在 0 到 100 之间"),
            "max_decimal_places": _("分数最多一位小数"),
        },
    )
    note = forms.CharField(label=_("备注"), required=False, max_length=300)
