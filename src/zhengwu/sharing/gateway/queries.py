"""Reads of the gateway, scoped by the actor:

- a unit's 数据管理员 / 应用系统管理员 sees its unit's keys, SERVICE clients and calls;
- the provider unit's 共享审核员 sees the grants it gave (to set their limits) and the calls on its
  resources; the data authority sees every call;
- the 审计管理员's look-up of who used one person's / enterprise's data is audited, so it is a
  service (`services.do_query_data_use`) that reads with `data_use_of_subject`;
- the holder of a portal account sees their own (`data_use_of_holder`), by the identity number /
  credit code the public-accounts app verified.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from zhengwu.catalog.queries import names_by_code
from zhengwu.core.errors import PermissionDenied
from zhengwu.sharing.models import ShareGrant
from zhengwu.sharing.services import _is_staff, is_data_authority, is_share_reviewer

from .models import DataUse, GatewayCall, GatewayKey, GrantLimits
from .services import manages_unit_systems, subject_hash


def unit_keys(actor: Any) -> QuerySet[GatewayKey]:
    if not manages_unit_systems(actor):
        return GatewayKey.objects.none()
    return GatewayKey.objects.filter(unit_id=actor.unit_id).select_related("created_by", "revoked_by")


def unit_service_clients(actor: Any) -> QuerySet[Any]:
    from zhengwu.identity.oidc.models import ClientKind, ClientRegistration

    if not manages_unit_systems(actor):
        return ClientRegistration.objects.none()
    return ClientRegistration.objects.filter(unit_id=actor.unit_id, kind=ClientKind.SERVICE).select_related("application")


def grants_to_limit(actor: Any) -> QuerySet[ShareGrant]:
    """Grants the actor's unit gave, for its 共享审核员 to set limits on."""
    if not (_is_staff(actor) and is_share_reviewer(actor)):
        return ShareGrant.objects.none()
    return ShareGrant.objects.filter(provider_id=actor.unit_id).select_related("entry", "consumer", "gateway_limits")


def limits_of(grant: ShareGrant) -> GrantLimits | None:
    return GrantLimits.objects.filter(grant=grant).first()


def visible_calls(actor: Any, scope: str = "mine") -> QuerySet[GatewayCall]:
    """mine: calls made by the actor's unit's systems; provided: calls on the actor's unit's
    resources (its reviewers and data managers); all: every call (the data authority)."""
    if not _is_staff(actor):
        raise PermissionDenied("网关调用记录仅供单位工作人员查看")
    qs = GatewayCall.objects.all()
    if scope == "all":
        if not is_data_authority(actor):
            raise PermissionDenied("只有数据主管部门可以查看全部调用记录")
        return qs
    if scope == "provided":
        return qs.filter(provider_id_value=actor.unit_id)
    return qs.filter(unit_id=actor.unit_id)


@dataclass(frozen=True)
class StatRow:
    label: str
    calls: int
    errors: int
    p50: float | None
    p95: float | None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[int(q) - 1], 1)


def with_resource_names(calls: Iterable[GatewayCall]) -> list[GatewayCall]:
    """The calls, each with `resource_name` (the live catalog name of its resource, or "")."""
    rows = list(calls)
    names = names_by_code(c.resource_code for c in rows)
    for c in rows:
        c.resource_name = names.get(c.resource_code, "")  # type: ignore[attr-defined]
    return rows


def statistics_for(calls: QuerySet[GatewayCall], *, since: datetime, by: str = "resource") -> dict[str, Any]:
    """Calls, errors, p50/p95 latency per resource or consumer, and the calls per hour (or day) for
    the chart, over calls since `since` (exact percentiles from the rows; the period is bounded)."""
    recent = calls.filter(at__gte=since)
    group = "resource_code" if by == "resource" else "unit_name"
    rows: dict[str, list[Any]] = {}
    series: dict[str, list[int]] = {}
    span = timezone.now() - since
    hourly = span <= timedelta(days=2)
    for label, status, ms, at in recent.values_list(group, "status", "duration_ms", "at").iterator(chunk_size=5000):
        cell = rows.setdefault(label or "（未识别）", [0, 0, []])
        cell[0] += 1
        cell[1] += 1 if status >= 400 else 0
        cell[2].append(ms)
        local = timezone.localtime(at)
        bucket = local.strftime("%m-%d %H:00") if hourly else local.strftime("%Y-%m-%d")
        counts = series.setdefault(bucket, [0, 0])
        counts[0] += 1
        counts[1] += 1 if status >= 400 else 0
    names = names_by_code(rows) if by == "resource" else {}
    table = [StatRow(f"{names[label]}（{label}）" if label in names else label, c, e,
                     _percentile(sorted(ms), 50), _percentile(sorted(ms), 95))
             for label, (c, e, ms) in sorted(rows.items(), key=lambda kv: -kv[1][0])]
    labels = sorted(series)
    return {
        "rows": table,
        "chart": {"labels": labels, "calls": [series[k][0] for k in labels], "errors": [series[k][1] for k in labels]},
        "hourly": hourly,
    }


# --- who used my data ----------------------------------------------------------------------------------


def data_use_of_subject(kind: str, value: str) -> QuerySet[DataUse]:
    """For the portal: the reads of the holder's own records (the caller passes the verified number
    of the signed-in holder; nobody else's)."""
    return DataUse.objects.filter(subject_hash=subject_hash(kind, value)).order_by("-at", "-id")


def call_summary(actor: Any) -> dict[str, int]:
    qs = visible_calls(actor, "mine").filter(at__gte=timezone.now() - timedelta(days=1))
    agg = qs.aggregate(calls=Count("id"), errors=Count("id", filter=Q(status__gte=400)))
    return {"calls": agg["calls"] or 0, "errors": agg["errors"] or 0}
