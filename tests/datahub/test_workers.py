"""Several `zhengwu run_worker` processes against PostgreSQL share the queue (issue 12): each
batch is processed exactly once, two batches of one resource never run at once and are applied
in the order they were submitted, and killing one worker mid-batch lets another recover it.

Real processes on a real PostgreSQL; on SQLite (one writer at a time, one worker by design) the
tests are skipped with a message."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from zhengwu.datahub import lake, services
from zhengwu.datahub.models import IngestBatch, ResourceVersion

from .conftest import people_csv, person, valid_id

pytestmark = pytest.mark.django_db(transaction=True)

DB_BACKEND = "django_tasks_db.DatabaseBackend"


@pytest.fixture
def on_postgresql(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("多个后台任务进程共用队列需要 PostgreSQL（DATABASE_URL=postgres://…）；SQLite 部署只运行一个进程")
    # This process enqueues into the database queue that the worker processes read.
    settings.TASKS = {"default": {"BACKEND": DB_BACKEND, "QUEUES": ["default"]}}


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.fixture
def start_worker(settings: Any, tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []
    env = dict(
        os.environ, DATABASE_URL=_database_url(), ZHENGWU_ENV="test", ZHENGWU_TASKS_BACKEND=DB_BACKEND,
        ZHENGWU_LAKE_URL=str(settings.LAKE_URL), ZHENGWU_LAKE_STORAGE_OPTIONS=settings.LAKE_STORAGE_OPTIONS or "",
        ZHENGWU_INGEST_WORK_DIR=str(settings.INGEST_WORK_DIR), ZHENGWU_DATA_DIR=str(tmp_path / "data"),
    )

    def start() -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"worker-{len(procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [sys.executable, "-m", "zhengwu.cli", "run_worker", "--interval", "0.2", "--no-periodic"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(predicate: Any, seconds: float, what: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(tmp_path.glob("worker-*.log")))
    pytest.fail(f"{what}: not within {seconds} s; worker logs:\n{logs}")


def _rows(seed: int, count: int) -> list[dict[str, Any]]:
    return [person(seed * 100 + i + 1) for i in range(count)]


@pytest.mark.usefixtures("on_postgresql")
def test_two_workers_share_the_queue_once_each_and_one_batch_of_a_resource_at_a_time(
    tmp_path: Path, publish: Any, data_admin: Any, start_worker: Any
) -> None:
    people = publish(data_admin)
    others = publish(data_admin, name="流动人口居住登记信息")
    submitted: list[IngestBatch] = []
    for n in range(3):
        for entry in (people, others):
            path = people_csv(tmp_path / f"{entry.pk}-{n}.csv", _rows(n, 40))
            submitted.append(services.do_submit_file(data_admin, entry.resource_code, path))
    workers = [start_worker(), start_worker()]

    def all_done() -> bool:
        return not IngestBatch.objects.filter(pk__in=[b.pk for b in submitted]).exclude(status="succeeded").exists()

    _wait(all_done, 300, "all six batches succeeded", tmp_path)
    batches = list(IngestBatch.objects.filter(pk__in=[b.pk for b in submitted]).order_by("pk"))
    # Both processes took batches, and each batch was applied exactly once: one version each.
    assert {b.worker_pid for b in batches} == {w.pid for w in workers}
    for entry in (people, others):
        mine = [b for b in batches if b.resource_code == entry.resource_code]
        versions = list(ResourceVersion.objects.filter(resource_code=entry.resource_code).order_by("lake_version"))
        assert [v.batch_id for v in versions] == [b.pk for b in mine]  # once each, in submission order
        assert [v.lake_version for v in versions] == [0, 1, 2]
        assert lake.current_version(entry.resource_code) == 2
        # Never two at once: each batch of the resource started after the previous one finished.
        for earlier, later in itertools.pairwise(mine):
            assert earlier.finished_at is not None and later.started_at is not None
            assert later.started_at >= earlier.finished_at
        assert lake.count_rows(entry.resource_code) == 120


@pytest.mark.usefixtures("on_postgresql")
def test_killing_a_worker_mid_batch_lets_another_worker_recover_it(
    tmp_path: Path, publish: Any, data_admin: Any, start_worker: Any, settings: Any
) -> None:
    from zhengwu.datahub.tasks import datahub_housekeeping

    entry = publish(data_admin)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    services.ingest_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", [person(1), person(2)]))
    settings.TASKS = {"default": {"BACKEND": DB_BACKEND, "QUEUES": ["default"]}}
    before = sorted(r["id_no"] for r in lake.read_rows(entry.resource_code, limit=10)[1])
    big = tmp_path / "big.csv"
    people_csv(big, [person(i % 999 + 1, household_address=f"梅江区江南路{i}号")
                     | {"id_no": valid_id(birth=f"19{50 + i % 40}0101", seq=i % 999 + 1)} for i in range(120_000)])
    first = start_worker()
    batch = services.do_submit_file(data_admin, entry.resource_code, big)

    def running() -> bool:
        b = IngestBatch.objects.get(pk=batch.pk)
        return b.status == "running" and b.stage in ("checking", "writing")

    _wait(running, 180, "the big batch is being checked or written", tmp_path)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert IngestBatch.objects.get(pk=batch.pk).status == "running"  # nobody has noticed yet
    # A batch submitted meanwhile waits behind the dead one, not beside it.
    follower = services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / "c.csv", [person(3)]))
    second = start_worker()
    datahub_housekeeping.enqueue()  # what the periodic scheduler queues every minute
    _wait(lambda: IngestBatch.objects.get(pk=batch.pk).status == "failed", 180, "the other worker recovered the dead batch", tmp_path)
    dead = IngestBatch.objects.get(pk=batch.pk)
    assert "中断" in dead.error_message
    assert not ResourceVersion.objects.filter(batch=dead, undone=False).exists()
    _wait(lambda: IngestBatch.objects.get(pk=follower.pk).status == "succeeded", 180, "the waiting batch ran after recovery", tmp_path)
    assert IngestBatch.objects.get(pk=follower.pk).worker_pid == second.pid
    after = sorted(r["id_no"] for r in lake.read_rows(entry.resource_code, limit=10)[1])
    assert after == sorted([*before, person(3)["id_no"]])


@pytest.mark.usefixtures("on_postgresql")
def test_a_batch_never_overtakes_an_earlier_pending_batch_of_its_resource(
    tmp_path: Path, publish: Any, data_admin: Any, start_worker: Any
) -> None:
    from zhengwu.datahub.tasks import run_ingest_batch

    entry = publish(data_admin)
    earlier = services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / "a.csv", _rows(0, 5)), enqueue=False)
    later = services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / "b.csv", _rows(1, 5)))
    start_worker()
    time.sleep(4)  # the worker has had the later batch's task several times over
    assert IngestBatch.objects.get(pk=later.pk).status == "pending"
    run_ingest_batch.enqueue(earlier.pk)
    _wait(lambda: not IngestBatch.objects.filter(pk__in=[earlier.pk, later.pk]).exclude(status="succeeded").exists(),
          180, "both batches succeeded", tmp_path)
    versions = ResourceVersion.objects.filter(resource_code=entry.resource_code).order_by("lake_version")
    assert [v.batch_id for v in versions] == [earlier.pk, later.pk]


@pytest.mark.usefixtures("on_postgresql")
def test_simultaneous_claims_of_one_resource_let_only_one_batch_run(tmp_path: Path, publish: Any, data_admin: Any) -> None:
    import threading

    from django.db import connections

    from zhengwu.datahub.services import _claim

    entry = publish(data_admin)
    for attempt in range(15):
        pair = [services.do_submit_file(data_admin, entry.resource_code, people_csv(tmp_path / f"{attempt}-{n}.csv", _rows(n, 1)),
                                        enqueue=False) for n in range(2)]
        barrier = threading.Barrier(2)
        claimed: list[Any] = []

        def claim(batch_id: int, barrier: threading.Barrier = barrier, claimed: list[Any] = claimed) -> None:
            try:
                barrier.wait()
                claimed.append(_claim(batch_id))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=claim, args=(b.pk,)) for b in reversed(pair)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        running = IngestBatch.objects.filter(resource_code=entry.resource_code, status="running")
        assert running.count() == 1, f"attempt {attempt}: {list(running.values_list('pk', flat=True))}"
        assert running.get().pk == pair[0].pk  # the earlier one, even when the later one asked first
        IngestBatch.objects.filter(pk__in=[b.pk for b in pair]).update(status="cancelled")
