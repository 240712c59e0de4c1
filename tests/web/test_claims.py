"""Every write of a running job's progress is conditional on its claim: a worker whose job was
requeued as stale (and claimed by another worker meanwhile) cannot move the new claim's bar or
keep it looking alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from demixer.separation import services
from demixer.separation.models import Separation, Status
from tests.web.conftest import upload

pytestmark = pytest.mark.django_db


def test_a_stale_claim_cannot_report_or_beat(alice_client, make_clip) -> None:
    upload(alice_client, make_clip(2.0, seed=4))
    job_id = str(Separation.objects.get().id)
    old, new = services.claim_id(), services.claim_id()
    assert services.claim(job_id, old) is not None
    assert services.requeue(job_id, old)
    assert services.claim(job_id, new) is not None
    long_ago = timezone.now() - timedelta(hours=1)
    Separation.objects.filter(id=job_id).update(heartbeat=long_ago)

    services.report(job_id, old, 0.9, "separating", 5.0)
    services.beat(job_id, old)
    job = Separation.objects.get(id=job_id)
    assert (job.progress, job.stage, job.heartbeat) == (0.0, "starting", long_ago)

    services.report(job_id, new, 0.4, "separating", 12.0)
    job = Separation.objects.get(id=job_id)
    assert (job.status, job.progress, job.eta_seconds) == (Status.RUNNING, 0.4, 12.0)
    assert job.heartbeat > long_ago
