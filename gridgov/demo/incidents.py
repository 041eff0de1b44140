"""The demo county's hotspots and emergencies (突发事件).

`seed_incidents(config)` runs after the history of cases (and needs the demo accounts):

- Hotspots: the history's points are spread over the grids, so a few places are made to come back: for the ten
  most reported items, 5 to 14 of their cases of the last 90 days (of the same town first) are drawn together
  around one of them (within 40 m, taking its grid), four of the places in the demo town. Then `find_hotspots()` finds them as the
  sweep would; the department of the first takes it up with its root cause, the second is resolved.
- Emergencies: a closed one (a rainstorm over two villages of the demo town, three departments dispatched, the
  grid workers told, closed with its report), and an open one (a gas leak in the demo village, the demo handler's
  department acknowledged its task, the other has not yet).

Everything goes through the services (`gridgov.command.hotspots`, `gridgov.command.incidents_services`), so the
audit log and the timeline are what a real use leaves; the closed emergency's timeline is then moved back to
three weeks ago. Deterministic for a seed. Runs inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.choices import State as CaseState
from gridgov.cases.models import Case
from gridgov.command import incidents_services as services
from gridgov.command.hotspots import do_resolve, do_take, find_hotspots
from gridgov.command.models import Hotspot, Incident, IncidentEvent
from gridgov.grids.models import Grid

from .config import DemoConfig

PLACES = 10
IN_DEMO_TOWN = 4
SPREAD_M = 40
WINDOW_DAYS = 90


@dataclass
class IncidentsReport:
    moved_cases: int = 0
    hotspots: int = 0
    incidents: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return _("%(hotspots)d hotspots (%(moved)d cases drawn together), %(incidents)d emergencies.") % {
            "hotspots": self.hotspots,
            "moved": self.moved_cases,
            "incidents": self.incidents,
        }


def _handler(department_id: int | None) -> User | None:
    if department_id is None:
        return None
    a = RoleAssignment.objects.filter(role="dept_handler", department_id=department_id).order_by("id").first()
    return a.user if a else None


def _plant(rng: random.Random, now: dt.datetime, demo_town: Grid | None) -> int:
    """Draw cases of the most reported items together around one case of each (ten places); the cases moved take
    the grid of the case they are drawn to."""
    window = Case.objects.filter(
        created_at__gte=now - dt.timedelta(days=WINDOW_DAYS - 5), lat__isnull=False, grid__level=3
    ).exclude(state__in=(CaseState.REJECTED, CaseState.MERGED))
    items = list(
        window.values("item_id").annotate(n=Count("id")).filter(n__gte=6).order_by("-n", "item_id")[:PLACES]
    )
    moved: list[Case] = []
    fields = ("id", "lon", "lat", "grid_id", "grid_l1_id", "grid_l2_id", "grid_l3_id")
    for k, row in enumerate(items):
        cases = list(window.filter(item_id=row["item_id"]).order_by("id").only(*fields))
        local = [c for c in cases if demo_town is not None and c.grid_l1_id == demo_town.pk]
        anchor = rng.choice(local if local and k < IN_DEMO_TOWN else cases)
        # Cases of the same town first, then of the others.
        others = [c for c in cases if c.pk != anchor.pk]
        rng.shuffle(others)
        others.sort(key=lambda c: c.grid_l1_id != anchor.grid_l1_id)
        lon0, lat0 = float(anchor.lon or 0), float(anchor.lat or 0)  # the window holds located cases only
        for c in others[: rng.randint(5, 14)]:
            r, a = SPREAD_M * math.sqrt(rng.random()), rng.random() * 2 * math.pi
            c.lon = round(lon0 + r * math.cos(a) / (111_320 * math.cos(math.radians(lat0))), 7)
            c.lat = round(lat0 + r * math.sin(a) / 110_540, 7)
            c.grid_id, c.grid_l1_id = anchor.grid_id, anchor.grid_l1_id
            c.grid_l2_id, c.grid_l3_id = anchor.grid_l2_id, anchor.grid_l3_id
            moved.append(c)
    Case.objects.bulk_update(
        moved, ["lon", "lat", "grid_id", "grid_l1_id", "grid_l2_id", "grid_l3_id"], batch_size=500
    )
    return len(moved)


def _backdate(incident: Incident, days: int) -> None:
    """Move a seeded incident's timeline back by `days`, its steps spread over the first hours."""
    shift = dt.timedelta(days=days)
    events = list(IncidentEvent.objects.filter(incident=incident).order_by("id"))
    start = events[0].created_at - shift
    for n, e in enumerate(events):
        e.created_at = start + dt.timedelta(minutes=25 * n + 7 * (n * n % 5))
    IncidentEvent.objects.bulk_update(events, ["created_at"])
    last = events[-1].created_at
    Incident.objects.filter(pk=incident.pk).update(
        declared_at=start, closed_at=last if incident.closed_at else None
    )
    incident.dispatches.update(sent_at=start + dt.timedelta(minutes=25))


def seed_incidents(
    config: DemoConfig | None = None,
    *,
    now: dt.datetime | None = None,
    say: Callable[[str], None] | None = None,
) -> IncidentsReport:
    config = config or DemoConfig()
    now = now or timezone.now()
    say = say or (lambda _message: None)
    rng = random.Random(config.seed * 7919 + 8)
    report = IncidentsReport()
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["operator", "town_operator", "specialist", "leader"])
    }
    specialist_grid = (
        RoleAssignment.objects.filter(user=users.get("specialist"), role="grid_specialist")
        .select_related("grid")
        .first()
        if "specialist" in users
        else None
    )
    demo_leaf = specialist_grid.grid if specialist_grid else None
    demo_village = demo_leaf.parent if demo_leaf else None
    demo_town = demo_village.parent if demo_village else None

    say(_("Drawing cases together into hotspots…"))
    report.moved_cases = _plant(rng, now, demo_town)
    find_hotspots(now=now, days=WINDOW_DAYS)
    hotspots = list(Hotspot.objects.order_by("-case_count", "id"))
    report.hotspots = len(hotspots)
    in_town = [h for h in hotspots if demo_town is not None and h.grid_l1_id == demo_town.pk]
    for n, h in enumerate(in_town[:2]):
        handler = _handler(h.department_id)
        if handler is None:
            continue
        do_take(
            h.pk,
            actor=handler,
            root_cause=_demo_text("cause", n),
            measures=_demo_text("measures", n),
        )
        if n == 1:
            do_resolve(h.pk, actor=handler, measures=_demo_text("done", n))

    operator, town_operator = users.get("operator"), users.get("town_operator")
    if operator is None or town_operator is None or demo_town is None or demo_village is None:
        return report
    villages = list(Grid.objects.current().filter(parent=demo_town).order_by("code")[:2])
    storm = services.do_declare(
        actor=operator,
        kind="natural",
        level=3,
        title="暴雨致村道积水、农房受损",
        description="昨夜突降暴雨，累计降雨量87毫米，两个村低洼路段积水，4户农房墙体开裂，一段村道被冲毁。",
        place=f"{demo_town.name}{villages[0].name}、{villages[-1].name}",
        grids=[v.code for v in villages],
    )
    tasks = [
        ("YJ", "统筹抢险救灾，组织转移受威胁群众"),
        ("ZF", "清理道路障碍和积水，设置警示标志"),
        ("ZJ", "排查受损农房，鉴定危房"),
    ]
    dispatches = services.do_dispatch(storm.pk, actor=operator, departments=tasks)
    services.do_broadcast(
        storm.pk,
        actor=operator,
        message="请立即入户排查低洼地带和危旧房屋住户，劝离并登记转移人员，及时上报险情。",
    )
    for d, progress in zip(
        dispatches,
        ("已转移群众23人，安置在村委会", "积水已排净，道路恢复通行", "4户危房已鉴定，住户已安置"),
        strict=True,
    ):
        handler = _handler(d.department_id)
        if handler is None:
            continue
        services.do_acknowledge(d.pk, actor=handler)
        services.do_finish(d.pk, actor=handler, note=progress)
    storm = services.do_close(
        storm.pk,
        actor=operator,
        summary="暴雨造成两个村道路积水、4户农房受损，经各部门协同处置，险情已排除，群众生活秩序恢复正常。",
        cause="短时强降雨，村内排水设施不足。",
        measures="转移安置群众23人；抽排积水；修复冲毁村道120米；鉴定并加固危房4户。",
        injuries=1,
        affected_people=310,
        relocated_people=23,
        direct_loss="18.6",
    )
    _backdate(storm, 21)

    leak = services.do_declare(
        actor=town_operator,
        kind="accident",
        level=4,
        title="小区燃气管道泄漏",
        description="施工挖断小区燃气管道，现场有明显燃气味，已疏散周边居民。",
        place=f"{demo_village.name}",
        grids=[demo_village.code],
    )
    leak_dispatches = services.do_dispatch(
        leak.pk,
        actor=town_operator,
        departments=[("ZF", "现场警戒，查处违规施工"), ("XF", "关阀堵漏，检测燃气浓度")],
    )
    handler = _handler(leak_dispatches[0].department_id)
    if handler is not None:
        services.do_acknowledge(leak_dispatches[0].pk, actor=handler)
    report.incidents = 2
    return report


def _demo_text(kind: str, n: int) -> str:
    texts = {
        "cause": ("周边餐馆集中，垃圾桶数量不足，清运频次低。", "雨水井篦子老化，道路低洼处排水不畅。"),
        "measures": ("增设4个垃圾桶，清运改为每日两次，约谈商户。", "更换雨水篦子，疏通排水管道。"),
        "done": ("", "已更换篦子12个，疏通管道300米，连续两周无新发案件。"),
    }
    return texts[kind][n]
