"""The verifier registry: how identity checks a person or an enterprise against base data.

identity (a lower layer) never imports the data layer and never keeps a copy of base data.
The data layer registers, at start-up (`apps.py` `ready()`), one function per kind:

- `register_person_verifier(fn)`: `fn(id_no, name) -> PersonMatch` — does the population base
  resource hold a person with this resident identity number *and* this name?
- `register_enterprise_verifier(fn)`: `fn(uscc) -> EnterpriseRecord | None` — the registered
  name, legal representative and registration status of the market entity with this code.

identity asks through `verify_person` / `find_enterprise`. When nothing is registered, or the
registered verifier cannot answer (no data yet, the lake unreachable), `VerifierUnavailable` is
raised with one Chinese message: a check never passes by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import DomainError


class VerifierUnavailable(DomainError):
    status = 503

    def __init__(self, message: str = "实名核验服务暂时不可用，请稍后再试", field: str | None = None):
        super().__init__(message, field)


@dataclass(frozen=True)
class PersonMatch:
    matched: bool  # the number is held and the name agrees (False also when the number is unknown)
    source: str = ""  # e.g. "人口基本信息 v3", for the audit record


@dataclass(frozen=True)
class EnterpriseRecord:
    uscc: str
    name: str
    legal_representative: str
    status: str  # the status's Chinese name: 存续, 在业, 吊销, 注销, 迁出 …
    source: str = ""


PersonVerifier = Callable[[str, str], PersonMatch]
EnterpriseVerifier = Callable[[str], "EnterpriseRecord | None"]

_person: list[PersonVerifier] = []
_enterprise: list[EnterpriseVerifier] = []


def register_person_verifier(fn: PersonVerifier) -> None:
    """Register (or replace) the person verifier."""
    _person[:] = [fn]


def register_enterprise_verifier(fn: EnterpriseVerifier) -> None:
    """Register (or replace) the enterprise verifier."""
    _enterprise[:] = [fn]


def verify_person(id_no: str, name: str) -> PersonMatch:
    if not _person:
        raise VerifierUnavailable()
    return _person[0](id_no, name)


def find_enterprise(uscc: str) -> EnterpriseRecord | None:
    if not _enterprise:
        raise VerifierUnavailable()
    return _enterprise[0](uscc)
