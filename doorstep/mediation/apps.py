from django.apps import AppConfig


class MediationConfig(AppConfig):
    name = "doorstep.mediation"
    verbose_name = "矛盾纠纷调解"
