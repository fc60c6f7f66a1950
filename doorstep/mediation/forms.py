"""Forms of the mediation pages: they parse input with Chinese errors; the services validate the domain and
their refusals come back on the field their `code` names. The list's FilterSet searches by dispute number
only, so no party's name ever travels in a URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.forms import StyledForm, yes_no_select
from doorstep.core.validators import within_service_years
from doorstep.mediation.choices import (
    CLOCK_RUNNING,
    DEPARTMENTS,
    OPEN,
    Procedure,
    Risk,
    SettledBy,
    Source,
    Status,
)
from doorstep.mediation.models import Dispute, DisputeType
from doorstep.mediation.services import PartyData, TermData
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Community, Grid, Staff, Station
from doorstep.registry.forms import DATE_WIDGET, DATETIME_WIDGET

PARTY_ROWS = 4
TERM_ROWS = 5
SIDES = [("A", _("甲方")), ("B", _("乙方")), ("C", _("第三方"))]
REQUIRED = {"required": _("此项为必填项")}


def _date(label: str, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=DATE_WIDGET,
        validators=[within_service_years],
        error_messages={**REQUIRED, "invalid": _("请输入有效的日期")},
    )


def _datetime(label: str, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DATETIME_WIDGET,
        validators=[within_service_years],
        error_messages={**REQUIRED, "invalid": _("请输入有效的日期和时间")},
    )


class Form(ServiceErrorsMixin, StyledForm):
    pass


class DisputeForm(Form):
    community = forms.ModelChoiceField(
        label=_("社区"), queryset=Community.objects.none(), error_messages=REQUIRED
    )
    grid = forms.ModelChoiceField(label=_("网格"), queryset=Grid.objects.none(), required=False)
    dispute_type = forms.ModelChoiceField(
        label=_("纠纷类型"), queryset=DisputeType.objects.filter(active=True), error_messages=REQUIRED
    )
    procedure = forms.ChoiceField(label=_("调解类别"), choices=Procedure.choices, initial=Procedure.PEOPLE)
    source = forms.ChoiceField(label=_("来源"), choices=Source.choices, initial=Source.OFFICER)
    place = forms.CharField(label=_("发生地点"), max_length=200, error_messages=REQUIRED)
    occurred_at = _datetime(_("发生时间"), required=False)
    involved_count = forms.IntegerField(label=_("涉及人数"), min_value=1, max_value=10000, required=False)
    facts = forms.CharField(
        label=_("简要情况"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=REQUIRED,
    )
    risk = forms.ChoiceField(label=_("风险等级"), choices=Risk.choices, initial=Risk.LOW)
    violence_risk = forms.BooleanField(label=_("有激化为暴力的风险（民转刑苗头）"), required=False)

    error_fields = {"parties": "__all__"}

    def __init__(self, *args: Any, communities=None, grids=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["community"].queryset = communities
        if grids is not None:
            self.fields["grid"].queryset = grids
        for i in range(PARTY_ROWS):
            self.fields[f"p{i}_side"] = forms.ChoiceField(
                label=_("方"), choices=SIDES, initial="A" if i == 0 else "B", required=False
            )
            self.fields[f"p{i}_name"] = forms.CharField(label=_("姓名/名称"), max_length=100, required=False)
            self.fields[f"p{i}_id_number"] = forms.CharField(
                label=_("公民身份号码"), max_length=18, required=False
            )
            self.fields[f"p{i}_phone"] = forms.CharField(label=_("联系电话"), max_length=20, required=False)
            self.fields[f"p{i}_address"] = forms.CharField(label=_("住址"), max_length=200, required=False)
        from doorstep.core.forms import style

        style(self)

    def add_service_error(self, exc: Exception) -> None:
        if getattr(exc, "code", "") == "parties":
            self.add_error(None, str(exc))
        else:
            super().add_service_error(exc)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        grid, community = data.get("grid"), data.get("community")
        if grid is not None and community is not None and grid.community_id != community.pk:
            self.add_error("grid", _("网格不属于所选社区"))
        return data

    @property
    def main_fields(self):
        return [self[n] for n in self.fields if not n.startswith("p") or n in ("place", "procedure")]

    @property
    def party_rows(self):
        return [
            [self[f"p{i}_{f}"] for f in ("side", "name", "id_number", "phone", "address")]
            for i in range(PARTY_ROWS)
        ]

    def parties(self) -> list[PartyData]:
        d = self.cleaned_data
        return [
            PartyData(
                name=d.get(f"p{i}_name", ""),
                side=d.get(f"p{i}_side") or "C",
                id_number=d.get(f"p{i}_id_number", ""),
                phone=d.get(f"p{i}_phone", ""),
                address=d.get(f"p{i}_address", ""),
            )
            for i in range(PARTY_ROWS)
        ]


class NoteForm(Form):
    note = forms.CharField(
        label=_("说明"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class AssignForm(Form):
    mediator = forms.ModelChoiceField(
        label=_("调解员"), queryset=Staff.objects.none(), error_messages=REQUIRED
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, mediators=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if mediators is not None:
            self.fields["mediator"].queryset = mediators


class SessionForm(Form):
    held_at = _datetime(_("调解时间"))
    place = forms.CharField(label=_("调解地点"), max_length=100, error_messages=REQUIRED)
    attendees = forms.CharField(label=_("参加人员"), max_length=300, error_messages=REQUIRED)
    notes = forms.CharField(
        label=_("调解情况"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=REQUIRED,
    )


class AgreementForm(Form):
    facts = forms.CharField(
        label=_("纠纷主要事实"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=REQUIRED,
    )
    issues = forms.CharField(
        label=_("争议事项"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=REQUIRED,
    )
    responsibilities = forms.CharField(
        label=_("各方当事人的责任"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=REQUIRED,
    )
    signed_on = _date(_("签订日期"))

    error_fields = {"terms": "__all__"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(TERM_ROWS):
            self.fields[f"t{i}_content"] = forms.CharField(
                label=_("协议内容"), max_length=500, required=False
            )
            self.fields[f"t{i}_manner"] = forms.CharField(label=_("履行方式"), max_length=200, required=False)
            self.fields[f"t{i}_deadline"] = _date(_("履行期限"), required=False)
        from doorstep.core.forms import style

        style(self)

    def add_service_error(self, exc: Exception) -> None:
        if getattr(exc, "code", "") in ("terms", "missing_glyphs"):
            self.add_error(None, str(exc))
        else:
            super().add_service_error(exc)

    @property
    def main_fields(self):
        return [self[n] for n in ("facts", "issues", "responsibilities", "signed_on")]

    @property
    def term_rows(self):
        return [[self[f"t{i}_{f}"] for f in ("content", "manner", "deadline")] for i in range(TERM_ROWS)]

    def terms(self) -> list[TermData]:
        d = self.cleaned_data
        return [
            TermData(d.get(f"t{i}_content", ""), d.get(f"t{i}_manner", ""), d.get(f"t{i}_deadline"))
            for i in range(TERM_ROWS)
        ]


class ReasonForm(Form):
    reason = forms.CharField(
        label=_("原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}), error_messages=REQUIRED
    )


class EscalateForm(Form):
    body = forms.CharField(
        label=_("接收单位（留空为所在街道人民调解委员会）"), max_length=100, required=False
    )
    contact = forms.CharField(label=_("接收联系人"), max_length=50, required=False)
    reason = forms.CharField(
        label=_("上报理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}), error_messages=REQUIRED
    )


class ReferForm(Form):
    body = forms.CharField(
        label=_("接收单位"),
        max_length=100,
        error_messages=REQUIRED,
        widget=forms.TextInput(
            attrs={"list": "departments", "placeholder": _("接收单位（如司法所、劳动保障监察大队）")}
        ),
    )
    contact = forms.CharField(label=_("接收联系人"), max_length=50, required=False)
    reason = forms.CharField(
        label=_("移交理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}), error_messages=REQUIRED
    )
    reply_due = _date(_("答复期限"), required=False)

    departments = DEPARTMENTS


class ReplyForm(Form):
    replied_on = _date(_("答复日期"))
    reply = forms.CharField(
        label=_("答复内容"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=REQUIRED,
    )
    outcome = forms.ChoiceField(
        label=_("处理结果"),
        required=False,
        choices=[
            ("", _("仅登记答复（仍在处理）")),
            ("settled", _("已化解，结案")),
            ("handled", _("纳入部门程序办理，结案")),
            ("returned", _("退回驻所调解室")),
        ],
    )


class FollowUpForm(Form):
    visited_on = _date(_("回访日期"))
    kept = forms.TypedChoiceField(
        label=_("协议履行情况"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("已履行/未再发生纠纷")), ("no", _("未履行或纠纷再起"))],
        error_messages=REQUIRED,
    )
    note = forms.CharField(
        label=_("回访情况"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}), error_messages=REQUIRED
    )
    reopen = forms.BooleanField(label=_("重新调解（退回调解室）"), required=False)


class TypeForm(Form):
    name = forms.CharField(label=_("类型名称"), max_length=30, error_messages=REQUIRED)
    position = forms.IntegerField(label=_("排序"), min_value=0, max_value=999, initial=0)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)


# --- rota ----------------------------------------------------------------------------------------------------
class GenerateForm(Form):
    start = _date(_("开始日期"))
    end = _date(_("结束日期"))


class SwapForm(Form):
    day_a = _date(_("日期一"))
    day_b = _date(_("日期二"))
    reason = forms.CharField(label=_("换班事由"), max_length=200, error_messages=REQUIRED)


class AssignDayForm(Form):
    day = _date(_("日期"))
    mediator = forms.ModelChoiceField(
        label=_("调解员"), queryset=Staff.objects.none(), error_messages=REQUIRED
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, mediators=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if mediators is not None:
            self.fields["mediator"].queryset = mediators


class LeaveForm(AssignDayForm):
    day = None  # type: ignore[assignment]
    start = _date(_("开始日期"))
    end = _date(_("结束日期"))
    reason = forms.CharField(label=_("事由"), max_length=200, error_messages=REQUIRED)
    note = None  # type: ignore[assignment]


# --- list ----------------------------------------------------------------------------------------------------
class DisputeFilterSet(ScopedFilterSet):
    """The list's filters. The text search is the dispute number only: names never go into a URL."""

    q = filters.CharFilter(label=_("纠纷编号"), method="filter_q")
    status = filters.ChoiceFilter(label=_("状态"), choices=Status.choices)
    state = filters.ChoiceFilter(
        label=_("办理情况"),
        method="filter_state",
        choices=[
            ("open", _("办理中")),
            ("closed", _("已结案")),
            ("overdue", _("超期")),
            ("follow_up", _("待回访")),
        ],
    )
    dispute_type = filters.ModelChoiceFilter(label=_("纠纷类型"), queryset=DisputeType.objects.all())
    station = filters.ModelChoiceFilter(label=_("派出所"), queryset=Station.objects.all())
    community = filters.ModelChoiceFilter(label=_("社区"), queryset=Community.objects.all())
    grid = filters.ModelChoiceFilter(label=_("网格"), queryset=Grid.objects.all())
    mediator = filters.ModelChoiceFilter(label=_("调解员"), queryset=Staff.objects.filter(kind="mediator"))
    first_officer = filters.ModelChoiceFilter(label=_("首接民警"), queryset=Staff.objects.all())
    settled_by = filters.ChoiceFilter(label=_("化解方式"), choices=SettledBy.choices)
    violence_risk = filters.BooleanFilter(
        label=_("暴力风险"),
        widget=yes_no_select(_("有"), _("无")),
    )
    received_from = filters.DateFilter(
        label=_("受理日期自"), field_name="received_at", lookup_expr="date__gte", widget=DATE_WIDGET
    )
    received_to = filters.DateFilter(
        label=_("受理日期至"), field_name="received_at", lookup_expr="date__lte", widget=DATE_WIDGET
    )

    class Meta:
        model = Dispute
        fields = [
            "q",
            "state",
            "status",
            "dispute_type",
            "station",
            "community",
            "grid",
            "mediator",
            "first_officer",
            "settled_by",
            "violence_risk",
            "received_from",
            "received_to",
        ]

    def filter_q(self, qs, name, value):
        value = "".join((value or "").split())
        return qs.filter(number__icontains=value) if value else qs

    def filter_state(self, qs, name, value):
        now = timezone.now()
        if value == "open":
            return qs.filter(status__in=OPEN)
        if value == "closed":
            return qs.exclude(status__in=OPEN)
        if value == "overdue":
            return qs.filter(overdue_q(now))
        if value == "follow_up":
            return qs.filter(follow_up_due__isnull=False)
        return qs


def overdue_q(now: dt.datetime) -> Q:
    return Q(status__in=CLOCK_RUNNING, due_at__lt=now)


class StatsForm(Form):
    start = _date(_("开始日期"))
    end = _date(_("结束日期"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("结束日期不能早于开始日期"))
        return data
