"""Database triggers that make the audit tables append-only.

PostgreSQL: a plpgsql trigger refuses UPDATE and DELETE on `audit_auditrecord`, except a DELETE
of a row older than six months inside a transaction that has set
`SET LOCAL zhengwu.audit_purge = 'on'` (only `do_purge_records` does). `audit_auditcheckpoint`
refuses UPDATE and DELETE always. `audit_auditchainhead` stays updatable (it is the append lock).

SQLite: BEFORE UPDATE triggers abort; BEFORE DELETE aborts unless the record is older than six
months (checkpoints: always). SQLite has no session variables, so the age rule is the whole
guard there.

Django's `flush` (test teardown of transactional tests, `zhengwu flush`) deliberately wipes the
whole database. On PostgreSQL it uses TRUNCATE, which row triggers do not see; on SQLite it uses
DELETE, so the SQLite DELETE triggers also consult `zhengwu_audit_guard_active()`, a function
this module registers on every Django SQLite connection and which answers 0 only while Django
flushes that connection. Outside Django (the sqlite3 shell) the function does not exist, so any
DELETE on the audit tables fails there.

On SQLite, a migration that rebuilds one of these tables (most ALTERs do) drops its triggers:
such a migration must call `install(schema_editor.connection)` again afterwards.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

SQLITE_GUARD_FUNCTION = "zhengwu_audit_guard_active"

POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION zhengwu_audit_record_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF current_setting('zhengwu.audit_purge', true) = 'on'
               AND OLD.occurred_at < now() - interval '6 months' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '审计记录只可追加，不可删除（记录 #%）：只有审计清理流程可以删除六个月以前的记录', OLD.seq
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RAISE EXCEPTION '审计记录只可追加，不可修改（记录 #%）', OLD.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$
    """,
    "DROP TRIGGER IF EXISTS zhengwu_audit_record_guard ON audit_auditrecord",
    """
    CREATE TRIGGER zhengwu_audit_record_guard BEFORE UPDATE OR DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION zhengwu_audit_record_guard()
    """,
    """
    CREATE OR REPLACE FUNCTION zhengwu_audit_checkpoint_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '审计检查点不可修改或删除（检查点 id=%）', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$
    """,
    "DROP TRIGGER IF EXISTS zhengwu_audit_checkpoint_guard ON audit_auditcheckpoint",
    """
    CREATE TRIGGER zhengwu_audit_checkpoint_guard BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION zhengwu_audit_checkpoint_guard()
    """,
]

POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS zhengwu_audit_record_guard ON audit_auditrecord",
    "DROP TRIGGER IF EXISTS zhengwu_audit_checkpoint_guard ON audit_auditcheckpoint",
    "DROP FUNCTION IF EXISTS zhengwu_audit_record_guard()",
    "DROP FUNCTION IF EXISTS zhengwu_audit_checkpoint_guard()",
]

SQLITE_RECORD_NO_UPDATE = """
CREATE TRIGGER IF NOT EXISTS zhengwu_audit_record_no_update BEFORE UPDATE ON audit_auditrecord
BEGIN
    SELECT RAISE(ABORT, '审计记录只可追加，不可修改');
END
"""
# Django stores datetimes on SQLite as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; datetime('now')
# has the same shape, so text comparison orders them correctly.
SQLITE_RECORD_NO_DELETE = f"""
CREATE TRIGGER IF NOT EXISTS zhengwu_audit_record_no_delete BEFORE DELETE ON audit_auditrecord
WHEN {SQLITE_GUARD_FUNCTION}() AND OLD.occurred_at >= datetime('now', '-6 months')
BEGIN
    SELECT RAISE(ABORT, '审计记录只可追加，不可删除：只能清理六个月以前的记录');
END
"""
SQLITE_CHECKPOINT_NO_UPDATE = """
CREATE TRIGGER IF NOT EXISTS zhengwu_audit_checkpoint_no_update BEFORE UPDATE ON audit_auditcheckpoint
BEGIN
    SELECT RAISE(ABORT, '审计检查点不可修改');
END
"""
SQLITE_CHECKPOINT_NO_DELETE = f"""
CREATE TRIGGER IF NOT EXISTS zhengwu_audit_checkpoint_no_delete BEFORE DELETE ON audit_auditcheckpoint
WHEN {SQLITE_GUARD_FUNCTION}()
BEGIN
    SELECT RAISE(ABORT, '审计检查点不可删除');
END
"""
SQLITE_INSTALL = [
    SQLITE_RECORD_NO_UPDATE,
    SQLITE_RECORD_NO_DELETE,
    SQLITE_CHECKPOINT_NO_UPDATE,
    SQLITE_CHECKPOINT_NO_DELETE,
]
SQLITE_RECORD_TRIGGERS = ["zhengwu_audit_record_no_update", "zhengwu_audit_record_no_delete"]
SQLITE_CHECKPOINT_TRIGGERS = ["zhengwu_audit_checkpoint_no_update", "zhengwu_audit_checkpoint_no_delete"]
SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_RECORD_TRIGGERS + SQLITE_CHECKPOINT_TRIGGERS
]


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers for this connection's vendor (idempotent)."""
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_INSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_INSTALL)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_UNINSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_UNINSTALL)


# --- SQLite: the guard function and Django's flush ---------------------------------------
_flushing: set[int] = set()


def on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver: register the guard function on SQLite connections."""
    if connection.vendor != "sqlite":
        return
    key = id(connection)
    connection.connection.create_function(SQLITE_GUARD_FUNCTION, 0, lambda: 0 if key in _flushing else 1)
    ops = connection.ops
    if getattr(ops, "_zhengwu_flush_wrapped", False):
        return
    original = ops.execute_sql_flush

    def execute_sql_flush(sql_list: list[str]) -> None:
        # `flush` empties every table on purpose; on PostgreSQL it is a TRUNCATE the row
        # triggers never see, so allow the same whole-database wipe on SQLite.
        _flushing.add(key)
        try:
            original(sql_list)
        finally:
            _flushing.discard(key)

    setattr(ops, "execute_sql_flush", execute_sql_flush)  # noqa: B010 - instance override, not a method
    setattr(ops, "_zhengwu_flush_wrapped", True)  # noqa: B010
