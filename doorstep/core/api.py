"""API conventions: pagination and an exception handler that always answers with a `detail`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from doorstep.core.errors import ServiceError


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def _messages(error: DjangoValidationError) -> Any:
    if hasattr(error, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in error.error_dict.items()}
    return [str(m) for m in error.messages]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus service and model validation errors as 400s; every body carries `detail`."""
    if isinstance(exc, ServiceError):
        return Response({"detail": str(exc), "code": exc.code}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        errors = _messages(exc)
        first = next(iter(errors.values()))[0] if isinstance(errors, dict) else errors[0]
        return Response({"detail": first, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and "detail" not in response.data:
        first_field, messages = next(iter(response.data.items()), ("", [""]))
        message = messages[0] if isinstance(messages, list) and messages else messages
        response.data = {
            "detail": f"{first_field}: {message}" if first_field else str(message),
            "errors": response.data,
        }
    elif isinstance(response.data, list):
        response.data = {"detail": str(response.data[0]) if response.data else "", "errors": response.data}
    return response
