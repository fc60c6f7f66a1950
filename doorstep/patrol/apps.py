from django.apps import AppConfig


class PatrolConfig(AppConfig):
    name = "doorstep.patrol"
    verbose_name = "巡防与宣传"
