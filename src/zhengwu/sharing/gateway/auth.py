"""Who is calling: an OAuth2 bearer token issued by the platform's identity provider to a unit's
SERVICE client, or an API key with an HMAC-SM3 request signature.

Bearer: the token is looked up by its SHA-256 checksum (DOT keeps nothing else, RFC 9700 token
storage); it must not be expired, must carry the `sharing` scope, and its application's
registration must be a usable (approved, enabled) SERVICE client. The calling unit is the
registration's unit.

Signature (for systems that cannot do OAuth2), headers:

    X-Zhengwu-Key: <key id>
    X-Zhengwu-Timestamp: <unix seconds>
    X-Zhengwu-Nonce: <8–64 characters A-Z a-z 0-9 _ ->
    X-Zhengwu-Signature: hex(HMAC-SM3(secret, canonical))

    canonical = METHOD "\\n" PATH "\\n" SORTED_QUERY "\\n" TIMESTAMP "\\n" NONCE "\\n" hex(SM3(body))

SORTED_QUERY is the query's (name, value) pairs sorted, each percent-encoded (RFC 3986 unreserved
characters kept) and joined as name=value with "&". The timestamp must be within ±300 s of the
server's clock; a nonce is accepted once per key (the database's unique constraint, so several web
workers agree). The nonces older than twice the window are deleted by the periodic job.

Per-process cache: a token's or key's facts are kept for `ZHENGWU_GATEWAY_CACHE_SECONDS` (default
5 s). A revoked token, a disabled client or a revoked key therefore stops working within that
many seconds in every worker (the expiry time of a token is checked on every call).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.core.crypto import CryptoError, decrypt_field, hmac_sm3, sm3_hex

from .errors import GatewayError

SCOPE = "sharing"
CLOCK_WINDOW_SECONDS = 300
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEY_ID_RE = re.compile(r"^gk_[0-9a-f]{16}$")


def cache_seconds() -> float:
    return float(getattr(settings, "GATEWAY_CACHE_SECONDS", 5))


@dataclass(frozen=True)
class Caller:
    """The authenticated system: its unit and which credential it used."""

    unit_id: int
    unit_name: str
    client_name: str
    registration_id: int | None = None
    key_id: int | None = None
    sources: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    expires_at: float = 0.0  # a bearer token's expiry (epoch seconds); 0 for a key


class _TTLCache:
    """A tiny per-process cache: value and the monotonic time it was stored."""

    def __init__(self) -> None:
        self._data: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        found = self._data.get(key)
        if found is None or time.monotonic() - found[0] > cache_seconds():
            return None
        return found[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) > 10_000:
            self._data.clear()
        self._data[key] = (time.monotonic(), value)

    def clear(self) -> None:
        self._data.clear()


_tokens = _TTLCache()
_keys = _TTLCache()


def clear_caches() -> None:
    _tokens.clear()
    _keys.clear()


def parse_sources(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The CIDR list (one a line, or separated by commas); refuses a malformed entry."""
    out = []
    for raw in re.split(r"[\s,，]+", text or ""):
        if not raw:
            continue
        try:
            out.append(ipaddress.ip_network(raw, strict=False))
        except ValueError as exc:
            raise ValueError(raw) from exc
    return tuple(out)


def _none(message: str = "缺少访问凭证：请使用 Authorization: Bearer <访问令牌> 或网关密钥签名") -> GatewayError:
    return GatewayError(401, message)


def authenticate(request: HttpRequest) -> Caller:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _none("Authorization 头格式错误：应为 Bearer <访问令牌>")
        return _bearer(token.strip())
    if request.META.get("HTTP_X_ZHENGWU_KEY"):
        return _signed(request)
    raise _none()


# --- bearer tokens ------------------------------------------------------------------------------------


def _load_token(checksum: str) -> Caller | None:
    from oauth2_provider.models import AccessToken

    from zhengwu.identity.oidc.models import ClientKind

    access = (
        AccessToken.objects.select_related("application__registration__unit")
        .filter(token_checksum=checksum).first()
    )
    if access is None:
        return None
    try:
        registration = access.application.registration
    except Exception:
        return None
    if (registration.kind != ClientKind.SERVICE or not registration.usable or not registration.unit.is_active
            or SCOPE not in access.scope.split()):
        return None
    from .models import ClientSourceLimit

    limit = ClientSourceLimit.objects.filter(registration=registration).values_list("allowed_sources", flat=True).first()
    try:
        sources = parse_sources(limit or "")
    except ValueError:
        sources = (ipaddress.ip_network("0.0.0.0/32"),)  # a stored list that no longer parses admits nobody
    return Caller(
        unit_id=registration.unit_id, unit_name=registration.unit.name, client_name=registration.name,
        registration_id=registration.pk, sources=sources, expires_at=access.expires.timestamp(),
    )


def _bearer(token: str) -> Caller:
    if len(token) > 512:
        raise _none("访问令牌无效")
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    caller = _tokens.get(checksum)
    if caller is None:
        caller = _load_token(checksum) or False
        _tokens.put(checksum, caller)
    if caller is False:
        raise _none("访问令牌无效、已过期或已被撤销，或该系统未获准使用数据服务（需要 sharing 范围）")
    if caller.expires_at <= time.time():
        raise _none("访问令牌已过期，请重新获取")
    return caller


# --- signed requests ----------------------------------------------------------------------------------


def canonical_query(query_string: str) -> str:
    pairs = sorted(parse_qsl(query_string, keep_blank_values=True))
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def canonical_string(method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([method.upper(), path, canonical_query(query_string), timestamp, nonce, sm3_hex(body)])


def sign(secret: str, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes = b"") -> str:
    """The signature a client sends (also what the docs' example computes)."""
    text = canonical_string(method, path, query_string, timestamp, nonce, body)
    return hmac_sm3(secret.encode("utf-8"), text.encode("utf-8")).hex()


@dataclass(frozen=True)
class _KeyFacts:
    pk: int
    secret: str
    caller: Caller


def _load_key(key_id: str) -> _KeyFacts | None:
    from .models import GatewayKey

    key = GatewayKey.objects.select_related("unit").filter(key_id=key_id, revoked_at__isnull=True).first()
    if key is None or not key.unit.is_active:
        return None
    try:
        secret = decrypt_field(key.secret_encrypted, f"gateway-key:{key.key_id}")
    except CryptoError:
        return None
    try:
        sources = parse_sources(key.allowed_sources)
    except ValueError:
        sources = (ipaddress.ip_network("0.0.0.0/32"),)
    caller = Caller(unit_id=key.unit_id, unit_name=key.unit.name, client_name=key.name, key_id=key.pk, sources=sources)
    return _KeyFacts(key.pk, secret, caller)


def _signed(request: HttpRequest) -> Caller:
    from .models import SignatureNonce

    meta = request.META
    key_id = meta.get("HTTP_X_ZHENGWU_KEY", "")
    timestamp = meta.get("HTTP_X_ZHENGWU_TIMESTAMP", "")
    nonce = meta.get("HTTP_X_ZHENGWU_NONCE", "")
    signature = meta.get("HTTP_X_ZHENGWU_SIGNATURE", "")
    if not KEY_ID_RE.match(key_id):
        raise _none("网关密钥无效或已吊销")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise _none("签名时间戳（X-Zhengwu-Timestamp）必须是 Unix 秒数")
    if abs(time.time() - int(timestamp)) > CLOCK_WINDOW_SECONDS:
        raise _none(f"签名时间戳与服务器时间相差超过 {CLOCK_WINDOW_SECONDS} 秒，请校准时钟后重新签名")
    if not NONCE_RE.match(nonce):
        raise _none("签名随机数（X-Zhengwu-Nonce）须为 8 到 64 个字母、数字、下划线或连字符")
    if not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise _none("签名（X-Zhengwu-Signature）格式错误：应为 64 位小写十六进制")
    facts = _keys.get(key_id)
    if facts is None:
        facts = _load_key(key_id) or False
        _keys.put(key_id, facts)
    if facts is False:
        raise _none("网关密钥无效或已吊销")
    expected = sign(facts.secret, request.method or "GET", request.path, meta.get("QUERY_STRING", ""), timestamp, nonce, request.body)
    if not hmac.compare_digest(expected, signature):
        raise _none("签名不正确：请按文档的规范串重新计算 HMAC-SM3")
    try:
        with transaction.atomic():
            SignatureNonce.objects.create(key_id=facts.pk, nonce=nonce, seen_at=timezone.now())
    except IntegrityError:
        raise _none("该签名已使用过（随机数重复）：每次请求须使用新的随机数") from None
    return facts.caller


def purge_nonces(now: datetime | None = None) -> int:
    from datetime import timedelta

    from .models import SignatureNonce

    now = now or timezone.now()
    deleted, _ = SignatureNonce.objects.filter(seen_at__lt=now - timedelta(seconds=2 * CLOCK_WINDOW_SECONDS)).delete()
    return int(deleted)


def source_allowed(caller: Caller, address: str) -> bool:
    if not caller.sources:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in caller.sources)
