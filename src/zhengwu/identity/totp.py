"""TOTP (RFC 6238) helpers: secrets, code checks with replay protection, QR code as inline SVG."""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

import pyotp
import qrcode
import qrcode.image.svg
from django.conf import settings

from zhengwu.core.crypto import decrypt_field, encrypt_field

from .models import TOTPDevice

INTERVAL_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # accept the previous and the next time step too (clock drift)
_CODE_RE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32()


def secret_context(user_id: int) -> str:
    return f"totp:{user_id}"


def encrypt_secret(secret: str, user_id: int) -> str:
    return encrypt_field(secret, secret_context(user_id))


def device_secret(device: TOTPDevice) -> str:
    return decrypt_field(device.secret_encrypted, secret_context(device.user_id))


def clean_code(code: str | None) -> str | None:
    """The code with spaces removed, or None when it is not six digits."""
    value = re.sub(r"\s+", "", code or "")
    return value if _CODE_RE.match(value) else None


def matching_counter(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code equals `code` (within ±VALID_WINDOW steps), or None."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS)
    offsets = [0] + [d for k in range(1, VALID_WINDOW + 1) for d in (-k, k)]
    for offset in offsets:
        counter = totp.timecode(now + timedelta(seconds=offset * INTERVAL_SECONDS))
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def code_at(secret: str, when: datetime) -> str:
    """The code an authenticator shows at `when` (used by tests and by nothing else)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS).at(when)


def provisioning_uri(secret: str, account_name: str) -> str:
    issuer = getattr(settings, "PLATFORM_NAME", "zhengwu")
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def qr_svg(data: str) -> str:
    """An inline <svg> element (no XML declaration, no external references)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg: str = image.to_string(encoding="unicode")
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2 :].lstrip()
    return svg


def group_secret(secret: str) -> str:
    """The secret in groups of four characters, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
