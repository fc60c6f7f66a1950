"""Staff pages of 通知公告 (/online/notices/): the list, new, edit, publish and withdraw.

Directors write their station's notices, administrators any station's and sub-bureau-wide ones
(portal.access.may_manage_notices). Other roles get a 403 with the reason; a notice outside the user's
territory is a 404. Every write goes through portal.notices (validated, audited).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.portal import access, notices
from doorstep.portal.choices import NoticeStatus
from doorstep.portal.notice_forms import NoticeForm

PER_PAGE = 50


def _apply(form: Any, call: Any) -> Any:
    """Run a service; its refusal goes on the form (None returned), NotAllowed becomes a 403."""
    try:
        return call()
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        form.add_service_error(exc)
        return None


@login_required
def notice_list(request):
    user = request.user
    notices.require_notice_role(user)
    qs = notices.notices_for(user).order_by("-updated_at", "-id")
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/staff_notice_list.html",
        {"page": page, "active_tab": "notices", "published": NoticeStatus.PUBLISHED},
    )


def _form(request, notice=None):
    user = request.user
    notices.require_notice_role(user)
    if notice is not None and notice.status == NoticeStatus.PUBLISHED:
        messages.error(request, _("已发布的公告请先撤回再修改"))
        return redirect("online:notices")
    allow_whole = access.may_manage_notices(user, None)
    initial: dict[str, Any] = {}
    if notice is not None:
        initial = {
            "station": notice.station_id,
            "title": notice.title,
            "body": notice.body,
            "expires_on": notice.expires_on,
        }
    form = NoticeForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        stations=notices.stations_for(user),
        allow_whole=allow_whole,
    )
    if notice is not None:
        form.fields["station"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        saved = _apply(
            form,
            lambda: notices.save_notice(
                user,
                notice=notice,
                station=notice.station if notice is not None else d["station"],
                title=d["title"],
                body=d["body"],
                expires_on=d["expires_on"],
            ),
        )
        if saved is not None:
            messages.success(request, _("公告已保存为草稿") if notice is None else _("公告已保存"))
            return redirect("online:notices")
    title = _("新建通知公告") if notice is None else _("修改通知公告")
    return render(
        request,
        "portal/staff_notice_form.html",
        {"form": form, "title": title, "notice": notice, "active_tab": "notices"},
    )


@login_required
def notice_new(request):
    return _form(request)


@login_required
def notice_edit(request, pk: int):
    return _form(request, notices.get_notice_for(request.user, pk))


def _act(request, pk: int, action: str):
    user = request.user
    notice = notices.get_notice_for(user, pk)
    try:
        notices.set_notice_status(user, notice, action)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ServiceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("公告已发布") if action == notices.PUBLISH else _("公告已撤回"))
    return redirect("online:notices")


@login_required
@require_POST
def notice_publish(request, pk: int):
    return _act(request, pk, notices.PUBLISH)


@login_required
@require_POST
def notice_withdraw(request, pk: int):
    return _act(request, pk, notices.WITHDRAW)


urlpatterns: list = []
staff_urlpatterns = [
    path("notices/", notice_list, name="notices"),
    path("notices/new/", notice_new, name="notice_new"),
    path("notices/<int:pk>/edit/", notice_edit, name="notice_edit"),
    path("notices/<int:pk>/publish/", notice_publish, name="notice_publish"),
    path("notices/<int:pk>/withdraw/", notice_withdraw, name="notice_withdraw"),
]
