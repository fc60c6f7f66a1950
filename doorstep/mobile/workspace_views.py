"""The workspace's read endpoints (ADR 0024): today's work, lookup within the grid, phone reveal, grid map."""

from __future__ import annotations

urlpatterns: list = []
