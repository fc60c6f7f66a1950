"""Forms of the video pages. They parse input and check what can be pinned on one field (so the error shows
next to it, in Chinese) with the same checks the services apply; the services stay the one place that
validates and writes, and anything they still refuse is shown on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from doorstep.core.errors import ServiceError
from doorstep.core.forms import StyledForm
from doorstep.core.geo import GeometryError, check_point
from doorstep.org.models import Grid, Station
from doorstep.video import services
from doorstep.video.choices import Driver, EventStatus, Hotspot
from doorstep.video.models import Camera, CameraGroup, Speaker, WarningPreset
from doorstep.video.speakers import validate_address

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class _StationOptions:
    """Options carry `data-station`, so the page can offer only what belongs to the chosen grid's station."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)  # type: ignore[misc]
        instance = getattr(value, "instance", None)
        if instance is not None:
            station = getattr(instance, "station_id", None)
            if station is None and hasattr(instance, "community"):
                station = instance.community.station_id
            option["attrs"]["data-station"] = station
        return option


class StationSelect(_StationOptions, forms.Select):
    pass


class StationSelectMultiple(_StationOptions, forms.SelectMultiple):
    pass


class VideoForm(StyledForm):
    def add_service_error(self, exc: ServiceError, field: str | None = None) -> None:
        self.add_error(field if field in self.fields else None, str(exc))


def _check_code(value: str, model: type, instance: Any, label: str) -> str:
    value = (value or "").strip()
    if not services.CODE.match(value):
        raise forms.ValidationError(_("编号只能由 2–40 位字母、数字、“-”或“_”组成"))
    if model.objects.filter(code=value).exclude(pk=instance.pk if instance else None).exists():
        raise forms.ValidationError(_("%(what)s编号 %(code)s 已存在") % {"what": label, "code": value})
    return value


def _number(label, **kwargs: Any) -> forms.FloatField:
    """A decimal number typed freely (no spinner steps)."""
    return forms.FloatField(label=label, widget=forms.NumberInput(attrs={"step": "any"}), **kwargs)


class _DeviceForm(VideoForm):
    """What cameras and speakers both have: the grid they belong to (and so the station), a unique code, a
    name, where they are mounted and their position."""

    grid = forms.ModelChoiceField(label=_("网格"), queryset=Grid.objects.none(), widget=StationSelect)
    code = forms.CharField(label=_("编号"), max_length=40, help_text=_("2–40 位字母、数字、“-”或“_”"))
    name = forms.CharField(label=_("名称"), max_length=60)
    location = forms.CharField(label=_("安装位置"), max_length=100)
    lng = _number(_("经度"))
    lat = _number(_("纬度"))

    model: type
    what = ""

    def __init__(self, *args: Any, grids: Any, instance: Any = None, **kw: Any) -> None:
        self.instance = instance
        super().__init__(*args, **kw)
        self.fields["grid"].queryset = grids
        self.fields["grid"].label_from_instance = lambda g: (
            f"{g.community.station.name} · {g.community.name} · {g.name}"
        )

    def clean_code(self) -> str:
        return _check_code(self.cleaned_data.get("code", ""), self.model, self.instance, self.what)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lng, lat = data.get("lng"), data.get("lat")
        if lng is not None and lat is not None:
            try:
                check_point(lng, lat)
            except GeometryError as exc:
                self.add_error("lng", str(exc))
                self.add_error("lat", _("请核对经纬度是否填反"))
        return data


class CameraForm(_DeviceForm):
    """登记 / 修改摄像机. The stream URL (it may hold the camera's password) appears only in this form."""

    model, what = Camera, _("摄像机")
    hotspot = forms.ChoiceField(label=_("热点类型"), choices=Hotspot.choices, initial=Hotspot.PUBLIC_ORDER)
    stream_url = forms.CharField(
        label=_("视频流地址"),
        max_length=500,
        help_text=_("rtsp://用户名:密码@地址:554/路径、http(s)://（MJPEG）或测试用的 file://；只在本页显示"),
    )
    group = forms.ModelChoiceField(
        label=_("分组"), queryset=CameraGroup.objects.none(), required=False, widget=StationSelect
    )
    speakers = forms.ModelMultipleChoiceField(
        label=_("覆盖音柱"),
        queryset=Speaker.objects.none(),
        required=False,
        widget=StationSelectMultiple(attrs={"size": 6}),
        help_text=_("可多选（按住 Ctrl）；只能选择摄像机所在派出所的音柱"),
    )
    enabled = forms.BooleanField(label=_("启用"), required=False, initial=True)
    fps = forms.IntegerField(label=_("分析帧率"), min_value=1, max_value=15, initial=5)
    detect = forms.BooleanField(label=_("入侵检测"), required=False, initial=True)
    active_from = forms.TimeField(label=_("检测开始"), required=False, widget=TIME_WIDGET)
    active_to = forms.TimeField(
        label=_("检测结束"), required=False, widget=TIME_WIDGET, help_text=_("都不填：全天检测")
    )
    min_area = _number(_("最小面积（区域占比）"), min_value=0.0005, max_value=0.9, initial=0.01)
    min_duration = _number(_("最短持续（秒）"), min_value=0, max_value=60, initial=1.0)
    cooldown = _number(_("冷却时间（秒）"), min_value=0, max_value=3600, initial=60.0)

    SECTIONS = (
        (
            _("基本信息"),
            "col-12 col-md-6 col-lg-4",
            ("grid", "code", "name", "location", "lng", "lat", "hotspot", "group", "enabled"),
        ),
        (_("视频流与广播"), "col-12 col-lg-6", ("stream_url", "speakers")),
        (
            _("入侵检测"),
            "col-12 col-md-6 col-lg-4",
            ("detect", "active_from", "active_to", "min_area", "min_duration", "cooldown", "fps"),
        ),
    )

    def __init__(
        self, *args: Any, grids: Any, groups: Any, speakers: Any, camera: Camera | None = None, **kw
    ):
        self.camera = camera
        if camera is not None:
            initial = model_to_dict(camera, fields=[f for f in self.base_fields if f != "speakers"])
            initial["speakers"] = list(camera.speakers.values_list("pk", flat=True))
            kw["initial"] = {**initial, **kw.get("initial", {})}
        super().__init__(*args, grids=grids, instance=camera, **kw)
        self.fields["group"].queryset = groups
        self.fields["group"].empty_label = _("（不分组）")
        self.fields["speakers"].queryset = speakers
        self.fields["speakers"].label_from_instance = lambda s: f"{s.name}（{s.location}）{s.code}"
        self.fields["stream_url"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def sections(self):
        return [(title, col, [self[name] for name in names]) for title, col, names in self.SECTIONS]

    def clean_stream_url(self) -> str:
        try:
            return services.check_stream_url(self.cleaned_data.get("stream_url", ""))
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("active_from") is None) != (data.get("active_to") is None) and not (
            self.has_error("active_from") or self.has_error("active_to")
        ):
            self.add_error("active_to", _("检测时段须同时填写开始和结束时间，或都不填（全天检测）"))
        grid = data.get("grid")
        if grid is not None:
            station = grid.community.station_id
            group = data.get("group")
            if group is not None and group.station_id != station:
                self.add_error("group", _("分组须属于摄像机所在派出所"))
            others = [s.name for s in data.get("speakers") or [] if s.station_id != station]
            if others:
                self.add_error(
                    "speakers", _("覆盖音柱须属于摄像机所在派出所：%(names)s") % {"names": "、".join(others)}
                )
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        fields = {name: data[name] for name in services.CAMERA_FIELDS}
        return {
            "grid": data["grid"],
            "code": data["code"],
            "group": data["group"],
            "speakers": data["speakers"],
            **fields,
        }


class SpeakerForm(_DeviceForm):
    """登记 / 修改广播音柱."""

    model, what = Speaker, _("音柱")
    zone = forms.CharField(
        label=_("广播分区"), max_length=40, required=False, help_text=_("同一分区的音柱可一起广播")
    )
    driver = forms.ChoiceField(label=_("接入方式"), choices=Driver.choices, initial=Driver.MQTT)
    address = forms.CharField(
        label=_("地址/主题"), max_length=200, help_text=_("MQTT：音柱订阅的主题；HTTP：音柱接收消息的网址")
    )
    wants_audio = forms.BooleanField(label=_("发送语音文件（音柱不能自行朗读文字时勾选）"), required=False)
    volume = forms.IntegerField(label=_("音量"), min_value=0, max_value=100, required=False)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, grids: Any, speaker: Speaker | None = None, **kw: Any) -> None:
        self.speaker = speaker
        if speaker is not None:
            kw["initial"] = {**model_to_dict(speaker, fields=list(self.base_fields)), **kw.get("initial", {})}
        super().__init__(*args, grids=grids, instance=speaker, **kw)
        self.fields["address"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("driver") and data.get("address"):
            try:
                data["address"] = validate_address(data["driver"], data["address"])
            except ValueError as exc:
                self.add_error("address", str(exc))
        return data


class GroupForm(VideoForm):
    station = forms.ModelChoiceField(label=_("派出所"), queryset=Station.objects.none())
    name = forms.CharField(label=_("名称"), max_length=60)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, stations: Any, group: CameraGroup | None = None, **kw: Any) -> None:
        self.group = group
        if group is not None:
            kw["initial"] = {"station": group.station_id, "name": group.name, "note": group.note}
        super().__init__(*args, **kw)
        self.fields["station"].queryset = stations
        if group is not None:
            self.fields["station"].disabled = True  # a group stays with its station (its cameras do)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        station, name = data.get("station"), (data.get("name") or "").strip()
        if station is not None and name:
            taken = CameraGroup.objects.filter(station=station, name=name)
            if taken.exclude(pk=self.group.pk if self.group else None).exists():
                self.add_error("name", _("本所已有名为“%(name)s”的分组") % {"name": name})
        return data


class PresetForm(VideoForm):
    title = forms.CharField(label=_("名称"), max_length=20, help_text=_("如“防盗提醒”“禁止攀爬”"))
    text = forms.CharField(
        label=_("播报内容"), max_length=200, widget=forms.Textarea(attrs={"rows": 3, "maxlength": 200})
    )
    position = forms.IntegerField(label=_("排序"), min_value=0, max_value=32767, initial=0)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, preset: WarningPreset | None = None, **kw: Any) -> None:
        self.preset = preset
        if preset is not None:
            kw["initial"] = model_to_dict(preset, fields=["title", "text", "position", "active"])
        super().__init__(*args, **kw)

    def clean_title(self) -> str:
        title = self.cleaned_data.get("title", "").strip()
        if (
            WarningPreset.objects.filter(title=title)
            .exclude(pk=self.preset.pk if self.preset else None)
            .exists()
        ):
            raise forms.ValidationError(_("已有名为“%(title)s”的警示语") % {"title": title})
        return title


class HandleEventForm(VideoForm):
    status = forms.ChoiceField(
        label=_("处理结果"),
        choices=[(EventStatus.CONFIRMED, _("确认异常")), (EventStatus.DISMISSED, _("误报"))],
        error_messages={"required": _("请选择“确认异常”或“误报”")},
    )
    note = forms.CharField(label=_("处理说明"), max_length=200, required=False)
