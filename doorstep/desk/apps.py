from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "doorstep.desk"
    verbose_name = "警务室服务台"
