"""`gridgov backup` / `gridgov restore` on the engine the test database uses (SQLite here, PostgreSQL in CI).

The tests are transactional: the backup reads the database from a separate connection (SQLite's backup API,
pg_dump), which sees only committed rows.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from gridgov.core import audit
from gridgov.core.backup import DATABASE_MEMBER, MANIFEST
from gridgov.core.models import AuditHead, AuditRecord

pytestmark = pytest.mark.django_db(transaction=True)

PHOTO = bytes(range(256)) * 64


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Every test gets its own MEDIA_ROOT: a restore replaces the whole tree, never the developer's var/media."""
    root = tmp_path / "media"
    (root / "evidence" / "2026" / "05").mkdir(parents=True)
    (root / "evidence" / "2026" / "05" / "photo.jpg").write_bytes(PHOTO)
    (root / "evidence" / "证据说明.txt").write_text("现场照片两张", encoding="utf-8")
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def chain_rows() -> list[tuple[Any, ...]]:
    return list(AuditRecord.objects.order_by("id").values_list("id", "action", "data", "prev_hash", "hash"))


def head() -> str | None:
    return AuditHead.objects.filter(pk=1).values_list("last_hash", flat=True).first()


def media_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def state(root: Path) -> tuple[Any, ...]:
    return chain_rows(), head(), media_tree(root)


def backup(path: Path) -> str:
    out = io.StringIO()
    call_command("backup", output=path, stdout=out)
    return out.getvalue()


def restore(archive: Path, **options: Any) -> str:
    out = io.StringIO()
    call_command("restore", str(archive), stdout=out, **options)
    return out.getvalue()


def read_manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:
        f = tar.extractfile(MANIFEST)
        assert f is not None
        return json.loads(f.read())


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Copy an archive member by member, letting `change` alter the bytes (the gzip layer stays valid)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            f = tin.extractfile(member)
            assert f is not None
            data = change(member.name, f.read())
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            info.mode = member.mode
            tout.addfile(info, io.BytesIO(data))


def flip_middle_byte(data: bytes) -> bytes:
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def record(n: int, action: str = "test.backup") -> None:
    for i in range(n):
        audit.atomic_record(action, data={"i": i, "note": "备份测试"})


def test_backup_then_restore_brings_back_rows_and_files_exactly(media: Path, tmp_path: Path) -> None:
    record(5)
    before = state(media)
    archive = tmp_path / "backups" / "b.tar.gz"
    out = backup(archive)
    assert str(archive) in out and "audit records: 5" in out and "Evidence files: 2" in out
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data: readable by its owner only

    manifest = read_manifest(archive)
    assert manifest["engine"] == connection.vendor
    assert manifest["counts"] == {"audit_records": 5, "media_files": 2}
    assert "core" in manifest["migrations"] and manifest["gridgov_version"]
    assert set(manifest["members"]) == {
        DATABASE_MEMBER[connection.vendor],
        "media/evidence/2026/05/photo.jpg",
        "media/evidence/证据说明.txt",
    }
    assert manifest["members"]["media/evidence/2026/05/photo.jpg"]["size"] == len(PHOTO)

    # Life goes on after the backup: entries added and one removed, files added, changed and deleted.
    record(3, "test.after")
    AuditRecord.objects.filter(pk=before[0][0][0]).delete()
    (media / "evidence" / "late.jpg").write_bytes(b"later")
    (media / "evidence" / "2026" / "05" / "photo.jpg").write_bytes(b"overwritten")
    (media / "evidence" / "证据说明.txt").unlink()
    assert audit.verify_chain().reason

    out = restore(archive, yes=True)
    assert state(media) == before
    assert audit.verify_chain().reason == ""
    assert "every checksum matches" in out and "Audit chain intact: 5 records." in out
    # The chain head came back with the rows: the next entry links onto the restored chain.
    record(1, "test.after_restore")
    report = audit.verify_chain()
    assert (report.reason, report.checked) == ("", 6)


def test_restore_into_an_empty_database_needs_no_yes(media: Path, tmp_path: Path) -> None:
    record(2)
    before = state(media)
    archive = tmp_path / "b.tar.gz"
    backup(archive)
    AuditRecord.objects.all().delete()
    AuditHead.objects.all().delete()
    assert "Audit chain intact: 2 records." in restore(archive)
    assert state(media) == before


def test_restore_without_yes_refuses_a_database_that_holds_data(media: Path, tmp_path: Path) -> None:
    record(2)
    archive = tmp_path / "b.tar.gz"
    backup(archive)
    record(1, "test.after")
    before = state(media)
    with pytest.raises(CommandError, match="--yes") as excinfo:
        restore(archive)
    assert "3 audit records" in str(excinfo.value)
    assert state(media) == before


@pytest.mark.parametrize("target", ["database", "media"])
def test_a_tampered_archive_is_refused_and_nothing_changes(media: Path, tmp_path: Path, target: str) -> None:
    record(3)
    archive = tmp_path / "b.tar.gz"
    backup(archive)
    name = DATABASE_MEMBER[connection.vendor] if target == "database" else "media/evidence/2026/05/photo.jpg"
    tampered = tmp_path / "tampered.tar.gz"
    rewrite(archive, tampered, lambda n, data: flip_middle_byte(data) if n == name else data)
    record(1, "test.after")
    (media / "evidence" / "late.jpg").write_bytes(b"later")
    before = state(media)
    with pytest.raises(CommandError, match="damaged or was altered") as excinfo:
        restore(tampered, yes=True)
    assert name in str(excinfo.value)
    assert state(media) == before
    assert not list(tmp_path.glob(".gridgov-restore-*"))  # the staging area is cleaned up


def test_a_truncated_archive_is_refused_and_nothing_changes(media: Path, tmp_path: Path) -> None:
    record(2)
    archive = tmp_path / "b.tar.gz"
    backup(archive)
    data = archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    before = state(media)
    with pytest.raises(CommandError, match="not a readable gridgov backup"):
        restore(truncated, yes=True)
    assert state(media) == before


def test_an_archive_of_the_other_engine_is_refused(media: Path, tmp_path: Path) -> None:
    record(1)
    archive = tmp_path / "b.tar.gz"
    backup(archive)
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"

    def to_other_engine(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["engine"] = other
        return json.dumps(manifest).encode()

    foreign = tmp_path / "foreign.tar.gz"
    rewrite(archive, foreign, to_other_engine)
    before = state(media)
    with pytest.raises(
        CommandError, match=f"holds a {other} database but this server uses {connection.vendor}"
    ):
        restore(foreign, yes=True)
    assert state(media) == before


def test_an_archive_from_newer_code_is_refused(media: Path, tmp_path: Path) -> None:
    record(1)
    archive = tmp_path / "b.tar.gz"
    backup(archive)

    def add_future_migration(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["migrations"]["core"] = ["9999_from_the_future"]
        return json.dumps(manifest).encode()

    newer = tmp_path / "newer.tar.gz"
    rewrite(archive, newer, add_future_migration)
    before = state(media)
    with pytest.raises(CommandError, match="does not know") as excinfo:
        restore(newer, yes=True)
    assert "core.9999_from_the_future" in str(excinfo.value)
    assert state(media) == before


def test_object_storage_archive_holds_the_database_only_and_leaves_media_root_alone(
    settings: Any, media: Path, tmp_path: Path
) -> None:
    filesystem = settings.STORAGES
    settings.STORAGES = {**filesystem, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    record(2)
    archive = tmp_path / "b.tar.gz"
    out = backup(archive)
    assert "object storage" in out
    manifest = read_manifest(archive)
    assert manifest["media_included"] is False
    assert set(manifest["members"]) == {DATABASE_MEMBER[connection.vendor]}

    # Restored where the files are on disk, the archive must not empty MEDIA_ROOT: it never held them.
    settings.STORAGES = filesystem
    before = media_tree(media)
    out = restore(archive, yes=True)
    assert "holds no evidence files" in out and "Audit chain intact: 2 records." in out
    assert media_tree(media) == before


def test_default_output_goes_under_the_var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"
    call_command("backup", stdout=io.StringIO())
    (archive,) = (tmp_path / "var" / "backups").glob("gridgov-*.tar.gz")
    assert archive.name.endswith("Z.tar.gz")
    assert not list(archive.parent.glob("*.partial"))


def test_backup_while_another_thread_writes_restores_to_an_intact_chain(media: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            i = 0
            while not stop.is_set():
                audit.atomic_record("test.concurrent", data={"i": i})
                i += 1
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection; teardown's flush must not wait for it

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while AuditRecord.objects.count() < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        archives = [tmp_path / f"during-{k}.tar.gz" for k in range(2)]
        for archive in archives:
            backup(archive)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    written = AuditRecord.objects.count()
    for archive in archives:
        expected = read_manifest(archive)["counts"]["audit_records"]
        assert 20 <= expected <= written
        out = restore(archive, yes=True)
        assert f"Audit chain intact: {expected} records." in out
        report = audit.verify_chain()
        assert (report.reason, report.checked) == ("", expected)
        assert AuditRecord.objects.count() == expected


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="PostgreSQL's DROP TABLE in pg_restore can deadlock with a live writer (one of them is aborted)",
)
def test_sqlite_restore_while_another_thread_writes_switches_consistently(
    media: Path, tmp_path: Path
) -> None:
    record(10)
    archive = tmp_path / "b.tar.gz"
    backup(archive)
    stop = threading.Event()
    errors: list[BaseException] = []
    written = [0]

    def writer() -> None:
        try:
            while not stop.is_set():
                audit.atomic_record("test.concurrent", data={"i": written[0]})
                written[0] += 1
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 20 and thread.is_alive():
            time.sleep(0.01)
        out = restore(archive, yes=True)
        after_restore = written[0]
        while written[0] < after_restore + 20 and thread.is_alive():
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    # The writer waited for the switch and then appended to the restored chain; verifying in one snapshot
    # does not mistake its commits for a cut-off tail.
    assert "Audit chain intact:" in out
    report = audit.verify_chain()
    assert report.reason == "" and report.checked == AuditRecord.objects.count() > 10
    assert AuditRecord.objects.filter(action="test.concurrent").count() < written[0]
