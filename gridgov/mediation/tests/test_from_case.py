"""A case of the disputes module (07 矛盾信访) taken into mediation: its description, place and grid copied, the
case linked, and the case's history saying it went to mediation. The same case twice answers the first dispute;
a case of another module, or one the actor cannot see, is refused and changes nothing."""

from __future__ import annotations

import pytest

from gridgov.cases.choices import Action
from gridgov.cases.errors import CaseNotFound
from gridgov.cases.models import CaseEvent, Comment
from gridgov.cases.tests.helpers import report_case
from gridgov.mediation import services
from gridgov.mediation.errors import Invalid, NotAllowed
from gridgov.mediation.models import Dispute, DisputeEvent

from .helpers import snapshot, two_parties

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispute_case(med):
    return report_case(med.w, item="072001", description="楼上漏水，邻居吵起来了", address="幸福小区3号楼")


def test_a_disputes_case_goes_to_mediation_once(med, dispute_case):
    case = dispute_case
    comments = Comment.objects.filter(case=case).count()
    result = services.do_open_from_case(case.pk, actor=med.w.specialist, parties=two_parties(), risk="high")
    assert result.created
    d = result.dispute
    assert (d.case_id, d.kind, d.title, d.risk, d.state, d.level) == (
        case.pk,
        "neighbours",
        "邻里纠纷",
        "high",
        "received",
        3,
    )
    assert d.description == "楼上漏水，邻居吵起来了" and d.address == "幸福小区3号楼"
    assert (d.grid_id, d.grid_l1_id, d.grid_l2_id, d.grid_l3_id) == (
        case.grid_id,
        case.grid_l1_id,
        case.grid_l2_id,
        case.grid_l3_id,
    )
    assert d.parties.count() == 2
    event = DisputeEvent.objects.get(dispute=d)
    assert event.action == "from_case" and event.data["case"] == case.number
    # The case's history shows it went to mediation, as a staff note.
    note = Comment.objects.filter(case=case).order_by("-id").first()
    assert Comment.objects.filter(case=case).count() == comments + 1
    assert d.number in note.text and note.public is False
    assert CaseEvent.objects.filter(case=case, action=Action.COMMENT).exists()

    # The same case again (by its number this time, and by another worker of the grid) answers the first.
    before = snapshot()
    again = services.do_open_from_case(case.number, actor=med.w.officer)
    assert (again.created, again.dispute.pk) == (False, d.pk)
    assert snapshot() == before
    assert Comment.objects.filter(case=case).count() == comments + 1


def test_the_kind_follows_the_item_unless_told(med):
    land = report_case(med.w, item="072004", description="两户草场边界争议")
    assert services.do_open_from_case(land.pk, actor=med.w.l2head).dispute.kind == "land"
    told = report_case(med.w, item="072009", description="反映补偿款问题")
    made = services.do_open_from_case(told.pk, actor=med.w.operator, kind="debt", title="补偿款纠纷")
    assert (made.dispute.kind, made.dispute.title) == ("debt", "补偿款纠纷")


def test_a_case_of_another_module_is_refused(med):
    litter = report_case(med.w)  # 011001, a litter bin
    before = snapshot()
    with pytest.raises(Invalid) as exc:
        services.do_open_from_case(litter.pk, actor=med.w.specialist)
    assert exc.value.field == "case"
    assert snapshot() == before and not Comment.objects.filter(case=litter).exists()


def test_a_case_out_of_scope_does_not_exist(med, dispute_case):
    before = snapshot()
    for outsider in (
        med.w.other_specialist,
        med.outsider_user,
        med.w.resident.__class__.objects.create(username="x"),
    ):
        with pytest.raises(CaseNotFound):
            services.do_open_from_case(dispute_case.pk, actor=outsider)
    with pytest.raises(CaseNotFound):
        services.do_open_from_case(999999, actor=med.w.specialist)
    # A leader sees the case but does not take it to mediation.
    with pytest.raises(NotAllowed):
        services.do_open_from_case(dispute_case.pk, actor=med.w.leader)
    assert snapshot() == before
    assert not Dispute.objects.exists()


def test_bad_input_on_the_way_in_changes_the_case_not(med, dispute_case):
    comments = Comment.objects.filter(case=dispute_case).count()
    before = snapshot()
    with pytest.raises(Invalid) as exc:
        services.do_open_from_case(
            dispute_case.pk,
            actor=med.w.specialist,
            parties=[{"role": "applicant", "name": "张三", "id_number": "1"}],
        )
    assert exc.value.field == "parties.0.id_number"
    assert snapshot() == before
    assert Comment.objects.filter(case=dispute_case).count() == comments
