"""Mediation statistics for evaluation (#10): counts, 调解成功率 and time to settle, for any set of disputes,
broken down by type, community, grid, first officer and mediator.

Definitions (DOMAIN.md, KPI formulas):
- 受理 accepted: disputes received in the period (by `received_at`).
- 现场化解 settled on site: settled by the first officer on the spot (`settled_by = onsite`).
- 调解室化解 settled in the room: settled by the station's mediation room (`settled_by = room`).
- 街道/部门化解: settled after escalation to the street or referral to a department.
- 移交 referred: handed to a competent department (still there, or closed there by its own procedure).
- **调解成功率** = settled (any way) ÷ accepted; None when nothing was accepted.
- 平均化解天数 = mean of (closed − received) over the settled ones, in days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from doorstep.mediation.choices import OPEN, SettledBy, Status
from doorstep.mediation.models import Dispute

DIMENSIONS = {
    "type": ("dispute_type_id", "dispute_type__name"),
    "community": ("community_id", "community__name"),
    "grid": ("grid_id", "grid__name"),
    "officer": ("first_officer_id", "first_officer__name"),
    "mediator": ("mediator_id", "mediator__name"),
}
# The list filter each dimension drills down with.
FILTER_PARAM = {
    "type": "dispute_type",
    "community": "community",
    "grid": "grid",
    "officer": "first_officer",
    "mediator": "mediator",
}


@dataclass
class Figures:
    accepted: int = 0
    settled: int = 0
    settled_onsite: int = 0
    settled_room: int = 0
    settled_street: int = 0
    settled_department: int = 0
    referred: int = 0
    failed: int = 0
    open: int = 0
    settle_days: list[float] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """调解成功率 = settled ÷ accepted."""
        return self.settled / self.accepted if self.accepted else None

    @property
    def avg_days(self) -> float | None:
        return sum(self.settle_days) / len(self.settle_days) if self.settle_days else None

    def add(self, status: str, settled_by: str, received_at, closed_at) -> None:
        self.accepted += 1
        if status == Status.SETTLED:
            self.settled += 1
            if settled_by == SettledBy.ONSITE:
                self.settled_onsite += 1
            elif settled_by == SettledBy.ROOM:
                self.settled_room += 1
            elif settled_by == SettledBy.STREET:
                self.settled_street += 1
            elif settled_by == SettledBy.DEPARTMENT:
                self.settled_department += 1
            if closed_at is not None:
                self.settle_days.append((closed_at - received_at).total_seconds() / 86400)
        elif status in (Status.REFERRED, Status.CLOSED_REFERRED):
            self.referred += 1
        elif status == Status.FAILED:
            self.failed += 1
        if status in OPEN:
            self.open += 1


FIELDS = ("status", "settled_by", "received_at", "closed_at")


def summary(qs: QuerySet[Dispute]) -> Figures:
    figures = Figures()
    for row in qs.values_list(*FIELDS):
        figures.add(*row)
    return figures


def breakdown(qs: QuerySet[Dispute], dimension: str) -> list[dict[str, Any]]:
    """One row per value of the dimension: {"key", "label", "figures"}, most accepted first."""
    key_field, label_field = DIMENSIONS[dimension]
    groups: dict[Any, Figures] = defaultdict(Figures)
    labels: dict[Any, str] = {}
    for key, label, *row in qs.values_list(key_field, label_field, *FIELDS):
        groups[key].add(*row)
        labels[key] = label or "—"
    rows = [{"key": k, "label": labels[k], "figures": f} for k, f in groups.items()]
    rows.sort(key=lambda r: (-r["figures"].accepted, r["label"]))
    return rows
