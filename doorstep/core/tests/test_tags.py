from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from doorstep.core.templatetags.doorstep_tags import tenure

D = dt.date


@pytest.mark.parametrize(
    ("started", "today", "text"),
    [
        (D(2026, 11, 29), D(2026, 11, 29), "0天"),
        (D(2026, 11, 1), D(2026, 11, 29), "28天"),
        (D(2026, 10, 30), D(2026, 11, 29), "30天"),  # the 30th has not come round again: not a month yet
        (D(2026, 10, 29), D(2026, 11, 29), "1个月"),
        (D(2026, 2, 28), D(2026, 11, 29), "9个月"),
        (D(2023, 11, 29), D(2026, 11, 29), "3年"),
        (D(2023, 11, 30), D(2026, 11, 29), "2年11个月"),  # one day short of the 3 years of the rule
        (D(2021, 9, 1), D(2026, 11, 29), "5年2个月"),
        (D(2027, 1, 1), D(2026, 11, 29), ""),
        (None, D(2026, 11, 29), ""),
    ],
)
def test_tenure_reads_as_years_months_or_days(started, today, text):
    with translation.override("zh-hans"):
        assert tenure(started, today) == text


def test_the_filter_is_loaded_by_name_in_a_template():
    template = Template("{% load doorstep_tags %}{{ a|tenure:b }}")
    with translation.override("en"):
        assert template.render(Context({"a": D(2023, 9, 1), "b": D(2026, 11, 29)})) == "3 yr 2 mo"
