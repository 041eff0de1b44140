"""One case's life through the services, and what each step leaves on record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridgov.cases.choices import Action, Channel, State
from gridgov.cases.errors import Duplicate, Invalid
from gridgov.cases.models import Case, CaseEvent, Deadline, Notification
from gridgov.cases.services import Report, Step, do_me_too, do_report, do_transition
from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord

# A working Wednesday morning (Asia/Shanghai).
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def report(world, actor, **kw) -> Case:
    fields = dict(
        channel=Channel.RESIDENT_APP, description="垃圾箱满了没人清运", item="011001", lon=109.01, lat=40.05
    )
    fields.update(kw)
    return do_report(Report(**fields), actor=actor, now=kw.pop("now", T0)).case


@pytest.mark.django_db
def test_a_resident_report_goes_round_the_loop_and_every_step_is_on_record(world, png_bytes):
    case = report(world, world.resident)
    assert case.number.startswith("20261125-") and case.state == State.REPORTED
    assert case.grid_id == world.grid.pk and case.grid_l1_id == world.town.pk and case.level == 3
    assert case.routed_department == world.hw
    assert case.due_at > T0 and case.stage == "register"

    step = lambda minutes: T0 + dt.timedelta(minutes=minutes)  # noqa: E731
    do_transition(case, Action.ACCEPT, actor=world.operator, now=step(5))
    do_transition(
        case, Action.DISPATCH, Step(unit="HW", assisting=["ZF"]), actor=world.operator, now=step(10)
    )
    do_transition(case, Action.SIGN, actor=world.handler, now=step(20))
    do_transition(case, Action.ASSIST_SIGN, actor=world.assistant, now=step(25))
    do_transition(
        case,
        Action.FEEDBACK,
        Step(note="已清运", files=[("after.png", png_bytes())]),
        actor=world.handler,
        now=step(60),
    )
    do_transition(case, Action.VERIFY_PASS, actor=world.specialist, now=step(90))
    do_transition(case, Action.EVALUATE, Step(rating="satisfied"), actor=world.resident, now=step(120))

    case.refresh_from_db()
    assert case.state == State.CLOSED and case.rating == "satisfied" and case.resolved_level == 1
    events = list(CaseEvent.objects.filter(case=case).values_list("seq", "action", "to_state"))
    assert [e[1] for e in events] == [
        "report", "accept", "dispatch", "sign", "assist_sign", "feedback", "verify_pass", "evaluate",
    ]  # fmt: skip
    assert [e[0] for e in events] == list(range(1, 9)) and case.version == 8
    assert AuditRecord.objects.filter(object_type="cases.case", object_id=str(case.pk)).count() == 8
    assert verify_chain().broken_at is None
    stages = list(Deadline.objects.filter(case=case).values_list("stage", "met"))
    assert stages == [
        ("register", True),
        ("dispatch", True),
        ("sign", True),
        ("handle", True),
        ("verify", True),
    ]
    assert not Deadline.objects.filter(case=case, done_at__isnull=True).exists()
    kinds = set(Notification.objects.filter(user=world.resident).values_list("kind", flat=True))
    assert {"accepted", "dispatched", "closed"} <= kinds
    assert Notification.objects.filter(user=world.handler, kind="task").exists()
    assert case.evidence.get().phase == "after"


@pytest.mark.django_db
def test_same_thing_nearby_is_offered_as_already_reported_and_me_too_counts(world):
    first = report(world, world.resident)
    with pytest.raises(Duplicate) as exc:
        report(world, world.other_resident, lon=109.0102, lat=40.0501)  # ~20 m away
    assert [c.case for c in exc.value.data["candidates"]] == [first]
    joined = do_me_too(first, actor=world.other_resident, now=T0)
    assert joined.case.supporters_count == 1
    assert do_me_too(first, actor=world.other_resident, now=T0).case.supporters_count == 1  # twice: no change
    forced = report(world, world.other_resident, lon=109.0102, lat=40.0501, force=True)
    assert forced.pk != first.pk
    far = report(world, world.other_resident, lon=109.02, lat=40.05)  # ~850 m away
    assert far.pk not in (first.pk, forced.pk)


@pytest.mark.django_db
def test_the_same_idempotency_key_returns_the_first_case(world):
    a = do_report(
        Report(Channel.RESIDENT_APP, "路灯不亮", item="011001", lon=109.01, lat=40.05, idempotency_key="k1"),
        actor=world.resident,
    )
    b = do_report(
        Report(Channel.RESIDENT_APP, "路灯不亮", item="011001", lon=109.01, lat=40.05, idempotency_key="k1"),
        actor=world.resident,
    )
    assert a.created and not b.created and a.case.pk == b.case.pk
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_a_key_sent_again_answers_with_its_case_whichever_check_catches_it(world):
    """Intake does not look a key up before its work: a replay is caught by the duplicate search, by the
    key's unique index (forced, or free text with no duplicate search), or after a check that has changed
    since the first send (the item withdrawn meanwhile). Each answers with the first case."""
    from gridgov.catalog.models import Item
    from gridgov.catalog.selectors import invalidate_cache

    def send(key: str, **kw):
        fields = dict(channel=Channel.RESIDENT_APP, description="路灯不亮", lon=109.01, lat=40.05)
        return do_report(Report(**{**fields, **kw}, idempotency_key=key), actor=world.resident)

    forced = send("f1", item="011001", force=True)
    free = send("t1")
    assert forced.created and free.created and forced.case.item is not None and free.case.item is None
    assert send("f1", item="011001", force=True).case == forced.case
    assert send("t1").case == free.case
    Item.objects.filter(code="011001").update(active=False)
    invalidate_cache()
    again = send("f1", item="011001", force=True)
    assert not again.created and again.case == forced.case
    with pytest.raises(Invalid):
        send("new-key", item="011001")
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_bad_input_names_the_field_and_changes_nothing(world):
    audited = AuditRecord.objects.count()
    for kwargs, field in [
        ({"description": "  "}, "description"),
        ({"item": "999999"}, "item"),
        ({"lon": 120.0}, "lon"),
        ({"lon": None, "lat": None}, "location"),
        ({"crs": "mars"}, "crs"),
    ]:
        with pytest.raises(Invalid) as exc:
            report(world, world.resident, **kwargs)
        assert exc.value.field == field, kwargs
    assert Case.objects.count() == 0 and AuditRecord.objects.count() == audited


@pytest.mark.django_db
def test_self_handling_at_the_grid_closes_with_before_and_after(world, png_bytes):
    case = report(world, world.specialist, channel=Channel.WORKER_APP)
    with pytest.raises(Invalid) as exc:
        do_transition(
            case,
            Action.SELF_HANDLE,
            Step(note="已扶正", files=[("a.png", png_bytes())]),
            actor=world.specialist,
        )
    assert exc.value.field == "before_files"
    do_transition(
        case,
        Action.SELF_HANDLE,
        Step(note="已扶正", files=[("a.png", png_bytes())], before_files=[("b.png", png_bytes((0, 0, 200)))]),
        actor=world.specialist,
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.resolved_level == 3
    assert sorted(case.evidence.values_list("phase", flat=True)) == ["after", "before"]


@pytest.mark.django_db
def test_escalation_climbs_the_ladder_and_records_the_resolving_level(world, png_bytes):
    case = report(world, world.specialist, channel=Channel.WORKER_APP, files=[("b.png", png_bytes())])
    do_transition(case, Action.ESCALATE, Step(reason="需村里协调"), actor=world.specialist)
    case.refresh_from_db()
    assert case.level == 2
    do_transition(
        case, Action.SELF_HANDLE, Step(note="村里解决", files=[("a.png", png_bytes())]), actor=world.l2head
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.resolved_level == 2


@pytest.mark.django_db
def test_suspension_pauses_the_clock(world):
    case = report(world, world.resident)
    do_transition(case, Action.ACCEPT, actor=world.operator, now=T0)
    due = Case.objects.get(pk=case.pk).due_at
    do_transition(
        case, Action.SUSPEND, Step(reason="等待天气"), actor=world.operator, now=T0 + dt.timedelta(minutes=5)
    )
    assert Case.objects.get(pk=case.pk).due_at is None
    # Resumed a working day later: the deadline moved by one working day (7 h).
    do_transition(case, Action.RESUME, actor=world.operator, now=T0 + dt.timedelta(days=1, minutes=5))
    case.refresh_from_db()
    assert case.state == State.REGISTERED
    assert timezone.localtime(case.due_at) == timezone.localtime(due) + dt.timedelta(days=1)


@pytest.mark.django_db
def test_an_idempotency_key_replays_only_for_whoever_sent_it(world):
    from gridgov.cases.errors import Conflict

    call = Report(
        Channel.HOTLINE, "井盖缺失", item="011001", lon=109.01, lat=40.05, reporter_phone="13800001111"
    )
    first = do_report(Report(**{**call.__dict__, "idempotency_key": "hot-1"}), actor=world.operator)
    assert (
        do_report(Report(**{**call.__dict__, "idempotency_key": "hot-1"}), actor=world.operator).case
        == first.case
    )
    with pytest.raises(Conflict):
        do_report(Report(**{**call.__dict__, "idempotency_key": "hot-1"}), actor=world.resident)
    web = Report(
        Channel.OPEN311, "路灯坏了", item="011001", lon=109.03, lat=40.05, reporter_phone="13900002222"
    )
    anon = do_report(Report(**{**web.__dict__, "idempotency_key": "o311-1"}), actor=None)
    assert do_report(Report(**{**web.__dict__, "idempotency_key": "o311-1"}), actor=None).case == anon.case
    with pytest.raises(Conflict):
        do_report(
            Report(**{**web.__dict__, "reporter_phone": "13900003333", "idempotency_key": "o311-1"}),
            actor=None,
        )


@pytest.mark.django_db
def test_a_return_reaches_the_centre_that_dispatched_and_a_card_the_centre_that_must_dispatch(world):
    # The banner's centre took this one; the town's centre answers for its area: both hear of the return.
    case = report(world, world.resident)
    do_transition(case, Action.ACCEPT, actor=world.banner_operator, now=T0)
    do_transition(case, Action.DISPATCH, Step(unit="HW"), actor=world.banner_operator, now=T0)
    do_transition(case, Action.RETURN, Step(reason="不归我们管"), actor=world.handler, now=T0)
    told = set(Notification.objects.filter(case=case, kind="returned").values_list("user_id", flat=True))
    assert told == {world.banner_operator.pk, world.operator.pk}

    # Back to dispatch, no unit holds it: a card goes to the centre as well as to the grid's people.
    do_transition(case, Action.SUPERVISE, Step(card="yellow", reason="尽快派遣"), actor=world.leader, now=T0)
    told = set(Notification.objects.filter(case=case, kind="supervision").values_list("user_id", flat=True))
    assert {world.operator.pk, world.specialist.pk, world.l2head.pk} <= told
