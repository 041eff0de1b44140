"""Separation of the administrator duties holds for passwords too; scopes and assignments stay exact."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.accounts.scoping import scope_of
from gridgov.accounts.services import do_assign_role
from gridgov.catalog.models import Department
from gridgov.core.models import AuditRecord
from gridgov.core.scoping import holds_duty
from gridgov.grids.models import Grid

NEW = {"password1": "Another-Horse-77", "password2": "Another-Horse-77"}


@pytest.fixture
def admins(make_user):
    return {
        duty: make_user(f"{duty}_admin", admin_duty=duty, is_staff=True)
        for duty in (AdminDuty.SYSTEM, AdminDuty.SECURITY, AdminDuty.AUDIT)
    }


def password_url(user):
    return f"/admin/accounts/user/{user.pk}/password/"


@pytest.mark.django_db
def test_no_administrator_resets_another_administrators_password(client, admins):
    for actor, target in [
        (AdminDuty.SYSTEM, AdminDuty.AUDIT),
        (AdminDuty.SECURITY, AdminDuty.SYSTEM),
        (AdminDuty.SECURITY, AdminDuty.AUDIT),
    ]:
        client.force_login(admins[actor])
        assert client.post(password_url(admins[target]), NEW).status_code == 403
        assert User.objects.get(pk=admins[target].pk).check_password("Correct-Horse-9")


@pytest.mark.django_db
def test_the_security_administrator_resets_a_users_password_and_it_is_audited(client, admins, make_user):
    worker = make_user("worker")
    client.force_login(admins[AdminDuty.SYSTEM])
    assert client.post(password_url(worker), NEW).status_code == 403
    client.force_login(admins[AdminDuty.SECURITY])
    assert client.post(password_url(worker), NEW).status_code == 302
    assert User.objects.get(pk=worker.pk).check_password("Another-Horse-77")
    entry = AuditRecord.objects.get(action="accounts.set_password")
    assert entry.actor_id == admins[AdminDuty.SECURITY].pk and entry.object_id == str(worker.pk)


@pytest.mark.django_db
def test_a_superuser_is_a_bootstrap_account_only(make_user):
    root = make_user("root", is_superuser=True, is_staff=True)
    assert holds_duty(root, ("audit",)) and holds_duty(root, ("system",))
    make_user("auditor", admin_duty=AdminDuty.AUDIT, is_staff=True)
    root = User.objects.get(pk=root.pk)  # a new request
    assert not holds_duty(root, ("audit",)) and not holds_duty(root, ("system",))


@pytest.mark.django_db
def test_the_same_assignment_cannot_be_given_twice_whatever_its_scope(make_user, small_tree, catalog):
    handler, resident = make_user("handler"), make_user("resident")
    do_assign_role(handler, Role.DEPT_HANDLER, actor=None, department_code="GA")
    with pytest.raises(ValidationError):
        do_assign_role(handler, Role.DEPT_HANDLER, actor=None, department_code="GA")
    do_assign_role(resident, Role.RESIDENT, actor=None)
    with pytest.raises(ValidationError):
        do_assign_role(resident, Role.RESIDENT, actor=None)
    assert RoleAssignment.objects.count() == 2


@pytest.mark.django_db
def test_a_closed_grid_is_given_to_nobody(make_user, small_tree):
    Grid.objects.filter(code="150621100200001").update(valid_to=dt.date(2026, 5, 1))
    assignment = RoleAssignment(
        user=make_user("late"), role=Role.INFO_OFFICER, grid=Grid.objects.get(code="150621100200001")
    )
    with pytest.raises(ValidationError) as exc:
        assignment.full_clean()
    assert "grid" in exc.value.message_dict


@pytest.mark.django_db
def test_department_staff_who_also_report_as_residents_keep_their_department(make_user, catalog):
    handler = make_user("handler")
    do_assign_role(handler, Role.DEPT_HANDLER, actor=None, department_code="GA")
    do_assign_role(handler, Role.RESIDENT, actor=None)
    scope = scope_of(User.objects.get(pk=handler.pk))
    assert not scope.own_only and scope.department_ids == {Department.objects.get(code="GA").pk}


@pytest.mark.django_db
def test_a_role_granted_on_the_user_page_is_audited_by_name(client, admins, make_user, small_tree):
    worker = make_user("worker", full_name="王五")
    village = Grid.objects.get(code="150621100200")
    client.force_login(admins[AdminDuty.SECURITY])
    response = client.post(
        f"/admin/accounts/user/{worker.pk}/change/",
        {
            "username": "worker",
            "full_name": "王五",
            "email": "",
            "language": "zh-hans",
            "is_active": "on",
            "assignments-TOTAL_FORMS": "1",
            "assignments-INITIAL_FORMS": "0",
            "assignments-0-role": Role.GRID_HEAD_L2,
            "assignments-0-grid": str(village.pk),
            "assignments-0-department": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = AuditRecord.objects.get(action="admin.add", object_type="accounts.roleassignment")
    assert "二级网格长" in entry.data["row"] and village.name in entry.data["row"]
