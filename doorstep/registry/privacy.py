"""Field-level privacy of the registry, in one place: masking, who may reveal, who may see concerns.

Lists, pages, exports and the API show ID numbers and phones masked. Roles in REVEAL_ROLES may reveal a
full value for one record with a stated purpose; the reveal is written to the access log. Persons of
concern are visible only to CONCERN_ROLES, and every read of them is logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from doorstep.accounts.choices import Role
from doorstep.audit.models import AccessKind
from doorstep.audit.services import record_access
from doorstep.core.errors import NotAllowed, ServiceError
from doorstep.core.masking import mask_citizen_id, mask_phone

REVEAL_ROLES = {Role.OFFICER, Role.DIRECTOR}
CONCERN_ROLES = {Role.LEADER, Role.DIRECTOR, Role.OFFICER}
FULL_EXPORT_ROLES = {Role.DIRECTOR}
PERSONAL_FIELDS = {
    "id_number": mask_citizen_id,
    "phone": mask_phone,
    "owner_id_number": mask_citizen_id,
    "owner_phone": mask_phone,
    "landlord_phone": mask_phone,
    "manager_phone": mask_phone,
    "document_number": mask_citizen_id,
    "permit_number": mask_citizen_id,
    "security_phone": mask_phone,
}


def may_reveal(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.role in REVEAL_ROLES)


def may_see_concerns(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.role in CONCERN_ROLES)


def may_export_full(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.role in FULL_EXPORT_ROLES)


def masked(field: str, value: str | None) -> str:
    mask = PERSONAL_FIELDS.get(field)
    return mask(value) if mask and value else (value or "")


def reveal(user: Any, obj: Any, fields: Iterable[str], *, purpose: str) -> dict[str, str]:
    """Full values of personal fields of one object for a permitted user; audited (access log 'reveal')."""
    if not may_reveal(user):
        raise NotAllowed("您的角色无权查看完整信息")
    fields = [f for f in fields if f in PERSONAL_FIELDS]
    if not purpose or not purpose.strip():
        raise ServiceError("请填写查看事由", code="purpose_required")
    record_access(
        user, AccessKind.REVEAL, obj._meta.label_lower, [obj.pk], fields=fields, purpose=purpose.strip()
    )
    return {f: getattr(obj, f) or "" for f in fields}


def log_concern_read(user: Any, concern_ids: Iterable[int], purpose: str = "") -> None:
    ids = list(concern_ids)
    if ids:
        record_access(user, AccessKind.CONCERN, "registry.personofconcern", ids, purpose=purpose)


def log_export(user: Any, object_type: str, ids: Iterable[int], *, full: bool, purpose: str = "") -> None:
    record_access(
        user, AccessKind.EXPORT, object_type, ids, fields=["full" if full else "masked"], purpose=purpose
    )
