"""Prometheus exposition at /metrics, read from the database rollup (CallStat, written by the minute
seal job) so every web worker answers the same numbers. Protected by a bearer token
(ZHENGWU_METRICS_TOKEN, compared in constant time): no token configured → 404; a wrong or missing
token → 401."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from .models import CallStat, GatewayCall
from .services import LATENCY_BUCKETS_MS


class RollupCollector(Collector):
    def collect(self) -> Iterator[Any]:
        calls = CounterMetricFamily("zhengwu_gateway_calls", "网关调用次数（按资源、调用单位、操作、结果）",
                                    labels=["resource", "unit_id", "operation", "status_class"])
        latency = HistogramMetricFamily("zhengwu_gateway_call_duration_seconds", "网关调用耗时",
                                        labels=["resource", "operation"])
        grouped: dict[tuple[str, str, str, str], int] = {}
        hist: dict[tuple[str, str], tuple[list[int], float]] = {}
        for stat in CallStat.objects.all().values_list(
            "resource_code", "unit_id_value", "operation", "status_class", "calls", "duration_ms_sum", "buckets"
        ).iterator():
            code, unit, operation, status_class, n, total, buckets = stat
            key = (code, str(unit), operation, status_class)
            grouped[key] = grouped.get(key, 0) + int(n)
            counts, seconds = hist.get((code, operation), ([0] * (len(LATENCY_BUCKETS_MS) + 1), 0.0))
            counts = [a + b for a, b in zip(counts, buckets or [], strict=False)] if buckets else counts
            hist[(code, operation)] = (counts, seconds + float(total) / 1000)
        for key, n in sorted(grouped.items()):
            calls.add_metric(list(key), n)
        for (code, operation), (counts, seconds) in sorted(hist.items()):
            cumulative, running = [], 0
            for bound, n in zip([*(str(b / 1000) for b in LATENCY_BUCKETS_MS), "+Inf"], counts, strict=False):
                running += n
                cumulative.append((bound, running))
            latency.add_metric([code, operation], cumulative, seconds)
        yield calls
        yield latency
        pending = GaugeMetricFamily("zhengwu_gateway_calls_unsealed", "尚未封存（未计入上面统计）的调用数")
        from .models import CallSeal

        last = CallSeal.objects.order_by("-last_call_id").values_list("last_call_id", flat=True).first() or 0
        pending.add_metric([], GatewayCall.objects.filter(id__gt=last).count())
        yield pending
        total = CallStat.objects.aggregate(n=Sum("calls"))["n"] or 0
        sealed = GaugeMetricFamily("zhengwu_gateway_calls_sealed_total", "已封存并统计的调用总数")
        sealed.add_metric([], int(total))
        yield sealed


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    if not token:
        return HttpResponse("未启用", status=404, content_type="text/plain; charset=utf-8")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    given = header[7:] if header.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        response = HttpResponse("需要正确的访问令牌", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    registry.register(RollupCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
