"""The pluggable SMS sender (setting ZHENGWU_SMS_SENDER: the dotted path of a class).

A sender is a class with `send(mobile: str, text: str) -> None` that raises
`zhengwu.core.errors.DomainError` (Chinese message) when the text could not be handed over.
The default, `OutboxSender`, sends nothing: it writes the text to the outbox table, which a
系统管理员 reads in the staff console (短信发件箱) — for development and the demo city. How to
plug a real gateway (its HTTP calls through zhengwu.core.egress): docs/public-accounts.md.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import SmsOutboxMessage

DEFAULT_SENDER = "zhengwu.identity.public.sms.OutboxSender"


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> None: ...


class OutboxSender:
    """Writes each text to the outbox (SmsOutboxMessage) instead of sending it."""

    def send(self, mobile: str, text: str) -> None:
        SmsOutboxMessage.objects.create(mobile=mobile, text=text[:300], created_at=timezone.now())


@lru_cache(maxsize=4)
def _sender(path: str) -> SmsSender:
    sender: SmsSender = import_string(path)()
    return sender


def sender() -> SmsSender:
    return _sender(str(getattr(settings, "SMS_SENDER", "") or DEFAULT_SENDER))
