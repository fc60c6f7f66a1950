from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.accounts.choices import TokenScope
from doorstep.accounts.models import User


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


class TokenForm(forms.Form):
    name = forms.CharField(label=_("用途"), max_length=100)
    expires_on = forms.DateField(
        label=_("过期日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
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
        if expires_on and expires_on < timezone.localdate():
            raise forms.ValidationError(_("过期日期不能早于今天"))
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
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("请输入身份验证器应用中显示的6位数字"))
        return code


class ResetTwoFactorForm(forms.Form):
    reason = forms.CharField(
        label=_("重置原因"),
        max_length=200,
        error_messages={"required": _("请填写重置原因")},
        widget=forms.TextInput(attrs={"placeholder": _("例如：手机丢失，本人到场核实身份")}),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写重置原因"))
        return reason


class RevokeSessionsForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)
