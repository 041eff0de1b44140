"""Checks of the numbers and names people give the registry: ID numbers (GB 11643), unified social credit codes
(GB 32100), component IDs (部件标识码), mobile numbers, the other identity documents, and names.

Each `check_*` takes what somebody typed and answers it as it is stored: upper case, without the spaces people
put into long numbers, and in ASCII where a Chinese input method typed full-width characters. Or it raises
ValidationError saying what is wrong. Pure functions without the database, so forms, the API, importers and data
generators all go through the same rules."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .codes import PROVINCE_CODES, DocumentKind, Gender

# Nobody registered today was born before 1900, so such a date is a typing error. Importers of historical
# records may pass an earlier year (the standard's own example, 440524188001010014, was born in 1880).
EARLIEST_BIRTH_YEAR = 1900

_WHITESPACE = re.compile(r"\s+")


def _fold(value: str) -> str:
    """Full-width digits, letters, signs and spaces (what Chinese input methods type) become ASCII."""
    return unicodedata.normalize("NFKC", value or "")


def _compact(value: str) -> str:
    return _WHITESPACE.sub("", _fold(value)).upper()


def _shown(char: str) -> str:
    """A character as a message can show it: invisible ones by their code point."""
    if unicodedata.category(char)[0] in "LNPS":
        return char
    return f"U+{ord(char):04X}"


def _first_bad(text: str, allowed: Callable[[int, str], bool]) -> tuple[int, str] | None:
    """The first (1-based position, character) that `allowed(index, char)` refuses."""
    for index, char in enumerate(text):
        if not allowed(index, char):
            return index + 1, char
    return None


def _passes(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except ValidationError:
        return False
    return True


# ------------------------------------------------------------------------------------ ID numbers (GB 11643)

# ISO 7064 MOD 11-2: weight of position i (1-based) is 2^(18-i) mod 11; the check character makes the weighted
# sum of all 18 characters ≡ 1 (mod 11), with X standing for 10.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_BODY = re.compile(r"[0-9]{17}")
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_FIRST_GENERATION = re.compile(r"[0-9]{15}")


class IdFacts(NamedTuple):
    birth_date: dt.date
    gender: str  # Gender.MALE ("1") or Gender.FEMALE ("2")
    region: str  # the 6-digit address code where the number was first issued


def id_check_char(first17: str) -> str:
    """The 18th character of the ID number whose first 17 digits are given."""
    if not _ID_BODY.fullmatch(first17):
        raise ValueError(f"17 ASCII digits expected, not {first17!r}")
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _id_birth_date(number: str, earliest_year: int) -> dt.date:
    digits = number[6:14]
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise ValidationError(
            _("Characters 7 to 14 of the ID number, %(digits)s, are not a real date of birth (YYYYMMDD).")
            % {"digits": digits},
            code="birth_date",
        ) from None
    if born > timezone.localdate():
        raise ValidationError(
            _("The date of birth in the ID number, %(date)s, lies in the future.")
            % {"date": born.isoformat()},
            code="birth_date",
        )
    if born.year < earliest_year:
        raise ValidationError(
            _(
                "The date of birth in the ID number, %(date)s, is before %(year)d: characters 7 to 14 are wrong."
            )
            % {"date": born.isoformat(), "year": earliest_year},
            code="birth_date",
        )
    return born


def check_id_number(value: str, *, earliest_year: int = EARLIEST_BIRTH_YEAR) -> str:
    """An 18-character citizen ID number (GB 11643-1999), upper case, without spaces."""
    number = _compact(value)
    if not number:
        raise ValidationError(_("Enter the ID number."), code="required")
    if _FIRST_GENERATION.fullmatch(number):
        raise ValidationError(
            _(
                "This is a 15-digit first-generation ID number, which is no longer used: convert it to 18 "
                "digits (the number on the person's current ID card)."
            ),
            code="first_generation",
        )
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters; this one has %(count)d.") % {"count": len(number)},
            code="length",
        )
    bad = _first_bad(number, lambda i, c: c in "0123456789" or (i == 17 and c == "X"))
    if bad:
        raise ValidationError(
            _(
                "Character %(position)d of the ID number is “%(char)s”: "
                "an ID number has only digits, and X as its last character."
            )
            % {"position": bad[0], "char": _shown(bad[1])},
            code="characters",
        )
    if number[:2] not in PROVINCE_CODES:
        raise ValidationError(
            _(
                "The ID number starts with %(code)s, which is no province code: the first two digits are wrong."
            )
            % {"code": number[:2]},
            code="province",
        )
    _id_birth_date(number, earliest_year)
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The check digit does not match: the ID number has a typing error."), code="check_digit"
        )
    return number


def is_valid_id_number(value: str) -> bool:
    return _passes(check_id_number, value)


def id_number_facts(value: str, *, earliest_year: int = EARLIEST_BIRTH_YEAR) -> IdFacts:
    """Date of birth, gender (odd sequence number: male) and address code of a valid ID number."""
    return checked_id_facts(check_id_number(value, earliest_year=earliest_year))


def checked_id_facts(number: str) -> IdFacts:
    """`id_number_facts` of a number `check_id_number` has answered: read, not checked again (an import reads
    hundreds of thousands)."""
    gender = Gender.MALE if int(number[16]) % 2 else Gender.FEMALE
    born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return IdFacts(born, gender.value, number[:6])


def convert_first_generation_id(value: str) -> str:
    """The 18-digit number of a 15-digit first-generation one: century 19 inserted, check character added."""
    number = _compact(value)
    if not _FIRST_GENERATION.fullmatch(number):
        raise ValidationError(_("A first-generation ID number has 15 digits."), code="first_generation")
    first17 = number[:6] + "19" + number[6:]
    return check_id_number(first17 + id_check_char(first17))


# ------------------------------------------------------------------- unified social credit codes (GB 32100)

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # I, O, Z, S and V are left out
_CREDIT_VALUES = {char: value for value, char in enumerate(CREDIT_CODE_CHARSET)}
# GB/T 17710 MOD 31-3 as GB 32100 uses it: weight of position i (1-based) is 3^(i-1) mod 31; the check character
# makes the weighted sum of the first 17 plus the check value ≡ 0 (mod 31).
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    """The 18th character of the unified social credit code whose first 17 characters are given."""
    if len(first17) != 17 or any(c not in _CREDIT_VALUES for c in first17):
        raise ValueError(f"17 characters of {CREDIT_CODE_CHARSET} expected, not {first17!r}")
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[-total % 31]


def check_credit_code(value: str) -> str:
    """An 18-character unified social credit code of an organisation (GB 32100-2015), upper case."""
    code = _compact(value)
    if not code:
        raise ValidationError(_("Enter the unified social credit code."), code="required")
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(count)d.")
            % {"count": len(code)},
            code="length",
        )
    bad = _first_bad(code, lambda _i, c: c in _CREDIT_VALUES)
    if bad:
        raise ValidationError(
            _(
                "Character %(position)d of the unified social credit code is “%(char)s”, which such codes never "
                "use: they have digits and the capital letters other than I, O, S, V and Z."
            )
            % {"position": bad[0], "char": _shown(bad[1])},
            code="characters",
        )
    bad = _first_bad(code[2:8], lambda _i, c: c in "0123456789")
    if bad:
        raise ValidationError(
            _(
                "Characters 3 to 8 of the unified social credit code are the administrative division code and "
                "must be digits; character %(position)d is “%(char)s”."
            )
            % {"position": bad[0] + 2, "char": bad[1]},
            code="division",
        )
    if credit_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character does not match: the unified social credit code has a typing error."),
            code="check_digit",
        )
    return code


def is_valid_credit_code(value: str) -> bool:
    return _passes(check_credit_code, value)


# ------------------------------------------------------------------------------ component IDs (部件标识码)

COMPONENT_MAJOR_CLASSES = range(1, 8)  # 01–06 of the standard and 07 for locally added (扩展) components


class ComponentId(NamedTuple):
    county: str  # 6-digit administrative division code
    major: str  # "01"–"07"
    minor: str  # "01"–"99"
    serial: int  # 1–999999


def check_component_id(value: str) -> str:
    """A 16-digit component ID: county code, major class, minor class, serial."""
    code = _compact(value)
    if not code:
        raise ValidationError(_("Enter the component ID."), code="required")
    if len(code) != 16:
        raise ValidationError(
            _("A component ID has 16 digits; this one has %(count)d characters.") % {"count": len(code)},
            code="length",
        )
    bad = _first_bad(code, lambda _i, c: c in "0123456789")
    if bad:
        raise ValidationError(
            _("A component ID has only digits; character %(position)d is “%(char)s”.")
            % {"position": bad[0], "char": _shown(bad[1])},
            code="characters",
        )
    if code[:2] not in PROVINCE_CODES:
        raise ValidationError(
            _("The component ID starts with %(code)s, which is no province code: the county code is wrong.")
            % {"code": code[:2]},
            code="county",
        )
    if int(code[6:8]) not in COMPONENT_MAJOR_CLASSES:
        raise ValidationError(
            _("Digits 7 and 8 of the component ID are its major class, 01 to 07, not %(code)s.")
            % {"code": code[6:8]},
            code="major_class",
        )
    if code[8:10] == "00":
        raise ValidationError(
            _("Digits 9 and 10 of the component ID are its minor class, 01 to 99, not 00."),
            code="minor_class",
        )
    if code[10:] == "000000":
        raise ValidationError(
            _("The last six digits of the component ID are its serial number, 000001 to 999999, not 000000."),
            code="serial",
        )
    return code


def is_valid_component_id(value: str) -> bool:
    return _passes(check_component_id, value)


def component_id_parts(value: str) -> ComponentId:
    code = check_component_id(value)
    return ComponentId(code[:6], code[6:8], code[8:10], int(code[10:]))


def _part_number(part: int | str) -> int | None:
    if isinstance(part, int):
        return part
    text = _compact(part)
    return int(text) if text.isascii() and text.isdigit() else None


def make_component_id(county: str, major: int | str, minor: int | str, serial: int | str) -> str:
    """The component ID of its parts; major and minor class as numbers or 2-digit codes."""
    county_code = _compact(county)
    if not re.fullmatch(r"[0-9]{6}", county_code):
        raise ValidationError(
            _("The county code of a component ID has 6 digits, not “%(code)s”.") % {"code": county},
            code="county",
        )
    major_n, minor_n, serial_n = _part_number(major), _part_number(minor), _part_number(serial)
    if major_n is None or major_n not in COMPONENT_MAJOR_CLASSES:
        raise ValidationError(
            _("The major class of a component ID is 01 to 07, not %(value)s.") % {"value": major},
            code="major_class",
        )
    if minor_n is None or not 1 <= minor_n <= 99:
        raise ValidationError(
            _("The minor class of a component ID is 01 to 99, not %(value)s.") % {"value": minor},
            code="minor_class",
        )
    if serial_n is None or not 1 <= serial_n <= 999_999:
        raise ValidationError(
            _("The serial number of a component ID is 1 to 999999, not %(value)s.") % {"value": serial},
            code="serial",
        )
    return check_component_id(f"{county_code}{major_n:02d}{minor_n:02d}{serial_n:06d}")


# ------------------------------------------------------------------------------------------ mobile numbers

# What cases.services.normalise_phone takes away (whitespace, brackets, "+86") plus what else people type around
# a mobile number: dashes, "0086" or "86" in front, full-width digits.
_PHONE_DECORATION = re.compile(r"[\s()\-]")


def check_mobile(value: str) -> str:
    """A mainland mobile number as its 11 bare digits."""
    phone = _PHONE_DECORATION.sub("", _fold(value))
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if not phone:
        raise ValidationError(_("Enter the mobile number."), code="required")
    if phone.startswith("+"):
        raise ValidationError(_("Only mainland mobile numbers (+86) can be registered here."), code="country")
    bad = _first_bad(phone, lambda _i, c: c in "0123456789")
    if bad:
        raise ValidationError(
            _("The mobile number contains “%(char)s”, which is not a digit.") % {"char": _shown(bad[1])},
            code="characters",
        )
    if phone.startswith("0"):
        raise ValidationError(
            _("This looks like a landline number: give a mobile number, 11 digits starting with 1."),
            code="landline",
        )
    if len(phone) != 11:
        raise ValidationError(
            _("A mobile number has 11 digits; this one has %(count)d.") % {"count": len(phone)}, code="length"
        )
    if not re.fullmatch(r"1[3-9]", phone[:2]):
        raise ValidationError(
            _("A mobile number starts with 13 to 19; this one starts with %(prefix)s.")
            % {"prefix": phone[:2]},
            code="prefix",
        )
    return phone


def is_valid_mobile(value: str) -> bool:
    return _passes(check_mobile, value)


# ------------------------------------------------------------------------------ identity document numbers

_HMT_PREFIXES = ("810000", "820000", "830000")


def _check_hmt_residence(value: str) -> str:
    number = check_id_number(value)
    if not number.startswith(_HMT_PREFIXES):
        raise ValidationError(
            _(
                "The number of a residence permit for Hong Kong, Macao and Taiwan residents starts with "
                "810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan)."
            ),
            code="prefix",
        )
    return number


def _check_hk_macao_permit(value: str) -> str:
    number = _compact(value)
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    if number[0] not in "HM":
        raise ValidationError(
            _(
                "The number of a mainland travel permit for Hong Kong and Macao residents starts with "
                "H (Hong Kong) or M (Macao)."
            ),
            code="prefix",
        )
    if not re.fullmatch(r"[0-9]{8}|[0-9]{10}", number[1:]):
        raise ValidationError(
            _(
                "After its H or M, the number of a mainland travel permit for Hong Kong and Macao residents "
                "has 8 digits (10 on older permits)."
            ),
            code="format",
        )
    return number


def _check_taiwan_permit(value: str) -> str:
    # Older permits print a letter for the times issued after the 10 digits, often in brackets: 1234567890(B).
    number = re.sub(r"[()]", "", _compact(value))
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    if not re.fullmatch(r"[0-9]{8}|[0-9]{10}[A-Z]?", number):
        raise ValidationError(
            _(
                "The number of a mainland travel permit for Taiwan residents has 8 digits "
                "(older permits: 10 digits, sometimes followed by a letter)."
            ),
            code="format",
        )
    return number


def _check_foreigner_permanent(value: str) -> str:
    number = _compact(value)
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    if re.fullmatch(r"[A-Z]{3}[0-9]{12}", number):
        return number
    if re.fullmatch(r"9[0-9]{16}[0-9X]", number):
        if id_check_char(number[:17]) != number[17]:
            raise ValidationError(
                _("The check digit does not match: the permanent residence ID number has a typing error."),
                code="check_digit",
            )
        return number
    raise ValidationError(
        _(
            "A foreigner's permanent residence ID number has 3 letters and 12 digits (cards of 2017), "
            "or 18 characters starting with 9 (cards of 2023)."
        ),
        code="format",
    )


def _check_passport(value: str) -> str:
    number = _compact(value)
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    bad = _first_bad(number, lambda _i, c: c.isascii() and c.isalnum())
    if bad:
        raise ValidationError(
            _("A passport number has only letters and digits; character %(position)d is “%(char)s”.")
            % {"position": bad[0], "char": _shown(bad[1])},
            code="characters",
        )
    if not 5 <= len(number) <= 17:
        raise ValidationError(
            _("A passport number has 5 to 17 letters and digits; this one has %(count)d.")
            % {"count": len(number)},
            code="length",
        )
    return number


def _check_other_document(value: str) -> str:
    number = _WHITESPACE.sub(" ", _fold(value)).strip().upper()
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    if len(number) > 40:
        raise ValidationError(
            _("A document number has at most 40 characters; this one has %(count)d.")
            % {"count": len(number)},
            code="length",
        )
    bad = _first_bad(number, lambda _i, c: c.isprintable())
    if bad:
        raise ValidationError(
            _("The document number contains an invisible control character (%(code)s).")
            % {"code": f"U+{ord(bad[1]):04X}"},
            code="characters",
        )
    return number


_DOCUMENT_CHECKS: dict[str, Callable[[str], str]] = {
    DocumentKind.ID_CARD: check_id_number,
    DocumentKind.HMT_RESIDENCE: _check_hmt_residence,
    DocumentKind.HK_MACAO_PERMIT: _check_hk_macao_permit,
    DocumentKind.TAIWAN_PERMIT: _check_taiwan_permit,
    DocumentKind.FOREIGNER_PERMANENT: _check_foreigner_permanent,
    DocumentKind.PASSPORT: _check_passport,
    DocumentKind.OTHER: _check_other_document,
}


def check_document(kind: str, number: str) -> str:
    """The number of an identity document of the given DocumentKind, normalised as that document writes it."""
    check = _DOCUMENT_CHECKS.get(kind)
    if check is None:
        raise ValidationError(
            _("“%(kind)s” is not a known kind of identity document.") % {"kind": kind}, code="document_kind"
        )
    return check(number)


def is_valid_document(kind: str, number: str) -> bool:
    return _passes(lambda n: check_document(kind, n), number)


# ------------------------------------------------------------------------------------------------- names

# Unified and compatibility ideographs with extensions A–H, and 〇, which some given names use.
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_MONGOLIAN_LETTERS = "\u1820-\u1878\u1880-\u18aa"
# Inside Mongolian words: todo soft hyphen, Sibe syllable boundary, nirugu, the free variation selectors, the
# vowel separator, and the narrow no-break space before suffixes.
_MONGOLIAN_IN_WORDS = "\u1806\u1807\u180a-\u180f\u202f"
_MONGOLIAN_PUNCTUATION = "\u1800-\u1805\u1808\u1809"

_NAME_CHAR = re.compile(f"[{_HAN}{_LATIN}\u0300-\u036f{_MONGOLIAN_LETTERS}{_MONGOLIAN_IN_WORDS} ·'.-]")
_NAME_LETTER = re.compile(f"[{_HAN}{_LATIN}{_MONGOLIAN_LETTERS}]")
_MONGOLIAN_NAME_CHAR = re.compile(f"[{_MONGOLIAN_LETTERS}{_MONGOLIAN_IN_WORDS}{_MONGOLIAN_PUNCTUATION} ]")
_MONGOLIAN_LETTER = re.compile(f"[{_MONGOLIAN_LETTERS}]")

# What people type for the middle dot of transliterated names (阿卜杜·热合曼) and for other separators.
_NAME_FOLDING = str.maketrans(
    {
        **{chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)},  # full-width A–Z
        **{chr(c): chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)},  # full-width a–z
        **{chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)},  # full-width digits, refused below
        "\u3000": " ",
        "\uff0e": ".",
        "\uff0d": "-",
        "\uff07": "'",
        "\u2019": "'",
        "\u30fb": "·",
        "\uff65": "·",
        "\u2022": "·",
        "\u2027": "·",
        "\u2219": "·",
        "\u22c5": "·",
        "\u0387": "·",
        "\u2e31": "·",
    }
)
# Every whitespace but the narrow no-break space, which belongs inside Mongolian words.
_NAME_SPACES = re.compile(r"[^\S\u202f]+")
_SPACE_BETWEEN_HAN = re.compile(f"(?<=[{_HAN}]) (?=[{_HAN}])")
_DOT_BETWEEN_HAN = re.compile(f"(?<=[{_HAN}]) ?\\. ?(?=[{_HAN}])")
_SPACE_AROUND_MIDDLE_DOT = re.compile(r" ?· ?")


def _tidy_name(value: str) -> str:
    text = _NAME_SPACES.sub(" ", (value or "").translate(_NAME_FOLDING)).strip()
    text = _DOT_BETWEEN_HAN.sub("·", text)
    text = _SPACE_AROUND_MIDDLE_DOT.sub("·", text)
    return _SPACE_BETWEEN_HAN.sub("", text)


def _refuse_name_char(char: str) -> None:
    """Raise for a character no name has; return for one only some kinds of name have."""
    category = unicodedata.category(char)
    if category == "Nd":
        raise ValidationError(
            _("A name has no digits; this one contains “%(char)s”.") % {"char": char}, code="digits"
        )
    if category[0] == "C":
        raise ValidationError(
            _("The name contains an invisible control character (%(code)s).")
            % {"code": f"U+{ord(char):04X}"},
            code="control",
        )


def check_name(value: str) -> str:
    """A person's name in Chinese characters, Latin letters or Mongolian script, 1 to 50 characters."""
    name = _tidy_name(value)
    if not name:
        raise ValidationError(_("Enter the name."), code="required")
    if len(name) > 50:
        raise ValidationError(
            _("A name has at most 50 characters; this one has %(count)d.") % {"count": len(name)},
            code="length",
        )
    for char in name:
        if not _NAME_CHAR.fullmatch(char):
            _refuse_name_char(char)
            raise ValidationError(
                _(
                    "The name contains “%(char)s”, which names do not have: use Chinese characters, Latin "
                    "letters, Mongolian script and the middle dot “·”."
                )
                % {"char": _shown(char)},
                code="characters",
            )
    if not _NAME_LETTER.search(name):
        raise ValidationError(_("The name has no letters."), code="no_letters")
    return name


def is_valid_name(value: str) -> bool:
    return _passes(check_name, value)


def check_mongolian_name(value: str) -> str:
    """A name in traditional Mongolian script (the field beside the Chinese name), 1 to 100 characters."""
    name = _NAME_SPACES.sub(" ", value or "").strip()
    if not name:
        raise ValidationError(_("Enter the name in Mongolian script."), code="required")
    if len(name) > 100:
        raise ValidationError(
            _("A name in Mongolian script has at most 100 characters; this one has %(count)d.")
            % {"count": len(name)},
            code="length",
        )
    for char in name:
        if not _MONGOLIAN_NAME_CHAR.fullmatch(char):
            _refuse_name_char(char)
            raise ValidationError(
                _("The Mongolian name contains “%(char)s”, which is not traditional Mongolian script.")
                % {"char": _shown(char)},
                code="characters",
            )
    if not _MONGOLIAN_LETTER.search(name):
        raise ValidationError(_("The Mongolian name has no Mongolian letters."), code="no_letters")
    return name
