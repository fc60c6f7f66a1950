from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "doorstep.evaluation"
    verbose_name = "考核评价"
