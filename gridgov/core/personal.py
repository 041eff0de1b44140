"""Personal data at rest (PIPL, 等保 level 3): SM4-GCM encryption through the crypto provider, with the kind of
datum bound as associated data (a phone cannot be passed off as an ID number), and blind indexes (HMAC-SM3) for
exact search without decrypting. Every app that keeps personal data uses these, so the same phone number has
the same blind index in the cases and in the registry."""

from __future__ import annotations

from gridgov.core.crypto import provider

NAME = b"name"
PHONE = b"phone"
ID_NUMBER = b"id-number"
DOCUMENT = b"document"
KEY_GROUP = b"key-group"
NOTE = b"note"


def blind_index(value: str, kind: bytes = PHONE) -> str:
    """The searchable stand-in of `value` (already normalised): equal values of one kind, equal indexes."""
    return provider().hmac_sm3("index", kind + b":" + value.encode()).hex()


def encrypt_text(value: str, purpose: bytes) -> bytes | None:
    return provider().encrypt(value.encode(), purpose) if value else None


def decrypt_text(token: bytes | memoryview | None, purpose: bytes) -> str:
    return provider().decrypt(bytes(token), purpose).decode() if token else ""
