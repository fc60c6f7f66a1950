"""Red / yellow / green household rules: data plus small pure functions (DOMAIN.md).

There is no national standard, so the default below follows common practice (Changzhou's 10-point score
with deductions, Shanghai's direct-to-red overrides, visit intervals tied to the colour as in Shenzhen and
Suzhou) and an administrator can change every number and switch factors off (ColourRuleSet).
Every colour comes with the reasons that produced it, in Chinese, ready to show.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

RED, YELLOW, GREEN = "red", "yellow", "green"
SEVERITY = {GREEN: 0, YELLOW: 1, RED: 2}

# factor → how it acts: `direct` raises the colour at once (None: only the score counts), `deduct` points
# off the score per occurrence. Labels are what the rule editor shows.
DEFAULT_PARAMS: dict[str, Any] = {
    "start_score": 10,
    "red_below": 6,
    "yellow_below": 9,
    "visit_days": {RED: 7, YELLOW: 14, GREEN: 90},
    "factors": {
        "listed_concern": {"label": "有列管中的重点人员", "enabled": True, "direct": RED, "deduct": 0},
        "group_rental": {"label": "群租房", "enabled": True, "direct": RED, "deduct": 0},
        "refused_rectification": {"label": "房主拒不整改", "enabled": True, "direct": RED, "deduct": 0},
        "floating_permit_missing": {
            "label": "流动人口居住证过期或未办理",
            "enabled": True,
            "direct": YELLOW,
            "deduct": 1,
        },
        "registration_mismatch": {"label": "人户不一致", "enabled": True, "direct": YELLOW, "deduct": 1},
        "open_dispute": {"label": "有未化解的矛盾纠纷", "enabled": True, "direct": YELLOW, "deduct": 2},
        "rented": {"label": "出租房屋", "enabled": True, "direct": None, "deduct": 1},
        "no_responsibility_letter": {
            "label": "出租屋未签治安责任书",
            "enabled": True,
            "direct": None,
            "deduct": 2,
        },
    },
}


@dataclass(frozen=True)
class Facts:
    """What the rules look at for one household (or an empty house)."""

    listed_concerns: tuple[str, ...] = ()  # e.g. ("张三（涉毒）",)
    group_rental: bool = False
    refused_rectification: bool = False
    rented: bool = False
    responsibility_signed: bool = True
    floating_without_permit: int = 0
    registration_mismatch: int = 0
    open_disputes: int = 0


@dataclass
class Verdict:
    colour: str
    reasons: list[str] = field(default_factory=list)
    score: int = 10


def merged_params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults with an administrator's overrides laid over them (unknown keys are ignored)."""
    params = copy.deepcopy(DEFAULT_PARAMS)
    if not overrides:
        return params
    for key in ("start_score", "red_below", "yellow_below"):
        if key in overrides:
            params[key] = int(overrides[key])
    for colour, days in (overrides.get("visit_days") or {}).items():
        if colour in params["visit_days"]:
            params["visit_days"][colour] = int(days)
    for name, factor in (overrides.get("factors") or {}).items():
        if name in params["factors"]:
            for attr in ("enabled", "direct", "deduct"):
                if attr in factor:
                    params["factors"][name][attr] = factor[attr]
    return params


def validate_params(params: dict[str, Any]) -> list[str]:
    """Problems with a rule set, in Chinese; empty when it can be saved."""
    problems = []
    if not 0 < params["start_score"] <= 100:
        problems.append("起始分应在1至100之间")
    if not params["red_below"] <= params["yellow_below"] <= params["start_score"]:
        problems.append("应满足：红色线 ≤ 黄色线 ≤ 起始分")
    for colour, days in params["visit_days"].items():
        if not 1 <= days <= 366:
            problems.append(f"{colour} 走访周期应在1至366天之间")
    for factor in params["factors"].values():
        if factor["direct"] not in (None, RED, YELLOW):
            problems.append(f"{factor['label']}：直接定色只能是红、黄或不直接定色")
        if not 0 <= int(factor["deduct"]) <= 10:
            problems.append(f"{factor['label']}：扣分应在0至10之间")
    return problems


def evaluate(facts: Facts, params: dict[str, Any] = DEFAULT_PARAMS) -> Verdict:
    """Colour and reasons for one household. Pure: the same facts and rules give the same verdict."""
    factors = params["factors"]
    score = params["start_score"]
    colour = GREEN
    reasons: list[str] = []

    def apply(name: str, count: int, text: str) -> None:
        nonlocal score, colour
        factor = factors[name]
        if count <= 0 or not factor["enabled"]:
            return
        deduct = int(factor["deduct"]) * count
        score -= deduct
        if factor["direct"] and SEVERITY[factor["direct"]] > SEVERITY[colour]:
            colour = factor["direct"]
        reasons.append(text + (f"（扣{deduct}分）" if deduct else ""))

    apply("listed_concern", len(facts.listed_concerns), "重点人员列管中：" + "、".join(facts.listed_concerns))
    apply("group_rental", int(facts.group_rental), "群租房")
    apply("refused_rectification", int(facts.refused_rectification), "房主拒不整改")
    apply("rented", int(facts.rented and not facts.group_rental), "出租屋")
    apply(
        "no_responsibility_letter",
        int((facts.rented or facts.group_rental) and not facts.responsibility_signed),
        "出租屋未签订治安责任书",
    )
    apply(
        "floating_permit_missing",
        facts.floating_without_permit,
        f"{facts.floating_without_permit}名流动人口居住证过期或未办理",
    )
    apply("registration_mismatch", facts.registration_mismatch, f"{facts.registration_mismatch}人人户不一致")
    apply("open_dispute", facts.open_disputes, f"{facts.open_disputes}起矛盾纠纷未化解")

    if score < params["red_below"] and colour != RED:
        colour = RED
        reasons.append(f"综合评分{score}分，低于红色线{params['red_below']}分")
    elif score < params["yellow_below"] and colour == GREEN:
        colour = YELLOW
        reasons.append(f"综合评分{score}分，低于黄色线{params['yellow_below']}分")
    if not reasons:
        reasons.append("无风险因素")
    return Verdict(colour, reasons, score)


def worst(colours: list[str]) -> str:
    return max(colours, key=SEVERITY.__getitem__) if colours else GREEN
