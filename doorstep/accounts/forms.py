from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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

    def clean_expires_on(self):
        expires_on = self.cleaned_data.get("expires_on")
        if expires_on and expires_on < timezone.localdate():
            raise forms.ValidationError(_("过期日期不能早于今天"))
        return expires_on
