"""datahub's verifiers for identity's real-name checks (core.verifiers), registered in apps.ready().

- person: is there a row of 人口基本信息 with this `id_no` and this `person_name`?
- enterprise: the `ent_name`, `legal_person` and `reg_status` of the 市场主体登记信息 row with
  this `uscc`.

Both read only the matching row of the resource's current *served* version
(`queries.served_version`: never an undone version) with a DuckDB filter over the version's
Arrow dataset (`lake.version_dataset`; the filter and the column list are pushed into the Parquet
scan); nothing is copied into identity.
The resource is the live catalog entry of that name that has data (the lowest id when the
catalog lists several). When there is no such resource or data yet, or the lake cannot be read,
`VerifierUnavailable` is raised: a check never passes by default.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
from django.conf import settings

from zhengwu.core.errors import DomainError
from zhengwu.core.verifiers import EnterpriseRecord, PersonMatch, VerifierUnavailable

logger = logging.getLogger(__name__)

PEOPLE_RESOURCE = "人口基本信息"
ENTERPRISE_RESOURCE = "市场主体登记信息"


def _served(name: str) -> tuple[str, int]:
    """(resource code, served lake version) of the live resource called `name` that has data."""
    from zhengwu.catalog.models import CatalogEntry

    from .queries import served_version

    codes = CatalogEntry.objects.filter(name=name, published_version__gt=0, is_live=True).order_by("id")
    for code in codes.values_list("resource_code", flat=True):
        try:
            return code, served_version(code, None)
        except DomainError:
            continue
    raise VerifierUnavailable(f"实名核验服务暂时不可用：数据中心尚无“{name}”数据，请稍后再试")


def _lookup(name: str, key_field: str, key: str, fields: list[str]) -> tuple[dict[str, Any] | None, str, str]:
    """(the one row whose `key_field` is `key`, or None; resource code; source for the audit)."""
    from . import lake

    code, version = _served(name)
    source = f"{name} {code} v{version}"
    try:
        # Not delta-rs's own dataset: see lake._dataset (text filters would find nothing).
        dataset = lake.version_dataset(code, version)
    except Exception as exc:
        logger.exception("verifier: cannot open %s version %s", code, version)
        raise VerifierUnavailable() from exc
    if dataset is None:
        return None, code, source
    selected = ", ".join(f'"{f}"' for f in fields)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit='{settings.DUCKDB_MEMORY_LIMIT}'")
        con.register("base_rows", dataset)
        # The filter is pushed down into the Arrow dataset scan: row groups whose statistics
        # exclude the key are skipped, and only the asked-for columns are read.
        rows = con.execute(
            f'SELECT {selected} FROM base_rows WHERE "{key_field}" = ? LIMIT 2',  # noqa: S608
            [key],
        ).fetchall()
    except duckdb.Error as exc:
        logger.exception("verifier: cannot read %s version %s", code, version)
        raise VerifierUnavailable() from exc
    finally:
        con.close()
    if len(rows) != 1:  # none, or a key held twice (bad data): no match either way
        return None, code, source
    return dict(zip(fields, rows[0], strict=True)), code, source


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.strip() == b.strip() and bool(b.strip())


def verify_person(id_no: str, name: str) -> PersonMatch:
    row, _code, source = _lookup(PEOPLE_RESOURCE, "id_no", id_no, ["person_name"])
    return PersonMatch(matched=row is not None and _same(row["person_name"], name), source=source)


def _status_names(code: str) -> dict[str, str]:
    """The registration status code table of the resource's published items (code → name)."""
    from .schema import schema_for

    try:
        schema = schema_for(code)
    except DomainError:
        return {}
    for column in schema.columns:
        if column.field_name == "reg_status" and column.code_table is not None:
            return dict(column.code_table.values)
    return {}


def find_enterprise(uscc: str) -> EnterpriseRecord | None:
    row, code, source = _lookup(ENTERPRISE_RESOURCE, "uscc", uscc, ["ent_name", "legal_person", "reg_status"])
    if row is None:
        return None
    status = str(row["reg_status"] or "")
    status = _status_names(code).get(status, status)
    return EnterpriseRecord(
        uscc=uscc, name=str(row["ent_name"] or ""), legal_representative=str(row["legal_person"] or ""),
        status=status, source=source,
    )
