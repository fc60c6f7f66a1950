"""Receiving the phone's offline queue exactly once (ADR 0024).

`receive` is the only way a queued record reaches the other apps. The receipt (`SyncItem`, unique per user
and client id) is inserted first, in the same transaction as the handler's writes: a second arrival of the
same id — a resend after a lost answer, or two sends racing on a weak signal — waits on that row, fails to
insert it, and is answered with what the first arrival stored; it changes nothing. The handler runs in a
savepoint, so a refusal or a conflict rolls back whatever it wrote but keeps the receipt.

Outcomes (the HTTP answer is 200 for all three; the body's `status` tells):
- applied: saved through the owning app's service; `object` says what it became.
- conflict: the officer must decide (`options`); the sealed record is kept until `resolve`.
- rejected: the service refused it for a reason no retry can fix (its message is the `detail`); only
  `discard` is offered, and the record is not kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from doorstep.audit.services import record_change
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.mobile import handlers, sealing
from doorstep.mobile.handlers import Applied, Conflict, Context
from doorstep.mobile.models import Device, ItemKind, ItemStatus, SyncItem

log = logging.getLogger("doorstep.mobile")

# A record sent later than this after it was recorded came from the queue.
LATE_AFTER = dt.timedelta(minutes=2)
MAX_SUMMARY = 120
UNSEAL_FAILED = gettext_noop("记录无法解密（终端密钥已更换），请重新录入")  # translated where it is shown


def _stamp(at: dt.datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def answer(item: SyncItem, *, replayed: bool = False) -> dict[str, Any]:
    """The JSON the device is told about one of its records."""
    stored = item.answer or {}
    return {
        "id": str(item.client_id),
        "status": item.status,
        "detail": stored.get("detail", ""),
        "options": stored.get("options", []),
        "object": stored.get("object"),
        "replayed": replayed,
    }


def unseal(device: Device, sealed: Any, client_id: uuid.UUID) -> Any:
    """The record inside `sealed`, or ServiceError with the message the officer sees."""
    try:
        return sealing.unseal(device.salt, sealed, str(client_id))
    except (sealing.SealError, RecursionError):  # RecursionError: JSON nested beyond Python's limit
        raise ServiceError(_(UNSEAL_FAILED), code="sealed") from None


def _audit(
    by: Any,
    action: str,
    item: SyncItem,
    *,
    now: dt.datetime,
    extra: dict[str, Any] | None = None,
    times: list[dt.datetime] | None = None,
) -> None:
    """One audit entry per outcome. Its note says when the record came from the offline queue (the phone
    recorded it more than LATE_AFTER before it arrived) and when it applies a time earlier than the phone
    recorded it (a visit entered afterwards, or a backdated clock-in): what the statistics use is then the
    phone's time, and a reviewer finds every such record by this note."""
    notes = []
    if now - item.recorded_at > LATE_AFTER:
        notes.append(_("离线记录，终端时间 %(at)s") % {"at": _stamp(item.recorded_at)})
    earliest = min(times) if times else None
    if earliest is not None and earliest < min(item.recorded_at, now) - LATE_AFTER:
        notes.append(_("补录，记录所填时间 %(at)s") % {"at": _stamp(earliest)})
    note = "；".join(notes)
    after = {
        "kind": item.kind,
        "client_id": str(item.client_id),
        "device": item.device.public_id,
        "status": item.status,
        "object_type": item.object_type,
        "object_id": item.object_id,
        **(extra or {}),
    }
    record_change(by, action, item, after=after, note=note)


def _run(item: SyncItem, record: Any, *, user: Any, option: str | None, sealed: Any) -> SyncItem:
    """Apply the record through its handler (in a savepoint) and store the outcome on the receipt."""
    now = timezone.now()
    ctx = Context(user=user, device=item.device, item=item, option=option, now=now)
    try:
        with transaction.atomic():
            applied: Applied = handlers.apply(ctx, record)
    except Conflict as exc:
        item.status = ItemStatus.CONFLICT
        item.sealed = sealed
        item.object_type, item.object_id = "", None
        item.answer = {"detail": exc.detail, "options": [o.as_json() for o in exc.options], "object": None}
        item.save()
        _audit(user, "mobile.item_conflict", item, now=now)
        return item
    except ServiceError as exc:  # RuleViolation and NotAllowed included: refusals no retry can fix
        item.status = ItemStatus.REJECTED
        item.sealed = None
        item.object_type, item.object_id = "", None
        item.answer = {"detail": str(exc), "options": [handlers.discard().as_json()], "object": None}
        item.save()
        _audit(user, "mobile.item_rejected", item, now=now, extra={"detail": str(exc)[:200]})
        return item
    except Exception:  # a defect of ours: never a 500 that would block the phone's whole queue behind it
        log.exception("mobile record %s (%s) failed", item.client_id, item.kind)
        item.status = ItemStatus.CONFLICT
        item.sealed = sealed
        item.object_type, item.object_id = "", None
        options = [handlers.retry().as_json(), handlers.discard().as_json()]
        item.answer = {
            "detail": _("服务器处理这条记录时出错，已通知管理员；可稍后重试或放弃"),
            "options": options,
        }
        item.answer["object"] = None
        item.save()
        _audit(user, "mobile.item_conflict", item, now=now, extra={"error": True})
        return item
    obj = applied.obj
    item.status = ItemStatus.APPLIED
    item.sealed = None
    item.object_type, item.object_id = obj._meta.label_lower, obj.pk
    item.answer = {
        **applied.receipt,
        "detail": _("已保存"),
        "options": [],
        "object": {"label": applied.label, "url": applied.url, **applied.extra},
    }
    item.save()
    _audit(user, "mobile.item_applied", item, now=now, times=ctx.times)
    return item


def receive(
    user: Any,
    device: Device,
    *,
    client_id: uuid.UUID,
    kind: str,
    recorded_at: dt.datetime,
    summary: str,
    sealed: Any,
) -> tuple[SyncItem, bool]:
    """Receive one queued record: (its receipt, whether it had arrived before). The caller checked that the
    device is the user's and not revoked. A record that does not open is a ServiceError (nothing stored)."""
    if kind not in ItemKind.values:
        raise ServiceError(_("未知的记录类别"), code="kind")
    existing = SyncItem.objects.filter(user=user, client_id=client_id).first()
    if existing is not None:
        return existing, True
    record = unseal(device, sealed, client_id)
    sealed = {part: sealed[part] for part in ("epk", "iv", "ct")}  # kept on a conflict: nothing else
    with transaction.atomic():
        try:
            with transaction.atomic():
                # Inserted first: a concurrent arrival of the same id waits here and then fails.
                item = SyncItem.objects.create(
                    user=user,
                    device=device,
                    client_id=client_id,
                    kind=kind,
                    recorded_at=recorded_at,
                    status=ItemStatus.APPLIED,
                    answer={},
                )
        except IntegrityError:
            item = None
        if item is not None:
            item.device = device
            _run(item, record, user=user, option=None, sealed=sealed)
            return item, False
    existing = SyncItem.objects.filter(user=user, client_id=client_id).first()
    if existing is None:  # the constraint failed for another reason: not ours to hide
        raise ServiceError(_("记录保存失败，请稍后重试"), code="conflict")
    return existing, True


def resolve(user: Any, device: Device, client_id: uuid.UUID, option: str) -> tuple[SyncItem, bool]:
    """The officer's choice for a record that met a conflict (or was rejected): `discard`, `retry`, or a
    kind-specific option passed to the handler. A resend of a choice already carried out is answered again."""
    if not isinstance(option, str) or not option or len(option) > 40:
        raise ServiceError(_("请选择处理方式"), code="option")
    with transaction.atomic():
        item = (
            SyncItem.objects.select_for_update()
            .select_related("device")
            .filter(user=user, client_id=client_id)
            .first()
        )
        if item is None or item.device_id != device.pk:
            raise NotAllowed(_("该记录不存在"), code="not_found")
        if item.status == ItemStatus.DISCARDED and option == "discard":
            return item, True
        if item.status == ItemStatus.APPLIED:
            return item, True
        if item.status not in (ItemStatus.CONFLICT, ItemStatus.REJECTED):
            raise ServiceError(_("该记录已处理，无需再选择"), code="option")
        offered = {o.get("value") for o in (item.answer or {}).get("options", [])}
        if option not in offered:
            raise ServiceError(_("该记录不能这样处理"), code="option")
        if option == "discard":
            now = timezone.now()
            item.status = ItemStatus.DISCARDED
            item.sealed = None
            item.resolved_at = now
            item.answer = {"detail": _("已放弃"), "options": [], "object": None}
            item.save()
            _audit(user, "mobile.item_discarded", item, now=now)
            return item, False
        sealed = item.sealed
        record = unseal(item.device, sealed, item.client_id)
        item.resolved_at = timezone.now()
        _run(item, record, user=user, option=None if option == "retry" else option, sealed=sealed)
        return item, False


# A conflict nobody resolves keeps the sealed record (readable by the server) no longer than this.
CONFLICT_KEPT = dt.timedelta(days=30)


def purge(now: dt.datetime) -> int:
    """`doorstep tick`: conflicts and refusals that can no longer be resolved are discarded and their sealed
    records emptied — those of a revoked device (logout, an administrator's sign-out everywhere: the phone has
    wiped its copy) and any older than CONFLICT_KEPT. Audited as the officer's discards are."""
    from django.db.models import F, Q

    stranded = SyncItem.objects.filter(status__in=(ItemStatus.CONFLICT, ItemStatus.REJECTED)).filter(
        Q(device__revoked_at__isnull=False)
        | Q(device__user__is_active=False)
        | Q(device__user__sessions_revoked_at__gt=F("device__enrolled_at"))
        | Q(received_at__lt=now - CONFLICT_KEPT)
    )
    done = 0
    for pk in stranded.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            item = SyncItem.objects.select_for_update().select_related("device").filter(pk=pk).first()
            if item is None or item.status not in (ItemStatus.CONFLICT, ItemStatus.REJECTED):
                continue
            item.status, item.sealed, item.resolved_at = ItemStatus.DISCARDED, None, now
            item.answer = {"detail": _("已放弃（终端已注销或超过保留期限）"), "options": [], "object": None}
            item.save()
            _audit(None, "mobile.item_discarded", item, now=now)
            done += 1
    return done
