"""Device management pages of the one-click alarm (provisioning, device health, drills, statistics)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
