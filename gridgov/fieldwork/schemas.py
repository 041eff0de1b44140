"""Pydantic schemas of the patrol API. Times are ISO 8601 with their offset (Asia/Shanghai) on the way out;
on the way in they are the phone's, as it recorded them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from ninja import Schema
from pydantic import Field

from gridgov.cases.schemas import Latitude, Longitude, optional

# Made on the phone (crypto.randomUUID()); read by the services, which name the field when it is not one.
PatrolKey = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"format": "uuid"})]
# The moment on the phone, ISO 8601 (without an offset: Asia/Shanghai).
PhoneTime = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra={"format": "date-time"})]


class StartIn(Schema):
    """Check-in: the patrol's key, the moment on the phone, and where (WGS-84, from the GPS; left out
    without a fix)."""

    key: PatrolKey
    at: PhoneTime
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()


class TrackIn(Schema):
    # A JSON list of [longitude, latitude, time in ms since 1970, accuracy in metres], oldest first; at most
    # 2,000 a batch. Points of a time already stored are skipped, so a batch may be sent again.
    points: str


class EndIn(Schema):
    """Check-out: the moment on the phone and where."""

    at: PhoneTime
    lon: Longitude | None = optional()
    lat: Latitude | None = optional()


class PatrolListQuery(Schema):
    # Leave both out for the caller's own patrols; give either to see those of the grids one oversees.
    grid: str | None = optional(max_length=32)  # a grid code: the patrols of its subtree
    day: dt.date | None = optional(ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31))  # started that day


class PatrolGrid(Schema):
    id: int
    code: str
    name: str


class Worker(Schema):
    id: int
    name: str


class PatrolOut(Schema):
    key: uuid.UUID
    grid: PatrolGrid
    worker: Worker
    started_at: dt.datetime
    # Null while the patrol goes on.
    ended_at: dt.datetime | None
    points: int
    distance_m: float
    duration_s: int | None


class PatrolPage(Schema):
    items: list[PatrolOut]
    has_more: bool
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None
