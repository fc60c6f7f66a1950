"""The workspace's read endpoints (ADR 0024): today's work, lookup within the grid, phone reveal, grid map.

JSON, never a redirect: signed out is a 401 with `code: login` (the workspace keeps its queue and asks for a
login), a role without the capability a 403, an object outside the territory a 404, a bad request a 400 —
each with a Chinese `detail`. Nothing here is cached by the browser (`Cache-Control: no-store`): what the
phone keeps offline, the workspace's script keeps itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from doorstep.accounts.choices import Role
from doorstep.core.errors import ServiceError
from doorstep.core.requestdata import request_data
from doorstep.maps.api import feature_collection
from doorstep.mobile import access, lookup, today
from doorstep.org import selectors as org_selectors
from doorstep.registry import selectors as registry_selectors

# Today's work is for every workspace role (patrol members see their patrols); the registry's parts —
# lookup, calling a resident, the grid map — for the grid team and the station director only.
REGISTRY_ROLES = frozenset({Role.OFFICER, Role.AUXILIARY, Role.DIRECTOR})
MAX_BODY = 4096
MAX_MAP_HOUSES = 3000
MAX_MAP_GRIDS = 200


def _json_api(method: str, roles: frozenset[str] | None = None) -> Callable:
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @never_cache
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            user = request.user
            if not user.is_authenticated:
                return JsonResponse({"detail": _("登录已过期，请重新登录"), "code": "login"}, status=401)
            if not access.may_use(user) or (roles is not None and user.role not in roles):
                return JsonResponse({"detail": _("您的角色不能使用该功能")}, status=403)
            if request.method != method:
                response = JsonResponse({"detail": _("不支持该请求方法")}, status=405)
                response["Allow"] = method
                return response
            try:
                response = view(request, *args, **kwargs)
            except Http404:
                response = JsonResponse({"detail": _("对象不存在或不在您的辖区内")}, status=404)
            except ServiceError as exc:
                status = 404 if exc.code == "no_phone" else exc.status
                response = JsonResponse({"detail": str(exc), "code": exc.code}, status=status)
            response["Cache-Control"] = "no-store, max-age=0"
            return response

        return wrapper

    return decorate


def _body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object (or form fields), small: a query is a few words."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise ServiceError(_("请求太大"), code="body")
    return request_data(request)


@_json_api("GET")
def today_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(today.today_for(request.user))


@_json_api("POST", REGISTRY_ROLES)
def lookup_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(lookup.lookup(request.user, _body(request).get("q")))


@_json_api("POST", REGISTRY_ROLES)
def phone_view(request: HttpRequest, pk: int) -> JsonResponse:
    if pk >= 2**63:
        raise Http404
    return JsonResponse({"phone": lookup.reveal_phone(request.user, pk)})


def grid_map(user: Any) -> dict[str, Any]:
    """My grids' boundaries (as the map's grid layer) and the houses in them as points with their colour and
    address (no names): two FeatureCollections, `grids` and `houses` (`properties.kind` says which). At most MAX_MAP_HOUSES houses (`truncated` says when there were more)."""
    grids = []
    for g in org_selectors.grids_for(user).exclude(boundary__isnull=True).order_by("code")[:MAX_MAP_GRIDS]:
        grids.append(
            {
                "type": "Feature",
                "id": f"grid-{g.pk}",
                "geometry": g.boundary,
                "properties": {
                    "kind": "grid",
                    "id": g.pk,
                    "name": g.name,
                    "code": g.code,
                    "community": g.community.name,
                    "label_lng": g.center_lng,
                    "label_lat": g.center_lat,
                },
            }
        )
    rows = list(
        registry_selectors.houses_for(user)
        .select_related(None)
        .filter(lng__isnull=False, lat__isnull=False)
        .order_by("pk")
        .values_list("id", "lng", "lat", "colour", "address__full_text", "grid_id", "next_visit_due")[
            : MAX_MAP_HOUSES + 1
        ]
    )
    houses = [
        {
            "type": "Feature",
            "id": f"house-{pk}",
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {
                "kind": "house",
                "id": pk,
                "colour": colour,
                "label": address,
                "address": address,
                "grid": grid_id,
                "next_visit_due": due.isoformat() if due else None,
            },
        }
        for pk, lng, lat, colour, address, grid_id, due in rows[:MAX_MAP_HOUSES]
    ]
    return {
        "grids": feature_collection(grids),
        "houses": feature_collection(houses),
        "truncated": len(rows) > MAX_MAP_HOUSES,
    }


@_json_api("GET", REGISTRY_ROLES)
def grid_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(grid_map(request.user))


urlpatterns: list = [
    path("api/today", today_view, name="api_today"),
    path("api/lookup", lookup_view, name="api_lookup"),
    path("api/persons/<int:pk>/phone", phone_view, name="api_person_phone"),
    path("api/grid", grid_view, name="api_grid"),
]
