from django.urls import path

from doorstep.core import health, metrics, views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    # Operations (docs/operations/monitoring.md): public liveness/readiness, /metrics limited by address or token.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
