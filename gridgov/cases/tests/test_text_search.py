"""The case list's text search: exactly the cases whose description or address holds the text, whether the
SQLite trigram index (gridgov/cases/text_search.py) serves it (a rare text of 3+ characters) or LIKE does (a
shorter or a common one); the index follows inserts, edits and deletes, and user input is never FTS syntax."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from gridgov.cases import text_search
from gridgov.cases.models import Case
from gridgov.cases.selectors import CaseFilter, case_list

from .helpers import report_case

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"
only_sqlite = pytest.mark.skipif(not SQLITE, reason="the trigram FTS5 index is SQLite's")


def found(world: Any, q: str) -> set[str]:
    return set(case_list(world.banner_operator, CaseFilter(q=q)).values_list("number", flat=True))


def check_index() -> None:
    """FTS5's own check that the index holds exactly the text of cases_case (raises when it does not)."""
    if SQLITE:
        with connection.cursor() as cursor:
            cursor.execute(text_search.INTEGRITY_CHECK)


def served_by_index(q: str) -> bool:
    return text_search.rare_matches(connection, q) is not None


@pytest.fixture
def texts(world) -> dict[str, Case]:
    return {
        "description": report_case(world, description="路口的窨井盖板断裂了，很危险"),
        "address": report_case(world, description="有个坑", address="幸福路窨井盖板旁边"),
        "both": report_case(world, description="窨井盖板又坏了", address="窨井盖板边上"),
        "other": report_case(world, description="路灯不亮了", address="幸福路12号"),
        "quote": report_case(world, description='牌子上写着"禁止停车"却有人停'),
        "star": report_case(world, description="编号*123的井盖丢了"),
        "or": report_case(world, description="甲 OR 乙的垃圾没人收"),
        "near": report_case(world, description="NEAR(井盖, 3) 是什么意思"),
        "latin": report_case(world, description="The Manhole Cover is broken"),
    }


def numbers(texts: dict[str, Case], *names: str) -> set[str]:
    return {texts[n].number for n in names}


def test_a_rare_word_finds_exactly_the_cases_holding_it(world, texts):
    assert found(world, "窨井盖板") == numbers(texts, "description", "address", "both")
    assert found(world, "盖板断裂") == numbers(texts, "description")
    assert found(world, "板旁边") == numbers(texts, "address")
    assert found(world, "不存在的词") == set()
    assert found(world, "Manhole Cover") == numbers(texts, "latin")
    if SQLITE:
        # As SQLite's LIKE: ASCII letters in any case (PostgreSQL's LIKE, like its trigram index, keeps case).
        assert found(world, "manhole cover") == numbers(texts, "latin")
        assert served_by_index("窨井盖板") and served_by_index("manhole cover")
        sql = str(case_list(world.banner_operator, CaseFilter(q="窨井盖板")).query)
        assert "FROM case_text WHERE case_text MATCH" in sql
    check_index()


def test_a_changed_text_is_found_by_its_new_words_and_not_its_old(world, texts):
    case = texts["other"]
    case.description = "下水道堵塞冒水"
    case.save()
    Case.objects.filter(pk=texts["address"].pk).update(address="光明街8号")
    assert found(world, "下水道堵塞") == numbers(texts, "other")
    assert found(world, "路灯不亮") == set()
    assert found(world, "光明街") == numbers(texts, "address")
    assert found(world, "板旁边") == set()
    assert found(world, "窨井盖板") == numbers(texts, "description", "both")
    check_index()


def test_a_deleted_case_is_gone(world, texts):
    Case.objects.filter(pk=texts["both"].pk).delete()
    assert found(world, "窨井盖板") == numbers(texts, "description", "address")
    check_index()


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ('"禁止停车"', ["quote"]),
        ('写着"禁', ["quote"]),
        ('"', ["quote"]),  # one character: LIKE
        ('"""', []),
        ("号*123", ["star"]),
        ("编号*", ["star"]),
        ("井盖*", []),  # a prefix query would find 井盖丢了 and NEAR(井盖
        ("甲 OR 乙", ["or"]),
        ("窨井 OR 路灯", []),
        ("NEAR(井盖, 3)", ["near"]),
        ("NEAR(", ["near"]),
        ("NEAR(窨井 盖板)", []),
        ("窨井盖板 -断裂", []),
        ("^窨井", []),
        ("description:窨井", []),
        ("{description}:窨井", []),
        ("窨井盖板 AND", []),
        ("(((", []),
    ],
)
def test_fts_syntax_in_the_text_is_only_text(world, texts, q, names):
    assert found(world, q) == numbers(texts, *names)


def test_short_texts_keep_like(world, texts):
    assert found(world, "窨井") == numbers(texts, "description", "address", "both")
    assert found(world, "停") == numbers(texts, "quote")
    if SQLITE:
        assert not served_by_index("窨井") and text_search.available(connection)


def test_a_common_text_is_left_to_like(world, texts, monkeypatch):
    monkeypatch.setattr(text_search, "RARE", 2)
    assert found(world, "窨井盖板") == numbers(texts, "description", "address", "both")
    assert not served_by_index("窨井盖板")
    assert found(world, "盖板断裂") == numbers(texts, "description")


@only_sqlite
def test_after_the_table_is_remade_migrate_puts_the_triggers_back(world, texts):
    """A later migration that remakes cases_case drops its triggers; `ensure` (post_migrate) repairs."""
    with connection.cursor() as cursor:
        text_search.drop_triggers(cursor)
    Case.objects.filter(pk=texts["other"].pk).update(description="井盖被偷走了三个")
    text_search.ensure(connection)
    assert found(world, "井盖被偷") == numbers(texts, "other")
    check_index()
    Case.objects.filter(pk=texts["other"].pk).update(description="又换了")
    assert found(world, "井盖被偷") == set()
    check_index()


@only_sqlite
def test_without_the_index_the_search_still_works(world, texts):
    text_search.drop(connection)
    try:
        assert not text_search.available(connection)
        assert found(world, "窨井盖板") == numbers(texts, "description", "address", "both")
    finally:
        text_search.create(connection)
    assert text_search.available(connection)
    assert found(world, "窨井盖板") == numbers(texts, "description", "address", "both")
    check_index()
