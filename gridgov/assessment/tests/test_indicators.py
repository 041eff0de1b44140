"""The indicator formulas against hand-computed examples built through the case engine's services, the §B.7
worked example, exclusions and appeals changing the figures, scope, refusals and the exports."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from gridgov.assessment import indicators, selectors, services
from gridgov.assessment.choices import Kind
from gridgov.assessment.indicators import Period, build_table, percent_text
from gridgov.assessment.models import Appeal, Exclusion, Weight
from gridgov.cases.choices import Action, State
from gridgov.cases.models import Case, Deadline
from gridgov.cases.services import Step, do_transition
from gridgov.cases.tests.helpers import T0, report_case
from gridgov.core.calendar import get_calendar
from gridgov.core.errors import Conflict, Invalid, NotAllowed
from gridgov.core.models import AuditRecord

NOV = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 1))
T1 = T0 + dt.timedelta(days=30)  # Friday 25 December 2026, 09:00
NOW = T1 + dt.timedelta(hours=2)
M = dt.timedelta(minutes=1)


def step(world: Any, number: str, action: str, who: str, at: dt.datetime, **kw: Any) -> None:
    do_transition(number, action, Step(**kw), actor=getattr(world, who), now=at)


def scenario(world: Any, png: Any) -> dict[str, Case]:
    """Six cases reported on 25 November 2026 in world.grid (town 150621100):

    A  accepted, dispatched to HW, signed, fed back, verified within every limit; rated satisfied.
    B  the same, but fed back thirty days later (handling clock late); rated unsatisfied.
    C  reported by the grid specialist and handled on the spot (自处置): resolved in the grid.
    D  rejected (不予受理).
    E  accepted thirty days later (acceptance clock late), dispatched, signed: handling, within its limit.
    F  accepted thirty days later, dispatched, returned by HW (退单): waiting to be dispatched, past its limit.
    """
    after = [("after.png", png())]
    a = report_case(world, now=T0).number
    step(world, a, Action.ACCEPT, "operator", T0 + 5 * M)
    step(world, a, Action.DISPATCH, "operator", T0 + 10 * M, unit="HW")
    step(world, a, Action.SIGN, "handler", T0 + 15 * M)
    step(world, a, Action.FEEDBACK, "handler", T0 + 60 * M, note="已清运", files=after)
    step(world, a, Action.VERIFY_PASS, "specialist", T0 + 90 * M)
    step(world, a, Action.EVALUATE, "resident", T0 + 100 * M, rating="satisfied")
    b = report_case(world, now=T0).number
    step(world, b, Action.ACCEPT, "operator", T0 + 5 * M)
    step(world, b, Action.DISPATCH, "operator", T0 + 10 * M, unit="HW")
    step(world, b, Action.SIGN, "handler", T0 + 15 * M)
    step(world, b, Action.FEEDBACK, "handler", T1, note="已清运", files=[("after.png", png())])
    step(world, b, Action.VERIFY_PASS, "specialist", T1 + 10 * M)
    step(world, b, Action.EVALUATE, "resident", T1 + 20 * M, rating="unsatisfied")
    c = report_case(world, world.specialist, channel="worker_app", photo=png(), now=T0).number
    step(world, c, Action.SELF_HANDLE, "specialist", T0 + 10 * M, note="已处置", files=[("after.png", png())])
    d = report_case(world, now=T0).number
    step(world, d, Action.REJECT, "operator", T0 + 5 * M, reason="不属于受理范围")
    e = report_case(world, now=T0).number
    step(world, e, Action.ACCEPT, "operator", T1)
    step(world, e, Action.DISPATCH, "operator", T1 + 5 * M, unit="HW")
    step(world, e, Action.SIGN, "handler", T1 + 10 * M)
    f = report_case(world, now=T0).number
    step(world, f, Action.ACCEPT, "operator", T1)
    step(world, f, Action.DISPATCH, "operator", T1 + 5 * M, unit="HW")
    step(world, f, Action.RETURN, "handler", T1 + 10 * M, reason="不属于本部门")
    return {k: Case.objects.get(number=n) for k, n in zip("ABCDEF", (a, b, c, d, e, f), strict=True)}


def table(world: Any, kind: str, user: Any = None, now: dt.datetime | None = NOW) -> indicators.Table:
    cases, _grid = selectors.scope(user or world.leader, None)
    return build_table(
        kind,
        cases,
        NOV,
        weights=selectors.weights_of(kind),
        thresholds=selectors.thresholds_of(kind),
        now=now,
    )


def shown(row: indicators.Row, code: str) -> str:
    value = row.values[code]
    return percent_text(value) if indicators.INDICATORS[code].is_rate else str(value)  # type: ignore[arg-type]


@pytest.fixture
def png(png_bytes):
    return png_bytes


@pytest.mark.django_db
def test_formulas_against_a_hand_computed_month(world, png):
    cases = scenario(world, png)
    assert cases["F"].state == State.REGISTERED and cases["E"].state == State.HANDLING

    towns = table(world, Kind.TOWN)
    assert [r.key for r in towns.rows] == [world.town.pk]
    row = towns.rows[0]
    expected = {
        "received": "6",  # A–F
        "registered": "5",  # less D (rejected)
        "due": "4",  # A, B, C closed; F past its limit; E within it
        "closed": "3",
        "on_time": "2",  # B's handling clock ended late
        "closing_rate": "75.00 %",  # 3 / 4
        "on_time_rate": "50.00 %",  # 2 / 4
        "handling_rate": "50.00 %",  # A on time, B late
        "signing_rate": "100.00 %",  # A, B, E signed and F returned within the hour
        "rework_rate": "0.00 %",
        "return_rate": "25.00 %",  # F of A, B, E, F
        "extended": "0",
        "satisfaction_rate": "50.00 %",  # A of A, B
        "hotline_response_rate": "—",
        "valid_report_rate": "100.00 %",  # C, filed
        "grid_containment": "33.33 %",  # C of 3 closed (A, B closed by the town's centre)
        "village_containment": "33.33 %",
    }
    assert {code: shown(row, code) for code in expected} == expected
    # Σ w·v / Σ w = (25·75 + 25·50 + 20·50 + 15·33.33 + 15·100) / 100 = 61.2495 → 61.25: yellow (60 ≤ · < 80).
    assert row.score == Decimal("61.25") and row.mark == "yellow"
    assert towns.warnings == [row]

    departments = table(world, Kind.DEPARTMENT)
    hw = next(r for r in departments.rows if r.code == "HW")
    assert len(departments.rows) == 1
    assert {c: shown(hw, c) for c in ("dispatched", "closed", "closing_rate", "on_time_rate")} == {
        "dispatched": "4",  # lead assignments A, B, E, F
        "closed": "2",
        "closing_rate": "100.00 %",
        "on_time_rate": "50.00 %",
    }
    assert shown(hw, "return_rate") == "25.00 %" and shown(hw, "signing_rate") == "100.00 %"
    # (35·50 + 20·100 + 15·(100 − 0) + 10·(100 − 25) + 20·50) / 100 = 70.00
    assert hw.score == Decimal("70.00")

    workers = table(world, Kind.WORKER)
    assert [r.key for r in workers.rows] == [world.specialist.pk]
    w = workers.rows[0]
    assert (w.values["staff_reports"], w.values["self_handled"], w.values["verified"]) == (1, 1, 2)
    assert w.score == Decimal("100.00") and w.mark == "green"

    # Exclusion: B, a repeated complaint, counts nowhere; revoked, it counts again.
    audits = AuditRecord.objects.count()
    ex = services.do_exclude(cases["B"].number, "repeated", "重复投诉", actor=world.operator)
    row = table(world, Kind.TOWN).rows[0]
    assert (shown(row, "received"), shown(row, "closing_rate"), shown(row, "on_time_rate")) == (
        "5",
        "66.67 %",
        "66.67 %",
    )
    assert shown(row, "satisfaction_rate") == "100.00 %"
    with pytest.raises(Conflict):
        services.do_exclude(cases["B"].number, "repeated", "again", actor=world.operator)
    services.do_revoke_exclusion(ex.pk, actor=world.operator)
    assert shown(table(world, Kind.TOWN).rows[0], "closing_rate") == "75.00 %"

    # Appeal: the town's head appeals F; rejected (with a reason) nothing changes, accepted F is excluded.
    appeal = services.do_appeal(cases["F"].number, "部门误退", actor=world.l1head)
    with pytest.raises(Invalid) as refused:
        services.do_decide_appeal(appeal.pk, False, "", actor=world.leader)
    assert refused.value.field == "note"
    with pytest.raises(NotAllowed):
        services.do_decide_appeal(appeal.pk, True, actor=world.l1head)
    services.do_decide_appeal(appeal.pk, False, "理由不足", actor=world.leader)
    assert shown(table(world, Kind.TOWN).rows[0], "due") == "4"
    again = services.do_appeal(cases["F"].number, "补充材料", actor=world.l1head)
    services.do_decide_appeal(again.pk, True, "同意", actor=world.leader)
    row = table(world, Kind.TOWN).rows[0]
    assert (shown(row, "due"), shown(row, "closing_rate")) == ("3", "100.00 %")
    assert Exclusion.objects.get(active=True).appeal_id == again.pk
    assert Appeal.objects.get(pk=appeal.pk).state == "rejected"
    # Every change left its audit record.
    actions = list(AuditRecord.objects.order_by("id").values_list("action", flat=True)[audits:])
    assert actions == [
        "assessment.exclude",
        "assessment.revoke_exclusion",
        "assessment.appeal",
        "assessment.decide_appeal",
        "assessment.appeal",
        "assessment.decide_appeal",
        "assessment.exclude",
    ]


def _b7_cases(world: Any) -> None:
    """The Tianmen month of standards.md §B.7 as rows: 1054 received → 996 registered → 972 due → 911 closed
    → 737 closed on time."""
    g = world.grid
    at = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)
    # Due dates around the real time: the page computes at the time of the request.
    real = timezone.now()
    future, past = real + dt.timedelta(days=30), real - dt.timedelta(days=1)
    states = (
        [State.REJECTED] * 58  # 1054 − 996
        + [State.HANDLING] * 24  # 996 − 972: within their limit
        + [State.HANDLING] * 61  # 972 − 911: past it
        + [State.CLOSED] * 911
    )
    rows = []
    for i, state in enumerate(states):
        due = None
        if state == State.HANDLING:
            due = future if i < 58 + 24 else past
        rows.append(
            Case(
                number=f"B7-{i:05d}",
                channel="hotline",
                state=state,
                description="§B.7",
                grid=g,
                grid_l1_id=g.l1_id,
                grid_l2_id=g.l2_id,
                grid_l3_id=g.pk,
                reporter_kind="staff",
                created_at=at,
                updated_at=at,
                closed_at=at if state == State.CLOSED else None,
                resolved_level=1 if state == State.CLOSED else None,
                due_at=due,
            )
        )
    made = Case.objects.bulk_create(rows)
    closed = [c for c in made if c.state == State.CLOSED]
    Deadline.objects.bulk_create(
        Deadline(
            case=c,
            stage="handle",
            minutes=2100,
            started_at=at,
            warn_at=at,
            due_at=at,
            escalate_at=at,
            done_at=at + dt.timedelta(days=9),
            met=False,
        )
        for c in closed[: 911 - 737]
    )


@pytest.mark.django_db
def test_the_worked_example_of_standards_b7(world, client, django_assert_max_num_queries):
    _b7_cases(world)
    total = table(world, Kind.TOWN, now=None).total
    assert [shown(total, c) for c in ("received", "registered", "due", "closed", "on_time")] == [
        "1054",
        "996",
        "972",
        "911",
        "737",
    ]
    assert shown(total, "closing_rate") == "93.72 %"  # 911 / 972
    assert shown(total, "on_time_rate") == "75.82 %"  # 737 / 972
    # As the page displays them.
    client.force_login(world.leader)
    # A fixed number of queries, whatever the number of rows (no query per row): 18, and for patrol coverage the
    # patrol days and the grids per object (2), plus the calendar's check (1); its load (2 more, once per process)
    # is done before counting.
    get_calendar()
    with django_assert_max_num_queries(21):
        page = client.get(reverse("assessment:home"), {"kind": "town", "month": "2026-11"}).content.decode()
    assert "93.72 %" in page and "75.82 %" in page


@pytest.mark.django_db
def test_scope_refusals_and_exports(world, png, client):
    from openpyxl import load_workbook

    scenario(world, png)
    # A town's operator of the other town sees none of these cases, and not the town's table.
    other = table(world, Kind.TOWN, world.other_operator)
    assert other.rows == [] and other.total.counts.get("received", 0) == 0
    client.force_login(world.other_operator)
    url = reverse("assessment:home")
    assert client.get(url, {"grid": world.town.code}).status_code == 404
    # The town's head sees their town only.
    client.force_login(world.l1head)
    mine = client.get(url, {"kind": "village", "month": "2026-11"})
    assert mine.status_code == 200 and f'data-key="{world.village.pk}"' in mine.content.decode()
    # Bad input: the field named, nothing changed.
    bad = client.get(url, {"month": "2026-13"})
    assert bad.status_code == 422 and 'data-field="month"' in bad.content.decode()
    with pytest.raises(Invalid) as refused:
        services.do_set_weights("town", {"closing_rate": "abc"}, actor=world.leader)
    assert refused.value.field == "closing_rate" and not Weight.objects.exists()
    with pytest.raises(Invalid) as refused:
        services.do_set_thresholds("town", "80", "70", actor=world.leader)
    assert refused.value.field == "yellow_below"
    with pytest.raises(NotAllowed):
        services.do_set_weights("town", {"closing_rate": "1"}, actor=world.l1head)
    # The weights in force move the score: 结案率 alone → the score is the rate.
    services.do_set_weights("town", {"closing_rate": "1"}, actor=world.leader)
    assert table(world, Kind.TOWN).rows[0].score == Decimal("75.00")

    # Exports (computed now, in November 2026 or later): the figures as displayed; the worker's name masked.
    client.force_login(world.leader)
    xlsx = client.get(reverse("assessment:export_xlsx"), {"kind": "town", "month": "2026-11"})
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if c]
    assert "50.00 %" in cells and "镇1" in cells  # 满意率
    world.specialist.full_name = "王小二"
    world.specialist.save()
    workers = client.get(reverse("assessment:export_xlsx"), {"kind": "worker", "month": "2026-11"})
    cells = [
        c
        for row in load_workbook(io.BytesIO(workers.content)).active.iter_rows(values_only=True)
        for c in row
    ]
    assert "王*二" in cells and "王小二" not in cells
    pdf = client.get(reverse("assessment:export_pdf"), {"kind": "town", "month": "2026-11"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf.content)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r\n", "")
    assert "50.00 %" in text and "镇1" in text and "结案率" in text
    doc.close()
    assert AuditRecord.objects.filter(action="assessment.export").count() == 3


@pytest.mark.django_db
def test_api_table_and_configuration(world, png, client):
    scenario(world, png)
    client.force_login(world.leader)
    body = client.get("/api/assessment/table", {"kind": "town", "month": "2026-11"}).json()
    assert body["rows"][0]["name"] == "镇1" and body["rows"][0]["counts"]["received"] == 6
    bad = client.get("/api/assessment/table", {"kind": "town", "month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["field"] == "month"
    put = client.put(
        "/api/assessment/config/grid/weights",
        {"weights": {"closing_rate": 2, "received": 1}},
        content_type="application/json",
    )
    assert put.status_code == 422 and put.json()["field"] == "received"
    assert not Weight.objects.exists()
    ok = client.put(
        "/api/assessment/config/grid/thresholds",
        {"red_below": 50, "yellow_below": 70},
        content_type="application/json",
    )
    assert ok.status_code == 200 and Decimal(str(ok.json()["red_below"])) == Decimal(50)
    client.force_login(world.other_operator)
    assert client.get("/api/assessment/table", {"grid": world.town.code}).status_code == 404
    client.force_login(world.resident)
    assert client.get("/api/assessment/table").status_code == 403


@pytest.mark.django_db
def test_configuration_pages_refuse_bad_input_naming_the_field(world, client):
    case = report_case(world, now=T0)
    client.force_login(world.leader)
    for name in ("assessment:config", "assessment:exclusions", "assessment:appeals"):
        assert client.get(reverse(name)).status_code == 200
    bad = client.post(
        reverse("assessment:config"), {"kind": "town", "what": "weights", "w_closing_rate": "-1"}
    )
    assert bad.status_code == 422 and 'data-field="closing_rate"' in bad.content.decode()
    assert not Weight.objects.exists()
    bad = client.post(
        reverse("assessment:exclusions"), {"case": "nope", "reason_kind": "repeated", "reason": "x"}
    )
    assert bad.status_code == 422 and 'data-field="case"' in bad.content.decode()
    assert not Exclusion.objects.exists()
    ok = client.post(
        reverse("assessment:exclusions"),
        {"case": case.number, "reason_kind": "unreasonable", "reason": "无理诉求"},
    )
    assert ok.status_code == 302 and Exclusion.objects.get().case_id == case.pk
    # A grid head may appeal but not exclude.
    client.force_login(world.l2head)
    refused = client.post(
        reverse("assessment:exclusions"), {"case": case.number, "reason_kind": "repeated", "reason": "x"}
    )
    assert refused.status_code == 403 and Exclusion.objects.count() == 1


def _patrol(worker: Any, grid: Any, local: str) -> None:
    """A patrol of `worker` in level-3 `grid`, checked in at `local` (Asia/Shanghai, "YYYY-MM-DD HH:MM")."""
    import uuid

    from gridgov.fieldwork.models import Patrol

    at = timezone.make_aware(dt.datetime.strptime(local, "%Y-%m-%d %H:%M"))
    Patrol.objects.create(
        key=uuid.uuid4(),
        user=worker,
        grid=grid,
        grid_l1_id=grid.l1_id,
        grid_l2_id=grid.l2_id,
        started_at=at,
        ended_at=at + dt.timedelta(hours=1),
    )


@pytest.mark.django_db
def test_patrol_coverage_against_hand_computed_days(world, client):
    """September 2026 has 22 working days: its 21 weekdays, less 中秋节 (Friday 25th), plus the make-up working
    Sunday 20th (国庆节调休上班). The tree has 8 level-3 grids, 2 per village.

    world.grid (town 1, village 1), by the specialist: the 1st, the 2nd (twice), Sunday 20th (a working day),
    Saturday 5th and Friday 25th (days off: not counted), 1 October (another month) → 3 days.
    world.other_grid (town 2), by the other specialist: the 1st, the 3rd at 00:30 local (the 2nd in UTC), the
    29th and the 30th → 4 days. The six other grids: none."""
    sep = Period(dt.date(2026, 9, 1), dt.date(2026, 9, 1))
    spec, other = world.specialist, world.other_specialist
    for local in ("09-01 09:00", "09-02 07:50", "09-02 15:00", "09-20 10:00", "09-05 10:00", "09-25 10:00"):
        _patrol(spec, world.grid, "2026-" + local)
    _patrol(spec, world.grid, "2026-10-01 09:00")
    for local in ("09-01 16:00", "09-03 00:30", "09-29 17:00", "09-30 17:00"):
        _patrol(other, world.other_grid, "2026-" + local)

    def coverage(kind: str, user: Any = world.leader, now: dt.datetime = NOW) -> dict[Any, str]:
        cases, grid = selectors.scope(user, None)
        t = build_table(
            kind,
            cases,
            sep,
            weights=selectors.weights_of(kind),
            thresholds=selectors.thresholds_of(kind),
            now=now,
            patrols=selectors.patrol_scope(user, grid),
        )
        return {r.key: shown(r, "patrol_coverage") for r in [*t.rows, t.total]}

    grids = coverage(Kind.GRID)
    assert grids[world.grid.pk] == "13.64 %"  # 3 / 22
    assert grids[world.other_grid.pk] == "18.18 %"  # 4 / 22
    assert list(grids.values()).count("0.00 %") == 6  # every grid of the county is assessed, patrolled or not
    assert grids[None] == "3.98 %"  # the county: (3 + 4) / (8 × 22) grid-days = the average of the 8 grids
    assert coverage(Kind.VILLAGE)[world.village.pk] == "6.82 %"  # (3 + 0) / (2 × 22)
    towns = coverage(Kind.TOWN)
    assert (towns[world.town.pk], towns[world.other_grid.l1_id]) == ("3.41 %", "4.55 %")  # 3, 4 / (4 × 22)
    workers = coverage(Kind.WORKER)
    assert (workers[spec.pk], workers[other.pk]) == ("13.64 %", "18.18 %")
    # The current month: its working days up to today. On Thursday 3 September: the 1st, 2nd, 3rd.
    thursday = timezone.make_aware(dt.datetime(2026, 9, 3, 10, 0))
    early = coverage(Kind.GRID, now=thursday)
    assert (early[world.grid.pk], early[world.other_grid.pk]) == ("66.67 %", "66.67 %")  # 2 / 3
    # The town's head: their town's grids only; a department's handler sees no patrols: no value.
    mine = coverage(Kind.GRID, world.l1head)
    assert mine[world.grid.pk] == "13.64 %" and world.other_grid.pk not in mine and len(mine) == 5
    assert set(coverage(Kind.GRID, world.handler).values()) <= {"—"}

    # As the page, the API and the exports show it; its weight moves the score.
    client.force_login(world.leader)
    page = client.get(reverse("assessment:home"), {"kind": "grid", "month": "2026-09"}).content.decode()
    assert 'data-sort="patrol_coverage"' in page and "18.18 %" in page and "3.98 %" in page
    body = client.get("/api/assessment/table", {"kind": "worker", "month": "2026-09"}).json()
    values = {r["key"]: Decimal(str(r["values"]["patrol_coverage"])) for r in body["rows"]}
    assert values == {spec.pk: Decimal("13.64"), other.pk: Decimal("18.18")}
    services.do_set_weights("grid", {"patrol_coverage": "1"}, actor=world.leader)
    top = client.get("/api/assessment/table", {"kind": "grid", "month": "2026-09"}).json()["rows"][0]
    assert top["key"] == world.other_grid.pk and Decimal(str(top["score"])) == Decimal("18.18")
    from openpyxl import load_workbook

    xlsx = client.get(reverse("assessment:export_xlsx"), {"kind": "town", "month": "2026-09"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row]
    assert "3.41 %" in cells and "4.55 %" in cells and any("巡查覆盖率" in c for c in cells)
