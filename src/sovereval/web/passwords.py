"""Password hashing with scrypt (standard library): ``scrypt$n$r$p$salt$hash`` (base64 fields)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading

N, R, P = 2**14, 8, 1
MIN_LENGTH = 10
#: one key derivation at a time: ~0.1 s of a core each; more at once would starve page requests
_KDF = threading.BoundedSemaphore(1)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    with _KDF:
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; a missing or malformed hash never verifies (but costs the same time)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        params = int(n), int(r), int(p)
        salt_b, want = base64.b64decode(salt), base64.b64decode(digest)
    except ValueError:
        with _KDF:
            hashlib.scrypt(password.encode("utf-8"), salt=b"0" * 16, n=N, r=R, p=P, dklen=32)
        return False
    with _KDF:
        got = hashlib.scrypt(password.encode("utf-8"), salt=salt_b, n=params[0], r=params[1], p=params[2],
                             dklen=len(want))  # fmt: skip
    return hmac.compare_digest(got, want)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"the password needs at least {MIN_LENGTH} characters"
    return None
