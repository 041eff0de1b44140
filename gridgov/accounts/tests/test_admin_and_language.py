import pytest
from django.urls import reverse

from gridgov.accounts.choices import AdminDuty
from gridgov.core import audit
from gridgov.core.models import AuditRecord

AUDIT_LIST = "/admin/core/auditrecord/"


@pytest.fixture
def admins(make_user):
    return {
        duty: make_user(f"{duty}_admin", admin_duty=duty, is_staff=True)
        for duty in (AdminDuty.SYSTEM, AdminDuty.SECURITY, AdminDuty.AUDIT)
    }


@pytest.mark.django_db
def test_only_the_auditor_reads_the_audit_log_and_nobody_changes_it(client, admins):
    audit.atomic_record("test.event")
    record = AuditRecord.objects.get(action="test.event")
    client.force_login(admins[AdminDuty.AUDIT])
    assert client.get(AUDIT_LIST).status_code == 200
    assert client.get(f"{AUDIT_LIST}{record.pk}/change/").status_code == 200  # the read-only view
    assert client.post(f"{AUDIT_LIST}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.filter(pk=record.pk).exists()
    for duty in (AdminDuty.SYSTEM, AdminDuty.SECURITY):
        client.force_login(admins[duty])
        assert client.get(AUDIT_LIST).status_code == 403


@pytest.mark.django_db
def test_only_the_security_administrator_grants_roles(client, admins):
    client.force_login(admins[AdminDuty.SECURITY])
    assert client.get("/admin/accounts/roleassignment/add/").status_code == 200
    client.force_login(admins[AdminDuty.SYSTEM])
    assert client.get("/admin/accounts/roleassignment/add/").status_code == 403
    client.force_login(admins[AdminDuty.AUDIT])
    assert client.get("/admin/accounts/roleassignment/").status_code == 403


@pytest.mark.django_db
def test_admin_changes_are_audited(client, admins, make_user):
    worker = make_user("worker", full_name="张三")
    client.force_login(admins[AdminDuty.SYSTEM])
    response = client.post(
        f"/admin/accounts/user/{worker.pk}/change/",
        {
            "username": "worker",
            "full_name": "张小三",
            "email": "",
            "language": "zh-hans",
            "is_active": "on",
            "assignments-TOTAL_FORMS": "0",
            "assignments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditRecord.objects.get(action="admin.change", object_id=str(worker.pk))
    assert entry.actor_id == admins[AdminDuty.SYSTEM].pk and "full_name" in entry.data["fields"]


@pytest.mark.django_db
def test_chinese_by_default_even_for_an_english_browser(client, make_user):
    client.force_login(make_user("zhou"))
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "退出" in page and "Sign out" not in page and 'lang="zh-Hans"' in page


@pytest.mark.django_db
def test_switching_to_english_sticks_to_the_user(client, make_user):
    user = make_user("wu")
    client.force_login(user)
    response = client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get(reverse("home")).content.decode()
    assert "Sign out" in page and 'lang="en"' in page
    user.refresh_from_db()
    assert user.language == "en"
    # An outside `next` is not followed.
    response = client.post(
        reverse("accounts:set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_a_language_chosen_on_the_sign_in_page_becomes_the_users(client, make_user):
    user = make_user("zheng", password="Correct-Horse-9")
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/accounts/login/"})
    response = client.post("/accounts/login/", {"username": "zheng", "password": "Correct-Horse-9"})
    assert response.cookies["django_language"].value == "en"
    user.refresh_from_db()
    assert user.language == "en"
    # Next time, on a browser that chose nothing, the user's own setting applies.
    client.logout()
    client.cookies.clear()
    response = client.post("/accounts/login/", {"username": "zheng", "password": "Correct-Horse-9"})
    assert response.cookies["django_language"].value == "en"


@pytest.mark.django_db
def test_the_audit_log_is_read_through_the_scoping_entry_point(admins, make_user):
    from gridgov.core.scoping import visible_to

    audit.atomic_record("test.event")
    assert visible_to(admins[AdminDuty.AUDIT], AuditRecord).filter(action="test.event").exists()
    for user in (admins[AdminDuty.SYSTEM], admins[AdminDuty.SECURITY], make_user("plain")):
        assert not visible_to(user, AuditRecord).exists()
