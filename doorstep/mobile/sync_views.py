"""The offline queue's endpoints (ADR 0024): device enrolment and revocation, items, conflict resolution."""

from __future__ import annotations

urlpatterns: list = []
