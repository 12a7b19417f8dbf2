"""National cryptography (商用密码) behind one small module.

- SM3 hashing and HMAC-SM3: `cryptography` (OpenSSL).
- SM4 encryption: `cryptography`, GCM mode (authenticated) for data at rest; ECB only for test vectors.
- SM2 key generation, signing and verification: `tongsuopy` (Tongsuo, the SM-capable OpenSSL fork),
  SM2 signature over SM3 with the default distinguishing identifier 1234567812345678.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tongsuopy.crypto import hashes as ts_hashes
from tongsuopy.crypto import serialization as ts_serialization
from tongsuopy.crypto.asymciphers import ec as ts_ec

SM4_KEY_BYTES = 16
_GCM_NONCE_BYTES = 12
_CIPHERTEXT_VERSION = b"\x01"


class CryptoError(Exception):
    """A decryption or signature check failed; the message is in Chinese."""


# --- SM3 ------------------------------------------------------------------------------
def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hex(data: bytes | str) -> str:
    return sm3(data.encode("utf-8") if isinstance(data, str) else data).hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


# --- SM4 ------------------------------------------------------------------------------
def _check_key(key: bytes) -> None:
    if len(key) != SM4_KEY_BYTES:
        raise CryptoError(f"SM4 密钥长度必须是 {SM4_KEY_BYTES} 字节，当前为 {len(key)} 字节")


def sm4_ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    """One raw 16-byte block; only for checking against the standard's test vectors."""
    _check_key(key)
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - test-vector use only
    return encryptor.update(block) + encryptor.finalize()


def sm4_encrypt(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """SM4-GCM. Output: version byte + 12-byte nonce + ciphertext + 16-byte tag."""
    _check_key(key)
    nonce = os.urandom(_GCM_NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if associated_data:
        encryptor.authenticate_additional_data(associated_data)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return _CIPHERTEXT_VERSION + nonce + body + encryptor.tag


def sm4_decrypt(key: bytes, token: bytes, associated_data: bytes = b"") -> bytes:
    _check_key(key)
    if len(token) < 1 + _GCM_NONCE_BYTES + 16 or token[:1] != _CIPHERTEXT_VERSION:
        raise CryptoError("密文格式无效")
    nonce, body, tag = token[1 : 1 + _GCM_NONCE_BYTES], token[1 + _GCM_NONCE_BYTES : -16], token[-16:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if associated_data:
        decryptor.authenticate_additional_data(associated_data)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as exc:
        raise CryptoError("密文已被篡改或密钥不正确") from exc


@lru_cache(maxsize=1)
def field_key() -> bytes:
    """The SM4 key for secrets kept in the database (see docs/configuration.md)."""
    from django.conf import settings

    configured = settings.FIELD_ENCRYPTION_KEY
    if configured:
        try:
            key = bytes.fromhex(configured)
        except ValueError as exc:
            raise CryptoError("ZHENGWU_FIELD_ENCRYPTION_KEY 必须是 32 个十六进制字符") from exc
        _check_key(key)
        return key
    return sm3(b"zhengwu-field-key:" + settings.SECRET_KEY.encode("utf-8"))[:SM4_KEY_BYTES]


def encrypt_field(plaintext: str, context: str) -> str:
    """Encrypt a secret for storage; `context` (e.g. "totp:42") binds it to its row."""
    return sm4_encrypt(field_key(), plaintext.encode("utf-8"), context.encode("utf-8")).hex()


def decrypt_field(token: str, context: str) -> str:
    try:
        raw = bytes.fromhex(token)
    except ValueError as exc:
        raise CryptoError("密文格式无效") from exc
    return sm4_decrypt(field_key(), raw, context.encode("utf-8")).decode("utf-8")


# --- SM2 ------------------------------------------------------------------------------
def sm2_generate_private_key_pem() -> bytes:
    key = ts_ec.generate_private_key(ts_ec.SM2())
    return key.private_bytes(
        ts_serialization.Encoding.PEM,
        ts_serialization.PrivateFormat.PKCS8,
        ts_serialization.NoEncryption(),
    )


def sm2_public_key_pem(private_key_pem: bytes) -> bytes:
    key = ts_serialization.load_pem_private_key(private_key_pem, password=None)
    return key.public_key().public_bytes(
        ts_serialization.Encoding.PEM, ts_serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sm2_sign(private_key_pem: bytes, data: bytes) -> bytes:
    """SM2 signature (DER-encoded r, s) over SM3 of the data with the default user id."""
    key = ts_serialization.load_pem_private_key(private_key_pem, password=None)
    return key.sign(data, ts_ec.ECDSA(ts_hashes.SM3()))


def sm2_verify(public_key_pem: bytes, signature: bytes, data: bytes) -> bool:
    key = ts_serialization.load_pem_public_key(public_key_pem)
    try:
        key.verify(signature, data, ts_ec.ECDSA(ts_hashes.SM3()))
    except Exception:  # tongsuopy raises InvalidSignature, or ValueError on malformed DER
        return False
    return True


def sm2_public_key_pem_from_point(x_hex: str, y_hex: str) -> bytes:
    """PEM (SubjectPublicKeyInfo) for a raw SM2 public key point given as two hex coordinates.

    Published test vectors and other systems often hand over the point itself (x, y, or the
    uncompressed `04 || x || y`); this turns it into the PEM that `sm2_verify` takes. A point
    that is not on the SM2 curve is refused.
    """
    try:
        x, y = int(x_hex, 16), int(y_hex, 16)
    except ValueError as exc:
        raise CryptoError("SM2 公钥坐标必须是十六进制数") from exc
    try:
        key = ts_ec.EllipticCurvePublicNumbers(x, y, ts_ec.SM2()).public_key()
    except ValueError as exc:
        raise CryptoError("SM2 公钥坐标不在 SM2 曲线上") from exc
    return key.public_bytes(ts_serialization.Encoding.PEM, ts_serialization.PublicFormat.SubjectPublicKeyInfo)
