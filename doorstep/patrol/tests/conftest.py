"""Patrol fixtures on top of the shared `world` (see doorstep/conftest.py build_world): a staff record for the
world's `patrol` user (a full-time patrol member of community c1). Helpers that build teams and patrols go
in the test modules or here when shared."""

from __future__ import annotations

import pytest

from doorstep.conftest import build_world, make_staff
from doorstep.org.choices import StaffKind


def attach_patrol_staff(world):
    staff = make_staff(world.sub_bureau, world.s1, StaffKind.PATROL, "余文")
    user = world.patrol
    user.staff = staff
    user.save(update_fields=["staff"])
    world.__dict__["patrol_staff"] = staff
    return world


@pytest.fixture
def pw(world):
    """The world, with `pw.patrol_staff` the patrol user's staff record."""
    return attach_patrol_staff(world)


@pytest.fixture
def pw_live(transactional_db):
    """For browser tests: committed data the live server can read."""
    return attach_patrol_staff(build_world())
