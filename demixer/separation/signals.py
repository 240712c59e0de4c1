"""Signals of the job's life that others listen to (the task module delivers queued jobs, the
API sends webhooks): the state machine's (:mod:`demixer.jobs.signals`), sent with the job's
model as ``sender``."""

from demixer.jobs.signals import job_ended, job_queued

__all__ = ["job_ended", "job_queued"]
