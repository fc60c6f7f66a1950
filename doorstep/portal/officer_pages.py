"""Find my officer (找民警) on the public portal, and the house-plate QR sheets on the staff side.

Public (/portal/, no account):
- `officer/` — type an address; the typeahead is a POST (the address never lands in a URL or an access
  log) answering JSON [{label, url}] of buildings; without JS the form posts to a results list.
- `a/<code>/` — the route printed as a QR code on house plates: the grid officer's public card.
- `officer-photo/<code>/` — the photo of a staff member who currently holds a community officer post.

Staff (/online/):
- `qr/` — choose a grid or a community of the user's territory; `qr/<grid>.pdf` and
  `qr/community/<community>.pdf` give an A4 sheet of house-plate labels (one per building).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from doorstep.core.ids import id_param
from doorstep.org.models import Grid
from doorstep.org.territory import Territory
from doorstep.portal import access, officers, qr, ratelimit

PHOTO_CACHE = "private, max-age=600"
CARD_CACHE_SECONDS = 60


class AddressLookupForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("您的住址"),
        max_length=100,
        min_length=officers.MIN_QUERY,
        error_messages={
            "required": gettext_lazy("请输入住址"),
            "min_length": gettext_lazy("请至少输入%(limit_value)d个字"),
            "max_length": gettext_lazy("住址最多%(limit_value)d个字"),
        },
    )


# --- public ---------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def find_officer(request: HttpRequest) -> HttpResponse:
    """The address form; a POST (the no-JS path) shows the matching buildings as a list."""
    form = AddressLookupForm(request.POST if request.method == "POST" else None)
    hits: list[officers.BuildingHit] | None = None
    status = 200
    if request.method == "POST":
        try:
            ratelimit.check(request, ("lookup_ip", "ip"))
        except ratelimit.RateLimited as exc:
            form.add_error(None, str(exc))
            status = exc.status
        else:
            if form.is_valid():
                hits = officers.lookup(form.cleaned_data["q"])
    return render(request, "portal/officer_find.html", {"form": form, "hits": hits}, status=status)


@require_POST
def suggest(request: HttpRequest) -> JsonResponse:
    """The typeahead: JSON [{label, url}] of at most 10 buildings (POST, so the text is in no URL)."""
    try:
        ratelimit.check(request, ("lookup_ip", "ip"))
    except ratelimit.RateLimited as exc:
        return JsonResponse({"error": str(exc)}, status=exc.status)
    q = request.POST.get("q", "")[:200]
    hits = officers.lookup(q)
    return JsonResponse([{"label": h.label, "url": h.url} for h in hits], safe=False)


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/officer_not_found.html", status=404)


@require_safe
def officer_card(request: HttpRequest, code: str) -> HttpResponse:
    """The officer's public card for the building of a plate code. The rendered card is cached for
    CARD_CACHE_SECONDS per code and language: it holds only public data, is the page residents scan most, and
    a change of officer, room or star reaches it within that time."""
    try:
        ratelimit.check(request, ("lookup_ip", "ip"))
    except ratelimit.RateLimited as exc:
        return render(request, "portal/officer_limited.html", {"message": str(exc)}, status=exc.status)
    key = _card_key(code)
    body = cache.get(key) if key else None
    if body is not None:
        return HttpResponse(body)
    address = officers.address_from_code(code)
    if address is None:
        return _not_found(request)
    card = officers.card_for(address)
    sketch = ""
    if card.room:
        sketch = officers.location_sketch(
            card.boundary, card.room.lng, card.room.lat, label=_("警务室位置示意图")
        )
    response = render(request, "portal/officer_card.html", {"card": card, "sketch": sketch, "code": code})
    if key:
        cache.set(key, response.content, CARD_CACHE_SECONDS)
    return response


def _card_key(code: str) -> str | None:
    """The cache key of a plate code's card (None for a code too long to be one of ours)."""
    if len(code) > 64:
        return None
    digest = hashlib.blake2b(code.encode(), digest_size=16).hexdigest()
    return f"portal:card:{get_language()}:{digest}"


@require_safe
def officer_photo(request: HttpRequest, code: str) -> HttpResponse:
    """A community officer's photo; nothing for anyone not holding an officer post now."""
    staff = officers.photo_of(code)
    if staff is None:
        return _not_found(request)
    try:
        handle = staff.photo.open("rb")
    except (OSError, ValueError):
        return _not_found(request)
    response = FileResponse(handle, content_type=_photo_type(staff.photo.name))
    response["Cache-Control"] = PHOTO_CACHE
    return response


def _photo_type(name: str) -> str:
    import mimetypes

    guessed = mimetypes.guess_type(name)[0] or ""
    return guessed if guessed.startswith("image/") else "application/octet-stream"


urlpatterns = [
    path("officer/", find_officer, name="find_officer"),
    path("officer/suggest/", suggest, name="officer_suggest"),
    path("a/<str:code>/", officer_card, name="officer_card"),
    path("officer-photo/<str:code>/", officer_photo, name="officer_photo"),
]


# --- staff: house-plate QR sheets -----------------------------------------------------------------------
def _require_qr(user: Any) -> None:
    if not access.may_print_qr(user):
        raise PermissionDenied(_("您的角色不能打印门牌二维码"))


def plate_url(request: HttpRequest, address_id: int) -> str:
    """The absolute URL printed in a plate's QR code: PORTAL_BASE_URL when configured (the address residents
    reach from outside), else this request's own host."""
    route = reverse("portal:officer_card", kwargs={"code": officers.address_code(address_id)})
    base = (getattr(settings, "PORTAL_BASE_URL", "") or "").rstrip("/")
    return f"{base}{route}" if base else request.build_absolute_uri(route)


@login_required
@require_GET
def qr_index(request: HttpRequest) -> HttpResponse:
    """The grids and communities of the user's territory, each with its sheet."""
    _require_qr(request.user)
    territory = Territory.for_user(request.user)
    grids = list(territory.grids().order_by("community__station__code", "community__code", "code"))
    communities: dict[int, dict[str, Any]] = {}
    for grid in grids:
        entry = communities.setdefault(grid.community_id, {"community": grid.community, "grids": []})
        entry["grids"].append(grid)
    return render(
        request,
        "portal/qr_index.html",
        {"communities": list(communities.values()), "active_tab": "qr"},
    )


def _sheet(request: HttpRequest, grids: list[Grid], title: str, filename: str) -> HttpResponse:
    labels = [(hit.label, plate_url(request, hit.address_id)) for hit in officers.grid_buildings(grids)]
    data = qr.qr_sheet_pdf(labels, title=title, author=str(request.user))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def qr_grid_pdf(request: HttpRequest, grid_id: str) -> HttpResponse:
    """The plate sheet of one grid of the user's territory (404 outside it)."""
    _require_qr(request.user)
    pk = id_param(grid_id)
    grid = Territory.for_user(request.user).grids().filter(pk=pk).first() if pk else None
    if grid is None:
        raise Http404
    title = _("门牌二维码 · %(community)s %(grid)s") % {"community": grid.community.name, "grid": grid.name}
    return _sheet(request, [grid], title, f"qr-{grid.code}-{timezone.localdate():%Y%m%d}.pdf")


@login_required
@require_GET
def qr_community_pdf(request: HttpRequest, community_id: str) -> HttpResponse:
    """The plate sheet of a community: its grids that lie in the user's territory (404 when none do)."""
    _require_qr(request.user)
    pk = id_param(community_id)
    if pk is None:
        raise Http404
    grids = list(Territory.for_user(request.user).grids().filter(community_id=pk).order_by("code"))
    if not grids:
        raise Http404
    community = grids[0].community
    title = _("门牌二维码 · %(community)s") % {"community": community.name}
    return _sheet(request, grids, title, f"qr-{community.code}-{timezone.localdate():%Y%m%d}.pdf")


staff_urlpatterns = [
    path("qr/", qr_index, name="qr"),
    path("qr/<str:grid_id>.pdf", qr_grid_pdf, name="qr_grid_pdf"),
    path("qr/community/<str:community_id>.pdf", qr_community_pdf, name="qr_community_pdf"),
]
