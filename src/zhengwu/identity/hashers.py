"""Password hashing with PBKDF2 over HMAC-SM3 (GB/T 39786: national algorithms for login)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class PBKDF2SM3PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sm3"
    iterations = 200_000

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        if password is None or not salt or "$" in salt:
            raise ValueError("口令哈希参数无效")
        iterations = iterations or self.iterations
        kdf = PBKDF2HMAC(algorithm=hashes.SM3(), length=32, salt=salt.encode("utf-8"), iterations=iterations)
        digest = base64.b64encode(kdf.derive(password.encode("utf-8"))).decode("ascii").strip()
        return f"{self.algorithm}${iterations}${salt}${digest}"
