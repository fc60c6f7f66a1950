"""Forms and the intake FilterSet of the desk pages. Forms parse input with Chinese errors; the services
validate the domain, and their refusals come back on the field their `code` names."""

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
from doorstep.desk.choices import IntakeKind, IntakeStatus, LimitUnit
from doorstep.desk.models import BusinessType, Intake
from doorstep.desk.selectors import overdue_q
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import PoliceRoom, Staff
from doorstep.registry.forms import DATETIME_WIDGET

REQUIRED = {"required": _("此项为必填项")}


class DeskForm(StyledForm):
    """StyledForm, with checkbox lists styled as Tabler checkboxes rather than text inputs."""

    def _checkboxes(self) -> None:
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checkboxes()

    def full_clean(self) -> None:
        super().full_clean()
        self._checkboxes()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        self._checkboxes()


class IntakeFilterSet(ScopedFilterSet):
    """The station-wide list's filters: room, kind, status, owner, overdue, receipt or name.

    `q` (names, receipt and case numbers) is never read from a URL: the list view fills it from the session
    (see `desk.views.item_list`); the other filters may come from the query string."""

    q = filters.CharFilter(label=_("回执号/姓名/案件编号"), method="filter_q")
    room = filters.ModelChoiceFilter(label=_("警务室"), queryset=PoliceRoom.objects.all())
    kind = filters.ChoiceFilter(label=_("类别"), choices=IntakeKind.choices)
    status = filters.ChoiceFilter(label=_("状态"), choices=IntakeStatus.choices)
    owner = filters.ModelChoiceFilter(label=_("承办人"), queryset=Staff.objects.all())
    overdue = filters.BooleanFilter(
        label=_("超期"),
        method="filter_overdue",
        widget=yes_no_select(_("仅超期"), _("未超期")),
    )

    class Meta:
        model = Intake
        fields = ["q", "room", "kind", "status", "owner", "overdue"]

    def filter_q(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(
            Q(receipt_no__icontains=value)
            | Q(applicant_name__contains=value)
            | Q(case_number__contains=value)
        )

    def filter_overdue(self, qs, name, value):
        if value is None:
            return qs
        q = overdue_q(timezone.now())
        return qs.filter(q) if value else qs.exclude(q)


class ApplicantFields(forms.Form):
    applicant_name = forms.CharField(label=_("姓名"), max_length=50, error_messages=REQUIRED)
    id_number = forms.CharField(
        label=_("公民身份号码"),
        max_length=18,
        min_length=18,
        error_messages={
            **REQUIRED,
            "min_length": _("公民身份号码应为18位"),
            "max_length": _("公民身份号码应为18位"),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
        error_messages={"max_length": _("联系电话不能超过20位")},
    )


class IntakeForm(ServiceErrorsMixin, DeskForm):
    """受理登记; which fields apply depends on the kind (户籍业务 / 警情案件 / 矛盾纠纷)."""

    business_type = forms.ModelChoiceField(
        label=_("业务类型"),
        queryset=BusinessType.objects.none(),
        error_messages={**REQUIRED, "invalid_choice": _("请选择有效的业务类型")},
    )
    received_documents = forms.MultipleChoiceField(
        label=_("已收材料"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    applicant_name = ApplicantFields.base_fields["applicant_name"]
    id_number = ApplicantFields.base_fields["id_number"]
    phone = ApplicantFields.base_fields["phone"]
    address_text = forms.CharField(label=_("住址"), max_length=200, required=False)
    occurred_at = forms.DateTimeField(
        label=_("发生时间"),
        validators=[within_service_years],
        widget=DATETIME_WIDGET,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={**REQUIRED, "invalid": _("请输入有效的日期和时间")},
    )
    place = forms.CharField(label=_("发生地点"), max_length=200, error_messages=REQUIRED)
    other_party = forms.CharField(label=_("对方当事人"), max_length=100, required=False)
    summary = forms.CharField(
        label=_("事由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={**REQUIRED, "max_length": _("内容不能超过2000个字")},
    )

    KIND_FIELDS = {
        IntakeKind.HOUSEHOLD: (
            "business_type",
            "received_documents",
            "applicant_name",
            "id_number",
            "phone",
            "address_text",
            "summary",
        ),
        IntakeKind.CASE: (
            "applicant_name",
            "id_number",
            "phone",
            "address_text",
            "occurred_at",
            "place",
            "summary",
        ),
        IntakeKind.DISPUTE: (
            "applicant_name",
            "id_number",
            "phone",
            "address_text",
            "other_party",
            "summary",
        ),
    }

    def __init__(self, *args: Any, kind: str, types=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in list(self.fields):
            if name not in self.KIND_FIELDS[kind]:
                del self.fields[name]
        if kind == IntakeKind.HOUSEHOLD:
            self.fields["business_type"].queryset = types
            docs = sorted({d for bt in types for d in bt.documents})
            self.fields["received_documents"].choices = [(d, d) for d in docs]
            self.fields["summary"].required = False
            self.fields["summary"].label = _("备注")
        elif kind == IntakeKind.CASE:
            self.fields["applicant_name"].label = _("报案人姓名")
            self.fields["summary"].label = _("简要案情（发生了什么）")
        else:
            self.fields["summary"].label = _("纠纷情况")

    def clean_id_number(self) -> str:
        from doorstep.core.ids import citizen_id_error

        value = self.cleaned_data["id_number"].strip().upper()
        error = citizen_id_error(value)
        if error:
            raise forms.ValidationError(_(error))
        return value

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        if value and value > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError(_("发生时间不能晚于现在"))
        return value


class NoteForm(StyledForm):
    note = forms.CharField(
        label=_("说明"),
        max_length=300,
        required=False,
        error_messages={"max_length": _("说明不能超过300个字")},
    )


class DocumentsForm(DeskForm):
    received = forms.MultipleChoiceField(
        label=_("已收材料"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    note = NoteForm.base_fields["note"]

    def __init__(self, *args: Any, intake: Intake, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received"].choices = [(d["name"], d["name"]) for d in intake.documents]
        self.fields["received"].initial = [d["name"] for d in intake.documents if d.get("received")]


class AssignForm(StyledForm):
    owner = forms.ModelChoiceField(
        label=_("承办人"),
        queryset=Staff.objects.none(),
        error_messages={**REQUIRED, "invalid_choice": _("承办人须为本所在职人员")},
    )
    note = NoteForm.base_fields["note"]
    exception_reason = forms.CharField(
        label=_("例外理由（所长批准社区民警承办网格以外的案件时填写）"), max_length=200, required=False
    )

    def __init__(self, *args: Any, owners, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class LookupForm(StyledForm):
    receipt_no = forms.CharField(label=_("回执号"), max_length=40, error_messages=REQUIRED)


class BusinessTypeForm(ServiceErrorsMixin, StyledForm):
    name = forms.CharField(label=_("业务名称"), max_length=50, error_messages=REQUIRED)
    documents = forms.CharField(
        label=_("所需材料"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("每行一项"),
        max_length=3000,
    )
    instant = forms.BooleanField(label=_("即办"), required=False)
    time_limit = forms.IntegerField(
        label=_("办理时限"),
        min_value=0,
        max_value=365,
        initial=5,
        error_messages={
            **REQUIRED,
            "invalid": _("请输入整数"),
            "min_value": _("办理时限不能为负数"),
            "max_value": _("办理时限不能超过365"),
        },
    )
    limit_unit = forms.ChoiceField(label=_("时限单位"), choices=LimitUnit.choices)
    position = forms.IntegerField(
        label=_("排序"), min_value=0, max_value=999, initial=0, error_messages={"invalid": _("请输入整数")}
    )
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def clean_documents(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["documents"].splitlines() if line.strip()]
