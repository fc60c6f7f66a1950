"""The evaluation demo seed on the test world: baselines per grid and element, samples and incidents;
idempotent."""

from __future__ import annotations

from doorstep.evaluation import seed
from doorstep.evaluation.models import Baseline, Incident, Verification


def test_seed_is_idempotent_and_fills_every_grid(world):
    first = seed.seed(7)
    assert first.created and first.baselines == Baseline.objects.count() == 4 * 5  # 4 grids × 5 elements
    assert Verification.objects.count() == first.verifications  # (the test world has no registry records)
    again = seed.seed(7)
    assert not again.created and Incident.objects.count() == first.incidents
    assert Baseline.objects.count() == first.baselines
