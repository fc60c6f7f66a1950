from __future__ import annotations

from django.utils import timezone

from doorstep.desk import seed
from doorstep.desk.models import Intake
from doorstep.desk.selectors import overdue_q


def test_seed_gives_every_room_a_few_intakes_some_overdue_and_is_idempotent(world):
    first = seed.seed(42)
    assert first.created and first.intakes >= 3 * 3
    rooms = set(Intake.objects.values_list("room_id", flat=True))
    assert world.room_c1.pk in rooms and world.room_c3.pk in rooms
    assert Intake.objects.filter(overdue_q(timezone.now())).count() >= 3
    assert all(i.steps.exists() for i in Intake.objects.all())
    again = seed.seed(42)
    assert not again.created and again.intakes == first.intakes
