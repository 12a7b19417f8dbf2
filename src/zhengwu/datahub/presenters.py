"""How datahub shows a resource's rows to an actor: every value through the one masking decision.

Whoever reads rows — a version's rows, the change feed, quarantined rows and their reasons, the
samples of a batch report, a CSV/XLSX download — gets them from `queries`, which passes them
through `present_rows` (or a `RowPresenter` made once for many rows). The decision itself is
`core.masking.display_method`; who may see an item clear is `catalog.queries.clear_items_for`
(the provider unit's data managers; a sharing grant plugs in there through `granted_clear`).

Reasons quote values ("校验码错误：应为 5，实为 3", "出生日期 19900230 不是有效日期"): for an item
shown masked, the reason is replaced by its rule's general reason, which names the item and the
rule but no value; any masked value of the row that still appears in a reason is replaced by
its masked form.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from zhengwu.catalog.models import CatalogEntry
from zhengwu.catalog.queries import clear_items_for, masked_items
from zhengwu.core.errors import DomainError
from zhengwu.core.masking import FULL, PARTIAL, MaskedItem, display_method, mask_value

from .engine import ERROR_SEPARATOR, ERRORS_COLUMN, RULE_SEPARATOR, RULES_COLUMN

# Columns the lake adds beside the data: numbers, codes and kinds, never a delivered value.
META_COLUMNS = frozenset({
    "_row", "_batch", RULES_COLUMN, "_structure", "_change_type", "_commit_version", "_commit_timestamp",
})
# A reason about one item starts with its title: 公民身份号码(id_no)：…
_TITLED = re.compile(r"^(?P<title>[^：]*\((?P<field>[A-Za-z][A-Za-z0-9_]*)\))：")
MASKED_REASON = "取值未通过校验（原因中含原值，已脱敏；详细原因仅提供单位的数据管理员可见）"
_EXTRA_COLUMNS = re.compile(r"(有目录中没有的(?:列|字段)：)([^；（]*)")


@dataclass
class RowPresenter:
    """The masking of one resource's rows for one actor (make it once per request)."""

    resource_code: str
    items: Mapping[str, MaskedItem]
    clear: frozenset[str]
    general: Mapping[str, str] = field(default_factory=dict)  # rule code → its value-free reason
    rule_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule code → fields read

    def method(self, name: str) -> str:
        """"" when the column's values are shown clear, else the masking method."""
        if name in META_COLUMNS:
            return ""
        return display_method(self.items.get(name), actor_may_see_clear=name in self.clear)

    @cached_property
    def all_clear(self) -> bool:
        """True when the actor sees every item of the resource clear (the provider's data managers)."""
        return all(self.method(name) == "" for name in self.items)

    @cached_property
    def masked_fields(self) -> list[str]:
        return [name for name in self.items if self.method(name)]

    def value(self, name: str, value: Any) -> Any:
        method = self.method(name)
        return mask_value(value, method) if method else value

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        shown = {k: self.value(k, v) for k, v in row.items() if k != ERRORS_COLUMN}
        if ERRORS_COLUMN in row:
            shown[ERRORS_COLUMN] = self.reason_text(row.get(ERRORS_COLUMN), row.get(RULES_COLUMN), row)
        return shown

    def rows(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self.row(r) for r in rows]

    # --- names of coded values (after masking) ---------------------------------------------------

    @cached_property
    def _code_tables(self) -> tuple[dict[str, dict[str, str]], frozenset[str]]:
        return _code_tables_of(self.resource_code)

    def code_name(self, name: str, value: Any) -> str:
        """The name of a coded value from its item's 代码表 (民族 01 → 汉族, 性别 1 → 男性, a
        行政区划代码 → its place), or "". A value shown masked is never decoded: its name would
        give the value away."""
        if value is None or value == "" or name in META_COLUMNS or self.method(name):
            return ""
        tables, division_fields = self._code_tables
        table = tables.get(name)
        if table is not None:
            return table.get(str(value), "")
        if name in division_fields:
            from zhengwu.core import divisions

            place = divisions.get(str(value))
            return place.name if place is not None else ""
        return ""

    def code_names(self, shown: Mapping[str, Any]) -> dict[str, str]:
        """{field: name} for the coded values of a row as shown (already through `row`)."""
        return {k: n for k, v in shown.items() if (n := self.code_name(k, v))}

    def with_name(self, name: str, value: Any) -> Any:
        """A shown value with its code name beside it, for pages: "01（汉族）"."""
        label = self.code_name(name, value)
        return f"{value}（{label}）" if label else value

    # --- reasons and messages -------------------------------------------------------------------

    def reason(self, text: str, code: str | None = None, row: Mapping[str, Any] | None = None) -> str:
        """One refusal reason as this actor may read it."""
        if self.all_clear or not text:
            return text
        titled = _TITLED.match(text)
        if titled and self.method(titled["field"]) and not (code or "").startswith("required:"):
            general = self.general.get(code or "", "")
            if general.startswith(titled["title"] + "："):
                text = general
            else:
                text = f"{titled['title']}：{MASKED_REASON}"
        return self._scrub(text, row)

    def reason_text(self, errors: Any, rules: Any, row: Mapping[str, Any] | None = None) -> Any:
        """The `_errors` of a refused row (reasons joined by "；") as this actor may read it. The
        `_rules` codes come in the same order, so each reason finds its rule."""
        if errors is None or self.all_clear:
            return errors
        parts = str(errors).split(ERROR_SEPARATOR)
        codes = [c for c in str(rules or "").split(RULE_SEPARATOR) if c]
        aligned = len(codes) == len(parts)
        return ERROR_SEPARATOR.join(
            self.reason(p.strip(), codes[i] if aligned else None, row) for i, p in enumerate(parts)
        )

    def _scrub(self, text: str, row: Mapping[str, Any] | None) -> str:
        """Replace any masked value of the row that a text quotes by its masked form."""
        if not row:
            return text
        for name in self.masked_fields:
            raw = row.get(name)
            if raw is None:
                continue
            raw_text = str(raw)
            if len(raw_text) >= 2 and raw_text in text:
                text = text.replace(raw_text, str(self.value(name, raw_text)))
        return text

    def error(self, message: str) -> str:
        """A batch's failure message: a file whose first row is data, not a header, is refused
        listing its "columns" — which are then values; they are masked for this actor."""
        if self.all_clear or not message:
            return message

        def masked(match: re.Match[str]) -> str:
            names = match.group(2).split("、")
            return match.group(1) + "、".join(str(mask_value(n, FULL if len(n) < 2 else PARTIAL)) for n in names)

        return _EXTRA_COLUMNS.sub(masked, message)

    def report(self, report: Mapping[str, Any] | None) -> dict[str, Any]:
        """A batch's quality report with its samples (values and reasons of failing rows) masked."""
        shown = dict(report or {})
        if self.all_clear or not shown.get("samples"):
            return shown
        samples: dict[str, list[dict[str, Any]]] = {}
        for code, items in (shown.get("samples") or {}).items():
            fields = self.rule_fields.get(code)
            if fields is None:
                fields = _fields_of_code(code)
            out = []
            for item in items or []:
                value = item.get("value")
                if value is not None and (fields is None or any(self.method(f) for f in fields)):
                    value = self.value(fields[0], value) if fields and len(fields) == 1 else mask_value(value, FULL)
                out.append({**item, "value": value, "message": self.reason(str(item.get("message") or ""), code)})
            samples[code] = out
        shown["samples"] = samples
        return shown


def _fields_of_code(code: str) -> tuple[str, ...] | None:
    """The fields a derived rule's code names ("type:id_no", "unique:a+b"); None when unknown."""
    kind, _, rest = code.partition(":")
    if not rest or kind == "custom":
        return None
    return tuple(rest.split("+"))


def _code_tables_of(resource_code: str) -> tuple[dict[str, dict[str, str]], frozenset[str]]:
    """{field: {code: name}} for the items whose 代码表 names its codes, and the fields holding
    行政区划代码 (GB/T 2260), from the resource's published catalog version."""
    from .schema import schema_for

    try:
        schema = schema_for(resource_code)
    except DomainError:
        return {}, frozenset()
    tables: dict[str, dict[str, str]] = {}
    division_fields: set[str] = set()
    for column in schema.columns:
        table = column.code_table
        if table is None:
            continue
        if table.kind == "division":
            division_fields.add(column.field_name)
        elif table.kind == "enum":
            named = {code: meaning for code, meaning in table.values.items() if meaning and meaning != code}
            if named:
                tables[column.field_name] = named
    return tables, frozenset(division_fields)


def _rules_of(resource_code: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    from .rules import derive_rules
    from .schema import schema_for
    from .services import custom_rules

    try:
        rules = derive_rules(schema_for(resource_code), custom_rules(resource_code))
    except DomainError:
        return {}, {}
    general = {r.code: r.message for r in rules}
    fields = {r.code: tuple(r.fields or ((r.field,) if r.field else ())) for r in rules}
    return general, fields


def presenter_for(
    actor: Any, resource_code: str, *, entry: CatalogEntry | None = None, granted_clear: Collection[str] = ()
) -> RowPresenter:
    """The presenter of `resource_code`'s rows for `actor` (None: a unit system's push token,
    which is no data manager and sees masked values). `granted_clear`: see `clear_items_for`."""
    entry = entry or CatalogEntry.objects.select_related("provider").filter(resource_code=resource_code).first()
    if entry is None:
        return RowPresenter(resource_code, {}, frozenset())
    items = masked_items(entry)
    clear = clear_items_for(actor, entry, granted_clear=granted_clear) if actor is not None else frozenset()
    presenter = RowPresenter(resource_code, items, clear)
    if not presenter.all_clear:
        presenter.general, presenter.rule_fields = _rules_of(resource_code)
    return presenter


def present_rows(
    actor: Any, resource_code: str, rows: Iterable[Mapping[str, Any]], *, granted_clear: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Rows of `resource_code` as `actor` may see them (sensitive items masked unless clear)."""
    return presenter_for(actor, resource_code, granted_clear=granted_clear).rows(rows)
