from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import check_for_language, gettext_noop


class ChosenLanguageMiddleware:
    """Simplified Chinese unless the user chose another language (the language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; police workstations with an
    English browser must still get the Chinese interface by default.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen and check_for_language(chosen) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


NUL_DETAIL = gettext_noop("请求中含有不允许的空字符")


class RejectNulMiddleware:
    """A query string or form carrying a NUL character is refused with a 400 before any view runs: PostgreSQL
    cannot store it, and a view that reads a field without a Django form (which refuses it too) must not be
    the one to find out with a 500. JSON bodies are checked by `core.requestdata.request_data`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.GET) or (
            request.method == "POST" and _form_post(request) and _has_nul(request.POST)
        ):
            from django.http import HttpResponseBadRequest, JsonResponse
            from django.utils.translation import gettext as _

            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _(NUL_DETAIL)}, status=400)
            return HttpResponseBadRequest(_(NUL_DETAIL), content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _form_post(request) -> bool:
    """Whether the POST's fields can be read here without taking the body from the view: a urlencoded form is
    parsed from `request.body` (which stays readable); a multipart one only when small enough to be read into
    `request.body` first (the HMAC-signed device receiver reads the raw body after this)."""
    if request.content_type == "application/x-www-form-urlencoded":
        return True
    if request.content_type == "multipart/form-data":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            request.body  # noqa: B018 - cached, so the view can still read the raw body
            return True
    return False


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())
