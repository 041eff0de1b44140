"""Backup and restore of the database and the evidence files (MEDIA_ROOT) while the server runs.

One archive (`.tar.gz`) holds `manifest.json` (format, engine, migration heads, sha256 and size of every
other member), the database (`database.sqlite3`, a copy made with SQLite's online backup API, or
`database.dump`, a `pg_dump --format=custom`) and `media/…`, every file under MEDIA_ROOT. The module is
generic: it knows the database, MEDIA_ROOT and the audit chain of `core`, never a domain app.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path, PurePosixPath
from typing import IO, Any

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import FileSystemStorage
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .audit import ChainReport, verify_chain
from .models import AuditRecord

FORMAT = "gridgov-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media/"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator (already translated)."""


@dataclass
class BackupResult:
    path: Path
    size: int
    engine: str
    database_size: int
    audit_records: int
    media_files: int
    media_bytes: int
    # False when evidence files live in object storage: the archive then holds the database only.
    media_included: bool


@dataclass
class RestoreResult:
    engine: str
    created_at: str
    members: int
    media_files: int
    media_bytes: int
    media_restored: bool
    # False for an archive made while evidence files were in object storage: MEDIA_ROOT is left alone.
    media_in_archive: bool
    media_root: Path
    # Migrations this code has that the restored database lacks: `gridgov migrate` brings it up to date.
    pending_migrations: list[str] = field(default_factory=list)
    chain: ChainReport | None = None
    # Set when verify_chain() itself failed (e.g. the restored schema is older than the code).
    chain_error: str = ""


@dataclass
class _Facts:
    """What the snapshot itself says, read inside the snapshot so the manifest matches the copy exactly."""

    migrations: dict[str, list[str]]
    audit_records: int


# --- helpers ----------------------------------------------------------------------------------------------


def _vendor(using: str) -> str:
    vendor = connections[using].vendor
    if vendor not in DATABASE_MEMBER:
        raise BackupError(
            _("Backup supports SQLite and PostgreSQL; this database is %(vendor)s.") % {"vendor": vendor}
        )
    return vendor


def _sqlite_path(settings_dict: dict[str, Any]) -> str:
    name = str(settings_dict["NAME"] or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        raise BackupError(_("An in-memory SQLite database cannot be backed up or restored."))
    return name


def _sqlite_connect(name: str, timeout: float) -> sqlite3.Connection:
    # Django opens NAME with uri=True, so a `file:` URI is a valid setting; a plain path is taken as is.
    return sqlite3.connect(name, timeout=timeout, uri=name.startswith("file:"))


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq environment for pg_dump/pg_restore. The password goes through PGPASSWORD: on the command line
    every local user could read it in the process list."""
    env = dict(os.environ)
    options = settings_dict.get("OPTIONS") or {}
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    for key, var in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("passfile", "PGPASSFILE"),
        ("service", "PGSERVICE"),
    ):
        if options.get(key):
            env[var] = str(options[key])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "%(tool)s was not found: install the PostgreSQL client programs "
                "(the same major version as the server or newer)."
            )
            % {"tool": name}
        )
    return path


def _run_pg_tool(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
    if result.returncode != 0:
        raise BackupError(
            _("%(tool)s failed (exit status %(code)d): %(error)s")
            % {"tool": Path(argv[0]).name, "code": result.returncode, "error": result.stderr.strip()[-2000:]}
        )


def _media_enabled() -> bool:
    """Evidence files are on this machine's disk only with a filesystem storage; object storage (S3) keeps
    them elsewhere and is backed up with the bucket's own tools."""
    backend = settings.STORAGES.get("default", {}).get("BACKEND", "")
    try:
        return issubclass(import_string(backend), FileSystemStorage)
    except ImportError:
        return False


def media_backend() -> str:
    return str(settings.STORAGES.get("default", {}).get("BACKEND", ""))


def _migration_loader() -> MigrationLoader:
    # No connection: the graph of the code on disk, independent of what any database has applied.
    return MigrationLoader(None, ignore_no_migrations=True)


def _migration_heads(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Per app, the applied migrations that no other applied migration of the app follows."""
    applied = set(rows)
    graph = _migration_loader().graph
    heads: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        node = graph.node_map.get((app, name))
        if node is not None and any(c.key in applied and c.key[0] == app for c in node.children):
            continue
        heads.setdefault(app, []).append(name)
    return heads


def _read_facts(cursor: Any, tables: set[str]) -> _Facts:
    rows: list[tuple[str, str]] = []
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations")
        rows = [(str(a), str(n)) for a, n in cursor.fetchall()]
    audit_records = 0
    table = AuditRecord._meta.db_table
    if table in tables:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - the model's own table name
        audit_records = int(cursor.fetchone()[0])
    return _Facts(_migration_heads(rows), audit_records)


class _HashingReader:
    """Hands tarfile the bytes of a file and hashes exactly those bytes, so the manifest describes what the
    archive holds even if the file changes while it is read."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._f = fileobj
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> dict[str, Any]:
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        info = tarfile.TarInfo(arcname)
        info.size = st.st_size
        info.mtime = int(st.st_mtime)
        info.mode = st.st_mode & 0o777
        reader = _HashingReader(f)
        tar.addfile(info, reader)  # type: ignore[arg-type]  # tarfile only calls read()
    return {"sha256": reader.sha256.hexdigest(), "size": reader.size}


def _iter_media(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under MEDIA_ROOT, in a stable order; symbolic links are not followed (they could lead
    out of MEDIA_ROOT and would not be restored as links anyway)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path, MEDIA_PREFIX + path.relative_to(root).as_posix()


# --- backup -----------------------------------------------------------------------------------------------


def default_output_path() -> Path:
    var_dir = Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR).parent / "var"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return var_dir / "backups" / f"gridgov-{stamp}.tar.gz"


def _snapshot_sqlite(settings_dict: dict[str, Any], dest: Path) -> _Facts:
    name = _sqlite_path(settings_dict)
    timeout = float((settings_dict.get("OPTIONS") or {}).get("timeout", 20))
    source = _sqlite_connect(name, timeout)
    target = sqlite3.connect(dest)
    try:
        # One step (pages=-1) copies every page inside a single read transaction: in WAL mode writers go on
        # committing to the WAL meanwhile and the copy is the database as of the start of that transaction.
        # Copying in several steps would restart each time another connection writes.
        source.backup(target)
        # The copied header says WAL; switch the copy to a rollback journal so it is one self-contained file.
        target.execute("PRAGMA journal_mode=DELETE")
        tables = {r[0] for r in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return _read_facts(target.cursor(), tables)
    finally:
        target.close()
        source.close()


def _snapshot_postgresql(using: str, dest: Path) -> _Facts:
    settings_dict = connections[using].settings_dict
    pg_dump = _pg_tool("pg_dump")
    # A separate connection holds a REPEATABLE READ transaction and exports its snapshot; pg_dump dumps that
    # same snapshot, so the migration heads and counts of the manifest are those of the dump.
    conn = connections[using].copy()
    try:
        with conn.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts = _read_facts(cursor, set(conn.introspection.table_names(cursor)))
            _run_pg_tool(
                [pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={dest}"],
                _pg_env(settings_dict),
            )
            cursor.execute("ROLLBACK")
        return facts
    finally:
        conn.close()


def create_backup(output: Path | None = None, *, using: str = "default") -> BackupResult:
    """Write one archive of the database and MEDIA_ROOT; consistent while the server keeps writing."""
    engine = _vendor(using)
    output = Path(output) if output else default_output_path()
    if output.exists():
        raise BackupError(_("%(path)s already exists; choose another --output.") % {"path": output})
    media_root = Path(settings.MEDIA_ROOT)
    media_included = _media_enabled()
    if media_included and _is_within(output, media_root):
        # The archive would copy itself while it grows.
        raise BackupError(
            _("The archive cannot be written inside MEDIA_ROOT (%(media)s), which it copies.")
            % {"media": media_root}
        )
    output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    members: dict[str, dict[str, Any]] = {}
    media_files = media_bytes = 0
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".gridgov-backup-", dir=output.parent) as tmp:
        db_member = DATABASE_MEMBER[engine]
        db_file = Path(tmp) / db_member
        # The database FIRST, then the files. An evidence file is written to MEDIA_ROOT before the row that
        # references it commits, so every file the snapshot references already exists when MEDIA_ROOT is
        # copied next; files that arrive later are copied too and are merely unreferenced in the restore.
        if engine == "sqlite":
            facts = _snapshot_sqlite(connections[using].settings_dict, db_file)
        else:
            facts = _snapshot_postgresql(using, db_file)
        # The archive holds personal data: only its owner may read it, from the first byte on.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                members[db_member] = _add_file(tar, db_file, db_member)
                if media_included:
                    for path, arcname in _iter_media(media_root):
                        try:
                            members[arcname] = _add_file(tar, path, arcname)
                        except FileNotFoundError:
                            continue  # removed between listing and reading: it is not in the snapshot either
                        media_files += 1
                        media_bytes += members[arcname]["size"]
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "engine": engine,
                    "migrations": facts.migrations,
                    "gridgov_version": _gridgov_version(),
                    "django_version": django.get_version(),
                    "counts": {"audit_records": facts.audit_records, "media_files": media_files},
                    "media_included": media_included,
                    "members": members,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(datetime.now(UTC).timestamp())
                info.mode = 0o600
                # Last, because it lists the checksums of everything before it.
                tar.addfile(info, io.BytesIO(data))
            os.replace(partial, output)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
    return BackupResult(
        path=output,
        size=output.stat().st_size,
        engine=engine,
        database_size=members[db_member]["size"],
        audit_records=facts.audit_records,
        media_files=media_files,
        media_bytes=media_bytes,
        media_included=media_included,
    )


def _is_within(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _gridgov_version() -> str:
    try:
        return package_version("gridgov")
    except PackageNotFoundError:
        return "unknown"


# --- restore ----------------------------------------------------------------------------------------------


def database_contents(using: str = "default") -> tuple[int, int]:
    """(audit records, users) in the target database: what a restore would overwrite. Every change in
    gridgov leaves an audit record, so a database without either holds nothing worth keeping (migrations
    alone seed reference data such as the working calendar)."""
    counts = []
    for model in (AuditRecord, get_user_model()):
        try:
            counts.append(model._default_manager.db_manager(using).count())
        except DatabaseError:
            counts.append(0)  # the table does not exist: the database is not even migrated
    return counts[0], counts[1]


def _safe_member_name(name: str) -> bool:
    if name == MANIFEST or name in DATABASE_MEMBER.values():
        return True
    if not name.startswith(MEDIA_PREFIX):
        return False
    parts = PurePosixPath(name).parts
    return len(parts) > 1 and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _extract_and_verify(archive: Path, staging: Path) -> dict[str, Any]:
    """Extract into `staging`, hashing every member on the way, and check them against the manifest.
    Nothing outside `staging` is written."""
    unreadable = _("%(path)s is not a readable gridgov backup archive: %(error)s")
    found: dict[str, dict[str, Any]] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                name = member.name
                if not member.isfile() or not _safe_member_name(name) or name in found:
                    raise BackupError(
                        unreadable
                        % {"path": archive, "error": _("unexpected member %(name)s") % {"name": name}}
                    )
                src = tar.extractfile(member)
                assert src is not None  # a regular file always has contents
                if name == MANIFEST:
                    manifest_bytes = src.read()
                    found[name] = {}
                    continue
                dest = staging / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with dest.open("wb") as out:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[name] = {"sha256": digest.hexdigest(), "size": size}
            # Read the compressed stream to its end so gzip checks its CRC: the manifest has no checksum of
            # its own, and this catches a damaged manifest (or trailing garbage) too.
            if tar.fileobj is not None:
                while tar.fileobj.read(CHUNK):
                    pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BackupError(unreadable % {"path": archive, "error": exc}) from exc
    if manifest_bytes is None:
        raise BackupError(unreadable % {"path": archive, "error": _("no manifest.json")})
    try:
        manifest = json.loads(manifest_bytes)
        listed: dict[str, dict[str, Any]] = manifest["members"]
        ok_format = manifest.get("format") == FORMAT
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(unreadable % {"path": archive, "error": exc}) from exc
    if not ok_format:
        raise BackupError(unreadable % {"path": archive, "error": _("unknown format")})
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BackupError(
            _(
                "%(path)s was written by a newer gridgov (backup format %(version)s); restore it with that version."
            )
            % {"path": archive, "version": manifest.get("format_version")}
        )
    found.pop(MANIFEST)
    bad = sorted(
        name
        for name in set(listed) | set(found)
        if name not in listed
        or name not in found
        or (found[name]["sha256"], found[name]["size"])
        != (listed[name].get("sha256"), listed[name].get("size"))
    )
    if bad:
        raise BackupError(
            _(
                "%(path)s is damaged or was altered: %(count)d member(s) missing or not matching the "
                "manifest's checksums (%(names)s). Nothing was changed."
            )
            % {
                "path": archive,
                "count": len(bad),
                "names": ", ".join(bad[:5]) + (", …" if len(bad) > 5 else ""),
            }
        )
    return manifest


def _check_migrations(manifest: dict[str, Any]) -> list[str]:
    """Refuse a database whose schema this code does not know; list the migrations it still needs."""
    loader = _migration_loader()
    graph = loader.graph
    known = set(graph.nodes)
    for migration in loader.replacements.values():
        known.update(migration.replaces)
    heads = [(app, name) for app, names in (manifest.get("migrations") or {}).items() for name in names]
    unknown = sorted(f"{app}.{name}" for app, name in heads if (app, name) not in known)
    if unknown:
        raise BackupError(
            _(
                "The archive's database has migrations this code does not know (%(names)s): it was made by "
                "a newer or different gridgov. Restore it with that version. Nothing was changed."
            )
            % {"names": ", ".join(unknown)}
        )
    covered: set[tuple[str, str]] = set()
    for key in heads:
        if key in graph.nodes:
            covered.update(graph.forwards_plan(key))
    return sorted(f"{app}.{name}" for app, name in graph.leaf_nodes() if (app, name) not in covered)


def _restore_sqlite(settings_dict: dict[str, Any], staged: Path) -> None:
    name = _sqlite_path(settings_dict)
    timeout = float((settings_dict.get("OPTIONS") or {}).get("timeout", 20))
    source = sqlite3.connect(f"{staged.resolve().as_uri()}?mode=ro", uri=True)
    target = _sqlite_connect(name, timeout)
    try:
        # The backup API writes the pages into the live file under SQLite's own locking (through the WAL
        # when the target is in WAL mode, which it keeps): other connections wait on the lock and then see
        # either the old database or the restored one, never a half-copied file as a file copy would give.
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(_("Restoring the SQLite database failed: %(error)s") % {"error": exc}) from exc
    finally:
        target.close()
        source.close()


def _restore_postgresql(settings_dict: dict[str, Any], staged: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    dbname = settings_dict.get("NAME")
    if not dbname:
        raise BackupError(_("DATABASES['default'] names no PostgreSQL database to restore into."))
    # One transaction: a failing restore rolls back and leaves the database as it was. DROP TABLE waits for
    # the transactions of a running server; a request that then needs a table pg_restore holds can deadlock
    # with it and PostgreSQL aborts one of the two (the request fails, or pg_restore fails and changes
    # nothing), so a restore on PostgreSQL is best made with the server stopped.
    _run_pg_tool(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={dbname}",
            str(staged),
        ],
        _pg_env(settings_dict),
    )


def _replace_media(staged: Path, media_root: Path) -> None:
    """Put the staged tree in place of MEDIA_ROOT: two renames on one filesystem, so the tree is never seen
    half-restored. A MEDIA_ROOT that cannot be renamed (a mount point) is emptied and filled instead."""
    staged.mkdir(parents=True, exist_ok=True)
    if media_root.exists():
        with contextlib.suppress(OSError):
            os.chmod(staged, media_root.stat().st_mode & 0o777)
        old = media_root.with_name(f".{media_root.name}-old-{os.getpid()}")
        try:
            os.rename(media_root, old)
        except OSError:
            for child in media_root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            for child in staged.iterdir():
                shutil.move(str(child), media_root / child.name)
            return
        os.rename(staged, media_root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        media_root.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, media_root)


def restore_backup(archive: Path, *, overwrite: bool = False, using: str = "default") -> RestoreResult:
    """Restore an archive of `create_backup()` over the configured database and MEDIA_ROOT, then verify the
    audit chain. Every check runs before anything is changed."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(_("%(path)s does not exist.") % {"path": archive})
    engine = _vendor(using)
    connection = connections[using]
    if connection.in_atomic_block:
        raise BackupError(_("A restore cannot run inside a database transaction."))
    records, users = database_contents(using)
    if (records or users) and not overwrite:
        raise BackupError(
            _(
                "The database already holds data (%(records)d audit records, %(users)d users). A restore "
                "replaces all of it, and every evidence file, with the archive's contents. Make a backup of "
                "the current state if you may need it, then run again with --yes."
            )
            % {"records": records, "users": users}
        )
    media_root = Path(settings.MEDIA_ROOT)
    if _media_enabled() and _is_within(archive, media_root):
        raise BackupError(
            _("Move the archive out of MEDIA_ROOT (%(media)s) first: the restore replaces that directory.")
            % {"media": media_root}
        )
    # Stage next to MEDIA_ROOT so the restored tree moves into place by renaming, not copying.
    media_root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".gridgov-restore-", dir=media_root.parent))
    try:
        manifest = _extract_and_verify(archive, staging)
        if manifest.get("engine") != engine:
            raise BackupError(
                _(
                    "The archive holds a %(archive)s database but this server uses %(current)s; a backup "
                    "restores only into the same engine. Nothing was changed."
                )
                % {"archive": manifest.get("engine"), "current": engine}
            )
        db_member = DATABASE_MEMBER[engine]
        if db_member not in manifest["members"]:
            raise BackupError(
                _("%(path)s holds no database (%(member)s). Nothing was changed.")
                % {"path": archive, "member": db_member}
            )
        pending = _check_migrations(manifest)
        media_in_archive = bool(manifest.get("media_included", True))
        # Only a filesystem MEDIA_ROOT is restored, and only from an archive that carries the files: an
        # archive made while they were in object storage must not empty the directory.
        media_restored = _media_enabled() and media_in_archive

        # Every check passed: from here on the database and the files change.
        # Django's own connections are closed so that none holds a transaction or a lock across the switch.
        connections.close_all()
        if engine == "sqlite":
            _restore_sqlite(connection.settings_dict, staging / db_member)
        else:
            _restore_postgresql(connection.settings_dict, staging / db_member)
        media_names = [n for n in manifest["members"] if n.startswith(MEDIA_PREFIX)]
        if media_restored:
            _replace_media(staging / MEDIA_PREFIX.rstrip("/"), media_root)
        result = RestoreResult(
            engine=engine,
            created_at=str(manifest.get("created_at", "")),
            members=len(manifest["members"]),
            media_files=len(media_names),
            media_bytes=sum(int(manifest["members"][n]["size"]) for n in media_names),
            media_restored=media_restored,
            media_in_archive=media_in_archive,
            media_root=media_root,
            pending_migrations=pending,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        result.chain = verify_chain()  # reads the head first: a live writer does not confuse it
    except DatabaseError as exc:
        # Typically a restored schema older than the code: `gridgov migrate` first, then verify-audit.
        result.chain_error = str(exc)
    return result
