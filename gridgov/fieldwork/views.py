"""The fieldwork pages of the workbench: the home (the figures of the user's scope and their inspection queue,
the overdue first), inspection tasks (list, a task's page, answering its checklist at the desk), inspection plans
(list, a new plan), visits (list, a visit's page) and patrols, and the photos of visits and inspections.

Every read goes through `selectors` (scoped: out of scope is 404, like what does not exist); completing a task
and making a plan go through `services`, whose refusals are shown next to the field they name. Lists page by
keyset (`selectors.keyset`) and take their next rows by htmx, like the registry's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from gridgov.accounts.scoping import held_roles
from gridgov.cases.errors import CaseError
from gridgov.cases.selectors import visible_cases
from gridgov.cases.story import evidence_type
from gridgov.catalog.models import Item, ItemKind
from gridgov.core.audit import client_ip
from gridgov.core.paging import before_of, is_htmx, keyset, more_query
from gridgov.core.scoping import visible_to
from gridgov.registry.models import Household
from gridgov.registry.scoping import reads_registry
from gridgov.registry.selectors import component_items, filter_grids

from . import selectors, services
from .choices import INSPECTED_STATES, TaskState
from .errors import TaskNotFound, VisitNotFound
from .forms import CompleteForm, PatrolFilterForm, PlanForm, TaskFilterForm, VisitFilterForm
from .models import InspectionTask, Patrol, Photo, TaskPhoto, Visit, VisitPhoto
from .scoping import reads_fieldwork

PAGE_SIZE = 50
# The home's queue: the first open tasks by due date (the overdue ones first).
QUEUE_SIZE = 10


def _reader(request: HttpRequest) -> Any:
    """The signed-in user when they work with fieldwork; for anybody else these pages do not exist (404)."""
    user: Any = request.user
    if not reads_fieldwork(user):
        raise Http404
    return user


def _page(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    """A fieldwork page (never kept by browsers or proxies: it names households and workers)."""
    ctx.setdefault("may_plan", services.makes_plans(request.user))
    response = render(request, template, ctx, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _list(
    request: HttpRequest,
    name: str,
    form: Any,
    found: list[Any],
    more: bool,
    rows: list[Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """A list page of the records `found` (shown as `rows` when given), or only its rows when htmx asks for the
    next ones."""
    ctx = {
        "form": form,
        "rows": found if rows is None else rows,
        "more": more_query(request.GET, found, more),
        "filtered": form.filtered(),
        "continued": before_of(request.GET) is not None,
        **(extra or {}),
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, f"fieldwork/_{name}_rows.html", ctx)
    return _page(request, f"fieldwork/{name}s.html", ctx)


# ------------------------------------------------------------------------------------------------- tasks


@dataclass
class TaskRow:
    task: InspectionTask
    # Days past the due date (open tasks only), and days left before it.
    late: int
    left: int


def task_rows(tasks: list[InspectionTask], today: dt.date) -> list[TaskRow]:
    rows = []
    for task in tasks:
        days = (task.due_on - today).days
        is_open = task.state == TaskState.OPEN
        rows.append(TaskRow(task, late=-days if is_open and days < 0 else 0, left=days if is_open else 0))
    return rows


def _task(user: Any, pk: int) -> InspectionTask:
    try:
        return selectors.task_for(user, pk)
    except TaskNotFound as exc:
        raise Http404 from exc


# The task list's states, as the selector takes them, and the column each is listed by.
TASK_LISTS: dict[str, tuple[dict[str, Any], str, bool]] = {
    "open": ({"state": TaskState.OPEN}, "due_on", False),
    "overdue": ({"state": TaskState.OPEN, "overdue": True}, "due_on", False),
    "done": ({"state": INSPECTED_STATES}, "done_at", True),
    TaskState.FAILED: ({"state": TaskState.FAILED}, "done_at", True),
}


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The figures of the user's scope, and their queue of inspections (for an overseer: their grids'), the
    overdue ones first."""
    user = _reader(request)
    today = timezone.localdate()
    queue = list(selectors.tasks(user, today=today)[:QUEUE_SIZE])
    ctx = {
        "tab": "home",
        "figures": selectors.figures(user, today),
        "rows": task_rows(queue, today),
        "today": today,
    }
    return _page(request, "fieldwork/home.html", ctx)


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """Inspection tasks: the open ones by due date (the overdue first), only the overdue ones, or those inspected
    (the latest first); of a grid, of a class of components."""
    user = _reader(request)
    today = timezone.localdate()
    form = TaskFilterForm(request.GET, grids=filter_grids(user), items=component_items(user))
    form.is_valid()
    state = form.value("state") or "open"
    filters, column, descending = TASK_LISTS[state]
    qs = selectors.tasks(
        user, grid=form.value("grid") or None, item=form.value("item") or None, today=today, **filters
    )
    tasks, more = keyset(qs, column, before=before_of(request.GET), limit=PAGE_SIZE, descending=descending)
    rows = task_rows(tasks, today)
    return _list(request, "task", form, tasks, more, rows, {"tab": "tasks", "state": state})


_COMPLETE_FIELDS = {"note", "photos"}


@login_required
@require_http_methods(["GET", "POST"])
def task_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A task: its component, plan and checklist; once inspected, the answers, photos and the case opened for the
    faults. Its worker answers the checklist here (`services.do_complete_task`: a failed check opens a case)."""
    user = _reader(request)
    task = _task(user, pk)
    may_inspect = task.state == TaskState.OPEN and services.may_inspect(user, task)
    form = None
    status = 200
    if request.method == "POST":
        if task.state != TaskState.OPEN:
            messages.warning(request, _("This inspection was already recorded."))
            return HttpResponseRedirect(reverse("fieldwork:task", args=[task.pk]))
        if not may_inspect:
            raise PermissionDenied  # sees the task, does not inspect it
        form = CompleteForm(request.POST, request.FILES, checklist=task.plan.checklist)
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                done = services.do_complete_task(
                    task,
                    form.answers(),
                    actor=user,
                    key=d["key"],
                    photos=d["photos"],
                    note=d["note"],
                    ip=client_ip(request),
                )
            except CaseError as exc:
                form.add_error(exc.field if exc.field in _COMPLETE_FIELDS else None, str(exc.message))
                status = exc.status
            else:
                if done.task.case_number:
                    messages.warning(
                        request,
                        _("Faults found: case %(number)s was opened for the component.")
                        % {"number": done.task.case_number},
                    )
                else:
                    messages.success(request, _("Inspection recorded: everything in order."))
                return HttpResponseRedirect(reverse("fieldwork:task", args=[task.pk]))
    elif may_inspect:
        form = CompleteForm(checklist=task.plan.checklist)
    today = timezone.localdate()
    case_visible = bool(task.case_number) and visible_cases(user).filter(number=task.case_number).exists()
    ctx = {
        "tab": "tasks",
        "task": task,
        "row": task_rows([task], today)[0],
        "answers": [{"code": code, **r} for code, r in selectors.answered(task)],
        "photos": list(task.photos.all()) if task.state != TaskState.OPEN else [],
        "case_visible": case_visible,
        "form": form,
        "sees_registry": reads_registry(user),
    }
    return _page(request, "fieldwork/task.html", ctx, status=status)


# ------------------------------------------------------------------------------------------------- plans


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    rows, more = keyset(selectors.plans(user), "id", before=before_of(request.GET), limit=PAGE_SIZE)
    ctx: dict[str, Any] = {
        "rows": rows,
        "more": more_query(request.GET, rows, more),
        "continued": before_of(request.GET) is not None,
        "tab": "plans",
    }
    if is_htmx(request) and request.GET.get("part") == "rows":
        return _page(request, "fieldwork/_plan_rows.html", ctx)
    return _page(request, "fieldwork/plans.html", ctx)


def _plan_items() -> list[tuple[str, list[tuple[str, str]]]]:
    """The active classes of components of the responsibility list, by module."""
    groups: dict[str, list[tuple[str, str]]] = {}
    items = Item.objects.filter(kind=ItemKind.COMPONENT, active=True).select_related("module")
    for item in items.order_by("module__order", "code"):
        groups.setdefault(item.module.label, []).append((item.code, f"{item.code} {item.label}"))
    return list(groups.items())


def _plan_grids(user: Any) -> list[Any]:
    """The grids offered for a plan: those of the list filters that lie where the user makes plans."""
    paths = [h.grid_path for h in held_roles(user) if h.role in services.PLAN_MAKERS and h.grid_path]
    return [g for g in filter_grids(user) if any(g.path.startswith(p) for p in paths)]


_PLAN_FIELDS = {"name", "item", "grid", "every_days", "checklist"}


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    """A new plan, for grid heads and the command centre's operators (anybody else who sees plans: 403). Its
    first tasks are made at once."""
    user = _reader(request)
    if not services.makes_plans(user):
        raise PermissionDenied
    options = {"items": _plan_items(), "grids": _plan_grids(user)}
    if request.method == "GET":
        return _page(request, "fieldwork/plan_new.html", {"form": PlanForm(**options), "tab": "plans"})
    form = PlanForm(request.POST, **options)
    status = 422
    if form.is_valid():
        d = form.cleaned_data
        try:
            plan = services.do_create_plan(
                actor=user,
                name=d["name"],
                item=d["item"],
                grid=d["grid"],
                every_days=d["every_days"],
                checklist=form.checks(),
                ip=client_ip(request),
            )
        except CaseError as exc:
            form.add_error(exc.field if exc.field in _PLAN_FIELDS else None, str(exc.message))
            status = exc.status
        else:
            messages.success(
                request, _("Plan “%(name)s” made: its first tasks are in the list.") % {"name": plan.name}
            )
            return HttpResponseRedirect(reverse("fieldwork:plans"))
    return _page(request, "fieldwork/plan_new.html", {"form": form, "tab": "plans"}, status=status)


# ------------------------------------------------------------------------------------------------- visits


@login_required
@require_GET
def visit_list(request: HttpRequest) -> HttpResponse:
    """Visits, the latest first: a worker's own, an overseer's grids'; of a grid, a household, a range of days."""
    user = _reader(request)
    form = VisitFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    household = None
    number = form.value("household")
    if number:
        household = visible_to(user, Household).filter(number=number).values_list("pk", flat=True).first()
        if household is None:
            form.add_error("household", _("No household with this number in your grids."))
    rows: list[Visit] = []
    more = False
    if not number or household is not None:
        qs = selectors.visible_visits(
            user,
            grid=form.value("grid") or None,
            household=household,
            since=form.value("since"),
            until=form.value("until"),
        )
        rows, more = keyset(qs, "visited_at", before=before_of(request.GET), limit=PAGE_SIZE)
    return _list(request, "visit", form, rows, more, extra={"tab": "visits"})


@login_required
@require_GET
def visit_page(request: HttpRequest, key: Any) -> HttpResponse:
    user = _reader(request)
    try:
        visit = selectors.visit_for(user, key)
    except VisitNotFound as exc:
        raise Http404 from exc
    ctx = {
        "tab": "visits",
        "visit": visit,
        "photos": list(visit.photos.all()),
        "sees_registry": reads_registry(user),
    }
    return _page(request, "fieldwork/visit.html", ctx)


# ------------------------------------------------------------------------------------------------- patrols


@dataclass
class PatrolRow:
    patrol: Patrol

    @property
    def minutes(self) -> int:
        return (self.patrol.duration_s or 0) // 60

    @property
    def km(self) -> float:
        return self.patrol.distance_m / 1000


@login_required
@require_GET
def patrol_list(request: HttpRequest) -> HttpResponse:
    """Patrols, the latest first: a worker's own, an overseer's grids'; of a grid, a range of days."""
    user = _reader(request)
    form = PatrolFilterForm(request.GET, grids=filter_grids(user))
    form.is_valid()
    qs = selectors.visible_patrols(
        user, grid=form.value("grid") or None, since=form.value("since"), until=form.value("until")
    )
    patrols, more = keyset(qs, "started_at", before=before_of(request.GET), limit=PAGE_SIZE)
    return _list(request, "patrol", form, patrols, more, [PatrolRow(p) for p in patrols], {"tab": "patrols"})


# ------------------------------------------------------------------------------------------------- photos


def _photo(photo: Photo | None, filename: str) -> FileResponse:
    """The public copy of a photo (re-encoded without location or device metadata), served as a case's evidence
    is; the original stays internal."""
    if photo is None:
        raise Http404
    try:
        handle = photo.public.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    name = photo.public.name
    extension = name[name.rfind(".") :] if "." in name else ""
    # The case engine's type of a public copy; it reads only `public` and `content_type`, which photos share.
    content_type = evidence_type(photo)  # type: ignore[arg-type]
    response = FileResponse(handle, content_type=content_type, filename=f"{filename}{extension}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
def task_photo(request: HttpRequest, pk: int, photo_id: int) -> FileResponse:
    """A photo of an inspection the user sees; any other is 404."""
    user = _reader(request)
    tasks = visible_to(user, InspectionTask).filter(pk=pk)
    photo = TaskPhoto.objects.filter(pk=photo_id, task__in=tasks).first()
    return _photo(photo, f"inspection-{pk}-{photo_id}")


@login_required
@require_GET
def visit_photo(request: HttpRequest, key: Any, photo_id: int) -> FileResponse:
    """A photo of a visit the user sees; any other is 404."""
    user = _reader(request)
    visits = visible_to(user, Visit).filter(key=key)
    photo = VisitPhoto.objects.filter(pk=photo_id, visit__in=visits).first()
    return _photo(photo, f"visit-{photo_id}")


def nav_link(request: HttpRequest) -> tuple[str, Any, str] | None:
    """The navigation's link to fieldwork, for those who work with it (no query: roles are read once a request)."""
    user = request.user
    if not user.is_authenticated or not reads_fieldwork(user):
        return None
    return (reverse("fieldwork:home"), _("Fieldwork"), "")
