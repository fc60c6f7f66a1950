"""One test per colour rule and its reason text, plus properties of the engine."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doorstep.registry import rules
from doorstep.registry.rules import GREEN, RED, YELLOW, Facts, evaluate, merged_params


def test_nothing_wrong_is_green():
    verdict = evaluate(Facts())
    assert (verdict.colour, verdict.reasons, verdict.score) == (GREEN, ["无风险因素"], 10)


def test_listed_person_of_concern_is_red():
    verdict = evaluate(Facts(listed_concerns=("张三（涉毒）",)))
    assert verdict.colour == RED
    assert verdict.reasons == ["重点人员列管中：张三（涉毒）"]


def test_group_rental_is_red():
    verdict = evaluate(Facts(group_rental=True, responsibility_signed=True))
    assert verdict.colour == RED and verdict.reasons == ["群租房"]


def test_refused_rectification_is_red():
    verdict = evaluate(Facts(refused_rectification=True))
    assert verdict.colour == RED and verdict.reasons == ["房主拒不整改"]


def test_floating_without_permit_is_yellow_with_count():
    verdict = evaluate(Facts(rented=True, floating_without_permit=2))
    assert verdict.colour == YELLOW
    assert verdict.reasons == ["出租屋（扣1分）", "2名流动人口居住证过期或未办理（扣2分）"]
    assert verdict.score == 7


def test_registration_mismatch_is_yellow():
    verdict = evaluate(Facts(registration_mismatch=1))
    assert verdict.colour == YELLOW and verdict.reasons == ["1人人户不一致（扣1分）"]


def test_open_dispute_is_yellow():
    verdict = evaluate(Facts(open_disputes=1))
    assert verdict.colour == YELLOW and verdict.reasons == ["1起矛盾纠纷未化解（扣2分）"]


def test_rented_with_letter_stays_green():
    verdict = evaluate(Facts(rented=True, responsibility_signed=True))
    assert verdict.colour == GREEN and verdict.score == 9


def test_rented_without_letter_falls_below_yellow_line():
    verdict = evaluate(Facts(rented=True, responsibility_signed=False))
    assert verdict.colour == YELLOW
    assert verdict.reasons == [
        "出租屋（扣1分）",
        "出租屋未签订治安责任书（扣2分）",
        "综合评分7分，低于黄色线9分",
    ]


def test_score_below_red_line_is_red():
    verdict = evaluate(Facts(rented=True, responsibility_signed=False, registration_mismatch=3))
    assert verdict.colour == RED
    assert verdict.reasons[-1] == "综合评分4分，低于红色线6分"


def test_administrator_can_switch_a_factor_off_and_move_thresholds():
    params = merged_params({"factors": {"group_rental": {"enabled": False}}, "yellow_below": 10})
    verdict = evaluate(Facts(rented=True, responsibility_signed=True), params)
    assert verdict.colour == YELLOW  # 9 < 10
    assert (
        evaluate(Facts(group_rental=True, responsibility_signed=True), params).colour == GREEN
    )  # switched off


def test_invalid_rule_sets_are_explained():
    params = merged_params({"red_below": 9, "yellow_below": 5})
    assert "应满足：红色线 ≤ 黄色线 ≤ 起始分" in rules.validate_params(params)


facts = st.builds(
    Facts,
    listed_concerns=st.lists(st.sampled_from(["甲（涉毒）", "乙（前科）"]), max_size=2).map(tuple),
    group_rental=st.booleans(),
    refused_rectification=st.booleans(),
    rented=st.booleans(),
    responsibility_signed=st.booleans(),
    floating_without_permit=st.integers(0, 6),
    registration_mismatch=st.integers(0, 6),
    open_disputes=st.integers(0, 3),
)


@given(facts)
def test_every_colour_has_reasons_and_red_factors_always_win(f):
    verdict = evaluate(f)
    assert verdict.reasons
    if f.listed_concerns or f.group_rental or f.refused_rectification:
        assert verdict.colour == RED
    if verdict.colour == GREEN:
        assert verdict.score >= 9


@given(facts, st.integers(0, 3))
def test_more_problems_never_improve_the_colour(f, extra):
    from dataclasses import replace

    worse = replace(f, registration_mismatch=f.registration_mismatch + extra)
    assert rules.SEVERITY[evaluate(worse).colour] >= rules.SEVERITY[evaluate(f).colour]
