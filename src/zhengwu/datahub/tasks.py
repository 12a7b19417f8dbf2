"""Background work of data collection (django-tasks): run a batch; every minute, recover batches
whose process died, queue the scheduled pulls that are due (each source follows its entry's
update cycle) and purge inputs past their retention (ZHENGWU_INGEST_KEEP_INPUT_DAYS) and
intermediates left by killed processes; cancel full loads left waiting for confirmation longer
than ZHENGWU_INGEST_FULL_CONFIRM_EXPIRE_HOURS. DatahubConfig.ready() registers the periodic job with zhengwu.core.periodic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_tasks import task


@task()
def run_ingest_batch(batch_id: int) -> dict[str, Any]:
    from .models import IngestBatch
    from .services import run_batch, waits_for_another

    batch = run_batch(batch_id)
    if batch.status == "pending" and waits_for_another(batch_id):
        # Another batch of the same resource runs or comes first: try again shortly (one at a time,
        # in submission order).
        run_ingest_batch.using(run_after=timezone.now() + timedelta(seconds=10)).enqueue(batch_id)
    batch = IngestBatch.objects.get(pk=batch_id)
    return {"batch": batch.pk, "status": batch.status, "accepted": batch.rows_accepted, "refused": batch.rows_refused}


@task()
def datahub_housekeeping() -> dict[str, Any]:
    from .services import (
        do_expire_waiting_batches,
        do_purge_expired_inputs,
        do_recover_interrupted_batches,
        do_run_due_sources,
    )

    recovered = do_recover_interrupted_batches()
    started = do_run_due_sources()
    expired = do_expire_waiting_batches()
    purged = do_purge_expired_inputs()
    return {"recovered": recovered, "pulls": started, "expired_confirmations": expired, "purged_inputs": purged}
