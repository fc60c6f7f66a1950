from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "doorstep.audit"
    label = "audit"
    verbose_name = "审计"
