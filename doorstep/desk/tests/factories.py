"""Helpers that take desk items through the services, as the pages do."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from doorstep.core.ids import synthetic_citizen_id
from doorstep.desk import services
from doorstep.desk.choices import IntakeKind
from doorstep.desk.models import BusinessType

_rng = random.Random(7)
VALID_ID = "350503199001011236"  # synthetic, with a correct GB 11643 check character


def new_id() -> str:
    return synthetic_citizen_id(_rng)


def business_type(name: str = "居住证申领") -> BusinessType:
    return BusinessType.objects.get(name=name)


def household(world, *, by=None, room=None, docs=None, bt_name="居住证申领", **kw):
    bt = business_type(bt_name)
    return services.create_intake(
        room=room or world.room_c1,
        kind=IntakeKind.HOUSEHOLD,
        business_type=bt,
        received_documents=bt.documents if docs is None else docs,
        applicant_name=kw.pop("applicant_name", "王伟"),
        id_number=kw.pop("id_number", new_id()),
        phone=kw.pop("phone", "13912345678"),
        by=by or world.officer_a,
        **kw,
    )


def case(world, *, by=None, room=None, **kw):
    return services.create_intake(
        room=room or world.room_c1,
        kind=IntakeKind.CASE,
        applicant_name="李娜",
        id_number=new_id(),
        summary="电动车被盗",
        place="3号楼车棚",
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        by=by or world.officer_a,
        **kw,
    )


def dispute(world, *, by=None, **kw):
    return services.create_intake(
        room=world.room_c1,
        kind=IntakeKind.DISPUTE,
        applicant_name="赵强",
        id_number=new_id(),
        summary="楼上漏水",
        other_party="楼上住户",
        by=by or world.officer_a,
        **kw,
    )
