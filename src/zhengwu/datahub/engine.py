"""Check a staged batch against its rules and split it into accepted (typed) and refused rows.

The same Ibis expressions run on DuckDB (default, one process, spills to disk) and on Spark
(``engine="spark"``: ``settings.SPARK_MASTER``, ``local[*]`` by default). `check_batch` makes
few passes over the staged data and never collects rows into Python:

1. one pass computes every rule's reason (`rules.Checker`) and writes only the rows that fail
   something (with their raw text and reasons) to ``failed-rows.parquet`` in ``out_dir``; on
   DuckDB its SQL is made once per process for the columns, rules and day (`_failing_plan`);
2. accepted rows = staged rows not in that file (an anti join on ``_row``), typed per schema and
   written to ``accepted.parquet`` with ``_batch``;
3. refused rows are written from the failed rows (small), with ``_errors`` and ``_rules``;
4. the report comes from aggregates and samples over the failed rows, plus the whole batch's
   counts: the filled cells as the stage writer counted them (`readers.staged_counts`, from the
   staged file's metadata), and one aggregate over the staged data for the rest (rewritten dates,
   rows a multi-column rule applies to), which reads only those columns (all of them, filled
   cells included, for a staged file without the counts).

Typed output: 字符/二进制 → string; 数字 → decimal(38, 6) (the type rule admits at most 32 integer
digits and 6 decimal places, so the cast never rounds and both engines give the exact same
value; float64 would turn 0.1 into a binary approximation and lose digits past the 15th);
日期 → date; 日期时间/时间戳 → timestamp without time zone; 布尔 → boolean (true/是/1 → true).

On DuckDB the outputs are single Parquet files, on Spark directories of part files; readers
should open either with ``pyarrow.dataset.dataset(path)``. Row order is not part of the contract.

The report (JSON-serialisable; the same on both engines, rules in derive order, fields in schema
order; ratios in 0..1 rounded to 4 places):

- ``rules[]``: ``checked`` is the number of rows the rule looked at — every row for the structure
  rule, every row that could be split for ``required``, otherwise the rows whose columns for that
  rule are all filled — and ``pass_rate`` = (checked − failed) / checked (1.0 when nothing was
  checked);
- ``fields[]``: ``filled``/``empty`` cells over all rows, ``failed`` = rows failing any rule of that
  field, ``pass_rate`` over the rows that could be split;
- ``samples``: per failing rule, the lowest ``_row`` first, at most ``sample_size``;
- ``normalised``: {field: values written in a Chinese date form (2006年4月25日, 2006/4/25, …) and
  rewritten to ISO before checking} for the date columns that had any (also ``fields[].normalised``,
  0 elsewhere); refused rows keep the text as delivered;
- ``metrics``: completeness = filled cells / (rows × columns); validity, uniqueness, consistency =
  share of rows failing no rule of that category (1.0 for an empty batch or no such rule).
"""

from __future__ import annotations

import functools
import logging
import operator
import os
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from django.conf import settings

from zhengwu.core.errors import DomainError

from .readers import staged_counts
from .rules import (
    BOOLEAN_TYPE,
    CONSISTENCY,
    DATE_TYPE,
    DATETIME_TYPE,
    DECIMAL_TYPE,
    NUMBER_TYPE,
    ROW_COLUMN,
    STRUCTURE,
    STRUCTURE_COLUMN,
    TIMESTAMP_TYPE,
    TRUE_TEXTS,
    UNIQUENESS,
    VALIDITY,
    Checker,
    Rule,
    date_columns,
    normalised_date,
    structure_rule,
)
from .schema import ResourceSchema

ENGINES = ("duckdb", "spark")
BATCH_COLUMN, ERRORS_COLUMN, RULES_COLUMN = "_batch", "_errors", "_rules"
ERROR_SEPARATOR, RULE_SEPARATOR = "；", ","


@dataclass
class CheckResult:
    rows_in: int
    rows_accepted: int
    rows_refused: int
    accepted: Path  # typed rows in schema order + _batch
    refused: Path  # _row, _errors, _rules, then the raw text columns
    report: dict[str, Any]


# --- connections --------------------------------------------------------------------------------
_spark_lock = threading.Lock()
_spark_backend: Any = None


def _spark_session() -> Any:
    from pyspark.sql import SparkSession

    master = settings.SPARK_MASTER
    builder = (
        SparkSession.builder.master(master)
        .appName("zhengwu-datahub")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        # On one machine: a few partitions per core (Spark's 200 only adds scheduling), and no
        # whole-stage code generation: compiling the rules' large expressions to Java takes longer
        # than it saves on a batch that fits one machine (DuckDB is the engine for that anyway).
        builder = builder.config("spark.sql.shuffle.partitions", str(max(4, 2 * (os.cpu_count() or 1))))
        builder = builder.config("spark.sql.codegen.wholeStage", "false")
    session = builder.getOrCreate()
    # Timestamps are wall-clock times without a zone, as DuckDB's TIMESTAMP.
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.timestampType", "TIMESTAMP_NTZ")
    session.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    session.sparkContext.setLogLevel("ERROR")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # not one INFO line per gateway call
    return session


def connect(engine: str = "duckdb", *, work_dir: Path | None = None) -> Any:
    """An Ibis backend. DuckDB: a new in-memory database limited to DUCKDB_MEMORY_LIMIT that
    spills to `work_dir`; Spark: one SparkSession (and backend) per process, reused."""
    global _spark_backend
    if engine == "duckdb":
        config: dict[str, Any] = {
            "memory_limit": settings.DUCKDB_MEMORY_LIMIT,
            "threads": os.cpu_count() or 1,
            # row order is not part of the outputs' contract (refused rows are sorted explicitly);
            # without it DuckDB writes in parallel and buffers less
            "preserve_insertion_order": False,
        }
        if work_dir is not None:
            spill = Path(work_dir) / "duckdb-spill"
            spill.mkdir(parents=True, exist_ok=True)
            config["temp_directory"] = str(spill)
        return ibis.duckdb.connect(**config)
    if engine == "spark":
        with _spark_lock:
            if _spark_backend is None:
                _spark_backend = ibis.pyspark.connect(_spark_session())
            return _spark_backend
    raise DomainError(f"计算引擎只能是 {' 或 '.join(ENGINES)}，实为“{engine}”", "engine")


def warm_up(engine: str = "duckdb") -> None:
    """Load what the first check of a process needs (the engine's Ibis backend, the rules' code
    tables), so that a caller can do it while the batch is still being read. Never starts Spark."""
    from . import rules

    rules.warm_up(_today())
    if engine == "duckdb":
        ibis.duckdb  # noqa: B018 - the attribute imports the backend (and sqlglot's dialect)
        ibis.to_sql(ibis.memtable({"v": ["1"]}).count(), dialect="duckdb")


def _local(uri: str) -> str:
    return uri.removeprefix("file://")


def _read_parquet(con: Any, engine: str, paths: list[str], views: list[str] | None = None) -> ir.Table:
    """One table over Parquet files or directories (as written by either engine). On Spark the
    temporary view's name is added to `views`, for dropping when the batch is done."""
    if engine == "duckdb":
        return con.read_parquet(_parquet_files(paths))
    name = ibis.util.gen_name("zhengwu_parquet")
    con._session.read.parquet(*paths).createOrReplaceTempView(name)
    if views is not None:
        views.append(name)
    return con.table(name)


def _parquet_files(paths: list[str]) -> list[str]:
    """DuckDB's names for Parquet files or directories of part files."""
    return [f"{p}/**/*.parquet" if Path(p).is_dir() else p for p in map(_local, paths)]


def _write_parquet(con: Any, engine: str, expr: ir.Table, path: Path) -> None:
    _remove(path)
    if engine == "duckdb":
        con.to_parquet(expr, path)
    else:
        con.to_parquet(expr, path, mode="overwrite")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _today() -> date:
    from django.utils import timezone

    return timezone.localdate() if settings.USE_TZ else date.today()


# --- typing -------------------------------------------------------------------------------------
def typed(value: ir.StringValue, data_type: str) -> ir.Value:
    """The lake type of a checked text value (see the module docstring)."""
    if data_type == NUMBER_TYPE:
        return value.try_cast(DECIMAL_TYPE)
    if data_type == DATE_TYPE:
        return value.try_cast("date")
    if data_type in (DATETIME_TYPE, TIMESTAMP_TYPE):
        return value.try_cast("timestamp")
    if data_type == BOOLEAN_TYPE:
        return ibis.cases((value.isnull(), ibis.null("boolean")), else_=value.lower().isin(list(TRUE_TEXTS)))
    return value


# --- the check ----------------------------------------------------------------------------------
def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def _any(conditions: list[ir.BooleanValue]) -> ir.BooleanValue:
    if not conditions:
        return ibis.literal(False)
    return functools.reduce(operator.or_, conditions)


def _sample_value(rule: Rule, t: ir.Table) -> ir.StringValue:
    if rule.field:
        return t[rule.field]
    if rule.fields:
        return ibis.literal(RULE_SEPARATOR).join([t[f] for f in rule.fields])
    return ibis.null("string")


def check_batch(
    staged: Path,
    schema: ResourceSchema,
    rules: list[Rule],
    *,
    out_dir: Path,
    batch_id: int,
    engine: str = "duckdb",
    references: dict[str, list[str]] | None = None,
    sample_size: int = 5,
    today: date | None = None,
) -> CheckResult:
    """Check the staged Parquet against `rules`; write accepted and refused rows to `out_dir`.

    `references` maps a resource code named by a reference rule to the Parquet files of that
    resource's current lake version ([] when it has no data yet, so every value fails).
    `today` (default: the local date) bounds birth dates in identity numbers.
    """
    if engine not in ENGINES:
        raise DomainError(f"计算引擎只能是 {' 或 '.join(ENGINES)}，实为“{engine}”", "engine")
    rules = _with_structure(rules)
    today = today or _today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed_path, accepted_path, refused_path = (
        out_dir / "failed-rows.parquet", out_dir / "accepted.parquet", out_dir / "refused.parquet"
    )
    con = connect(engine, work_dir=out_dir)
    views: list[str] = []
    try:
        t = _read_parquet(con, engine, [str(staged)], views)
        fields = schema.field_names
        missing = [c for c in (ROW_COLUMN, STRUCTURE_COLUMN, *fields) if c not in t.columns]
        if missing:
            raise DomainError(f"暂存数据缺少列：{'、'.join(missing)}", missing[0])
        t, raw = _with_plain_dates(t, schema)

        # 1. the rows that fail something, with their reasons and raw text, written once
        if engine == "duckdb" and not references:
            _write_failing_rows(con, Path(staged), schema, rules, today, failed_path)
        else:
            tables = {
                code: (_read_parquet(con, engine, list(uris), views) if uris else None)
                for code, uris in (references or {}).items()
            }
            checker = Checker(rules, today=today, references=tables)
            _write_parquet(con, engine, _failing_rows(t, schema, checker, raw), failed_path)
        reasons = [Checker.reason_column(i) for i in range(len(rules))]
        failed = _read_parquet(con, engine, [str(failed_path)], views)

        # 2. accepted rows, typed
        accepted = t.anti_join(failed.select(ROW_COLUMN), ROW_COLUMN).select(
            **{c.field_name: typed(t[c.field_name], c.data_type) for c in schema.columns},
            # Nullable on purpose: a constant column is written NOT NULL by DuckDB and Spark, and a
            # lake table that takes NOT NULL `_batch` from its first file refuses the change-feed
            # rows delta-rs writes for a full load's deletes ("rows failed validation check").
            **{BATCH_COLUMN: ibis.ifelse(t[ROW_COLUMN].isnull(), ibis.null("int64"), ibis.literal(batch_id, type="int64"))},
        )
        _write_parquet(con, engine, accepted, accepted_path)

        # 3. refused rows
        refused = failed.select(
            failed[ROW_COLUMN],
            **{
                ERRORS_COLUMN: ibis.literal(ERROR_SEPARATOR).join([failed[r] for r in reasons]),
                RULES_COLUMN: ibis.literal(RULE_SEPARATOR).join(
                    [ibis.ifelse(failed[r].notnull(), ibis.literal(rule.code), ibis.null("string"))
                     for r, rule in zip(reasons, rules, strict=True)]
                ),
            },
            **{f: failed[f] for f in fields},
        ).order_by(ROW_COLUMN)
        _write_parquet(con, engine, refused, refused_path)

        report = _report(con, t, failed, schema, rules, reasons, sample_size, raw, staged_counts(Path(staged)))
    finally:
        if engine == "duckdb":
            con.disconnect()
        for view in views:
            con._session.catalog.dropTempView(view)
        _remove(failed_path)
        _remove(out_dir / "duckdb-spill")
    return CheckResult(
        rows_in=report["rows_in"],
        rows_accepted=report["rows_accepted"],
        rows_refused=report["rows_refused"],
        accepted=accepted_path,
        refused=refused_path,
        report=report,
    )


def _with_structure(rules: list[Rule]) -> list[Rule]:
    return rules if any(r.kind == STRUCTURE for r in rules) else [structure_rule(), *rules]


def _with_plain_dates(t: ir.Table, schema: ResourceSchema) -> tuple[ir.Table, dict[str, str]]:
    """Dates in the common Chinese forms become ISO text before any rule sees them; the text as
    delivered is kept beside (`_raw<i>`, named in the returned map) for the refused rows and for
    counting the rewrites."""
    raw = {c.field_name: f"_raw{i}" for i, c in enumerate(date_columns(schema))}
    if not raw:
        return t, raw
    kinds = {c.field_name: c.data_type for c in schema.columns}
    return t.select(
        *[normalised_date(t[c], kinds[c]).name(c) if c in raw else t[c] for c in t.columns],
        **{name: t[f] for f, name in raw.items()},
    ), raw


def _failing_rows(t: ir.Table, schema: ResourceSchema, checker: Checker, raw: dict[str, str]) -> ir.Table:
    """The rows failing some rule: `_row`, every field as delivered, one reason column per rule."""
    failing = checker.failures(t)
    return failing.select(
        ROW_COLUMN, *[failing[raw[f]].name(f) if f in raw else failing[f] for f in schema.field_names],
        *checker.reason_columns,
    )


# --- the failing-rows pass, planned once per process (DuckDB) -----------------------------------
# Building the rules' expression and compiling it to SQL (about 100 kB for the demo population
# resource) costs about 0.35 s of Python, more than DuckDB then takes to plan it. The plan depends
# only on the columns, the rules and the day, so a process (the worker) makes it once for each of
# those and reuses it for the next batch of the resource. Making it on the helper thread while a
# batch is read was tried: the check got 0.35 s shorter and the reading 0.2-0.7 s longer (the two
# share the GIL), so it is made when the check starts. The lock is held while a plan is made, so a
# second thread checking another resource may wait that long once. Batches with reference rules are planned
# at check time as before, since their plan names the other resource's current files.
STAGED_VIEW = "zhengwu_staged"
PLANS_KEPT = 16


@dataclass(frozen=True)
class _FailingPlan:
    expr: ir.Table  # over the unbound table STAGED_VIEW; its in-memory code tables are registered per connection
    sql: str


_plans: OrderedDict[str, _FailingPlan] = OrderedDict()
_plans_lock = threading.Lock()


def _plan_key(schema: ResourceSchema, rules: list[Rule], today: date) -> str:
    # repr(Rule) includes its params, which the comparison of Rule leaves out on purpose
    return repr(([(c.field_name, c.data_type) for c in schema.columns], rules, today.isoformat()))


def _failing_plan(schema: ResourceSchema, rules: list[Rule], today: date) -> _FailingPlan:
    key = _plan_key(schema, rules, today)
    with _plans_lock:  # held while building: a second caller waits for the plan instead of making it twice
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
            return plan
        names = [ROW_COLUMN, STRUCTURE_COLUMN, *schema.field_names]
        staged = ibis.table({n: ("int64" if n == ROW_COLUMN else "string") for n in names}, name=STAGED_VIEW)
        t, raw = _with_plain_dates(staged, schema)
        expr = _failing_rows(t, schema, Checker(rules, today=today, references={}), raw)
        plan = _FailingPlan(expr, ibis.to_sql(expr, dialect="duckdb"))
        _plans[key] = plan
        while len(_plans) > PLANS_KEPT:
            _plans.popitem(last=False)
        return plan


def _write_failing_rows(
    con: Any, staged: Path, schema: ResourceSchema, rules: list[Rule], today: date, out: Path
) -> None:
    plan = _failing_plan(schema, rules, today)
    _remove(out)
    duck = con.con  # DuckDB's own connection: the paths go in as values, not as SQL text
    duck.read_parquet(_parquet_files([str(staged)])).create_view(STAGED_VIEW, replace=True)
    # Ibis 12's hook (pinned in pyproject.toml) that registers the code tables the plan joins with
    con._run_pre_execute_hooks(plan.expr)
    duck.sql(plan.sql).write_parquet(str(out))


def _report(
    con: Any, t: ir.Table, failed: ir.Table, schema: ResourceSchema, rules: list[Rule], reasons: list[str],
    sample_size: int, raw: dict[str, str] | None = None, staged: tuple[int, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """`staged`: the staged file's row count and non-null cells per column as its writer counted
    them (`readers.staged_counts`), when known; the aggregate over `t` then reads only what it
    still has to count (rewritten dates, multi-column rules' rows), and nothing when there is none."""
    fields = schema.field_names
    raw = raw or {}
    # filled cells over all staged rows (unchanged by the date rewrite, which keeps nulls null and
    # values non-null), and how many rows each multi-column rule applies to
    known: dict[str, int] = {}
    if staged is not None and all(c in staged[1] for c in (STRUCTURE_COLUMN, *fields)):
        known = {"rows_in": staged[0], "structure": staged[1][STRUCTURE_COLUMN]}
        known.update({f"filled_{i}": staged[1][f] for i, f in enumerate(fields)})
    whole: dict[str, ir.Value] = {}
    if not known:
        whole = {"rows_in": t.count(), "structure": t[STRUCTURE_COLUMN].count()}
        whole.update({f"filled_{i}": t[f].count() for i, f in enumerate(fields)})
    # values written in a Chinese date form and rewritten to ISO
    whole.update({
        f"normalised_{i}": (t[f] != t[raw[f]]).fill_null(False).cast("int64").sum()
        for i, f in enumerate(fields) if f in raw
    })
    for i, rule in enumerate(rules):
        if len(rule.fields) > 1:
            filled = functools.reduce(operator.and_, [t[f].notnull() for f in rule.fields]) & t[STRUCTURE_COLUMN].isnull()
            whole[f"checked_{i}"] = filled.cast("int64").sum()
    totals = dict(known)
    if whole:
        totals.update({k: int(v or 0) for k, v in con.to_pyarrow(t.aggregate(**whole)).to_pylist()[0].items()})

    by_field: dict[str, list[str]] = {f: [] for f in fields}
    by_category: dict[str, list[str]] = {}
    for r, rule in zip(reasons, rules, strict=True):
        if rule.field in by_field:
            by_field[rule.field].append(r)
        by_category.setdefault(rule.category, []).append(r)

    def rows_failing(columns: list[str]) -> ir.Value:
        return _any([failed[c].notnull() for c in columns]).cast("int64").sum()

    bad: dict[str, ir.Value] = {"rows_refused": failed.count()}
    bad.update({f"rule_{i}": failed[r].count() for i, r in enumerate(reasons)})
    bad.update({f"field_{i}": rows_failing(by_field[f]) for i, f in enumerate(fields) if by_field[f]})
    bad.update({f"category_{c}": rows_failing(cols) for c, cols in by_category.items()})
    failures = {k: int(v or 0) for k, v in con.to_pyarrow(failed.aggregate(**bad)).to_pylist()[0].items()}
    failures.update({f"field_{i}": 0 for i, f in enumerate(fields) if not by_field[f]})

    rows_in, structure = totals["rows_in"], totals["structure"]
    rows_refused = failures["rows_refused"]
    checkable = rows_in - structure
    filled = {f: totals[f"filled_{i}"] for i, f in enumerate(fields)}

    rule_rows = []
    for i, rule in enumerate(rules):
        if rule.kind == STRUCTURE:
            checked = rows_in
        elif rule.kind == "required":
            checked = checkable
        elif len(rule.fields) > 1:
            checked = totals[f"checked_{i}"]
        else:
            checked = filled.get(rule.fields[0], 0) if rule.fields else checkable
        failed_rows = failures[f"rule_{i}"]
        rule_rows.append({
            **rule.as_dict(), "failed": failed_rows, "checked": checked, "pass_rate": _ratio(checked - failed_rows, checked),
        })
    columns = {c.field_name: c for c in schema.columns}
    field_rows = []
    for i, f in enumerate(fields):
        failed_rows = failures[f"field_{i}"]
        field_rows.append({
            "field": f, "label": columns[f].label, "filled": filled[f], "empty": rows_in - filled[f],
            "failed": failed_rows, "pass_rate": _ratio(checkable - failed_rows, checkable),
            "normalised": totals.get(f"normalised_{i}", 0),
        })

    samples: dict[str, list[dict[str, Any]]] = {}
    if rows_refused and sample_size > 0:
        # one window over the failures of every rule (a sort and limit per rule costs Spark a shuffle each)
        parts = [
            failed.filter(failed[r].notnull()).select(
                _rule=ibis.literal(i).cast("int64"), row=failed[ROW_COLUMN],
                value=_sample_value(rule, failed).cast("string"), message=failed[r],
            )
            for i, (r, rule) in enumerate(zip(reasons, rules, strict=True))
            if failures[f"rule_{i}"]
        ]
        every = ibis.union(*parts) if len(parts) > 1 else parts[0]
        rank = ibis.row_number().over(group_by=every._rule, order_by=every.row)
        lowest = every.mutate(_rank=rank).filter(ibis._._rank < sample_size).drop("_rank")
        rows = con.to_pyarrow(lowest).to_pylist()
        for row in sorted(rows, key=lambda x: (x["_rule"], x["row"])):
            samples.setdefault(rules[row["_rule"]].code, []).append(
                {"row": int(row["row"]), "value": row["value"], "message": row["message"]}
            )

    def share_passing(category: str) -> float:
        return _ratio(rows_in - failures.get(f"category_{category}", 0), rows_in)

    cells = rows_in * len(fields)
    return {
        "normalised": {row["field"]: row["normalised"] for row in field_rows if row["normalised"]},
        "rows_in": rows_in,
        "rows_accepted": rows_in - rows_refused,
        "rows_refused": rows_refused,
        "rules": rule_rows,
        "fields": field_rows,
        "samples": samples,
        "metrics": {
            "completeness": _ratio(sum(filled.values()), cells),
            "validity": share_passing(VALIDITY),
            "uniqueness": share_passing(UNIQUENESS),
            "consistency": share_passing(CONSISTENCY),
        },
    }


def stop_spark() -> None:
    """Stop this process's SparkSession (if one was started); the next connect("spark") starts anew."""
    global _spark_backend
    with _spark_lock:
        if _spark_backend is not None:
            _spark_backend._session.stop()
            _spark_backend = None
