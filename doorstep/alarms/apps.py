from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "doorstep.alarms"
    label = "alarms"
    verbose_name = "一键报警"
