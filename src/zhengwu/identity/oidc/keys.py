"""The signing keys of the OpenID provider (ID tokens, logout tokens).

Keys live in the database (table oidc_signingkey), so every web process signs with the same key and
publishes the same JWKS: nothing is kept in process memory except decrypted keys by `kid`, which never
change. The private key (RSA 2048, PEM) is encrypted with the platform's field key (SM4,
core.crypto.encrypt_field) bound to its row's kid.

- The first key is generated on first use.
- `rotate()` (command `zhengwu oidc_rotate_key`) makes a new key the signing key; the previous one
  stops signing but stays published while a token it signed can still be presented: until
  ID-token lifetime + 5 minutes after it was superseded.
- `retire_expired()` marks those older keys retired (they leave the JWKS); the JWKS never lists a key
  past that point even before the job ran.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from jwcrypto import jwk

from zhengwu.core.crypto import decrypt_field, encrypt_field

from .models import SigningKey

CLOCK_SKEW = timedelta(minutes=5)


def grace() -> timedelta:
    return timedelta(seconds=settings.OIDC_ID_TOKEN_SECONDS) + CLOCK_SKEW


def _context(kid: str) -> str:
    return f"oidc-signing-key:{kid}"


def _create(generation: int, now: datetime) -> SigningKey:
    key = jwk.JWK.generate(kty="RSA", size=2048)
    kid = key.thumbprint()
    pem = key.export_to_pem(private_key=True, password=None).decode("ascii")
    public = json.loads(key.export_public())
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return SigningKey.objects.create(
        generation=generation, kid=kid, private_key=encrypt_field(pem, _context(kid)), public_jwk=public, created_at=now
    )


def active_key() -> SigningKey:
    """The key that signs now (created on first use)."""
    current = SigningKey.objects.filter(superseded_at__isnull=True).order_by("-generation").first()
    if current is not None:
        return current
    try:
        with transaction.atomic():
            return _create(1, timezone.now())
    except IntegrityError:  # another process created it first
        return SigningKey.objects.filter(superseded_at__isnull=True).order_by("-generation").first() or active_key()


@lru_cache(maxsize=32)
def _private_jwk(kid: str, token: str) -> jwk.JWK:
    return jwk.JWK.from_pem(decrypt_field(token, _context(kid)).encode("ascii"))


def private_jwk(key: SigningKey) -> jwk.JWK:
    return _private_jwk(key.kid, key.private_key)


def published_keys(now: datetime | None = None) -> list[SigningKey]:
    """Keys in the JWKS: the active one and those superseded less than `grace()` ago."""
    now = now or timezone.now()
    active_key()
    return list(
        SigningKey.objects.filter(retired_at__isnull=True)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=now - grace()))
        .order_by("-generation")
    )


def jwks() -> dict[str, Any]:
    return {"keys": [key.public_jwk for key in published_keys()]}


def verification_jwk(kid: str) -> jwk.JWK | None:
    """The public key for a kid still published (for id_token_hint checks)."""
    for key in published_keys():
        if key.kid == kid:
            return jwk.JWK(**key.public_jwk)
    return None


def rotate(now: datetime | None = None) -> tuple[SigningKey, SigningKey | None]:
    """Make a new signing key. Returns (new key, the key it replaced)."""
    now = now or timezone.now()
    with transaction.atomic():
        previous = active_key()
        generation = (SigningKey.objects.aggregate(m=Max("generation"))["m"] or 0) + 1
        new = _create(generation, now)
        SigningKey.objects.filter(superseded_at__isnull=True).exclude(pk=new.pk).update(superseded_at=now)
    return new, previous


def retire_expired(now: datetime | None = None) -> list[str]:
    """Mark keys superseded longer than `grace()` ago as retired; returns their kids."""
    now = now or timezone.now()
    due = SigningKey.objects.filter(retired_at__isnull=True, superseded_at__lte=now - grace())
    kids = list(due.values_list("kid", flat=True))
    due.update(retired_at=now)
    return kids
