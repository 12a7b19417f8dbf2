from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import consoles


@login_required
def home(request: HttpRequest) -> HttpResponse:
    entries = consoles.entries_for(request.user)
    groups: dict[str, list[consoles.ConsoleEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(entry)
    return render(request, "core/home.html", {"groups": groups})


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness/readiness probe: 200 when the database answers, 500 with the reason otherwise."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # report, never raise, from a health check
        return JsonResponse({"status": "error", "reason": f"数据库不可用：{exc.__class__.__name__}"}, status=500)
    return JsonResponse({"status": "ok"})
