"""The living demo: a simulator that keeps the county busy, so the wall moves on a fresh install.

Each step does one thing a real county does: a grid worker, a resident or the hotline reports something (the
demo's items and descriptions, a point inside a grid), a command-centre operator accepts or dispatches a case,
a department signs or feeds back with a photo, the grid's staff verify and close it, an operator records the
rating of a caller — always through `gridgov.cases.services`, as a user the workflow allows to act, so every
step has its event, its audit record and its live event. Now and then a video or IoT alarm comes in through the
real webhook path (`gridgov.command.alarms.receive`, signed with the source's secret).

`gridgov simulate` runs it (one step every 2 s by default); `--once N` takes N steps and stops."""

from __future__ import annotations

import io
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, close_old_connections
from PIL import Image

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases import services
from gridgov.cases.choices import Action, Channel, Rating, ReporterKind, State
from gridgov.cases.errors import Refusal
from gridgov.cases.models import Assignment, Case
from gridgov.catalog.models import Item
from gridgov.demo.texts import describe
from gridgov.grids.locator import get_locator
from gridgov.grids.models import Grid

from . import alarms
from .models import AlarmSource, Camera

log = logging.getLogger(__name__)

# What a step does, by weight: new reports keep coming while the older ones move on.
WEIGHTS = {"report": 3, "advance": 6, "alarm": 1}
# How far back the simulator looks for cases to move on (the newest first).
RECENT = 200
# The share of advancing steps that record a caller's rating of a closed case.
RATE_SHARE = 0.1
# Cases looked at per step before giving up (some wait on a unit nobody of the demo answers for).
TRIES = 5
# The steps that move a case on, in the order of its life.
FORWARD = (Action.ACCEPT, Action.DISPATCH, Action.SIGN, Action.FEEDBACK, Action.VERIFY_PASS, Action.EVALUATE)
# A fake phone for the callers of the hotline (the demo's own range).
PHONE_PREFIX = "1390477"


@dataclass
class Outcome:
    kind: str
    case: str = ""
    action: str = ""
    detail: str = ""


@dataclass
class World:
    grids: list[Grid]
    items: list[Item]
    workers: dict[int, list[int]]  # level-3 grid id → users who report from it
    operators: list[tuple[str, int]]  # (grid path, user id)
    handlers: dict[int, list[int]]  # department id → handlers
    sources: list[AlarmSource] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)


def photo(rng: random.Random) -> tuple[str, bytes]:
    """A small JPEG of a plain colour: the after-photo of a feedback."""
    buf = io.BytesIO()
    Image.new("RGB", (96, 72), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(buf, "JPEG")
    return "after.jpg", buf.getvalue()


def load_world() -> World:
    grids = list(Grid.objects.current().filter(level=3, min_lon__isnull=False))
    items = list(Item.objects.filter(active=True).order_by("code"))
    workers: dict[int, list[int]] = {}
    operators: list[tuple[str, int]] = []
    handlers: dict[int, list[int]] = {}
    rows = RoleAssignment.objects.filter(
        role__in=[Role.GRID_SPECIALIST, Role.INFO_OFFICER, Role.OPERATOR, Role.DEPT_HANDLER],
        user__is_active=True,
    ).values_list("role", "user_id", "grid_id", "grid__path", "department_id")
    for role, user_id, grid_id, path, department_id in rows:
        if role == Role.OPERATOR and path:
            operators.append((path, user_id))
        elif role == Role.DEPT_HANDLER and department_id:
            handlers.setdefault(department_id, []).append(user_id)
        elif grid_id:
            workers.setdefault(grid_id, []).append(user_id)
    return World(
        grids=grids,
        items=items,
        workers=workers,
        operators=operators,
        handlers=handlers,
        sources=list(AlarmSource.objects.filter(active=True).order_by("code")),
        cameras=list(Camera.objects.order_by("code")),
    )


class Simulator:
    def __init__(
        self,
        *,
        seed: int | None = None,
        say: Callable[[str], None] | None = None,
        items: list[str] | None = None,
    ) -> None:
        """`items`: report only these item codes (default: every active item)."""
        self.rng = random.Random(seed)
        self.say = say or (lambda _: None)
        self.world = load_world()
        if items:
            self.world.items = [i for i in self.world.items if i.code in items]
        self.users: dict[int, User] = {}
        self.alarm_count = 0
        # Whether to go on: the demo's server is still there (`gridgov simulate --parent PID`).
        self.alive: Callable[[], bool] = lambda: True

    # -------------------------------------------------------------------------------------------- helpers

    def user(self, pk: int) -> User:
        if pk not in self.users:
            self.users[pk] = User.objects.get(pk=pk)
        return self.users[pk]

    def point_in(self, grid: Grid) -> tuple[float, float] | None:
        locator = get_locator()
        for _ in range(12):
            lon = self.rng.uniform(grid.min_lon, grid.max_lon)  # type: ignore[arg-type]
            lat = self.rng.uniform(grid.min_lat, grid.max_lat)  # type: ignore[arg-type]
            if locator.locate(lon, lat).grid_id == grid.pk:
                return lon, lat
        return None

    # -------------------------------------------------------------------------------------------- steps

    def step(self) -> Outcome:
        kinds = [k for k in WEIGHTS if k != "alarm" or self.world.sources]
        kind = self.rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        try:
            if kind == "report":
                return self.report()
            if kind == "alarm":
                return self.alarm()
            return self.advance() or self.report()
        except Refusal as exc:  # the county moved meanwhile (another user acted first): try something else
            return Outcome("refused", detail=str(exc))

    def report(self) -> Outcome:
        world = self.world
        grids = [g for g in world.grids if g.pk in world.workers] or world.grids
        if not grids or not world.items:
            return Outcome("idle", detail="no grids or items")
        grid = self.rng.choice(grids)
        point = self.point_in(grid)
        if point is None:
            return Outcome("idle", detail="no point")
        item = self.rng.choice(world.items)
        description = describe(item, self.rng)
        workers = world.workers.get(grid.pk)
        if workers and self.rng.random() < 0.6:
            report = services.Report(
                channel=Channel.WORKER_APP,
                description=description,
                item=item.code,
                lon=point[0],
                lat=point[1],
            )
            actor: Any = self.user(self.rng.choice(workers))
        else:
            operator = self._operator_for(grid.path)
            if operator is None:
                return Outcome("idle", detail="no operator")
            report = services.Report(
                channel=Channel.HOTLINE,
                description=description,
                item=item.code,
                lon=point[0],
                lat=point[1],
                reporter_phone=f"{PHONE_PREFIX}{self.rng.randrange(10_000):04d}",
            )
            actor = operator
        report.force = True  # the simulator reports what it means to, even next to an open case
        result = services.do_report(report, actor=actor)
        return Outcome("report", case=result.case.number, action=Action.REPORT)

    def _operator_for(self, path: str) -> User | None:
        fits = [pk for p, pk in self.world.operators if path.startswith(p)]
        return self.user(self.rng.choice(fits)) if fits else None

    def _candidates(self, case: Case) -> list[User]:
        """The users around a case who might act on it: its operators, its units' handlers, its grid staff."""
        path = case.grid.path
        ids = [pk for p, pk in self.world.operators if path.startswith(p)]
        units = Assignment.objects.filter(case=case, active=True).values_list("department_id", flat=True)
        for department_id in units:
            ids += self.world.handlers.get(department_id, [])
        ids += self.world.workers.get(case.grid_id, [])
        self.rng.shuffle(ids)
        return [self.user(pk) for pk in dict.fromkeys(ids)]

    def advance(self) -> Outcome | None:
        movable = (State.REPORTED, State.REGISTERED, State.DISPATCHED, State.HANDLING, State.HANDLED)
        # Mostly open cases to move on; now and then a closed one whose caller is asked for a rating (回访).
        if self.rng.random() < RATE_SHARE:
            rows = Case.objects.filter(state=State.CLOSED, rating="", reporter_kind=ReporterKind.ANONYMOUS)
        else:
            rows = Case.objects.filter(state__in=movable)
        recent = list(rows.order_by("-id").values_list("id", flat=True)[:RECENT])
        if not recent:
            return None
        for pk in self.rng.sample(recent, min(TRIES, len(recent))):
            case = Case.objects.select_related("grid", "item", "routed_department").get(pk=pk)
            for actor in self._candidates(case):
                allowed = services.allowed_actions(actor, case)
                for action in FORWARD:
                    if action in allowed:
                        step = self._step(case, action)
                        if step is None:
                            continue
                        services.do_transition(case, action, step, actor=actor)
                        return Outcome("advance", case=case.number, action=action)
        return Outcome("idle", detail="nobody may act")

    def _step(self, case: Case, action: str) -> services.Step | None:
        step = services.Step(expected_version=case.version)
        if action == Action.DISPATCH:
            if case.routed_department_id is None:
                return None
            step.unit = case.routed_department.code  # type: ignore[union-attr]
        elif action == Action.FEEDBACK:
            step.note = self.rng.choice(
                ["已处理完毕，现场已恢复。", "已清理完成。", "已维修，恢复正常。", "已协调解决。"]
            )
            step.files = [photo(self.rng)]
        elif action == Action.EVALUATE:
            step.rating = self.rng.choices(
                [Rating.SATISFIED, Rating.BASIC, Rating.UNSATISFIED], weights=[8, 2, 1]
            )[0]
        elif action == Action.VERIFY_PASS:
            step.note = "现场核查，已整改到位。"
        return step

    def alarm(self) -> Outcome:
        """An alarm through the webhook's own path: signed, checked, then a case (or a "me too")."""
        source = self.rng.choice(self.world.sources)
        types = sorted(source.mapping)
        if not types:
            return Outcome("idle", detail="source maps no alarm type")
        self.alarm_count += 1
        body: dict[str, Any] = {
            "event_id": f"sim-{int(time.time() * 1000)}-{self.rng.randrange(1_000_000)}",
            "type": self.rng.choice(types),
        }
        cameras = self.world.cameras
        if source.kind == "video" and cameras:
            body["camera"] = self.rng.choice(cameras).code
        else:
            grids = self.world.grids
            point = self.point_in(self.rng.choice(grids)) if grids else None
            if point is not None:
                body["lon"], body["lat"] = point
        raw = json.dumps(body).encode()
        headers = alarms.signed_headers(source.code, alarms.secret_of(source), raw)
        try:
            result = alarms.receive(headers, raw)
        except alarms.AlarmRefused as exc:
            return Outcome("refused", detail=str(exc))
        return Outcome("alarm", case=result.case_number, action="joined" if result.joined else Action.REPORT)

    # -------------------------------------------------------------------------------------------- running

    def run(self, *, steps: int | None = None, interval: float = 2.0) -> list[Outcome]:
        """Take `steps` steps (None: forever), `interval` seconds apart."""
        done: list[Outcome] = []
        n = 0
        while (steps is None or n < steps) and self.alive():
            if steps is None:
                close_old_connections()
            try:
                outcome = self.step()
            except DatabaseError as exc:  # a busy database (SQLite's write lock): the next step tries again
                if steps is not None:
                    raise
                log.warning("simulator: %s", exc)
                outcome = Outcome("error", detail=str(exc))
            n += 1
            self.say(f"{outcome.kind} {outcome.case} {outcome.action} {outcome.detail}".strip())
            if steps is not None:
                done.append(outcome)
            if interval and (steps is None or n < steps):
                time.sleep(interval)
        return done
