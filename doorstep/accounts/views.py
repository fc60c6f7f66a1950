from __future__ import annotations

import datetime as dt
import time

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.accounts import services
from doorstep.accounts.forms import LoginForm, TokenForm
from doorstep.accounts.middleware import SESSION_STARTED


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session[SESSION_STARTED] = time.time()
        return response


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def account(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        expires = form.cleaned_data["expires_on"]
        expires_at = timezone.make_aware(dt.datetime.combine(expires, dt.time.max)) if expires else None
        _token, new_key = services.issue_token(
            request.user, name=form.cleaned_data["name"], expires_at=expires_at, by=request.user
        )
        form = TokenForm()
    tokens = request.user.api_tokens.all()
    return render(request, "accounts/account.html", {"form": form, "tokens": tokens, "new_key": new_key})


@login_required
@require_POST
def revoke_token(request, pk: int):
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    services.revoke_token(token, by=request.user)
    messages.success(request, _("令牌已吊销"))
    return redirect("accounts:account")
