"""Signals of a job's life, sent by the state machine whatever path caused the change, after the
row says so (and after the transaction commits), so listeners need not know who changed it.

Both are sent with the job's model class as ``sender`` (connect with ``sender=Separation`` to
hear one kind): ``job_id`` (str) and, for ``job_ended``, ``status`` (str).
"""

from django.dispatch import Signal

# a job ended for good: done, failed (by its worker or by stale recovery) or cancelled
job_ended = Signal()

# a job entered the queue (new, or put back): the kind's delivery puts it on the queue
job_queued = Signal()
