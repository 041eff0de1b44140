"""Hotspots (热点): places where cases of one item keep coming back, found for root-cause work.

`find_hotspots()` clusters, item by item, the cases reported within a window (90 days by default) with DBSCAN on
their WGS-84 points under the haversine metric: `min_cases` cases (5) each within `eps_m` metres (100) of the
next make a hotspot. It is idempotent: a cluster that matches a hotspot of the same item found before (they
share a case, or their centres lie within reach of each other) updates it — the new cases are added to its
history — instead of making another; a resolved hotspot whose place produces `reopen_cases` new cases after its
resolution is reopened. Only one item's window is in memory at a time, so a county with a million cases is
processed as a hundred-odd small problems.

The department answering for the hotspot (the one that led most of its cases, else the item's lead
department) takes it up with the root cause it found and the measures it plans (new → being worked on), and
resolves it (→ resolved). Each step: compare-and-set on the version, a `HotspotEvent`, an audit record and a
live event (`hotspot.<step>`), in one transaction."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.cases.choices import State as CaseState
from gridgov.cases.models import Case
from gridgov.catalog.models import Item
from gridgov.core import audit, outbox
from gridgov.core.errors import Conflict, Invalid, NotAllowed, Refusal, clean_text
from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .incidents_scoping import acts_on_hotspot
from .models import Hotspot, HotspotAction, HotspotCase, HotspotEvent, HotspotStatus

EARTH_RADIUS_M = 6_371_008.8
DEFAULTS = {"eps_m": 100.0, "min_cases": 5, "days": 90}
MAX_NOTE = 4000
IGNORED_STATES = (CaseState.REJECTED, CaseState.MERGED)


class HotspotNotFound(Refusal):
    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such hotspot."))


def settings_value(name: str) -> Any:
    """HOTSPOT_EPS_M, HOTSPOT_MIN_CASES, HOTSPOT_DAYS in the settings, or the defaults."""
    return getattr(settings, f"HOTSPOT_{name.upper()}", DEFAULTS[name])


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class Cluster:
    case_ids: list[int]
    lat: float
    lon: float
    radius_m: float
    first_seen: datetime
    last_seen: datetime
    grid_id: int
    department_id: int | None


@dataclass
class FindReport:
    items: int = 0
    cases: int = 0
    clusters: int = 0
    found: int = 0
    grown: int = 0
    reopened: int = 0
    unchanged: int = 0
    hotspots: list[int] = field(default_factory=list)


def _clusters(
    rows: list[tuple], eps_m: float, min_cases: int, default_department: int | None
) -> list[Cluster]:
    """DBSCAN over one item's cases: rows of (id, lat, lon, created_at, grid_id, lead_department_id)."""
    from sklearn.cluster import DBSCAN

    if len(rows) < min_cases:
        return []
    points = np.radians(np.array([(r[1], r[2]) for r in rows], dtype=float))
    labels = DBSCAN(
        eps=eps_m / EARTH_RADIUS_M, min_samples=min_cases, metric="haversine", algorithm="ball_tree"
    ).fit_predict(points)
    found = []
    for label in sorted(set(labels.tolist()) - {-1}):
        members = [rows[i] for i in np.flatnonzero(labels == label)]
        lat = float(np.mean([m[1] for m in members]))
        lon = float(np.mean([m[2] for m in members]))
        radius = max(haversine_m(lat, lon, m[1], m[2]) for m in members)
        grid_id = Counter(m[4] for m in members).most_common(1)[0][0]
        departments = Counter(m[5] for m in members if m[5] is not None)
        department = departments.most_common(1)[0][0] if departments else default_department
        found.append(
            Cluster(
                case_ids=sorted(m[0] for m in members),
                lat=round(lat, 7),
                lon=round(lon, 7),
                radius_m=round(radius, 1),
                first_seen=min(m[3] for m in members),
                last_seen=max(m[3] for m in members),
                grid_id=grid_id,
                department_id=department,
            )
        )
    return found


def _match(cluster: Cluster, existing: list[tuple[Hotspot, set[int]]], eps_m: float, taken: set[int]) -> Any:
    """The hotspot of the item this cluster is (sharing cases, else the nearest within reach), or None."""
    ids = set(cluster.case_ids)
    best: tuple[int, float, Hotspot] | None = None
    for hotspot, linked in existing:
        if hotspot.pk in taken:
            continue
        shared = len(ids & linked)
        distance = haversine_m(cluster.lat, cluster.lon, hotspot.lat, hotspot.lon)
        if not shared and distance > eps_m + max(cluster.radius_m, hotspot.radius_m):
            continue
        key = (-shared, distance)
        if best is None or key < (best[0], best[1]):
            best = (-shared, distance, hotspot)
    return best[2] if best else None


def find_hotspots(
    *,
    eps_m: float | None = None,
    min_cases: int | None = None,
    days: int | None = None,
    now: datetime | None = None,
    item_codes: list[str] | None = None,
) -> FindReport:
    """Recompute the hotspots of the window ending `now` (see the module's docstring). Safe to run again."""
    eps_m = float(eps_m if eps_m is not None else settings_value("eps_m"))
    min_cases = int(min_cases if min_cases is not None else settings_value("min_cases"))
    days = int(days if days is not None else settings_value("days"))
    if eps_m <= 0 or min_cases < 2 or days < 1:
        raise Invalid(_("The radius must be positive, at least 2 cases and at least one day."), field="eps_m")
    now = now or timezone.now()
    since = now - timedelta(days=days)
    report = FindReport()
    window = Case.objects.filter(
        created_at__gte=since, created_at__lte=now, lat__isnull=False, lon__isnull=False
    )
    window = window.exclude(state__in=IGNORED_STATES)
    items = Item.objects.all()
    if item_codes:
        items = items.filter(code__in=item_codes)
    for item_id, lead_department_id in items.order_by("id").values_list("id", "lead_department_id"):
        rows = list(
            window.filter(item_id=item_id)
            .order_by("id")
            .values_list("id", "lat", "lon", "created_at", "grid_id", "lead_department_id")
        )
        if not rows:
            continue
        report.items += 1
        report.cases += len(rows)
        clusters = _clusters(rows, eps_m, min_cases, lead_department_id)
        report.clusters += len(clusters)
        if clusters or Hotspot.objects.filter(item_id=item_id).exists():
            _store(item_id, clusters, eps_m, min_cases, now, report)
    return report


def _reopen_threshold(min_cases: int) -> int:
    return max(2, min_cases // 2)


@transaction.atomic
def _store(
    item_id: int, clusters: list[Cluster], eps_m: float, min_cases: int, now: datetime, report: FindReport
) -> None:
    hotspots = list(Hotspot.objects.select_for_update().filter(item_id=item_id).order_by("id"))
    linked: dict[int, set[int]] = {h.pk: set() for h in hotspots}
    for hotspot_id, case_id in HotspotCase.objects.filter(hotspot__item_id=item_id).values_list(
        "hotspot_id", "case_id"
    ):
        linked[hotspot_id].add(case_id)
    existing = [(h, linked[h.pk]) for h in hotspots]
    grids = {
        g.pk: g
        for g in Grid.objects.filter(pk__in={c.grid_id for c in clusters}).only(
            "id", "l1_id", "l2_id", "l3_id", "level"
        )
    }
    taken: set[int] = set()
    for cluster in clusters:
        grid = grids.get(cluster.grid_id)
        levels = _levels(grid, cluster.grid_id)
        hotspot = _match(cluster, existing, eps_m, taken)
        if hotspot is None:
            hotspot = Hotspot.objects.create(
                item_id=item_id,
                department_id=cluster.department_id,
                grid_id=cluster.grid_id,
                **levels,
                lon=cluster.lon,
                lat=cluster.lat,
                radius_m=cluster.radius_m,
                case_count=len(cluster.case_ids),
                first_seen=cluster.first_seen,
                last_seen=cluster.last_seen,
                found_at=now,
                updated_at=now,
            )
            HotspotCase.objects.bulk_create(
                [HotspotCase(hotspot=hotspot, case_id=c) for c in cluster.case_ids]
            )
            data = {"cases": len(cluster.case_ids), "radius_m": cluster.radius_m}
            HotspotEvent.objects.create(
                hotspot=hotspot, action=HotspotAction.FOUND, data=data, created_at=now
            )
            audit.record("hotspot.found", target=hotspot, data={"item": item_id, **data})
            _publish("found", hotspot)
            report.found += 1
            report.hotspots.append(hotspot.pk)
            continue
        taken.add(hotspot.pk)
        report.hotspots.append(hotspot.pk)
        known = linked[hotspot.pk]
        new_ids = [c for c in cluster.case_ids if c not in known]
        if not new_ids:
            report.unchanged += 1
            continue
        HotspotCase.objects.bulk_create([HotspotCase(hotspot=hotspot, case_id=c) for c in new_ids])
        known.update(new_ids)
        # The centre and reach follow the latest cluster; the count and the seen times are of the whole history.
        after_resolution = 0
        if hotspot.status == HotspotStatus.RESOLVED and hotspot.resolved_at is not None:
            since_resolution = HotspotCase.objects.filter(hotspot=hotspot).values("case_id")
            after_resolution = Case.objects.filter(
                pk__in=since_resolution, created_at__gt=hotspot.resolved_at
            ).count()
        reopen = after_resolution >= _reopen_threshold(min_cases)
        changes: dict[str, Any] = {
            "lon": cluster.lon,
            "lat": cluster.lat,
            "radius_m": cluster.radius_m,
            "grid_id": cluster.grid_id,
            **levels,
            "case_count": len(known),
            "first_seen": min(hotspot.first_seen, cluster.first_seen),
            "last_seen": max(hotspot.last_seen, cluster.last_seen),
            "updated_at": now,
            "version": F("version") + 1,
        }
        if reopen:
            changes.update(status=HotspotStatus.NEW, reopened=F("reopened") + 1, resolved_at=None)
        Hotspot.objects.filter(pk=hotspot.pk).update(**changes)
        action = HotspotAction.REOPENED if reopen else HotspotAction.GREW
        data = {"new_cases": len(new_ids), "cases": len(known)}
        HotspotEvent.objects.create(hotspot=hotspot, action=action, data=data, created_at=now)
        audit.record(f"hotspot.{action}", target=hotspot, data=data)
        if reopen:
            hotspot.grid_l1_id = levels["grid_l1_id"]
            _publish("reopened", hotspot)
            report.reopened += 1
        else:
            report.grown += 1


def _levels(grid: Grid | None, grid_id: int) -> dict[str, int | None]:
    if grid is None:
        return {"grid_l1_id": None, "grid_l2_id": None, "grid_l3_id": None}
    return {
        "grid_l1_id": grid.l1_id or (grid.pk if grid.level == 1 else None),
        "grid_l2_id": grid.l2_id or (grid.pk if grid.level == 2 else None),
        "grid_l3_id": grid.l3_id or (grid.pk if grid.level == 3 else None),
    }


def _publish(step: str, hotspot: Hotspot) -> None:
    outbox.publish(
        f"hotspot.{step}",
        {
            "hotspot": hotspot.pk,
            "item": hotspot.item_id,
            "status": hotspot.status,
            "cases": hotspot.case_count,
        },
        grid_l1_id=hotspot.grid_l1_id,
    )


# ---------------------------------------------------------------------------------------------- services


def hotspot_for(user: Any, pk: int) -> Hotspot:
    try:
        return visible_to(user, Hotspot).select_related("item", "department", "grid").get(pk=pk)
    except (Hotspot.DoesNotExist, ValueError, OverflowError) as exc:
        raise HotspotNotFound from exc


FIELD_LABELS = {"root_cause": _("Root cause"), "measures": _("Measures")}


def _note(value: Any, field_name: str, *, required: bool) -> str:
    return clean_text(value, field_name, MAX_NOTE, label=FIELD_LABELS[field_name], required=required)


def _step(
    hotspot_id: int,
    *,
    actor: Any,
    action: str,
    allowed_from: tuple[str, ...],
    to: str,
    root_cause: Any,
    measures: Any,
    ip: str | None,
    cause_required: bool,
    measures_required: bool,
    version: int | None = None,
) -> Hotspot:
    cause = _note(root_cause, "root_cause", required=cause_required)
    steps = _note(measures, "measures", required=measures_required)
    with transaction.atomic():
        hotspot = hotspot_for(actor, hotspot_id)
        grid_path = Grid.objects.filter(pk=hotspot.grid_id).values_list("path", flat=True).first() or ""
        if not acts_on_hotspot(actor, hotspot, grid_path):
            raise NotAllowed(
                _(
                    "Only the department answering for the hotspot, or the command centre over its grid, works on it."
                )
            )
        if hotspot.status not in allowed_from:
            raise Conflict(
                _("The hotspot is %(status)s: this step does not apply.")
                % {"status": hotspot.get_status_display()}
            )
        if version is not None and version != hotspot.version:
            raise Conflict(_("Somebody changed the hotspot meanwhile; read it again."))
        now = timezone.now()
        changes: dict[str, Any] = {"status": to, "updated_at": now, "version": F("version") + 1}
        if cause or cause_required:
            changes["root_cause"] = cause
        if steps or measures_required:
            changes["measures"] = steps
        if to == HotspotStatus.RESOLVED:
            changes["resolved_at"] = now
        done = Hotspot.objects.filter(pk=hotspot.pk, version=hotspot.version, status=hotspot.status).update(
            **changes
        )
        if done != 1:
            raise Conflict(_("Somebody changed the hotspot meanwhile; read it again."))
        note = "\n".join(x for x in (cause, steps) if x)
        HotspotEvent.objects.create(hotspot=hotspot, action=action, actor=actor, note=note, created_at=now)
        audit.record(
            f"hotspot.{action}", actor=actor, target=hotspot, data={"from": hotspot.status, "to": to}, ip=ip
        )
        _publish(action, hotspot)
    hotspot.refresh_from_db()
    return hotspot


def do_take(
    hotspot_id: int, *, actor: Any, root_cause: Any = "", measures: Any = "", ip: str | None = None
) -> Hotspot:
    """The department takes the hotspot up, with the root cause it found (required) and the measures it plans."""
    return _step(
        hotspot_id,
        actor=actor,
        action=HotspotAction.TAKEN,
        allowed_from=(HotspotStatus.NEW,),
        to=HotspotStatus.WORKING,
        root_cause=root_cause,
        measures=measures,
        ip=ip,
        cause_required=True,
        measures_required=False,
    )


def do_note(
    hotspot_id: int, *, actor: Any, root_cause: Any = "", measures: Any = "", ip: str | None = None
) -> Hotspot:
    """Bring the root cause and the measures of a hotspot being worked on up to date."""
    return _step(
        hotspot_id,
        actor=actor,
        action=HotspotAction.NOTED,
        allowed_from=(HotspotStatus.WORKING,),
        to=HotspotStatus.WORKING,
        root_cause=root_cause,
        measures=measures,
        ip=ip,
        cause_required=True,
        measures_required=False,
    )


def do_resolve(
    hotspot_id: int, *, actor: Any, root_cause: Any = "", measures: Any = "", ip: str | None = None
) -> Hotspot:
    """Resolve a hotspot being worked on, with the measures taken (required)."""
    return _step(
        hotspot_id,
        actor=actor,
        action=HotspotAction.RESOLVED,
        allowed_from=(HotspotStatus.WORKING,),
        to=HotspotStatus.RESOLVED,
        root_cause=root_cause,
        measures=measures,
        ip=ip,
        cause_required=False,
        measures_required=True,
    )
