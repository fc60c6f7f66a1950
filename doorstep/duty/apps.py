from django.apps import AppConfig


class DutyConfig(AppConfig):
    name = "doorstep.duty"
    verbose_name = "值班与勤务"
