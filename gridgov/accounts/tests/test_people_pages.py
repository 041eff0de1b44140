"""The people pages (security administrator): list, person, assignments, account actions, duty checks."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gridgov.accounts.models import RoleAssignment, User
from gridgov.core.models import AuditRecord


@pytest.fixture
def admins(make_user):
    return {
        "security": make_user("secadmin", admin_duty="security", is_staff=True, full_name="安全管理员"),
        "system": make_user("sysadmin", admin_duty="system", is_staff=True),
        "audit": make_user("auditor", admin_duty="audit", is_staff=True),
    }


def client_for(user, language="en") -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["django_language"] = language
    return c


@pytest.fixture
def sec(admins):
    return client_for(admins["security"])


def test_people_list_searches_filters_and_pages(world, admins, sec, django_assert_max_num_queries):
    for n in range(60):
        u = User.objects.create(username=f"worker{n:02d}", full_name=f"工人{n}")
        RoleAssignment.objects.create(
            user=u, role="grid_specialist", grid=world.grid if n % 2 else world.grid_b
        )
    url = reverse("accounts:people")
    with django_assert_max_num_queries(30):
        page = sec.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'rel="next"' in html  # 60+ people: more than one page
    with django_assert_max_num_queries(30):
        page2 = sec.get(url, {"page": 2})
    assert page2.status_code == 200
    # search by name or username
    found = sec.get(url, {"q": "worker07"}).content.decode()
    assert "worker07" in found and "worker08" not in found
    # filter by grid subtree: the grid itself or anything above it
    in_grid = sec.get(url, {"grid": world.grid.code}).content.decode()
    assert "worker01" in in_grid and "worker02" not in in_grid and "spec2" not in in_grid
    in_town = sec.get(url, {"grid": world.town.code, "role": "grid_specialist"}).content.decode()
    assert "worker02" in in_town and "worker01" in in_town and "spec2" not in in_town
    by_dept = sec.get(url, {"department": "HW"}).content.decode()
    assert "hw1" in by_dept and "zf1" not in by_dept
    unknown = sec.get(url, {"grid": "999"}).content.decode()
    assert "No current grid has the code 999" in unknown


def test_assign_with_wrong_level_grid_names_the_grid_and_changes_nothing(world, sec):
    person = world.specialist
    before = RoleAssignment.objects.count()
    audits = AuditRecord.objects.count()
    url = reverse("accounts:person_assign", args=[person.pk])
    response = sec.post(
        url, {"role": "grid_head_l1", "grid": world.village.code}
    )  # L1 head needs a level-1 grid
    assert response.status_code == 200
    html = response.content.decode()
    assert "grid code: This role is held over a level-1 grid." in html
    assert RoleAssignment.objects.count() == before and AuditRecord.objects.count() == audits
    # a department for a grid-only role names the department field
    html = sec.post(url, {"role": "operator", "grid": world.town.code, "department": "HW"}).content.decode()
    assert "department: This role is not scoped to a department." in html
    assert RoleAssignment.objects.count() == before
    # the right level is accepted, audited, and shows on the page
    response = sec.post(url, {"role": "grid_head_l1", "grid": world.town.code})
    assert response.status_code == 302
    a = RoleAssignment.objects.get(user=person, role="grid_head_l1")
    assert a.grid == world.town
    assert AuditRecord.objects.filter(action="accounts.assign_role", object_id=str(a.pk)).exists()
    page = sec.get(reverse("accounts:person", args=[person.pk])).content.decode()
    assert world.town.code in page and "level-1 grid head" in page


def test_revoke_lock_unlock_language_password(world, admins, sec):
    person = world.handler
    a = RoleAssignment.objects.get(user=person)
    assert sec.post(reverse("accounts:person_revoke", args=[person.pk, a.pk])).status_code == 302
    assert not RoleAssignment.objects.filter(pk=a.pk).exists()
    assert AuditRecord.objects.filter(action="accounts.revoke_role").exists()
    # an assignment of somebody else cannot be revoked through this person's page
    other = RoleAssignment.objects.get(user=world.assistant)
    assert sec.post(reverse("accounts:person_revoke", args=[person.pk, other.pk])).status_code == 404
    # disable, enable
    sec.post(reverse("accounts:person_active", args=[person.pk]), {"active": "0"})
    person.refresh_from_db()
    assert not person.is_active
    sec.post(reverse("accounts:person_active", args=[person.pk]), {"active": "1"})
    person.refresh_from_db()
    assert person.is_active
    # nobody disables themselves
    me = admins["security"]
    sec.post(reverse("accounts:person_active", args=[me.pk]), {"active": "0"})
    me.refresh_from_db()
    assert me.is_active
    # a lock lifted
    from django.utils import timezone

    User.objects.filter(pk=person.pk).update(
        failed_logins=5, locked_until=timezone.now() + timezone.timedelta(minutes=20)
    )
    page = sec.get(reverse("accounts:person", args=[person.pk])).content.decode()
    assert "Lift the sign-in lock" in page
    sec.post(reverse("accounts:person_unlock", args=[person.pk]))
    person.refresh_from_db()
    assert person.locked_until is None and AuditRecord.objects.filter(action="accounts.unlock").exists()
    # language and name
    sec.post(reverse("accounts:person_update", args=[person.pk]), {"full_name": "李四", "language": "en"})
    person.refresh_from_db()
    assert (person.full_name, person.language) == ("李四", "en")
    # password: validated, then set
    url = reverse("accounts:person_password", args=[person.pk])
    html = sec.post(url, {"password1": "123", "password2": "123"}).content.decode()
    assert "new password:" in html
    sec.post(url, {"password1": "Another-Horse-42", "password2": "Another-Horse-42"})
    person.refresh_from_db()
    assert person.check_password("Another-Horse-42")
    # never another administrator's password
    sysadmin = admins["system"]
    html = sec.post(
        reverse("accounts:person_password", args=[sysadmin.pk]),
        {"password1": "Another-Horse-42", "password2": "Another-Horse-42"},
    ).content.decode()
    sysadmin.refresh_from_db()
    assert not sysadmin.check_password("Another-Horse-42")


def test_create_person(db, sec):
    url = reverse("accounts:person_new")
    html = sec.post(
        url, {"username": "bad name!", "full_name": "张三", "language": "zh-hans"}
    ).content.decode()
    assert "username:" in html and not User.objects.filter(full_name="张三").exists()
    response = sec.post(
        url,
        {
            "username": "zhangsan",
            "full_name": "张三",
            "language": "zh-hans",
            "password1": "Correct-Horse-77",
            "password2": "Correct-Horse-77",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="zhangsan")
    assert user.check_password("Correct-Horse-77")
    assert AuditRecord.objects.filter(action="accounts.create_user", object_id=str(user.pk)).exists()
    # the same username twice is refused, naming the field
    html = sec.post(
        url, {"username": "zhangsan", "full_name": "张三", "language": "zh-hans"}
    ).content.decode()
    assert "username:" in html


@pytest.mark.parametrize("who", ["system", "audit", "operator", "anonymous"])
def test_only_the_security_administrator_sees_people(world, admins, who):
    user = world.operator if who == "operator" else admins.get(who)
    c = Client() if who == "anonymous" else client_for(user)
    person = world.handler
    urls = [
        reverse("accounts:people"),
        reverse("accounts:person", args=[person.pk]),
        reverse("accounts:person_new"),
        reverse("accounts:people_import"),
        reverse("accounts:people_import_template"),
    ]
    for url in urls:
        r = c.get(url)
        assert r.status_code == (302 if who == "anonymous" else 404), url
    r = c.post(
        reverse("accounts:person_assign", args=[person.pk]), {"role": "operator", "grid": world.town.code}
    )
    assert (
        r.status_code in (302, 404)
        and not RoleAssignment.objects.filter(user=person, role="operator").exists()
    )
    if who != "anonymous":
        assert reverse("accounts:people") not in c.get("/").content.decode()


def test_security_administrator_sees_the_link(world, sec):
    home = sec.get("/")
    assert reverse("accounts:people") in home.content.decode()
    assert reverse("catalog:items") not in home.content.decode()


def test_csrf_is_required(world, admins):
    c = Client(enforce_csrf_checks=True)
    c.force_login(admins["security"])
    r = c.post(
        reverse("accounts:person_assign", args=[world.handler.pk]),
        {"role": "operator", "grid": world.town.code},
    )
    assert r.status_code == 403
    assert not RoleAssignment.objects.filter(user=world.handler, role="operator").exists()
    page = c.get(reverse("accounts:person", args=[world.handler.pk])).content.decode()
    assert page.count("csrfmiddlewaretoken") >= 4


def test_person_page_query_bound(world, sec, django_assert_max_num_queries):
    person = world.handler
    for g in (world.grid, world.grid_b, world.village, world.town):
        RoleAssignment.objects.create(user=person, role="operator", grid=g)
    with django_assert_max_num_queries(20):
        r = sec.get(reverse("accounts:person", args=[person.pk]))
    assert r.status_code == 200


def test_grid_suggestions(world, sec):
    html = sec.get(reverse("accounts:grid_options"), {"grid": "150621100200"}).content.decode()
    assert 'value="150621100200001"' in html and "150621101" not in html
