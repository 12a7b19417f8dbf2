"""A software WebAuthn authenticator for the tests: a test client, not a mock of the server.

It does what a security key and the browser do together: makes a P-256 key pair per credential,
builds the attestation object ("none" format) and the clientDataJSON for navigator.credentials.
create(), and for .get() signs authenticatorData || SHA-256(clientDataJSON) with ECDSA-SHA256,
incrementing its signature counter. The JSON it returns is what webauthn.js posts. Origin, RP ID,
challenge and counter can be chosen per call so the tests can play an attacker too.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_AT = 0x40


def b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )


@dataclass
class SoftAuthenticator:
    origin: str = "http://testserver"
    rp_id: str = "testserver"
    aaguid: bytes = b"\x00" * 16
    user_verified: bool = True
    transports: list[str] = field(default_factory=lambda: ["usb"])
    credentials: list[SoftCredential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()

    def _flags(self, extra: int = 0) -> int:
        return FLAG_UP | (FLAG_UV if self.user_verified else 0) | extra

    def create(
        self,
        options: dict[str, Any] | str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        reuse: SoftCredential | None = None,
    ) -> str:
        """navigator.credentials.create(): a new credential (or, as a rogue client ignoring
        excludeCredentials, an existing one again); returns the registration JSON."""
        opts = json.loads(options) if isinstance(options, str) else options
        rp = rp_id or opts["rp"]["id"]
        cred = reuse or SoftCredential(os.urandom(32), ec.generate_private_key(ec.SECP256R1()), rp)
        if reuse is None:
            self.credentials.append(cred)
        auth_data = (
            hashlib.sha256(rp.encode()).digest()
            + bytes([self._flags(FLAG_AT)])
            + struct.pack(">I", cred.sign_count)
            + self.aaguid
            + struct.pack(">H", len(cred.credential_id))
            + cred.credential_id
            + cred.cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", opts["challenge"], origin)
        return json.dumps(
            {
                "id": b64(cred.credential_id),
                "rawId": b64(cred.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(client_data),
                    "attestationObject": b64(attestation),
                    "transports": self.transports,
                },
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
            }
        )

    def get(
        self,
        options: dict[str, Any] | str,
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
    ) -> str:
        """navigator.credentials.get(): sign the challenge with a credential the options allow
        (or the one given, allowed or not); returns the assertion JSON."""
        opts = json.loads(options) if isinstance(options, str) else options
        if credential is None:
            allowed = {base64url_to_bytes(d["id"]) for d in opts.get("allowCredentials", [])}
            credential = next(c for c in self.credentials if c.credential_id in allowed)
        if counter is None:
            credential.sign_count += 1
            counter = credential.sign_count
        rp = rp_id or opts.get("rpId") or credential.rp_id
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([self._flags()]) + struct.pack(">I", counter)
        client_data = self._client_data("webauthn.get", opts["challenge"], origin)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64(credential.credential_id),
                "rawId": b64(credential.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(client_data),
                    "authenticatorData": b64(auth_data),
                    "signature": b64(signature),
                    "userHandle": None,
                },
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
            }
        )
