"""One record per person across the county: found again by their document, moved with a history, carried by
grid adjustments, and never stored in plain text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from shapely.geometry import box

from gridgov.core.errors import Invalid
from gridgov.core.models import AuditRecord
from gridgov.grids.services import do_split_grid
from gridgov.registry.choices import KeyGroup
from gridgov.registry.models import KeyGroupLabel, Person, PersonMove
from gridgov.registry.services import PersonInput, do_move_person, do_register_person
from gridgov.registry.validators import id_check_char


def id_number(body17: str) -> str:
    return body17 + id_check_char(body17)


ZHANG = id_number("15062119800101123")  # a man born 1980-01-01 (odd sequence)


def zhang(grid, **kw) -> PersonInput:
    fields = dict(name="张建国", grid=grid, document_number=ZHANG, phone="13812345678", ethnicity="01")
    fields.update(kw)
    return PersonInput(**fields)


@pytest.mark.django_db
def test_a_person_registered_twice_is_one_record_that_moved(world):
    first = do_register_person(zhang(world.grid), actor=world.specialist)
    assert first.created and not first.moved
    person = first.person
    assert person.gender == "1" and person.birth_date == dt.date(1980, 1, 1)
    assert (
        person.document_masked == ZHANG[:6] + "********" + ZHANG[-4:] and person.phone_masked == "138****5678"
    )

    again = do_register_person(zhang(world.other_grid, name="张建国"), actor=world.other_specialist)
    assert not again.created and again.moved and again.person.pk == person.pk
    assert Person.objects.count() == 1
    person.refresh_from_db()
    assert person.grid_id == world.other_grid.pk and person.grid_l1_id == world.other_grid.l1_id
    history = list(PersonMove.objects.filter(person=person).order_by("moved_at", "id"))
    assert [(m.from_grid_id, m.to_grid_id) for m in history] == [
        (None, world.grid.pk),
        (world.grid.pk, world.other_grid.pk),
    ]
    assert AuditRecord.objects.filter(action="registry.person.update", object_id=str(person.pk)).exists()


@pytest.mark.django_db
def test_bad_fields_are_all_named_and_nothing_is_stored(world):
    bad = zhang(
        world.grid, document_number=ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1"), phone="12345", name=""
    )
    with pytest.raises(Invalid) as exc:
        do_register_person(bad, actor=world.specialist)
    fields = {p["field"] for p in exc.value.data["problems"]}
    assert fields == {"name", "document_number", "phone"}
    assert Person.objects.count() == 0 and PersonMove.objects.count() == 0


@pytest.mark.django_db
def test_a_gender_or_birth_date_contradicting_the_id_number_is_refused(world):
    with pytest.raises(Invalid) as exc:
        do_register_person(zhang(world.grid, gender="2"), actor=world.specialist)
    assert exc.value.field == "gender"
    with pytest.raises(Invalid) as exc:
        do_register_person(zhang(world.grid, birth_date=dt.date(1981, 1, 1)), actor=world.specialist)
    assert exc.value.field == "birth_date"


@pytest.mark.django_db
def test_moving_by_hand_needs_a_reason_and_keeps_the_history(world):
    person = do_register_person(zhang(world.grid), actor=world.specialist).person
    with pytest.raises(Invalid):
        do_move_person(person, world.grid_b, actor=world.specialist, reason=" ")
    moved = do_move_person(person, world.grid_b, actor=world.specialist, reason="搬家")
    assert moved.grid_id == world.grid_b.pk
    assert PersonMove.objects.filter(person=person, to_grid=world.grid_b, reason="搬家").exists()


@pytest.mark.django_db(transaction=True)
def test_a_person_moved_by_a_grid_split_is_in_the_right_new_grid_with_the_move_in_their_history(world):
    # The grid spans 109.0–109.025 × 40.0–40.1: one person lives in each half.
    north_person = do_register_person(zhang(world.grid, lon=109.01, lat=40.08), actor=world.specialist).person
    south_person = do_register_person(
        PersonInput(
            name="王芳",
            grid=world.grid,
            document_number=id_number("15062119900202124"),
            lon=109.01,
            lat=40.02,
            key_groups=[KeyGroup.ELDERLY_ALONE],
        ),
        actor=world.specialist,
    ).person
    north, south = box(109.0, 40.05, 109.025, 40.1), box(109.0, 40.0, 109.025, 40.05)
    pieces = do_split_grid(
        world.grid, [("北片", north), ("南片", south)], actor=None, effective=dt.date.today()
    )
    by_name = {p.name: p for p in pieces}
    for person, piece in ((north_person, by_name["北片"]), (south_person, by_name["南片"])):
        person.refresh_from_db()
        assert (person.grid_id, person.grid_l3_id, person.grid_l2_id) == (
            piece.pk,
            piece.pk,
            world.village.pk,
        )
        move = PersonMove.objects.filter(person=person).order_by("-id").first()
        assert move is not None and (move.from_grid_id, move.to_grid_id) == (world.grid.pk, piece.pk)
        assert move.change is not None and move.change.kind == "split"
    label = KeyGroupLabel.objects.get(person=south_person)
    assert label.grid_l3_id == by_name["南片"].pk
    assert AuditRecord.objects.filter(action="registry.follow_grids").exists()


@pytest.mark.django_db(transaction=True)
def test_no_id_number_phone_or_key_group_reaches_the_database_file_in_plain_text(world):
    numbers = [id_number(f"150621{1950 + n:04d}0101{n:02d}1") for n in range(20)]
    phones = [f"139{n:04d}{n:04d}" for n in range(20)]
    for n, (number, phone) in enumerate(zip(numbers, phones, strict=True)):
        do_register_person(
            PersonInput(
                name="测试" + "甲乙丙丁戊己庚辛壬癸"[n % 10] + "子丑"[n // 10],
                grid=world.grid,
                document_number=number,
                phone=phone,
                key_groups=[KeyGroup.COMMUNITY_CORRECTION],
            ),
            actor=world.specialist,
        )
    if connection.vendor != "sqlite":
        pytest.skip("reads the SQLite database file itself")
    path = Path(connection.settings_dict["NAME"])
    blob = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    for secret in [*numbers, *phones, KeyGroup.COMMUNITY_CORRECTION.value]:
        assert secret.encode() not in blob, "personal data in plain text"
    # The masked forms are there: the scan would have found plain text had it been written.
    assert numbers[0][-4:].encode() in blob
