"""The platform's rules on top of django-oauth-toolkit's request validator.

DOT and oauthlib speak the protocol; this class adds what the platform decides:

- a client authenticates (and its tokens work) only while its registration is approved and enabled;
- redirect URIs match exactly, character for character (no prefix, no loopback port wildcard);
- a staff-only client never gets a code for a public account;
- every authorization code and access token is tied to the SSO session (the platform login
  session) it came from: ID tokens carry that session's `sid`, a code or refresh token of an ended
  session is refused, and a code presented twice revokes every token it produced;
- claims come from claims.py (random `sub`, unit, roles by scope); auth_time is the session's login;
- ID tokens are signed with the platform's current key from keys.py (kid in the header), and
  id_token_hint is checked against every key still published.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from jwcrypto import jws, jwt
from oauth2_provider.models import AccessToken, Grant, revoke_access_token
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import record_event

from . import keys
from .claims import CLAIM_SCOPE, claims_for
from .models import Audience, IssuedCode, IssuedToken, SsoSession


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def registration_of(application: Any) -> Any:
    try:
        return application.registration
    except Exception:
        return None


def client_usable(application: Any) -> bool:
    registration = registration_of(application) if application is not None else None
    return registration is not None and registration.usable


class PlatformValidator(OAuth2Validator):
    oidc_claim_scope = CLAIM_SCOPE

    # --- clients -------------------------------------------------------------------------
    def _load_application(self, client_id: str, request: Any) -> Any:
        application = super()._load_application(client_id, request)
        if application is not None and not client_usable(application):
            request.client = None
            return None
        return application

    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return redirect_uri in request.client.redirect_uris.split()

    def confirm_redirect_uri(self, client_id: str, code: str, redirect_uri: str, client: Any, *args: Any, **kwargs: Any) -> bool:
        grant = Grant.objects.filter(code=code, application=client).first()
        return grant is not None and grant.redirect_uri == redirect_uri

    # --- codes ---------------------------------------------------------------------------
    def save_authorization_code(self, client_id: str, code: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> None:
        registration = registration_of(request.client)
        user = request.user
        if registration is None or (registration.audience == Audience.STAFF and user.account_kind != "staff"):
            raise errors.AccessDeniedError(request=request)
        sso_id = getattr(request, "zw_sso_id", None)
        with transaction.atomic():
            super().save_authorization_code(client_id, code, request, *args, **kwargs)
            IssuedCode.objects.create(
                code_hash=sha256(code["code"]), application=request.client, sso_session_id=sso_id, created_at=timezone.now()
            )

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        issued = IssuedCode.objects.select_related("sso_session").filter(code_hash=sha256(code), application=client).first()
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            if issued is not None and issued.redeemed_at is not None:
                self._revoke_after_code_reuse(issued)
            return False
        if issued is None:
            return False
        if issued.sso_session is not None and issued.sso_session.ended_at is not None:
            return False
        request.zw_sso_id = issued.sso_session_id
        request.zw_sid = issued.sso_session.sid if issued.sso_session else None
        request.zw_code_id = issued.pk
        request.zw_auth_time = issued.sso_session.auth_time if issued.sso_session else None
        return True

    def _revoke_after_code_reuse(self, issued: IssuedCode) -> None:
        with transaction.atomic():
            ids = list(IssuedToken.objects.filter(issued_code=issued).values_list("access_token_id", flat=True))
            for token in AccessToken.objects.filter(pk__in=ids):
                revoke_access_token(token)
            record_event(
                None,
                "oidc.code_reuse",
                object_type="oidc.client",
                object_id=issued.application.client_id,
                result=AuditResult.FAILURE,
                details={"revoked_tokens": len(ids)},
            )

    def invalidate_authorization_code(self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any) -> None:
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        IssuedCode.objects.filter(code_hash=sha256(code)).update(redeemed_at=timezone.now())

    # --- tokens --------------------------------------------------------------------------
    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> None:
        super().save_bearer_token(token, request, *args, **kwargs)
        access = AccessToken.objects.filter(token_checksum=sha256(token["access_token"])).first()
        if access is not None:
            IssuedToken.objects.get_or_create(
                access_token=access,
                defaults={
                    "sso_session_id": getattr(request, "zw_sso_id", None),
                    "issued_code_id": getattr(request, "zw_code_id", None),
                },
            )

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        rt = request.refresh_token_instance
        link = IssuedToken.objects.select_related("sso_session").filter(access_token_id=rt.access_token_id).first()
        if link is not None and link.sso_session is not None:
            if link.sso_session.ended_at is not None:
                return False
            request.zw_sso_id = link.sso_session_id
            request.zw_sid = link.sso_session.sid
            request.zw_auth_time = link.sso_session.auth_time
        if link is not None:
            request.zw_code_id = link.issued_code_id
        return True

    def validate_bearer_token(self, token: str, scopes: list[str], request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        access = request.access_token
        if not client_usable(access.application) or not token_session_open(access):
            request.oauth2_error = {"error": "invalid_token", "error_description": "The access token is invalid."}
            return False
        return True

    # --- claims and ID tokens ------------------------------------------------------------
    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        claims = claims_for(request.user, list(request.scopes or []))
        sid = getattr(request, "zw_sid", None)
        if sid:
            claims["sid"] = sid
        return claims

    def get_discovery_claims(self, request: Any) -> list[str]:
        return sorted(CLAIM_SCOPE)

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> tuple[dict[str, Any], Any]:
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        auth_time = getattr(request, "zw_auth_time", None)
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        return claims, expiration

    def finalize_id_token(self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = keys.active_key()
        signed = jwt.JWT(
            header=json.dumps({"typ": "JWT", "alg": "RS256", "kid": key.kid}),
            claims=json.dumps(id_token, default=str),
        )
        signed.make_signed_token(keys.private_jwk(key))
        with transaction.atomic():
            saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = saved
        request.id_token = saved
        return str(signed.serialize())

    def _get_key_for_token(self, token: str) -> Any:
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
        kid = header.get("kid") if isinstance(header, dict) else None
        return keys.verification_jwk(kid) if kid else None


def token_session_open(access: Any) -> bool:
    link = IssuedToken.objects.select_related("sso_session").filter(access_token=access).first()
    return link is None or link.sso_session is None or link.sso_session.ended_at is None


def sso_session_by_sid(sid: str) -> SsoSession | None:
    return SsoSession.objects.filter(sid=sid).first()
