"""Who opens the phone workspace: the grid team (community officers, auxiliaries), station directors (who
also go out and are dispatched) and patrol-team members (their patrols)."""

from __future__ import annotations

from typing import Any

from doorstep.accounts.choices import Role

WORKSPACE_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR, Role.PATROL})


def may_use(user: Any) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and user.role in WORKSPACE_ROLES
    )
