"""No ID number or phone of the register is kept in plain text (issue: "a scan of the database files, logs and
exports for the seeded ID and phone numbers finds none in plain text").

The small demo county is seeded with its register (persons imported as an office's file, organisations with
phones) and committed to the test database's file; the registry's pages and API are used as the grid's people
use them (the lists, searches by phone and by ID number, a person's page, numbers read in full with a reason,
a mistyped address holding a phone); the register is exported as CSV and XLSX. Everything logged meanwhile goes
to a file through the filters the settings give the logs. Then the database file and its write-ahead log, the
log file and the exports are searched for every number the seed generated: none may be there. The same search
finds the masked forms and the non-secret codes, and finds a phone planted in plain text, so a clean result
means the right bytes were read."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from gridgov.accounts.models import User
from gridgov.core.masking import PersonalDataLogFilter, mask_phone
from gridgov.demo.config import DemoConfig
from gridgov.demo.registry import planned_numbers
from gridgov.demo.seed import seed_demo
from gridgov.registry.exports import export_persons
from gridgov.registry.models import Organisation, Person

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="scans the SQLite database file; PostgreSQL keeps its files on the server",
    ),
]

CONFIG = replace(DemoConfig.small(), cases=0)
# Runs of letters and digits at least as long as the shortest document number (an 8-digit Taiwan permit).
RUN = re.compile(rb"[0-9A-Za-z]{8,}")


def found_in(blob: bytes, needles: set[str]) -> set[str]:
    """The needles that occur in `blob` as ASCII: every run of letters and digits is cut into the needles'
    lengths (a set lookup per piece, not a pass over the blob per needle)."""
    wanted = {n.encode() for n in needles}
    lengths = sorted({len(n) for n in wanted})
    hits = set()
    for match in RUN.finditer(blob):
        run = match.group()
        for size in lengths:
            for start in range(len(run) - size + 1):
                piece = run[start : start + size]
                if piece in wanted:
                    hits.add(piece.decode())
    return hits


def database_bytes() -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    name = Path(connection.settings_dict["NAME"])
    return b"".join(p.read_bytes() for p in (name, Path(f"{name}-wal")) if p.exists())


def export_bytes(data: bytes, name: str) -> bytes:
    """An export as its text: a workbook's parts unpacked (its XML is compressed in the zip)."""
    if not name.endswith(".xlsx"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return b"".join(z.read(i) for i in z.infolist())


@pytest.fixture
def log_file(tmp_path):
    """Everything logged, at every level, into a file through the filters the settings put on the logs."""
    configured = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, PersonalDataLogFilter) for f in h.filters)
    ]
    assert configured, "the settings' log handlers must mask personal data (PersonalDataLogFilter)"
    path = tmp_path / "gridgov.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for f in configured[0].filters:
        handler.addFilter(f)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def use_the_registry(numbers: dict[str, str]) -> None:
    """The grid's keeper, the village head and the town head at work: lists, searches, a person's page,
    numbers read in full, a mistyped address; over the pages and the API."""
    keeper = Client(HTTP_HOST="127.0.0.1")
    keeper.force_login(User.objects.get(username="specialist"))
    head = Client(HTTP_HOST="127.0.0.1")
    head.force_login(User.objects.get(username="l2head"))
    town = Client(HTTP_HOST="127.0.0.1")
    town.force_login(User.objects.get(username="l1head"))
    person = Person.objects.get(pk=numbers["person"])
    for client in (keeper, head, town):
        assert client.get("/registry/").status_code == 200
        assert client.get("/registry/persons/").status_code == 200
        for q in (numbers["phone"], numbers["document"], person.name[:1]):
            assert client.post("/registry/persons/", {"q": q}).status_code == 200
            assert client.get("/api/registry/persons", {"q": q}).status_code == 200
        assert client.get(f"/registry/persons/{person.pk}/").status_code == 200
        assert client.get(f"/api/registry/persons/{person.pk}").status_code == 200
        assert client.get("/registry/organisations/").status_code == 200
        assert client.get("/registry/components/").status_code == 200
    # Read in full, as keepers do: the number goes to the screen, the reading to the audit record.
    for what in ("phone", "document_number"):
        page = keeper.post(f"/registry/persons/{person.pk}/unmask/{what}/", {"reason": "核实身份，办理救助"})
        assert page.status_code == 200
        api = keeper.post(
            f"/api/registry/persons/{person.pk}/unmask",
            {"what": what, "reason": "核实身份，办理救助"},
            HTTP_IDEMPOTENCY_KEY=f"unmask-{what}",
        )
        assert api.status_code == 200
    assert numbers["phone"] in api.content.decode() or numbers["document"] in api.content.decode()
    # A phone typed where an id belongs: the request is refused, and logged.
    assert keeper.get(f"/registry/persons/{numbers['phone']}/").status_code == 404


def test_no_seeded_id_or_phone_number_is_kept_in_plain_text(log_file, tmp_path, working_hours):
    report = seed_demo(CONFIG)
    assert report.plan is not None and report.registry is not None and report.registry.persons > 0
    secrets = planned_numbers(CONFIG, report.plan)
    ids = {n for n in secrets if len(n) == 18}
    phones = {n for n in secrets if len(n) == 11 and n.isdigit()}
    assert len(ids) > CONFIG.persons / 2 and len(phones) > CONFIG.persons / 3

    keeper_grid = User.objects.get(username="specialist").assignments.get().grid_id
    person = (
        Person.objects.filter(grid_id=keeper_grid).exclude(phone_index="").exclude(document_index="").first()
    )
    assert person is not None
    phone = next(p for p in phones if mask_phone(p) == person.phone_masked and _owns(person, p))
    document = next(d for d in ids if _owns_document(person, d))
    use_the_registry({"person": person.pk, "phone": phone, "document": document})

    exports = {}
    for username in ("specialist", "l2head", "l1head", "sysadmin"):
        user = User.objects.get(username=username)
        for fmt in ("csv", "xlsx"):
            data, name = export_persons(user, fmt)
            path = tmp_path / f"{username}-{name}"
            path.write_bytes(data)
            exports[(username, fmt)] = export_bytes(path.read_bytes(), name)

    database = database_bytes()
    logged = log_file.read_bytes()
    assert found_in(database, secrets) == set()
    assert found_in(logged, secrets) == set()
    for export, text in exports.items():
        assert found_in(text, secrets) == set(), export

    # The search reads the right bytes: the masked forms and the non-secret codes are there.
    masked = person.document_masked.encode()
    assert masked in database
    assert masked in exports[("specialist", "csv")] and masked in exports[("specialist", "xlsx")]
    assert mask_phone(phone).encode() in logged  # the refused address, masked on its way to the log
    codes = set(Organisation.objects.values_list("credit_code", flat=True))
    assert found_in(database, codes) == codes
    # And it finds a number written in plain text: a phone typed into an address, committed to the file.
    Organisation.objects.filter(pk=Organisation.objects.order_by("pk").values("pk")[:1]).update(
        address=f"达拉特旗某街1号 联系人电话{phone}"
    )
    assert found_in(database_bytes(), secrets) == {phone}


def _owns(person: Person, phone: str) -> bool:
    from gridgov.core.personal import blind_index

    return blind_index(phone) == person.phone_index


def _owns_document(person: Person, number: str) -> bool:
    from gridgov.registry.services import document_index

    return document_index(person.document_kind, number) == person.document_index
