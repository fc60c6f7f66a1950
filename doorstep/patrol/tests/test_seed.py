"""The demo patrol seed on the demo district: it fills the first station, flags one community short of
full-time members and one that missed last month's meeting, and a second run adds nothing."""

from __future__ import annotations

import pytest

from doorstep.org import seed as org_seed
from doorstep.org.models import Station
from doorstep.patrol import seed
from doorstep.patrol.choices import IssueStatus, PatrolStatus, PostStatus
from doorstep.patrol.dashboard import board
from doorstep.patrol.models import Finding, Issue, Member, Patrol, Post, Team, Zone


@pytest.mark.django_db
def test_seed_is_deterministic_and_idempotent(django_user_model):
    org_seed.seed("demo")
    first = seed.seed()
    assert first.created and 12 <= first.patrols <= 20
    counts = (Patrol.objects.count(), Team.objects.count(), Member.objects.count(), Finding.objects.count())
    assert not seed.seed().created
    assert (
        Patrol.objects.count(),
        Team.objects.count(),
        Member.objects.count(),
        Finding.objects.count(),
    ) == counts

    done = Patrol.objects.filter(status=PatrolStatus.DONE)
    assert done.count() == first.patrols and all(p.track and p.distance_m > 0 for p in done)
    assert Finding.objects.exists() and Zone.objects.exists()
    assert Post.objects.filter(status=PostStatus.PUBLISHED).count() == 1
    assert Issue.objects.filter(status=IssueStatus.OPEN).exists()

    director = django_user_model.objects.get(username="director")
    rows, totals = board(director)
    station = Station.objects.order_by("code").first()
    assert [r.community.station_id for r in rows] == [station.pk] * len(rows)
    assert totals.short_staffed == 1 and rows[-1].short_staffed
    assert totals.missed_last_month == 1 and rows[1].missed_last_month
    assert totals.coverage_7 is not None
