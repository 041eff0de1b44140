"""The back office for grids: read-mostly, in Chinese, edits go through the audited service."""

import datetime as dt

import pytest
from django.utils import translation
from shapely.geometry import box

from gridgov.accounts.choices import AdminDuty
from gridgov.core.models import AuditRecord
from gridgov.grids.checks import check_tree
from gridgov.grids.importers import import_grids
from gridgov.grids.models import Grid, GridChange, GridVersion
from gridgov.grids.services import do_split_grid
from gridgov.grids.validation import GridInputError

GRIDS = "/admin/grids/grid/"
CHANGES = "/admin/grids/gridchange/"


@pytest.fixture
def system_admin(make_user):
    return make_user("system_admin", admin_duty=AdminDuty.SYSTEM, is_staff=True)


@pytest.mark.django_db
def test_grid_pages_list_filter_search_and_show_history_in_chinese(client, system_admin, small_tree):
    grid = small_tree["150621100200001"]
    do_split_grid(
        grid,
        [("北片", box(109.0, 40.05, 109.025, 40.1)), ("南片", box(109.0, 40.0, 109.025, 40.05))],
        actor=system_admin,
        effective=dt.date(2026, 6, 1),
    )
    client.force_login(system_admin)
    page = client.get(GRIDS, {"level": 3, "q": "北片"}).content.decode()
    assert "150621100200003" in page and "150621100200002" not in page
    assert "网格" in page and "层级" in page and "面积（平方千米）" in page
    page = client.get(GRIDS, {"status": "closed"}).content.decode()
    assert "150621100200001" in page and "150621100200003" not in page
    detail = client.get(f"{GRIDS}{grid.pk}/change/").content.decode()
    assert "版本（边界历史）" in detail and "2026-06-01" in detail.replace("2026年6月1日", "2026-06-01")
    changes = client.get(CHANGES).content.decode()
    assert "拆分" in changes
    change = GridChange.objects.get(kind="split")
    detail = client.get(f"{CHANGES}{change.pk}/change/").content.decode()
    assert "150621100200003" in detail and "调整内容" in detail


@pytest.mark.django_db
def test_the_admin_renames_through_the_service_and_cannot_add_delete_or_edit_history(
    client, system_admin, small_tree
):
    grid = small_tree["150621100200001"]
    client.force_login(system_admin)
    assert client.get(f"{GRIDS}add/").status_code == 403
    assert client.post(f"{GRIDS}{grid.pk}/delete/", {"post": "yes"}).status_code == 403
    version = GridVersion.objects.get(grid=grid)
    form = {"name": "幸福小区", "households": "120", "population": "300"}
    # The read-only versions inline still sends its management form, as a browser would.
    form |= {"versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "1", "versions-0-id": str(version.pk)}
    form |= {"versions-0-grid": str(grid.pk)}
    response = client.post(f"{GRIDS}{grid.pk}/change/", form)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    grid.refresh_from_db()
    assert (grid.name, grid.households) == ("幸福小区", 120)
    assert AuditRecord.objects.filter(action="grids.update", object_id=str(grid.pk)).exists()
    assert GridVersion.objects.filter(grid=grid).count() == 1  # a rename is not a boundary change
    assert client.post(f"{CHANGES}add/").status_code == 403


@pytest.mark.django_db
def test_people_without_the_system_duty_do_not_see_the_grid_pages(client, make_user, small_tree):
    auditor = make_user("auditor", admin_duty=AdminDuty.AUDIT, is_staff=True)
    client.force_login(auditor)
    assert client.get(GRIDS).status_code == 403


@pytest.mark.django_db
def test_errors_and_reports_read_in_chinese(small_tree):
    with translation.override("zh-hans"), pytest.raises(GridInputError) as exc:
        import_grids(b"code,name\n15062110,\xe5\x9d\x8f\n", name="x.csv")
    assert exc.value.messages[0].startswith("第 2 行（编码 15062110）") and "有 8 位" in exc.value.messages[0]
    Grid.objects.filter(code="150621100200001").update(geometry=None)
    with translation.override("zh-hans"):
        [defect] = check_tree().defects
        assert defect.message() == "150621100200001 尚无边界（请导入含此编码的 GeoJSON）"
    with translation.override("en"):
        assert "has no boundary yet" in defect.message()
