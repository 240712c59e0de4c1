"""Signals of the job's life that other apps listen to (the API's webhooks), so the services
need not know who listens."""

from django.dispatch import Signal

# sent once a job has ended for good, after its row says so: job_id (str), status (str)
job_ended = Signal()
