"""The baseline of benchmarks/sharing_api.py: a tiny ASGI app doing the same serving-store key
look-up as the gateway (same Django settings, same database, same columns) with no gateway —
no authentication, no grant, no masking, no call log. Not shipped in src.

    BENCH_CODE=<resource code> BENCH_COLUMNS=a,b,c uvicorn benchmarks.bare_lookup:app --workers N
    GET /lookup/<key>
"""

from __future__ import annotations

import json
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhengwu.settings")
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from zhengwu.datahub.serving import queries as serving  # noqa: E402

CODE = os.environ["BENCH_CODE"]
COLUMNS = os.environ["BENCH_COLUMNS"].split(",")
KEY = os.environ.get("BENCH_KEY", "id_no")


def _lookup(key: str) -> dict[str, Any] | None:
    # What Django's request cycle does at request_started and request_finished: with
    # CONN_MAX_AGE=0 a new connection per request; with the pool (ZHENGWU_DB_POOL) the connection
    # is taken from and given back to the worker's pool, exactly as the gateway's requests do.
    close_old_connections()
    try:
        return serving.lookup(CODE, {KEY: key}, columns=COLUMNS)
    finally:
        close_old_connections()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    key = scope["path"].rsplit("/", 1)[-1]
    row = await sync_to_async(_lookup, thread_sensitive=True)(key)
    body = json.dumps({"record": row}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": 200 if row else 404,
                "headers": [(b"content-type", b"application/json; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})
