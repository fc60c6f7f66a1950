"""Signing a user out everywhere stamps `User.sessions_revoked_at`: the phone workspace treats every device
enrolled before it as revoked (ADR 0024), for an administrator's sign-out and for a 2FA reset alike."""

from __future__ import annotations

import pytest
from django.utils import timezone

from doorstep.accounts.services import reset_two_factor, revoke_sessions


@pytest.mark.parametrize("service", [revoke_sessions, reset_two_factor])
def test_signing_out_everywhere_sets_sessions_revoked_at(world, service):
    user = world.officer_a
    assert user.sessions_revoked_at is None
    before = timezone.now()

    service(user, by=world.admin, reason="手机丢失")

    user.refresh_from_db()
    assert user.sessions_revoked_at is not None
    assert before <= user.sessions_revoked_at <= timezone.now()


def test_a_refused_sign_out_sets_nothing(world):
    from doorstep.core.errors import ServiceError

    with pytest.raises(ServiceError):
        revoke_sessions(world.officer_a, by=world.admin, reason=" ")
    world.officer_a.refresh_from_db()
    assert world.officer_a.sessions_revoked_at is None
