from __future__ import annotations

import logging

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from doorstep.accounts import services
from doorstep.accounts.models import User


class AccountLocked(PermissionDenied):
    pass


class LockoutModelBackend(ModelBackend):
    """Password login that locks an account after consecutive failures (argon2 hashes via settings)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check: no timing oracle for usernames
            _unknown_user_failure(request)
            return None
        if user.is_locked():
            raise AccountLocked
        if user.check_password(password):
            if not self.user_can_authenticate(user):
                return None  # deactivated: refused, but a right password is not a failure to count
            from doorstep.accounts import two_factor

            # With a second factor to come, the failure count is cleared only when that passes too.
            if not two_factor.asks_second_factor(user):
                services.record_successful_login(user)
            return user
        if services.record_failed_login(user):
            raise AccountLocked
        return None


def _unknown_user_failure(request) -> None:
    """A login with an unknown user name, for the weekly audit review: the typed name is never stored (people
    type their password there), and one entry per client address a minute at most — unknown names have no
    lockout, so a script trying names must not flood the append-only log."""
    from django.core.cache import cache

    from doorstep.audit.services import record_login_failure
    from doorstep.core.net import client_ip

    address = client_ip(request) if request is not None else ""
    try:
        first = cache.add(f"audit:login-unknown:{address}", 1, 60)
    except Exception:  # noqa: BLE001 (the cache — Redis — is down: the login page must still answer)
        logging.getLogger(__name__).warning("login-failure de-duplication unavailable; not recorded")
        return
    if first:
        record_login_failure("")
