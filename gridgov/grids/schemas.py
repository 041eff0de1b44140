"""Pydantic schemas of the grid API (what the map page and mobile clients read)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema


class Message(Schema):
    detail: str


class GridBrief(Schema):
    id: int
    code: str
    name: str
    level: int


class Person(Schema):
    """Someone responsible for a grid (定人定格定责): their role there and, for a grid guide, the department."""

    name: str
    role: str
    role_label: str
    department: str | None = None


class GridDetail(Schema):
    id: int
    code: str
    name: str
    level: int
    level_label: str
    kind: str
    kind_label: str
    parent_id: int | None
    ancestors: list[GridBrief]  # from the root down to the parent
    area_km2: float | None
    households: int
    population: int
    child_count: int  # current children the user may see
    bbox: list[float] | None  # west, south, east, north
    valid_from: dt.date
    people: list[Person]


class GridProperties(Schema):
    id: int
    code: str
    name: str
    level: int
    kind: str
    kind_label: str
    area_km2: float | None
    households: int
    population: int
    child_count: int
    label: list[float] | None  # a point inside the grid for its label: lon, lat


class GridFeature(Schema):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] | None
    properties: GridProperties


class GridFeatureCollection(Schema):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    parent: GridBrief
    bbox: list[float] | None
    tolerance: float  # degrees the geometry was simplified by
    features: list[GridFeature]


class SearchHit(Schema):
    id: int
    code: str
    name: str
    level: int
    context: str  # the names of the town and village it lies in
