"""Background work of data collection: batches and scheduled pulls (django-tasks)."""

from __future__ import annotations
