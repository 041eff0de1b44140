"""The figures agree with the events: a known set of disputes (settled in the grid, the village and the town,
partly settled, failed, handed over, open, received before the period or settled after it, one in the other
town), driven through the services at known times, and every number of `figures` and of the overview's columns
checked against counts made by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils.translation import override

from gridgov.cases import overview
from gridgov.mediation import selectors, services
from gridgov.mediation.selectors import DisputesReceived, DisputesSettled, Figures

from .helpers import receive

pytestmark = pytest.mark.django_db

CST = dt.timezone(dt.timedelta(hours=8))


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=CST)


def nov(day: int, hour: int = 10) -> dt.datetime:
    return at(11, day, hour)


def run(
    med: Any,
    actor: Any,
    received: dt.datetime,
    *,
    grid: Any,
    amount: str | None,
    steps: list[tuple[str, Any]],
    title: str,
) -> Any:
    """Receive a dispute at `received`, then take `steps` (each a day later than the one before): ("assign",
    (committee, lead, user)), ("session", user), ("outcome", (user, outcome, amount)), ("refer", user),
    ("hand", user)."""
    d = receive(med, actor=actor, grid=grid, amount=amount, title=title, received_at=received, now=received)
    moment = received
    for name, arg in steps:
        moment = moment + dt.timedelta(hours=1)
        if name == "assign":
            committee, lead, user = arg
            services.do_assign(d, actor=user, committee=committee, lead=lead, now=moment)
            d.refresh_from_db()
            lead_of = lead
        elif name == "session":
            services.do_record_session(d, actor=arg, held_at=moment, mediators=[lead_of], now=moment)
        elif name == "outcome":
            user, outcome, agreed = arg
            services.do_record_outcome(
                d, actor=user, outcome=outcome, terms="协议内容", amount=agreed, now=moment
            )
        elif name == "refer":
            services.do_refer_up(d, actor=arg, reason="提交上级", now=moment)
        elif name == "hand":
            services.do_hand_over(d, actor=arg, to="court", note="引导诉讼", now=moment)
        else:  # pragma: no cover
            raise ValueError(name)
        d.refresh_from_db()
    return d


def steps_to(
    outcome: str, committee: Any, lead: Any, user: Any, agreed: str | None = None
) -> list[tuple[str, Any]]:
    return [("assign", (committee, lead, user)), ("session", user), ("outcome", (user, outcome, agreed))]


@pytest.fixture
def known(med):
    w = med.w
    spec, vmed, tmed = w.specialist, w.mediator, med.town_user
    g, gb = w.grid, w.grid_b
    gc, vc, tc = med.grid_committee, med.village_committee, med.town_committee
    made = {}
    # A: settled in the grid, 800 of 1000.
    made["A"] = run(
        med,
        spec,
        nov(2),
        grid=g,
        amount="1000",
        title="A",
        steps=steps_to("agreement", gc, med.grid_mediator, spec, "800"),
    )
    # B: failed in the grid, referred up, settled in the village, 4000 of 5000.
    made["B"] = run(
        med,
        spec,
        nov(9),
        grid=g,
        amount="5000",
        title="B",
        steps=[
            *steps_to("failed", gc, med.grid_mediator, spec),
            ("refer", spec),
            *steps_to("agreement", vc, med.elder, vmed, "4000"),
        ],
    )
    # C: grid g-b (no grid committee), the village's then the town's; settled in the town without an amount.
    made["C"] = run(
        med,
        vmed,
        nov(11),
        grid=gb,
        amount=None,
        title="C",
        steps=[
            *steps_to("failed", vc, med.elder, vmed),
            ("refer", vmed),
            *steps_to("agreement", tc, med.town_mediator, tmed),
        ],
    )
    # D: partly settled in the grid, 500 of 2000.
    made["D"] = run(
        med,
        spec,
        nov(15),
        grid=g,
        amount="2000",
        title="D",
        steps=steps_to("partial", gc, med.grid_mediator, spec, "500"),
    )
    # E: failed in the grid, left so.
    made["E"] = run(
        med,
        spec,
        nov(16),
        grid=g,
        amount="300",
        title="E",
        steps=steps_to("failed", gc, med.grid_mediator, spec),
    )
    # F: grid g-b, handed over to the court without mediation.
    made["F"] = run(med, vmed, nov(18), grid=gb, amount="10000", title="F", steps=[("hand", vmed)])
    # G: received, assigned, still open.
    made["G"] = run(
        med, spec, nov(20), grid=g, amount="700", title="G", steps=[("assign", (gc, med.grid_mediator, spec))]
    )
    # H: received in October, settled in the grid in November: 40.
    made["H"] = run(med, spec, at(10, 20), grid=g, amount="50", title="H", steps=[])
    services.do_assign(made["H"], actor=spec, committee=gc, lead=med.grid_mediator, now=at(10, 21))
    services.do_record_session(
        made["H"], actor=spec, held_at=at(10, 21), mediators=[med.grid_mediator], now=at(10, 21)
    )
    services.do_record_outcome(made["H"], actor=spec, outcome="agreement", terms="x", amount="40", now=nov(5))
    # I: received in November, settled in December.
    made["I"] = run(med, spec, nov(28), grid=g, amount="100", title="I", steps=[])
    services.do_assign(made["I"], actor=spec, committee=gc, lead=med.grid_mediator, now=nov(29))
    services.do_record_session(
        made["I"], actor=spec, held_at=nov(29), mediators=[med.grid_mediator], now=nov(29)
    )
    services.do_record_outcome(
        made["I"], actor=spec, outcome="agreement", terms="x", amount="90", now=at(12, 2)
    )
    # J: the other town, settled by its village's committee: 550 of 600.
    from gridgov.accounts.models import RoleAssignment

    RoleAssignment.objects.create(user=med.outsider_user, role="grid_specialist", grid=w.other_grid)
    made["J"] = run(
        med,
        med.outsider_user,
        nov(10),
        grid=w.other_grid,
        amount="600",
        title="J",
        steps=steps_to("agreement", med.other_committee, med.outsider, med.outsider_user, "550"),
    )
    return made


def test_the_known_set_is_as_built(known):
    for d in known.values():
        d.refresh_from_db()
    states = {k: (d.state, d.level, d.settled_level) for k, d in known.items()}
    assert states == {
        "A": ("settled", 3, 3),
        "B": ("settled", 2, 2),
        "C": ("settled", 1, 1),
        "D": ("partial", 3, 3),
        "E": ("failed", 3, None),
        "F": ("handed_over", 3, None),
        "G": ("assigned", 3, None),
        "H": ("settled", 3, 3),
        "I": ("settled", 3, 3),
        "J": ("settled", 2, 2),
    }


def F(**kw: Any) -> Figures:
    base: dict[str, Any] = dict(
        received=0,
        settled=0,
        partial=0,
        failed=0,
        handed_over=0,
        open=0,
        settled_grid=0,
        settled_village=0,
        settled_town=0,
        amount_at_stake=Decimal("0.00"),
        amount_agreed=Decimal("0.00"),
    )
    base.update(kw)
    for key in ("amount_at_stake", "amount_agreed"):
        base[key] = Decimal(base[key]).quantize(Decimal("0.01"))
    return Figures(**base)


NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))

# Counted by hand from the set above.
TOWN = F(
    received=8,  # A B C D E F G I (H came in October, J is in the other town)
    settled=4,  # A B C H (I was settled in December)
    partial=1,  # D
    failed=1,  # E (B and C failed before, and were settled since)
    handed_over=1,  # F
    open=1,  # G
    settled_grid=2,  # A H
    settled_village=1,  # B
    settled_town=1,  # C
    amount_at_stake="19100",  # 1000 + 5000 + 0 + 2000 + 300 + 10000 + 700 + 100
    amount_agreed="5340",  # 800 + 4000 + 500 + 40 (C agreed no amount)
)
COUNTY = F(
    received=9,
    settled=5,
    partial=1,
    failed=1,
    handed_over=1,
    open=1,
    settled_grid=2,
    settled_village=2,
    settled_town=1,
    amount_at_stake="19700",
    amount_agreed="5890",
)
GRID_G = F(
    received=6,  # A B D E G I
    settled=3,
    partial=1,
    failed=1,
    handed_over=0,
    open=1,
    settled_grid=2,
    settled_village=1,
    settled_town=0,
    amount_at_stake="9100",
    amount_agreed="5340",
)
GRID_B = F(received=2, settled=1, handed_over=1, settled_town=1, amount_at_stake="10000")


def test_every_figure_of_the_period(med, known, django_assert_num_queries):
    w = med.w
    selectors.figures(w.l1head, *NOVEMBER)  # the user's roles are read once a request
    with django_assert_num_queries(2):
        assert selectors.figures(w.l1head, *NOVEMBER) == TOWN
    assert selectors.figures(w.operator, *NOVEMBER) == TOWN
    assert selectors.figures(w.l2head, *NOVEMBER) == TOWN  # every dispute of the town is in village v
    assert selectors.figures(w.leader, *NOVEMBER) == COUNTY
    assert selectors.figures(w.specialist, *NOVEMBER) == GRID_G
    # A grid's subtree, by code or Grid; a grid the user does not see holds nothing.
    assert selectors.figures(w.l1head, *NOVEMBER, grid=w.village.code) == TOWN
    assert selectors.figures(w.l1head, *NOVEMBER, grid=w.grid_b) == GRID_B
    assert selectors.figures(w.leader, *NOVEMBER, grid=w.town.code) == TOWN
    assert selectors.figures(w.l1head, *NOVEMBER, grid=w.other_grid.code) == F()
    assert selectors.figures(w.resident, *NOVEMBER) == F()
    # The settled levels add up to the settled.
    assert TOWN.settled_grid + TOWN.settled_village + TOWN.settled_town == TOWN.settled
    assert TOWN.settled_rate == round(100 * 4 / 7)


def test_periods_are_local_days_both_included(med, known):
    w = med.w
    # October: H received (50 at stake), nothing settled in it.
    assert selectors.figures(w.l1head, dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == F(
        received=1, amount_at_stake="50"
    )
    # One day: the 2nd of November holds A's receipt and its outcome (a session and an agreement an hour apart).
    assert selectors.figures(w.l1head, dt.date(2026, 11, 2), dt.date(2026, 11, 2)) == F(
        received=1, settled=1, settled_grid=1, amount_at_stake="1000", amount_agreed="800"
    )
    # December: I settled.
    assert selectors.figures(w.l1head, dt.date(2026, 12, 1), dt.date(2026, 12, 31)) == F(
        settled=1, settled_grid=1, amount_agreed="90"
    )
    # Open-ended: everything ever.
    everything = selectors.figures(w.l1head, None, None)
    assert (everything.received, everything.settled, everything.open) == (9, 5, 1)


def test_the_overview_columns_per_child_grid(med, known, django_assert_max_num_queries):
    w = med.w
    start, end = dt.datetime(2026, 11, 1, tzinfo=CST), dt.datetime(2026, 12, 1, tzinfo=CST)
    received, settled = DisputesReceived(), DisputesSettled()
    period = overview.Period("last_month", "11月", start, end)
    # Per grid of the village, per village of the town, per town of the county.
    g, gb = w.grid.pk, w.grid_b.pk
    assert received.counts(3, [g, gb], period) == {g: 6, gb: 2}
    assert settled.counts(3, [g, gb], period) == {g: 3, gb: 1}  # A B H; C
    other_village = w.town.children.exclude(pk=w.village.pk).get().pk
    assert received.counts(2, [w.village.pk, other_village], period) == {w.village.pk: 8}
    assert settled.counts(2, [w.village.pk, other_village], period) == {w.village.pk: 4}
    other_town = w.other_grid.l1_id
    assert received.counts(1, [w.town.pk, other_town], period) == {w.town.pk: 8, other_town: 1}
    assert settled.counts(1, [w.town.pk, other_town], period) == {w.town.pk: 4, other_town: 1}

    # Through the overview itself, for its period: the village's grids.
    with django_assert_max_num_queries(12):
        view = overview.build(w.l1head, w.village, period)
    with override("en"):
        columns = [str(c) for c in view.columns]
    assert "disputes received" in columns and "disputes settled" in columns
    i, j = columns.index("disputes received"), columns.index("disputes settled")
    by_grid = {row.grid.pk: (row.more[i][1], row.more[j][1]) for row in view.rows if row.grid is not None}
    assert by_grid == {g: (6, 3), gb: (2, 1)}
    assert (view.total.more[i][1], view.total.more[j][1]) == (8, 4)
    # Each figure links to the grid's disputes of the same period.
    link = next(row.more[i][2] for row in view.rows if row.grid is not None and row.grid.pk == g)
    assert "since=2026-11-01" in link and "until=2026-11-30" in link
