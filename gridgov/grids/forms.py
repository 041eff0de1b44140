"""Forms of the grid administration pages: what a county IT officer types, draws or uploads.

A shape comes as GeoJSON (a geometry, a Feature, a FeatureCollection) or WKT, typed or pasted into the text
box (the map's drawing tools fill it) or uploaded as a file. The forms only read the input; whether the
shapes make a good grid tree is for the previews and services to say (`services.preview_*`)."""

from __future__ import annotations

import json
from typing import Any

import shapely
import shapely.ops
import shapely.wkt
from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.geometry import shape

from .models import Grid, GridKind

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
LINE_TYPES = ("LineString", "MultiLineString")


def read_shapes_text(text: str) -> list[tuple[str, shapely.Geometry]]:
    """(name, geometry) of each shape in a GeoJSON or WKT text; raises ValueError naming what is wrong."""
    text = text.strip()
    if not text:
        return []
    if text[0] in "{[":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                _("not valid JSON: %(error)s at line %(line)d, column %(column)d")
                % {"error": exc.msg, "line": exc.lineno, "column": exc.colno}
            ) from exc
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            features = doc.get("features")
        elif isinstance(doc, dict) and doc.get("type") == "Feature":
            features = [doc]
        elif isinstance(doc, list):
            features = doc
        else:
            features = [{"type": "Feature", "properties": {}, "geometry": doc}]
        if not isinstance(features, list) or not features:
            raise ValueError(_("the GeoJSON has no shapes"))
        shapes = []
        for index, feature in enumerate(features, start=1):
            geometry = feature.get("geometry") if isinstance(feature, dict) else None
            try:
                geom = shape(geometry)
            except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
                raise ValueError(_("shape %(index)d is not a GeoJSON geometry") % {"index": index}) from exc
            name = str(
                ((feature.get("properties") or {}) if isinstance(feature, dict) else {}).get("name") or ""
            )
            shapes.append((name.strip(), geom))
        return shapes
    try:
        geom = shapely.wkt.loads(text)
    except (shapely.errors.GEOSException, ValueError) as exc:
        raise ValueError(_("neither GeoJSON nor WKT: %(error)s") % {"error": str(exc)[:200]}) from exc
    if geom.geom_type == "GeometryCollection":
        return [("", g) for g in geom.geoms]
    return [("", geom)]


class _ShapeForm(forms.Form):
    """The effective date, the reason, and a shape typed, drawn or uploaded."""

    geometry = forms.CharField(
        label=gettext_lazy("Shape (GeoJSON or WKT)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "geometry-input"}),
        help_text=gettext_lazy("Draw on the map, paste GeoJSON or WKT here, or upload a file below."),
    )
    file = forms.FileField(
        label=gettext_lazy("or a GeoJSON / WKT file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".geojson,.json,.wkt,.txt"}),
    )
    effective = forms.DateField(
        label=gettext_lazy("Effective date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("The day the new boundaries hold from (today or earlier)."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("for example: document no. of the decision")}
        ),
    )

    needs_shape = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["effective"].initial = timezone.localdate()
        self.shapes: list[tuple[str, shapely.Geometry]] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        text = data.get("geometry") or ""
        field = "geometry"
        if upload:
            field = "file"
            if upload.size > MAX_UPLOAD_BYTES:
                self.add_error("file", _("the file is larger than 5 MB"))
                return data
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", _("the file is not UTF-8 text"))
                return data
        try:
            self.shapes = read_shapes_text(text)
        except ValueError as exc:
            self.add_error(field, str(exc))
            return data
        if self.needs_shape and not self.shapes:
            self.add_error("geometry", _("draw the shape on the map, paste it here or upload a file"))
        return data


class GridEditForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    households = forms.IntegerField(label=gettext_lazy("Households"), min_value=0)
    population = forms.IntegerField(label=gettext_lazy("Population"), min_value=0)

    def __init__(self, *args: Any, grid: Grid, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"name": grid.name, "households": grid.households, "population": grid.population}
        )
        super().__init__(*args, **kwargs)
        if getattr(grid, "child_count", 0):
            # A grid with grids below it counts what they count: its figures are not typed.
            for key in ("households", "population"):
                self.fields[key].disabled = True
                self.fields[key].help_text = _("the sum of the grids below it")


class CreateForm(_ShapeForm):
    name = forms.CharField(label=gettext_lazy("Name of the new grid"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=GridKind.choices, initial=GridKind.BASE)
    field_order = ["name", "kind", "geometry", "file", "effective", "reason"]

    def polygon(self) -> shapely.Geometry | None:
        polys = [g for _n, g in self.shapes if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            return None
        return polys[0] if len(polys) == 1 else shapely.union_all(polys)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.shapes and self.polygon() is None:
            self.add_error("geometry", _("a new grid is an area: draw a polygon"))
        return data


class SplitForm(_ShapeForm):
    """A line across the grid (the grid is cut along it), or drawn parts (each part is cut out of the grid;
    what is left over becomes one more piece)."""

    names = forms.CharField(
        label=gettext_lazy("Names of the pieces"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "One name per line, in the order of the preview; empty lines keep the suggested name."
        ),
    )
    field_order = ["geometry", "file", "names", "effective", "reason"]

    def __init__(self, *args: Any, grid: Grid, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grid = grid
        self.fields["geometry"].label = _("Cutting line or parts (GeoJSON or WKT)")

    def pieces(self) -> list[tuple[str, shapely.Geometry]]:
        """The pieces of the grid the drawing makes, with their names (typed, or suggested)."""
        whole = shape(self.grid.geometry) if self.grid.geometry else None
        if whole is None or not self.shapes:
            return []
        lines = [g for _n, g in self.shapes if g.geom_type in LINE_TYPES]
        parts = [(n, g) for n, g in self.shapes if g.geom_type in ("Polygon", "MultiPolygon")]
        geoms: list[shapely.Geometry] = []
        given: list[str] = []
        if lines:
            blade = shapely.union_all(lines)
            cut = shapely.ops.split(whole, blade) if whole.geom_type == "Polygon" else None
            if cut is None:
                cut = shapely.GeometryCollection(
                    [p for poly in whole.geoms for p in shapely.ops.split(poly, blade).geoms]
                )
            geoms = list(cut.geoms)
            geoms.sort(key=lambda g: (round(-g.centroid.y, 6), g.centroid.x))  # north to south, west to east
            given = ["" for _g in geoms]
        elif parts:
            rest = whole
            for name, part in parts:
                geoms.append(part)
                given.append(name)
                rest = shapely.difference(rest, part)
            if not rest.is_empty and rest.area > whole.area * 1e-6:
                geoms.append(rest)
                given.append("")
        typed = [line.strip() for line in (self.cleaned_data.get("names") or "").splitlines()]
        names = []
        for i in range(len(geoms)):
            name = typed[i] if i < len(typed) and typed[i] else given[i]
            names.append(name or f"{self.grid.name}-{i + 1}")
        return list(zip(names, geoms, strict=True))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.shapes and not any(
            g.geom_type in (*LINE_TYPES, "Polygon", "MultiPolygon") for _n, g in self.shapes
        ):
            self.add_error("geometry", _("draw a line across the grid, or the parts to cut out of it"))
        elif self.shapes and len(self.pieces()) < 2:
            self.add_error(
                "geometry",
                _(
                    "the line does not cut the grid in two: draw it across, starting and ending outside the grid"
                ),
            )
        return data


class MergeForm(forms.Form):
    grids = forms.MultipleChoiceField(
        label=gettext_lazy("Merge with"), widget=forms.CheckboxSelectMultiple, required=True
    )
    name = forms.CharField(label=gettext_lazy("Name of the merged grid"), max_length=100)
    effective = _ShapeForm.base_fields["effective"]
    reason = _ShapeForm.base_fields["reason"]

    def __init__(self, *args: Any, grid: Grid, neighbours: list[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["effective"].initial = timezone.localdate()
        self.fields["name"].initial = grid.name
        choices = [(str(g.pk), f"{g.code} {g.name}") for g in neighbours]
        self.fields["grids"].choices = choices  # type: ignore[attr-defined]
        self.by_id = {str(g.pk): g for g in neighbours}
        self.grid = grid

    def chosen(self) -> list[Grid]:
        return [self.grid, *[self.by_id[i] for i in self.cleaned_data.get("grids", [])]]


class RedrawForm(_ShapeForm):
    neighbour = forms.ChoiceField(label=gettext_lazy("Neighbour that gives or takes the area"))
    field_order = ["neighbour", "geometry", "file", "effective", "reason"]

    def __init__(self, *args: Any, grid: Grid, neighbours: list[Grid], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(g.pk), f"{g.code} {g.name}") for g in neighbours]
        self.fields["neighbour"].choices = choices  # type: ignore[attr-defined]
        self.fields["geometry"].label = _("New boundary of this grid (GeoJSON or WKT)")
        self.fields["geometry"].help_text = _(
            "Drag the corners on the map (drag a middle point to add a corner), or paste the new boundary."
        )
        if not self.is_bound and grid.geometry:
            self.initial["geometry"] = json.dumps(grid.geometry, separators=(",", ":"))
        self.by_id = {str(g.pk): g for g in neighbours}

    def polygon(self) -> shapely.Geometry | None:
        polys = [g for _n, g in self.shapes if g.geom_type in ("Polygon", "MultiPolygon")]
        return polys[0] if len(polys) == 1 else (shapely.union_all(polys) if polys else None)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.shapes and self.polygon() is None:
            self.add_error("geometry", _("the new boundary is an area: draw a polygon"))
        return data
