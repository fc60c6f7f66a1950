"""Logging: a filter that keeps full ID numbers and phone numbers out of every log line, and a JSON
formatter (one object per line, DOORSTEP_LOG_FORMAT=json) for log collectors."""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

from doorstep.core.masking import mask_text

# The request being answered in this context (set by core.metrics.RequestMetricsMiddleware): its id and the
# request itself, whose route name is known only once the URL has been resolved.
current_request: contextvars.ContextVar[tuple[str, object] | None] = contextvars.ContextVar(
    "doorstep_current_request", default=None
)


class MaskPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and request_id / route when
    the record was logged while answering a request; exc (masked) when there is a traceback.

    Apply MaskPersonalDataFilter on the handler as well: it masks the message; the traceback is masked here."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(message),
        }
        current = current_request.get()
        if current is not None:
            request_id, request = current
            entry["request_id"] = request_id
            match = getattr(request, "resolver_match", None)
            if match is not None and match.view_name:
                entry["route"] = match.view_name
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = mask_text(record.exc_text)
        if record.stack_info:
            entry["stack"] = mask_text(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
