"""Forms of the staff notices pages (/online/notices/). They only parse input; portal.notices validates the
domain and writes, and its refusals come back on the field their `code` names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.forms import IdModelChoiceField, StyledForm
from doorstep.core.validators import within_service_years
from doorstep.portal.notices import BODY_MAX, TITLE_MAX
from doorstep.registry.forms import DATE_WIDGET

REQUIRED = {"required": _("此项为必填项")}


class NoticeForm(ServiceErrorsMixin, StyledForm):
    """A notice: the station (empty: the whole sub-bureau, administrators only), title, body, last day."""

    station = IdModelChoiceField(
        label=_("发布单位"),
        queryset=None,
        required=False,
        empty_label=_("全分局"),
        error_messages={"invalid_choice": _("请从列表中选择")},
    )
    title = forms.CharField(
        label=_("标题"),
        max_length=TITLE_MAX,
        error_messages={**REQUIRED, "max_length": _("标题不能超过%(limit_value)d字")},
    )
    body = forms.CharField(
        label=_("正文"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("纯文本，最多%(n)d字；换行会保留") % {"n": BODY_MAX},
        error_messages={**REQUIRED, "max_length": _("正文不能超过%(limit_value)d字")},
    )
    expires_on = forms.DateField(
        label=_("有效期至"),
        required=False,
        widget=DATE_WIDGET,
        validators=[within_service_years],
        help_text=_("过了这一天公告不再在网上警务室显示；不填则长期有效"),
        error_messages={"invalid": _("请输入有效的日期")},
    )

    def __init__(self, *args: Any, stations: Any, allow_whole: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["station"]
        field.queryset = stations
        if not allow_whole:
            field.required = True
            field.empty_label = _("请选择")
            field.error_messages["required"] = _("此项为必填项")
