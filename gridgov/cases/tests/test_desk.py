"""The operators' desk: intake through the form (map point, item, caller's personal data, idempotency,
duplicates), the item search, batch dispatch, the merge tool, and who may open them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from gridgov.cases.choices import Action, Channel, ReporterKind, State
from gridgov.cases.models import Case, CaseEvent, Supporter
from gridgov.cases.personal import blind_index, reporter_identity
from gridgov.cases.services import allowed_actions
from gridgov.catalog.selectors import find_items

from .helpers import HERE, OTHER_TOWN, act, case_in, report_case

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def login(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def intake_data(client, **over):
    """The form's fields as the page renders them (its idempotency key included), then `over`."""
    page = client.get(reverse("cases:new"))
    key = page.context["form"].initial["idempotency_key"]
    data = {
        "channel": "hotline",
        "description": "小区门口垃圾箱满了，三天没人清运",
        "item": "011001",
        "urgency": "",
        "lon": str(HERE[0]),
        "lat": str(HERE[1]),
        "grid": "",
        "address": "",
        "reporter_name": "李大妈",
        "reporter_phone": PHONE,
        "idempotency_key": key,
    }
    data.update(over)
    return data


def test_intake_creates_the_case_with_its_grid_item_channel_and_encrypted_caller(client, world):
    login(client, world.operator)
    response = client.post(reverse("cases:new"), intake_data(client, confidential="on"))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.number])
    assert case.grid_id == world.grid.pk and case.grid_l1_id == world.town.pk
    assert case.item.code == "011001" and case.channel == Channel.HOTLINE and case.state == State.REPORTED
    assert case.reporter_kind == ReporterKind.ANONYMOUS and case.reporter_id is None and case.confidential
    # Personal data encrypted at rest, found by the blind index, readable only through decryption.
    assert PHONE.encode() not in bytes(case.reporter_phone_enc)
    assert "李大妈".encode() not in bytes(case.reporter_name_enc)
    assert case.reporter_phone_index == blind_index(PHONE)
    assert reporter_identity(case) == ("李大妈", PHONE)
    assert case.events.get().actor == world.operator


def test_a_double_submit_with_the_same_key_makes_one_case(client, world):
    login(client, world.operator)
    data = intake_data(client)
    first = client.post(reverse("cases:new"), data)
    second = client.post(reverse("cases:new"), data)
    assert Case.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_the_form_names_the_field_at_fault_and_changes_nothing(client, world):
    login(client, world.operator)
    response = client.post(reverse("cases:new"), intake_data(client, reporter_phone="12", description=" "))
    assert response.status_code == 200 and not Case.objects.exists()
    form = response.context["form"]
    assert "description" in form.errors
    # The service's own refusal lands next to its field.
    response = client.post(reverse("cases:new"), intake_data(client, reporter_phone="12345"))
    assert "reporter_phone" in response.context["form"].errors and not Case.objects.exists()
    assert b"mobile number of 11 digits" in response.content
    # No place at all.
    response = client.post(reverse("cases:new"), intake_data(client, lon="", lat=""))
    assert "lon" in response.context["form"].errors and not Case.objects.exists()


def test_a_point_outside_the_centres_grids_is_refused_by_name(client, world):
    login(client, world.operator)
    response = client.post(
        reverse("cases:new"), intake_data(client, lon=str(OTHER_TOWN[0]), lat=str(OTHER_TOWN[1]))
    )
    assert response.status_code == 200 and not Case.objects.exists()
    assert "outside your centre" in str(response.context["form"].errors["lon"])


def test_an_address_alone_stays_in_the_town_centres_view(client, world):
    login(client, world.operator)
    response = client.post(
        reverse("cases:new"), intake_data(client, lon="", lat="", address="二道街12号", item="")
    )
    case = Case.objects.get()
    assert case.grid_id == world.town.pk and case.address == "二道街12号"
    assert response["Location"] == reverse("cases:detail", args=[case.number])


def test_duplicates_are_offered_then_create_anyway_or_me_too(client, world):
    existing = report_case(world)
    login(client, world.operator)
    data = intake_data(client)
    offered = client.post(reverse("cases:new"), data)
    assert offered.status_code == 200 and Case.objects.count() == 1
    offers = offered.context["offers"]
    assert [o.case.number for o in offers] == [existing.number] and offers[0].distance_m == 0
    assert b"report anyway" in offered.content and existing.number.encode() in offered.content

    # "The same": the caller follows the existing case, no new case.
    joined = client.post(reverse("cases:new"), {**data, "me_too": existing.number})
    assert joined.status_code == 302 and joined["Location"] == reverse("cases:detail", args=[existing.number])
    assert Case.objects.count() == 1
    supporter = Supporter.objects.get(case=existing)
    assert supporter.phone_index == blind_index(PHONE) and supporter.user is None
    existing.refresh_from_db()
    assert existing.supporters_count == 1
    # The operator who took the call is on record for it.
    event = CaseEvent.objects.get(case=existing, action="me_too")
    assert (event.actor_id, event.capacity) == (world.operator.pk, "operator")

    # "Different": create anyway, once, whatever the number of clicks.
    forced = client.post(reverse("cases:new"), {**data, "force": "1"})
    client.post(reverse("cases:new"), {**data, "force": "1"})
    assert Case.objects.count() == 2
    new = Case.objects.exclude(pk=existing.pk).get()
    assert forced["Location"] == reverse("cases:detail", args=[new.number])


def test_me_too_only_for_a_case_intake_would_offer(client, world):
    far = report_case(world, where=(109.02, 40.09))  # same item, hundreds of metres away, still visible
    other_town = report_case(world, where=OTHER_TOWN)
    login(client, world.operator)
    data = intake_data(client)
    assert client.post(reverse("cases:new"), {**data, "me_too": other_town.number}).status_code == 404
    # A case the operator sees may still be joined (the operator judged it the same).
    assert client.post(reverse("cases:new"), {**data, "me_too": far.number}).status_code == 302
    assert not Supporter.objects.filter(case=other_town).exists()


def test_item_search_by_pinyin_initials_full_pinyin_and_chinese(client, world):
    login(client, world.operator)
    for query in ("ljdf", "laji", "lajiduifang", "垃圾", "暴露", "012001"):
        response = client.get(reverse("cases:item_search"), {"q": query})
        assert response.status_code == 200
        assert b'data-code="012001"' in response.content, query
    hit = next(h for h in find_items(world.operator, "ljdf") if h.item.code == "012001")
    assert hit.keyword == "垃圾堆放"
    nothing = client.get(reverse("cases:item_search"), {"q": "zzzzqx"})
    assert b"No item matches" in nothing.content


def test_locate_names_the_grid_and_whether_it_is_the_centres(client, world):
    login(client, world.operator)
    here = client.get(reverse("cases:locate"), {"lon": HERE[0], "lat": HERE[1]}).json()
    assert here["inside"] and here["mine"] and here["code"] == world.grid.code
    assert world.village.name in here["trail"] and world.grid.name in here["trail"]
    there = client.get(reverse("cases:locate"), {"lon": OTHER_TOWN[0], "lat": OTHER_TOWN[1]}).json()
    assert there["inside"] and not there["mine"]
    assert not client.get(reverse("cases:locate"), {"lon": 120, "lat": 30}).json()["inside"]
    assert client.get(reverse("cases:locate"), {"lon": "x"}).status_code == 400


@pytest.mark.parametrize("who", ["l1head", "l2head", "specialist", "handler", "leader", "resident"])
def test_the_desk_does_not_exist_for_non_operators(client, world, who):
    case = report_case(world)
    login(client, getattr(world, who))
    for name, params in (
        ("cases:new", {}),
        ("cases:item_search", {"q": "laji"}),
        ("cases:locate", {"lon": HERE[0], "lat": HERE[1]}),
        ("cases:batch_dispatch", {"numbers": case.number}),
        ("cases:merge", {"number": case.number}),
    ):
        assert client.get(reverse(name), params).status_code == 404, name
    assert client.post(reverse("cases:new"), {"description": "x"}).status_code == 404
    assert Case.objects.count() == 1


def test_batch_dispatch_dispatches_several_and_reports_each_refusal(client, world, png_bytes):
    ready = [case_in(world, State.REGISTERED) for _ in range(3)]
    reported = case_in(world, State.REPORTED)
    login(client, world.operator)
    numbers = [c.number for c in ready] + [reported.number, "19990101-0001"]
    page = client.post(reverse("cases:batch_dispatch"), {"numbers": numbers})
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [r.case.number for r in rows] == [c.number for c in ready]
    assert all(r.suggested == "HW" for r in rows)  # routing: item 011001 → HW
    assert {n for n, _ in page.context["left_out"]} == {reported.number, "19990101-0001"}
    # The same list by GET (numbers separated by commas).
    again = client.get(reverse("cases:batch_dispatch"), {"numbers": ",".join(numbers)})
    assert [r.case.number for r in again.context["rows"]] == [c.number for c in ready]
    # The transition table agrees with the page (it asks the table without reading assignments).
    assert all(Action.DISPATCH in allowed_actions(world.operator, r.case) for r in rows)

    a, b, c = ready
    act(world, c.number, Action.SUSPEND, "operator", reason="等待")  # moved on meanwhile
    data = {"dispatch": "1", "number": [a.number, b.number, c.number]}
    for case in ready:
        data[f"unit-{case.number}"] = "HW"
        data[f"version-{case.number}"] = str(case.version)
    data[f"unit-{b.number}"] = "ZF"
    result = client.post(reverse("cases:batch_dispatch"), data)
    outcomes = {o.number: o for o in result.context["outcomes"]}
    assert outcomes[a.number].done and outcomes[b.number].done and not outcomes[c.number].done
    assert "changed" in outcomes[c.number].message or "suspended" in outcomes[c.number].message
    assert result.context["done"] == 2 and result.context["refused"] == 1
    states = dict(Case.objects.filter(pk__in=[x.pk for x in ready]).values_list("number", "state"))
    assert states == {a.number: State.DISPATCHED, b.number: State.DISPATCHED, c.number: State.SUSPENDED}
    assert Case.objects.get(pk=b.pk).lead_department.code == "ZF"
    assert b"refused" in result.content


def test_merge_compares_side_by_side_then_merges(client, world):
    keep = report_case(world, description="垃圾箱倒了，垃圾撒了一地")
    dup = report_case(world, world.other_resident, description="门口垃圾箱被风吹倒")
    login(client, world.operator)
    page = client.get(reverse("cases:merge"), {"number": dup.number})
    assert [c.case.number for c in page.context["candidates"]] == [keep.number]
    compare = client.get(reverse("cases:merge"), {"number": dup.number, "into": keep.number})
    assert "垃圾箱倒了".encode() in compare.content and "被风吹倒".encode() in compare.content
    assert compare.context["target_open"]
    done = client.post(
        reverse("cases:merge"), {"number": dup.number, "into": keep.number, "version": dup.version}
    )
    assert done.status_code == 302 and done["Location"] == reverse("cases:detail", args=[keep.number])
    dup.refresh_from_db()
    assert dup.state == State.MERGED and dup.merged_into_id == keep.pk
    # Merged: nothing more to merge; the page says so and offers no button.
    after = client.get(reverse("cases:merge"), {"number": dup.number, "into": keep.number})
    assert not after.context["may_merge"] and b'method="post" class="card merge"' not in after.content


def test_merge_refusal_is_shown_and_changes_nothing(client, world):
    a = report_case(world)
    closed = case_in(world, State.REJECTED)
    login(client, world.operator)
    response = client.post(reverse("cases:merge"), {"number": a.number, "into": closed.number})
    assert response.status_code == 200 and response.context["error"]
    a.refresh_from_db()
    assert a.state == State.REPORTED


def test_desk_pages_stay_within_their_query_budget(client, world, django_assert_max_num_queries):
    ready = [case_in(world, State.REGISTERED) for _ in range(6)]
    dups = [report_case(world, description=f"垃圾箱满了 {i}") for i in range(6)]
    login(client, world.operator)
    with django_assert_max_num_queries(30):
        page = client.get(reverse("cases:batch_dispatch"), {"numbers": [c.number for c in ready + dups]})
    assert len(page.context["rows"]) == 6
    with django_assert_max_num_queries(30):
        page = client.get(reverse("cases:merge"), {"number": dups[0].number, "into": dups[1].number})
    # The other duplicates and the registered cases of the same item and grid: all open, all candidates.
    assert len(page.context["candidates"]) == 11
    with django_assert_max_num_queries(20):
        client.get(reverse("cases:new"))
    with django_assert_max_num_queries(10):
        page = client.get(reverse("cases:item_search"), {"q": "laji"})
    assert page.content.count(b'role="option"') >= 3
    data = intake_data(client)
    with django_assert_max_num_queries(30):
        offered = client.post(reverse("cases:new"), data)
    assert len(offered.context["offers"]) == 12
