"""Bad input gets a clear error naming the field and changes nothing (checked in the database): the three the
issue names — a party with an invalid ID number, a session before the dispute was received, an agreement
without parties — and the other checks of the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import override

from gridgov.mediation import services
from gridgov.mediation.errors import Conflict, Invalid, NotAllowed, WrongState
from gridgov.mediation.models import Agreement, Dispute, Party

from .helpers import bad_id_number, id_number, mediate, receive, snapshot, two_parties

pytestmark = pytest.mark.django_db


def refused(call, field: str, *, contains: str = "") -> Invalid:
    """`call` raises Invalid naming `field` and leaves the database as it was."""
    before = snapshot()
    with pytest.raises(Invalid) as exc:
        call()
    assert exc.value.field == field, exc.value.field
    assert str(exc.value.message).strip()
    if contains:
        assert contains in str(exc.value.message)
    assert snapshot() == before
    return exc.value


# ---------------------------------------------------------------------------------------------- the three


def test_a_party_with_an_invalid_id_number_is_refused_and_nothing_is_saved(med):
    dispute = receive(med, parties=[])
    bad = bad_id_number()
    with override("en"):
        error = refused(
            lambda: services.do_add_party(
                dispute, {"role": "applicant", "name": "张三", "id_number": bad}, actor=med.w.specialist
            ),
            "id_number",
        )
        assert "check digit" in str(error.message)
    with override("zh-hans"):
        error = refused(
            lambda: services.do_add_party(
                dispute, {"role": "applicant", "name": "张三", "id_number": bad}, actor=med.w.specialist
            ),
            "id_number",
        )
        assert "校验" in str(error.message)  # the registry's checker, translated
    assert not Party.objects.filter(dispute=dispute).exists()


def test_a_bad_id_number_among_the_parties_at_intake_refuses_the_whole_dispute(med):
    parties = [*two_parties(), {"role": "third_party", "name": "王五", "id_number": "15062119800101123"}]
    refused(lambda: receive(med, parties=parties), "parties.2.id_number")
    assert not Dispute.objects.exists()


def test_an_update_with_a_bad_id_number_keeps_the_party_as_it_was(med):
    dispute = receive(med)
    party = dispute.parties.order_by("id").first()
    refused(
        lambda: services.do_update_party(
            party.pk, {"role": "applicant", "name": "张三丰", "id_number": "X" * 18}, actor=med.w.specialist
        ),
        "id_number",
    )
    party.refresh_from_db()
    assert party.name == "张三"


def test_a_session_before_the_dispute_was_received_is_refused(med):
    dispute = receive(med)
    services.do_assign(dispute, actor=med.w.specialist, committee=med.grid_committee, lead=med.grid_mediator)
    dispute.refresh_from_db()
    earlier = dispute.received_at - dt.timedelta(hours=2)
    with override("en"):
        error = refused(
            lambda: services.do_record_session(
                dispute, actor=med.w.specialist, held_at=earlier, mediators=[med.grid_mediator]
            ),
            "held_at",
        )
        assert "before the dispute was received" in str(error.message)
    assert dispute.sessions.count() == 0
    assert Dispute.objects.get(pk=dispute.pk).state == "assigned"
    # Times are given to the minute: the minute the dispute was received is not before it.
    same_minute = dispute.received_at.replace(second=0, microsecond=0)
    services.do_record_session(
        dispute, actor=med.w.specialist, held_at=same_minute, mediators=[med.grid_mediator]
    )
    assert dispute.sessions.count() == 1


def test_a_session_in_the_future_or_without_mediators_is_refused(med):
    dispute = receive(med)
    services.do_assign(dispute, actor=med.w.specialist, committee=med.grid_committee, lead=med.grid_mediator)
    later = timezone.now() + dt.timedelta(hours=1)
    refused(
        lambda: services.do_record_session(
            dispute, actor=med.w.specialist, held_at=later, mediators=[med.grid_mediator]
        ),
        "held_at",
    )
    refused(
        lambda: services.do_record_session(
            dispute, actor=med.w.specialist, held_at=timezone.now(), mediators=[]
        ),
        "mediators",
    )
    # A mediator of another committee, one who left, and a party of another dispute.
    refused(
        lambda: services.do_record_session(
            dispute, actor=med.w.specialist, held_at=timezone.now(), mediators=[med.outsider]
        ),
        "mediators",
    )
    refused(
        lambda: services.do_record_session(
            dispute, actor=med.w.specialist, held_at=timezone.now(), mediators=[med.gone]
        ),
        "mediators",
    )
    other = receive(med)
    refused(
        lambda: services.do_record_session(
            dispute,
            actor=med.w.specialist,
            held_at=timezone.now(),
            mediators=[med.grid_mediator],
            parties_present=[other.parties.first().pk],
        ),
        "parties_present",
    )


def test_an_agreement_without_parties_is_refused_with_a_clear_error(med):
    dispute = mediate(med, receive(med, parties=[]))
    with override("en"):
        error = refused(
            lambda: services.do_record_outcome(
                dispute, actor=med.w.specialist, outcome="agreement", terms="李四赔偿张三3000元"
            ),
            "parties",
        )
        assert "at least two parties" in str(error.message)
    with override("zh-hans"):
        refused(
            lambda: services.do_record_outcome(
                dispute, actor=med.w.specialist, outcome="partial", terms="部分达成"
            ),
            "parties",
        )
    # One party is not enough either.
    services.do_add_party(dispute, {"role": "applicant", "name": "张三"}, actor=med.w.specialist)
    refused(
        lambda: services.do_record_outcome(
            dispute, actor=med.w.specialist, outcome="agreement", terms="赔偿"
        ),
        "parties",
    )
    assert Dispute.objects.get(pk=dispute.pk).state == "mediating"
    assert not Agreement.objects.filter(dispute=dispute).exists()


# ---------------------------------------------------------------------------------------------- other checks


def test_intake_checks_each_field(med):
    refused(lambda: receive(med, kind="weather"), "kind")
    refused(lambda: receive(med, title="  "), "title")
    refused(lambda: receive(med, description=""), "description")
    refused(lambda: receive(med, amount="-5"), "amount")
    refused(lambda: receive(med, amount="12.345"), "amount")
    refused(lambda: receive(med, amount="lots"), "amount")
    refused(lambda: receive(med, risk="extreme"), "risk")
    refused(lambda: receive(med, language="fr"), "language")
    refused(lambda: receive(med, grid=med.w.village), "grid")  # a village is no level-3 grid
    refused(lambda: receive(med, grid="nowhere"), "grid")
    refused(lambda: receive(med, grid=med.w.other_grid), "grid")  # not the specialist's grid
    refused(lambda: receive(med, received_at=timezone.now() + dt.timedelta(days=1)), "received_at")
    refused(lambda: receive(med, received_at="yesterday"), "received_at")
    refused(lambda: receive(med, parties=[{"role": "judge", "name": "某"}]), "parties.0.role")
    refused(lambda: receive(med, parties=[{"role": "applicant", "name": ""}]), "parties.0.name")
    refused(
        lambda: receive(med, parties=[{"role": "applicant", "name": "某", "phone": "123"}]), "parties.0.phone"
    )
    refused(lambda: receive(med, parties=[{"role": "applicant", "name": "某", "age": 3}]), "parties.0")
    assert not Dispute.objects.exists()


def test_outcome_checks(med):
    dispute = mediate(med, receive(med))
    today = timezone.localdate()
    refused(lambda: services.do_record_outcome(dispute, actor=med.w.specialist, outcome="won"), "outcome")
    refused(lambda: services.do_record_outcome(dispute, actor=med.w.specialist, outcome="agreement"), "terms")
    refused(lambda: services.do_record_outcome(dispute, actor=med.w.specialist, outcome="failed"), "terms")
    refused(
        lambda: services.do_record_outcome(
            dispute, actor=med.w.specialist, outcome="agreement", terms="赔偿", amount="-1"
        ),
        "amount",
    )
    refused(
        lambda: services.do_record_outcome(
            dispute,
            actor=med.w.specialist,
            outcome="agreement",
            terms="赔偿",
            signed_on=today + dt.timedelta(days=1),
        ),
        "signed_on",
    )
    refused(
        lambda: services.do_record_outcome(
            dispute,
            actor=med.w.specialist,
            outcome="agreement",
            terms="赔偿",
            signed_on=today - dt.timedelta(days=9),
        ),
        "signed_on",
    )
    refused(
        lambda: services.do_record_outcome(
            dispute,
            actor=med.w.specialist,
            outcome="agreement",
            terms="赔偿",
            performance_due=today - dt.timedelta(days=1),
        ),
        "performance_due",
    )


def test_assignment_checks(med):
    dispute = receive(med)
    refused(
        lambda: services.do_assign(
            dispute, actor=med.w.specialist, committee=med.other_committee, lead=med.outsider
        ),
        "committee",
    )
    refused(
        lambda: services.do_assign(
            dispute, actor=med.w.specialist, committee=med.grid_committee, lead=med.elder
        ),
        "lead",
    )
    refused(
        lambda: services.do_assign(
            dispute, actor=med.w.specialist, committee=med.village_committee, lead=med.gone
        ),
        "lead",
    )
    refused(
        lambda: services.do_assign(
            dispute,
            actor=med.w.specialist,
            committee=med.village_committee,
            lead=med.elder,
            assistants=[med.outsider],
        ),
        "assistants",
    )
    refused(
        lambda: services.do_assign(dispute, actor=med.w.specialist, committee=999999, lead=med.elder),
        "committee",
    )


def test_refer_up_and_hand_over_need_their_reason(med):
    dispute = receive(med)
    refused(lambda: services.do_refer_up(dispute, actor=med.w.specialist, reason=" "), "reason")
    refused(
        lambda: services.do_hand_over(dispute, actor=med.w.specialist, to="court", note=""), "handover_note"
    )
    refused(lambda: services.do_hand_over(dispute, actor=med.w.specialist, to="mars", note="x"), "handed_to")


def test_a_wrong_state_is_a_conflict_and_changes_nothing(med):
    dispute = receive(med)
    before = snapshot()
    # No session before assignment; no outcome before a session.
    with pytest.raises(WrongState):
        services.do_record_session(
            dispute, actor=med.w.specialist, held_at=timezone.now(), mediators=[med.grid_mediator]
        )
    with pytest.raises(Conflict):
        services.do_record_outcome(dispute, actor=med.w.specialist, outcome="agreement", terms="x")
    assert snapshot() == before


def test_a_stale_copy_cannot_overwrite_a_newer_state(med):
    dispute = receive(med)
    stale = Dispute.objects.get(pk=dispute.pk)
    services.do_assign(dispute, actor=med.w.specialist, committee=med.grid_committee, lead=med.grid_mediator)
    before = snapshot()
    with pytest.raises(Conflict):
        services._bump(stale, timezone.now(), state="settled")
    assert snapshot() == before


def test_a_leader_reads_but_does_not_work_on_disputes(med):
    dispute = receive(med)
    before = snapshot()
    with pytest.raises(NotAllowed):
        services.do_add_party(dispute, {"role": "applicant", "name": "某"}, actor=med.w.leader)
    with pytest.raises(NotAllowed):
        services.do_hand_over(dispute, actor=med.w.leader, to="court", note="起诉")
    assert snapshot() == before


def test_a_valid_party_is_encrypted_masked_and_found_by_its_index(med):
    from gridgov.core.personal import ID_NUMBER, PHONE, blind_index, decrypt_text

    dispute = receive(med, parties=[])
    number = id_number(serial="555")
    party = services.do_add_party(
        dispute,
        {"role": "respondent", "name": "赵六", "id_number": number.lower(), "phone": "139 0000 3333"},
        actor=med.w.specialist,
    )
    party.refresh_from_db()
    assert party.id_number_masked == number[:6] + "********" + number[-4:]
    assert party.phone_masked == "139****3333"
    assert decrypt_text(party.id_number_enc, ID_NUMBER) == number
    assert decrypt_text(party.phone_enc, PHONE) == "13900003333"
    assert party.phone_index == blind_index("13900003333")
    assert number not in str(party.id_number_enc)
