"""The SM2 key that signs audit checkpoints.

The private key lives in a PEM file (settings.AUDIT_SIGNING_KEY_FILE), outside the database, so
someone who can rewrite the audit tables still cannot forge a checkpoint. It is generated on
first use (mode 0600, parent directory created). Each checkpoint stores the public key it was
signed with, but that copy is only informative: verification trusts `trusted_public_key_pem()`,
which comes from a file — the configured public key (settings.AUDIT_VERIFY_PUBLIC_KEY_FILE, e.g.
on an auditor's machine that has no private key) or else the one derived from the private key
file — never from a database row. A checkpoint forged with another key pair, its public key
stored beside it, is therefore refused.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from zhengwu.core.crypto import sm2_generate_private_key_pem, sm2_public_key_pem, sm2_sign, sm2_verify

_SIGNATURE_DOMAIN = "zhengwu-audit-checkpoint-v1"


class SigningKeyMissing(Exception):
    """The key file does not exist and was not to be created."""


def key_path() -> Path:
    return Path(settings.AUDIT_SIGNING_KEY_FILE)


def load_private_key_pem(create: bool = True) -> bytes:
    """The PEM private key; generated on first use when `create` is true."""
    path = key_path()
    if path.exists():
        return path.read_bytes()
    if not create:
        raise SigningKeyMissing(f"审计签名密钥文件 {path} 不存在")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = sm2_generate_private_key_pem()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)
    return pem


def public_key_pem(create: bool = True) -> str | None:
    """This platform's public key (PEM text), or None when the key is absent and not created."""
    try:
        private = load_private_key_pem(create=create)
    except SigningKeyMissing:
        return None
    return sm2_public_key_pem(private).decode("ascii")


class TrustedKeyMissing(Exception):
    """Neither the configured public key file nor the private key file exists."""


def trusted_public_key_pem() -> str:
    """The public key that verification trusts, read from a file outside the database.

    settings.AUDIT_VERIFY_PUBLIC_KEY_FILE when set, else derived from the signing key file
    (never generated here). Raises TrustedKeyMissing naming the file when it is absent.
    """
    configured = str(settings.AUDIT_VERIFY_PUBLIC_KEY_FILE or "").strip()
    if configured:
        path = Path(configured)
        if not path.exists():
            raise TrustedKeyMissing(f"审计核验公钥文件 {path} 不存在")
        return path.read_text(encoding="ascii")
    public = public_key_pem(create=False)
    if public is None:
        raise TrustedKeyMissing(f"审计签名密钥文件 {key_path()} 不存在")
    return public


def normalise_pem(pem: str) -> str:
    return "\n".join(line.strip() for line in pem.strip().splitlines() if line.strip())


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_message(
    *,
    seq: int,
    hash: str,
    kind: str,
    created_at: datetime,
    purged_before: datetime | None,
    purged_count: int,
    public_key: str,
) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    payload: dict[str, Any] = {
        "domain": _SIGNATURE_DOMAIN,
        "seq": int(seq),
        "hash": hash,
        "kind": kind,
        "created_at": _utc(created_at),
        "purged_before": _utc(purged_before),
        "purged_count": int(purged_count),
        "public_key": normalise_pem(public_key),
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(message: bytes) -> tuple[str, str]:
    """Sign with the platform key: (signature hex, public key PEM)."""
    private = load_private_key_pem(create=True)
    return sm2_sign(private, message).hex(), sm2_public_key_pem(private).decode("ascii")


def verify(public_key: str, signature_hex: str, message: bytes) -> bool:
    try:
        signature = bytes.fromhex(signature_hex)
        return sm2_verify(public_key.encode("ascii"), signature, message)
    except (ValueError, UnicodeEncodeError):
        return False
    except Exception:  # a malformed public key PEM makes the loader raise
        return False
