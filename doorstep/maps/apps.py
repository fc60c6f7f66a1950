from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "doorstep.maps"
    label = "maps"
    verbose_name = "地图"
