"""Accounts: users with a role and a territory anchor, and hashed API tokens for integrations."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.accounts.choices import ROLE_SCOPE, Role, Scope


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

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
