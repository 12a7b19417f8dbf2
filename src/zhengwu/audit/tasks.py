"""Background work for the audit log.

`create_periodic_checkpoint` is run daily by the worker: AuditConfig.ready() registers it with
`zhengwu.core.periodic` (job "audit.checkpoint"), which `zhengwu run_worker` enqueues when due. Each run checks the chain since the previous checkpoint and signs the current chain
head with the platform's SM2 key, so a later wholesale rewrite of older records is detected.
"""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def create_periodic_checkpoint() -> dict[str, Any]:
    from .services import do_create_checkpoint

    checkpoint = do_create_checkpoint(None)
    return {"checkpoint_id": checkpoint.pk, "seq": checkpoint.seq, "hash": checkpoint.hash}
