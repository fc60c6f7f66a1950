"""The public portal's home, notices and publicity pages (no account; portal.middleware sets the strict CSP).

- `/portal/` — big tiles to the main tasks, the latest notices and publicity posts, the current monthly
  stars (社区警务月度之星) and the emergency reminder;
- `/portal/notices/` — 通知公告 and 宣传文章, with links to the handbooks and the events calendar;
- one notice, one post (a read counts one view), the handbooks with their downloads, the events calendar.

Everything shown is public by nature (published notices and posts, public campaign and event fields, the
stars' names and stations). Anything unknown, unpublished, withdrawn or expired is a Chinese 404.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from doorstep.evaluation import stars
from doorstep.portal import notices, officers, ratelimit

HOME_ITEMS = 3
LIST_ITEMS = 30


@dataclass(frozen=True)
class StarCard:
    """What the home page shows of a monthly star: name, station, the photo URL when there is one."""

    name: str
    station: str
    photo_url: str | None


def _photo_url(staff) -> str | None:
    """The portal's photo URL of a star, when the photo route will serve it (a current community officer with a
    photo); otherwise None and the card shows the name only — never a broken image."""
    code = officers.staff_code(staff.pk)
    return reverse("portal:officer_photo", args=[code]) if officers.photo_of(code) is not None else None


def _star_cards() -> tuple[list[StarCard], object]:
    current = stars.current_stars(timezone.localdate())
    cards = [
        StarCard(s.staff.name, s.staff.station.name if s.staff.station else "", _photo_url(s.staff))
        for s in current
    ]
    return cards, (current[0].month if current else None)


def _not_found(view):
    """Unknown, unpublished, withdrawn or expired: a 404 page in Chinese inside the portal's layout (Django's
    default 404 page is in English and outside the layout)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "portal/notice_missing.html", status=404)

    return wrapper


@require_GET
def home(request):
    cards, month = _star_cards()
    return render(
        request,
        "portal/home.html",
        {
            "notices": list(notices.public_notices()[:HOME_ITEMS]),
            "posts": list(notices.public_posts()[:HOME_ITEMS]),
            "stars": cards,
            "star_month": month,
        },
    )


@require_GET
def notice_index(request):
    return render(
        request,
        "portal/notices.html",
        {
            "notices": list(notices.public_notices()[:LIST_ITEMS]),
            "posts": list(notices.public_posts()[:LIST_ITEMS]),
        },
    )


@require_GET
@_not_found
def notice_detail(request, pk: int):
    return render(request, "portal/notice.html", {"notice": notices.get_public_notice(pk)})


@require_GET
@_not_found
def post_detail(request, pk: int):
    post = notices.get_public_post(pk)
    notices.count_post_read(post, ratelimit.client_ip(request))
    return render(request, "portal/post.html", {"post": post})


@require_GET
def handbooks(request):
    return render(request, "portal/handbooks.html", {"materials": list(notices.public_handbooks())})


@require_GET
@_not_found
def handbook_download(request, pk: int):
    material = notices.get_public_handbook(pk)
    try:
        handle = material.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    extension = os.path.splitext(material.file.name)[1].lower()
    response = FileResponse(handle, as_attachment=True, filename=f"{material.name}{extension}")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def events(request):
    upcoming, recent = notices.events_calendar()
    return render(
        request,
        "portal/events.html",
        {"upcoming": upcoming, "recent": recent, "past_days": notices.EVENTS_PAST_DAYS},
    )


urlpatterns = [
    path("", home, name="home"),
    path("notices/", notice_index, name="notices"),
    path("notices/<int:pk>/", notice_detail, name="notice"),
    path("posts/<int:pk>/", post_detail, name="post"),
    path("handbooks/", handbooks, name="handbooks"),
    path("handbooks/<int:pk>/download", handbook_download, name="handbook_download"),
    path("events/", events, name="events"),
]
staff_urlpatterns: list = []
