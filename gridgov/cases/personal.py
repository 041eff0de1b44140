"""The reporter's personal data at rest: SM4-GCM encryption of names and phones (the purpose is bound as
associated data, so a phone cannot be passed off as a name) and the blind index for exact search by phone."""

from __future__ import annotations

from typing import Any

from gridgov.core.crypto import provider

NAME = b"name"
PHONE = b"phone"


def blind_index(phone: str) -> str:
    return provider().hmac_sm3("index", b"phone:" + phone.encode()).hex()


def encrypt_text(value: str, purpose: bytes) -> bytes | None:
    return provider().encrypt(value.encode(), purpose) if value else None


def decrypt_text(token: bytes | memoryview | None, purpose: bytes) -> str:
    return provider().decrypt(bytes(token), purpose).decode() if token else ""


def reporter_identity(case: Any) -> tuple[str, str]:
    """The reporter's full name and phone: the encrypted fields, the account's name for a resident."""
    name = decrypt_text(case.reporter_name_enc, NAME)
    if not name and case.reporter is not None:
        name = case.reporter.full_name
    return name, decrypt_text(case.reporter_phone_enc, PHONE)
