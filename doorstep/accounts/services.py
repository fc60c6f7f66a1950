"""Account writes: users, login failures and lockout, API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import ROLE_SCOPE, Role, Scope
from doorstep.accounts.models import ApiToken, User, hash_token
from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, ServiceError

TOKEN_PREFIX_LEN = 8


def _require_admin(by: Any) -> None:
    if by is None or by.is_superuser or by.role == Role.ADMIN:
        return
    raise NotAllowed(_("只有系统管理员可以管理账户"))


@transaction.atomic
def create_user(
    *, username: str, password: str, role: str, display_name: str = "", by: Any = None, **anchor: Any
) -> User:
    """Create an account with its role and territory anchor (station / community / staff record)."""
    _require_admin(by)
    role = Role(role)
    scope = ROLE_SCOPE[role]
    if scope == Scope.STATION and not anchor.get("station"):
        raise ServiceError(_("%(role)s账户必须指定派出所") % {"role": role.label})
    if scope == Scope.COMMUNITY and not anchor.get("community"):
        raise ServiceError(_("%(role)s账户必须指定社区") % {"role": role.label})
    if scope == Scope.GRID and not anchor.get("staff"):
        raise ServiceError(_("%(role)s账户必须关联警务人员") % {"role": role.label})
    if User.objects.filter(username=username).exists():
        raise ServiceError(_("用户名 %(username)s 已存在") % {"username": username}, code="duplicate")
    user = User(username=username, role=role, display_name=display_name, **anchor)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    record_change(by, "accounts.create_user", user)
    return user


def record_failed_login(user: User) -> bool:
    """Count a failed password; lock for LOCKOUT_MINUTES at LOCKOUT_THRESHOLD. Returns True if now locked."""
    from doorstep.audit.services import record_login_failure

    with transaction.atomic():
        record_login_failure(user.username, user=user)
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        user.refresh_from_db(fields=["failed_logins", "locked_until"])
        if user.failed_logins >= settings.LOCKOUT_THRESHOLD:
            user.locked_until = timezone.now() + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
            user.failed_logins = 0
            user.save(update_fields=["locked_until", "failed_logins"])
            record_change(
                None,
                "accounts.lock",
                user,
                after={"locked_until": user.locked_until.isoformat()},
                note=f"连续{settings.LOCKOUT_THRESHOLD}次登录失败",
            )
            return True
    return False


def record_successful_login(user: User) -> None:
    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        user.failed_logins, user.locked_until = 0, None


@transaction.atomic
def issue_token(
    user: User, *, name: str, expires_at: dt.datetime | None = None, by: Any
) -> tuple[ApiToken, str]:
    """Create an API token; the plain key is returned once and never stored."""
    if by is not None and by.pk != user.pk:
        _require_admin(by)
    if not name.strip():
        raise ServiceError(_("请填写令牌用途"))
    key = "ds_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=key[3 : 3 + TOKEN_PREFIX_LEN],
        key_hash=hash_token(key),
        expires_at=expires_at,
    )
    record_change(by, "accounts.issue_token", token, after={"name": token.name, "prefix": token.prefix})
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, by: Any) -> ApiToken:
    if by is not None and by.pk != token.user_id:
        _require_admin(by)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_change(by, "accounts.revoke_token", token, after={"revoked_at": token.revoked_at.isoformat()})
    return token


def authenticate_token(key: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch last_used at most once a minute: tokens are used by integrations that call often.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
