"""Pages of data collection (数据归集). Thin: reads from queries, changes through services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "datahub/index.html", {})


@login_required
def quality(request: HttpRequest) -> HttpResponse:
    return render(request, "datahub/quality.html", {})
