import pytest
from django.core.exceptions import ValidationError

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.models import RoleAssignment
from gridgov.accounts.scoping import scope_of
from gridgov.accounts.services import do_assign_role, do_set_admin_duty
from gridgov.core.scoping import get_visible_or_404, visible_to
from gridgov.grids.models import Grid


@pytest.mark.django_db
def test_unknown_role_is_refused_by_name_and_changes_nothing(small_tree, make_user):
    user = make_user("zhao")
    with pytest.raises(ValidationError) as exc:
        do_assign_role(user, "grid_emperor", actor=None, grid_code="150621100200")
    assert "grid_emperor" in str(exc.value.message_dict["role"])
    assert not RoleAssignment.objects.exists()


@pytest.mark.django_db
def test_role_scope_must_fit_the_role(small_tree, make_user):
    user = make_user("zhao")
    # A level-2 grid head is held over a level-2 grid, not a level-3 one.
    with pytest.raises(ValidationError) as exc:
        do_assign_role(user, Role.GRID_HEAD_L2, actor=None, grid_code="150621100200001")
    assert "grid" in exc.value.message_dict
    # A grid guide needs a department as well as a grid.
    with pytest.raises(ValidationError) as exc:
        do_assign_role(user, Role.GRID_GUIDE, actor=None, grid_code="150621100200")
    assert "department" in exc.value.message_dict
    # An unknown grid code is named.
    with pytest.raises(ValidationError) as exc:
        do_assign_role(user, Role.GRID_HEAD_L2, actor=None, grid_code="150621999999")
    assert "150621999999" in str(exc.value.message_dict["grid"])
    assert not RoleAssignment.objects.exists()
    assert do_assign_role(user, Role.GRID_HEAD_L2, actor=None, grid_code="150621100200").pk


@pytest.mark.django_db
def test_a_village_head_sees_the_village_subtree_and_its_ancestors_only(small_tree, make_user):
    head = make_user("village_head")
    do_assign_role(head, Role.GRID_HEAD_L2, actor=None, grid_code="150621100200")
    codes = set(visible_to(head, Grid).values_list("code", flat=True))
    assert codes == {"150621", "150621100", "150621100200", "150621100200001", "150621100200002"}
    # Outside the scope a grid does not exist for this user.
    from django.http import Http404

    with pytest.raises(Http404):
        get_visible_or_404(head, Grid, code="150621100201001")


@pytest.mark.django_db
def test_county_wide_roles_and_department_staff_see_every_grid(small_tree, make_user):
    leader = make_user("leader")
    do_assign_role(leader, Role.LEADER, actor=None, grid_code="150621")
    assert visible_to(leader, Grid).count() == len(small_tree)
    nobody = make_user("nobody")
    assert visible_to(nobody, Grid).count() == 0


@pytest.mark.django_db
def test_the_three_administrator_duties_cannot_be_held_by_one_account(make_user):
    security = make_user("security", admin_duty=AdminDuty.SECURITY, is_staff=True)
    user = make_user("ops")
    do_set_admin_duty(user, AdminDuty.SYSTEM, actor=security)
    do_set_admin_duty(user, AdminDuty.AUDIT, actor=security)
    user.refresh_from_db()
    # One column holds the duty: taking the audit duty gave up the system one.
    assert user.admin_duty == AdminDuty.AUDIT
    with pytest.raises(ValidationError):
        do_set_admin_duty(security, AdminDuty.AUDIT, actor=security)
    with pytest.raises(ValidationError):
        do_set_admin_duty(user, "god", actor=security)


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [("zh-hans", "未知角色"), ("en", "Unknown role")])
def test_the_unknown_role_error_speaks_the_users_language(small_tree, make_user, language, words):
    from django.utils import translation

    user = make_user("qian")
    with translation.override(language), pytest.raises(ValidationError) as exc:
        do_assign_role(user, "overlord", actor=None, grid_code="150621100200")
    assert words in exc.value.message_dict["role"][0]


@pytest.mark.django_db
def test_assign_role_command_reports_the_bad_field(small_tree, make_user):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    make_user("sun")
    with pytest.raises(CommandError, match="150621999"):
        call_command("assign_role", "sun", "grid_head_l1", grid="150621999")
    call_command("assign_role", "sun", "grid_head_l1", grid="150621100")
    assert RoleAssignment.objects.get(user__username="sun").grid.code == "150621100"


@pytest.mark.django_db
def test_the_scope_holds_the_subtree_held_not_the_ancestors_shown(small_tree, make_user):
    head = make_user("head")
    do_assign_role(head, Role.GRID_HEAD_L2, actor=None, grid_code="150621100200")
    held = Grid.objects.current().filter(scope_of(head).grid_q())
    assert held.count() == 3  # the village and its two grids, not the town and county shown for context
