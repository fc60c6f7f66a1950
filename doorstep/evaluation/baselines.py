"""Services for collection baselines (应采集基数) and verification samples (核查抽样), the denominators and
the accuracy checks of 治安要素掌控率. Both are kept by the evaluation office and administrators; every write
checks the role and the territory, validates, and writes in one transaction with its audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, RuleViolation, ServiceError
from doorstep.core.validators import within_service_years
from doorstep.evaluation import access
from doorstep.evaluation.choices import Element
from doorstep.evaluation.models import Baseline, Verification
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.registry.models import Address, House, Person, PersonOfConcern, Unit

MAX_EXPECTED = 10_000_000  # more records than a whole city holds is a typing error
MAX_OBJECT_ID = 2**63 - 1

# Each element's registry table and how its rows hang off a grid. A person of concern is sampled by the
# id of its 重点人员 record (one person can be on several lists; each list entry is checked on its own).
ELEMENT_TABLES: dict[str, tuple[type[Model], str]] = {
    Element.ADDRESS: (Address, "grid_id"),
    Element.PERSON: (Person, "grid_id"),
    Element.HOUSE: (House, "grid_id"),
    Element.UNIT: (Unit, "grid_id"),
    Element.CONCERN: (PersonOfConcern, "person__grid_id"),
}


def _require_keeper(by: Any, grid: Grid) -> None:
    if not access.may_keep_samples(by):
        raise NotAllowed(_("只有考评办和系统管理员可以维护应采集基数和核查抽样"))
    if not Territory.for_user(by).contains(grid):
        raise NotAllowed(_("该网格不在您的辖区内"), code="grid")


def _check_day(value: Any, name: str, label: str) -> None:
    if not isinstance(value, dt.date):
        raise ServiceError(_("请填写%(label)s") % {"label": label}, code=name)
    try:
        within_service_years(value)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], code=name) from exc
    if value > timezone.localdate():
        raise ServiceError(_("%(label)s不能晚于今天") % {"label": label}, code=name)


def record_baseline(
    *, grid: Grid, element: str, expected: int, as_of: dt.date, source: str, by: Any
) -> Baseline:
    """登记应采集基数: how many records of an element the grid should hold as of a date, and where the figure
    comes from. One figure per grid, element and date."""
    _require_keeper(by, grid)
    if element not in Element.values:
        raise ServiceError(_("要素无效"), code="element")
    if not isinstance(expected, int) or isinstance(expected, bool) or not 0 <= expected <= MAX_EXPECTED:
        raise ServiceError(_("应采集数应为0到%(max)d之间的整数") % {"max": MAX_EXPECTED}, code="expected")
    _check_day(as_of, "as_of", _("基准日期"))
    source = (source or "").strip()
    if not source:
        raise ServiceError(_("请填写数据来源"), code="source")
    if len(source) > 100:
        raise ServiceError(_("数据来源不能超过100个字"), code="source")
    duplicate = _("该网格该要素在这一基准日期已有基数")
    if Baseline.objects.filter(grid=grid, element=element, as_of=as_of).exists():
        raise RuleViolation(duplicate, code="as_of")
    try:
        with transaction.atomic():
            baseline = Baseline.objects.create(
                grid=grid, element=element, expected=expected, as_of=as_of, source=source, created_by=by
            )
            record_change(by, "evaluation.baseline_create", baseline)
    except IntegrityError as exc:  # a concurrent entry of the same figure
        raise RuleViolation(duplicate, code="as_of") from exc
    return baseline


def record_exists(element: str, object_id: int, grid: Grid) -> bool:
    """Whether the registry holds record `object_id` of `element` in `grid`."""
    model, lookup = ELEMENT_TABLES[element]
    if not 0 < object_id <= MAX_OBJECT_ID:
        return False
    return model._default_manager.filter(pk=object_id, **{lookup: grid.pk}).exists()


def record_verification(
    *,
    grid: Grid,
    element: str,
    object_id: int,
    checked_on: dt.date,
    correct: bool,
    by: Any,
    note: str = "",
) -> Verification:
    """登记核查抽样: one registry record of the grid, checked on the ground — correct or not."""
    _require_keeper(by, grid)
    if element not in Element.values:
        raise ServiceError(_("要素无效"), code="element")
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise ServiceError(_("请填写记录ID"), code="object_id")
    if not record_exists(element, object_id, grid):
        raise ServiceError(
            _("该网格的%(element)s中没有ID为%(id)s的记录")
            % {"element": Element(element).label, "id": object_id},
            code="object_id",
        )
    _check_day(checked_on, "checked_on", _("核查日期"))
    if not isinstance(correct, bool):
        raise ServiceError(_("请选择信息是否准确"), code="correct")
    note = (note or "").strip()
    if len(note) > 300:
        raise ServiceError(_("核查情况不能超过300个字"), code="note")
    with transaction.atomic():
        verification = Verification.objects.create(
            grid=grid,
            element=element,
            object_id=object_id,
            checked_on=checked_on,
            correct=correct,
            note=note,
            checked_by=by,
        )
        record_change(by, "evaluation.verification_create", verification)
    return verification
