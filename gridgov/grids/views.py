import json
from typing import Any

import numpy as np
import shapely
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from shapely.geometry import mapping, shape

from gridgov.core.scoping import holds_duty

from . import services, signals
from .api import kind_label, level_label, simplify, tolerance_for
from .forms import CreateForm, GridEditForm, MergeForm, RedrawForm, SplitForm
from .models import Grid, GridChange, GridVersion
from .signals import relocate
from .validation import GridInputError, Problem


@login_required
def grid_map(request: HttpRequest) -> HttpResponse:
    """The grid map: the page is a shell; `static/grids/map.js` reads the tree from the grid API, and the
    figures of the grids from whichever app provides them (`signals.map_figures`), when the user may read them."""
    initial = request.GET.get("grid", "")
    config = {
        "api": reverse("api:grid_start").removesuffix("start"),
        "initial": int(initial) if initial.isdigit() else None,
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "locale": "en" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en") else "zh-CN",
        # Words the script puts on the page, translated here so the script holds no text of its own.
        "text": {
            "subgrids": {
                "0": _("Level-1 grids"),
                "1": _("Level-2 grids"),
                "2": _("Level-3 grids"),
                "3": _("Sub-grids"),
            },
            "nobody": _("No one is assigned to this grid in your view."),
            "noScope": _("No grid is in your scope yet. Ask the security administrator for a role."),
            "loadFailed": _("The map data could not be loaded. Check the connection and try again."),
            "noHits": _("No grid matches."),
            "notFound": _("That grid does not exist or is outside your scope: showing your grids."),
            "km2": _("km²"),
            "upTo": _("Back to %(name)s"),
            "population": _("Population"),
            "special": _("special-purpose grid"),
            "colour": _("Colour"),
            "byGrid": _("By grid"),
        },
    }
    # Figures of an app above the grids (the registry), for those who may read them: grids know no such app.
    figures = signals.map_figures.for_map(request.user)
    if figures is not None:
        config["figures"] = figures
    return render(request, "grids/map.html", {"config": config})


# -- grid administration (the system administrator's duty) ------------------------------------------------------
MANAGE_DUTY = ("system",)
OPERATIONS = ("edit", "create", "split", "merge", "redraw")
SEARCH_LIMIT = 20
# Open cases read for a preview's "which piece would each go to": enough for a town; beyond, counts are partial.
CASE_POINTS_LIMIT = 50_000


def _require_manager(request: HttpRequest) -> None:
    """Grid administration belongs to the system administrator (三员分立): anyone else finds nothing here."""
    if not holds_duty(request.user, MANAGE_DUTY):
        raise Http404


def _current_with_counts() -> QuerySet[Grid]:
    children = (
        Grid.objects.current()
        .filter(parent=OuterRef("pk"))
        .order_by()
        .values("parent")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Grid.objects.current().annotate(
        child_count=Coalesce(Subquery(children, output_field=IntegerField()), Value(0))
    )


def _grid_or_404(grid_id: Any) -> Grid:
    return get_object_or_404(_current_with_counts(), pk=grid_id)


def _feature(
    grid: Grid | services.PlannedGrid, geom: shapely.Geometry | None, **props: Any
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": getattr(grid, "pk", None),
        "properties": {"code": grid.code, "name": grid.name, **props},
        "geometry": mapping(geom) if geom is not None else None,
    }


def _collection(grids: list[Grid], tolerance: float, **props: Any) -> dict[str, Any]:
    shaped = [g for g in grids if g.geometry is not None]
    geoms = simplify([shape(g.geometry) for g in shaped], tolerance)
    return {
        "type": "FeatureCollection",
        "features": [_feature(g, geom, **props) for g, geom in zip(shaped, geoms, strict=True)],
    }


def _neighbours(grid: Grid, siblings: list[Grid]) -> list[Grid]:
    """Siblings that share a boundary with the grid: the ones it can merge with or trade area with."""
    if grid.geometry is None:
        return []
    mine = shape(grid.geometry)
    near = [
        s
        for s in siblings
        if s.geometry is not None
        and s.min_lon is not None
        and grid.min_lon is not None
        and s.min_lon <= grid.max_lon + services.TOUCH_DEGREES  # type: ignore[operator]
        and s.max_lon >= grid.min_lon - services.TOUCH_DEGREES  # type: ignore[operator]
        and s.min_lat <= grid.max_lat + services.TOUCH_DEGREES  # type: ignore[operator]
        and s.max_lat >= grid.min_lat - services.TOUCH_DEGREES  # type: ignore[operator]
    ]
    return [s for s in near if services._shared_edge_m(mine, shape(s.geometry)) >= services.MIN_SHARED_EDGE_M]


class _Tree:
    """The grid's place in the tree, read once per page: ancestors, children, siblings, neighbours."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        ids = [int(x) for x in grid.path.strip("/").split("/")[:-1] if x]
        self.ancestors = list(
            Grid.objects.filter(pk__in=ids).only("id", "code", "name", "level").order_by("level")
        )
        self.children = list(_current_with_counts().filter(parent=grid).order_by("code"))
        self.siblings = (
            list(Grid.objects.current().filter(parent_id=grid.parent_id).exclude(pk=grid.pk).order_by("code"))
            if grid.parent_id
            else []
        )
        self.neighbours = _neighbours(grid, self.siblings)


def _form_for(op: str, tree: _Tree, data: Any = None, files: Any = None) -> forms.Form:
    grid = tree.grid
    if op == "edit":
        return GridEditForm(data, grid=grid)
    if op == "create":
        return CreateForm(data, files)
    if op == "split":
        return SplitForm(data, files, grid=grid)
    if op == "merge":
        return MergeForm(data, grid=grid, neighbours=tree.neighbours)
    return RedrawForm(data, files, grid=grid, neighbours=tree.neighbours)


def _preview(op: str, tree: _Tree, form: Any) -> services.AdjustmentPreview:
    grid = tree.grid
    data = form.cleaned_data
    if op == "create":
        return services.preview_create(
            grid, data["name"], form.polygon(), effective=data["effective"], kind=data["kind"]
        )
    if op == "split":
        return services.preview_split(grid, form.pieces(), effective=data["effective"])
    if op == "merge":
        return services.preview_merge(form.chosen(), name=data["name"], effective=data["effective"])
    neighbour = form.by_id[data["neighbour"]]
    return services.preview_redraw(grid, neighbour, form.polygon(), effective=data["effective"])


def _save(op: str, tree: _Tree, form: Any, actor: Any) -> tuple[Grid, str]:
    """Run the service; return the grid to show next and what to tell the user."""
    grid = tree.grid
    data = form.cleaned_data
    common = {"actor": actor, "effective": data["effective"], "reason": data["reason"]}
    if op == "create":
        new = services.do_create_grid(grid, data["name"], form.polygon(), kind=data["kind"], **common)
        return new, _("Grid %(code)s %(name)s created.") % {"code": new.code, "name": new.name}
    if op == "split":
        pieces = services.do_split_grid(grid, form.pieces(), **common)
        return pieces[0], _("%(code)s split into %(codes)s.") % {
            "code": grid.code,
            "codes": ", ".join(p.code for p in pieces),
        }
    if op == "merge":
        chosen = form.chosen()
        merged = services.do_merge_grids(chosen, name=data["name"], **common)
        return merged, _("%(codes)s merged into %(code)s %(name)s.") % {
            "codes": ", ".join(g.code for g in chosen),
            "code": merged.code,
            "name": merged.name,
        }
    a, b = services.do_redraw_boundary(grid, form.by_id[data["neighbour"]], form.polygon(), **common)
    return a, _("The boundary between %(a)s and %(b)s was redrawn.") % {"a": a.code, "b": b.code}


def _open_cases(preview: services.AdjustmentPreview) -> list[dict[str, Any]]:
    """Open cases on the grids an adjustment closes or redraws, and where they would go. The case engine
    provides them (`signals.open_work`): grids know no app above them. Cases follow an adjustment through
    `grid_adjusted`; this page only counts them for the preview."""
    work = signals.open_work
    rows: list[dict[str, Any]] = []
    kind = preview.kind
    if kind == "split" and preview.closed:
        whole = preview.closed[0]
        points = [(lon, lat) for _g, lon, lat in work.points(whole.level, [whole.pk], CASE_POINTS_LIMIT)]
        if points:
            rows.append(_distribute(whole, points, preview.results))
    elif kind == "merge" and preview.results:
        counts = work.counts(preview.results[0].level, list(preview.mapping))
        for g in preview.closed:
            if g.pk in preview.mapping and counts.get(g.pk):
                rows.append(
                    {"grid": g, "count": counts[g.pk], "to": [(preview.results[0].code, counts[g.pk])]}
                )
    elif kind == "redraw" and preview.results:
        a, b = (p.grid for p in preview.results)
        assert a is not None and b is not None
        found = work.points(a.level, [a.pk, b.pk], CASE_POINTS_LIMIT)
        for old, other in ((a, b), (b, a)):
            points = [(lon, lat) for g, lon, lat in found if g == old.pk]
            row = _distribute(old, points, preview.results)
            moving = dict(row["to"]).get(other.code, 0)
            if moving:
                rows.append({"grid": old, "count": moving, "to": [(other.code, moving)], "unplaced": 0})
    # Grids below that move under another parent take their open cases along, re-coded.
    by_level: dict[int, list[services.PlannedMove]] = {}
    for move in preview.moves:
        by_level.setdefault(move.grid.level, []).append(move)
    for level, moves in by_level.items():
        counts = work.counts(level, [m.grid.pk for m in moves])
        rows += [
            {"grid": m.grid, "count": counts[m.grid.pk], "to": [(m.to_code, counts[m.grid.pk])]}
            for m in moves
            if counts.get(m.grid.pk)
        ]
    return rows


def _distribute(
    grid: Grid, points: list[tuple[float | None, float | None]], results: list[services.PlannedGrid]
) -> dict[str, Any]:
    """How many of the points each planned grid would hold (as `signals.relocate` places them)."""
    located = [(lon, lat) for lon, lat in points if lon is not None and lat is not None]
    ordered = sorted(range(len(results)), key=lambda i: results[i].code)
    targets = [i + 1 for i in ordered]
    where = relocate(
        targets,
        {i + 1: results[i].geometry for i in range(len(results))},
        np.array([p[0] for p in located], dtype=np.float64),
        np.array([p[1] for p in located], dtype=np.float64),
    )
    to = [(results[i].code, int((where == i + 1).sum())) for i in ordered]
    return {"grid": grid, "count": len(points), "to": to, "unplaced": len(points) - sum(n for _c, n in to)}


def _map_data(tree: _Tree, op: str | None, preview: services.AdjustmentPreview | None) -> dict[str, Any]:
    grid = tree.grid
    box = [grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat] if grid.min_lon is not None else None
    tolerance = tolerance_for(None, box)  # type: ignore[arg-type]
    neighbour_ids = {g.pk for g in tree.neighbours}
    data: dict[str, Any] = {
        "selected": _feature(grid, shape(grid.geometry) if grid.geometry else None),
        "children": _collection(tree.children, tolerance),
        "siblings": {
            "type": "FeatureCollection",
            "features": [
                {**f, "properties": {**f["properties"], "neighbour": f["id"] in neighbour_ids}}
                for f in _collection(tree.siblings, tolerance)["features"]
            ],
        },
        "preview": None,
        "draw": {"create": "polygon", "split": "line", "redraw": "vertices"}.get(op or ""),
        "manageUrl": reverse("grids:manage"),
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
    }
    if preview is not None and preview.results:
        moving = {m.grid.pk for m in preview.moves}
        data["preview"] = {
            "type": "FeatureCollection",
            "features": [_feature(p, p.geometry, role="result") for p in preview.results]
            + [
                _feature(g, shape(g.geometry), role="moving")
                for g in preview.closed
                if g.pk in moving and g.geometry is not None
            ],
        }
    return data


def _page(
    request: HttpRequest,
    tree: _Tree,
    op: str | None,
    form: forms.Form | None = None,
    preview: services.AdjustmentPreview | None = None,
    problems: list[Problem] | None = None,
) -> HttpResponse:
    from gridgov.accounts.models import RoleAssignment

    grid = tree.grid
    query = request.GET.get("q", "").strip()[:40]
    hits: list[Grid] = []
    if query:
        lookup = {"code__startswith": query} if query.isdigit() else {"name__icontains": query}
        hits = list(
            Grid.objects.current()
            .filter(**lookup)
            .select_related("parent")
            .defer("geometry", "parent__geometry")
            .order_by("level", "code")[:SEARCH_LIMIT]
        )
    version = GridVersion.objects.filter(grid=grid, valid_to__isnull=True).only("valid_from").first()
    people = list(
        RoleAssignment.objects.filter(grid=grid)
        .select_related("user", "department")
        .order_by("role", "user__username")
    )
    changes = list(
        # Three indexed lookups of change ids, not a join of every change with every version (1.8 s).
        GridChange.objects.filter(
            Q(pk__in=GridChange.opened.through.objects.filter(grid=grid).values("gridchange_id"))
            | Q(pk__in=GridChange.closed.through.objects.filter(grid=grid).values("gridchange_id"))
            | Q(pk__in=GridVersion.objects.filter(grid=grid, change__isnull=False).values("change_id"))
        )
        .select_related("actor")
        .order_by("-created_at")[:5]
    )
    if op and form is None:
        form = _form_for(op, tree)
    if form is not None:  # the keyboard starts in the form's first field
        first = next(iter(form.fields.values()), None)
        if first is not None:
            first.widget.attrs["autofocus"] = True
    context = {
        "grid": grid,
        "tree": tree,
        "op": op,
        "operations": _operations(tree),
        "form": form,
        "preview": preview,
        "problems": problems if problems is not None else (preview.problems if preview else []),
        "cases": _open_cases(preview) if preview is not None and preview.ok else [],
        "people": people,
        "version": version,
        "changes": changes,
        "query": query,
        "hits": hits,
        "map_data": _map_data(tree, op, preview),
        "map_text": _map_text(),
        "level": level_label(grid.level),
        "kind": kind_label(grid.kind),
    }
    return render(request, "grids/manage.html", context)


def _map_text() -> dict[str, str]:
    """Words the script shows, translated here so the script holds no text of its own."""
    return {
        "polygon": _("Click on the map to place the corners of the new grid, then press Finish."),
        "line": _("Click to draw a line across the grid, starting and ending outside it, then press Finish."),
        "parts": _("Click to place the corners of a part, then press Finish; draw as many parts as needed."),
        "vertices": _("Drag a corner to move it; drag a middle point to add a corner. Then press Preview."),
        "drawn": _("Drawn: press Preview to see what would change."),
        "few": _("Place more points first."),
    }


def _operations(tree: _Tree) -> list[tuple[str, str]]:
    """The operations this grid offers, with their labels (the root is never split, merged or redrawn)."""
    ops = [("create", _("Draw a grid inside"))]
    if tree.grid.parent_id and tree.grid.geometry is not None:
        ops.append(("split", _("Split")))
        if tree.neighbours:
            ops += [("merge", _("Merge")), ("redraw", _("Redraw boundary"))]
    return ops


@login_required
@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    """Grid administration: the tree, the selected grid on the map with its facts, and its operations."""
    _require_manager(request)
    raw = request.GET.get("grid", "")
    grid = _grid_or_404(raw) if raw.isdigit() else _current_with_counts().order_by("level", "code").first()
    if grid is None:
        return render(request, "grids/manage_empty.html")
    tree = _Tree(grid)
    op = request.GET.get("op")
    if op not in {o for o, _label in _operations(tree)}:
        op = None
    return _page(request, tree, op)


@login_required
@require_http_methods(["GET", "POST"])
def operate(request: HttpRequest, grid_id: int, op: str) -> HttpResponse:
    """One operation on a grid: GET shows its form; POST previews it, or (with `save`) does it."""
    _require_manager(request)
    tree = _Tree(_grid_or_404(grid_id))
    if op != "edit" and op not in {o for o, _label in _operations(tree)}:
        raise Http404
    if request.method == "GET":
        return _page(request, tree, op)
    form = _form_for(op, tree, request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, tree, op, form)
    if op == "edit":
        data = form.cleaned_data
        figures = (
            {}
            if getattr(tree.grid, "child_count", 0)
            else {
                "households": data["households"],
                "population": data["population"],
            }
        )
        try:
            services.do_update_grid(tree.grid, actor=request.user, name=data["name"], **figures)
        except GridInputError as exc:
            return _page(request, tree, op, form, problems=exc.problems)
        messages.success(request, _("Saved."))
        return redirect(f"{reverse('grids:manage')}?grid={tree.grid.pk}")
    preview = _preview(op, tree, form)
    if preview.ok and "save" in request.POST:
        try:
            shown, message = _save(op, tree, form, request.user)
        except GridInputError as exc:
            preview.problems = exc.problems
        else:
            messages.success(request, message)
            return redirect(f"{reverse('grids:manage')}?grid={shown.pk}")
    return _page(request, tree, op, _shown_form(op, tree, form, preview), preview)


def _shown_form(op: str, tree: _Tree, form: Any, preview: services.AdjustmentPreview) -> forms.Form:
    """The form as the preview shows it: an uploaded file's shapes as text (so saving sends them again), and
    the pieces' names as the preview gives them (so they can be corrected)."""
    data = form.data.copy()
    if form.cleaned_data.get("file") and getattr(form, "shapes", None):
        data["geometry"] = json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"name": n} if n else {}, "geometry": mapping(g)}
                    for n, g in form.shapes
                ],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
    if op == "split":
        data["names"] = "\n".join(p.name for p in preview.results) or data.get("names", "")
    shown = _form_for(op, tree, data)
    shown.is_valid()
    return shown
