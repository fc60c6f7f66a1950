"""Writing audit rows. Services call `record_change`; readers of personal data call `record_access`."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile

from doorstep.audit.context import current
from doorstep.audit.models import AccessEntry, AccessKind, AuditEntry
from doorstep.core import crypto

SKIP_FIELDS = {"created_at", "updated_at", "password", "secret", "aes_key"}  # never into the log


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def snapshot(obj: models.Model | None) -> dict[str, Any] | None:
    """The concrete field values of a model instance, JSON-ready (foreign keys as ids)."""
    if obj is None:
        return None
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in SKIP_FIELDS or isinstance(field, crypto.SearchHashField):
            continue
        value = getattr(obj, field.attname)
        if isinstance(field, crypto.EncryptedCharField):
            # the audit log is not encrypted: a phone keeps its display mask, an ID number nothing readable,
            # each with a short keyed digest that shows a change (crypto.audit_repr)
            value = crypto.audit_repr(value)
        data[field.attname] = _jsonable(value)
    return data


def _actor(user: Any) -> tuple[int | None, str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return None, "系统"
    return user.pk, str(user)


def record_change(
    by: Any,
    action: str,
    obj: models.Model,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEntry:
    """Append a change-log row; call inside the service's transaction so both commit or neither."""
    actor_id, actor_name = _actor(by)
    ctx = current()
    if after is None:
        after = snapshot(obj)
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    return AuditEntry.objects.create(
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
        note=note[:300],
        ip=ctx.ip,
        channel=ctx.channel,
    )


def record_access(
    by: Any,
    kind: AccessKind | str,
    object_type: str,
    object_ids: Iterable[Any],
    *,
    fields: Iterable[str] = (),
    purpose: str = "",
) -> AccessEntry:
    """Append an access-log row for a read, reveal or export of personal data."""
    actor_id, actor_name = _actor(by)
    ctx = current()
    return AccessEntry.objects.create(
        actor_id=actor_id,
        actor_name=actor_name,
        kind=kind,
        object_type=object_type,
        object_ids=[str(i) for i in object_ids],
        fields=list(fields),
        purpose=purpose[:200],
        ip=ctx.ip,
        channel=ctx.channel,
    )


def record_event(
    by: Any,
    action: str,
    object_type: str,
    *,
    object_id: Any = "",
    object_repr: str = "",
    after: dict[str, Any] | None = None,
    note: str = "",
    actor_name: str | None = None,
) -> AuditEntry:
    """Append a change-log row for an event that has no model instance (a denied request, a failed login,
    a retention run). `actor_name` overrides the name shown when there is no user (e.g. the OS account)."""
    actor_id, name = _actor(by)
    ctx = current()
    return AuditEntry.objects.create(
        actor_id=actor_id,
        actor_name=(actor_name or name)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        object_repr=object_repr[:200],
        after=after,
        note=note[:300],
        ip=ctx.ip,
        channel=ctx.channel,
    )


LOGIN_FAILED = "accounts.login_failed"
DENIED = "security.denied"


def record_login_failure(username: str, *, user: Any = None) -> AuditEntry:
    """A password login that failed. Called by the login backend for every failure (issue #12 item 6).

    For an unknown user name the typed text is NOT stored: people type their password into the user-name
    field by mistake, and the log must not keep it."""
    if user is not None:
        return record_event(
            None,
            LOGIN_FAILED,
            "accounts.user",
            object_id=user.pk,
            object_repr=str(getattr(user, "username", ""))[:150],
            note="密码错误",
        )
    return record_event(None, LOGIN_FAILED, "accounts.user", note="未知用户名")


def record_denied(user: Any, method: str, path: str, status: int = 403) -> AuditEntry:
    """A request refused for lack of permission (HTTP 403). `path` is the route's name (DeniedAccessMiddleware),
    never a caller-chosen path or a query string."""
    return record_event(
        user,
        DENIED,
        "http.request",
        object_repr=f"{method[:10]} {path}"[:200],
        after={"status": status},
    )
