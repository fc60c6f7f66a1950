"""Account writes: users, login failures and lockout, two-factor login and recovery codes, API tokens."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.accounts.choices import ROLE_SCOPE, Role, Scope, TokenScope
from doorstep.accounts.models import (
    ApiToken,
    RecoveryCode,
    RecoveryCodeDevice,
    User,
    hash_recovery_code,
    hash_token,
)
from doorstep.audit.services import record_change, record_event
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.ids import ascii_digits

TOKEN_PREFIX_LEN = 8
TWO_FACTOR_FAILED = "accounts.two_factor_failed"
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper


def _require_admin(by: Any) -> None:
    if by is None or by.is_superuser or by.role == Role.ADMIN:
        return
    raise NotAllowed(_("只有系统管理员可以管理账户"))


def _require_admin_over(by: Any, user: User) -> None:
    """An administrator acting on `user`'s security (reset, sign-out, tokens): a superuser's only by another
    superuser — a 系统管理员 account must not be able to take over or lock out the one above it."""
    _require_admin(by)
    if by is not None and user.is_superuser and not by.is_superuser and by.pk != user.pk:
        raise NotAllowed(_("系统管理员不能操作超级管理员的账户安全"))


def _required_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(message)
    return reason


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


def record_failed_login(user: User, *, second_factor: bool = False) -> bool:
    """Count a failed password — or a wrong two-factor or recovery code (`second_factor`), which counts toward
    the same lock; lock for LOCKOUT_MINUTES at LOCKOUT_THRESHOLD. Returns True if now locked."""
    from doorstep.audit.services import record_login_failure

    with transaction.atomic():
        if second_factor:
            record_event(
                None,
                TWO_FACTOR_FAILED,
                "accounts.user",
                object_id=user.pk,
                object_repr=user.username[:150],
                note="两步验证码或恢复码错误",
            )
        else:
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
    user: User,
    *,
    name: str,
    expires_at: dt.datetime | None = None,
    scopes: list[str] | tuple[str, ...] | None = None,
    by: Any,
) -> tuple[ApiToken, str]:
    """Create an API token; the plain key is returned once and never stored. `scopes` are TokenScope codes;
    None gives the whole catalogue (system callers and fixtures; the account page always names them)."""
    if by is not None and by.pk != user.pk:
        _require_admin(by)
    if not name.strip():
        raise ServiceError(_("请填写令牌用途"))
    scopes = list(TokenScope.values) if scopes is None else sorted(set(scopes))
    if not scopes:
        raise ServiceError(_("请至少选择一项权限范围"))
    unknown = [code for code in scopes if code not in TokenScope.values]
    if unknown:
        raise ServiceError(_("未知的权限范围：%(scopes)s") % {"scopes": "、".join(unknown)})
    key = "ds_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=key[3 : 3 + TOKEN_PREFIX_LEN],
        key_hash=hash_token(key),
        expires_at=expires_at,
        scopes=scopes,
    )
    record_change(
        by,
        "accounts.issue_token",
        token,
        after={"name": token.name, "prefix": token.prefix, "scopes": scopes, "user": user.username},
    )
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, by: Any, reason: str = "") -> ApiToken:
    """Revoke one token: its owner may, or an administrator (with a `reason`, kept as the audit note)."""
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)  # revoked meanwhile?
    if by is not None and by.pk != token.user_id:
        _require_admin_over(by, token.user)
        reason = _required_reason(reason, _("请填写吊销原因"))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_change(
            by,
            "accounts.revoke_token",
            token,
            after={
                "revoked_at": token.revoked_at.isoformat(),
                "prefix": token.prefix,
                "user": token.user.username,
            },
            note=(reason or "").strip(),
        )
    return token


def revoke_all_tokens(user: User, *, by: Any, reason: str) -> int:
    """Revoke every usable token of `user` (a sign-out everywhere, a reset); each revocation is audited."""
    now = timezone.now()
    count = 0
    for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(expires_at__lte=now):
        revoke_token(token, by=by, reason=reason)
        count += 1
    return count


def authenticate_token(key: str) -> ApiToken | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch last_used at most once a minute: tokens are used by integrations that call often.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# --- two-factor login -------------------------------------------------------------------------------------


def _device_name() -> str:
    return _("身份验证器")


# The session's unconfirmed authenticator (its pk): only the session that was shown a secret may confirm it.
ENROL_SESSION_KEY = "doorstep_two_factor_enrol_device"
ENROLMENT_MINUTES = 15  # an unconfirmed secret older than this is never confirmed: scan a new one


class EnrolmentExpired(ServiceError):
    """The secret this session was shown is gone (expired, or replaced by an enrolment started elsewhere)."""


def _unconfirmed_valid_after() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=ENROLMENT_MINUTES)


@transaction.atomic
def start_enrolment(user: User, session: Any) -> Any:
    """The unconfirmed authenticator this session's enrolment page shows: the one already shown to this same
    session (within ENROLMENT_MINUTES), else a new secret — which deletes the user's other unconfirmed
    devices, so a secret read in another session (someone else who knows the starting password) is void."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device_id = session.get(ENROL_SESSION_KEY)
    device = (
        TOTPDevice.objects.filter(
            pk=device_id, user=user, confirmed=False, created_at__gt=_unconfirmed_valid_after()
        ).first()
        if device_id
        else None
    )
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=_device_name(), confirmed=False)
        session[ENROL_SESSION_KEY] = device.pk
    return device


@transaction.atomic
def confirm_enrolment(user: User, code: str, session: Any) -> tuple[Any, list[str]] | None:
    """Confirm the enrolment with the first code the app shows: the session's own unconfirmed device becomes
    the user's authenticator (replacing an earlier one) and ten new recovery codes are made. Returns (device,
    codes) or None when the code is wrong (not counted toward the lock: a typo while scanning; django-otp
    throttles retries). Raises EnrolmentExpired when the session's secret is no longer valid."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device_id = session.get(ENROL_SESSION_KEY)
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(pk=device_id, user=user, confirmed=False, created_at__gt=_unconfirmed_valid_after())
        .first()
        if device_id
        else None
    )
    if device is None:
        session.pop(ENROL_SESSION_KEY, None)
        raise EnrolmentExpired(
            _("二维码已失效（超过%(n)s分钟或已在别处重新生成），请扫描新的二维码。")
            % {"n": ENROLMENT_MINUTES}
        )
    wait = _throttle_wait(device)
    if wait:
        raise SecondFactorWait(wait)
    if not device.verify_token(_digits(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    session.pop(ENROL_SESSION_KEY, None)
    codes = _new_recovery_codes(user)
    record_change(user, "accounts.two_factor_enrol", user, after={"device": device.persistent_id})
    return device, codes


def _digits(code: str) -> str:
    return "".join(ch for ch in str(code) if not ch.isspace())


def _new_recovery_codes(user: User) -> list[str]:
    """Ten new codes on the user's one recovery device. The device is kept (its codes are replaced, with a new
    salt): a session verified with a recovery code stays verified — django-otp drops a session whose device
    is deleted."""
    device = RecoveryCodeDevice.objects.select_for_update().filter(user=user).order_by("pk").first()
    if device is None:
        device = RecoveryCodeDevice.objects.create(
            user=user, name=_("恢复码"), confirmed=True, salt=secrets.token_hex(16)
        )
    else:
        RecoveryCodeDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.codes.all().delete()
        device.salt = secrets.token_hex(16)
        device.confirmed = True
        device.save(update_fields=["salt", "confirmed"])
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(10)) for _n in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, code_hash=hash_recovery_code(device.salt, code)) for code in codes
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


@transaction.atomic
def regenerate_recovery_codes(user: User, *, by: Any) -> list[str]:
    """Ten new recovery codes replacing all the old ones (used or not); shown once."""
    from doorstep.accounts import two_factor

    if not two_factor.is_enrolled(user):
        raise ServiceError(_("尚未启用两步验证"))
    codes = _new_recovery_codes(user)
    record_change(by, "accounts.recovery_codes_regenerate", user, after={"count": len(codes)})
    return codes


class SecondFactorWait(ServiceError):
    """The authenticator is in django-otp's wait after wrong codes: the code was not checked (nor counted)."""

    code = "throttled"

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        super().__init__(_("验证码输错次数较多，请等待%(n)s秒后再输入。") % {"n": seconds})


def _throttle_cap_seconds() -> int:
    return settings.LOCKOUT_MINUTES * 60


def _cap_throttle(device: Any) -> None:
    """django-otp doubles the wait after each wrong code without a useful cap (100 years): keep the failure
    count where the wait is at most LOCKOUT_MINUTES, the account lock's own length."""
    factor = device.get_throttle_factor()
    if factor <= 0 or device.throttling_failure_count <= 1:
        return
    cap = _throttle_cap_seconds()
    highest = 1
    while factor * 2**highest <= cap:  # the count n waits factor·2^(n-1)
        highest += 1
    if device.throttling_failure_count > highest:
        type(device).objects.filter(pk=device.pk).update(throttling_failure_count=highest)
        device.throttling_failure_count = highest


def _throttle_wait(device: Any) -> int:
    """Seconds until the device accepts a code again (0: now)."""
    _cap_throttle(device)
    allowed, data = device.verify_is_allowed()
    if allowed:
        return 0
    until = (data or {}).get("locked_until")
    if until is None:
        return 1
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def verify_second_factor(user: User, code: str) -> tuple[Any, str] | None:
    """Check a six-digit code from the authenticator or a recovery code. Returns (device, "totp" | "recovery")
    or None; a wrong code counts toward the account lock and is audited; a used recovery code is audited with
    how many remain. A TOTP code already used (the same 30-second step or an earlier one) is refused: the
    device remembers the last step it accepted (django-otp `last_t`). A six-digit code sent during the
    device's wait after wrong codes is not checked and not counted: SecondFactorWait says how long to wait
    (at most LOCKOUT_MINUTES)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    text = _digits(code)
    if ascii_digits(text) and len(text) == 6:
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            if device is not None:
                wait = _throttle_wait(device)
                if wait:
                    raise SecondFactorWait(wait)
            if device is not None and device.verify_token(text):
                _second_factor_passed(user)
                record_event(
                    user,
                    "accounts.two_factor_passed",
                    "accounts.user",
                    object_id=user.pk,
                    object_repr=str(user),
                )
                return device, "totp"
    elif text:
        with transaction.atomic():
            recovery = (
                RecoveryCodeDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            )
            if recovery is not None and recovery.verify_token(text):
                _second_factor_passed(user)
                # the owner is back in: the authenticator's wait after wrong codes is over too
                TOTPDevice.objects.filter(user=user).update(
                    throttling_failure_count=0, throttling_failure_timestamp=None
                )
                remaining = recovery.remaining()
                record_change(
                    user,
                    "accounts.recovery_code_used",
                    user,
                    after={"remaining": remaining},
                    note="使用恢复码登录",
                )
                return recovery, "recovery"
    record_failed_login(user, second_factor=True)
    return None


def _second_factor_passed(user: User) -> None:
    # The password's success does not clear the failure count when a second factor follows (else a thief with
    # the password could try four codes, sign in again, and try four more); the whole login does.
    record_successful_login(user)


def _user_sessions(user: User) -> list[str]:
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    return [
        s.pk
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if s.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]


def _sign_out_everywhere(user: User) -> int:
    """Delete the user's database sessions, revoke their phone workspace devices (`sessions_revoked_at`, ADR
    0024) and, after the commit, close their open WebSockets."""
    from django.contrib.sessions.models import Session

    from doorstep.accounts.sockets import close_user_sockets

    mine = _user_sessions(user)
    Session.objects.filter(pk__in=mine).delete()
    user.sessions_revoked_at = timezone.now()
    User.objects.filter(pk=user.pk).update(sessions_revoked_at=user.sessions_revoked_at)
    transaction.on_commit(lambda: close_user_sockets(user.pk))
    return len(mine)


@transaction.atomic
def reset_two_factor(user: User, *, reason: str, by: Any, revoke_tokens: bool = True) -> User:
    """An administrator removes the user's authenticator (confirmed or still being enrolled) and recovery codes
    (a lost phone): the user enrols again at the next login. The user is signed out everywhere (sessions
    deleted, WebSockets closed): a surviving session — on the lost phone — must not bind a new authenticator.
    With `revoke_tokens` (the form's default) their API tokens are revoked too."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require_admin_over(by, user)
    reason = _required_reason(reason, _("请填写重置原因"))
    totp = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
    recovery = RecoveryCodeDevice.objects.filter(user=user).delete()[1].get(RecoveryCodeDevice._meta.label, 0)
    sessions = _sign_out_everywhere(user)
    tokens = revoke_all_tokens(user, by=by, reason=reason) if revoke_tokens else 0
    record_change(
        by,
        "accounts.two_factor_reset",
        user,
        after={"devices_deleted": totp + recovery, "sessions": sessions, "tokens_revoked": tokens},
        note=reason,
    )
    return user


@transaction.atomic
def unlock(user: User, *, by: Any, reason: str) -> User:
    """Lift a lock (and the second factor's retry wait) before it runs out; the reason is the audit note."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require_admin_over(by, user)
    reason = _required_reason(reason, _("请填写解除锁定的原因"))
    before = {"locked_until": user.locked_until.isoformat() if user.locked_until else None}
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    user.failed_logins, user.locked_until = 0, None
    record_change(by, "accounts.unlock", user, before=before, after={"locked_until": None}, note=reason)
    return user


@transaction.atomic
def revoke_sessions(user: User, *, by: Any, reason: str, revoke_tokens: bool = True) -> int:
    """Sign the user out everywhere (a lost phone, a shared computer): delete their database sessions, close
    their WebSockets and, with `revoke_tokens` (the form's default), revoke their API tokens."""
    _require_admin_over(by, user)
    reason = _required_reason(reason, _("请填写注销原因"))
    count = _sign_out_everywhere(user)
    tokens = revoke_all_tokens(user, by=by, reason=reason) if revoke_tokens else 0
    record_change(
        by, "accounts.revoke_sessions", user, after={"sessions": count, "tokens_revoked": tokens}, note=reason
    )
    return count
