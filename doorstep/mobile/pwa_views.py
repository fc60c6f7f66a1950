"""The workspace shell, its web app manifest and its service worker (ADR 0024)."""

from __future__ import annotations

urlpatterns: list = []
