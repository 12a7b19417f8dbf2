"""Background work for the audit log, run by the worker's periodic jobs.

AuditConfig.ready() registers both with `zhengwu.core.periodic`; `zhengwu run_worker` enqueues
them when due (its scheduler looks once a minute):

- "audit.checkpoint" (`create_periodic_checkpoint`), every AUDIT_CHECKPOINT_SECONDS (default 60):
  checks the chain since the previous checkpoint and signs the current head with the platform's
  SM2 key — only when records arrived since then. A rewrite of a record older than the newest
  checkpoint is then detected even without the external copies.
- "audit.ship" (`ship_audit_records`), every minute: copies every record not yet in the JSON
  Lines file or acknowledged by the syslog collector (catch-up after a crash between commit and
  shipping, or after the collector was unreachable).
"""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def create_periodic_checkpoint() -> dict[str, Any]:
    from .services import do_create_checkpoint

    checkpoint = do_create_checkpoint(None, automatic=True)
    if checkpoint is None:
        return {"checkpoint_id": None, "skipped": "自上一个检查点以来没有新的审计记录"}
    return {"checkpoint_id": checkpoint.pk, "seq": checkpoint.seq, "hash": checkpoint.hash}


@task()
def ship_audit_records() -> dict[str, Any]:
    from .sink import ship_pending

    outcome = ship_pending(limit=None, retry_syslog=True)
    return {"file_written": outcome.file_written, "syslog_sent": outcome.syslog_sent, "errors": outcome.errors}
