"""Forms and FilterSets of the patrol pages (zones, teams, members, meetings, issues, publicity). Forms only
parse input; the services in teams / meetings / publicity validate the domain and write, and their refusals
come back as errors on the field their `code` names."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from doorstep.alarms.forms import ServiceErrorsMixin
from doorstep.core.forms import IdMultipleChoiceField, StyledForm, style, yes_no_select
from doorstep.core.validators import within_service_years
from doorstep.org.filtersets import ScopedFilterSet
from doorstep.org.models import Community
from doorstep.patrol.choices import MeetingKind, PostStatus, TeamKind, Theme
from doorstep.patrol.models import Campaign, Event, Meeting, Post, Team, Zone
from doorstep.patrol.publicity import MAX_MATERIAL_ROWS, POST_BODY_MAX, POST_TITLE_MAX
from doorstep.registry.forms import DATE_WIDGET

REQUIRED = {"required": _("此项为必填项")}
DATE_ERRORS = {**REQUIRED, "invalid": _("请输入有效的日期")}
INT_ERRORS = {
    **REQUIRED,
    "invalid": _("请输入整数"),
    "min_value": _("不能小于%(limit_value)s"),
    "max_value": _("不能大于%(limit_value)s"),
}
CHOICE_ERRORS = {**REQUIRED, "invalid_choice": _("请从列表中选择")}
MULTI_ERRORS = {
    **REQUIRED,
    "invalid_choice": _("请从列表中选择"),
    "invalid_pk_value": _("请从列表中选择"),
    "invalid_list": _("请从列表中选择"),
}
PHONE = RegexValidator(r"^[0-9][0-9\- ]{5,18}[0-9]$", _("请输入有效的电话号码（数字，可含“-”）"))
MAX_COUNT = 1_000_000


def char(label: str, max_length: int, *, required: bool = True, rows: int = 0) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=widget,
        error_messages={**REQUIRED, "max_length": _("不能超过%(limit_value)d字")},
    )


def date(label: str, *, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=DATE_WIDGET,
        validators=[within_service_years],
        error_messages=DATE_ERRORS,
    )


def count(label: str) -> forms.IntegerField:
    # min 0, not 1: the service refuses 0 with the domain's own words.
    return forms.IntegerField(label=label, min_value=0, max_value=MAX_COUNT, error_messages=INT_ERRORS)


def choice(label: str, queryset: Any, *, required: bool = True) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=label,
        queryset=queryset,
        required=required,
        empty_label=_("请选择"),
        error_messages=CHOICE_ERRORS,
    )


def photo_field(label: str) -> forms.FileField:
    f = forms.FileField(
        label=label,
        required=False,
        error_messages={"invalid": _("请选择照片文件"), "empty": _("上传的文件为空")},
    )
    f.widget.attrs.update({"accept": "image/*"})
    return f


# --- zones ---------------------------------------------------------------------------------------------------
class ZoneForm(ServiceErrorsMixin, StyledForm):
    community = choice(_("社区"), Community.objects.none())
    name = char(_("责任区名称"), 60)
    grids = IdMultipleChoiceField(
        label=_("包含网格"), queryset=None, error_messages=MULTI_ERRORS, help_text=_("只能选择本社区的网格")
    )
    police_team = char(_("网格警务队"), 60)
    responsible_officer = choice(_("责任民警"), None)
    street_cadre = char(_("街道责任干部"), 50)
    street_cadre_phone = forms.CharField(
        label=_("街道干部电话"), max_length=20, required=False, validators=[PHONE]
    )
    community_cadre = char(_("社区责任干部"), 50)
    community_cadre_phone = forms.CharField(
        label=_("社区干部电话"), max_length=20, required=False, validators=[PHONE]
    )
    notes = char(_("防控重点"), 300, required=False, rows=2)

    def __init__(self, *args: Any, communities: Any, grids: Any, officers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        self.fields["grids"].queryset = grids
        self.fields["responsible_officer"].queryset = officers


# --- teams and members ---------------------------------------------------------------------------------------
class TeamForm(ServiceErrorsMixin, StyledForm):
    community = choice(_("社区"), Community.objects.none())
    name = char(_("队伍名称"), 60)
    kind = forms.ChoiceField(label=_("队伍类型"), choices=TeamKind.choices, error_messages=CHOICE_ERRORS)
    leader = choice(_("带队民警"), None, required=False)
    active = forms.BooleanField(label=_("在用"), required=False, initial=True)

    def __init__(self, *args: Any, communities: Any, leaders: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        self.fields["leader"].queryset = leaders
        self.fields["leader"].help_text = _("志愿者、物业保安、居委会干部等队伍须由本社区民警带队")


class MemberForm(ServiceErrorsMixin, StyledForm):
    """A full-time member is picked from the station's 巡防队员; a volunteer is typed in."""

    staff = choice(_("巡防队员"), None, required=False)
    name = char(_("姓名"), 50, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False, validators=[PHONE])
    skills = char(_("特长"), 100, required=False)
    availability = char(_("可参与时间"), 100, required=False)
    joined_on = date(_("加入日期"))

    def __init__(self, *args: Any, team: Team, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if team.kind == TeamKind.FULL_TIME:
            for name in ("name", "phone", "skills", "availability"):
                del self.fields[name]
            self.fields["staff"].queryset = staff
            self.fields["staff"].required = True
        else:
            del self.fields["staff"]
            self.fields["name"].required = True


class LeaveForm(ServiceErrorsMixin, StyledForm):
    left_on = date(_("退出日期"))


# --- meetings ------------------------------------------------------------------------------------------------
class MeetingForm(ServiceErrorsMixin, StyledForm):
    community = choice(_("社区"), Community.objects.none())
    kind = forms.ChoiceField(label=_("类型"), choices=MeetingKind.choices, error_messages=CHOICE_ERRORS)
    held_on = date(_("日期"))
    place = char(_("地点"), 100)
    attendance = count(_("参加群众人数"))
    officers = char(_("参加民警"), 200)
    notes = char(_("会议情况"), 2000, required=False, rows=4)
    photo = photo_field(_("照片"))

    def __init__(self, *args: Any, communities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities


class IssueForm(ServiceErrorsMixin, StyledForm):
    text = char(_("问题"), 500, rows=2)
    raised_by = char(_("反映人"), 50, required=False)
    owner = choice(_("责任人"), None)
    due_on = date(_("答复期限"))

    def __init__(self, *args: Any, owners: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class AnswerForm(ServiceErrorsMixin, StyledForm):
    answer = char(_("答复"), 1000, rows=2)
    answered_on = date(_("答复日期"))


# --- publicity -----------------------------------------------------------------------------------------------
class CampaignForm(ServiceErrorsMixin, StyledForm):
    station = choice(_("派出所"), None)
    title = char(_("活动名称"), 80)
    theme = forms.ChoiceField(label=_("主题"), choices=Theme.choices, error_messages=CHOICE_ERRORS)
    starts_on = date(_("开始日期"))
    ends_on = date(_("结束日期"))
    description = char(_("活动内容"), 2000, required=False, rows=4)

    def __init__(self, *args: Any, stations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations


class EventForm(ServiceErrorsMixin, StyledForm):
    """An event and up to MATERIAL_ROWS rows of material × copies (empty rows ignored)."""

    MATERIAL_ROWS = 4
    error_fields = {"materials": "__all__"}
    community = choice(_("社区"), Community.objects.none())
    campaign = choice(_("所属活动"), None, required=False)
    theme = forms.ChoiceField(label=_("主题"), choices=Theme.choices, error_messages=CHOICE_ERRORS)
    title = char(_("名称"), 80)
    place = char(_("地点"), 100)
    held_on = date(_("日期"))
    audience = count(_("受众人数"))
    notes = char(_("情况"), 500, required=False, rows=2)
    photo = photo_field(_("照片"))

    def __init__(self, *args: Any, communities: Any, campaigns: Any, materials: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        self.fields["campaign"].queryset = campaigns
        assert self.MATERIAL_ROWS <= MAX_MATERIAL_ROWS
        for i in range(self.MATERIAL_ROWS):
            self.fields[f"material_{i}"] = choice(_("资料"), materials, required=False)
            self.fields[f"copies_{i}"] = forms.IntegerField(
                label=_("份数"), min_value=0, max_value=MAX_COUNT, required=False, error_messages=INT_ERRORS
            )

        style(self)

    def main_fields(self) -> list[Any]:
        return [self[n] for n in self.fields if not n.startswith(("material_", "copies_"))]

    def material_rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"material_{i}"], self[f"copies_{i}"]) for i in range(self.MATERIAL_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        rows = []
        for i in range(self.MATERIAL_ROWS):
            material, copies = data.get(f"material_{i}"), data.get(f"copies_{i}")
            if material is None and copies in (None, 0) and f"copies_{i}" not in self.errors:
                continue
            if material is None:
                self.add_error(f"material_{i}", _("请选择资料"))
            elif copies is None:
                self.add_error(f"copies_{i}", _("请填写份数"))
            else:
                rows.append((material, copies))
        data["materials"] = rows
        return data


class PostForm(ServiceErrorsMixin, StyledForm):
    station = choice(_("派出所"), None)
    campaign = choice(_("所属活动"), None, required=False)
    theme = forms.ChoiceField(label=_("主题"), choices=Theme.choices, error_messages=CHOICE_ERRORS)
    title = char(_("标题"), POST_TITLE_MAX)
    body = forms.CharField(
        label=_("正文"),
        max_length=POST_BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("纯文本，最多%(n)d字；换行会保留") % {"n": POST_BODY_MAX},
        error_messages={**REQUIRED, "max_length": _("正文不能超过%(limit_value)d字")},
    )

    def __init__(self, *args: Any, stations: Any, campaigns: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations
        self.fields["campaign"].queryset = campaigns


class PublishForm(ServiceErrorsMixin, StyledForm):
    action = forms.ChoiceField(
        label=_("操作"),
        choices=[("publish", _("发布")), ("withdraw", _("撤回"))],
        error_messages=CHOICE_ERRORS,
    )


# --- filtersets ----------------------------------------------------------------------------------------------
class ZoneFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")
    community = filters.ModelChoiceFilter(label=_("社区"), queryset=Community.objects.all())

    class Meta:
        model = Zone
        fields = ["q", "community"]


class TeamFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("队伍名称"), field_name="name", lookup_expr="icontains")
    community = filters.ModelChoiceFilter(label=_("社区"), queryset=Community.objects.all())
    kind = filters.ChoiceFilter(label=_("队伍类型"), choices=TeamKind.choices)
    active = filters.BooleanFilter(label=_("在用"), widget=yes_no_select())

    class Meta:
        model = Team
        fields = ["q", "community", "kind", "active"]


class MeetingFilterSet(ScopedFilterSet):
    community = filters.ModelChoiceFilter(label=_("社区"), queryset=Community.objects.all())
    kind = filters.ChoiceFilter(label=_("类型"), choices=MeetingKind.choices)
    held_from = filters.DateFilter(
        label=_("开始日期"), field_name="held_on", lookup_expr="gte", widget=DATE_WIDGET
    )
    held_to = filters.DateFilter(
        label=_("结束日期"), field_name="held_on", lookup_expr="lte", widget=DATE_WIDGET
    )

    class Meta:
        model = Meeting
        fields = ["community", "kind", "held_from", "held_to"]


class CampaignFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("活动名称"), field_name="title", lookup_expr="icontains")
    theme = filters.ChoiceFilter(label=_("主题"), choices=Theme.choices)

    class Meta:
        model = Campaign
        fields = ["q", "theme"]


class EventFilterSet(ScopedFilterSet):
    community = filters.ModelChoiceFilter(label=_("社区"), queryset=Community.objects.all())
    theme = filters.ChoiceFilter(label=_("主题"), choices=Theme.choices)

    class Meta:
        model = Event
        fields = ["community", "theme"]


class PostFilterSet(ScopedFilterSet):
    q = filters.CharFilter(label=_("标题"), field_name="title", lookup_expr="icontains")
    status = filters.ChoiceFilter(label=_("状态"), choices=PostStatus.choices)
    theme = filters.ChoiceFilter(label=_("主题"), choices=Theme.choices)

    class Meta:
        model = Post
        fields = ["q", "status", "theme"]


class ReachForm(StyledForm):
    """The period of the reach figures (default: this year so far)."""

    start = date(_("开始日期"), required=False)
    end = date(_("结束日期"), required=False)
