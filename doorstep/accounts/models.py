"""Accounts: users with a role and a territory anchor, hashed API tokens for integrations, and the recovery
codes of two-factor login (the TOTP devices are django-otp's `otp_totp.TOTPDevice`)."""

from __future__ import annotations

import hashlib
import hmac

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from doorstep.accounts.choices import ROLE_SCOPE, Role, Scope, TokenScope


class User(AbstractUser):
    """用户: a person who signs in, with one role; the role and anchor decide the territory they see."""

    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    role = models.CharField(_("角色"), max_length=12, choices=Role.choices)
    staff = models.OneToOneField(
        "org.Staff", models.PROTECT, null=True, blank=True, related_name="user", verbose_name=_("警务人员")
    )
    sub_bureau = models.ForeignKey(
        "org.SubBureau", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("分局")
    )
    station = models.ForeignKey(
        "org.Station", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("派出所")
    )
    community = models.ForeignKey(
        "org.Community", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("社区")
    )
    failed_logins = models.PositiveIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    # Set when an administrator signs the user out everywhere: every phone workspace device enrolled before it
    # is revoked (records still queued on a lost phone are refused, ADR 0024).
    sessions_revoked_at = models.DateTimeField(_("全部注销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def scope(self) -> Scope:
        return ROLE_SCOPE[Role(self.role)] if self.role else Scope.GRID

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """接口令牌: a key for an integration; only its SHA-256 is stored, the key is shown once."""

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens", verbose_name=_("用户"))
    name = models.CharField(_("用途"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    # Codes of accounts.choices.TokenScope; a token reaches only the API of its scopes.
    scopes = models.JSONField(_("权限范围"), default=list, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def scope_labels(self) -> list[tuple[str, str]]:
        """(code, label) of each scope, for pages."""
        labels = dict(TokenScope.choices)
        return [(code, str(labels.get(code, code))) for code in self.scopes or []]


def hash_recovery_code(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


class RecoveryCodeDevice(Device):
    """恢复码: a user's set of single-use recovery codes, for when the phone with the authenticator is lost.

    A django-otp device, so that a session verified with a recovery code is a verified session like any other.
    Only salted SHA-256 hashes are stored (django-otp's StaticToken keeps the codes in clear): a code has
    about 50 bits of randomness and is used once, so a slow hash would only slow down checking ten of them."""

    salt = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")

    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()

    def verify_token(self, token) -> bool:
        """Use the code once: it is marked used in the same UPDATE that finds it unused, so two concurrent
        requests with one code cannot both succeed."""
        code = normalise_recovery_code(str(token))
        if not code:
            return False
        wanted = hash_recovery_code(self.salt, code)
        now = timezone.now()
        for row in self.codes.filter(used_at__isnull=True).only("pk", "code_hash"):
            if hmac.compare_digest(row.code_hash, wanted) and (
                RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
            ):
                RecoveryCodeDevice.objects.filter(pk=self.pk).update(last_used_at=now)
                self.last_used_at = now
                return True
        return False


def normalise_recovery_code(text: str) -> str:
    """What the user typed, as stored: upper case, without spaces and dashes (codes are shown as XXXXX-XXXXX)."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


class RecoveryCode(models.Model):
    """恢复码（单个）: the hash of one recovery code and when it was used."""

    device = models.ForeignKey(RecoveryCodeDevice, models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")

    def __str__(self) -> str:
        return f"{self.device_id}/{self.pk}"
