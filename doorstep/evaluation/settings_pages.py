"""指标设置: the evaluation office (and administrators) set each KPI's target, weight and whether it counts.

Targets are entered as shown (95 for 95 %, 3 for 3 ‱) and stored in the KPI's own unit (0.95); weights run
0–100. Every change is one `KpiSetting` row written by `update_setting` in a transaction with its audit entry.
Other roles get a 403 (they know the page exists from the KPI table, which shows targets and weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.accounts.choices import Role
from doorstep.audit.services import record_change, snapshot
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.evaluation.engine import REGISTRY, Kpi
from doorstep.evaluation.models import KpiSetting

EDIT_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})
MAX_WEIGHT = 100.0
# The range a target may take, in the unit as shown: percentages 0–100, per 10,000 0–10,000, counts ≥ 0.
TARGET_RANGE = {"%": (0.0, 100.0), "‱": (0.0, 10_000.0), "": (0.0, 1_000_000.0)}


def may_edit(user: Any) -> bool:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.role in EDIT_ROLES


# --- the write ----------------------------------------------------------------------------------------------
def update_setting(*, code: str, target: float | None, weight: float, active: bool, by: Any) -> KpiSetting:
    """Set one KPI's target (in its stored unit), weight and active flag; audited. Nothing written when
    nothing changed."""
    if not may_edit(by):
        raise NotAllowed(_("只有考评办和系统管理员可以修改指标设置"))
    if code not in REGISTRY:
        raise ServiceError(_("没有这个指标"), code="code")
    if not 0 <= weight <= MAX_WEIGHT:
        raise ServiceError(_("权重应在 0 到 100 之间"), code="weight")
    with transaction.atomic():
        obj = KpiSetting.objects.select_for_update().filter(code=code).first()
        before = snapshot(obj) if obj else None
        if obj is not None and (obj.target, obj.weight, obj.active) == (target, weight, active):
            return obj
        obj = obj or KpiSetting(code=code)
        obj.target, obj.weight, obj.active = target, weight, active
        obj.save()
        record_change(by, "evaluation.kpi_setting", obj, before=before)
    return obj


# --- the form -----------------------------------------------------------------------------------------------
def _factor(kpi: Kpi) -> float:
    from doorstep.evaluation.pages import display_factor

    return display_factor(kpi)


class KpiSettingForm(forms.Form):
    target = forms.FloatField(label=gettext_lazy("目标值"), required=False)
    weight = forms.FloatField(
        label=gettext_lazy("权重"),
        min_value=0,
        max_value=MAX_WEIGHT,
        error_messages={
            "required": gettext_lazy("请填写权重"),
            "invalid": gettext_lazy("权重应为数字"),
            "min_value": gettext_lazy("权重应在 0 到 100 之间"),
            "max_value": gettext_lazy("权重应在 0 到 100 之间"),
        },
    )
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False)

    def __init__(self, *args: Any, kpi: Kpi, **kwargs: Any) -> None:
        self.kpi = kpi
        super().__init__(*args, prefix=kpi.code, **kwargs)
        self.fields["target"].error_messages["invalid"] = _("目标值应为数字")
        self.fields["active"].widget.attrs["class"] = "form-check-input"
        for name in ("target", "weight"):
            self.fields[name].widget.attrs.update({"class": "form-control form-control-sm", "step": "any"})

    def clean_target(self) -> float | None:
        shown = self.cleaned_data.get("target")
        if shown is None:
            return None
        low, high = TARGET_RANGE.get(self.kpi.unit, TARGET_RANGE[""])
        if not low <= shown <= high:
            unit = self.kpi.unit
            raise forms.ValidationError(
                _("目标值应在 %(low)s%(unit)s 到 %(high)s%(unit)s 之间")
                % {"low": f"{low:g}", "high": f"{high:g}", "unit": unit}
            )
        return shown / _factor(self.kpi)  # stored in the KPI's own unit


@dataclass
class SettingRow:
    kpi: Kpi
    form: KpiSettingForm
    default_target: str
    saved: bool  # a KpiSetting row overrides the defaults


def _initial(kpi: Kpi, row: KpiSetting | None) -> dict[str, Any]:
    factor = _factor(kpi)
    target = row.target if row else kpi.target
    return {
        "target": None if target is None else round(target * factor, 6),
        "weight": row.weight if row else kpi.weight,
        "active": row.active if row else True,
    }


@login_required
def settings_page(request):
    from doorstep.evaluation.pages import fmt, require_view

    user = request.user
    require_view(user)
    if not may_edit(user):
        raise PermissionDenied(_("只有考评办和系统管理员可以修改指标设置"))
    saved = {s.code: s for s in KpiSetting.objects.all()}
    kpis = sorted(REGISTRY.values(), key=lambda k: k.order)
    data = request.POST if request.method == "POST" else None
    rows = [
        SettingRow(
            kpi,
            KpiSettingForm(data, kpi=kpi, initial=_initial(kpi, saved.get(kpi.code))),
            fmt(kpi, kpi.target),
            kpi.code in saved,
        )
        for kpi in kpis
    ]
    if request.method == "POST":
        if all(r.form.is_valid() for r in rows):
            try:
                with transaction.atomic():
                    for r in rows:
                        if not r.form.has_changed():
                            continue
                        update_setting(code=r.kpi.code, by=user, **r.form.cleaned_data)
            except ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("指标设置已保存"))
                return redirect("evaluation:settings")
        else:
            messages.error(request, _("有填写错误，未保存，请检查标红的项目"))
    from doorstep.evaluation.pages import has_tabs

    return render(request, "evaluation/settings.html", {"rows": rows, "tabs": has_tabs()})


urlpatterns = [path("settings/", settings_page, name="settings")]
