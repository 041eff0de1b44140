"""The crypto provider: SM3, HMAC-SM3 and SM4-GCM (国密), behind one interface a hardware module can replace.

Settings name the provider class (GRIDGOV_CRYPTO_PROVIDER); everything else calls `provider()`.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.utils.module_loading import import_string

NONCE_BYTES = 12
TAG_BYTES = 16


class CryptoProvider(Protocol):
    def sm3(self, data: bytes) -> bytes: ...
    def hmac_sm3(self, purpose: str, data: bytes) -> bytes: ...
    def encrypt(self, plaintext: bytes, associated: bytes = b"") -> bytes: ...
    def decrypt(self, token: bytes, associated: bytes = b"") -> bytes: ...


def _key(explicit: str, purpose: str) -> bytes:
    """A 32-byte key: the configured one, or (demo only) one derived from SECRET_KEY for this purpose."""
    if explicit:
        return bytes.fromhex(explicit)
    return hashlib.sha256(f"gridgov:{purpose}:{settings.SECRET_KEY}".encode()).digest()


class SoftwareProvider:
    """SM3 / HMAC-SM3 / SM4-GCM in software through `cryptography` (OpenSSL)."""

    def __init__(self) -> None:
        self._hmac_keys = {
            "audit": _key(settings.AUDIT_KEY, "audit"),
            "index": _key(settings.INDEX_KEY, "index"),
        }
        # SM4 takes a 128-bit key.
        self._field_key = _key(settings.FIELD_KEY, "field")[:16]

    def sm3(self, data: bytes) -> bytes:
        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize()

    def hmac_sm3(self, purpose: str, data: bytes) -> bytes:
        mac = crypto_hmac.HMAC(self._hmac_keys[purpose], hashes.SM3())
        mac.update(data)
        return mac.finalize()

    def encrypt(self, plaintext: bytes, associated: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(algorithms.SM4(self._field_key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return nonce + body + encryptor.tag

    def decrypt(self, token: bytes, associated: bytes = b"") -> bytes:
        nonce, body, tag = token[:NONCE_BYTES], token[NONCE_BYTES:-TAG_BYTES], token[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self._field_key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(associated)
        return decryptor.update(body) + decryptor.finalize()


@cache
def provider() -> CryptoProvider:
    return import_string(settings.CRYPTO_PROVIDER)()
