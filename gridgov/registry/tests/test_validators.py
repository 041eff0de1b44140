"""The registry's checks of ID numbers, credit codes, component IDs, mobile numbers, documents and names:
valid numbers built from random parts pass and give their parts back, every typing error the check characters
are built to catch is caught, what people type normalises to one stored form, and every refusal says what is
wrong."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import assume, given
from hypothesis import strategies as st

from gridgov.cases.services import normalise_phone
from gridgov.registry import validators as v
from gridgov.registry.codes import PROVINCE_CODES, DocumentKind, Ethnicity, Gender

DIGITS = "0123456789"
ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # position i+1 weighs 2^(17-i) mod 11
CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # position i+1 weighs 3^i mod 31


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def refusal(check, *args) -> str:
    with pytest.raises(ValidationError) as info:
        check(*args)
    return " ".join(info.value.messages)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# -- strategies ------------------------------------------------------------------------------------------------

provinces = st.sampled_from(sorted(PROVINCE_CODES))


def digit_strings(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=size, max_size=size)


@st.composite
def id_parts(draw) -> tuple[str, dt.date, int]:
    region = draw(provinces) + draw(digit_strings(4))
    born = draw(st.dates(dt.date(1900, 1, 1), timezone.localdate()))
    return region, born, draw(st.integers(0, 999))


def build_id(region: str, born: dt.date, sequence: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + v.id_check_char(first17)


id_numbers = id_parts().map(lambda parts: build_id(*parts))


@st.composite
def credit_codes(draw) -> str:
    head = draw(st.text(alphabet=v.CREDIT_CODE_CHARSET, min_size=2, max_size=2))
    body = draw(st.text(alphabet=v.CREDIT_CODE_CHARSET, min_size=9, max_size=9))
    first17 = head + draw(digit_strings(6)) + body
    return first17 + v.credit_check_char(first17)


@st.composite
def spellings(draw, number: str) -> str:
    """The number as people type it: some characters full-width or lower case, spaces in between."""
    out = []
    for char in number:
        style = draw(st.sampled_from(["plain", "full", "lower"]))
        out.append(full_width(char) if style == "full" else char.lower() if style == "lower" else char)
        out.append(draw(st.sampled_from(["", "", " ", "\u3000", "\t"])))
    return draw(st.sampled_from(["", " ", "\u3000"])) + "".join(out)


def same_after_normalising(old: str, new: str) -> bool:
    """Whether a replacement character is the old one as typed (full-width, lower case): no change at all."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", new)).upper() == old


# -- ID numbers (GB 11643) -------------------------------------------------------------------------------------


def test_the_published_examples_of_the_standard_are_valid():
    assert v.check_id_number("11010519491231002X") == "11010519491231002X"
    assert v.id_number_facts("11010519491231002X") == (dt.date(1949, 12, 31), Gender.FEMALE, "110105")
    # The standard's second example was born in 1880: its check character is right, and it passes once the
    # earliest year allows it; by default a birth before 1900 is refused as a typing error.
    assert v.id_check_char("44052418800101001") == "4"
    assert v.check_id_number("440524188001010014", earliest_year=1800) == "440524188001010014"
    assert v.id_number_facts("440524188001010014", earliest_year=1800) == (dt.date(1880, 1, 1), "1", "440524")
    assert "is before 1900" in refusal(v.check_id_number, "440524188001010014")


@given(id_parts())
def test_a_number_built_from_valid_parts_passes_and_gives_its_parts_back(parts):
    region, born, sequence = parts
    number = build_id(region, born, sequence)
    assert v.check_id_number(number) == number
    assert v.is_valid_id_number(number)
    facts = v.id_number_facts(number)
    assert facts.birth_date == born
    assert facts.gender == (Gender.MALE if sequence % 2 else Gender.FEMALE)
    assert facts.region == region


def test_the_id_check_character_catches_every_single_substitution_and_adjacent_transposition():
    """Why the property tests below can assert "always": the weights are 2^k mod 11 and 11 is prime.

    A substitution d -> d' at position i changes the weighted sum by (d' - d)·w_i; neither factor is 0 mod 11
    (|d' - d| <= 9 and every w_i is a power of 2), so the sum changes and the check character no longer fits.
    Swapping neighbours a, b at positions i, i+1 changes it by (a - b)(w_i - w_(i+1)) = (a - b)·w_(i+1), since
    w_i = 2·w_(i+1) (mod 11): again never 0. With the check character (weight 1) in position 18: (b - a)(2 - 1).
    This test checks the arithmetic over every position and digit pair rather than trusting the argument."""
    weights = [*ID_WEIGHTS, 1]
    for i, w in enumerate(ID_WEIGHTS):
        for a, b in itertools.permutations(range(10), 2):
            assert (a - b) * w % 11 != 0
            assert (a - b) * (w - weights[i + 1]) % 11 != 0


@given(id_numbers, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_the_check_character_alone_catches_a_changed_digit(number, position, replacement):
    assume(replacement != number[position])
    changed = number[:position] + replacement + number[position + 1 :]
    if replacement == "X" and position < 17:
        return  # not a digit there: refused as a character, never reaches the check
    assert v.id_check_char(changed[:17]) != changed[17]


@given(id_numbers, st.integers(0, 17), st.characters())
def test_any_single_changed_character_of_an_id_number_is_refused(number, position, replacement):
    assume(not same_after_normalising(number[position], replacement))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValidationError):
        v.check_id_number(changed)


@given(id_numbers, st.integers(0, 16))
def test_swapping_two_different_neighbouring_characters_is_always_caught(number, position):
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    with pytest.raises(ValidationError):
        v.check_id_number(swapped)
    if "X" not in swapped[:17]:
        assert v.id_check_char(swapped[:17]) != swapped[17]


@given(id_numbers.flatmap(lambda n: st.tuples(st.just(n), spellings(n))))
def test_id_numbers_as_typed_normalise_to_one_form_and_normalising_again_changes_nothing(case):
    number, typed = case
    assert v.check_id_number(typed) == number
    assert v.check_id_number(v.check_id_number(typed)) == v.check_id_number(typed)


def test_a_first_generation_number_is_refused_with_advice_and_converts_to_18_digits():
    assert "convert it to 18 digits" in refusal(v.check_id_number, "110105491231002")
    assert v.convert_first_generation_id("110105 491231 002") == "11010519491231002X"
    assert "15 digits" in refusal(v.convert_first_generation_id, "1101054912310")


def with_check(first17: str) -> str:
    return first17 + v.id_check_char(first17)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the ID number."),
        ("1101051949123100", "An ID number has 18 characters; this one has 16."),
        ("11010519491231002Y", "Character 18 of the ID number is “Y”"),
        ("1101051949I231002X", "Character 11 of the ID number is “I”"),
        (with_check("00010519491231002"), "starts with 00, which is no province code"),
        (with_check("11010519490231002"), "19490231, are not a real date of birth"),
        (with_check("11010518991231002"), "1899-12-31, is before 1900"),
        ("11010519491231002 1", "The check digit does not match: the ID number has a typing error."),
    ],
)
def test_a_refused_id_number_is_told_what_is_wrong(typed, says):
    assert says in refusal(v.check_id_number, typed)


def test_a_date_of_birth_in_the_future_is_refused():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert "lies in the future" in refusal(v.check_id_number, with_check(f"150621{tomorrow:%Y%m%d}001"))


def test_the_check_character_helper_refuses_what_is_not_17_digits():
    with pytest.raises(ValueError):
        v.id_check_char("1101051949123100")
    with pytest.raises(ValueError):
        v.credit_check_char("9144030019220382I")


# -- unified social credit codes (GB 32100) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038216",  # 华为技术有限公司, as published and as in other validators' tests
        "91110108551385082Q",  # 小米科技有限责任公司
        "91310110666007217T",  # the example in Hutool's CreditCodeUtil test
        "91310115591693856A",
    ],
)
def test_published_credit_codes_are_valid(code):
    assert v.check_credit_code(code) == code
    assert v.check_credit_code(code.lower()) == code


def test_the_credit_check_character_catches_every_single_substitution_and_adjacent_transposition():
    """31 is prime and the weights are powers of 3 mod 31 (each w_(i+1) = 3·w_i), so (x' - x)·w_i and
    (a - b)(w_i - w_(i+1)) = -2·w_i·(a - b) are never 0 mod 31 for character values 0..30; nor is
    (a - b)(28 - 1) for position 17 against the check character (weight 1). Checked exhaustively."""
    weights = [*CREDIT_WEIGHTS, 1]
    for i, w in enumerate(CREDIT_WEIGHTS):
        for a, b in itertools.permutations(range(31), 2):
            assert (a - b) * w % 31 != 0
            assert (a - b) * (w - weights[i + 1]) % 31 != 0


@given(credit_codes())
def test_a_credit_code_built_from_valid_parts_passes(code):
    assert v.check_credit_code(code) == code
    assert v.is_valid_credit_code(code)


@given(credit_codes(), st.integers(0, 17), st.sampled_from(v.CREDIT_CODE_CHARSET))
def test_the_credit_check_character_alone_catches_a_changed_character(code, position, replacement):
    assume(replacement != code[position])
    changed = code[:position] + replacement + code[position + 1 :]
    assert v.credit_check_char(changed[:17]) != changed[17]


@given(credit_codes(), st.integers(0, 17), st.characters())
def test_any_single_changed_character_of_a_credit_code_is_refused(code, position, replacement):
    assume(not same_after_normalising(code[position], replacement))
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValidationError):
        v.check_credit_code(changed)


@given(credit_codes(), st.integers(0, 16))
def test_swapping_neighbours_of_a_credit_code_is_caught(code, position):
    assume(code[position] != code[position + 1])
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    with pytest.raises(ValidationError):
        v.check_credit_code(swapped)


@given(credit_codes().flatmap(lambda c: st.tuples(st.just(c), spellings(c))))
def test_credit_codes_as_typed_normalise_to_one_form(case):
    code, typed = case
    assert v.check_credit_code(typed) == code
    assert v.check_credit_code(v.check_credit_code(typed)) == code


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the unified social credit code."),
        ("91440300192203821", "has 18 characters; this one has 17"),
        ("9144030019220382I6", "Character 17 of the unified social credit code is “I”"),
        ("91440A001922038216", "Characters 3 to 8 of the unified social credit code are the administrative"),
        ("914403001922038217", "The check character does not match"),
        # A real code of the Fujian pilot that predates the standard's check: refused by the strict rule.
        ("91350100M0001TGQXM", "The check character does not match"),
    ],
)
def test_a_refused_credit_code_is_told_what_is_wrong(typed, says):
    assert says in refusal(v.check_credit_code, typed)


def test_a_letter_in_the_division_code_is_named_by_its_position():
    assert "character 7 is “A”" in refusal(v.check_credit_code, "914403A01922038216")


# -- component IDs ---------------------------------------------------------------------------------------------


components = st.tuples(
    provinces.flatmap(lambda p: digit_strings(4).map(lambda rest: p + rest)),
    st.integers(1, 7),
    st.integers(1, 99),
    st.integers(1, 999_999),
)


@given(components)
def test_a_component_id_made_from_parts_gives_them_back(parts):
    county, major, minor, serial = parts
    code = v.make_component_id(county, major, minor, serial)
    assert len(code) == 16
    assert v.check_component_id(code) == code
    assert v.component_id_parts(code) == (county, f"{major:02d}", f"{minor:02d}", serial)
    assert v.make_component_id(*v.component_id_parts(code)) == code


def test_the_recorded_component_id_splits_into_county_classes_and_serial():
    parts = v.component_id_parts("3205 0801 0100 0001")
    assert parts == v.ComponentId("320508", "01", "01", 1)
    assert v.make_component_id("320508", "01", "01", 1) == "3205080101000001"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the component ID."),
        ("320508010100001", "A component ID has 16 digits; this one has 15 characters."),
        ("32050801010000A1", "character 15 is “A”"),
        ("0005080101000001", "starts with 00, which is no province code"),
        ("3205080801000001", "major class, 01 to 07, not 08"),
        ("3205080100000001", "minor class, 01 to 99, not 00"),
        ("3205080101000000", "serial number, 000001 to 999999, not 000000"),
    ],
)
def test_a_refused_component_id_is_told_what_is_wrong(typed, says):
    assert says in refusal(v.check_component_id, typed)


@pytest.mark.parametrize(
    ("parts", "says"),
    [
        (("32050", 1, 1, 1), "county code of a component ID has 6 digits"),
        (("320508", 8, 1, 1), "major class of a component ID is 01 to 07, not 8"),
        (("320508", "x", 1, 1), "major class of a component ID is 01 to 07, not x"),
        (("320508", 1, 100, 1), "minor class of a component ID is 01 to 99, not 100"),
        (("320508", 1, 1, 1_000_000), "serial number of a component ID is 1 to 999999, not 1000000"),
        (("320508", 1, 1, 0), "not 0"),
    ],
)
def test_making_a_component_id_from_bad_parts_names_the_part(parts, says):
    assert says in refusal(v.make_component_id, *parts)


# -- mobile numbers --------------------------------------------------------------------------------------------


mobiles = st.tuples(st.sampled_from("3456789"), digit_strings(9)).map(lambda t: "1" + t[0] + t[1])


@st.composite
def mobile_spellings(draw, phone: str) -> str:
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "(+86) ", "86", "0086 ", "+86-", "＋８６ "]))
    sep = draw(st.sampled_from(["", " ", "-", "\u3000"]))
    body = phone[:3] + sep + phone[3:7] + sep + phone[7:]
    if draw(st.booleans()):
        body = full_width(body)
    return prefix + body


@given(mobiles.flatmap(lambda p: st.tuples(st.just(p), mobile_spellings(p))))
def test_every_accepted_spelling_of_a_mobile_number_gives_the_same_11_digits(case):
    phone, typed = case
    assert v.check_mobile(typed) == phone
    assert v.check_mobile(v.check_mobile(typed)) == phone


@given(mobiles, st.sampled_from(["", "+86", "+86 ", "(+86)", " "]), st.sampled_from(["", " "]))
def test_what_the_case_intake_takes_as_a_mobile_number_the_registry_takes_as_the_same(phone, prefix, sep):
    typed = prefix + phone[:3] + sep + phone[3:7] + sep + phone[7:]
    assert v.check_mobile(typed) == normalise_phone(typed) == phone


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the mobile number."),
        ("+852 9123 4567", "Only mainland mobile numbers (+86)"),
        ("138OO138000", "contains “O”, which is not a digit"),
        ("0477-5123456", "looks like a landline number"),
        ("1380013800", "A mobile number has 11 digits; this one has 10."),
        ("12800138000", "starts with 13 to 19; this one starts with 12"),
    ],
)
def test_a_refused_mobile_number_is_told_what_is_wrong(typed, says):
    assert says in refusal(v.check_mobile, typed)


# -- identity documents ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        (DocumentKind.ID_CARD, "11010519491231002x", "11010519491231002X"),
        (DocumentKind.HMT_RESIDENCE, with_check("81000019800101001"), with_check("81000019800101001")),
        (DocumentKind.HMT_RESIDENCE, with_check("83000019991231002"), with_check("83000019991231002")),
        (DocumentKind.HK_MACAO_PERMIT, "h12345678", "H12345678"),
        (DocumentKind.HK_MACAO_PERMIT, "M 1234567890", "M1234567890"),
        (DocumentKind.TAIWAN_PERMIT, "12345678", "12345678"),
        (DocumentKind.TAIWAN_PERMIT, "1234567890(b)", "1234567890B"),
        (DocumentKind.FOREIGNER_PERMANENT, "usa110123456789", "USA110123456789"),
        (DocumentKind.FOREIGNER_PERMANENT, with_check("91184019900101123"), with_check("91184019900101123")),
        (DocumentKind.PASSPORT, " e12345678 ", "E12345678"),
        (DocumentKind.PASSPORT, "ＥＡ１２３", "EA123"),
        (DocumentKind.OTHER, "  军官证  第 12 号 ", "军官证 第 12 号"),
    ],
)
def test_document_numbers_are_accepted_and_normalised(kind, typed, stored):
    assert v.check_document(kind, typed) == stored
    assert v.check_document(kind, stored) == stored
    assert v.is_valid_document(kind, typed)


@pytest.mark.parametrize(
    ("kind", "typed", "says"),
    [
        (DocumentKind.ID_CARD, "11010519491231002", "has 18 characters; this one has 17"),
        (DocumentKind.HMT_RESIDENCE, "11010519491231002X", "starts with 810000 (Hong Kong), 820000 (Macao)"),
        (DocumentKind.HMT_RESIDENCE, "810000198001010011", "The check digit does not match"),
        (DocumentKind.HK_MACAO_PERMIT, "C12345678", "starts with H (Hong Kong) or M (Macao)"),
        (DocumentKind.HK_MACAO_PERMIT, "H123456789", "has 8 digits (10 on older permits)"),
        (DocumentKind.TAIWAN_PERMIT, "1234567", "has 8 digits (older permits: 10 digits"),
        (DocumentKind.FOREIGNER_PERMANENT, "US110123456789", "3 letters and 12 digits"),
        (
            DocumentKind.FOREIGNER_PERMANENT,
            "911840199001011231",
            "permanent residence ID number has a typing",
        ),
        (DocumentKind.PASSPORT, "E123", "5 to 17 letters and digits; this one has 4"),
        (DocumentKind.PASSPORT, "E1234-5678", "character 6 is “-”"),
        (DocumentKind.OTHER, "x" * 41, "at most 40 characters; this one has 41"),
        (DocumentKind.OTHER, "No.\x0712", "invisible control character (U+0007)"),
        (DocumentKind.OTHER, "   ", "Enter the document number."),
        ("driving_licence", "123", "“driving_licence” is not a known kind of identity document"),
    ],
)
def test_a_refused_document_number_is_told_what_is_wrong(kind, typed, says):
    assert says in refusal(v.check_document, kind, typed)


# -- names -----------------------------------------------------------------------------------------------------

MONGOLIAN_NAME = (
    "ᠪᠠᠲᠤ\u202fᠶᠢᠨ ᠮᠥ\u180bᠩᠬᠡ"  # a suffix after a narrow no-break space and a variation selector
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  张三 ", "张三"),
        ("张 三", "张三"),
        ("买买提·吐尔逊", "买买提·吐尔逊"),
        ("买买提・吐尔逊", "买买提·吐尔逊"),
        ("买买提.吐尔逊", "买买提·吐尔逊"),
        ("买买提 • 吐尔逊", "买买提·吐尔逊"),
        ("王〇", "王〇"),
        ("𠮷田", "𠮷田"),
        ("Jean-Luc O'Brien", "Jean-Luc O'Brien"),
        ("Zoë  Müller", "Zoë Müller"),
        ("ＬＩ Ｗｅｉ", "LI Wei"),
        (MONGOLIAN_NAME, MONGOLIAN_NAME),
        ("巴特尔 ᠪᠠᠲᠤ", "巴特尔 ᠪᠠᠲᠤ"),
    ],
)
def test_names_in_chinese_latin_and_mongolian_script_are_accepted(typed, stored):
    assert v.check_name(typed) == stored
    assert v.check_name(stored) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("   ", "Enter the name."),
        ("张" * 51, "at most 50 characters; this one has 51"),
        ("张三3", "A name has no digits; this one contains “3”."),
        ("张三３", "A name has no digits; this one contains “3”."),
        ("ᠪᠠᠲᠤ᠑", "A name has no digits; this one contains “᠑”."),
        ("张\x07三", "invisible control character (U+0007)"),
        ("张\u200b三", "invisible control character (U+200B)"),
        ("张三😀", "The name contains “😀”, which names do not have"),
        ("张三（小）", "The name contains “（”"),
        ("ᠪᠠᠲᠤ᠂", "The name contains “᠂”"),
        ("·-", "The name has no letters."),
    ],
)
def test_a_refused_name_is_told_what_is_wrong(typed, says):
    assert says in refusal(v.check_name, typed)


name_chars = st.sampled_from(
    [*"张三买提吐尔逊王〇𠮷AbcZéü ·'-.", "ᠪ", "ᠠ", "ᠲ", "ᠤ", "\u202f", "\u180b", "\u3000", "・"]
)


@given(st.text(name_chars, min_size=1, max_size=60))
def test_checking_a_name_again_changes_nothing(typed):
    try:
        name = v.check_name(typed)
    except ValidationError:
        return
    assert v.check_name(name) == name
    assert 1 <= len(name) <= 50
    assert name == name.strip()


def test_a_mongolian_name_may_carry_mongolian_punctuation_and_nothing_else():
    assert v.check_mongolian_name(f"  {MONGOLIAN_NAME}᠂ ") == f"{MONGOLIAN_NAME}᠂"
    assert v.check_mongolian_name("ᠪᠠᠲᠤ\u3000ᠮᠥᠩᠬᠡ") == "ᠪᠠᠲᠤ ᠮᠥᠩᠬᠡ"
    assert "Enter the name in Mongolian script." in refusal(v.check_mongolian_name, "")
    assert "“巴”, which is not traditional Mongolian script" in refusal(v.check_mongolian_name, "巴特尔")
    assert "“B”, which is not traditional Mongolian script" in refusal(v.check_mongolian_name, "ᠪᠠᠲᠤ Batu")
    assert "A name has no digits; this one contains “᠑”." in refusal(v.check_mongolian_name, "ᠪᠠᠲᠤ᠑")
    assert "has no Mongolian letters" in refusal(v.check_mongolian_name, "᠂᠃")
    assert "at most 100 characters; this one has 101" in refusal(v.check_mongolian_name, "ᠠ" * 101)


# -- code tables -----------------------------------------------------------------------------------------------


def test_the_code_tables_hold_the_national_codes():
    assert Gender.values == ["0", "1", "2", "9"]
    assert Ethnicity.values == [f"{n:02d}" for n in range(1, 57)] + ["97", "98"]
    assert (Ethnicity.HAN, Ethnicity.MONGOL, Ethnicity.KOREAN, Ethnicity.JINO) == ("01", "02", "10", "56")
    assert DocumentKind.values == [
        "id_card",
        "hmt_residence",
        "hk_macao_permit",
        "taiwan_permit",
        "foreigner_permanent",
        "passport",
        "other",
    ]
    assert {"15", "71", "81", "82", "83", "91"} <= PROVINCE_CODES
    assert not {"10", "16", "20", "24", "47", "55", "66", "72", "84", "90"} & PROVINCE_CODES
