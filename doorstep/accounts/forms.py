from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.accounts.choices import TokenScope
from doorstep.accounts.models import User
from doorstep.core.ids import ascii_digits


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。连续%(threshold)s次失败将锁定账户%(minutes)s分钟。"),
        "inactive": _("该账户已停用。"),
        "locked": _("该账户因连续登录失败已被锁定，请%(minutes)s分钟后再试，或联系系统管理员。"),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")

    def _locked(self) -> bool:
        username = self.cleaned_data.get("username")
        user = User.objects.filter(username=username).only("locked_until").first() if username else None
        return bool(user and user.is_locked())

    def clean(self):
        if self._locked():
            raise forms.ValidationError(
                self.error_messages["locked"], code="locked", params={"minutes": settings.LOCKOUT_MINUTES}
            )
        try:
            return super().clean()
        except forms.ValidationError:
            if self._locked():
                raise forms.ValidationError(
                    self.error_messages["locked"], code="locked", params={"minutes": settings.LOCKOUT_MINUTES}
                ) from None
            raise

    def get_invalid_login_error(self):
        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"threshold": settings.LOCKOUT_THRESHOLD, "minutes": settings.LOCKOUT_MINUTES},
        )


TOKEN_DEFAULT_DAYS = 90  # a token expires: the form proposes 90 days, and uses them when left empty
TOKEN_MAX_DAYS = 365


def _default_token_expiry():
    return timezone.localdate() + dt.timedelta(days=TOKEN_DEFAULT_DAYS)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("用途"), max_length=100)
    expires_on = forms.DateField(
        label=_("过期日期"),
        required=False,
        initial=_default_token_expiry,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),  # ISO: what type="date" reads
        help_text=_("最长365天；不填则为90天。"),
    )
    scopes = forms.MultipleChoiceField(
        label=_("权限范围"),
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一项权限范围"), "invalid_choice": _("未知的权限范围")},
        help_text=_("令牌只能访问所选范围的接口；“读取”只能查询，“写入”可以新增和修改。"),
    )

    def clean_expires_on(self):
        expires_on = self.cleaned_data.get("expires_on")
        today = timezone.localdate()
        if not expires_on:
            return _default_token_expiry()
        if expires_on < today:
            raise forms.ValidationError(_("过期日期不能早于今天"))
        if expires_on > today + dt.timedelta(days=TOKEN_MAX_DAYS):
            raise forms.ValidationError(_("令牌有效期最长%(n)s天") % {"n": TOKEN_MAX_DAYS})
        return expires_on


class SecondFactorForm(forms.Form):
    """The code at login: six digits from the authenticator app, or one recovery code."""

    code = forms.CharField(
        label=_("验证码或恢复码"),
        max_length=32,
        error_messages={"required": _("请输入验证码")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
        help_text=_("输入身份验证器应用中显示的6位数字；手机丢失时可输入一个恢复码（每个只能使用一次）。"),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("6位验证码"),
        max_length=10,
        error_messages={"required": _("请输入验证码")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not (ascii_digits(code) and len(code) == 6):
            raise forms.ValidationError(_("请输入身份验证器应用中显示的6位数字"))
        return code


class _ReasonForm(forms.Form):
    """An administrator's action on a user's security: the reason is required and becomes the audit note."""

    reason_required = _("请填写原因")
    reason = forms.CharField(label=_("原因"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = self.reason_required

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(self.reason_required)
        return reason


class ResetTwoFactorForm(_ReasonForm):
    reason_required = _("请填写重置原因")
    reason = forms.CharField(
        label=_("重置原因"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("例如：手机丢失，本人到场核实身份")}),
    )
    revoke_tokens = forms.BooleanField(label=_("同时吊销该用户的全部接口令牌"), required=False, initial=True)


class RevokeSessionsForm(_ReasonForm):
    reason_required = _("请填写注销原因")
    revoke_tokens = forms.BooleanField(label=_("同时吊销该用户的全部接口令牌"), required=False, initial=True)


class UnlockForm(_ReasonForm):
    reason_required = _("请填写解除锁定的原因")


class RevokeTokenForm(_ReasonForm):
    reason_required = _("请填写吊销原因")
