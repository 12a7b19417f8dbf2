"""Periodic jobs: apps register a task and an interval; `zhengwu run_worker` enqueues them when due.

django-tasks has no scheduler of its own, so the worker command runs a small loop that enqueues
each registered task when its interval has passed since the last enqueue (kept in the database,
so restarts and several workers do not double-run a job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

_jobs: dict[str, PeriodicJob] = {}


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any  # a django_tasks Task
    every: timedelta
    description: str


def register(name: str, task: Any, every: timedelta, description: str) -> None:
    _jobs[name] = PeriodicJob(name=name, task=task, every=every, description=description)


def jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def describe_schedule() -> str:
    if not _jobs:
        return "无"
    return "；".join(f"{j.description}（每 {_format(j.every)}）" for j in jobs())


def _format(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} 天"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} 小时"
    if seconds % 60:
        return f"{seconds} 秒"
    return f"{seconds // 60} 分钟"


def enqueue_due(now: Any = None) -> list[str]:
    """Enqueue every job whose interval has passed; returns the names enqueued."""
    from django.db import transaction
    from django.utils import timezone

    from .models import PeriodicJobRun

    now = now or timezone.now()
    enqueued: list[str] = []
    for job in jobs():
        with transaction.atomic():
            run, created = PeriodicJobRun.objects.select_for_update().get_or_create(
                name=job.name, defaults={"last_enqueued_at": now}
            )
            if not created and run.last_enqueued_at + job.every > now:
                continue
            run.last_enqueued_at = now
            run.save(update_fields=["last_enqueued_at"])
            job.task.enqueue()
            enqueued.append(job.name)
    return enqueued
