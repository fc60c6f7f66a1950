from __future__ import annotations

import logging
import random

from hypothesis import given
from hypothesis import strategies as st

from doorstep.core.ids import check_char, is_valid_citizen_id, synthetic_citizen_id, synthetic_mobile
from doorstep.core.logging import MaskPersonalDataFilter
from doorstep.core.masking import mask_citizen_id, mask_phone, mask_text


def test_known_check_character():
    # GB 11643 worked example: 11010519491231002 → X
    assert check_char("11010519491231002") == "X"
    assert is_valid_citizen_id("11010519491231002X")
    assert not is_valid_citizen_id("110105194912310021")


def test_impossible_dates_rejected():
    first17 = "35050320230230123"  # 30 February
    assert not is_valid_citizen_id(first17 + check_char(first17))


@given(st.integers(min_value=0, max_value=2**32))
def test_synthetic_ids_are_valid(seed):
    assert is_valid_citizen_id(synthetic_citizen_id(random.Random(seed)))


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=16))
def test_changing_one_digit_breaks_the_check(seed, pos):
    value = synthetic_citizen_id(random.Random(seed))
    digit = str((int(value[pos]) + 1) % 10)
    tampered = value[:pos] + digit + value[pos + 1 :]
    assert not is_valid_citizen_id(tampered)


def test_display_masks():
    assert mask_citizen_id("350503199001011234") == "350503********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""


@given(st.integers(min_value=0, max_value=2**32))
def test_mask_text_hides_ids_and_phones(seed):
    rng = random.Random(seed)
    cid, phone = synthetic_citizen_id(rng), synthetic_mobile(rng)
    masked = mask_text(f"核查 {cid}，电话{phone}。")
    assert cid not in masked and phone not in masked
    assert cid[:6] in masked and phone[-4:] in masked


def test_log_filter_masks_personal_data(caplog):
    logger = logging.getLogger("doorstep.test")
    logger.addFilter(MaskPersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="doorstep.test"):
        logger.info("person %s phone %s", "350503199001011234", "13812345678")
    assert "350503199001011234" not in caplog.text
    assert "13812345678" not in caplog.text
    assert "350503********1234" in caplog.text


def test_a_name_keeps_only_its_surname():
    from doorstep.core.masking import mask_name

    assert [mask_name(n) for n in ("张三丰", "李四", "王", "", None, " 赵六 ")] == [
        "张**",
        "李*",
        "王*",
        "",
        "",
        "赵*",
    ]


def test_a_json_body_nested_beyond_the_parser_is_a_400_not_a_500(rf):
    import pytest

    from doorstep.core.errors import ServiceError
    from doorstep.core.requestdata import request_data

    request = rf.post("/", data="[" * 5000, content_type="application/json")
    with pytest.raises(ServiceError, match="不是合法的 JSON"):
        request_data(request)
