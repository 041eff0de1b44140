"""The deadline sweep over a million open cases on PostgreSQL, 1 % of them past due.

Target (issue 3): one sweep over 1,000,000 open cases on PostgreSQL, 1 % of them due, in under 2 s.

A scratch database (gridgov_bench_sweep, dropped at the end) gets the demo county and 1,000,000 open cases
with their running clocks, copied in with COPY; 1 % of the clocks are past due and not yet noticed, a quarter
of those past the escalation mark too, and 2 % were noticed by an earlier sweep. BENCH_SWEEP_CASES changes
the count (for a quick try)."""

from __future__ import annotations

import os
import time

import numpy as np
from _cases import OPEN_MIX, django_setup, load_cases, migrate_and_seed, now_utc, scratch

N = int(os.environ.get("BENCH_SWEEP_CASES", "1000000"))
db = scratch("postgresql", "gridgov_bench_sweep")
try:
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridgov.cases.models import CaseEvent, Deadline, Notification, Supervision
    from gridgov.cases.sweep import sweep
    from gridgov.core.models import AuditRecord

    seeded = migrate_and_seed(history=False)
    print(f"seed_demo_postgresql: {seeded:.1f} s")
    now = now_utc()
    running = 1 - OPEN_MIX["suspended"]
    loaded = load_cases(
        N,
        mix=OPEN_MIX,
        now=now,
        rng=np.random.default_rng(2026),
        due_share=0.01 / running,
        escalate_share=0.25,
        noticed_share=0.02,
    )
    print(
        f"load_cases: {loaded.seconds:.1f} s ({loaded.cases} cases, {loaded.deadlines} clocks, {loaded.assignments} assignments)"
    )
    print(f"open_cases: {loaded.cases} cases")
    print(f"due_clocks: {loaded.due} clocks ({loaded.escalate} past the escalation mark)")
    # What the sweep must escalate: past the mark, in a state the transition table escalates, below the banner.
    try:
        from gridgov.cases.workflow import ESCALATABLE
    except ImportError:  # an engine that escalates every open state
        from gridgov.cases.choices import OPEN_STATES as ESCALATABLE
    to_escalate = Deadline.objects.filter(
        done_at__isnull=True,
        paused_at__isnull=True,
        escalated=False,
        escalate_at__lte=now,
        case__state__in=ESCALATABLE,
        case__level__gt=0,
    ).count()
    audit_before = AuditRecord.objects.count()
    events_before = CaseEvent.objects.count()
    supervisions_before = Supervision.objects.count()
    notifications_before = Notification.objects.count()

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        first = sweep(now)
        first_s = time.perf_counter() - started
    in_sql = sum(float(q["time"]) for q in queries.captured_queries)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    print(
        f"sweep_statements: {len(queries)} statements, {in_sql:.2f} s in the database driver, {first_s - in_sql:.2f} s in Python"
    )
    print(
        f"sweep_slowest_statement: {float(slowest['time']):.2f} s ({' '.join(slowest['sql'].split()[:4])} …)"
    )
    print(f"sweep_noticed: {first.noticed} cases")
    print(
        f"sweep_escalated: {first.escalated} cases (the escalatable ones of {loaded.escalate} past the mark)"
    )
    assert first.noticed == loaded.due, (first.noticed, loaded.due)
    assert first.escalated == to_escalate, (first.escalated, to_escalate)
    assert Supervision.objects.count() - supervisions_before == first.noticed
    assert AuditRecord.objects.count() - audit_before == first.noticed + first.escalated
    print(f"sweep_events: {CaseEvent.objects.count() - events_before} events")
    print(f"sweep_notifications: {Notification.objects.count() - notifications_before} notifications")

    started = time.perf_counter()
    second = sweep(now)
    second_s = time.perf_counter() - started
    assert second.noticed == second.escalated == 0
    print(f"second_sweep_nothing_due: {second_s * 1000:.0f} ms")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('cases_deadline'))")
        print(f"deadline_table: {cursor.fetchone()[0]}")
    assert not Deadline.objects.filter(
        done_at__isnull=True, paused_at__isnull=True, noticed=False, due_at__lte=now
    ).exists()
    print(f"sweep_1m_open_1pct_due: {first_s:.2f} s (target: < 2 s)")
finally:
    if os.environ.get("BENCH_KEEP_DB"):
        print(f"kept: {db.database_url} {db.var_dir}")
    else:
        db.drop()
