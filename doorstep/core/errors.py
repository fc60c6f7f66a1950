"""Errors raised by service functions; views show them as form errors, the API as 4xx with `detail`."""

from __future__ import annotations


class ServiceError(Exception):
    """A business rule refused the operation."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class RuleViolation(ServiceError):
    code = "rule_violation"
    status = 409


class NotAllowed(ServiceError):
    code = "not_allowed"
    status = 403
