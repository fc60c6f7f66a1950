from __future__ import annotations

import datetime as dt
import time
from typing import Any

import django_otp
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from doorstep.accounts import services, two_factor
from doorstep.accounts.choices import Role, TokenScope
from doorstep.accounts.forms import (
    EnrolForm,
    LoginForm,
    ResetTwoFactorForm,
    RevokeSessionsForm,
    RevokeTokenForm,
    SecondFactorForm,
    TokenForm,
    UnlockForm,
)
from doorstep.accounts.middleware import SESSION_STARTED
from doorstep.accounts.models import ApiToken, RecoveryCodeDevice, User
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.qr import qr_svg
from doorstep.mobile import devices as mobile_devices
from doorstep.mobile.models import Device as MobileDevice


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session[SESSION_STARTED] = time.time()
        user = form.get_user()
        if two_factor.asks_second_factor(user):
            if not two_factor.required_for(user):
                self.request.session[two_factor.PENDING_SESSION_KEY] = True
            target = (
                "accounts:two_factor_verify" if two_factor.is_enrolled(user) else "accounts:two_factor_enrol"
            )
            return redirect(f"{reverse(target)}?{urlencode({'next': self.get_success_url()})}")
        return response


class LogoutView(auth_views.LogoutView):
    pass


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("core:home")


def _verified_session(request, device) -> None:
    """The session passed the second factor: remember the device (django-otp), give it a new key."""
    django_otp.login(request, device)
    request.session.pop(two_factor.PENDING_SESSION_KEY, None)
    request.session.cycle_key()


def _signed_out_locked(request):
    logout(request)
    messages.error(request, _("该账户因连续验证失败已被锁定，请稍后再试，或联系系统管理员。"))
    return redirect("accounts:login")


@login_required
def two_factor_verify(request):
    """The second step of login: a code from the authenticator or a recovery code."""
    user = request.user
    next_url = _next_url(request)
    if user.is_verified():
        return redirect(next_url)
    if not two_factor.is_enrolled(user):
        if two_factor.required_for(user):
            return redirect(f"{reverse('accounts:two_factor_enrol')}?{urlencode({'next': next_url})}")
        request.session.pop(two_factor.PENDING_SESSION_KEY, None)  # reset by an administrator meanwhile
        return redirect(next_url)
    if user.is_locked():
        return _signed_out_locked(request)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.verify_second_factor(user, form.cleaned_data["code"])
        except services.SecondFactorWait as wait:
            form.add_error("code", str(wait))  # not checked, not counted toward the lock
            return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})
        if result is not None:
            device, kind = result
            _verified_session(request, device)
            if kind == "recovery":
                remaining = device.remaining()
                messages.warning(
                    request,
                    _(
                        "已使用恢复码登录，剩余%(n)s个恢复码。手机丢失请联系系统管理员重置两步验证；恢复码不足时请在“我的账户”中重新生成。"
                    )
                    % {"n": remaining},
                )
            return redirect(next_url)
        user.refresh_from_db(fields=["failed_logins", "locked_until"])
        if user.is_locked():
            return _signed_out_locked(request)
        form.add_error("code", _("验证码或恢复码不正确。连续多次错误将锁定账户。"))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


def _group(secret: str, size: int = 4) -> str:
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


@never_cache
@login_required
def two_factor_enrol(request):
    """Bind an authenticator app: scan the QR code (or type the secret), confirm with the first code, then see
    the ten recovery codes once. Replacing an enrolled authenticator needs a verified session. The secret
    belongs to this session (services.start_enrolment) and the page is never cached (it shows the secret)."""
    from base64 import b32encode

    user = request.user
    next_url = _next_url(request)
    if two_factor.is_enrolled(user) and not user.is_verified():
        return redirect(f"{reverse('accounts:two_factor_verify')}?{urlencode({'next': next_url})}")
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.confirm_enrolment(user, form.cleaned_data["code"], request.session)
        except services.ServiceError as exc:  # expired secret, or django-otp's wait after wrong codes
            result = None
            form.add_error("code", str(exc))
        else:
            if result is not None:
                device, codes = result
                _verified_session(request, device)
                return _recovery_codes_page(request, codes, next_url, enrolled=True)
            form.add_error("code", _("验证码不正确。请确认手机时间准确，并输入应用中当前显示的6位数字。"))
    device = services.start_enrolment(user, request.session)
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": next_url,
        "qr": mark_safe(qr_svg(device.config_url, label=_("两步验证二维码"))),  # noqa: S308 (our SVG, text escaped)
        "secret": _group(secret),
        "required": two_factor.required_for(user),
    }
    return render(request, "accounts/two_factor_enrol.html", context)


@login_required
@require_POST
def regenerate_recovery_codes(request):
    if not request.user.is_verified():
        messages.error(request, _("请先完成两步验证再生成恢复码"))
        return redirect("accounts:account")
    try:
        codes = services.regenerate_recovery_codes(request.user, by=request.user)
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:account")
    return _recovery_codes_page(request, codes, reverse("accounts:account"))


def _recovery_codes_page(request, codes: list[str], next_url: str, *, enrolled: bool = False):
    """The codes, shown once, with a print button and a text-file download (a data: URL: nothing stored)."""
    from urllib.parse import quote

    text = _("家门口派出所 两步验证恢复码（%(user)s）") % {"user": request.user.username}
    text += "\n" + "\n".join(codes) + "\n"
    context = {
        "codes": codes,
        "next": next_url,
        "enrolled": enrolled,
        "download": "data:text/plain;charset=utf-8," + quote(text),
    }
    response = render(request, "accounts/recovery_codes.html", context)
    response["Cache-Control"] = "no-store"
    return response


@never_cache  # a new token's key is shown once: no copy in any cache
@login_required
def account(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        expires = form.cleaned_data["expires_on"]
        expires_at = timezone.make_aware(dt.datetime.combine(expires, dt.time.max)) if expires else None
        _token, new_key = services.issue_token(
            request.user,
            name=form.cleaned_data["name"],
            expires_at=expires_at,
            scopes=form.cleaned_data["scopes"],
            by=request.user,
        )
        form = TokenForm()
    tokens = request.user.api_tokens.all()
    recovery = RecoveryCodeDevice.objects.filter(user=request.user).first()
    context = {
        "form": form,
        "tokens": tokens,
        "new_key": new_key,
        "scope_labels": dict(TokenScope.choices),
        "totp": two_factor.totp_device(request.user),
        "recovery_remaining": recovery.remaining() if recovery else None,
        "two_factor_required": two_factor.required_for(request.user),
        "session_verified": request.user.is_verified(),
    }
    return render(request, "accounts/account.html", context)


@login_required
@require_POST
def revoke_token(request, pk: int):
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    services.revoke_token(token, by=request.user)
    messages.success(request, _("令牌已吊销"))
    return redirect("accounts:account")


# --- 用户与安全: the administrator's page ---------------------------------------------------------------------


def _require_admin(user) -> None:
    if not (user.is_superuser or user.role == Role.ADMIN):
        raise PermissionDenied(_("只有系统管理员可以管理用户与安全"))


@login_required
def user_list(request):
    """Every account with its role, territory anchor, two-factor status and lock; every API token."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require_admin(request.user)
    q = request.GET.get("q", "").strip()
    users = User.objects.select_related("station", "community", "staff").order_by("role", "username")
    if q:
        users = users.filter(Q(username__icontains=q) | Q(display_name__icontains=q))
    devices = {d.user_id: d for d in TOTPDevice.objects.filter(confirmed=True, user__in=users)}
    enrolling = set(
        TOTPDevice.objects.filter(confirmed=False, user__in=users).values_list("user_id", flat=True)
    )
    now = timezone.now()
    phones: dict[int, list[Any]] = {}  # the phone workspaces still able to send (ADR 0024)
    for phone in MobileDevice.objects.filter(user__in=users, revoked_at__isnull=True).select_related("user"):
        if not mobile_devices.is_revoked(phone):
            phones.setdefault(phone.user_id, []).append(phone)
    for listed in phones.values():  # the most recently synchronised first
        listed.sort(key=lambda p: p.last_seen_at or p.enrolled_at, reverse=True)
    rows = [
        {
            "user": u,
            "phones": phones.get(u.pk, []),
            "device": devices.get(u.pk),
            "enrolling": u.pk in enrolling,  # a secret shown, not confirmed: resettable too
            "locked": u.is_locked(now),
            "required": two_factor.required_for(u),
        }
        for u in users
    ]
    tokens = ApiToken.objects.select_related("user").order_by("revoked_at", "-created_at")
    context = {
        "rows": rows,
        "tokens": tokens,
        "q": q,
        "scope_labels": dict(TokenScope.choices),
        "reset_form": ResetTwoFactorForm(),
        "sessions_form": RevokeSessionsForm(),
        "unlock_form": UnlockForm(),
        "token_form": RevokeTokenForm(),
        "now": now,
    }
    return render(request, "accounts/user_list.html", context)


def _admin_action(request, form_class, action, success):
    """Run an administrator's action with its required reason; a refusal of the service (a 系统管理员 acting on
    a superuser) is a 403, a missing reason an error message."""
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("accounts:user_list")
    try:
        result = action(form.cleaned_data)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
        return redirect("accounts:user_list")
    messages.success(request, success(result))
    return redirect("accounts:user_list")


@login_required
@require_POST
def user_reset_two_factor(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(User, pk=pk)
    return _admin_action(
        request,
        ResetTwoFactorForm,
        lambda data: services.reset_two_factor(
            target, reason=data["reason"], revoke_tokens=data["revoke_tokens"], by=request.user
        ),
        lambda _result: (
            _("已重置 %(user)s 的两步验证并注销其全部会话，该用户下次登录时需重新绑定。") % {"user": target}
        ),
    )


@login_required
@require_POST
def user_unlock(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(User, pk=pk)
    return _admin_action(
        request,
        UnlockForm,
        lambda data: services.unlock(target, reason=data["reason"], by=request.user),
        lambda _result: _("已解除 %(user)s 的锁定") % {"user": target},
    )


@login_required
@require_POST
def user_revoke_sessions(request, pk: int):
    _require_admin(request.user)
    target = get_object_or_404(User, pk=pk)
    response = _admin_action(
        request,
        RevokeSessionsForm,
        lambda data: services.revoke_sessions(
            target, by=request.user, reason=data["reason"], revoke_tokens=data["revoke_tokens"]
        ),
        lambda count: _("已注销 %(user)s 的全部会话（%(n)s个）") % {"user": target, "n": count},
    )
    if target.pk == request.user.pk and not request.session.exists(request.session.session_key):
        return redirect("accounts:login")  # signed themselves out
    return response


@login_required
@require_POST
def user_revoke_token(request, pk: int):
    _require_admin(request.user)
    token = get_object_or_404(ApiToken, pk=pk)
    return _admin_action(
        request,
        RevokeTokenForm,
        lambda data: services.revoke_token(token, by=request.user, reason=data["reason"]),
        lambda _result: _("令牌 %(token)s 已吊销") % {"token": token},
    )
