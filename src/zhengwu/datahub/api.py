"""/api/v1/datahub/… — batches, push, quarantine, versions, sources, rules, quality."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["datahub"])
