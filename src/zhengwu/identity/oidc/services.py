"""State changes of the OpenID provider: client registrations, SSO sessions, signing keys.

Registrations (`do_<verb>_client`): a staff member holding the business role 应用系统管理员
(`app_admin`) in a unit registers that unit's system and manages it (secret, disable/enable); the
系统管理员 (AdminRole.SYSTEM) approves or refuses it and may disable it. Every call checks the
permission, writes in one transaction and leaves an audit record (a refusal of the call too).

SSO sessions: the platform login session is the SSO session. `sso_session_for(request)` gives the
session's SsoSession (created the first time a client is signed in to); `end_sso_session`, run by
identity just before the platform session ends (logout, RP-initiated logout, idle timeout), ends it:
every token issued in it is revoked and each client of the session that registered a back-channel
logout URI is sent a signed logout token (tasks.deliver_backchannel_logout, after commit).
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import secrets
import time
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken, revoke_access_token

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import audited_attempt, record_event
from zhengwu.core import egress
from zhengwu.core.errors import DomainError, NotFound, PermissionDenied
from zhengwu.core.roles import AdminRole
from zhengwu.directory.models import Unit
from zhengwu.directory.permissions import has_business_role

from . import keys
from .claims import SCOPES, SERVICE_SCOPES, USER_SCOPES, subject_for
from .models import (
    Audience,
    ClientKind,
    ClientRegistration,
    ClientStatus,
    IssuedCode,
    IssuedToken,
    SsoSession,
)

log = logging.getLogger("zhengwu.oidc")

APP_ADMIN_ROLE = "app_admin"
SID_KEY = "oidc_sid"
AUTH_TIME_KEY = "oidc_auth_time"
BACKCHANNEL_PURPOSE = "oidc.backchannel"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_URIS = 10
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


# --- permissions -----------------------------------------------------------------------------
def is_app_admin(user: Any, unit: Unit | None = None) -> bool:
    return has_business_role(user, APP_ADMIN_ROLE, unit)


def is_system_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.admin_role == AdminRole.SYSTEM)


def may_manage(user: Any, registration: ClientRegistration) -> bool:
    return is_app_admin(user, registration.unit)


def _attempt(
    actor: Any, action: str, object_id: Any, request: HttpRequest | None, details: dict[str, Any]
) -> AbstractContextManager[None]:
    """audit.services.audited_attempt for client registrations."""
    return audited_attempt(actor, action, object_type="oidc.client", object_id=object_id, request=request, details=details)


# --- validating a registration ----------------------------------------------------------------
def _clean_uri(value: str, field: str, label: str) -> str:
    uri = value.strip()
    if not uri:
        raise DomainError(f"{label}不能为空", field)
    if len(uri) > 500:
        raise DomainError(f"{label}过长（最多 500 个字符）：{uri[:60]}…", field)
    if any(ch.isspace() for ch in uri) or "*" in uri:
        raise DomainError(f"{label}不能含空格或通配符“*”：{uri}", field)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise DomainError(f"{label}格式不正确：{uri}", field) from None
    if parts.fragment or "#" in uri:
        raise DomainError(f"{label}不能含“#”片段：{uri}", field)
    if parts.username or parts.password:
        raise DomainError(f"{label}不能含用户名或密码：{uri}", field)
    host = (parts.hostname or "").lower()
    if not host:
        raise DomainError(f"{label}必须是完整地址（含 https:// 和主机名）：{uri}", field)
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and _is_loopback(host) and not settings.PRODUCTION:
        return uri
    if parts.scheme == "http" and _is_loopback(host):
        raise DomainError(f"{label}在生产环境必须使用 https：{uri}", field)
    del port
    raise DomainError(f"{label}必须使用 https（开发环境可用 http://127.0.0.1 本机地址）：{uri}", field)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _clean_uri_list(values: list[str], field: str, label: str, *, required: bool) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        if value.strip():
            uri = _clean_uri(value, field, label)
            if uri not in cleaned:
                cleaned.append(uri)
    if required and not cleaned:
        raise DomainError(f"请至少填写一个{label}", field)
    if len(cleaned) > MAX_URIS:
        raise DomainError(f"{label}最多 {MAX_URIS} 个", field)
    return cleaned


def check_backchannel_uri(uri: str, field: str = "backchannel_logout_uri") -> egress.Destination:
    """The egress check of a back-channel logout URI (at registration and at each delivery)."""
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return egress.resolve_destination(parts.hostname or "", port, purpose=BACKCHANNEL_PURPOSE, field=field)


def _clean_logo(data: bytes | None) -> tuple[bytes, str]:
    if not data:
        return b"", ""
    limit = settings.OIDC_LOGO_MAX_KB
    if len(data) > limit * 1024:
        raise DomainError(f"标志图片不能超过 {limit} KB", "logo")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind, fmt = "image/png", "PNG"
    elif data.startswith(b"\xff\xd8\xff"):
        kind, fmt = "image/jpeg", "JPEG"
    else:
        raise DomainError("标志图片只能是 PNG 或 JPEG 格式（不接受 SVG 等其他格式）", "logo")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != fmt:
                raise DomainError("标志图片的内容与格式不符", "logo")
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise DomainError("标志图片已损坏，无法读取", "logo") from None
    if width > 1024 or height > 1024:
        raise DomainError("标志图片的宽和高都不能超过 1024 像素", "logo")
    return data, kind


def _clean_scopes(kind: str, scopes: list[str]) -> list[str]:
    allowed = SERVICE_SCOPES if kind == ClientKind.SERVICE else USER_SCOPES
    unknown = [s for s in scopes if s not in allowed]
    if unknown:
        raise DomainError(f"该类型的系统不能申请范围：{'、'.join(unknown)}", "scopes")
    chosen = [s for s in allowed if s in scopes]
    if kind != ClientKind.SERVICE and "openid" not in chosen:
        chosen.insert(0, "openid")
    return chosen


# --- registrations ---------------------------------------------------------------------------
def do_register_client(
    actor: Any,
    *,
    unit: Unit,
    name: str,
    kind: str,
    audience: str,
    scopes: list[str],
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str = "",
    description: str = "",
    logo: bytes | None = None,
    request: HttpRequest | None = None,
) -> tuple[ClientRegistration, str]:
    """Register a unit's system (待审核). Returns the registration and its secret — shown once, kept
    only as a hash; "" for a public client."""
    details = {"unit_id": unit.pk, "name": name[:100], "kind": kind}
    with _attempt(actor, "oidc.client_register", "", request, details):
        if not is_app_admin(actor, unit):
            raise PermissionDenied("只有本单位的应用系统管理员可以登记应用系统")
        name = (name or "").strip()
        if not 2 <= len(name) <= 100:
            raise DomainError("系统名称须为 2 到 100 个字符", "name")
        if kind not in ClientKind.values:
            raise DomainError("请选择客户端类型", "kind")
        if audience not in Audience.values:
            raise DomainError("请选择使用对象", "audience")
        if kind == ClientKind.SERVICE:
            audience = Audience.STAFF
        chosen_scopes = _clean_scopes(kind, scopes)
        needs_redirect = kind != ClientKind.SERVICE
        redirects = _clean_uri_list(redirect_uris, "redirect_uris", "回调地址", required=needs_redirect) if needs_redirect else []
        post_logout = _clean_uri_list(post_logout_redirect_uris or [], "post_logout_redirect_uris", "退出后返回地址", required=False)
        backchannel = ""
        if backchannel_logout_uri.strip() and kind != ClientKind.SERVICE:
            backchannel = _clean_uri(backchannel_logout_uri, "backchannel_logout_uri", "后台退出通知地址")
            try:
                check_backchannel_uri(backchannel)
            except egress.EgressRefused as exc:
                details["egress_detail"] = exc.detail
                raise
        logo_data, logo_type = _clean_logo(logo)
        secret = "" if kind == ClientKind.PUBLIC else generate_client_secret()
        application = Application(
            name=name,
            client_type=Application.CLIENT_PUBLIC if kind == ClientKind.PUBLIC else Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=(
                Application.GRANT_CLIENT_CREDENTIALS if kind == ClientKind.SERVICE else Application.GRANT_AUTHORIZATION_CODE
            ),
            redirect_uris=" ".join(redirects),
            post_logout_redirect_uris=" ".join(post_logout),
            algorithm=Application.RS256_ALGORITHM if kind != ClientKind.SERVICE else Application.NO_ALGORITHM,
            skip_authorization=audience == Audience.STAFF,
            client_secret=secret,
            hash_client_secret=True,
        )
        application.save()
        registration = ClientRegistration.objects.create(
            application=application, unit=unit, name=name, description=(description or "").strip()[:500],
            audience=audience, kind=kind, scopes=" ".join(chosen_scopes), backchannel_logout_uri=backchannel,
            logo=logo_data, logo_type=logo_type, registered_by=actor,
        )
        record_event(
            actor, "oidc.client_register", object_type="oidc.client", object_id=application.client_id,
            details={**details, "scopes": chosen_scopes, "audience": audience, "redirect_uris": redirects},
            request=request,
        )
    return registration, secret


def _locked(registration_id: int) -> ClientRegistration:
    found = ClientRegistration.objects.select_for_update().select_related("application", "unit").filter(pk=registration_id).first()
    if found is None:
        raise NotFound("应用系统不存在")
    return found


def _review(actor: Any, registration_id: int, approve: bool, reason: str, request: HttpRequest | None) -> ClientRegistration:
    with _attempt(
        actor, "oidc.client_approve" if approve else "oidc.client_refuse", registration_id, request,
        {"reason_given": reason[:500]},
    ):
        if not is_system_admin(actor):
            raise PermissionDenied("只有系统管理员可以审核应用系统")
        registration = _locked(registration_id)
        if registration.status != ClientStatus.PENDING:
            raise DomainError(f"该系统当前为“{registration.get_status_display()}”，不能再审核", "status")
        reason = (reason or "").strip()
        if not approve and not reason:
            raise DomainError("请填写退回原因", "reason")
        if len(reason) > 500:
            raise DomainError("退回原因不能超过 500 个字符", "reason")
        registration.status = ClientStatus.APPROVED if approve else ClientStatus.REFUSED
        registration.refusal_reason = "" if approve else reason
        registration.reviewed_by = actor
        registration.reviewed_at = timezone.now()
        registration.save(update_fields=["status", "refusal_reason", "reviewed_by", "reviewed_at"])
        record_event(
            actor, "oidc.client_approve" if approve else "oidc.client_refuse", object_type="oidc.client",
            object_id=registration.application.client_id,
            details={"name": registration.name, "unit": registration.unit.name, "reason": reason}, request=request,
        )
    return registration


def do_approve_client(actor: Any, registration_id: int, *, request: HttpRequest | None = None) -> ClientRegistration:
    return _review(actor, registration_id, True, "", request)


def do_refuse_client(actor: Any, registration_id: int, reason: str, *, request: HttpRequest | None = None) -> ClientRegistration:
    return _review(actor, registration_id, False, reason, request)


def do_rotate_client_secret(actor: Any, registration_id: int, *, request: HttpRequest | None = None) -> str:
    """A new secret (shown once); the old one stops working at once."""
    with _attempt(actor, "oidc.client_secret_rotate", registration_id, request, {}):
        registration = _locked(registration_id)
        if not may_manage(actor, registration):
            raise PermissionDenied("只有该系统所属单位的应用系统管理员可以更换密钥")
        if registration.kind == ClientKind.PUBLIC:
            raise DomainError("公共客户端没有客户端密钥", "kind")
        secret = generate_client_secret()
        application = registration.application
        application.client_secret = secret
        application.save(update_fields=["client_secret"])
        registration.secret_rotated_at = timezone.now()
        registration.save(update_fields=["secret_rotated_at"])
        record_event(
            actor, "oidc.client_secret_rotate", object_type="oidc.client", object_id=application.client_id,
            details={"name": registration.name}, request=request,
        )
    return secret


def _revoke_client_tokens(application: Any) -> int:
    count = 0
    for token in AccessToken.objects.filter(application=application):
        revoke_access_token(token)
        count += 1
    for refresh in RefreshToken.objects.filter(application=application, revoked__isnull=True):
        refresh.revoke()
    return count


def do_set_client_enabled(actor: Any, registration_id: int, enabled: bool, *, request: HttpRequest | None = None) -> ClientRegistration:
    """Disable (its tokens are revoked and refused at once) or enable again."""
    with _attempt(actor, "oidc.client_enable" if enabled else "oidc.client_disable", registration_id, request, {}):
        registration = _locked(registration_id)
        if not (may_manage(actor, registration) or is_system_admin(actor)):
            raise PermissionDenied("只有该系统所属单位的应用系统管理员或系统管理员可以停用、启用")
        if registration.enabled == enabled:
            raise DomainError("该系统已经是" + ("启用" if enabled else "停用") + "状态", "enabled")
        registration.enabled = enabled
        registration.disabled_at = None if enabled else timezone.now()
        registration.save(update_fields=["enabled", "disabled_at"])
        revoked = 0 if enabled else _revoke_client_tokens(registration.application)
        record_event(
            actor, "oidc.client_enable" if enabled else "oidc.client_disable", object_type="oidc.client",
            object_id=registration.application.client_id,
            details={"name": registration.name, "revoked_tokens": revoked}, request=request,
        )
    return registration


# --- SSO sessions ----------------------------------------------------------------------------
def session_auth_time(request: HttpRequest) -> float:
    stamp = request.session.get(AUTH_TIME_KEY)
    if isinstance(stamp, (int, float)):
        return float(stamp)
    last = getattr(request.user, "last_login", None)
    return last.timestamp() if last else time.time()


def remember_login(request: HttpRequest | None, user: Any) -> None:
    """Called when a user logs in (django's user_logged_in): the time is the SSO session's auth_time."""
    if request is None or not hasattr(request, "session"):
        return
    now = timezone.now()
    request.session[AUTH_TIME_KEY] = now.timestamp()
    sid = request.session.get(SID_KEY)
    if sid:
        SsoSession.objects.filter(sid=sid, user=user, ended_at__isnull=True).update(auth_time=now)


def sso_session_for(request: HttpRequest) -> SsoSession:
    user: Any = request.user
    sid = request.session.get(SID_KEY)
    if sid:
        found = SsoSession.objects.filter(sid=sid, user=user, ended_at__isnull=True).first()
        if found is not None:
            return found
    now = timezone.now()
    auth_time = datetime.fromtimestamp(session_auth_time(request), tz=UTC)
    created = SsoSession.objects.create(sid=secrets.token_urlsafe(24), user=user, auth_time=auth_time, created_at=now)
    request.session[SID_KEY] = created.sid
    return created


def end_sso_session(request: HttpRequest, user: Any) -> None:
    """identity's session-end hook (registered in apps.py)."""
    sid = request.session.get(SID_KEY) if hasattr(request, "session") else None
    if not sid:
        return
    session = SsoSession.objects.filter(sid=sid, ended_at__isnull=True).first()
    if session is not None:
        from oauth2_provider.settings import oauth2_settings

        end_session(session, "logout", oauth2_settings.oidc_issuer(request))


def end_session(session: SsoSession, reason: str, issuer: str) -> list[int]:
    """End an SSO session: revoke its tokens, queue back-channel logouts. Returns the notified clients."""
    from .tasks import deliver_backchannel_logout

    with transaction.atomic():
        updated = SsoSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=reason
        )
        if not updated:
            return []
        ids = list(IssuedToken.objects.filter(sso_session=session).values_list("access_token_id", flat=True))
        for token in AccessToken.objects.filter(pk__in=ids):
            revoke_access_token(token)
        app_ids = set(IssuedCode.objects.filter(sso_session=session).values_list("application_id", flat=True))
        targets = list(
            ClientRegistration.objects.filter(application_id__in=app_ids).exclude(backchannel_logout_uri="").values_list("pk", flat=True)
        )
        session_id = session.pk
        for registration_id in targets:
            transaction.on_commit(
                lambda r=registration_id: deliver_backchannel_logout.enqueue(session_id, r, issuer)  # type: ignore[misc]
            )
    return targets


def logout_token(registration: ClientRegistration, session: SsoSession, issuer: str) -> str:
    key = keys.active_key()
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": registration.application.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": str(uuid.uuid4()),
        "sid": session.sid,
        "sub": subject_for(session.user),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    token = jwt.JWT(header=json.dumps({"typ": "logout+jwt", "alg": "RS256", "kid": key.kid}), claims=json.dumps(claims))
    token.make_signed_token(keys.private_jwk(key))
    return str(token.serialize())


def do_deliver_backchannel_logout(session_id: int, registration_id: int, issuer: str) -> bool:
    """POST the logout token to the client's back-channel URI through the egress policy.
    A failure is logged and audited, never raised."""
    from .backchannel import post_form

    session = SsoSession.objects.select_related("user").filter(pk=session_id).first()
    registration = ClientRegistration.objects.select_related("application").filter(pk=registration_id).first()
    if session is None or registration is None or not registration.backchannel_logout_uri:
        return False
    uri = registration.backchannel_logout_uri
    client_id = registration.application.client_id
    try:
        destination = check_backchannel_uri(uri)
        status = post_form(uri, destination, {"logout_token": logout_token(registration, session, issuer)})
        ok = 200 <= status < 300
        detail = f"HTTP {status}"
    except egress.EgressRefused as exc:
        ok, detail = False, exc.detail
    except Exception as exc:
        ok, detail = False, egress.describe(exc)
    if not ok:
        log.warning("back-channel logout to %s (%s) failed: %s", client_id, uri, detail)
    record_event(
        None, "oidc.backchannel_logout", object_type="oidc.client", object_id=client_id,
        result=AuditResult.SUCCESS if ok else AuditResult.FAILURE,
        details={"sid": session.sid, "user_id": session.user_id, "uri": uri, "detail": detail},
        actor_username=session.user.get_username(),
    )
    return ok


# --- signing keys ----------------------------------------------------------------------------
def do_rotate_signing_key(actor: Any = None) -> tuple[str, str]:
    """New signing key (command oidc_rotate_key). Returns (new kid, previous kid)."""
    with transaction.atomic():
        new, previous = keys.rotate()
        record_event(
            actor, "oidc.key_rotate", object_type="oidc.signing_key", object_id=new.kid,
            details={"previous": previous.kid if previous else "", "generation": new.generation},
        )
    return new.kid, previous.kid if previous else ""


def do_retire_signing_keys() -> list[str]:
    with transaction.atomic():
        kids = keys.retire_expired()
        for kid in kids:
            record_event(None, "oidc.key_retire", object_type="oidc.signing_key", object_id=kid)
    return kids


SCOPE_LABELS = SCOPES
