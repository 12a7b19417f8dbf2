"""The data lake: one Delta Lake table per catalog resource, plus a quarantine table beside it.

Layout under ``settings.LAKE_URL`` (a local folder, or ``s3://bucket/prefix`` with
``ZHENGWU_LAKE_STORAGE_OPTIONS``)::

    resources/<resource code, "/" → "-">/data         typed rows; one commit per accepted batch
    resources/<resource code, "/" → "-">/quarantine   refused rows of every batch with their reasons

Every data commit carries ``zhengwu.batch`` in its commit metadata, so a commit can always be
traced to the batch that made it (and a batch interrupted after its commit can be undone).
Change Data Feed is on: inserts, updates (pre/post images) and deletions of every version can be
read back exactly (`changes`), which is what subscribers of the sharing exchange are sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from django.conf import settings

from zhengwu.core.errors import DomainError

from .schema import ResourceSchema

BATCH_COLUMN = "_batch"
BATCH_METADATA = "zhengwu.batch"
TABLE_CONFIGURATION = {"delta.enableChangeDataFeed": "true"}


@dataclass(frozen=True)
class CommitResult:
    version: int
    operation: str  # VersionOperation value
    rows_total: int
    inserted: int
    updated: int
    deleted: int
    changed: bool = True  # False: the batch changed nothing, no new version was committed


def _root() -> str:
    return str(settings.LAKE_URL).rstrip("/")


def storage_options() -> dict[str, str] | None:
    raw = settings.LAKE_STORAGE_OPTIONS
    if not raw:
        return None
    options = json.loads(raw)
    return {str(k): str(v) for k, v in options.items()}


def _is_local() -> bool:
    return "://" not in _root() or _root().startswith("file://")


def resource_dir(resource_code: str) -> str:
    return f"{_root()}/resources/{resource_code.replace('/', '-')}"


def data_uri(resource_code: str) -> str:
    return f"{resource_dir(resource_code)}/data"


def quarantine_uri(resource_code: str) -> str:
    return f"{resource_dir(resource_code)}/quarantine"


def _open(uri: str, version: int | None = None) -> DeltaTable | None:
    try:
        return DeltaTable(uri, version=version, storage_options=storage_options())
    except TableNotFoundError:
        return None


def _ensure_parent(uri: str) -> None:
    if _is_local():
        Path(uri.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


def current_version(resource_code: str) -> int | None:
    table = _open(data_uri(resource_code))
    return None if table is None else table.version()


def data_files(resource_code: str, version: int | None = None) -> list[str]:
    """Parquet files of a version (default: current); [] when the resource has no data yet.
    Their URIs are local paths only on a local lake: read a version through `_dataset`."""
    table = _open(data_uri(resource_code), version)
    return [] if table is None else list(table.file_uris())


def _dataset(table: DeltaTable) -> pads.Dataset:
    """A version's rows as an Arrow dataset over delta-rs's file system (the lake's storage
    options) — the same on a local folder and on S3-compatible storage; DuckDB scans it registered
    as a view, so no query needs DuckDB's own S3 support.

    The version's files are opened as a plain Parquet dataset with the table's schema (older files
    lacking a later column read it as null). Not delta-rs's own dataset: deltalake 1.x gives each
    fragment a guarantee built from the commit's column statistics, and for text columns, whose
    statistics it does not record, that guarantee is "between null and null" — a filter on such a
    column pushed into the scan then skips every file and finds nothing."""
    delta = table.to_pyarrow_dataset()
    return pads.dataset(delta.files, schema=delta.schema, format="parquet", filesystem=delta.filesystem)


def version_dataset(resource_code: str, version: int) -> pads.Dataset | None:
    """The rows of one version (see `_dataset`); None when the version holds no files."""
    table = open_version(resource_code, version)
    return _dataset(table) if table.file_uris() else None


def _current_dataset(resource_code: str) -> pads.Dataset | None:
    table = _open(data_uri(resource_code))
    if table is None or not table.file_uris():
        return None
    return _dataset(table)


def reference_files(resource_code: str, work_dir: Path, *, copy: bool = False) -> list[str]:
    """Parquet files holding a resource's current rows for the engine's reference rules: the
    table's own files on a local lake; a copy of the current version written into `work_dir` (the
    batch's work space, removed with it) on object storage, or when `copy` (a Spark cluster's
    executors read the work space, which is shared, not the lake folder)."""
    if _is_local() and not copy:
        return data_files(resource_code)
    dataset = _current_dataset(resource_code)
    if dataset is None:
        return []
    out = work_dir / f"reference-{resource_code.replace('/', '-')}.parquet"
    import pyarrow.parquet as pq

    with pq.ParquetWriter(str(out), dataset.schema) as writer:
        for batch in dataset.to_batches(batch_size=65536):
            writer.write_batch(batch)
    return [str(out)]


def open_version(resource_code: str, version: int | None = None) -> DeltaTable:
    table = _open(data_uri(resource_code))
    if table is None:
        raise DomainError("该资源还没有任何数据版本", "version")
    if version is not None:
        latest = table.version()
        if version < 0 or version > latest:
            raise DomainError(f"版本 {version} 不存在（现有 0 到 {latest}）", "version")
        table.load_as_version(version)
    return table


def count_rows(resource_code: str, version: int | None = None) -> int:
    table = _open(data_uri(resource_code), version)
    if table is None or not table.file_uris():
        return 0
    return int(_dataset(table).count_rows())


def read_rows(
    resource_code: str, version: int | None = None, *, offset: int = 0, limit: int = 50
) -> tuple[list[str], list[dict[str, Any]], int]:
    """One page of a version's rows (time travel): (columns, rows, total)."""
    table = open_version(resource_code, version)
    files = list(table.file_uris())
    schema = table.schema().to_arrow()
    columns = [f.name for f in schema]  # type: ignore[attr-defined]
    if not files:
        return columns, [], 0
    dataset = _dataset(table)
    total = int(dataset.count_rows())
    # Stream to the page: skip whole record batches before `offset`, never load the table.
    rows: list[dict[str, Any]] = []
    seen = 0
    for batch in dataset.to_batches(batch_size=8192):
        if seen + batch.num_rows <= offset:
            seen += batch.num_rows
            continue
        start = max(0, offset - seen)
        rows.extend(batch.slice(start, limit - len(rows)).to_pylist())
        seen += batch.num_rows
        if len(rows) >= limit:
            break
    return columns, rows, total


def commit_history(resource_code: str) -> list[dict[str, Any]]:
    table = _open(data_uri(resource_code))
    return [] if table is None else list(table.history())


def batch_of_commit(resource_code: str, version: int) -> int | None:
    for entry in commit_history(resource_code):
        if entry.get("version") == version:
            value = entry.get(BATCH_METADATA)
            return int(value) if value not in (None, "") else None
    return None


# --- writing -----------------------------------------------------------------------------------------


def _reader(path: Path) -> pa.RecordBatchReader:
    dataset = pads.dataset(str(path), format="parquet")
    return pa.RecordBatchReader.from_batches(dataset.schema, dataset.to_batches(batch_size=65536))


def _props(batch_id: int, extra: dict[str, str] | None = None) -> CommitProperties:
    metadata = {BATCH_METADATA: str(batch_id)}
    metadata.update(extra or {})
    return CommitProperties(custom_metadata=metadata)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kept_rows(resource_code: str, schema: ResourceSchema, accepted: Path, refused: Path | None) -> Path | None:
    """For a full load: the current rows whose key was refused in this batch (and not accepted).
    They stay as they are — a full batch must not delete a record only because its new copy was
    refused. Written beside `accepted` as Parquet; None when there are none."""
    current = _current_dataset(resource_code)
    if current is None or refused is None or not schema.keys:
        return None
    keys = [c.field_name for c in schema.keys]
    # Refused rows hold raw text; compare the current rows' keys as text.
    on = " AND ".join(f"CAST(p.{_quote(k)} AS VARCHAR) = r.{_quote(k)}" for k in keys)
    on_acc = " AND ".join(f"p.{_quote(k)} IS NOT DISTINCT FROM a.{_quote(k)}" for k in keys)
    out = accepted.parent / "kept.parquet"
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit='{settings.DUCKDB_MEMORY_LIMIT}'")
        con.register("current_rows", current)
        accepted_files = f"{accepted}/**/*.parquet" if accepted.is_dir() else str(accepted)
        refused_files = f"{refused}/**/*.parquet" if refused.is_dir() else str(refused)
        count = con.execute(
            f"""
            COPY (
              SELECT p.* FROM current_rows p
              WHERE EXISTS (SELECT 1 FROM read_parquet('{refused_files}') r WHERE {on})
                AND NOT EXISTS (SELECT 1 FROM read_parquet('{accepted_files}') a WHERE {on_acc})
            ) TO '{out}' (FORMAT parquet)
            """  # noqa: S608 (identifiers are quoted catalog field names, paths are the platform's own)
        ).fetchone()
    finally:
        con.close()
    return out if count and count[0] else None


@dataclass(frozen=True)
class FullLoadPreview:
    """What a full load (全量替换) would do to the current version, worked out before it commits."""

    base_version: int | None  # the version the figures were computed on (None: no data yet)
    rows_current: int
    inserted: int
    updated: int
    deleted: int

    @property
    def delete_share(self) -> float:
        return self.deleted / self.rows_current if self.rows_current else 0.0


def _parquet_source(path: Path) -> str:
    return f"{path}/**/*.parquet" if path.is_dir() else str(path)


def preview_full_load(
    resource_code: str, schema: ResourceSchema, accepted: Path, refused: Path | None = None
) -> FullLoadPreview:
    """The rows a full load of `accepted` (typed) would insert, update and delete, counted the way
    `commit_batch` applies it: with a key, current rows whose key is neither accepted nor refused in
    this batch are deleted (refused keys are kept), accepted keys not current are inserted, and
    current rows whose values differ are updated; without a key every current row is deleted and
    every accepted row inserted (nothing, when the rows are the same). Read only."""
    dataset = _current_dataset(resource_code)
    version = current_version(resource_code)
    accepted_count = int(pads.dataset(str(accepted), format="parquet").count_rows())
    if dataset is None:
        return FullLoadPreview(version, 0, accepted_count, 0, 0)
    current = int(dataset.count_rows())
    keys = [c.field_name for c in schema.keys]
    if not keys:
        if _same_rows(resource_code, schema, accepted):
            return FullLoadPreview(version, current, 0, 0, 0)
        return FullLoadPreview(version, current, accepted_count, 0, current)
    present = set(dataset.schema.names)
    a_src = _parquet_source(accepted).replace("'", "''")
    on_acc = " AND ".join(f"p.{_quote(k)} = a.{_quote(k)}" for k in keys)
    differs = " OR ".join(
        f"(p.{_quote(c.field_name)} IS DISTINCT FROM a.{_quote(c.field_name)})" if c.field_name in present
        else f"(a.{_quote(c.field_name)} IS NOT NULL)"
        for c in schema.columns if not c.is_key
    ) or "false"
    kept = "false"
    refused_src = ""
    if refused is not None and int(pads.dataset(str(refused), format="parquet").count_rows()):
        refused_src = _parquet_source(refused).replace("'", "''")
        on_ref = " AND ".join(f"CAST(p.{_quote(k)} AS VARCHAR) = r.{_quote(k)}" for k in keys)
        kept = f"EXISTS (SELECT 1 FROM read_parquet('{refused_src}') r WHERE {on_ref})"  # noqa: S608 (quoted field names, the platform's own paths)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit='{settings.DUCKDB_MEMORY_LIMIT}'")
        con.register("current_rows", dataset)
        row = con.execute(
            f"""
            WITH p AS (SELECT * FROM current_rows),
                 a AS (SELECT * FROM read_parquet('{a_src}'))
            SELECT
              (SELECT count(*) FROM a WHERE NOT EXISTS (SELECT 1 FROM p WHERE {on_acc})),
              (SELECT count(*) FROM a JOIN p ON {on_acc} WHERE {differs}),
              (SELECT count(*) FROM p WHERE NOT EXISTS (SELECT 1 FROM a WHERE {on_acc}) AND NOT ({kept}))
            """  # noqa: S608 (identifiers are quoted catalog field names, paths are the platform's own)
        ).fetchone()
    finally:
        con.close()
    inserted, updated, deleted = (int(v) for v in (row or (0, 0, 0)))
    return FullLoadPreview(version, current, inserted, updated, deleted)


def commit_batch(
    resource_code: str,
    schema: ResourceSchema,
    accepted: Path,
    *,
    mode: str,
    batch_id: int,
    refused: Path | None = None,
) -> CommitResult:
    """Commit a batch's accepted rows (typed Parquet with `_batch`) as one new version.

    - first data of the resource: a plain write;
    - incremental with a key: upsert (update rows whose values changed, insert new keys);
    - full with a key: the same, and delete current rows whose key is absent from the batch —
      except rows whose key was refused in this batch (kept unchanged, see `_kept_rows`);
    - without a key: full replaces the table, incremental appends.
    Deltas are recorded by Delta's change data feed. Atomic: a crash before the commit leaves
    the previous version as it was (unreferenced files are cleaned by vacuum).
    """
    from .constants import LoadMode, VersionOperation

    uri = data_uri(resource_code)
    existing = _open(uri)
    if existing is not None and any(not f.nullable for f in existing.schema().fields):
        # Tables made before `_batch` was written nullable (see engine.check_batch): drop the
        # constraint first (a metadata-only commit, once), or a full load's deletes are refused.
        _relax_not_null(uri)
        existing = _open(uri)
    keys = [c.field_name for c in schema.keys]
    source = _reader(accepted)
    if existing is None and _is_local() and accepted.is_file():
        return _create_in_place(resource_code, accepted, batch_id)
    if existing is None:
        _ensure_parent(uri)
        write_deltalake(
            uri, source, mode="error", configuration=TABLE_CONFIGURATION,
            storage_options=storage_options(), commit_properties=_props(batch_id),
        )
        table = DeltaTable(uri, storage_options=storage_options())
        rows = count_rows(resource_code)
        return CommitResult(table.version(), VersionOperation.CREATE, rows, rows, 0, 0)

    if not keys:
        before = count_rows(resource_code)
        if mode == LoadMode.FULL and _same_rows(resource_code, schema, accepted):
            return CommitResult(existing.version(), VersionOperation.REPLACE, before, 0, 0, 0, changed=False)
        write_deltalake(
            uri, source, mode="overwrite" if mode == LoadMode.FULL else "append", schema_mode="merge",
            storage_options=storage_options(), commit_properties=_props(batch_id),
        )
        table = DeltaTable(uri, storage_options=storage_options())
        rows = count_rows(resource_code)
        if mode == LoadMode.FULL:
            return CommitResult(table.version(), VersionOperation.REPLACE, rows, rows, 0, before)
        return CommitResult(table.version(), VersionOperation.UPSERT, rows, rows - before, 0, 0)

    if mode == LoadMode.FULL:
        kept = _kept_rows(resource_code, schema, accepted, refused)
        if kept is not None:
            parts = [pads.dataset(str(accepted), format="parquet"), pads.dataset(str(kept), format="parquet")]
            union = pads.dataset(parts)
            source = pa.RecordBatchReader.from_batches(union.schema, union.to_batches(batch_size=65536))
    value_columns = [c.field_name for c in schema.columns if not c.is_key]
    predicate = " AND ".join(f"t.{_quote(k)} = s.{_quote(k)}" for k in keys)
    changed = " OR ".join(f"(t.{_quote(c)} IS DISTINCT FROM s.{_quote(c)})" for c in value_columns) or "false"
    merger = existing.merge(
        source, predicate, source_alias="s", target_alias="t", merge_schema=True,
        commit_properties=_props(batch_id),
    ).when_matched_update_all(predicate=changed).when_not_matched_insert_all()
    if mode == LoadMode.FULL:
        merger = merger.when_not_matched_by_source_delete()
    before_version = existing.version()
    metrics = merger.execute()
    table = DeltaTable(uri, storage_options=storage_options())
    if table.version() == before_version:  # nothing inserted, updated or deleted: no commit
        return CommitResult(
            before_version, VersionOperation.REPLACE if mode == LoadMode.FULL else VersionOperation.UPSERT,
            count_rows(resource_code), 0, 0, 0, changed=False,
        )
    return CommitResult(
        version=table.version(),
        operation=VersionOperation.REPLACE if mode == LoadMode.FULL else VersionOperation.UPSERT,
        rows_total=count_rows(resource_code),
        inserted=int(metrics.get("num_target_rows_inserted", 0)),
        updated=int(metrics.get("num_target_rows_updated", 0)),
        deleted=int(metrics.get("num_target_rows_deleted", 0)),
    )


def _same_rows(resource_code: str, schema: ResourceSchema, accepted: Path) -> bool:
    """Whether a batch for a resource without a key holds exactly the current rows (as a
    multiset, `_batch` aside): a full replace by the same rows changes nothing."""
    dataset = _current_dataset(resource_code)
    if dataset is None:
        return False
    columns = ", ".join(_quote(c.field_name) for c in schema.columns)
    accepted_files = f"{accepted}/**/*.parquet" if accepted.is_dir() else str(accepted)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit='{settings.DUCKDB_MEMORY_LIMIT}'")
        con.register("current_rows", dataset)
        found = con.execute(
            f"""
            SELECT count(*) FROM (
              (SELECT {columns} FROM current_rows
               EXCEPT ALL SELECT {columns} FROM read_parquet('{accepted_files}'))
              UNION ALL
              (SELECT {columns} FROM read_parquet('{accepted_files}')
               EXCEPT ALL SELECT {columns} FROM current_rows)
            )
            """  # noqa: S608 (identifiers are quoted catalog field names, paths are the platform's own)
        ).fetchone()
    except duckdb.Error:
        return False  # e.g. the catalog gained a column: not the same rows
    finally:
        con.close()
    return found is not None and int(found[0]) == 0


def _create_in_place(resource_code: str, accepted: Path, batch_id: int) -> CommitResult:
    """The first version of a table on a local lake: the engine's Parquet file becomes the table's
    first data file (moved, not rewritten) and one commit adds it. A folder left without a Delta
    log by a process that died here is an orphan (one batch per resource runs at a time) and is
    cleared first."""
    import shutil
    import uuid

    from deltalake import convert_to_deltalake

    from .constants import VersionOperation

    folder = Path(data_uri(resource_code).removeprefix("file://"))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        shutil.move(str(accepted), folder / f"part-00000-{uuid.uuid4()}-c000.parquet")
        convert_to_deltalake(
            str(folder), configuration=TABLE_CONFIGURATION, commit_properties=_props(batch_id),
            storage_options=storage_options(),
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    rows = count_rows(resource_code)
    return CommitResult(0, VersionOperation.CREATE, rows, rows, 0, 0)


def quarantine_arrow_schema(names: list[str]) -> pa.Schema:
    """The quarantine table's columns: `_batch` and `_row` (int64), then `_errors`, `_rules` and
    the raw text of every item — all nullable (a refused row may leave any optional cell empty)."""
    fields = [pa.field(BATCH_COLUMN, pa.int64(), nullable=True)]
    for name in names:
        kind = pa.int64() if name == "_row" else pa.string()
        fields.append(pa.field(name, kind, nullable=True))
    return pa.schema(fields)


def _relax_not_null(uri: str) -> None:
    """Tables created before their columns were all written nullable took NOT NULL from the
    Parquet of their first batch (quarantine tables; data tables' `_batch`): drop those
    constraints (a metadata-only commit), once per column."""
    table = _open(uri)
    if table is None:
        return
    for item in table.schema().fields:
        if not item.nullable:
            table.alter.drop_column_not_null(item.name)


def append_quarantine(resource_code: str, refused: Path, batch_id: int) -> int:
    """Keep a batch's refused rows (raw text, reasons) in the resource's quarantine table."""
    dataset = pads.dataset(str(refused), format="parquet")
    count = int(dataset.count_rows())
    if not count:
        return 0
    names = list(dataset.schema.names)
    target = quarantine_arrow_schema(names)

    def batches() -> Any:
        for b in dataset.to_batches(batch_size=65536):
            column = pa.array([batch_id] * b.num_rows, type=pa.int64())
            arrays = [column] + [b.column(i).cast(target.field(i + 1).type) for i in range(len(names))]
            yield pa.RecordBatch.from_arrays(arrays, schema=target)

    uri = quarantine_uri(resource_code)
    _ensure_parent(uri)
    _relax_not_null(uri)
    write_deltalake(
        uri, pa.RecordBatchReader.from_batches(target, batches()), mode="append", schema_mode="merge",
        storage_options=storage_options(), commit_properties=_props(batch_id),
    )
    return count


def quarantine_rows(
    resource_code: str, batch_id: int, *, offset: int = 0, limit: int | None = 50
) -> tuple[list[str], list[dict[str, Any]], int]:
    """A batch's refused rows in file order: (columns, rows, total). DuckDB picks the page (top-N
    by `_row`), so a batch with hundreds of thousands of refused rows is never loaded whole."""
    table = _open(quarantine_uri(resource_code))
    if table is None:
        return [], [], 0
    if not table.file_uris():
        return [], [], 0
    dataset = _dataset(table)
    columns = [f.name for f in dataset.schema if f.name != BATCH_COLUMN]
    source = "quarantine_rows"
    selected = ", ".join(_quote(c) for c in columns)
    con = duckdb.connect()
    try:
        con.sql(f"SET memory_limit='{settings.DUCKDB_MEMORY_LIMIT}'")
        con.register(source, dataset)
        counted = con.sql(f"SELECT count(*) FROM {source} WHERE {BATCH_COLUMN} = ?", params=[batch_id]).fetchall()  # noqa: S608
        total = int(counted[0][0]) if counted else 0
        query = f"SELECT {selected} FROM {source} WHERE {BATCH_COLUMN} = ? ORDER BY _row"  # noqa: S608
        params: list[Any] = [batch_id]
        if limit is not None:
            query += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        elif offset:
            query += " OFFSET ?"
            params.append(offset)
        page = con.sql(query, params=params).to_arrow_table()
    finally:
        con.close()
    return columns, page.to_pylist(), total


def drop_unrecorded_table(resource_code: str) -> None:
    """Remove a resource's data table whose only version was made by a batch that died before
    recording it (the resource had no data before): the folder on a local lake, every object
    under the table's prefix on object storage."""
    import shutil

    if not _is_local():
        filesystem, path = _object_store(data_uri(resource_code))
        filesystem.delete_dir_contents(path, missing_dir_ok=True)
        return
    shutil.rmtree(Path(data_uri(resource_code).removeprefix("file://")), ignore_errors=True)


def _object_store(uri: str) -> tuple[Any, str]:
    """A pyarrow S3 filesystem for the lake's storage options, and `uri`'s bucket/key path in it
    (only to delete what delta-rs cannot: a whole table written by a batch that died)."""
    from urllib.parse import urlsplit

    import pyarrow.fs as pafs

    if not uri.startswith(("s3://", "s3a://")):
        raise DomainError(f"不支持的数据湖存储：{uri.split('://', 1)[0]}（只支持本地目录和 S3 兼容存储）", "lake")
    options = {k.upper(): v for k, v in (storage_options() or {}).items()}
    endpoint = options.get("AWS_ENDPOINT_URL") or options.get("AWS_ENDPOINT") or ""
    kwargs: dict[str, Any] = {
        "access_key": options.get("AWS_ACCESS_KEY_ID"),
        "secret_key": options.get("AWS_SECRET_ACCESS_KEY"),
        "region": options.get("AWS_REGION") or options.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc or parts.path
        kwargs["scheme"] = parts.scheme or "https"
    split = urlsplit(uri)
    return pafs.S3FileSystem(**kwargs), f"{split.netloc}{split.path}".rstrip("/")


def restore(resource_code: str, version: int, *, reason: str, batch_id: int | None = None) -> CommitResult:
    """Roll the resource back to an earlier version: a new commit whose content is that version."""
    from .constants import VersionOperation

    table = open_version(resource_code)
    latest = table.version()
    if version < 0 or version >= latest:
        raise DomainError(f"只能回滚到早于当前版本（{latest}）的版本", "version")
    metadata = {"zhengwu.restored_from": str(version), "zhengwu.reason": reason[:200]}
    if batch_id is not None:
        metadata[BATCH_METADATA] = str(batch_id)
    table.restore(version, commit_properties=CommitProperties(custom_metadata=metadata))
    table = DeltaTable(data_uri(resource_code), storage_options=storage_options())
    return CommitResult(table.version(), VersionOperation.ROLLBACK, count_rows(resource_code), 0, 0, 0)


def changes(resource_code: str, starting_version: int, ending_version: int | None = None) -> pa.Table:
    """Exact changes between versions (Delta change data feed): every row with `_change_type`
    insert / update_preimage / update_postimage / delete and `_commit_version`."""
    table = open_version(resource_code)
    reader = table.load_cdf(starting_version=starting_version, ending_version=ending_version)
    return pa.table(reader.read_all())
