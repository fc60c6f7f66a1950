"""The portal's demo seed: something of everything, deterministic and idempotent."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from doorstep.patrol.models import Material
from doorstep.portal import notices
from doorstep.portal import seed as portal_seed
from doorstep.portal.choices import Kind, NoticeStatus
from doorstep.portal.models import AppointmentSlot, Notice, Submission, Survey, SurveyGrid, SurveyResponse

MODELS = (Notice, AppointmentSlot, Submission, Survey, SurveyGrid, SurveyResponse)


def test_seed_fills_the_portal_once(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    if not Material.objects.exists():  # the reference materials come with patrol's migration
        Material.objects.create(name="平安防范手册")
    first = portal_seed.seed(42)
    assert first.created
    counts = {m.__name__: m.objects.count() for m in MODELS}
    # notices: each station's, one sub-bureau-wide, and a draft and an expired one the portal must not show
    assert Notice.objects.filter(station__isnull=True, status=NoticeStatus.PUBLISHED).count() == 1
    assert Notice.objects.filter(station=world.s2).exists()
    shown = set(notices.public_notices().values_list("pk", flat=True))
    assert Notice.objects.exclude(pk__in=shown).count() == 2
    # slots: every police room, the next 10 working days, all in the future, capacity respected
    rooms = set(AppointmentSlot.objects.values_list("room_id", flat=True))
    assert rooms == {world.room_c1.pk, world.room_c3.pk, world.c2.police_room.pk}
    assert not AppointmentSlot.objects.filter(starts_at__lte=timezone.now()).exists()
    days = {s.starts_at.date() for s in AppointmentSlot.objects.filter(room=world.room_c1)}
    assert len(days) == 10 and all(d.weekday() < 5 for d in days)
    # submissions of every kind, in several statuses, booked appointments counted on their slots
    assert set(Submission.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert Submission.objects.values("status").distinct().count() >= 4
    booked = Submission.objects.filter(slot__isnull=False).count()
    assert booked and sum(AppointmentSlot.objects.values_list("booked", flat=True)) == booked
    # surveys: three months, ~40 % of grids, rates in the demo's ranges
    assert Survey.objects.filter(station__isnull=True).count() == 3
    responses = SurveyResponse.objects.all()
    n = responses.count()
    aware = responses.filter(Q(knows_officer=True) | Q(knows_phone=True) | Q(knows_room=True)).count()
    assert n > 30 and 0.6 < aware / n <= 1.0
    assert responses.filter(satisfaction__gte=3).count() / n > 0.8
    assert responses.filter(safety__gte=3).count() / n > 0.8
    assert not responses.filter(submitted_at__gt=timezone.now()).exists()

    # every active publicity material has a downloadable handbook
    assert list(notices.public_handbooks()) == list(Material.objects.filter(active=True).order_by("name"))

    second = portal_seed.seed(42)
    assert not second.created
    assert {m.__name__: m.objects.count() for m in MODELS} == counts
