"""Personal numbers stay masked everywhere — the API, every registry page, the Django admin — unless a keeper of
the record reads one in full with a reason; that reading names the field and the reason on the audit record.
Refusals (no reason, a town head) read nothing and record nothing."""

from __future__ import annotations

import re

import pytest

from gridgov.core.masking import mask_id_number, mask_phone
from gridgov.core.models import AuditRecord
from gridgov.registry.models import Person

from . import test_access
from .test_access import API, PEOPLE, client_for, user_of

scene = test_access.scene  # the registry tests' shared fixture

pytestmark = pytest.mark.django_db

SECRETS = [v for p in PEOPLE.values() for v in (p["id"], p["phone"])]


def leaks(body: str) -> list[str]:
    """The full numbers in `body`, also when a page splits them with markup or spaces."""
    digits = re.sub(r"\D", "", body)
    return [s for s in SECRETS if s in body or s in digits]


def urls_for(s) -> list[str]:
    zhang, household = s.persons["zhang"], s.household
    return [
        f"{API}/persons?limit=100",
        f"{API}/persons/{zhang.pk}",
        f"{API}/households",
        f"{API}/households/{household.pk}",
        f"{API}/organisations",
        f"{API}/components",
        f"{API}/figures",
        "/registry/",
        "/registry/persons/",
        f"/registry/persons/{zhang.pk}/",
        f"/registry/persons/{s.persons['li'].pk}/",
        "/registry/households/",
        f"/registry/households/{household.pk}/",
        "/registry/organisations/",
        "/registry/components/",
    ]


@pytest.mark.parametrize("who", ["specialist", "l2head", "l1head", "leader", "admin"])
def test_no_answer_and_no_page_holds_a_full_number(scene, who):
    c = client_for(user_of(scene, who))
    for url in urls_for(scene):
        response = c.get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        body = response.content.decode()
        assert not leaks(body), (who, url, leaks(body))
    # The masked forms are what is shown.
    detail = c.get(f"{API}/persons/{scene.persons['zhang'].pk}").json()
    assert detail["document"] == mask_id_number(PEOPLE["zhang"]["id"])
    assert detail["phone"] == mask_phone(PEOPLE["zhang"]["phone"])
    assert detail["document"] == PEOPLE["zhang"]["id"][:6] + "********" + PEOPLE["zhang"]["id"][-4:]


def test_search_results_never_echo_the_number_searched(scene):
    """A whole ID number or phone finds the person; the answer shows them masked (the htmx results and the API
    list carry no copy of what was typed)."""
    c = client_for(scene.world.specialist)
    for secret in (PEOPLE["zhang"]["id"], PEOPLE["zhang"]["phone"]):
        api = c.get(f"{API}/persons", {"q": secret})
        assert [i["name"] for i in api.json()["items"]] == ["张建国"]
        assert not leaks(api.content.decode())
        results = c.post("/registry/persons/", {"q": secret}, HTTP_HX_REQUEST="true")
        assert results.status_code == 200
        body = results.content.decode()
        assert "张建国" in body and not leaks(body), leaks(body)
        assert "private" in results["Cache-Control"] and "no-store" in results["Cache-Control"]


def test_unmask_reads_one_number_in_full_and_records_the_field_and_the_reason(scene):
    zhang = scene.persons["zhang"]
    c = client_for(scene.world.specialist)
    before = AuditRecord.objects.count()
    answer = c.post(f"{API}/persons/{zhang.pk}/unmask", {"what": "phone", "reason": "回访独居老人"})
    assert answer.status_code == 200
    assert answer.json() == {"what": "phone", "value": PEOPLE["zhang"]["phone"]}
    assert "no-store" in answer["Cache-Control"]
    records = list(AuditRecord.objects.order_by("id")[before:])
    assert len(records) == 1
    record = records[0]
    assert record.action == "registry.unmask"
    assert record.data == {"what": "phone", "reason": "回访独居老人"}
    assert record.object_id == str(zhang.pk) and record.actor_id == scene.world.specialist.pk
    # Only that number: the document number is still masked in the detail.
    assert PEOPLE["zhang"]["id"] not in c.get(f"{API}/persons/{zhang.pk}").content.decode()

    document = c.post(
        f"{API}/persons/{zhang.pk}/unmask", {"what": "document_number", "reason": "核对户籍信息"}
    )
    assert document.json()["value"] == PEOPLE["zhang"]["id"]
    assert AuditRecord.objects.order_by("-id").first().data == {
        "what": "document_number",
        "reason": "核对户籍信息",
    }


@pytest.mark.parametrize("reason", ["", "   ", "看"])
def test_unmask_without_a_reason_is_refused_and_records_nothing(scene, reason):
    zhang = scene.persons["zhang"]
    c = client_for(scene.world.specialist)
    before = AuditRecord.objects.count()
    answer = c.post(f"{API}/persons/{zhang.pk}/unmask", {"what": "phone", "reason": reason})
    assert answer.status_code == 422
    assert answer.json()["field"] == "reason"
    assert PEOPLE["zhang"]["phone"] not in answer.content.decode()
    page = c.post(f"/registry/persons/{zhang.pk}/unmask/phone/", {"reason": reason}, HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert 'id="reason-phone-error"' in body and not leaks(body)
    assert AuditRecord.objects.count() == before


@pytest.mark.parametrize("who", ["l1head", "operator", "leader", "admin"])
def test_those_above_the_village_may_not_read_a_number_in_full(scene, who):
    """They see the person, so the refusal is 403 (not 404), and it reads and records nothing."""
    zhang = scene.persons["zhang"]
    c = client_for(user_of(scene, who))
    before = AuditRecord.objects.count()
    answer = c.post(f"{API}/persons/{zhang.pk}/unmask", {"what": "phone", "reason": "核实身份信息"})
    assert answer.status_code == 403
    assert answer.json()["code"] == "not_allowed"
    assert not leaks(answer.content.decode())
    page = c.post(
        f"/registry/persons/{zhang.pk}/unmask/phone/", {"reason": "核实身份信息"}, HTTP_HX_REQUEST="true"
    )
    assert page.status_code == 403 and not leaks(page.content.decode())
    assert AuditRecord.objects.count() == before
    # And the page offers them no "show" button.
    assert "unmask-form" not in c.get(f"/registry/persons/{zhang.pk}/").content.decode()
    assert c.get(f"{API}/persons/{zhang.pk}").json()["may_unmask"] is False


def test_the_show_button_reveals_one_number_into_the_page_and_records_it(scene):
    zhang = scene.persons["zhang"]
    c = client_for(scene.world.l2head)
    page = c.get(f"/registry/persons/{zhang.pk}/").content.decode()
    assert f'action="/registry/persons/{zhang.pk}/unmask/phone/"' in page
    assert f'action="/registry/persons/{zhang.pk}/unmask/document_number/"' in page
    box = c.post(
        f"/registry/persons/{zhang.pk}/unmask/phone/", {"reason": "电话回访"}, HTTP_HX_REQUEST="true"
    )
    assert box.status_code == 200
    body = box.content.decode()
    assert f'href="tel:{PEOPLE["zhang"]["phone"]}"' in body
    assert PEOPLE["zhang"]["id"] not in body
    assert body.lstrip().startswith('<div class="number-box" id="number-phone">')
    assert AuditRecord.objects.filter(action="registry.unmask", data__reason="电话回访").count() == 1
    # Without htmx: the whole page, that number shown, the other still masked.
    full = c.post(
        f"/registry/persons/{zhang.pk}/unmask/document_number/", {"reason": "核对户籍"}
    ).content.decode()
    assert PEOPLE["zhang"]["id"] in full and PEOPLE["zhang"]["phone"] not in full


def test_the_admin_lists_masked_numbers_never_the_ciphertext(scene):
    c = client_for(scene.admin)
    zhang = scene.persons["zhang"]
    for url in (
        "/admin/registry/person/",
        f"/admin/registry/person/{zhang.pk}/change/",
        "/admin/registry/organisation/",
        "/admin/registry/household/",
    ):
        response = c.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert not leaks(body), (url, leaks(body))
        for column in ("document_enc", "phone_enc", "document_index", "phone_index", "key_group"):
            assert column not in body, (url, column)
    listed = c.get("/admin/registry/person/").content.decode()
    assert mask_id_number(PEOPLE["zhang"]["id"]) in listed and mask_phone(PEOPLE["zhang"]["phone"]) in listed
    # Searching by a whole phone goes through the blind index (the admin's links repeat what was typed, nothing
    # else).
    found = c.get("/admin/registry/person/", {"q": PEOPLE["wang"]["phone"]}).content.decode()
    assert "王德胜" in found and "张建国" not in found
    assert leaks(found) == [PEOPLE["wang"]["phone"]]


def test_numbers_are_stored_encrypted(scene):
    row = Person.objects.filter(pk=scene.persons["zhang"].pk).values().get()
    stored = " ".join(str(v) for v in row.values())
    assert PEOPLE["zhang"]["id"] not in stored and PEOPLE["zhang"]["phone"] not in stored


# Who keeps whose record (may read its numbers in full), written from the rules: the grid's and the village's
# keepers of the person's grid; nobody above the village, not even county-wide administrators.
KEEPS = {
    "specialist": {"zhang", "li"},  # grid g
    "officer": {"zhang", "li"},  # grid g
    "l2head": {"zhang", "li", "wang"},  # village v: g and g_b
    "other_specialist": {"chen"},
    "l1head": set(),
    "operator": set(),
    "leader": set(),
    "admin": set(),
}


@pytest.mark.parametrize("who", list(KEEPS))
def test_who_may_read_numbers_in_full_is_answered_without_a_query(scene, who, django_assert_num_queries):
    from gridgov.accounts.scoping import held_roles
    from gridgov.registry.services import may_unmask

    user = user_of(scene, who)
    held_roles(user)  # the role assignments are read once per request, before any answer
    persons = {key: Person.objects.get(pk=p.pk) for key, p in scene.persons.items()}
    with django_assert_num_queries(0):
        kept = {key for key, person in persons.items() if may_unmask(user, person)}
    assert kept == KEEPS[who]
