"""The committees and mediators in the back office (the system administrator's dictionaries): a committee
takes its level and grid ids from its grid; a mediator's phone is kept encrypted and shown masked; every change
is audited; other administrators do not see the pages."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.core.models import AuditRecord
from gridgov.core.personal import PHONE, blind_index, decrypt_text
from gridgov.mediation.models import Committee, Mediator

pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_committees_and_mediators_are_kept_in_the_back_office(med, make_user):
    admin = as_user(make_user("sysadmin", admin_duty="system", is_staff=True))
    w = med.w
    listing = admin.get("/admin/mediation/committee/")
    assert listing.status_code == 200 and "村1-1人民调解委员会" in listing.content.decode()

    made = admin.post(
        "/admin/mediation/committee/add/",
        {
            "name": "村1-2人民调解委员会",
            "grid": str(w.town.children.exclude(pk=w.village.pk).get().pk),
            "active": "on",
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    committee = Committee.objects.get(name="村1-2人民调解委员会")
    assert (committee.level, committee.grid_l1_id, committee.grid_l2_id, committee.grid_l3_id) == (
        2,
        w.town.pk,
        committee.grid_id,
        None,
    )
    # The county itself has no committee here: levels 1 to 3.
    refused = admin.post(
        "/admin/mediation/committee/add/", {"name": "旗", "grid": str(w.root.pk), "active": "on"}
    )
    assert refused.status_code == 200 and not Committee.objects.filter(name="旗").exists()

    made = admin.post(
        "/admin/mediation/mediator/add/",
        {
            "committee": str(committee.pk),
            "name": "新调解员",
            "kind": "teacher",
            "gender": "2",
            "phone": "138 0000 9999",
            "skills": ["family", "neighbours"],
            "languages": ["zh", "mn"],
            "areas": str(committee.grid_id),
            "active": "on",
        },
    )
    assert made.status_code == 302, made.content.decode()[:3000]
    mediator = Mediator.objects.get(name="新调解员")
    assert mediator.phone_masked == "138****9999"
    assert decrypt_text(mediator.phone_enc, PHONE) == "13800009999"
    assert (mediator.skills, mediator.languages) == (["family", "neighbours"], ["zh", "mn"])
    assert list(mediator.areas.values_list("pk", flat=True)) == [committee.grid_id]
    assert mediator.phone_index == blind_index("13800009999")
    # Found by the phone; a user without the mediator role cannot be linked; a bad phone is refused.
    found = admin.get("/admin/mediation/mediator/", {"q": "13800009999"})
    assert "新调解员" in found.content.decode()
    refused = admin.post(
        f"/admin/mediation/mediator/{mediator.pk}/change/",
        {
            "committee": str(committee.pk),
            "name": "新调解员",
            "kind": "teacher",
            "user": str(w.resident.pk),
            "active": "on",
        },
    )
    assert refused.status_code == 200 and Mediator.objects.get(pk=mediator.pk).user_id is None
    refused = admin.post(
        f"/admin/mediation/mediator/{mediator.pk}/change/",
        {
            "committee": str(committee.pk),
            "name": "新调解员",
            "kind": "teacher",
            "phone": "12345",
            "active": "on",
        },
    )
    assert refused.status_code == 200
    # Left blank, the phone stays.
    kept = admin.post(
        f"/admin/mediation/mediator/{mediator.pk}/change/",
        {"committee": str(committee.pk), "name": "新调解员", "kind": "elder", "active": "on"},
    )
    assert kept.status_code == 302
    mediator.refresh_from_db()
    assert (mediator.kind, mediator.phone_masked) == ("elder", "138****9999")
    assert (
        AuditRecord.objects.filter(
            action__in=("admin.add", "admin.change"), object_type__startswith="mediation."
        ).count()
        == 3
    )

    security = as_user(make_user("secadmin", admin_duty="security", is_staff=True))
    assert security.get("/admin/mediation/mediator/").status_code == 403
