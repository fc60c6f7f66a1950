from __future__ import annotations

from django import forms

from doorstep.core.forms import form_errors_text


class _Form(forms.Form):
    name = forms.CharField(error_messages={"required": "请填写姓名"})
    age = forms.IntegerField(min_value=0, error_messages={"invalid": "请输入整数", "min_value": "不能为负数"})

    def clean(self):
        raise forms.ValidationError("整体有误")


def test_form_errors_text_joins_every_error_with_a_chinese_semicolon():
    form = _Form({"name": "", "age": "x"})
    assert not form.is_valid()
    assert form_errors_text(form) == "请填写姓名；请输入整数；整体有误"


def test_form_errors_text_of_a_valid_form_is_empty():
    class Plain(forms.Form):
        name = forms.CharField()

    form = Plain({"name": "王伟"})
    assert form.is_valid() and form_errors_text(form) == ""
