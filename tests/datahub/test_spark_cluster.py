"""The same batch on a real Spark standalone cluster (issue 12): a master and a worker started as
separate processes from the installed PySpark with its own launcher (`bin/spark-class`) on
127.0.0.1; the driver is this process and the executors run in the worker's processes, so
anything that only worked because driver and executors shared a process fails here. The
accepted rows, refused rows and report must equal DuckDB's on the same batch."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhengwu.datahub import engine
from zhengwu.datahub.rules import derive_rules

from .test_spark_parity import CUSTOM, SCHEMA, TODAY, _key, _rows, build_batch

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
    reason="Spark 需要 Java 17：本机没有 java，跳过 Spark 集群测试",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _master_state(webui: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=3) as response:
        return dict(json.load(response))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = _spark_home()
    folder = tmp_path_factory.mktemp("spark-cluster")
    port, webui, worker_ui = _free_port(), _free_port(), _free_port()
    env = dict(
        os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1", SPARK_LOG_DIR=str(folder),
        SPARK_WORKER_DIR=str(folder / "work"), PYSPARK_PYTHON=sys.executable,
    )
    launcher = str(home / "bin" / "spark-class")
    procs = [
        subprocess.Popen(
            [launcher, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(webui)],
            env=env, stdout=open(folder / "master.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
        )
    ]
    url = f"spark://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _master_state(webui)
                break
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    pytest.fail(f"Spark master 未启动：{(folder / 'master.log').read_text(errors='replace')[-2000:]}")
                time.sleep(0.5)
        procs.append(subprocess.Popen(
            [launcher, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "2",
             "--memory", "1g", "--webui-port", str(worker_ui), "--work-dir", str(folder / "work")],
            env=env, stdout=open(folder / "worker.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
        ))
        while not [w for w in _master_state(webui).get("workers", []) if w.get("state") == "ALIVE"]:
            if time.monotonic() > deadline or procs[1].poll() is not None:
                pytest.fail(f"Spark worker 未注册：{(folder / 'worker.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        engine.stop_spark()
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_batch_on_a_standalone_cluster_equals_duckdb(cluster: str, tmp_path: Path, settings: Any) -> None:
    engine.stop_spark()  # a local-mode session of another test module must not be reused
    settings.SPARK_MASTER = cluster
    staged, orgs = build_batch(tmp_path / "staged.parquet")
    target = tmp_path / "fr.parquet"
    pq.write_table(pa.table({"uscc": orgs}), target)
    rules = derive_rules(SCHEMA, CUSTOM)
    duck = engine.check_batch(staged, SCHEMA, rules, out_dir=tmp_path / "duckdb", batch_id=7, engine="duckdb",
                              references={"FR": [str(target)]}, today=TODAY)
    try:
        spark = engine.check_batch(staged, SCHEMA, rules, out_dir=tmp_path / "spark", batch_id=7, engine="spark",
                                   references={"FR": [str(target)]}, today=TODAY)
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        assert session is not None and session.sparkContext.master == cluster
        # Executors other than the driver: the work ran in the worker's processes.
        executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size()  # type: ignore[union-attr]
        assert executors >= 2, "no executor registered from the worker"
    finally:
        engine.stop_spark()
    assert duck.rows_refused > 40 and duck.rows_accepted > 130
    assert (spark.rows_accepted, spark.rows_refused) == (duck.rows_accepted, duck.rows_refused)
    assert sorted(_rows(spark.accepted), key=_key) == sorted(_rows(duck.accepted), key=_key)
    assert sorted(map(_key, _rows(spark.refused))) == sorted(map(_key, _rows(duck.refused)))
    assert spark.report == duck.report
