"""Signals of the job's life that others listen to (the task module delivers queued jobs, the
API sends webhooks), so the services need not know who listens nor import them."""

from django.dispatch import Signal

# sent once a job has ended for good, after its row says so: job_id (str), status (str)
job_ended = Signal()

# sent once a job row is queued and committed: separation_id (str); the task module puts it on
# the configured queue (demixer.separation.tasks)
job_queued = Signal()
