"""The reporter's personal data: encrypted at rest by `core.personal` (names and phones, with the blind index
for exact search by phone)."""

from __future__ import annotations

from typing import Any

from gridgov.core.personal import NAME, PHONE, blind_index, decrypt_text, encrypt_text

__all__ = ["NAME", "PHONE", "blind_index", "decrypt_text", "encrypt_text", "reporter_identity"]


def reporter_identity(case: Any) -> tuple[str, str]:
    """The reporter's full name and phone: the encrypted fields, the account's name for a resident."""
    name = decrypt_text(case.reporter_name_enc, NAME)
    if not name and case.reporter is not None:
        name = case.reporter.full_name
    return name, decrypt_text(case.reporter_phone_enc, PHONE)
