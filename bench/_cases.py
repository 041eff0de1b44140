"""Shared by the case-engine benches: scratch databases (SQLite in a temp dir, or a scratch PostgreSQL
database), the demo county, bulk-loaded cases, a gunicorn server and keep-alive HTTP clients.

Nothing here touches var/ or an existing database: every bench works on its own scratch copy."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN_DSN = os.environ.get("GRIDGOV_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# ------------------------------------------------------------------------------------------ databases


@dataclass
class Scratch:
    """A scratch database and the environment that points gridgov at it (for this process and servers)."""

    var_dir: Path
    database_url: str | None = None  # None: SQLite in var_dir
    pg_name: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def engine(self) -> str:
        return "postgresql" if self.pg_name else "sqlite"

    def drop(self) -> None:
        if self.pg_name:
            from django.db import connections

            connections.close_all()
            pg_drop(self.pg_name)
        shutil.rmtree(self.var_dir, ignore_errors=True)


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)


def pg_drop(name: str) -> None:
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch(engine: str = "sqlite", pg_name: str = "gridgov_bench") -> Scratch:
    """A fresh temp dir (and a fresh PostgreSQL database when engine is "postgresql"); sets os.environ
    before Django is set up, so call it first."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"gridgov-bench-{engine}-"))
    env = {"GRIDGOV_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "gridgov.settings"}
    s = Scratch(var_dir)
    if engine == "postgresql":
        pg_drop(pg_name)
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
        s.pg_name = pg_name
        s.database_url = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{pg_name}"
        env["DATABASE_URL"] = s.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    s.env = env
    os.environ.update(env)
    return s


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    import django

    django.setup()


def demo_config(*, history: bool, small: bool = False) -> Any:
    """The demo county's config (DemoConfig(), or the small one), with or without its case history."""
    from dataclasses import replace

    from gridgov.demo.config import DemoConfig

    config = DemoConfig.small() if small else DemoConfig()
    if not history and hasattr(config, "cases"):
        config = replace(config, cases=0)
    # The case benches need no register (and bench/import_persons.py brings its own county of persons).
    config = replace(config, persons=0, organisations=0, components=0, visits=0)
    return config


def migrate_and_seed(*, history: bool = False, small: bool = False) -> float:
    """Migrate and seed the demo county. Returns the seconds spent."""
    from django.core.management import call_command

    from gridgov.demo.seed import seed_demo

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seed_demo(demo_config(history=history, small=small))
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------ the county


@dataclass
class Leaves:
    """The current level-3 grids: ids, ancestors, population and WGS-84 geometries."""

    ids: np.ndarray
    l1: np.ndarray
    l2: np.ndarray
    weights: np.ndarray
    geometries: list[Any]


def level3_grids() -> Leaves:
    from gridgov.grids.geometry import from_geojson
    from gridgov.grids.models import Grid

    rows = list(
        Grid.objects.current()
        .filter(level=3, geometry__isnull=False)
        .order_by("id")
        .values_list("id", "l1_id", "l2_id", "population", "geometry")
    )
    return Leaves(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        l1=np.array([r[1] for r in rows], dtype=np.int64),
        l2=np.array([r[2] for r in rows], dtype=np.int64),
        weights=np.array([r[3] + 100.0 for r in rows]),
        geometries=[from_geojson(r[4]) for r in rows],
    )


def points_in(leaves: Leaves, n: int, rng: np.random.Generator) -> list[tuple[float, float, int]]:
    """`n` random points (lon, lat, grid id) inside level-3 grids, grids weighted by population, each point
    checked with the project's own locator (so a point on a shared edge names the grid intake will find)."""
    import shapely

    from gridgov.grids.locator import locate

    picks = rng.choice(len(leaves.ids), size=n, p=leaves.weights / leaves.weights.sum())
    out: list[tuple[float, float, int]] = []
    for i in picks:
        geom = leaves.geometries[i]
        x0, y0, x1, y1 = geom.bounds
        while True:
            xs, ys = rng.uniform(x0, x1, 16), rng.uniform(y0, y1, 16)
            inside = shapely.contains_xy(geom, xs, ys)
            if inside.any():
                k = int(np.flatnonzero(inside)[0])
                lon, lat = round(float(xs[k]), 6), round(float(ys[k]), 6)
                where = locate(lon, lat)
                if not where.outside:
                    out.append((lon, lat, int(where.grid_id)))
                    break
    return out


# ------------------------------------------------------------------------------------------ bulk cases

OPEN = ("reported", "registered", "dispatched", "handling", "handled", "suspended")
STAGE_OF = {
    "reported": "register",
    "registered": "dispatch",
    "dispatched": "sign",
    "handling": "handle",
    "handled": "verify",
}
# Working minutes of each stage (normal urgency) and a rough wall-clock equivalent for placing the marks.
STAGE_MINUTES = {"register": 15, "dispatch": 15, "sign": 60, "handle": 2100, "verify": 60}
# A county's case table after some years: mostly closed, a working set open.
REALISTIC_MIX = {
    "closed": 0.905,
    "rejected": 0.025,
    "merged": 0.012,
    "reported": 0.004,
    "registered": 0.004,
    "dispatched": 0.007,
    "handling": 0.025,
    "handled": 0.008,
    "suspended": 0.010,
}
# Everything open, in the proportions of the working set above.
OPEN_MIX = {s: REALISTIC_MIX[s] / sum(REALISTIC_MIX[o] for o in OPEN) for s in OPEN}
# Departments that get more cases (law enforcement, housing, market supervision …).
DEPT_WEIGHTS = {"ZF": 6.0, "ZJ": 3.0, "SJ": 2.0, "GA": 2.0, "SL": 1.5, "HB": 1.5}


def _ts(values: np.ndarray, pg: bool) -> list[str | None]:
    """datetime64[us] (NaT = NULL) as the text the backend stores: naive UTC on SQLite, +00 on PostgreSQL."""
    text = np.datetime_as_string(values, unit="us")
    suffix = "+00" if pg else ""
    return [None if t == "NaT" else t.replace("T", " ") + suffix for t in text.tolist()]


def _drop_indexes(tables: list[str]) -> list[str]:
    """Drop the plain and partial indexes of `tables` (not primary keys or constraints); return the SQL that
    creates them again."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [tables],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
                f"({', '.join('%s' for _ in tables)})",
                tables,
            )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


@dataclass
class Loaded:
    cases: int = 0
    deadlines: int = 0
    assignments: int = 0
    due: int = 0  # running clocks past due_at, not yet noticed
    escalate: int = 0  # of those, past escalate_at too
    seconds: float = 0.0
    by_state: dict[str, int] = field(default_factory=dict)


def load_cases(
    n: int,
    *,
    mix: dict[str, float],
    now: datetime,
    rng: np.random.Generator,
    due_share: float = 0.0,
    escalate_share: float = 0.25,
    noticed_share: float = 0.0,
    soon_share: float = 0.0,
    span_days: float = 3 * 365,
    reporters: Sequence[int] = (),
    reporter_share: float = 0.35,
    chunk: int = 100_000,
) -> Loaded:
    """Insert `n` cases straight into the tables (COPY on PostgreSQL, executemany on SQLite), with the
    running `Deadline` of every open case and the lead `Assignment` of every case a unit was dispatched to.

    Among running clocks: `due_share` are past due and not yet noticed (`escalate_share` of those also past
    the escalation mark), `noticed_share` were noticed by an earlier sweep, `soon_share` are due soon (yellow);
    the rest are green. `reporter_share` of the cases come from the residents' app, reported by one of
    `reporters` (user ids); the rest were taken by staff."""
    from django.db import connection, transaction

    from gridgov.cases import text_search
    from gridgov.cases.models import Assignment, Case, Deadline
    from gridgov.catalog.models import Department, Item

    started = time.perf_counter()
    pg = connection.vendor == "postgresql"
    leaves = level3_grids()
    items = np.array(sorted(Item.objects.filter(active=True).values_list("id", flat=True)), dtype=np.int64)
    depts = list(Department.objects.order_by("code").values_list("code", "id"))
    dept_ids = np.array([d for _, d in depts], dtype=np.int64)
    dept_w = np.array([DEPT_WEIGHTS.get(code, 1.0) for code, _ in depts])
    first_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    deadline_id = (Deadline.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    assignment_id = (Assignment.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    states = list(mix)
    probs = np.array([mix[s] for s in states]) / sum(mix.values())
    report = Loaded()
    now64 = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")
    minute = np.timedelta64(60_000_000, "us")

    case_cols = [f.column for f in Case._meta.concrete_fields]
    deadline_cols = [f.column for f in Deadline._meta.concrete_fields]
    assignment_cols = [f.column for f in Assignment._meta.concrete_fields]

    def write(table: str, cols: list[str], rows: Iterable[Sequence[Any]]) -> None:
        with connection.cursor() as cursor:
            if pg:
                with cursor.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(cols))
                cursor.connection.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows
                )

    tables = [Case._meta.db_table, Deadline._meta.db_table, Assignment._meta.db_table]
    with transaction.atomic():
        # Secondary indexes are dropped for the load and built again after it: one sorted build each is
        # many times faster than a million random insertions into twenty indexes.
        indexes = _drop_indexes(tables)
        # SQLite's text index (gridgov/cases/text_search.py): no trigger per row; filled in one pass after.
        text_index = text_search.available(connection)
        if text_index:
            with connection.cursor() as cursor:
                text_search.drop_triggers(cursor)
        if pg:
            with connection.cursor() as cursor:
                # The rows are consistent by construction: no foreign-key trigger per row (superuser only).
                cursor.execute("SET LOCAL session_replication_role = replica")
        # Open cases are recent (the last 60 days); closed ones spread over the whole span. Ids follow the
        # time of reporting, as they do in a real table: the open working set sits at the end of it.
        state_all = np.array(states, dtype=object)[rng.choice(len(states), size=n, p=probs)]
        age_all = np.where(
            np.isin(state_all, OPEN),
            rng.uniform(30, 60 * 24 * 60, n),
            rng.uniform(60, span_days * 24 * 60, n),
        )
        order = np.argsort(-age_all, kind="stable")
        state_all, age_all = state_all[order], age_all[order]
        for base in range(0, n, chunk):
            m = min(chunk, n - base)
            ids = np.arange(first_id + base, first_id + base + m, dtype=np.int64)
            g = rng.choice(len(leaves.ids), size=m, p=leaves.weights / leaves.weights.sum())
            state = state_all[base : base + m]
            is_open = np.isin(state, OPEN)
            age_min = age_all[base : base + m]
            created = now64 - (age_min * 60_000_000).astype("timedelta64[us]")
            dispatched_states = np.isin(state, ("dispatched", "handling", "handled", "closed"))
            dept = np.where(
                dispatched_states, dept_ids[rng.choice(len(dept_ids), size=m, p=dept_w / dept_w.sum())], 0
            )
            # Closed cases: closed after a few days. Running clocks: placed by the shares asked for.
            closed_at = np.where(
                np.isin(state, ("closed", "rejected", "merged")),
                np.minimum(
                    created + (rng.uniform(30, 10 * 24 * 60, m) * 60_000_000).astype("timedelta64[us]"),
                    now64 - minute,
                ),
                np.datetime64("NaT"),
            )
            running = is_open & (state != "suspended")
            u = rng.random(m)
            due_now = running & (u < due_share)
            esc_now = due_now & (rng.random(m) < escalate_share)
            noticed = running & (u >= due_share) & (u < due_share + noticed_share)
            soon = running & (u >= due_share + noticed_share) & (u < due_share + noticed_share + soon_share)
            stage = np.array([STAGE_OF.get(s, "") for s in state.tolist()], dtype=object)
            stage_min = np.array([STAGE_MINUTES.get(s, 60) for s in stage.tolist()])
            # due_at relative to now, in wall minutes: past (due / noticed), just ahead (soon) or ahead (green).
            rel_due = np.where(
                due_now | noticed,
                -rng.uniform(1, 600, m),
                np.where(
                    soon,
                    rng.uniform(1, 0.2 * stage_min + 1),
                    rng.uniform(0.2 * stage_min + 2, 3 * stage_min + 600),
                ),
            )
            due = now64 + (rel_due * 60_000_000).astype("timedelta64[us]")
            warn = due - (0.2 * stage_min * 60_000_000).astype("timedelta64[us]")
            # escalate_at: before now for the ones to escalate, else comfortably after now.
            esc = np.where(
                esc_now,
                now64 - (rng.uniform(1, 60, m) * 60_000_000).astype("timedelta64[us]"),
                np.maximum(
                    due + (0.5 * stage_min * 60_000_000).astype("timedelta64[us]"), now64 + 120 * minute
                ),
            )
            started_at = due - (stage_min * 60_000_000).astype("timedelta64[us]")
            started_at = np.maximum(started_at, created)
            case_due = np.where(running, due, np.datetime64("NaT"))
            case_warn = np.where(running, warn, np.datetime64("NaT"))
            created_s, closed_s = _ts(created, pg), _ts(closed_at.astype("datetime64[us]"), pg)
            due_s, warn_s = (
                _ts(case_due.astype("datetime64[us]"), pg),
                _ts(case_warn.astype("datetime64[us]"), pg),
            )
            item = items[rng.integers(0, len(items), m)]
            from_app = rng.random(m) < (reporter_share if len(reporters) else 0.0)
            reporter = np.where(
                from_app,
                np.asarray(reporters or [0], dtype=np.int64)[rng.integers(0, max(len(reporters), 1), m)],
                0,
            )
            lids = leaves.ids[g].tolist()
            l1s, l2s = leaves.l1[g].tolist(), leaves.l2[g].tolist()
            noticed_l = (noticed).tolist()
            supervised = [1 if x else 0 for x in noticed_l]
            rows = []
            for k in range(m):
                st = state[k]
                closed = closed_s[k]
                row = {
                    "id": int(ids[k]),
                    "number": f"B{int(ids[k]):09d}",
                    "channel": "resident_app" if from_app[k] else "hotline",
                    "state": st,
                    "suspended_from": "handling" if st == "suspended" else "",
                    "version": 3,
                    "item_id": int(item[k]),
                    "urgency": "normal",
                    "description": "路灯不亮，晚上出行不便",
                    "address": "",
                    "lon": None,
                    "lat": None,
                    "grid_id": lids[k],
                    "grid_l1_id": l1s[k],
                    "grid_l2_id": l2s[k],
                    "grid_l3_id": lids[k],
                    "level": 3,
                    "resolved_level": 3 if st == "closed" else None,
                    "lead_department_id": int(dept[k]) or None,
                    "routed_department_id": int(dept[k]) or None,
                    "reporter_kind": "resident" if from_app[k] else "staff",
                    "reporter_id": int(reporter[k]) or None,
                    "reporter_name_enc": None,
                    "reporter_phone_enc": None,
                    "reporter_phone_index": "",
                    "confidential": False,
                    "idempotency_key": None,
                    "merged_into_id": None,
                    "supporters_count": 0,
                    "created_at": created_s[k],
                    "updated_at": closed or created_s[k],
                    "closed_at": closed,
                    "stage": stage[k],
                    "warn_at": warn_s[k],
                    "due_at": due_s[k],
                    "overdue": noticed_l[k],
                    "supervised": supervised[k],
                    "card": "yellow" if noticed_l[k] else "",
                    "returns": 0,
                    "reworks": 0,
                    "rating": "satisfied" if st == "closed" else "",
                    "rated_at": closed if st == "closed" else None,
                    "disputed": 0,
                    "component_code": "",
                }
                if not pg:
                    row["confidential"] = 0
                    row["overdue"] = int(row["overdue"])
                rows.append(tuple(row[c] for c in case_cols))
            write(Case._meta.db_table, case_cols, rows)
            report.cases += m
            for s, c in zip(*np.unique(state.astype(str), return_counts=True), strict=True):
                report.by_state[str(s)] = report.by_state.get(str(s), 0) + int(c)

            # The running clock of every open case (paused when suspended).
            open_idx = np.flatnonzero(is_open)
            started_s = _ts(started_at.astype("datetime64[us]"), pg)
            warn_all, due_all, esc_all = _ts(warn, pg), _ts(due, pg), _ts(esc.astype("datetime64[us]"), pg)
            paused = _ts(
                now64 - (rng.uniform(60, 20 * 24 * 60, m) * 60_000_000).astype("timedelta64[us]"), pg
            )
            f, t = (False, True) if pg else (0, 1)
            drows = []
            for k in open_idx.tolist():
                susp = state[k] == "suspended"
                drows.append(
                    (
                        deadline_id,
                        int(ids[k]),
                        "handle" if susp else stage[k],
                        2100 if susp else int(stage_min[k]),
                        started_s[k],
                        warn_all[k],
                        due_all[k],
                        esc_all[k],
                        paused[k] if susp else None,
                        None,
                        None,
                        t if noticed_l[k] else f,
                        f,
                    )
                )
                deadline_id += 1
            write(Deadline._meta.db_table, deadline_cols, drows)
            report.deadlines += len(drows)
            report.due += int(due_now.sum())
            report.escalate += int(esc_now.sum())

            # The lead unit of every case dispatched once (closed ones included: handlers see their history).
            arows = []
            for k in np.flatnonzero(dept).tolist():
                st = state[k]
                active = st != "closed"
                arows.append(
                    (
                        assignment_id,
                        int(ids[k]),
                        int(dept[k]),
                        "lead",
                        t if active else f,
                        created_s[k],
                        None if st == "dispatched" else created_s[k],
                        created_s[k] if st in ("handled", "closed") else None,
                        None if active else closed_s[k],
                        "" if active else "closed",
                    )
                )
                assignment_id += 1
            write(Assignment._meta.db_table, assignment_cols, arows)
            report.assignments += len(arows)
        with connection.cursor() as cursor:
            if pg:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for sql in indexes:
                cursor.execute(sql)
            if text_index:
                text_search.rebuild(cursor)
                text_search.add_triggers(cursor)
        if pg:
            with connection.cursor() as cursor:
                for table in (Case, Deadline, Assignment):
                    t_ = table._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{t_}', 'id'), (SELECT max(id) FROM {t_}))"
                    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    report.seconds = time.perf_counter() - started
    return report


# ------------------------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def pids(self) -> list[int]:
        """The master and its workers (children found through /proc, no psutil needed)."""
        found = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid:
                found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the master and its workers have used so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def kill9(self) -> list[int]:
        pids = self.pids()
        os.killpg(self.process.pid, signal.SIGKILL)  # the whole process group: master and workers at once
        self.process.wait()
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(
    env: dict[str, str], *, workers: int = 2, threads: int | None = None, port: int | None = None
) -> Server:
    """`gridgov serve --workers N --no-sweep` on a free port, in its own process group; waits until it answers."""
    port = port or free_port()
    log = Path(env["GRIDGOV_VAR_DIR"]) / f"server-{port}.log"
    argv = [
        PYTHON,
        "-m",
        "gridgov.cli",
        "serve",
        "--workers",
        str(workers),
        "--no-sweep",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    if threads is not None:
        argv += ["--threads", str(threads)]
    full_env = {**os.environ, **env}
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, env=full_env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True
        )
    server = Server(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/accounts/login/")
            c.getresponse().read()
            c.close()
            # Every worker imports the app lazily: give them a moment to come up.
            return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("the server did not answer within 60 s")


# ------------------------------------------------------------------------------------------ clients


class Client:
    """One keep-alive connection with a session: logs in through /accounts/login/ like a browser."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        headers.update(extra or {})
        return headers

    def _keep(self, response: http.client.HTTPResponse) -> None:
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body, headers=self._headers(headers))
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed an idle keep-alive connection: once more on a new one.
            self.reconnect()
            self.conn.request(method, path, body=body, headers=self._headers(headers))
            response = self.conn.getresponse()
        data = response.read()
        self._keep(response)
        return response.status, data

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, Any]) -> tuple[int, bytes]:
        body = urllib.parse.urlencode({k: v for k, v in fields.items() if v is not None}).encode()
        return self.request(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}/",
            },
        )

    def post_multipart(
        self, path: str, fields: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """A POST as the phone app's offline queue sends it (gridgov/mobile/static/mobile/queue.js): the
        fields as `FormData` (multipart/form-data), and the caller's extra headers (its Idempotency-Key)."""
        boundary = f"----gridgovBench{uuid.uuid4().hex}"
        parts = []
        for name, value in fields.items():
            if value is None:
                continue
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(
            "POST",
            path,
            body,
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Referer": f"http://127.0.0.1:{self.port}/",
                **(headers or {}),
            },
        )

    def login(self, username: str, password: str) -> None:
        status, page = self.get("/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and token, status
        status, _ = self.post_form(
            "/accounts/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1).decode()},
        )
        assert status == 302 and "sessionid" in self.cookies, f"login of {username} failed ({status})"


def percentiles(seconds: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    a = np.array(seconds) * 1000
    return tuple(float(np.percentile(a, q)) for q in (50, 95, 99))  # type: ignore[return-value]


def now_utc() -> datetime:
    return datetime.now(UTC)


def ago(**kwargs: float) -> datetime:
    return now_utc() - timedelta(**kwargs)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
