"""The worker's memory stays inside its stated budget (README, "Worker memory") on a long,
high-rate, many-channel input: the real worker task body on a real job, in a child process of
its own (``demixer.testing.worker_memory``), Spleeter, pieces published as they come.

Three minutes at 192 kHz in 7.1 stands in for the limits (the bench, ``bench/worker_memory.py``,
runs 20 minutes): with ``DEMIXER_LOW_MEMORY_MINUTES=1`` it takes the path every track past the
threshold takes, and what the job adds on top of the warm session must not depend on the length.
Before the bounded path, the whole result came back to memory at the end (three copies of it
while the pieces were published, the waveform peaks a fourth) and this job added ~580 MiB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from demixer.testing import worker_memory

WORKER_BUDGET_MIB = 1536  # README: the worker budget
JOB_MIB = 512  # README: what one job may add on top of its warm session, whatever the length

pytestmark = [pytest.mark.slow, pytest.mark.model]


def test_spleeter_on_a_long_192k_71_input_stays_in_budget(tmp_path: Path) -> None:
    clip = worker_memory.write_flac(tmp_path / "long-192k-7.1.flac", 180, 192_000, 8)
    run = worker_memory.measure(
        clip, "spleeter", "default", env={"DEMIXER_LOW_MEMORY_MINUTES": "1"}
    )
    assert run.outcome == "done"
    assert run.peak_mib < WORKER_BUDGET_MIB
    assert run.job_mib < JOB_MIB, f"the job added {run.job_mib:.0f} MiB to the warm session"
