"""WebAuthn (W3C Web Authentication) as a second factor: relying-party settings, ceremony options,
single-use challenges kept in the session, and verification through py_webauthn (Duo Labs).

Contract
--------
- `relying_party(request)` gives the RP ID and the accepted origins: `ZHENGWU_WEBAUTHN_RP_ID` /
  `ZHENGWU_WEBAUTHN_ORIGINS` when set, else the host and origin of `ZHENGWU_SITE_URL`, else those
  of the request (its Host header is already checked against ALLOWED_HOSTS). Every origin's host
  must be the RP ID or a subdomain of it (ImproperlyConfigured otherwise).
- `new_challenge(request, purpose, user, bound_to)` stores a fresh 32-byte challenge in the session
  and `take_challenge(request, purpose, user, bound_to)` removes it and returns it only when it was
  issued for the same purpose, user and pending login (`bound_to`: the pending step's start time)
  less than CHALLENGE_SECONDS ago. Each challenge is therefore used at most once, whatever the result.
- `verify_registration` / `verify_assertion` raise `WebAuthnFailure(reason)` with a short English
  reason for the audit log; the services turn it into a Chinese message.
- Sign counters are compared here, after the signature has been verified: `verify_assertion` is
  given the stored counter and raises `CounterRegression` when the authenticator's counter did not
  move forward (a cloned authenticator); py_webauthn's own counter check is bypassed so that a
  regression is told apart from a bad signature.

No state is changed here; services.py stores credentials, counters and audit records.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .models import WebAuthnCredential

CHALLENGE_KEY = "identity_webauthn_challenge"
CHALLENGE_SECONDS = 120  # the browser is asked to give up after TIMEOUT_MS; a little margin on top
TIMEOUT_MS = 90_000
MAX_RESPONSE_CHARS = 64 * 1024  # a real response is a few kilobytes
KNOWN_TRANSPORTS = {t.value for t in AuthenticatorTransport}

PURPOSE_LOGIN = "login"
PURPOSE_REGISTER = "register"


class WebAuthnFailure(Exception):
    """A response that cannot be accepted; `reason` is a short English code for the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CounterRegression(WebAuthnFailure):
    """A correctly signed assertion whose counter did not increase: a cloned authenticator."""

    def __init__(self, stored: int, received: int) -> None:
        super().__init__("counter_regression")
        self.stored = stored
        self.received = received


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origins: tuple[str, ...]
    name: str


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"WebAuthn 来源 {url!r} 不是 http(s)://主机[:端口] 形式")
    host = parts.hostname
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


def _host_of_origin(origin: str) -> str:
    return urlsplit(origin).hostname or ""


def relying_party(request: HttpRequest) -> RelyingParty:
    """The RP ID and accepted origins for this deployment (see the module docstring)."""
    return _resolve(lambda: f"{request.scheme}://{request.get_host()}")


def _resolve(request_origin: Any) -> RelyingParty:
    site = (getattr(settings, "SITE_URL", "") or "").strip()
    configured_origins = [o for o in getattr(settings, "WEBAUTHN_ORIGINS", []) if o.strip()]
    if configured_origins:
        origins = tuple(_origin_of(o) for o in configured_origins)
    elif site:
        origins = (_origin_of(site),)
    else:
        origins = (_origin_of(request_origin()),)
    rp_id = (getattr(settings, "WEBAUTHN_RP_ID", "") or "").strip().lower().rstrip(".")
    if not rp_id:
        rp_id = _host_of_origin(origins[0])
    if _is_ip(rp_id):
        raise ImproperlyConfigured(
            "安全密钥不能在以 IP 地址打开的页面上使用：请通过域名访问（开发时用 http://localhost:端口），"
            "或设置 ZHENGWU_WEBAUTHN_RP_ID 和 ZHENGWU_WEBAUTHN_ORIGINS"
        )
    for origin in origins:
        host = _host_of_origin(origin)
        if host != rp_id and not host.endswith("." + rp_id):
            raise ImproperlyConfigured(
                f"ZHENGWU_WEBAUTHN_RP_ID（{rp_id}）必须等于来源 {origin} 的主机名或是它的上级域名"
            )
    return RelyingParty(rp_id=rp_id, origins=origins, name=getattr(settings, "PLATFORM_NAME", "zhengwu"))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_settings(**_kwargs: Any) -> list[Any]:
    """System check (`zhengwu check`): configured RP ID and origins that can never match."""
    from django.core.checks import Error

    if not getattr(settings, "WEBAUTHN_ORIGINS", []) and not getattr(settings, "WEBAUTHN_RP_ID", ""):
        return []
    if not getattr(settings, "WEBAUTHN_ORIGINS", []) and not (getattr(settings, "SITE_URL", "") or "").strip():
        return []  # the origin comes from each request: checked then
    try:
        _resolve(lambda: "")
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="zhengwu.identity.E001")]
    return []


def user_handle(user: Any) -> bytes:
    """The opaque, stable WebAuthn user ID of an account (not its username or primary key)."""
    return salted_hmac("zhengwu.identity.webauthn.user_handle", str(user.pk), algorithm="sha256").digest()


# --- challenges -----------------------------------------------------------------------------------
def new_challenge(request: HttpRequest, purpose: str, user: Any, bound_to: float, now: float) -> bytes:
    challenge = secrets.token_bytes(32)
    request.session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "user_id": user.pk,
        "bound_to": bound_to,
        "issued": now,
        "challenge": bytes_to_base64url(challenge),
    }
    return challenge


def take_challenge(request: HttpRequest, purpose: str, user: Any, bound_to: float, now: float) -> bytes | None:
    """Remove the session's challenge and return it if it was issued for this purpose, user and
    pending login less than CHALLENGE_SECONDS ago; None otherwise. Never returns one twice."""
    state = request.session.pop(CHALLENGE_KEY, None)
    if not isinstance(state, dict):
        return None
    try:
        ok = (
            state["purpose"] == purpose
            and int(state["user_id"]) == user.pk
            and float(state["bound_to"]) == float(bound_to)
            and 0 <= now - float(state["issued"]) <= CHALLENGE_SECONDS
        )
        return base64url_to_bytes(state["challenge"]) if ok else None
    except (KeyError, TypeError, ValueError):
        return None


def forget_challenge(request: HttpRequest) -> None:
    request.session.pop(CHALLENGE_KEY, None)


# --- options ----------------------------------------------------------------------------------------
def _descriptors(credentials: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for c in credentials:
        transports = [AuthenticatorTransport(t) for t in c.transport_list if t in KNOWN_TRANSPORTS]
        out.append(
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id), transports=transports or None)
        )
    return out


def registration_options(
    rp: RelyingParty, user: Any, challenge: bytes, existing: list[WebAuthnCredential]
) -> str:
    """JSON for navigator.credentials.create(): no attestation asked, user verification preferred,
    no discoverable credential needed (the username is typed first), already registered
    authenticators excluded."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_id=user_handle(user),
        user_name=user.get_username(),
        user_display_name=getattr(user, "full_name", "") or user.get_username(),
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return str(options_to_json(options))


def authentication_options(rp: RelyingParty, challenge: bytes, credentials: list[WebAuthnCredential]) -> str:
    """JSON for navigator.credentials.get(), listing only this user's credentials."""
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(credentials),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return str(options_to_json(options))


# --- responses ----------------------------------------------------------------------------------------
def parse_response(raw: str | None) -> dict[str, Any]:
    """The browser's PublicKeyCredential as JSON (what webauthn.js posts), or WebAuthnFailure."""
    if not raw or not raw.strip():
        raise WebAuthnFailure("empty_response")
    if len(raw) > MAX_RESPONSE_CHARS:
        raise WebAuthnFailure("response_too_large")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise WebAuthnFailure("malformed_json") from exc
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("response"), dict):
        raise WebAuthnFailure("malformed_credential")
    return data


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: str
    user_verified: bool
    backed_up: bool


def verify_registration(rp: RelyingParty, data: dict[str, Any], challenge: bytes) -> NewCredential:
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            require_user_verification=False,
        )
    except WebAuthnException as exc:
        raise WebAuthnFailure(_reason(str(exc))) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnFailure("malformed_credential") from exc
    raw_transports = data["response"].get("transports") or []
    transports = ",".join(
        sorted({t for t in raw_transports if isinstance(t, str) and t in KNOWN_TRANSPORTS})
    )
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=transports,
        user_verified=verified.user_verified,
        backed_up=verified.credential_backed_up
        or verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
    )


@dataclass(frozen=True)
class Assertion:
    new_sign_count: int
    user_verified: bool


def verify_assertion(
    rp: RelyingParty, data: dict[str, Any], challenge: bytes, credential: WebAuthnCredential
) -> Assertion:
    try:
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=list(rp.origins),
            credential_public_key=bytes(credential.public_key),
            credential_current_sign_count=0,  # compared below, once the signature is known good
            require_user_verification=False,
        )
    except WebAuthnException as exc:
        raise WebAuthnFailure(_reason(str(exc))) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise WebAuthnFailure("malformed_credential") from exc
    received = verified.new_sign_count
    stored = int(credential.sign_count)
    if (received > 0 or stored > 0) and received <= stored:
        raise CounterRegression(stored, received)
    return Assertion(new_sign_count=received, user_verified=verified.user_verified)


def _reason(message: str) -> str:
    """py_webauthn's English message, reduced to a stable code for the audit record."""
    text = message.lower()
    for needle, code in (
        ("challenge", "challenge_mismatch"),
        ("origin", "origin_mismatch"),
        ("rp id", "rp_id_mismatch"),
        ("signature", "bad_signature"),
        ("user presence", "user_not_present"),
        ("not present", "user_not_present"),
        ("client data type", "wrong_ceremony"),
        ("id and raw_id", "malformed_credential"),
    ):
        if needle in text:
            return code
    return "invalid_response"
