"""A dispute's way: received in the grid, assigned, mediated in sessions, settled by agreement with its
follow-up visits; or referred up to the village and the town; or handed over. Every step is on the timeline and
on the audit chain, and the state moves only along the allowed steps."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from gridgov.core.audit import verify_chain
from gridgov.core.models import AuditRecord
from gridgov.mediation import selectors, services
from gridgov.mediation.errors import WrongState
from gridgov.mediation.models import Agreement, Dispute, DisputeEvent, FollowUp

from .conftest import T0
from .helpers import mediate, receive

pytestmark = pytest.mark.django_db


def actions(dispute: Dispute) -> list[str]:
    return list(
        DisputeEvent.objects.filter(dispute=dispute).order_by("at", "id").values_list("action", flat=True)
    )


def test_a_dispute_settled_in_its_grid_with_follow_ups(med):
    spec = med.w.specialist
    dispute = receive(med, now=T0)
    assert re.fullmatch(r"T20261125-\d{4}", dispute.number)
    assert (dispute.state, dispute.level, dispute.grid_l3_id) == ("received", 3, med.w.grid.pk)
    assert (dispute.grid_l1_id, dispute.grid_l2_id) == (med.w.town.pk, med.w.village.pk)
    assert dispute.parties.count() == 2

    services.do_assign(
        dispute,
        actor=spec,
        committee=med.grid_committee,
        lead=med.grid_mediator,
        now=T0 + dt.timedelta(minutes=5),
    )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.committee_id, dispute.lead_mediator_id) == (
        "assigned",
        med.grid_committee.pk,
        med.grid_mediator.pk,
    )
    parties = list(dispute.parties.order_by("id"))
    first = services.do_record_session(
        dispute,
        actor=spec,
        held_at=T0 + dt.timedelta(hours=1),
        mediators=[med.grid_mediator],
        parties_present=parties,
        place="村委会调解室",
        notes="双方陈述",
        next_steps="核实损失",
        now=T0 + dt.timedelta(hours=2),
    )
    services.do_record_session(
        dispute,
        actor=spec,
        held_at=T0 + dt.timedelta(days=1),
        mediators=[med.grid_mediator.pk],
        now=T0 + dt.timedelta(days=1, hours=1),
    )
    assert set(first.parties_present.all()) == set(parties)
    assert Dispute.objects.get(pk=dispute.pk).state == "mediating"

    with override_settings(MEDIATION_FOLLOW_UP_DAYS=(7, 30)):
        agreement = services.do_record_outcome(
            dispute,
            actor=spec,
            outcome="agreement",
            terms="李四于十日内赔偿张三维修费2500元。",
            amount="2500",
            performance_method="现金一次性支付",
            performance_due=dt.date(2026, 12, 6),
            now=T0 + dt.timedelta(days=1, hours=2),
        )
    dispute.refresh_from_db()
    assert dispute.state == "settled"
    assert dispute.settled_level == 3
    assert dispute.settled_at == T0 + dt.timedelta(days=1, hours=2)
    assert agreement.number == dispute.number
    assert agreement.signed_on == dt.date(2026, 11, 26)
    assert (agreement.outcome, agreement.amount, agreement.level) == ("agreement", 2500, 3)
    due = list(FollowUp.objects.filter(dispute=dispute).order_by("due_on").values_list("due_on", flat=True))
    assert due == [dt.date(2026, 12, 3), dt.date(2026, 12, 26)]

    visit = FollowUp.objects.filter(dispute=dispute).order_by("due_on").first()
    done = services.do_record_follow_up(
        visit.pk, actor=spec, result="performed", note="已付清", now=T0 + dt.timedelta(days=8)
    )
    assert (done.result, done.visitor_id) == ("performed", spec.pk)
    with pytest.raises(WrongState):
        services.do_record_follow_up(visit.pk, actor=spec, result="partly", now=T0 + dt.timedelta(days=9))

    assert actions(dispute) == ["received", "assigned", "session", "session", "outcome", "follow_up"]
    events = list(DisputeEvent.objects.filter(dispute=dispute).order_by("at", "id"))
    assert [(e.from_state, e.to_state) for e in events] == [
        ("", "received"),
        ("received", "assigned"),
        ("assigned", "mediating"),
        ("mediating", "mediating"),
        ("mediating", "settled"),
        ("settled", "settled"),
    ]
    audited = list(
        AuditRecord.objects.filter(object_type="mediation.dispute", object_id=str(dispute.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert audited == [
        "dispute.receive",
        "dispute.assign",
        "dispute.session",
        "dispute.session",
        "dispute.outcome",
        "dispute.follow_up",
    ]
    # Personal data stays off the audit record.
    for data in AuditRecord.objects.filter(object_type="mediation.dispute").values_list("data", flat=True):
        assert "张三" not in str(data) and "13800001111" not in str(data)
    assert verify_chain().broken_at is None

    # A settled dispute takes no more steps.
    with pytest.raises(WrongState):
        services.do_refer_up(dispute, actor=spec, reason="不服")
    with pytest.raises(WrongState):
        services.do_hand_over(dispute, actor=spec, to="court", note="起诉")
    with pytest.raises(WrongState):
        services.do_add_party(dispute, {"role": "third_party", "name": "某"}, actor=spec)


def test_failed_in_the_grid_referred_up_to_the_village_and_the_town(med):
    spec = med.w.specialist
    dispute = mediate(med, receive(med, kind="land", title="草场边界纠纷", amount="20000"))
    services.do_record_outcome(dispute, actor=spec, outcome="failed", terms="双方各执一词")
    dispute.refresh_from_db()
    assert dispute.state == "failed" and dispute.failed_at is not None

    services.do_refer_up(dispute, actor=spec, reason="涉及草场确权，需村调委会")
    dispute.refresh_from_db()
    assert (dispute.state, dispute.level, dispute.committee_id, dispute.lead_mediator_id) == (
        "received",
        2,
        med.village_committee.pk,
        None,
    )
    # The village mediator (world.mediator, the elder) now mediates; the grid's committee cannot take it back.
    elder_user = med.w.mediator
    with pytest.raises(services.Invalid) as exc:
        services.do_assign(dispute, actor=elder_user, committee=med.grid_committee, lead=med.grid_mediator)
    assert exc.value.field == "committee"
    mediate(med, dispute, committee=med.village_committee, lead=med.elder, actor=elder_user)
    services.do_record_outcome(dispute, actor=elder_user, outcome="failed", terms="仍未达成")

    services.do_refer_up(dispute, actor=elder_user, reason="提交镇调委会")
    dispute.refresh_from_db()
    assert (dispute.level, dispute.committee_id) == (1, med.town_committee.pk)
    town = med.town_user
    mediate(med, dispute, committee=med.town_committee, lead=med.town_mediator, actor=town)
    agreement = services.do_record_outcome(
        dispute, actor=town, outcome="agreement", terms="重新划定边界", amount="0"
    )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.settled_level, dispute.failed_at) == ("settled", 1, None)
    # The failed outcomes were replaced by the agreement; the timeline keeps them.
    assert Agreement.objects.filter(dispute=dispute).count() == 1
    assert (agreement.outcome, agreement.level, agreement.committee_id) == (
        "agreement",
        1,
        med.town_committee.pk,
    )
    assert actions(dispute).count("outcome") == 3
    assert actions(dispute).count("referred_up") == 2


def test_the_town_refers_no_further_and_hands_over(med):
    town = med.town_user
    dispute = receive(med, actor=town, kind="wages", title="欠薪", amount="58000")
    services.do_assign(dispute, actor=town, committee=med.town_committee, lead=med.town_mediator)
    dispute.refresh_from_db()
    assert dispute.level == 1  # the town's committee took it at once
    with pytest.raises(WrongState):
        services.do_refer_up(dispute, actor=town, reason="再上交")
    services.do_hand_over(dispute, actor=town, to="labour_arbitration", note="引导申请劳动仲裁")
    dispute.refresh_from_db()
    assert (dispute.state, dispute.handed_to) == ("handed_over", "labour_arbitration")
    assert dispute.handed_at is not None and dispute.handover_note == "引导申请劳动仲裁"
    # The whole record stays readable to those who saw it.
    record = selectors.record_of(selectors.dispute_for(med.w.l1head, dispute.number))
    assert len(record.parties) == 2 and [e.action for e in record.events][-1] == "handed_over"
    with pytest.raises(WrongState):
        services.do_hand_over(dispute, actor=town, to="court", note="again")


def test_a_partial_agreement_can_be_handed_over_for_the_rest(med):
    spec = med.w.specialist
    dispute = mediate(med, receive(med))
    services.do_record_outcome(dispute, actor=spec, outcome="partial", terms="维修部分达成", amount="800")
    dispute.refresh_from_db()
    assert (dispute.state, dispute.settled_level) == ("partial", 3)
    assert FollowUp.objects.filter(dispute=dispute).count() == 2
    services.do_hand_over(dispute, actor=spec, to="court", note="赔偿部分起诉")
    assert Dispute.objects.get(pk=dispute.pk).state == "handed_over"


def test_reassignment_keeps_mediation_going_and_replaces_the_assistants(med):
    elder_user = med.w.mediator
    dispute = receive(med, actor=elder_user)
    services.do_assign(
        dispute,
        actor=elder_user,
        committee=med.village_committee,
        lead=med.elder,
        assistants=[med.teacher, med.elder],
    )
    dispute.refresh_from_db()
    assert list(dispute.assistants.all()) == [med.teacher]  # the lead is not their own assistant
    services.do_record_session(dispute, actor=elder_user, held_at=timezone.now(), mediators=[med.teacher])
    dispute.refresh_from_db()
    services.do_assign(
        dispute, actor=elder_user, committee=med.village_committee, lead=med.teacher, assistants=[med.retired]
    )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.lead_mediator_id) == ("mediating", med.teacher.pk)
    assert list(dispute.assistants.all()) == [med.retired]


def test_a_backdated_intake_is_numbered_on_its_day(med):
    dispute = receive(med, received_at="2026-11-20T10:00:00", now=T0)
    assert dispute.number.startswith("T20261120-")
    assert timezone.localtime(dispute.received_at).hour == 10


def test_numbers_count_up_per_day(med):
    numbers = [receive(med, now=T0).number for _ in range(3)]
    assert numbers == [f"T20261125-{n:04d}" for n in (1, 2, 3)]
    assert receive(med, now=T0 + dt.timedelta(days=1)).number == "T20261126-0001"


def test_the_steps_offered_follow_the_state_and_the_reader(med):
    spec = med.w.specialist
    dispute = receive(med)
    assert services.allowed_steps(spec, dispute) == ["add_party", "assign", "refer_up", "hand_over"]
    assert services.allowed_steps(med.w.leader, dispute) == []  # reads only
    mediate(med, dispute)
    dispute.refresh_from_db()
    assert "outcome" in services.allowed_steps(spec, dispute)
    services.do_record_outcome(dispute, actor=spec, outcome="agreement", terms="赔偿")
    dispute.refresh_from_db()
    assert services.allowed_steps(spec, dispute) == ["follow_up"]
    for visit in FollowUp.objects.filter(dispute=dispute):
        services.do_record_follow_up(visit.pk, actor=spec, result="performed")
    assert services.allowed_steps(spec, dispute) == []
