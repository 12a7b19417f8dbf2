"""State changes for identity: logins, locks, passwords, TOTP and WebAuthn second factors, the security policy.

Every function here that changes state writes its audit record (zhengwu.audit.services.record_event)
in the same transaction. Functions take an optional `now` so tests and batch jobs can fix the time.

For other apps
--------------
`set_initial_password(user, raw, must_change=True, *, actor=None, request=None)` is what the
directory app calls when a 系统管理员 creates an account or resets its password. It checks the
password against the security policy (raising `zhengwu.core.errors.DomainError` with the Chinese
reason, field "password"), stores it with the SM3 hasher, records it in the password history,
sets `password_changed_at` and `must_change_password`, and audits "identity.password_set".
The caller checks its own permission first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from zhengwu.audit.models import AuditResult
from zhengwu.audit.services import record_event
from zhengwu.core.crypto import CryptoError
from zhengwu.core.errors import Conflict, DomainError, NotFound
from zhengwu.core.http import client_ip
from zhengwu.directory.models import AdminRole
from zhengwu.directory.permissions import ensure_admin

from . import queries, totp, webauthn
from .models import (
    COUNTED_REASONS,
    MAX_PASSWORD_HISTORY,
    POLICY_LABELS,
    POLICY_RANGES,
    LockKind,
    LoginAttempt,
    LoginFailureReason,
    LoginLock,
    PasswordHistory,
    SecurityPolicy,
    TOTPDevice,
    WebAuthnCredential,
)

logger = logging.getLogger(__name__)

LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"

# Session keys
PENDING_KEY = "identity_pending"  # {"user_id", "started", "stage", "factors", "next"} between the two steps
LAST_ACTIVITY_KEY = "identity_last_activity"  # epoch seconds of the last request
TIMEOUT_NOTICE_KEY = "identity_timeout_notice"  # set after an idle logout, shown once on the login page
PENDING_SECONDS = 5 * 60

GENERIC_LOGIN_ERROR = "用户名或密码错误。"
MAX_PASSWORD_LENGTH = 4096  # longer inputs are refused before hashing (no hashing DoS)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _local(dt: datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


def lock_message(lock: LoginLock) -> str:
    until = _local(lock.locked_until)
    if lock.kind == LockKind.ADDRESS:
        return f"您所在的网络地址因多次登录失败已被暂时锁定，请于 {until} 后再试，或联系安全管理员解锁。"
    return f"该账号因多次登录失败已被锁定，请于 {until} 后再试，或联系安全管理员解锁。"


# --- login -----------------------------------------------------------------------------
@dataclass
class LoginResult:
    """Outcome of a login step.

    status: "ok" (logged in), "totp" (ask for the code), "webauthn" (ask for the security key),
    "enrol" (administrator must enrol a second factor), "failed" (show `message`), "locked" (show
    `message`), "expired" (pending step timed out).
    """

    status: str
    message: str = ""
    user: Any = None
    lock: LoginLock | None = None


def _lock_in_force(username_key: str, ip: str, now: datetime) -> LoginLock | None:
    return queries.active_lock(LockKind.ACCOUNT, username_key, now) or queries.active_lock(
        LockKind.ADDRESS, ip, now
    )


def _count_start(kind: str, key: str, window_minutes: int, now: datetime) -> datetime:
    start = now - timedelta(minutes=window_minutes)
    previous = queries.latest_lock(kind, key)
    if previous is not None and previous.released_at <= now:
        start = max(start, previous.released_at)
    if kind == LockKind.ACCOUNT:
        success = LoginAttempt.objects.filter(username=key, success=True).order_by("-occurred_at").first()
        if success is not None:
            start = max(start, success.occurred_at)
    return start


def _maybe_lock(
    kind: str,
    key: str,
    *,
    threshold: int,
    window_minutes: int,
    lock_minutes: int,
    now: datetime,
    user: Any,
    request: HttpRequest | None,
) -> LoginLock | None:
    if not key:
        return None
    start = _count_start(kind, key, window_minutes, now)
    field = "username" if kind == LockKind.ACCOUNT else "source_ip"
    failures = LoginAttempt.objects.filter(
        **{field: key}, success=False, reason__in=COUNTED_REASONS, occurred_at__gt=start, occurred_at__lte=now
    ).count()
    if failures < threshold:
        return None
    lock = LoginLock.objects.create(
        kind=kind,
        key=key,
        user=user if kind == LockKind.ACCOUNT else None,
        failures=min(failures, 32767),
        locked_at=now,
        locked_until=now + timedelta(minutes=lock_minutes),
    )
    record_event(
        None,
        "identity.lock",
        object_type=f"identity.lock.{kind}",
        object_id=lock.pk,
        details={
            "kind": kind,
            "key": key,
            "failures": failures,
            "locked_until": lock.locked_until.isoformat(),
        },
        request=request,
        actor_username=key if kind == LockKind.ACCOUNT else "",
    )
    return lock


def _register_failure(
    request: HttpRequest | None,
    username_key: str,
    user: Any,
    reason: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> LoginLock | None:
    """Record a failed attempt, audit it, and lock the account name / address when over the limit."""
    policy = queries.get_policy(request)
    ip = client_ip(request)
    with transaction.atomic():
        LoginAttempt.objects.create(
            occurred_at=now, username=username_key, user=user, source_ip=ip, success=False, reason=reason
        )
        record_event(
            user,
            "identity.login",
            object_type="directory.user" if user is not None else "",
            object_id=user.pk if user is not None else "",
            result=AuditResult.FAILURE,
            details={"reason": reason, **(details or {})},
            request=request,
            actor_username=username_key,
        )
        if reason not in COUNTED_REASONS:
            return None
        account_lock = _maybe_lock(
            LockKind.ACCOUNT,
            username_key,
            threshold=policy.account_lock_threshold,
            window_minutes=policy.account_lock_window_minutes,
            lock_minutes=policy.account_lock_minutes,
            now=now,
            user=user,
            request=request,
        )
        address_lock = _maybe_lock(
            LockKind.ADDRESS,
            ip,
            threshold=policy.address_lock_threshold,
            window_minutes=policy.address_lock_window_minutes,
            lock_minutes=policy.address_lock_minutes,
            now=now,
            user=None,
            request=request,
        )
    return account_lock or address_lock


def _refuse_locked(
    request: HttpRequest | None, username_key: str, user: Any, lock: LoginLock, now: datetime
) -> LoginResult:
    _register_failure(request, username_key, user, LoginFailureReason.LOCKED, now, {"lock_kind": lock.kind})
    return LoginResult("locked", lock_message(lock), lock=lock)


def _find_user(username: str, population: str = "staff") -> Any:
    """The account a login names, within one population: staff log in here by username, public
    accounts (identity.public) at the portal by mobile or identity number — neither finds the other."""
    name = (username or "").strip()
    if not name:
        return None
    if population == "public":
        from .public.queries import find_login_account

        return find_login_account(name)
    user_model = get_user_model()
    return user_model.objects.filter(username__iexact=name, account_kind="staff").select_related("unit").first()


def do_password_step(
    request: HttpRequest, username: str, password: str, *, next_url: str = "", now: datetime | None = None,
    population: str = "staff",
) -> LoginResult:
    """First login step. On a correct password either logs in, or starts the TOTP step.
    `population` "public": the portal's login of public accounts (identity.public.services), which
    counts failures under the account's opaque username (or a keyed hash of what was typed)."""
    now = _now(now)
    username_key = queries.normalise_username(username)
    ip = client_ip(request)
    clear_pending(request)
    user = _find_user(username, population) if username_key else None
    if population == "public":
        from .public.queries import login_key

        username_key = login_key(username, user)
    lock = _lock_in_force(username_key, ip, now)
    if lock is not None:
        return _refuse_locked(request, username_key, user, lock, now)
    too_long = len(password) > MAX_PASSWORD_LENGTH  # no stored password is this long: hash a prefix, refuse
    if too_long:
        password = password[:MAX_PASSWORD_LENGTH]
    if user is None:
        make_password(password)  # same work as a real check: no timing hint that the name is unknown
        new_lock = _register_failure(request, username_key, None, LoginFailureReason.UNKNOWN_USER, now)
    elif not user.check_password(password) or too_long:
        new_lock = _register_failure(request, username_key, user, LoginFailureReason.BAD_PASSWORD, now)
    elif not user.is_active:
        new_lock = _register_failure(request, username_key, user, LoginFailureReason.INACTIVE, now)
    else:
        policy = queries.get_policy(request)
        factors = queries.second_factors(user)
        if factors:  # the first is offered first; the person may switch to another (WebAuthn, TOTP)
            _start_pending(request, user, factors[0], next_url, now, factors=factors)
            return LoginResult(factors[0], user=user)
        if population == "staff" and queries.totp_required(user, policy):
            _start_pending(request, user, "enrol", next_url, now)
            return LoginResult("enrol", user=user)
        complete_login(request, user, method="password", now=now)
        return LoginResult("ok", user=user)
    if new_lock is not None:
        return LoginResult("locked", lock_message(new_lock), lock=new_lock)
    return LoginResult("failed", GENERIC_LOGIN_ERROR)


def complete_login(request: HttpRequest, user: Any, *, method: str, now: datetime | None = None) -> None:
    """Log the user in (Django rotates the session key), record the attempt and audit it."""
    now = _now(now)
    ip = client_ip(request)
    clear_pending(request)
    with transaction.atomic():
        login(request, user, backend=LOGIN_BACKEND)
        LoginAttempt.objects.create(
            occurred_at=now,
            username=queries.normalise_username(user.get_username()),
            user=user,
            source_ip=ip,
            success=True,
        )
        record_event(
            user,
            "identity.login",
            object_type="directory.user",
            object_id=user.pk,
            details={"method": method},
            request=request,
        )
    request.session[LAST_ACTIVITY_KEY] = now.timestamp()


def _start_pending(
    request: HttpRequest,
    user: Any,
    stage: str,
    next_url: str,
    now: datetime,
    *,
    factors: list[str] | None = None,
) -> None:
    request.session.cycle_key()
    webauthn.forget_challenge(request)
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "started": now.timestamp(),
        "stage": stage,
        "factors": list(factors or []),
        "next": next_url,
    }


def pending_allows(pending: dict[str, Any] | None, stage: str) -> bool:
    """Whether the pending login may continue with `stage` ("totp", "webauthn" or "enrol"): its own
    stage, or another second factor the user holds (a user with both may choose)."""
    if pending is None:
        return False
    factors = pending.get("factors")
    return pending.get("stage") == stage or (isinstance(factors, list) and stage in factors)


def clear_pending(request: HttpRequest) -> None:
    if PENDING_KEY in request.session:
        del request.session[PENDING_KEY]


def get_pending(request: HttpRequest, now: datetime | None = None) -> dict[str, Any] | None:
    """The pending second-step state, or None when absent or older than five minutes."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        started = float(pending["started"])
        int(pending["user_id"])
    except (KeyError, TypeError, ValueError):
        clear_pending(request)
        return None
    if _now(now).timestamp() - started > PENDING_SECONDS:
        clear_pending(request)
        return None
    return pending


def pending_user(request: HttpRequest, now: datetime | None = None) -> tuple[dict[str, Any] | None, Any]:
    pending = get_pending(request, now)
    if pending is None:
        return None, None
    user = get_user_model().objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None:
        clear_pending(request)
        return None, None
    return pending, user


EXPIRED_MESSAGE = "登录步骤已超时（5 分钟），请重新输入用户名和密码。"
BAD_TOTP_MESSAGE = "动态口令不正确或已使用过，请输入验证器上当前显示的 6 位数字。"


def _check_device_code(device: TOTPDevice, code: str | None, now: datetime) -> tuple[int | None, str]:
    """(counter, failure detail). A code is accepted once: its time step must be newer than the last used."""
    cleaned = totp.clean_code(code)
    if cleaned is None:
        return None, "malformed"
    try:
        secret = totp.device_secret(device)
    except CryptoError:
        logger.exception("TOTP secret of user %s cannot be decrypted", device.user_id)
        return None, "undecryptable"
    counter = totp.matching_counter(secret, cleaned, now)
    if counter is None:
        return None, "mismatch"
    if device.last_used_counter is not None and counter <= device.last_used_counter:
        return None, "replayed"
    return counter, ""


def _second_step_start(request: HttpRequest, stage: str, now: datetime) -> tuple[Any, str, LoginResult | None]:
    """Common start of the TOTP and enrolment steps: the pending user, or why the step is refused
    (pending login expired / in another stage, or the account or address is locked meanwhile)."""
    pending, user = pending_user(request, now)
    if pending is None or not pending_allows(pending, stage):
        return None, "", LoginResult("expired", EXPIRED_MESSAGE)
    username_key = queries.normalise_username(user.get_username())
    lock = _lock_in_force(username_key, client_ip(request), now)
    if lock is not None:
        clear_pending(request)
        return user, username_key, _refuse_locked(request, username_key, user, lock, now)
    return user, username_key, None


def do_totp_step(request: HttpRequest, code: str, *, now: datetime | None = None) -> LoginResult:
    """Second login step for users with a confirmed TOTP device."""
    now = _now(now)
    user, username_key, refused = _second_step_start(request, "totp", now)
    if refused is not None:
        return refused
    device = queries.confirmed_totp_device(user)
    if device is None:  # reset by the 安全管理员 meanwhile
        clear_pending(request)
        return LoginResult("expired", EXPIRED_MESSAGE)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        counter, problem = _check_device_code(device, code, now)
        if counter is not None:
            device.last_used_counter = counter
            device.save(update_fields=["last_used_counter"])
    if counter is None:
        new_lock = _register_failure(
            request, username_key, user, LoginFailureReason.BAD_TOTP, now, {"totp": problem}
        )
        if new_lock is not None:
            clear_pending(request)
            return LoginResult("locked", lock_message(new_lock), lock=new_lock)
        return LoginResult("failed", BAD_TOTP_MESSAGE, user=user)
    complete_login(request, user, method="password+totp", now=now)
    return LoginResult("ok", user=user)


def enrolment_secret(user: Any, now: datetime | None = None) -> str:
    """The secret of the user's unconfirmed TOTP device, created on first call.

    Raises Conflict when the user already has a confirmed device.
    """
    now = _now(now)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed:
            raise Conflict("您已启用动态口令；如需更换设备，请先停用或请安全管理员重置")
        if device is not None:
            try:
                return totp.device_secret(device)
            except CryptoError:
                device.delete()
        secret = totp.new_secret()
        TOTPDevice.objects.create(
            user=user, secret_encrypted=totp.encrypt_secret(secret, user.pk), confirmed=False, created_at=now
        )
        return secret


def _confirm_device(user: Any, code: str, now: datetime) -> tuple[bool, str]:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None:
            return False, "no_device"
        counter, problem = _check_device_code(device, code, now)
        if counter is None:
            return False, problem
        device.confirmed = True
        device.confirmed_at = now
        device.last_used_counter = counter
        device.save(update_fields=["confirmed", "confirmed_at", "last_used_counter"])
        return True, ""


def do_enrol_step(request: HttpRequest, code: str, *, now: datetime | None = None) -> LoginResult:
    """Login-time enrolment (administrators without a device): confirm a code, then log in."""
    now = _now(now)
    user, username_key, refused = _second_step_start(request, "enrol", now)
    if refused is not None:
        return refused
    ok, problem = _confirm_device(user, code, now)
    if not ok:
        new_lock = _register_failure(
            request, username_key, user, LoginFailureReason.BAD_TOTP, now, {"totp": problem, "stage": "enrol"}
        )
        if new_lock is not None:
            clear_pending(request)
            return LoginResult("locked", lock_message(new_lock), lock=new_lock)
        return LoginResult("failed", BAD_TOTP_MESSAGE, user=user)
    record_event(
        user, "identity.totp_enrol", object_type="directory.user", object_id=user.pk, request=request
    )
    complete_login(request, user, method="password+totp", now=now)
    return LoginResult("ok", user=user)


# --- WebAuthn at login ------------------------------------------------------------------------
BAD_WEBAUTHN_MESSAGE = (
    "安全密钥验证未通过：请使用已在本账号登记的安全密钥（或本机的指纹、面容、PIN）重试，也可改用其他验证方式。"
)
STALE_WEBAUTHN_MESSAGE = "这次验证请求已失效（每次请求只能使用一次，2 分钟内有效），请重新点击按钮验证。"
CLONED_WEBAUTHN_MESSAGE = (
    "该安全密钥的签名计数异常（可能被复制），已拒绝登录并记入审计。请改用其他验证方式，并联系安全管理员。"
)
BAD_REGISTRATION_MESSAGE = "未能登记该安全密钥：浏览器返回的数据未通过校验，请重试。"


def _pending_started(request: HttpRequest) -> float:
    pending = request.session.get(PENDING_KEY) or {}
    return float(pending.get("started", 0.0))


def begin_webauthn_step(request: HttpRequest, *, now: datetime | None = None) -> tuple[str, LoginResult | None]:
    """Options (JSON) for navigator.credentials.get() in the pending login, with a fresh challenge
    bound to it; or ("", the refusal) when the login is not waiting for a security key."""
    now = _now(now)
    user, _username_key, refused = _second_step_start(request, "webauthn", now)
    if refused is not None:
        return "", refused
    credentials = queries.webauthn_credentials_of(user)
    if not credentials:  # reset by the 安全管理员 meanwhile
        clear_pending(request)
        return "", LoginResult("expired", EXPIRED_MESSAGE)
    rp = webauthn.relying_party(request)
    challenge = webauthn.new_challenge(
        request, webauthn.PURPOSE_LOGIN, user, _pending_started(request), now.timestamp()
    )
    return webauthn.authentication_options(rp, challenge, credentials), None


def _webauthn_failure(
    request: HttpRequest, username_key: str, user: Any, now: datetime, problem: str, message: str,
    extra: dict[str, Any] | None = None,
) -> LoginResult:
    new_lock = _register_failure(
        request, username_key, user, LoginFailureReason.BAD_WEBAUTHN, now, {"webauthn": problem, **(extra or {})}
    )
    if new_lock is not None:
        clear_pending(request)
        return LoginResult("locked", lock_message(new_lock), lock=new_lock)
    return LoginResult("failed", message, user=user)


def do_webauthn_step(request: HttpRequest, response: str | None, *, now: datetime | None = None) -> LoginResult:
    """Second login step with a security key or platform authenticator.

    Refused (and counted towards the lock like a wrong TOTP code): no challenge issued for this
    pending login or one already used or expired; a credential that is not one of this user's
    (another person's, or removed); wrong origin or RP ID; bad signature; a counter that did not
    increase (also audited as "identity.webauthn_clone").
    """
    now = _now(now)
    user, username_key, refused = _second_step_start(request, "webauthn", now)
    if refused is not None:
        webauthn.forget_challenge(request)
        return refused
    challenge = webauthn.take_challenge(
        request, webauthn.PURPOSE_LOGIN, user, _pending_started(request), now.timestamp()
    )
    if challenge is None:
        return _webauthn_failure(request, username_key, user, now, "no_challenge", STALE_WEBAUTHN_MESSAGE)
    try:
        data = webauthn.parse_response(response)
    except webauthn.WebAuthnFailure as exc:
        return _webauthn_failure(request, username_key, user, now, exc.reason, BAD_WEBAUTHN_MESSAGE)
    rp = webauthn.relying_party(request)
    with transaction.atomic():
        credential = (
            WebAuthnCredential.objects.select_for_update().filter(user=user, credential_id=data["id"]).first()
        )
        if credential is None:
            problem, assertion = "unknown_credential", None
        else:
            try:
                assertion = webauthn.verify_assertion(rp, data, challenge, credential)
                problem = ""
            except webauthn.CounterRegression as exc:
                record_event(
                    user,
                    "identity.webauthn_clone",
                    object_type="identity.webauthncredential",
                    object_id=credential.pk,
                    result=AuditResult.FAILURE,
                    details={"name": credential.name, "stored_count": exc.stored, "received_count": exc.received},
                    request=request,
                )
                problem, assertion = exc.reason, None
            except webauthn.WebAuthnFailure as exc:
                problem, assertion = exc.reason, None
            if assertion is not None:
                credential.sign_count = assertion.new_sign_count
                credential.last_used_at = now
                credential.save(update_fields=["sign_count", "last_used_at"])
    if assertion is None or credential is None:
        message = CLONED_WEBAUTHN_MESSAGE if problem == "counter_regression" else BAD_WEBAUTHN_MESSAGE
        extra = {"credential": credential.name} if credential is not None else {}
        return _webauthn_failure(request, username_key, user, now, problem, message, extra)
    complete_login(request, user, method="password+webauthn", now=now)
    return LoginResult("ok", user=user)


def begin_webauthn_enrol(request: HttpRequest, *, now: datetime | None = None) -> tuple[str, LoginResult | None]:
    """Options for navigator.credentials.create() when an administrator (or everyone, by policy)
    must enrol a second factor before the login completes."""
    now = _now(now)
    user, _username_key, refused = _second_step_start(request, "enrol", now)
    if refused is not None:
        return "", refused
    rp = webauthn.relying_party(request)
    challenge = webauthn.new_challenge(
        request, webauthn.PURPOSE_REGISTER, user, _pending_started(request), now.timestamp()
    )
    return webauthn.registration_options(rp, user, challenge, queries.webauthn_credentials_of(user)), None


def do_webauthn_enrol_step(
    request: HttpRequest, name: str, response: str | None, *, now: datetime | None = None
) -> LoginResult:
    """Login-time enrolment of a security key: register it, then log in. A refused registration
    counts towards the lock (whoever is here has only the password so far)."""
    now = _now(now)
    user, username_key, refused = _second_step_start(request, "enrol", now)
    if refused is not None:
        webauthn.forget_challenge(request)
        return refused
    try:
        clean_name = _clean_credential_name(user, name)
    except DomainError as exc:
        webauthn.forget_challenge(request)
        return LoginResult("failed", exc.message, user=user)
    challenge = webauthn.take_challenge(
        request, webauthn.PURPOSE_REGISTER, user, _pending_started(request), now.timestamp()
    )
    try:
        if challenge is None:
            raise webauthn.WebAuthnFailure("no_challenge")
        with transaction.atomic():
            credential = _store_credential(request, user, clean_name, response, challenge, now)
            credential.last_used_at = now  # it completes this login
            credential.save(update_fields=["last_used_at"])
    except webauthn.WebAuthnFailure as exc:
        record_event(
            user,
            "identity.webauthn_register",
            object_type="directory.user",
            object_id=user.pk,
            result=AuditResult.FAILURE,
            details={"reason": exc.reason, "stage": "enrol"},
            request=request,
        )
        message = STALE_WEBAUTHN_MESSAGE if exc.reason == "no_challenge" else BAD_REGISTRATION_MESSAGE
        return _webauthn_failure(request, username_key, user, now, exc.reason, message, {"stage": "enrol"})
    except DomainError as exc:
        return LoginResult("failed", exc.message, user=user)
    complete_login(request, user, method="password+webauthn", now=now)
    return LoginResult("ok", user=user, message=credential.name)


# --- WebAuthn credentials of one's own account ----------------------------------------------------
def _clean_credential_name(user: Any, name: str | None, *, exclude_id: int | None = None) -> str:
    from .models import WEBAUTHN_NAME_MAX

    value = " ".join((name or "").split())
    if not value:
        raise DomainError("请为这个安全密钥起一个名称，如“办公室 U 盾”“我的手机”", field="name")
    if len(value) > WEBAUTHN_NAME_MAX:
        raise DomainError(f"名称不能超过 {WEBAUTHN_NAME_MAX} 个字", field="name")
    taken = WebAuthnCredential.objects.filter(user=user, name=value)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise DomainError(f"您已有名为“{value}”的安全密钥，请换一个名称", field="name")
    return value


def _store_credential(
    request: HttpRequest, user: Any, name: str, response: str | None, challenge: bytes, now: datetime
) -> WebAuthnCredential:
    """Verify a registration response and store the credential, audited. Inside a transaction."""
    from .models import WEBAUTHN_MAX_PER_USER

    data = webauthn.parse_response(response)
    rp = webauthn.relying_party(request)
    new = webauthn.verify_registration(rp, data, challenge)
    # Serialise registrations of one user (the limit and the unique name hold under concurrency).
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if WebAuthnCredential.objects.filter(user=user).count() >= WEBAUTHN_MAX_PER_USER:
        raise DomainError(f"每个账号最多登记 {WEBAUTHN_MAX_PER_USER} 个安全密钥，请先移除不用的", field="name")
    if WebAuthnCredential.objects.filter(credential_id=new.credential_id).exists():
        raise DomainError("这个安全密钥已经登记过，无需重复登记", field="name")
    credential = WebAuthnCredential.objects.create(
        user=user,
        name=name,
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        transports=new.transports,
        aaguid=new.aaguid,
        user_verified=new.user_verified,
        backed_up=new.backed_up,
        created_at=now,
    )
    record_event(
        user,
        "identity.webauthn_register",
        object_type="identity.webauthncredential",
        object_id=credential.pk,
        details={
            "name": name,
            "aaguid": new.aaguid,
            "transports": new.transports,
            "user_verified": new.user_verified,
            "backed_up": new.backed_up,
            "rp_id": rp.rp_id,
        },
        request=request,
    )
    return credential


def begin_webauthn_registration(request: HttpRequest, *, now: datetime | None = None) -> str:
    """Options for navigator.credentials.create() on the 账号与安全 page (logged-in user)."""
    now = _now(now)
    actor = request.user
    if not getattr(actor, "is_authenticated", False):
        raise DomainError("请先登录")
    rp = webauthn.relying_party(request)
    challenge = webauthn.new_challenge(request, webauthn.PURPOSE_REGISTER, actor, 0.0, now.timestamp())
    return webauthn.registration_options(rp, actor, challenge, queries.webauthn_credentials_of(actor))


def do_register_webauthn(
    actor: Any, name: str, response: str | None, request: HttpRequest, *, now: datetime | None = None
) -> WebAuthnCredential:
    """Register a security key or platform authenticator for one's own account (audited, also when
    refused). Raises DomainError naming the field ("name" or "credential")."""
    now = _now(now)
    if not getattr(actor, "is_authenticated", False):
        raise DomainError("请先登录")
    clean = _clean_credential_name(actor, name)
    challenge = webauthn.take_challenge(request, webauthn.PURPOSE_REGISTER, actor, 0.0, now.timestamp())
    try:
        if challenge is None:
            raise webauthn.WebAuthnFailure("no_challenge")
        with transaction.atomic():
            return _store_credential(request, actor, clean, response, challenge, now)
    except webauthn.WebAuthnFailure as exc:
        record_event(
            actor,
            "identity.webauthn_register",
            object_type="directory.user",
            object_id=actor.pk,
            result=AuditResult.FAILURE,
            details={"reason": exc.reason},
            request=request,
        )
        message = STALE_WEBAUTHN_MESSAGE if exc.reason == "no_challenge" else BAD_REGISTRATION_MESSAGE
        raise DomainError(message, field="credential") from exc


def _keeps_second_factor(user: Any, request: HttpRequest | None, *, without: str) -> bool:
    """Whether `user` still meets the second-factor rule after dropping `without` ("totp" or one
    WebAuthn credential "webauthn:<id>")."""
    if not queries.totp_required(user, queries.get_policy(request)):
        return True
    has_totp = queries.has_totp(user) and without != "totp"
    others = WebAuthnCredential.objects.filter(user=user)
    if without.startswith("webauthn:"):
        others = others.exclude(pk=int(without.split(":", 1)[1]))
    return has_totp or others.exists()


def do_remove_webauthn(
    actor: Any, credential_id: int, password: str, request: HttpRequest | None = None
) -> WebAuthnCredential:
    """Remove one of one's own security keys after re-entering the password. Refused when it is the
    last second factor of someone who must have one."""
    if not getattr(actor, "is_authenticated", False):
        raise DomainError("请先登录")
    credential = WebAuthnCredential.objects.filter(pk=credential_id, user=actor).first()
    if credential is None:
        raise NotFound("该安全密钥不存在或已移除", field="credential")
    if len(password or "") > MAX_PASSWORD_LENGTH or not actor.check_password(password or ""):
        record_event(
            actor,
            "identity.webauthn_remove",
            object_type="identity.webauthncredential",
            object_id=credential.pk,
            result=AuditResult.FAILURE,
            details={"reason": "bad_password", "name": credential.name},
            request=request,
        )
        raise DomainError("密码不正确：移除安全密钥前须输入当前登录密码", field="password")
    if not _keeps_second_factor(actor, request, without=f"webauthn:{credential.pk}"):
        who = "管理员" if getattr(actor, "admin_role", "") else "按安全策略，您"
        raise Conflict(
            f"不能移除最后一个第二重身份鉴别方式：{who}须至少保留动态口令或一个安全密钥。"
            "请先启用动态口令或再登记一个安全密钥，然后再移除这个。",
            field="credential",
        )
    with transaction.atomic():
        deleted, _ = WebAuthnCredential.objects.filter(pk=credential.pk, user=actor).delete()
        if not deleted:
            raise NotFound("该安全密钥不存在或已移除", field="credential")
        record_event(
            actor,
            "identity.webauthn_remove",
            object_type="identity.webauthncredential",
            object_id=credential.pk,
            details={"name": credential.name},
            request=request,
        )
    return credential


# Called with (request, user) just before a platform session ends (logout or idle timeout), so
# what hangs on the session ends with it (the OIDC provider registers the end of its clients'
# sessions: tokens revoked, back-channel logout). Registered in AppConfig.ready().
SESSION_END_HOOKS: list[Callable[[HttpRequest, Any], None]] = []


def register_session_end_hook(hook: Callable[[HttpRequest, Any], None]) -> None:
    if hook not in SESSION_END_HOOKS:
        SESSION_END_HOOKS.append(hook)


def _end_session(request: HttpRequest, user: Any) -> None:
    if getattr(user, "is_authenticated", False):
        for hook in SESSION_END_HOOKS:
            hook(request, user)
    logout(request)


def do_logout(request: HttpRequest) -> None:
    user = request.user
    if getattr(user, "is_authenticated", False):
        record_event(
            user, "identity.logout", object_type="directory.user", object_id=user.pk, request=request
        )
    _end_session(request, user)


def do_session_timeout(request: HttpRequest, idle_seconds: float) -> None:
    """End an idle session (audited) and leave a one-time notice for the login page."""
    user = request.user
    record_event(
        user,
        "identity.session_timeout",
        object_type="directory.user",
        object_id=user.pk,
        details={"idle_seconds": int(idle_seconds)},
        request=request,
    )
    _end_session(request, user)
    request.session[TIMEOUT_NOTICE_KEY] = True


# --- passwords ---------------------------------------------------------------------------
def _validation_messages(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def check_new_password(raw: str, user: Any, field: str = "password") -> None:
    """Raise DomainError (Chinese reasons joined with "；") unless `raw` meets the policy."""
    if len(raw) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"密码长度不能超过 {MAX_PASSWORD_LENGTH} 个字符", field=field)
    try:
        validate_password(raw, user)
    except ValidationError as exc:
        raise DomainError("；".join(_validation_messages(exc)), field=field) from exc


def _store_password(user: Any, raw: str, *, must_change: bool, now: datetime) -> None:
    user.set_password(raw)
    user.password_changed_at = now
    user.must_change_password = must_change
    if user.pk is None:
        user.save()
    else:
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    # The history row is written by remember_password(), which Django calls on save().


def remember_password(user: Any) -> None:
    """Record the user's current password hash in the history, keeping the newest N.

    Called through PolicyPasswordValidator.password_changed(), the hook Django runs whenever a
    user saved after set_password() — so passwords set by any app (e.g. directory's resets)
    enter the history, not only those set here.
    """
    if user.pk is None or not user.password:
        return
    at = user.password_changed_at or timezone.now()
    PasswordHistory.objects.create(user=user, password_hash=user.password, created_at=at)
    keep = list(PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[:MAX_PASSWORD_HISTORY])
    PasswordHistory.objects.filter(user=user).exclude(pk__in=keep).delete()


def set_initial_password(
    user: Any,
    raw: str,
    must_change: bool = True,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> None:
    """Set a password chosen by an administrator (new account or reset). Called by the directory app.

    - Checks `raw` against the security policy; raises DomainError(field="password") with the
      Chinese reasons otherwise (nothing is changed then).
    - Stores it (PBKDF2-SM3), records it in the password history, sets `password_changed_at`
      and `must_change_password` (default True: the person must choose their own at next login).
    - Saves the user (creating it when it has no primary key yet) and audits
      "identity.password_set" with `actor` (the administrator) and `request` (source address).
    - Does not check the actor's permission: the caller (directory.services) does.
    """
    now = _now(now)
    check_new_password(raw, user)
    with transaction.atomic():
        _store_password(user, raw, must_change=must_change, now=now)
        record_event(
            actor,
            "identity.password_set",
            object_type="directory.user",
            object_id=user.pk,
            details={"username": user.get_username(), "must_change": must_change},
            request=request,
        )


def do_change_password(
    actor: Any, old: str, new: str, request: HttpRequest | None = None, *, now: datetime | None = None
) -> None:
    """A user changes their own password. Keeps the current session logged in."""
    now = _now(now)
    if not getattr(actor, "is_authenticated", False):
        raise DomainError("请先登录")
    if len(old) > MAX_PASSWORD_LENGTH or not actor.check_password(old):
        record_event(
            actor,
            "identity.password_change",
            object_type="directory.user",
            object_id=actor.pk,
            result=AuditResult.FAILURE,
            details={"reason": "bad_old_password"},
            request=request,
        )
        raise DomainError("当前密码不正确", field="old_password")
    if old == new:
        raise DomainError("新密码不能与当前密码相同", field="new_password")
    try:
        check_new_password(new, actor, field="new_password")
    except DomainError as exc:
        record_event(
            actor,
            "identity.password_change",
            object_type="directory.user",
            object_id=actor.pk,
            result=AuditResult.FAILURE,
            details={"reason": "policy", "message": exc.message},
            request=request,
        )
        raise
    with transaction.atomic():
        _store_password(actor, new, must_change=False, now=now)
        record_event(
            actor,
            "identity.password_change",
            object_type="directory.user",
            object_id=actor.pk,
            request=request,
        )
    if request is not None:
        update_session_auth_hash(request, actor)
        request.session[LAST_ACTIVITY_KEY] = now.timestamp()


# --- TOTP for one's own account ------------------------------------------------------------
def do_confirm_totp(
    actor: Any, code: str, request: HttpRequest | None = None, *, now: datetime | None = None
) -> None:
    """Confirm the optional TOTP enrolment from the 账号与安全 page."""
    now = _now(now)
    ok, problem = _confirm_device(actor, code, now)
    if not ok:
        record_event(
            actor,
            "identity.totp_enrol",
            object_type="directory.user",
            object_id=actor.pk,
            result=AuditResult.FAILURE,
            details={"reason": problem},
            request=request,
        )
        raise DomainError(BAD_TOTP_MESSAGE, field="code")
    record_event(
        actor, "identity.totp_enrol", object_type="directory.user", object_id=actor.pk, request=request
    )


def do_disable_totp(actor: Any, request: HttpRequest | None = None) -> None:
    """A user stops using TOTP; refused when they must have a second factor (administrators, or
    everyone by policy) and no security key remains."""
    if not _keeps_second_factor(actor, request, without="totp"):
        if getattr(actor, "admin_role", ""):
            raise DomainError("管理员必须使用动态口令或安全密钥：请先登记一个安全密钥，再停用动态口令")
        raise DomainError("安全策略要求所有用户使用动态口令或安全密钥：请先登记一个安全密钥，再停用动态口令")
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=actor).delete()
        if not deleted:
            raise Conflict("您尚未启用动态口令")
        record_event(
            actor, "identity.totp_disable", object_type="directory.user", object_id=actor.pk, request=request
        )


# --- 安全管理员 ---------------------------------------------------------------------------------
def do_reset_totp(actor: Any, user_id: int, request: HttpRequest | None = None) -> Any:
    """Remove a user's TOTP device; they enrol again at next login (administrators must)."""
    ensure_admin(actor, AdminRole.SECURITY)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("账号不存在", field="user")
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        if not deleted:
            raise Conflict(f"{user} 尚未启用动态口令，无需重置", field="user")
        record_event(
            actor,
            "identity.totp_reset",
            object_type="directory.user",
            object_id=user.pk,
            details={"username": user.get_username()},
            request=request,
        )
    return user


def do_reset_webauthn(actor: Any, user_id: int, request: HttpRequest | None = None) -> Any:
    """Remove every security key of a user (lost or stolen key); administrators enrol a second
    factor again at next login."""
    ensure_admin(actor, AdminRole.SECURITY)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("账号不存在", field="user")
    with transaction.atomic():
        names = list(WebAuthnCredential.objects.filter(user=user).values_list("name", flat=True))
        if not names:
            raise Conflict(f"{user} 没有登记安全密钥，无需重置", field="user")
        WebAuthnCredential.objects.filter(user=user).delete()
        record_event(
            actor,
            "identity.webauthn_reset",
            object_type="directory.user",
            object_id=user.pk,
            details={"username": user.get_username(), "names": names},
            request=request,
        )
    return user


def do_unlock(
    actor: Any, lock_id: int, request: HttpRequest | None = None, *, now: datetime | None = None
) -> LoginLock:
    """Lift a lock before it expires (its failures stop counting)."""
    ensure_admin(actor, AdminRole.SECURITY)
    now = _now(now)
    with transaction.atomic():
        lock = LoginLock.objects.select_for_update().filter(pk=lock_id).first()
        if lock is None:
            raise NotFound("锁定记录不存在")
        if lock.unlocked_at is not None or lock.locked_until <= now:
            raise Conflict("该锁定已解除或已过期")
        lock.unlocked_at = now
        lock.unlocked_by = actor
        lock.save(update_fields=["unlocked_at", "unlocked_by"])
        record_event(
            actor,
            "identity.unlock",
            object_type=f"identity.lock.{lock.kind}",
            object_id=lock.pk,
            details={"kind": lock.kind, "key": lock.key, "locked_until": lock.locked_until.isoformat()},
            request=request,
        )
    return lock


def do_unlock_by_operator(
    kind: str, key: str, *, operator: str, now: datetime | None = None
) -> list[LoginLock]:
    """Lift every lock in force on an account name or a source address from the server's command
    line (`zhengwu unlock`), for when no 安全管理员 can log in — e.g. their own account or the only
    address they use is locked. Whoever can run the command already controls the server; the
    action is still audited, with the operating-system account that ran it."""
    now = _now(now)
    if kind not in LockKind.values:
        raise DomainError(f"锁定类型只能是 {'、'.join(LockKind.values)}", field="kind")
    key = queries.normalise_username(key) if kind == LockKind.ACCOUNT else key.strip()
    if not key:
        raise DomainError("请给出要解锁的账号或地址", field="key")
    with transaction.atomic():
        locks = list(
            LoginLock.objects.select_for_update().filter(
                kind=kind, key=key, unlocked_at__isnull=True, locked_until__gt=now
            )
        )
        for lock in locks:
            lock.unlocked_at = now
            lock.save(update_fields=["unlocked_at"])
            record_event(
                None,
                "identity.unlock",
                object_type=f"identity.lock.{lock.kind}",
                object_id=lock.pk,
                details={
                    "kind": lock.kind,
                    "key": lock.key,
                    "locked_until": lock.locked_until.isoformat(),
                    "via": "zhengwu unlock",
                    "operator": operator,
                },
                actor_username=f"operator:{operator}",
            )
    return locks


def do_purge_login_history(*, now: datetime | None = None, keep_days: int | None = None) -> dict[str, int]:
    """Delete login attempts and ended locks older than `keep_days` (setting IDENTITY_LOGIN_HISTORY_DAYS,
    default 190: longer than any lock window; the audit log keeps the events themselves)."""
    now = _now(now)
    if keep_days is None:
        keep_days = int(getattr(settings, "IDENTITY_LOGIN_HISTORY_DAYS", 190))
    keep_days = max(keep_days, 31)
    cutoff = now - timedelta(days=keep_days)
    with transaction.atomic():
        attempts, _ = LoginAttempt.objects.filter(occurred_at__lt=cutoff).delete()
        locks, _ = LoginLock.objects.filter(locked_until__lt=cutoff).delete()
        record_event(
            None,
            "identity.purge_login_history",
            details={"before": cutoff.isoformat(), "attempts": attempts, "locks": locks},
        )
    return {"attempts": attempts, "locks": locks}


POLICY_FIELDS = (*POLICY_RANGES, "totp_required_for_all")


def do_update_policy(
    actor: Any, changes: dict[str, Any], request: HttpRequest | None = None, *, now: datetime | None = None
) -> SecurityPolicy:
    """Change the security policy (安全管理员). Unknown keys are refused; ranges are checked."""
    ensure_admin(actor, AdminRole.SECURITY)
    now = _now(now)
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise DomainError(f"不认识的策略项：{'、'.join(unknown)}", field=unknown[0])
    with transaction.atomic():
        policy = SecurityPolicy.objects.select_for_update().filter(pk=SecurityPolicy.SINGLETON_ID).first()
        if policy is None:
            policy = SecurityPolicy(pk=SecurityPolicy.SINGLETON_ID)
        diff: dict[str, list[Any]] = {}
        for name, value in changes.items():
            old = getattr(policy, name)
            if old != value:
                diff[name] = [old, value]
                setattr(policy, name, value)
        try:
            policy.full_clean()
        except ValidationError as exc:
            messages = [str(m) for ms in exc.message_dict.values() for m in ms]
            first = next(iter(exc.message_dict), None)
            raise DomainError("；".join(messages), field=first) from exc
        policy.updated_at = now
        policy.updated_by = actor
        policy.save()
        record_event(
            actor,
            "identity.policy_change",
            object_type="identity.securitypolicy",
            object_id=policy.pk,
            details={
                "changes": {POLICY_LABELS.get(k, k): v for k, v in diff.items()},
                "fields": sorted(diff),
            },
            request=request,
        )
    queries.forget_cached_policy(request)
    return policy


# --- 出站白名单 (core/egress.py) ------------------------------------------------------------------
def do_add_egress_destination(
    actor: Any, *, host: str, ports: str, note: str = "", request: HttpRequest | None = None
) -> Any:
    """Allow one outbound destination (a host name or an IP network, and a port or port range).
    Loopback and the platform's own addresses stay refused whatever is added here."""
    from zhengwu.core import egress

    ensure_admin(actor, AdminRole.SECURITY)
    with transaction.atomic():
        row = egress.add_destination(host, ports, note, username=actor.get_username())
        record_event(
            actor,
            "identity.egress_add",
            object_type="core.egressdestination",
            object_id=row.pk,
            details={"host": row.host, "ports": row.ports, "note": row.note},
            request=request,
        )
    return row


def do_remove_egress_destination(actor: Any, destination_id: int, request: HttpRequest | None = None) -> Any:
    """Remove an allowlist row; connections to it are refused from now on."""
    from zhengwu.core import egress

    ensure_admin(actor, AdminRole.SECURITY)
    with transaction.atomic():
        row = egress.remove_destination(destination_id)
        record_event(
            actor,
            "identity.egress_remove",
            object_type="core.egressdestination",
            object_id=destination_id,
            details={"host": row.host, "ports": row.ports, "note": row.note},
            request=request,
        )
    return row
