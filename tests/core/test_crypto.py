"""core.crypto against published test vectors (GB/T 32905, GB/T 32907, RFC 8998, GM/T 0003.5)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from tongsuopy.crypto.asymciphers.utils import encode_dss_signature

from zhengwu.core import crypto
from zhengwu.core.crypto import (
    CryptoError,
    decrypt_field,
    encrypt_field,
    hmac_sm3,
    sm2_generate_private_key_pem,
    sm2_public_key_pem,
    sm2_public_key_pem_from_point,
    sm2_sign,
    sm2_verify,
    sm3,
    sm3_hex,
    sm4_decrypt,
    sm4_ecb_encrypt_block,
    sm4_encrypt,
)


# --- SM3 (GB/T 32905-2016 appendix A) -------------------------------------------------------------
def test_sm3_example_1_abc() -> None:
    assert sm3_hex("abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abc").hex() == sm3_hex(b"abc")


def test_sm3_example_2_abcd_times_16() -> None:
    expected = "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732".replace(" ", "")
    assert sm3_hex("abcd" * 16) == expected


def test_hmac_sm3_matches_rfc2104_construction() -> None:
    # HMAC built by hand (RFC 2104, SM3 block size 64 bytes) on top of the vector-checked sm3().
    def reference(key: bytes, data: bytes) -> bytes:
        if len(key) > 64:
            key = sm3(key)
        key = key.ljust(64, b"\x00")
        inner = sm3(bytes(b ^ 0x36 for b in key) + data)
        return sm3(bytes(b ^ 0x5C for b in key) + inner)

    for key, data in [(b"key", b"The quick brown fox"), (b"k" * 100, b""), (b"", b"abc")]:
        assert hmac_sm3(key, data) == reference(key, data)
        if "sm3" in hashlib.algorithms_available:
            assert hmac_sm3(key, data) == hmac.new(key, data, "sm3").digest()


# --- SM4 ------------------------------------------------------------------------------------------
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm4_ecb_single_block_gbt32907_example() -> None:
    assert sm4_ecb_encrypt_block(SM4_KEY, SM4_KEY).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_rfc8998_vector() -> None:
    # RFC 8998 appendix A.1; our token is version byte + nonce + ciphertext + tag.
    nonce = bytes.fromhex("00001234567800000000abcd")
    aad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    plaintext = bytes.fromhex(
        "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
        "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa"
    )
    ciphertext = bytes.fromhex(
        "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
        "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
    )
    tag = bytes.fromhex("83de3541e4c2b58177e065a9bf7b62ec")
    token = b"\x01" + nonce + ciphertext + tag
    assert sm4_decrypt(SM4_KEY, token, aad) == plaintext


def test_sm4_gcm_round_trip_and_fresh_nonce() -> None:
    token = sm4_encrypt(SM4_KEY, b"\xe5\x85\xac\xe6\xb0\x91\xe8\xba\xab\xe4\xbb\xbd", b"ad")
    assert sm4_decrypt(SM4_KEY, token, b"ad") == "公民身份".encode()
    assert sm4_encrypt(SM4_KEY, b"same", b"ad") != sm4_encrypt(SM4_KEY, b"same", b"ad")
    assert sm4_decrypt(SM4_KEY, sm4_encrypt(SM4_KEY, b""), b"") == b""


@pytest.mark.parametrize("position", [0, 1, 5, 13, 14, -17, -1])
def test_sm4_gcm_tampering_is_detected(position: int) -> None:
    token = bytearray(sm4_encrypt(SM4_KEY, b"important data", b"row:1"))
    token[position] ^= 0x01
    with pytest.raises(CryptoError):
        sm4_decrypt(SM4_KEY, bytes(token), b"row:1")


def test_sm4_gcm_wrong_associated_data_or_key_fails() -> None:
    token = sm4_encrypt(SM4_KEY, b"important data", b"row:1")
    with pytest.raises(CryptoError, match="篡改"):
        sm4_decrypt(SM4_KEY, token, b"row:2")
    with pytest.raises(CryptoError):
        sm4_decrypt(SM4_KEY, token, b"")
    with pytest.raises(CryptoError):
        sm4_decrypt(bytes(16), token, b"row:1")


def test_sm4_bad_inputs() -> None:
    with pytest.raises(CryptoError, match="16 字节"):
        sm4_encrypt(b"short", b"x")
    with pytest.raises(CryptoError, match="密文格式无效"):
        sm4_decrypt(SM4_KEY, b"\x01" + bytes(10))
    token = sm4_encrypt(SM4_KEY, b"x")
    with pytest.raises(CryptoError, match="密文格式无效"):
        sm4_decrypt(SM4_KEY, b"\x02" + token[1:])


# --- SM2 ------------------------------------------------------------------------------------------
# GM/T 0003.5-2012 (GB/T 32918.5) appendix A.2: signature with the recommended curve,
# user id "1234567812345678", message "message digest".
GMT_PUBLIC_X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
GMT_PUBLIC_Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
GMT_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
GMT_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"


def test_sm2_published_signature_verifies() -> None:
    public_pem = sm2_public_key_pem_from_point(GMT_PUBLIC_X, GMT_PUBLIC_Y)
    signature = encode_dss_signature(int(GMT_R, 16), int(GMT_S, 16))
    assert sm2_verify(public_pem, signature, b"message digest")
    assert not sm2_verify(public_pem, signature, b"message digesT")
    tampered = encode_dss_signature(int(GMT_R, 16), int(GMT_S, 16) ^ 1)
    assert not sm2_verify(public_pem, tampered, b"message digest")


def test_sm2_public_key_from_point_refuses_bad_points() -> None:
    with pytest.raises(CryptoError, match="不在 SM2 曲线上"):
        sm2_public_key_pem_from_point(GMT_PUBLIC_X, GMT_PUBLIC_X)
    with pytest.raises(CryptoError, match="十六进制"):
        sm2_public_key_pem_from_point("zz", GMT_PUBLIC_Y)


def test_sm2_sign_verify_round_trip() -> None:
    private_pem = sm2_generate_private_key_pem()
    public_pem = sm2_public_key_pem(private_pem)
    data = "电子印章签章数据".encode()
    signature = sm2_sign(private_pem, data)
    assert sm2_verify(public_pem, signature, data)
    assert not sm2_verify(public_pem, signature, data + b"!")
    other_public = sm2_public_key_pem(sm2_generate_private_key_pem())
    assert not sm2_verify(other_public, signature, data)
    assert not sm2_verify(public_pem, b"not a signature", data)
    assert not sm2_verify(public_pem, b"", data)


# --- field encryption -----------------------------------------------------------------------------
def test_encrypt_field_round_trip_and_context_binding() -> None:
    token = encrypt_field("JBSWY3DPEHPK3PXP", "totp:42")
    assert "JBSWY3DPEHPK3PXP" not in token
    assert decrypt_field(token, "totp:42") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(CryptoError):
        decrypt_field(token, "totp:43")
    with pytest.raises(CryptoError, match="密文格式无效"):
        decrypt_field("not hex", "totp:42")
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(CryptoError):
        decrypt_field(flipped, "totp:42")


def test_field_key_from_configured_hex(settings: object) -> None:
    crypto.field_key.cache_clear()
    try:
        settings.FIELD_ENCRYPTION_KEY = "00112233445566778899aabbccddeeff"  # type: ignore[attr-defined]
        assert crypto.field_key() == bytes.fromhex("00112233445566778899aabbccddeeff")
        crypto.field_key.cache_clear()
        settings.FIELD_ENCRYPTION_KEY = "not-hex"  # type: ignore[attr-defined]
        with pytest.raises(CryptoError, match="32 个十六进制字符"):
            crypto.field_key()
    finally:
        crypto.field_key.cache_clear()
