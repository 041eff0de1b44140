"""Masking of personal data for display, and a log filter that keeps it out of logs."""

from __future__ import annotations

import logging
import re

# Digit boundaries, not \b: in Chinese text a number sits between word characters (电话13812341234).
ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")
MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_id_number(value: str) -> str:
    """`150621199001011234` → `150621********1234`: region and last four stay, the birth date goes."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """`13812341234` → `138****1234`."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """`张三` → `张*`, `张小三` → `张*三`."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def scrub(text: str) -> str:
    """Mask every ID number and mobile number found in free text."""
    text = ID_NUMBER.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    return MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


class PersonalDataLogFilter(logging.Filter):
    """Personal data never reaches the logs: ID and phone numbers are masked in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
