"""A month's indicator table (考核评定) at 1,000,000 cases in PostgreSQL.

Target (issue 8): a month's indicator table under 1 s with 1,000,000 cases in PostgreSQL.

A scratch PostgreSQL database gets the demo county (without its case history) and 1,000,000 cases over three
years in a realistic mix (bench/_cases.py: 94 % closed, rejected or merged); every case also gets the ended
stage clocks (`Deadline`: accept, dispatch, sign, handle, verify; 12 % of them late) that the case engine leaves
behind (about 4.7 million), so the timeliness indicators read a table of a county's real size. Then the
last whole month's table is built, as the page and the API build it (`assessment.selectors.table`), for the
county's leader (towns, departments, grids) and a town's operator (villages of their town), p50/p95 over
repeated runs; and the ranking page itself through Django's test client (table, trend chart and all).

BENCH_ASSESSMENT_CASES changes the count."""

from __future__ import annotations

import os
import time

N = int(os.environ.get("BENCH_ASSESSMENT_CASES", "1000000"))
RUNS = 15


def main() -> None:
    import numpy as np
    from _cases import (
        REALISTIC_MIX,
        django_setup,
        load_cases,
        migrate_and_seed,
        now_utc,
        percentiles,
        scratch,
    )

    db = scratch("postgresql", "gridgov_bench_assessment")
    try:
        django_setup()
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from gridgov.accounts.models import User
        from gridgov.assessment import selectors
        from gridgov.assessment.indicators import Period
        from gridgov.cases.models import Case, Deadline

        print(f"seed_demo: {migrate_and_seed(history=False):.1f} s")
        now = now_utc()
        loaded = load_cases(N, mix=REALISTIC_MIX, now=now, rng=np.random.default_rng(2026))
        print(f"load: {loaded.seconds:.1f} s ({loaded.cases} cases)")

        # The ended clocks of every case (load_cases writes only the running ones).
        started = time.perf_counter()
        this_month = timezone.localdate().replace(day=1)
        last_month = (this_month - __import__("datetime").timedelta(days=1)).replace(day=1)
        period = Period(last_month, last_month)
        rng = np.random.default_rng(8)
        recent = list(
            Case.objects.exclude(state__in=("reported",)).values_list("id", "created_at", "state").iterator()
        )
        stages = ("register", "dispatch", "sign", "handle", "verify")
        next_id = (Deadline.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        cols = [f.column for f in Deadline._meta.concrete_fields]
        written = 0
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {Deadline._meta.db_table} ({', '.join(cols)}) FROM STDIN") as copy,
        ):
            for case_id, created, state in recent:
                upto = 5 if state == "closed" else (1 if state in ("rejected", "merged") else 3)
                t = created
                for stage in stages[:upto]:
                    end = t + __import__("datetime").timedelta(minutes=30)
                    copy.write_row(
                        (
                            next_id,
                            case_id,
                            stage,
                            60,
                            t,
                            t,
                            end,
                            end,
                            None,
                            end,
                            bool(rng.random() > 0.12),
                            False,
                            False,
                        )
                    )
                    next_id += 1
                    written += 1
                    t = end
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{Deadline._meta.db_table}', 'id'), %s)", [next_id]
            )
            cursor.execute("ANALYZE")
        print(f"ended_clocks: {written} rows in {time.perf_counter() - started:.1f} s ({len(recent)} cases)")
        in_month = Case.objects.filter(created_at__gte=period.start, created_at__lt=period.end).count()
        print(f"month_cases: {in_month} cases ({period.key})")

        leader = User.objects.get(username="leader")
        town_operator = User.objects.get(username="town_operator")
        worst = 0.0
        cases_runs = [
            ("county_towns", leader, "town"),
            ("county_departments", leader, "department"),
            ("county_grids", leader, "grid"),
            ("town_villages", town_operator, "village"),
            ("town_workers", town_operator, "worker"),
        ]
        headline = 0.0
        for name, user, kind in cases_runs:
            selectors.table(user, kind, period)  # warm
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                selectors.table(user, kind, period)
                times.append(time.perf_counter() - t0)
            with CaptureQueriesContext(connection) as queries:
                table, _g = selectors.table(user, kind, period)
            p50, p95, _ = percentiles(times)
            worst = max(worst, p95)
            if name == "county_towns":
                headline = p95
            print(
                f"table_{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {len(queries)} queries, {len(table.rows)} rows"
            )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(leader)
        url = f"/assessment/?kind=town&month={period.key}"
        assert client.get(url).status_code == 200
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - t0)
        p50, p95, _ = percentiles(times)
        print(f"page_county_towns: p50 {p50:.1f} ms, p95 {p95:.1f} ms (table and 6-month trend)")
        print(f"tables_worst_p95: {worst:.1f} ms")
        print(f"assessment_county_month_table_p95_1m: {headline:.1f} ms (target: < 1000 ms)")
    finally:
        if not os.environ.get("BENCH_ASSESSMENT_KEEP"):
            db.drop()


if __name__ == "__main__":
    main()
