"""Who sees which dispute: the county-wide all; leaders, operators and the heads their subtree's; grid workers
their grid's; mediators their committee's subtree's and those they are assigned to; nobody else any. Out of
scope is not found (404), in lists, pages and services alike."""

from __future__ import annotations

import pytest

from gridgov.core.scoping import visible_to
from gridgov.mediation import selectors, services
from gridgov.mediation.errors import DisputeNotFound, FollowUpNotFound, PartyNotFound
from gridgov.mediation.models import Committee, FollowUp, Party
from gridgov.mediation.scoping import reads_mediation

from .helpers import make_mediator, mediate, receive, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(med):
    """A dispute in grid g, one in its neighbour g-b (same village), one in the other town."""
    w = med.w
    here = receive(med)
    neighbour = receive(med, actor=w.l2head, grid=w.grid_b, title="隔壁网格")
    from gridgov.accounts.models import RoleAssignment

    RoleAssignment.objects.create(user=med.outsider_user, role="grid_specialist", grid=w.other_grid)
    far = receive(med, actor=med.outsider_user, grid=w.other_grid, title="外镇")
    return here, neighbour, far


def seen(user) -> set[str]:
    return set(visible_to(user, selectors.Dispute).values_list("title", flat=True))


def test_who_sees_which_dispute(med, three, make_user):
    w = med.w
    all3 = {"邻居漏水纠纷", "隔壁网格", "外镇"}
    town = {"邻居漏水纠纷", "隔壁网格"}
    superuser = make_user("root", is_superuser=True, is_staff=True)
    expected = {
        superuser: all3,
        w.leader: all3,  # a leader of the county
        w.operator: town,
        w.l1head: town,
        w.l2head: town,  # the village holds both grids
        w.specialist: {"邻居漏水纠纷"},
        w.officer: {"邻居漏水纠纷"},
        w.other_specialist: {"外镇"},
        w.mediator: town,  # mediator role over the village
        med.town_user: town,
        med.outsider_user: {"外镇"},
        w.resident: set(),
        w.handler: set(),
        w.guide: set(),
        make_user("nobody"): set(),
    }
    for user, titles in expected.items():
        assert seen(user) == titles, user.username
    readers = {u for u in expected if reads_mediation(u)}
    assert readers == {u for u, t in expected.items() if t}


def test_a_mediator_sees_what_they_are_assigned_to_beyond_their_grid(med, three, make_user):
    here, _neighbour, _far = three
    helper = make_user("helper")  # no role: a mediator on the village's committee with a login
    record = make_mediator(med.village_committee, "协助调解员", user=helper)
    assert seen(helper) == set()
    services.do_assign(
        here, actor=med.w.mediator, committee=med.village_committee, lead=med.elder, assistants=[record]
    )
    assert seen(helper) == {"邻居漏水纠纷"}
    assert selectors.dispute_for(helper, here.number).pk == here.pk
    # As an assisting mediator of the dispute they work on it.
    services.do_record_session(here, actor=helper, held_at=here.received_at, mediators=[record])


def test_out_of_scope_is_not_found_everywhere(med, three):
    here, _neighbour, far = three
    spec = med.w.specialist
    for key in (far.number, far.pk, "T19990101-0001", "nonsense"):
        with pytest.raises(DisputeNotFound):
            selectors.dispute_for(spec, key)
    before = snapshot()
    calls = [
        lambda: services.do_add_party(far, {"role": "applicant", "name": "某"}, actor=spec),
        lambda: services.do_assign(far, actor=spec, committee=med.other_committee, lead=med.outsider),
        lambda: services.do_record_session(
            far, actor=spec, held_at=far.received_at, mediators=[med.outsider]
        ),
        lambda: services.do_record_outcome(far, actor=spec, outcome="failed", terms="x"),
        lambda: services.do_refer_up(far, actor=spec, reason="x"),
        lambda: services.do_hand_over(far, actor=spec, to="court", note="x"),
    ]
    for call in calls:
        with pytest.raises(DisputeNotFound):
            call()
    with pytest.raises(PartyNotFound):
        services.do_update_party(far.parties.first().pk, {"role": "applicant", "name": "某"}, actor=spec)
    assert snapshot() == before
    # The rows recorded with a dispute are seen with it only.
    assert set(visible_to(spec, Party).values_list("dispute_id", flat=True)) == {here.pk}
    with pytest.raises(PartyNotFound):
        selectors.party_for(spec, far.parties.first().pk)


def test_follow_ups_are_seen_with_their_dispute(med, three):
    far = three[2]
    user = med.outsider_user
    mediate(med, far, committee=med.other_committee, lead=med.outsider, actor=user)
    services.do_record_outcome(far, actor=user, outcome="agreement", terms="赔偿")
    visit = FollowUp.objects.filter(dispute=far).first()
    assert [f.pk for f in selectors.follow_ups_due(user)] == list(
        FollowUp.objects.filter(dispute=far).order_by("due_on").values_list("pk", flat=True)
    )
    assert list(selectors.follow_ups_due(med.w.specialist)) == []
    with pytest.raises(FollowUpNotFound):
        services.do_record_follow_up(visit.pk, actor=med.w.specialist, result="performed")
    with pytest.raises(FollowUpNotFound):
        selectors.follow_up_for(med.w.specialist, visit.pk)


def test_committees_of_the_subtree_and_above(med):
    def names(user):
        return set(selectors.committees(user).values_list("name", flat=True))

    here = {"网格1-1-1调解小组", "村1-1人民调解委员会", "镇1人民调解委员会"}
    assert names(med.w.specialist) == here
    assert names(med.w.l2head) == here
    assert names(med.w.leader) == set(Committee.objects.values_list("name", flat=True))
    assert names(med.outsider_user) == {"村2-1人民调解委员会"}
    assert names(med.w.resident) == set()
    village = {m.name for m in selectors.mediators(med.w.specialist, committee=med.village_committee.pk)}
    assert village == {"乡贤巴特尔", "退休教师李", "老干部王"}  # the one who left is not listed
    assert {m.name for m in selectors.mediators(med.w.specialist, language="mn")} == {"乡贤巴特尔"}
    assert selectors.mediators(med.w.resident) == []


def test_lists_filter_and_page(med, three, django_assert_max_num_queries):
    here, neighbour, _far = three
    l1 = med.w.l1head
    assert [d.pk for d in selectors.disputes(l1, grid=med.w.grid.code)] == [here.pk]
    assert list(selectors.disputes(l1, grid=med.w.other_grid.code)) == []  # not theirs: holds none
    assert {d.pk for d in selectors.disputes(l1, state="open")} == {here.pk, neighbour.pk}
    assert [d.pk for d in selectors.disputes(l1, text="隔壁")] == [neighbour.pk]
    assert [d.pk for d in selectors.disputes(l1, text=neighbour.number.lower())] == [neighbour.pk]
    services.do_assign(
        here, actor=l1, committee=med.village_committee, lead=med.elder, assistants=[med.teacher]
    )
    assert [d.pk for d in selectors.disputes(l1, committee=med.village_committee.pk)] == [here.pk]
    assert [d.pk for d in selectors.disputes(l1, mediator=med.teacher.pk)] == [here.pk]
    assert [d.pk for d in selectors.disputes(l1, level=2)] == [here.pk]
    assert [d.pk for d in selectors.disputes(l1, kind="neighbours", risk="medium")] == [neighbour.pk, here.pk]
    for n in range(5):
        receive(med, title=f"更多{n}")
    with django_assert_max_num_queries(3):
        first, more = selectors.dispute_page(l1, limit=3)
        titles = [(d.title, d.grid.code, d.committee and d.committee.name, d.lead_mediator) for d in first]
    assert more and len(titles) == 3
    rest, more = selectors.dispute_page(l1, before=first[-1].pk, limit=10)
    assert not more and len(first) + len(rest) == 7
    assert [d.pk for d in first + rest] == sorted((d.pk for d in first + rest), reverse=True)
