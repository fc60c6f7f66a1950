from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "doorstep.video"
    verbose_name = "视频巡查广播预警"
