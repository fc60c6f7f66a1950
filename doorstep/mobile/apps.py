from django.apps import AppConfig


class MobileConfig(AppConfig):
    name = "doorstep.mobile"
    verbose_name = "移动警务"
