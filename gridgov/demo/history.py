"""The demo county's past: tens of thousands of cases over the last six months, in every state, from every
channel, so that every queue, page and indicator has something true to show.

`seed_history(config)` writes in bulk what the case services (`gridgov.cases.services`) and the deadline
sweep (`gridgov.cases.sweep`) would have left after six months of use — without calling them per step, which
would take minutes. Each case lives one consistent story, played by a small simulator that follows the
services rule for rule: the transition table (`cases.workflow`), a `CaseEvent` per step (seq 1, 2, 3 … and
`Case.version` the last seq), one `Deadline` per stage clock (stopped, met or not, paused while suspended,
shifted by approved extensions and resumptions), the sweep's yellow cards and escalations when a clock ran
past its limits, unit assignments, extension requests, supervision notices, ratings and disputes, merged
duplicates with their supporters on the surviving case, and one audit record per event written through
`audit.record_many` in chronological order, so the audit chain verifies.

Time is simulated in working time: every instant a member of staff acts at is a "position", the working
microseconds since the first day of a table built from the working calendar (`_Clock`), so a delay of
"12 working minutes" is one addition and deadlines are `start + limit` — the arithmetic of
`core.calendar.add_working_time`, checked against it by the tests. Residents, callers and machines report
at any hour; staff act in working hours.

Cases reported in the last days are still open, cut where "now" falls in their story; a few more are placed
on purpose so that every open state (reported, registered, dispatched, handling, handled, suspended) holds
cases in time, due soon and overdue whatever the hour of seeding.

Deterministic for a seed and a `now`, except the random nonces of the encrypted reporter fields.

Where the engine's rules pull apart, the history stays inside all of them:

* the sweep escalates any open case whose clock runs past 1.5 times its limit, but the transition table
  has no escalation from `handled`: verification is never that late here;
* the register clock (15 working minutes, 5 when urgent) also runs while a grid worker settles a report on
  the spot or hands it to the village, and past 1.5 times the sweep would move it out of their reach: those
  stories end within it.

Not written: evidence files (the services want photos for self-handling and feedback), inbox
notifications, comments and live events. Audit records carry the time of their event, in the order the
events happened.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.choices import (
    OPEN_STATES,
    Action,
    AssignmentKind,
    Capacity,
    Card,
    Channel,
    ExtensionState,
    Rating,
    ReporterKind,
    State,
)
from gridgov.cases.models import (
    Assignment,
    Case,
    CaseCounter,
    CaseEvent,
    Deadline,
    Extension,
    Supervision,
    Supporter,
)
from gridgov.cases.personal import NAME, PHONE, blind_index, encrypt_text
from gridgov.cases.services import CARD_RANK, STAGE_OF
from gridgov.cases.sweep import ESCALATE_REASON, OVERDUE_REASON
from gridgov.catalog.models import Department, Item, RoutingRule, Stage, Urgency
from gridgov.catalog.selectors import route, time_limits
from gridgov.core import audit
from gridgov.core.calendar import TZ, get_calendar
from gridgov.grids.models import Grid

from . import texts
from .config import DemoConfig
from .names import person_name

HISTORY_DAYS = 183  # about six months
SECOND = 1_000_000  # positions and delays are in microseconds
MINUTE = 60 * SECOND
BATCH = 5000  # rows per INSERT round trip
AUDIT_CHUNK = 20_000  # audit entries per `record_many` call (bounded memory)
UTC = dt.UTC

# How cases arrive: grid workers' patrols first, then residents' app and the 12345 hotline.
CHANNEL_MIX: dict[str, float] = {
    Channel.WORKER_APP: 0.45,
    Channel.RESIDENT_APP: 0.20,
    Channel.HOTLINE: 0.15,
    Channel.WALK_IN: 0.06,
    Channel.VIDEO: 0.05,
    Channel.IOT: 0.04,
    Channel.OPEN311: 0.03,
    Channel.IMPORT: 0.02,
}


def _weights(text: str) -> list[float]:
    return [float(x) for x in text.split()]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# When each kind of channel reports: (weight of a working day, of a day off) and the hours of the day.
OFFICE = (Channel.WORKER_APP, Channel.WALK_IN, Channel.IMPORT)
MACHINES = (Channel.VIDEO, Channel.IOT)
DAY_WEIGHTS = {"office": (1.0, 0.25), "public": (1.0, 0.8), "machine": (1.0, 1.0)}
HOUR_WEIGHTS = {  # hour of the day (local) 0 … 23
    "office": _weights("0 0 0 0 0 0 .05 .3 1.2 2 2 1.6 .4 .2 1 2 2 1.2 .3 .1 .05 0 0 0"),
    "public": _weights(
        ".05 .02 .01 .01 .02 .05 .2 .6 1.2 1.5 1.5 1.3 .9 .8 1 1.2 1.2 1.1 1 1.2 1.3 1.1 .6 .2"
    ),
    "machine": _weights(".6 .5 .5 .5 .5 .6 .8 1 1.2 1.2 1.2 1.2 1.1 1.1 1.2 1.2 1.2 1.2 1.1 1 .9 .8 .7 .6"),
}

# What is reported: module weights, the everyday items, what each channel sees more of, and the seasons.
MODULE_WEIGHTS = {
    "01": 3.0,  # city appearance
    "02": 1.0,  # public safety
    "03": 1.6,  # construction, roads
    "04": 0.8,  # social services
    "05": 0.5,  # labour
    "06": 1.8,  # livelihood, environment
    "07": 1.1,  # disputes
    "08": 0.6,  # public order
    "09": 2.2,  # urban management, traffic
    "10": 0.8,  # rural civility
}
ITEM_BOOST = {
    "012001": 4.0,  # exposed rubbish
    "012004": 3.0,  # piled sundries
    "012011": 3.0,  # street vending
    "092001": 3.0,  # illegal parking
    "032001": 3.0,  # damaged road
    "011001": 2.5,  # litter bin
    "031005": 2.5,  # street lamp
    "062010": 2.5,  # noise
    "072001": 2.5,  # neighbour dispute
    "012003": 2.0,
    "012007": 2.0,
    "092002": 2.0,
    "052001": 2.0,  # unpaid wages
    "062006": 2.0,  # property management
    "062001": 1.5,
    "062002": 1.5,
    "092004": 1.5,
}
CHANNEL_MODULES: dict[str, dict[str, float]] = {
    Channel.WORKER_APP: {"01": 1.6, "09": 1.4, "03": 1.2, "04": 0.6, "05": 0.2, "06": 0.6, "07": 0.6, "08": 0.8},
    Channel.RESIDENT_APP: {"06": 1.8, "09": 1.2, "03": 1.2, "07": 0.8, "04": 0.8, "05": 0.6, "08": 0.5},
    Channel.HOTLINE: {"06": 1.6, "05": 2.0, "07": 1.6, "04": 1.4, "01": 0.6, "09": 0.8},
    Channel.WALK_IN: {"07": 2.5, "04": 2.0, "05": 1.8, "01": 0.3, "02": 0.3, "03": 0.5, "08": 0.5, "09": 0.3},
    Channel.OPEN311: {"06": 1.6, "09": 1.2, "03": 1.2, "05": 0.5},
    Channel.IMPORT: {"06": 1.6, "05": 2.0, "07": 1.6, "04": 1.4, "01": 0.6},
}  # fmt: skip
COMPONENT_BOOST: dict[str, float] = {Channel.WORKER_APP: 1.5}  # patrols find broken things
CHANNEL_ITEMS: dict[str, tuple[str, ...]] = {  # machines see a few things only
    Channel.VIDEO: _words(
        "012001 012004 012010 012011 012012 012013 092001 092002 092004 022001 032003 102005"
    ),
    Channel.IOT: _words("021002 021003 021006 021008 031001 031002 031003 062001 062012 032003"),
}
URBAN_CHANNELS = (Channel.VIDEO,)  # cameras hang in town


def season(code: str, month: int) -> float:
    """How much more (or less) an item is reported in a month."""
    if code == "062004":  # snow and ice on the roads
        return {12: 4.0, 1: 4.0, 2: 3.0, 11: 1.5, 3: 1.0}.get(month, 0.0)
    if code == "062003":  # heating (15 October – 15 April)
        return 3.0 if month in (11, 12, 1, 2, 3) else 1.0 if month in (10, 4) else 0.1
    if code in ("102005", "012013"):  # burning straw and leaves
        return 3.0 if month in (3, 4, 10, 11) else 0.3
    if code in ("022009", "021008"):  # floods
        return 4.0 if month in (6, 7, 8) else 0.2
    if code == "012012":  # open-air barbecues
        return 2.0 if 5 <= month <= 9 else 0.3
    return 1.0


# Which paths cases take (shares of their channel's cases).
SELF_HANDLED = 0.35  # worker reports settled on the spot (小事不出网格)
VILLAGE = 0.08  # worker reports escalated to the village and settled there (大事不出村)
REJECTED: dict[str, float] = {
    Channel.WORKER_APP: 0.01,
    Channel.RESIDENT_APP: 0.06,
    Channel.HOTLINE: 0.05,
    Channel.WALK_IN: 0.03,
    Channel.VIDEO: 0.10,
    Channel.IOT: 0.08,
    Channel.OPEN311: 0.08,
    Channel.IMPORT: 0.02,
}
DUPLICATED: dict[str, float] = {Channel.RESIDENT_APP: 0.05, Channel.HOTLINE: 0.05, Channel.OPEN311: 0.04}
BANNER_CHANNELS = (Channel.HOTLINE, Channel.OPEN311, Channel.IMPORT)  # taken in by the banner's centre
MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 173 177 180 181 183 185 186 187 188 "
    "189 191 198 199"
)

# What staff write (the descriptions themselves come from `texts.describe`).
REJECT_REASONS = (
    "经核实，反映的问题不属于网格化服务管理事项，已告知反映人通过司法途径解决。",
    "经现场核实，反映的问题不存在。",
    "属于企业内部经营事务，不予受理，已向反映人解释。",
    "反映内容不清、无法核实，已电话联系反映人未果。",
    "设备误报，现场无异常。",
)
ESCALATE_REASONS = (
    "网格内无法自行处置，需村（社区）协调。",
    "涉及多户居民，需村委会（居委会）出面调解。",
    "需动用村集体力量处置，提请村（社区）处理。",
)
VILLAGE_NOTES = (
    "村（社区）组织人员现场处置完毕。",
    "经村委会调解，双方达成和解。",
    "社区协调物业处理完毕，现场已恢复。",
)
SELF_NOTES = (
    "网格员现场处置完毕。",
    "已劝导当事人自行整改，现场已恢复。",
    "已现场清理，拍照留存。",
    "已协调物业处理完毕。",
    "已现场劝离，秩序恢复正常。",
)
RETURN_REASONS = (
    "不属于本单位职责范围，请重新派遣。",
    "该处设施不归本单位管养，请核实权属后改派。",
    "地址信息不全，无法定位，请核实后重新派遣。",
)
REASSIGN_REASONS = ("原派遣单位职责不符，改派主责单位。", "按属地管理原则改派。", "经会商由该单位牵头办理。")
FEEDBACK_NOTES = (
    "已安排人员现场处置完毕。",
    "已清理完毕，现场恢复整洁。",
    "已修复并恢复正常使用。",
    "已约谈当事人并责令整改，整改已完成。",
    "已调解，双方达成一致意见。",
    "已依法查处，并向反映人反馈处理结果。",
)
ASSIST_NOTES = ("已配合主办单位完成处置。", "已派员协助现场处置。", "已提供相关资料，配合办理完毕。")
EXTENSION_REASONS = (
    "需采购配件，申请延期办理。",
    "工程量较大，需协调施工队伍，申请延期。",
    "涉及多个部门会商，申请延长办理时限。",
    "当事人外出，需待其返回后处理。",
)
DENY_REASONS = ("时限内可以完成，不同意延期。", "延期理由不充分，请按期办结。")
APPROVE_NOTES = ("同意延期，请按新时限办结。", "")
SUSPEND_REASONS = (
    "需等待天气转暖后施工，暂时挂账。",
    "涉及资金审批，待预算下达后处置。",
    "当事人外出务工，待其返乡后调解。",
    "需上级部门协调，暂时挂账。",
)
SUPERVISE_REASONS = (
    "群众反映强烈，请加快办理。",
    "已超期未办结，请说明原因并限期整改。",
    "领导批示：高度重视，尽快办结。",
    "同一问题多次反映，请彻底解决。",
)
VERIFY_FAIL_REASONS = (
    "现场核查问题未彻底解决，请返工。",
    "处置后问题复发，请重新处置。",
    "整改不到位，与反馈照片不符。",
)
DISPUTE_REASONS = (
    "问题没有解决，过两天又出现了。",
    "处理结果不满意，现场还是老样子。",
    "没有人联系我就结案了。",
)
RATING_NOTES = {
    Rating.SATISFIED: ("", "", "处理很及时，谢谢！", "满意", "效率挺高，点赞"),
    Rating.BASIC: ("", "还行，就是有点慢", "基本解决了"),
    Rating.UNSATISFIED: ("", "处理太慢了", "问题只解决了一半"),
}


class _Cut(Exception):
    """The next step of a story lies after now: the case stays where it is."""


class _Stop(Exception):
    """A case placed on purpose has reached the state it is to be found in."""


# -- working time -----------------------------------------------------------------------------------------------
class _Clock:
    """Working time as integer microseconds ("positions") from the first day of a table of days.

    The arithmetic of `core.calendar` — the same periods and calendar exceptions, the same rule that an
    addition ends at the earliest instant it can (12:00, not 14:30) — so that `wall(pos(t) + d)` equals
    `add_working_time(t, d)` and `pos(b) - pos(a)` equals `working_time_between(a, b)`; but one addition per
    step instead of a datetime search."""

    def __init__(self, first: dt.date, last: dt.date) -> None:
        cal = get_calendar()
        self.periods: list[tuple[int, int]] = list(cal.periods)
        self.day_us: int = cal.day_us
        self.first = first.toordinal()
        self.cum = [0]  # working time before each day
        self.working: list[int] = []  # ordinals of the working days, in order
        self._midnights: dict[int, dt.datetime] = {}
        self._bases: dict[int, tuple[int, int]] = {}
        for o in range(self.first, last.toordinal() + 1):
            if cal.is_working_day(dt.date.fromordinal(o)):
                self.working.append(o)
                self.cum.append(self.cum[-1] + self.day_us)
            else:
                self.cum.append(self.cum[-1])

    def pos(self, t: dt.datetime) -> int:
        local = t.astimezone(TZ)
        i = local.toordinal() - self.first
        p = self.cum[i]
        if self.cum[i + 1] != p:
            tod = ((local.hour * 60 + local.minute) * 60 + local.second) * SECOND + local.microsecond
            for s, e in self.periods:
                if tod > s:
                    p += min(tod, e) - s
        return p

    def wall(self, p: int) -> dt.datetime:
        """The earliest instant at position `p` (> 0), in UTC."""
        n, rest = divmod(p - 1, self.day_us)
        rest += 1
        acc, tod = 0, self.periods[-1][1]
        for s, e in self.periods:
            if rest <= acc + (e - s):
                tod = s + (rest - acc)
                break
            acc += e - s
        midnight = self._midnights.get(n)
        if midnight is None:
            local = dt.datetime.combine(dt.date.fromordinal(self.working[n]), dt.time(), tzinfo=TZ)
            midnight = self._midnights[n] = local.astimezone(UTC)
        # The calendar's zone keeps one offset all year (China: UTC+8, no daylight saving since 1991), so
        # local midnight + time of day is the same instant as `add_working_time` gives.
        return midnight + dt.timedelta(microseconds=tod)

    def text(self, p: int) -> str:
        """`str(wall(p))` without its zone, as Django's SQLite backend stores an instant (naive UTC), built
        without a datetime: a quarter of a million rows hold a million instants."""
        n, rest = divmod(p - 1, self.day_us)
        rest += 1
        acc, tod = 0, self.periods[-1][1]
        for s, e in self.periods:
            if rest <= acc + (e - s):
                tod = s + (rest - acc)
                break
            acc += e - s
        base = self._bases.get(n)
        if base is None:
            local = dt.datetime.combine(dt.date.fromordinal(self.working[n]), dt.time(), tzinfo=TZ)
            u = local.astimezone(UTC)
            base = self._bases[n] = (u.toordinal(), ((u.hour * 60 + u.minute) * 60 + u.second) * SECOND)
        extra, t = divmod(base[1] + tod, 86_400 * SECOND)
        day = str(dt.date.fromordinal(base[0] + extra))
        h, t = divmod(t, 3600 * SECOND)
        m, t = divmod(t, 60 * SECOND)
        sec, us = divmod(t, SECOND)
        return f"{day} {h:02d}:{m:02d}:{sec:02d}.{us:06d}" if us else f"{day} {h:02d}:{m:02d}:{sec:02d}"


# -- what the stories are made of ---------------------------------------------------------------------------------
class _ItemInfo:
    __slots__ = ("assisting", "code", "id", "lead", "limits", "obj", "rural", "urban", "urgency")

    def __init__(self, obj: Item, limits: dict[tuple[str, str], int], lead: int, assisting: list[int]):
        self.obj = obj
        self.id = obj.pk
        self.code = obj.code
        self.lead = lead
        self.assisting = assisting
        self.limits = limits
        self.urgency = obj.urgency
        self.rural = obj.code in getattr(texts, "RURAL_ITEMS", ()) or obj.code[:2] == "10"
        self.urban = obj.code in getattr(texts, "URBAN_ITEMS", ())


class _GridInfo:
    __slots__ = ("address", "code", "geometry", "id", "l1", "l2", "level", "points", "urban")

    def __init__(self, row: Any, address: str, urban: bool) -> None:
        self.id = row["id"]
        self.code = row["code"]
        self.level = row["level"]
        self.l1 = row["l1_id"]
        self.l2 = row["l2_id"]
        self.address = address
        self.geometry: Any = shapely.geometry.shape(row["geometry"])  # level-3 grids with a boundary only
        shapely.prepare(self.geometry)
        self.urban = urban
        self.points: list[tuple[float, float]] = []


class _Clk:
    """A `Deadline` in the making: positions, except `started`/`done` which may be instants."""

    __slots__ = _words("done due esc escalated id met minutes noticed p0 paused stage started warn")

    def __init__(self, stage: str, minutes: int, p0: int, started: Any, marks: tuple[int, int, int]) -> None:
        self.id = 0
        self.stage = stage
        self.minutes = minutes
        self.p0 = p0
        self.started = started
        self.warn, self.due, self.esc = p0 + marks[0], p0 + marks[1], p0 + marks[2]
        self.paused: int | None = None
        self.done: Any = None
        self.met: bool | None = None
        self.noticed = False
        self.escalated = False


class _Assign:
    __slots__ = ("active", "dept", "dispatched", "end_reason", "ended", "fed_back", "kind", "signed")

    def __init__(self, dept: int, kind: str, p: int) -> None:
        self.dept, self.kind, self.active, self.dispatched = dept, kind, True, p
        self.signed: int | None = None
        self.fed_back: int | None = None
        self.ended: int | None = None
        self.end_reason = ""


class _Ext:
    __slots__ = ("at", "by", "clk", "decided", "decided_by", "id", "minutes", "note", "reason", "state")

    def __init__(self, clk: _Clk, minutes: int, reason: str, by: int, p: int) -> None:
        self.id = 0
        self.clk, self.minutes, self.reason, self.by, self.at = clk, minutes, reason, by, p
        self.state = ExtensionState.PENDING
        self.decided_by: int | None = None
        self.decided: int | None = None
        self.note = ""


class _Ev:
    __slots__ = ("action", "actor", "at", "capacity", "data", "frm", "level", "note", "pos", "sweep", "to")

    def __init__(self, pos, at, action, actor, capacity, frm, to, level, note, data, sweep=False) -> None:
        self.pos, self.at, self.action, self.actor, self.capacity = pos, at, action, actor, capacity
        self.frm, self.to, self.level, self.note, self.data, self.sweep = frm, to, level, note, data, sweep


class _Sup:
    __slots__ = ("by", "card", "ev", "id", "reason", "stage")

    def __init__(self, card: str, reason: str, stage: str, by: int | None, ev: _Ev) -> None:
        self.id, self.card, self.reason, self.stage, self.by, self.ev = 0, card, reason, stage, by, ev


class _Story:
    """One case: what was reported, and everything that happened to it."""

    __slots__ = _words(
        "actor address assigns card channel clock closed confidential created deadlines description disputed "
        "events exts grid id idx item lat lead level limits lon merged_into name number op op_level overdue path "
        "phone rated rating reporter reporter_kind resolved_level returns reworks routed staff stage state stop "
        "supervised supporters supporters_count sups suspended_from t target urgency"
    )

    def __init__(self, idx: int, channel: str, created: dt.datetime) -> None:
        self.idx = idx
        self.id = 0
        self.number = ""
        self.channel = channel
        self.created = created
        self.item: _ItemInfo = None  # type: ignore[assignment]
        self.grid: _GridInfo = None  # type: ignore[assignment]
        self.urgency: str = Urgency.NORMAL
        self.limits: dict[tuple[str, str], int] = {}
        self.description = ""
        self.address = ""
        self.lon: float | None = None
        self.lat: float | None = None
        self.level = 3
        self.resolved_level: int | None = None
        self.lead: int | None = None
        self.routed: int | None = None
        self.reporter_kind: str = ReporterKind.STAFF
        self.reporter: int | None = None
        self.actor: int | None = None
        self.name = ""
        self.phone = ""
        self.confidential = False
        self.merged_into: _Story | None = None
        self.supporters_count = 0
        self.closed: Any = None
        self.state = ""
        self.suspended_from = ""
        self.stage = ""
        self.clock: _Clk | None = None
        self.overdue = False
        self.supervised = 0
        self.card = ""
        self.returns = 0
        self.reworks = 0
        self.rating = ""
        self.rated: dt.datetime | None = None
        self.disputed = 0
        self.events: list[_Ev] = []
        self.deadlines: list[_Clk] = []
        self.assigns: list[_Assign] = []
        self.exts: list[_Ext] = []
        self.sups: list[_Sup] = []
        self.supporters: list[tuple[int | None, str, str, _Story, int]] = []  # user, phone, channel, from, p
        self.t = 0
        self.stop: str | None = None
        self.path = "standard"
        self.target: _Story | None = None
        self.staff: list[int] = []
        self.op = 0  # the operator who takes the case in (a town's or the banner's centre)
        self.op_level = 1

    def replan(self, created: dt.datetime) -> _Story:
        """A fresh story of the same report, made at another instant."""
        c = _Story(self.idx, self.channel, created)
        for name in PLANNED:
            setattr(c, name, getattr(self, name))
        return c


# What `_Planner.plan` decides about a story (the rest is what happens to it).
PLANNED = (
    "item", "grid", "urgency", "limits", "description", "address", "lon", "lat", "routed", "staff", "op",
    "op_level", "reporter_kind", "reporter", "actor", "name", "phone", "confidential", "path", "target",
)  # fmt: skip


# -- the county as the stories need it ----------------------------------------------------------------------------
class _World:
    """Grids, people, items and departments, read once."""

    def __init__(self, config: DemoConfig) -> None:
        rows = list(
            Grid.objects.current().values(
                "id", "code", "name", "level", "l1_id", "l2_id", "geometry", "population"
            )
        )
        names = {r["id"]: r["name"] for r in rows}
        urban_units = {u.code for u in config.units if u.urban}
        self.grids = [
            _GridInfo(
                r,
                f"{names.get(r['l1_id'], '')}{names.get(r['l2_id'], '')}{r['name']}",
                r["code"][6:9] in urban_units,
            )
            for r in sorted(rows, key=lambda r: r["code"])
            if r["level"] == 3 and r["geometry"]
        ]
        if not self.grids:
            raise ValueError("the county has no level-3 grids with a boundary: seed the demo county first")
        by_id = {r["id"]: r for r in rows}
        weights = [(by_id[g.id]["population"] + 30) ** 0.8 * (1.3 if g.urban else 1.0) for g in self.grids]
        self.grid_cum = {
            "any": _cum(weights),
            "rural": _cum([w if not g.urban else 0.0 for g, w in zip(self.grids, weights, strict=True)]),
            "urban": _cum([w if g.urban else 0.0 for g, w in zip(self.grids, weights, strict=True)]),
        }

        level_of = {r["id"]: r["level"] for r in rows}
        self.staff: dict[int, list[int]] = defaultdict(list)  # level-3 grid → specialists and officers
        self.l2_heads: dict[int, list[int]] = defaultdict(list)
        self.l1_heads: dict[int, list[int]] = defaultdict(list)
        self.town_ops: dict[int, list[int]] = defaultdict(list)
        self.town_leaders: dict[int, list[int]] = defaultdict(list)
        self.banner_ops: list[int] = []
        self.banner_leaders: list[int] = []
        self.handlers: dict[int, list[int]] = defaultdict(list)
        self.guides: dict[tuple[int, int], list[int]] = defaultdict(list)
        self.residents: list[int] = []
        for user, role, grid, dept in RoleAssignment.objects.order_by("id").values_list(
            "user_id", "role", "grid_id", "department_id"
        ):
            level = level_of.get(grid) if grid else None
            if role in (Role.GRID_SPECIALIST, Role.INFO_OFFICER) and level == 3:
                self.staff[grid].append(user)
            elif role == Role.GRID_HEAD_L2 and level == 2:
                self.l2_heads[grid].append(user)
            elif role == Role.GRID_HEAD_L1 and level == 1:
                self.l1_heads[grid].append(user)
            elif role == Role.OPERATOR and level == 1:
                self.town_ops[grid].append(user)
            elif role == Role.OPERATOR and level == 0:
                self.banner_ops.append(user)
            elif role == Role.LEADER and level == 1:
                self.town_leaders[grid].append(user)
            elif role == Role.LEADER and level == 0:
                self.banner_leaders.append(user)
            elif role == Role.DEPT_HANDLER and dept:
                self.handlers[dept].append(user)
            elif role == Role.GRID_GUIDE and dept and level == 2:
                self.guides[(dept, grid)].append(user)
            elif role == Role.RESIDENT:
                self.residents.append(user)
        self.handlers = dict(self.handlers)  # a lookup must never add an empty unit
        if not self.banner_ops and not self.town_ops:
            raise ValueError("the county has no command-centre operators: seed the demo county first")
        self.usernames = dict(User.objects.values_list("id", "username"))

        self.departments = dict(Department.objects.values_list("id", "code"))
        self.staffed = sorted(d for d in self.departments if self.handlers.get(d))
        items = list(Item.objects.filter(active=True).order_by("code"))
        if not items:
            raise ValueError("the responsibility list is empty: load the catalog first")
        through = Item.assisting_departments.through
        assisting: dict[int, list[int]] = defaultdict(list)
        for item_id, dept_id in through.objects.order_by("department__code").values_list(
            "item_id", "department_id"
        ):
            assisting[item_id].append(dept_id)
        self.rules = RoutingRule.objects.exists()
        self._routes: dict[tuple[int, int], tuple[int, list[int]]] = {}
        self.items = [
            _ItemInfo(i, time_limits(i), i.lead_department_id, assisting[i.pk]) for i in items
        ]  # one query per item, once
        self.grid_objs: dict[int, Grid] = {}

    def route(self, item: _ItemInfo, grid: _GridInfo) -> tuple[int, list[int]]:
        """(lead, assisting) department ids: the item's own, or `catalog.selectors.route` when rules exist."""
        if not self.rules:
            return item.lead, item.assisting
        key = (item.id, grid.id)
        found = self._routes.get(key)
        if found is None:
            g = self.grid_objs.get(grid.id) or Grid.objects.get(pk=grid.id)
            self.grid_objs[grid.id] = g
            r = route(item.obj, g)
            found = self._routes[key] = (r.lead.pk, [d.pk for d in r.assisting])
        return found


def _cum(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


# -- the simulator ------------------------------------------------------------------------------------------------
class _Engine:
    def __init__(self, world: _World, config: DemoConfig, now: dt.datetime) -> None:
        self.w = world
        self.rng = random.Random(config.seed * 7919 + 17)
        self.np = np.random.default_rng(config.seed + 40)
        self.now = now
        today = now.astimezone(TZ).date()
        # Room for the longest stories before the window and for the deadlines after now.
        self.clock = _Clock(today - dt.timedelta(days=HISTORY_DAYS + 400), today + dt.timedelta(days=1200))
        self.p_now = self.clock.pos(now)
        self.p_cut = self.p_now
        self.warn_share = settings.CASE_WARN_SHARE
        self.esc_share = settings.CASE_ESCALATE_SHARE
        self._marks: dict[int, tuple[int, int, int]] = {}
        self._phones: dict[str, str] = {}
        self.callers: list[tuple[str, str]] = []
        self.merges: list[tuple[_Story, _Story, int, int]] = []  # (duplicate, target, position, operator)

    # -- small helpers
    def marks(self, minutes: int) -> tuple[int, int, int]:
        m = self._marks.get(minutes)
        if m is None:
            us = dt.timedelta(microseconds=1)
            m = self._marks[minutes] = (
                dt.timedelta(minutes=minutes * self.warn_share) // us,
                dt.timedelta(minutes=minutes) // us,
                dt.timedelta(minutes=minutes * self.esc_share) // us,
            )
        return m

    def limit(self, c: _Story, stage: str) -> int:
        return c.limits[(stage, c.urgency)] * MINUTE

    def quick(self, limit: int, late: float, most: float = 2.4) -> int:
        """A step that has a short limit: mostly well in time, sometimes late (up to `most` times it)."""
        r = self.rng.random()
        if r < late:
            return int(limit * self.rng.uniform(1.02, most))
        return int(limit * self.rng.uniform(0.06, 0.92))

    def verify_delay(self, c: _Story, late: float) -> int:
        """Verification, late at most 1.45 times its limit: the sweep escalates any open case past 1.5 times,
        but the transition table does not let a handled case be escalated (see the module's notes)."""
        return self.quick(self.limit(c, Stage.VERIFY), late, 1.45)

    def long(self, limit: int) -> int:
        """Handling: about 40 % of the limit, one in eighteen late."""
        return int(limit * min(4.0, max(0.02, self.rng.lognormvariate(-0.95, 0.6))))

    def pick(self, users: list[int]) -> int:
        return users[self.rng.randrange(len(users))]

    def phone_index(self, phone: str) -> str:
        found = self._phones.get(phone)
        if found is None:
            found = self._phones[phone] = blind_index(phone)
        return found

    # -- the primitives of `services.do_transition`
    def enter(self, c: _Story, p: int, at: dt.datetime | None = None) -> int:
        """The position of the next step (after the last one), or _Cut when it lies after now; runs the
        sweep over the time that passed."""
        if at is None:
            if p <= c.t:
                p = c.t + SECOND
            if p > self.p_cut:
                raise _Cut
        elif at > self.now:
            raise _Cut
        self.sweep(c, p)
        return p

    def sweep(self, c: _Story, p: int) -> None:
        """What the deadline sweep did before position `p`: a yellow card past the limit, one level up
        past the second threshold — each once per clock, never on a paused one."""
        d = c.clock
        if d is None or d.paused is not None or c.state not in OPEN_STATES:
            return
        if not d.noticed and d.due < p:
            d.noticed = True
            c.overdue = True
            c.supervised += 1
            if not c.card:
                c.card = Card.YELLOW
            data: dict[str, Any] = {"stage": d.stage, "reason": OVERDUE_REASON, "card": Card.YELLOW}
            ev = self.event(c, d.due, Action.SUPERVISE, None, Capacity.SYSTEM, c.state, data=data, sweep=True)
            c.sups.append(_Sup(Card.YELLOW, OVERDUE_REASON, d.stage, None, ev))
        if not d.escalated and d.esc < p:
            d.escalated = True
            if c.level > 0:
                c.level -= 1
                data = {
                    "stage": d.stage,
                    "reason": ESCALATE_REASON,
                    "from_level": c.level + 1,
                    "to_level": c.level,
                }
                self.event(c, d.esc, Action.ESCALATE, None, Capacity.SYSTEM, c.state, data=data, sweep=True)

    def event(self, c, p, action, actor, capacity, to, *, note="", data=None, at=None, sweep=False) -> _Ev:
        ev = _Ev(p, at, action, actor, capacity, c.state, to, c.level, note, data or {}, sweep)
        c.events.append(ev)
        return ev

    def start(self, c: _Story, stage: str, p: int, at: dt.datetime | None) -> None:
        minutes = c.limits[(stage, c.urgency)]
        c.clock = _Clk(stage, minutes, p, at if at is not None else p, self.marks(minutes))
        c.deadlines.append(c.clock)
        c.stage = stage

    def stop_clock(self, c: _Story, p: int, at: dt.datetime | None) -> None:
        d = c.clock
        if d is not None:
            d.done = at if at is not None else p
            d.met = p <= d.due if at is None else at <= self.clock.wall(d.due)
            c.clock = None

    def move(self, c, action, p, actor, capacity, *, to=None, restart=False, note="", data=None, at=None):
        """The end of every step: clocks (stop this stage's, start the next one's), state, event."""
        frm = c.state
        to_state = to or frm
        if State.SUSPENDED not in (frm, to_state) and (to_state != frm or restart):
            self.stop_clock(c, p, at)
            stage = STAGE_OF.get(to_state)
            if stage:
                self.start(c, stage, p, at)
            else:
                c.stage = ""
        self.event(c, p, action, actor, capacity, to_state, note=note, data=data, at=at)
        c.state = to_state
        c.t = p
        if c.stop is not None and to_state == c.stop and frm != to_state:
            raise _Stop

    def active(self, c: _Story, kind: str | None = None) -> list[_Assign]:
        return [a for a in c.assigns if a.active and (kind is None or a.kind == kind)]

    def end_assignments(self, c: _Story, p: int, reason: str) -> None:
        for a in c.assigns:
            if a.active:
                a.active, a.ended, a.end_reason = False, p, reason

    # -- the steps (one per action of the transition table)
    def report(self, c: _Story, at: dt.datetime) -> None:
        p = self.clock.pos(at)
        c.t = p
        c.state = ""
        self.start(c, Stage.REGISTER, p, at)
        data = {"channel": c.channel, "item": c.item.code, "grid": c.grid.code}
        self.event(c, p, Action.REPORT, c.actor, Capacity.REPORTER, State.REPORTED, data=data, at=at)
        c.state = State.REPORTED
        if c.stop == State.REPORTED:
            raise _Stop

    def accept(self, c: _Story, p: int) -> None:
        p = self.enter(c, p)
        c.level = min(c.level, c.op_level, 1)
        data = {"item": c.item.code, "level": c.level}
        self.move(c, Action.ACCEPT, p, c.op, Capacity.OPERATOR, to=State.REGISTERED, restart=True, data=data)

    def reject(self, c: _Story, p: int) -> None:
        p = self.enter(c, p)
        c.closed = p
        note = self.rng.choice(REJECT_REASONS)
        self.move(c, Action.REJECT, p, c.op, Capacity.OPERATOR, to=State.REJECTED, note=note)

    def merge(self, c: _Story, p: int, target: _Story) -> None:
        p = self.enter(c, p)
        c.merged_into = target
        c.closed = p
        data = lambda: {"into": target.number}  # noqa: E731 - numbers are given once every case is known
        self.move(c, Action.MERGE, p, c.op, Capacity.OPERATOR, to=State.MERGED, data=data)
        self.merges.append((c, target, p, c.op))

    def dispatch(self, c: _Story, p: int, lead: int, assisting: list[int], reason: str = "") -> None:
        p = self.enter(c, p)
        action = Action.REASSIGN if c.state != State.REGISTERED else Action.DISPATCH
        self.end_assignments(c, p, "reassigned")
        c.assigns.append(_Assign(lead, AssignmentKind.LEAD, p))
        c.assigns += [_Assign(d, AssignmentKind.ASSIST, p) for d in assisting]
        c.lead = lead
        codes = self.w.departments
        data: dict[str, Any] = {"unit": codes[lead], "assisting": [codes[d] for d in assisting]}
        if reason:
            data["reason"] = reason
        self.move(
            c, action, p, c.op, Capacity.OPERATOR, to=State.DISPATCHED, restart=True, note=reason, data=data
        )

    def handler(self, c: _Story, dept: int) -> int:
        guides = self.w.guides.get((dept, c.grid.l2))
        if guides and self.rng.random() < 0.25:
            return self.pick(guides)
        return self.pick(self.w.handlers[dept])

    def sign(self, c: _Story, p: int, user: int) -> None:
        p = self.enter(c, p)
        lead = self.active(c, AssignmentKind.LEAD)[0]
        lead.signed = p
        data = {"unit": self.w.departments[lead.dept]}
        self.move(c, Action.SIGN, p, user, Capacity.LEAD_UNIT, to=State.HANDLING, data=data)

    def return_(self, c: _Story, p: int, user: int) -> None:
        p = self.enter(c, p)
        lead = self.active(c, AssignmentKind.LEAD)[0]
        self.end_assignments(c, p, "returned")
        c.lead = None
        c.returns += 1
        note = self.rng.choice(RETURN_REASONS)
        data = {"unit": self.w.departments[lead.dept]}
        self.move(c, Action.RETURN, p, user, Capacity.LEAD_UNIT, to=State.REGISTERED, note=note, data=data)

    def assist_sign(self, c: _Story, p: int, a: _Assign) -> None:
        p = self.enter(c, p)
        a.signed = p
        data = {"unit": self.w.departments[a.dept]}
        self.move(c, Action.ASSIST_SIGN, p, self.handler(c, a.dept), Capacity.ASSIST_UNIT, data=data)

    def assist_feedback(self, c: _Story, p: int, a: _Assign) -> None:
        p = self.enter(c, p)
        a.fed_back = p
        a.signed = a.signed or p
        data = {"unit": self.w.departments[a.dept]}
        note = self.rng.choice(ASSIST_NOTES)
        self.move(
            c, Action.ASSIST_FEEDBACK, p, self.handler(c, a.dept), Capacity.ASSIST_UNIT, note=note, data=data
        )

    def feedback(self, c: _Story, p: int, user: int) -> None:
        p = self.enter(c, p)
        lead = self.active(c, AssignmentKind.LEAD)[0]
        lead.fed_back = p
        data = {"unit": self.w.departments[lead.dept]}
        note = self.rng.choice(FEEDBACK_NOTES)
        self.move(c, Action.FEEDBACK, p, user, Capacity.LEAD_UNIT, to=State.HANDLED, note=note, data=data)

    def verifier(self, c: _Story) -> tuple[int, str]:
        r = self.rng.random()
        if r < 0.1 and c.reporter is not None and c.reporter_kind == ReporterKind.RESIDENT:
            return c.reporter, Capacity.REPORTER
        if r < 0.75 and c.staff:
            return self.pick(c.staff), Capacity.GRID_STAFF
        return c.op, Capacity.OPERATOR

    def verify_pass(self, c: _Story, p: int, actor: int, capacity: str) -> None:
        p = self.enter(c, p)
        self.end_assignments(c, p, "closed")
        c.closed, c.resolved_level = p, c.level
        data = {"resolved_level": c.level}
        self.move(c, Action.VERIFY_PASS, p, actor, capacity, to=State.CLOSED, data=data)

    def verify_fail(self, c: _Story, p: int, actor: int, capacity: str) -> None:
        p = self.enter(c, p)
        note = self.rng.choice(VERIFY_FAIL_REASONS)
        c.reworks += 1
        leads = self.active(c, AssignmentKind.LEAD)
        if not leads:
            self.move(c, Action.VERIFY_FAIL, p, actor, capacity, to=State.REGISTERED, note=note)
            return
        leads[0].fed_back = None
        data = {"unit": self.w.departments[leads[0].dept]}
        self.move(
            c, Action.VERIFY_FAIL, p, actor, capacity, to=State.HANDLING, restart=True, note=note, data=data
        )

    def self_handle(self, c: _Story, p: int, actor: int, capacity: str, notes: tuple[str, ...]) -> None:
        p = self.enter(c, p)
        c.closed, c.resolved_level = p, c.level
        data = {"resolved_level": c.level}
        note = self.rng.choice(notes)
        self.move(c, Action.SELF_HANDLE, p, actor, capacity, to=State.CLOSED, note=note, data=data)

    def escalate(self, c: _Story, p: int, actor: int, capacity: str) -> None:
        p = self.enter(c, p)
        data = {"from_level": c.level, "to_level": c.level - 1}
        c.level -= 1
        self.move(c, Action.ESCALATE, p, actor, capacity, note=self.rng.choice(ESCALATE_REASONS), data=data)

    def request_extension(self, c: _Story, p: int, user: int) -> _Ext:
        p = self.enter(c, p)
        minutes = self.rng.choice((210, 420, 840, 1260, 2100))
        ext = _Ext(c.clock, minutes, self.rng.choice(EXTENSION_REASONS), user, p)  # type: ignore[arg-type]
        c.exts.append(ext)
        data = lambda: {"extension": ext.id, "minutes": minutes}  # noqa: E731
        self.move(c, Action.REQUEST_EXTENSION, p, user, Capacity.LEAD_UNIT, note=ext.reason, data=data)
        return ext

    def decide_extension(self, c: _Story, p: int, ext: _Ext, approve: bool) -> None:
        p = self.enter(c, p)
        ext.state = ExtensionState.APPROVED if approve else ExtensionState.DENIED
        ext.decided_by, ext.decided = c.op, p
        ext.note = self.rng.choice(APPROVE_NOTES if approve else DENY_REASONS)
        if approve and ext.clk.done is None:
            by = ext.minutes * MINUTE
            d = ext.clk
            d.minutes += ext.minutes
            d.warn, d.due, d.esc = d.warn + by, d.due + by, d.esc + by
        action = Action.APPROVE_EXTENSION if approve else Action.DENY_EXTENSION
        data = lambda: {"extension": ext.id, "minutes": ext.minutes, "approved": approve}  # noqa: E731
        self.move(c, action, p, c.op, Capacity.OPERATOR, note=ext.note, data=data)

    def suspend(self, c: _Story, p: int) -> None:
        p = self.enter(c, p)
        if c.clock is not None:
            c.clock.paused = p
        c.suspended_from = c.state
        note = self.rng.choice(SUSPEND_REASONS)
        self.move(c, Action.SUSPEND, p, c.op, Capacity.OPERATOR, to=State.SUSPENDED, note=note)

    def resume(self, c: _Story, p: int) -> None:
        p = self.enter(c, p)
        d = c.clock
        if d is not None and d.paused is not None:
            by = p - d.paused  # the working time the clock stood still
            d.warn, d.due, d.esc, d.paused = d.warn + by, d.due + by, d.esc + by, None
        back = c.suspended_from or State.REGISTERED
        data = {"back_to": c.suspended_from}
        c.suspended_from = ""
        self.move(c, Action.RESUME, p, c.op, Capacity.OPERATOR, to=back, data=data)

    def supervise(self, c: _Story, p: int) -> None:
        p = self.enter(c, p)
        r = self.rng.random()
        leaders = self.w.banner_leaders + self.w.town_leaders.get(c.grid.l1, [])
        heads = self.w.l1_heads.get(c.grid.l1, [])
        if r < 0.5 and leaders:
            actor, capacity = self.pick(leaders), Capacity.LEADER
            card = Card.RED if self.rng.random() < 0.4 else Card.YELLOW
        elif r < 0.75 and heads:
            actor, capacity, card = self.pick(heads), Capacity.GRID_HEAD_L1, Card.YELLOW
        else:
            actor, capacity, card = c.op, Capacity.OPERATOR, Card.YELLOW
        note = self.rng.choice(SUPERVISE_REASONS)
        ev_data: dict[str, Any] = {"card": card}
        self.move(c, Action.SUPERVISE, p, actor, capacity, note=note, data=lambda: ev_data)
        sup = _Sup(card, note, c.stage, actor, c.events[-1])
        ev_data["supervision"] = sup  # resolved to its id when the rows are written
        c.sups.append(sup)
        c.supervised += 1
        if CARD_RANK[card] > CARD_RANK.get(c.card, 0):
            c.card = card

    def evaluate(self, c: _Story, at: dt.datetime) -> None:
        p = self.enter(c, self.clock.pos(at), at)
        r = self.rng.random()
        rating = Rating.SATISFIED if r < 0.82 else Rating.BASIC if r < 0.96 else Rating.UNSATISFIED
        c.rating, c.rated = rating, at
        note = self.rng.choice(RATING_NOTES[rating])
        self.move(
            c, Action.EVALUATE, p, c.reporter, Capacity.REPORTER, note=note, data={"rating": rating}, at=at
        )

    def dispute(self, c: _Story, at: dt.datetime) -> None:
        p = self.enter(c, self.clock.pos(at), at)
        # As the service does: the unsatisfied verdict is the event's; the case may be rated again later.
        c.rating, c.rated = "", None
        c.disputed += 1
        c.closed, c.resolved_level = None, None
        note = self.rng.choice(DISPUTE_REASONS)
        self.move(
            c,
            Action.DISPUTE,
            p,
            c.reporter,
            Capacity.REPORTER,
            to=State.HANDLED,
            note=note,
            data={"rating": Rating.UNSATISFIED},
            at=at,
        )

    # -- the stories
    def live(self, c: _Story) -> None:
        """Play the case's story up to now (or up to its `stop` state)."""
        try:
            self.report(c, c.created)
            if c.path == "self":
                self.on_the_spot(c)
            elif c.path == "village":
                self.in_the_village(c)
            else:
                self.standard(c)
        except (_Cut, _Stop):
            pass
        if c.state in OPEN_STATES and c.stop is None:
            self.sweep(c, self.p_now)

    def on_the_spot(self, c: _Story) -> None:
        """小事不出网格: the grid worker who reported it settles it at once, within the register clock
        (past 1.5 times the limit the sweep would have moved it to the village, out of the worker's hands)."""
        worker = c.reporter or 0
        limit = self.limit(c, Stage.REGISTER)
        share = self.rng.uniform(1.02, 1.45) if self.rng.random() < 0.08 else self.rng.uniform(0.1, 0.95)
        self.self_handle(c, c.t + int(limit * share), worker, Capacity.GRID_STAFF, SELF_NOTES)

    def in_the_village(self, c: _Story) -> None:
        """大事不出村: the worker escalates it to the village, whose head settles it."""
        worker = c.reporter or 0
        limit, start = self.limit(c, Stage.REGISTER), c.t
        self.escalate(c, start + int(limit * self.rng.uniform(0.05, 0.3)), worker, Capacity.GRID_STAFF)
        share = self.rng.uniform(1.02, 1.45) if self.rng.random() < 0.1 else self.rng.uniform(0.35, 0.95)
        head = self.pick(self.w.l2_heads[c.grid.l2])
        self.self_handle(c, start + int(limit * share), head, Capacity.GRID_HEAD_L2, VILLAGE_NOTES)

    def standard(self, c: _Story) -> None:
        rng = self.rng
        p = c.t + self.quick(self.limit(c, Stage.REGISTER), 0.04)
        if c.path == "reject":
            self.reject(c, p)
            return
        if (
            c.path == "merge"
            and c.target is not None
            and p <= self.p_cut
            and _state_at(c.target, p) in OPEN_STATES
        ):
            self.merge(c, p, c.target)
            return
        self.accept(c, p)
        lead, assisting = self.w.route(c.item, c.grid)
        if lead not in self.w.handlers:
            lead = rng.choice(self.w.staffed)
        assisting = [d for d in assisting if d != lead and d in self.w.handlers]
        assisting = [rng.choice(assisting)] if assisting and rng.random() < 0.3 else []
        self.dispatch(c, c.t + self.quick(self.limit(c, Stage.DISPATCH), 0.03), lead, assisting)
        r = rng.random() if c.stop is None else 1.0
        if r < 0.08:
            other = [d for d in (*c.item.assisting, *self.w.staffed) if d != lead and d in self.w.handlers]
            new_lead = rng.choice(other[:6]) if other else lead
            if r < 0.05:  # the unit sends it back; the centre dispatches again
                self.return_(c, c.t + self.quick(self.limit(c, Stage.SIGN), 0.1), self.handler(c, lead))
                self.dispatch(c, c.t + self.quick(self.limit(c, Stage.DISPATCH), 0.1), new_lead, [])
            else:  # the centre sees the mistake first
                delay = self.quick(self.limit(c, Stage.SIGN), 0.05) // 2
                self.dispatch(c, c.t + delay, new_lead, [], rng.choice(REASSIGN_REASONS))
            lead = new_lead
        self.sign(c, c.t + self.quick(self.limit(c, Stage.SIGN), 0.05), self.handler(c, lead))
        self.handle(c, lead)
        self.verification(c, lead)
        self.after_close(c, lead)

    def handle(self, c: _Story, lead: int) -> None:
        rng = self.rng
        start = c.t
        span = self.long(self.limit(c, Stage.HANDLE))
        steps: list[tuple[float, str, Any]] = []
        for a in self.active(c, AssignmentKind.ASSIST):
            steps.append((rng.uniform(0.02, 0.25), "assist_sign", a))
            steps.append((rng.uniform(0.4, 0.9), "assist_feedback", a))
        if rng.random() < 0.04:
            steps.append((rng.uniform(0.2, 0.95), "supervise", None))
        if rng.random() < 0.05:
            steps.append((rng.uniform(0.45, 0.85), "extension", None))
        if rng.random() < 0.025 or c.stop == State.SUSPENDED:
            steps.append((rng.uniform(0.1, 0.7), "suspend", None))
        steps.sort(key=lambda s: s[0])
        shift = 0
        for frac, kind, a in steps:
            p = start + int(span * frac) + shift
            if kind == "assist_sign":
                self.assist_sign(c, p, a)
            elif kind == "assist_feedback":
                self.assist_feedback(c, p, a)
            elif kind == "supervise":
                self.supervise(c, p)
            elif kind == "extension":
                ext = self.request_extension(c, p, self.handler(c, lead))
                room = max(start + span + shift - c.t, 2 * MINUTE)
                wait = min(int(rng.uniform(10, 120) * MINUTE), room // 2)
                self.decide_extension(c, c.t + wait, ext, rng.random() < 0.8)
            else:
                self.suspend(c, p)
                pause = int(rng.uniform(0.5, 12.0) * self.clock.day_us)
                self.resume(c, c.t + pause)
                shift += pause
        self.feedback(c, start + span + shift, self.handler(c, lead))

    def verification(self, c: _Story, lead: int) -> None:
        actor, capacity = self.verifier(c)
        p = c.t + self.verify_delay(c, 0.04)
        if self.rng.random() < 0.06 and c.stop is None:
            self.verify_fail(c, p, actor, capacity)
            self.feedback(c, c.t + self.long(self.limit(c, Stage.HANDLE)) // 2, self.handler(c, lead))
            actor, capacity = self.verifier(c)
            p = c.t + self.verify_delay(c, 0.04)
        self.verify_pass(c, p, actor, capacity)

    def after_close(self, c: _Story, lead: int) -> None:
        if c.reporter_kind != ReporterKind.RESIDENT or self.rng.random() > 0.75:
            return
        closed_at = self.clock.wall(c.t)
        at = closed_at + dt.timedelta(minutes=min(4320.0, self.rng.expovariate(1 / 300) + 5))
        if self.rng.random() < 0.035:
            self.dispute(c, at)
            if self.rng.random() < 0.7:
                self.verify_pass(c, c.t + self.verify_delay(c, 0.1), c.op, Capacity.OPERATOR)
                return
            p = c.t + self.verify_delay(c, 0.1)
            self.verify_fail(c, p, c.op, Capacity.OPERATOR)
            self.dispatch(c, c.t + self.quick(self.limit(c, Stage.DISPATCH), 0.05), lead, [])
            self.sign(c, c.t + self.quick(self.limit(c, Stage.SIGN), 0.05), self.handler(c, lead))
            self.feedback(c, c.t + self.long(self.limit(c, Stage.HANDLE)) // 2, self.handler(c, lead))
            actor, capacity = self.verifier(c)
            self.verify_pass(c, c.t + self.verify_delay(c, 0.04), actor, capacity)
            return
        self.evaluate(c, at)

    # -- merging: the surviving case's side
    def apply_merges(self) -> None:
        for dup, target, p, op in self.merges:
            i = len(target.events)
            while i > 0 and target.events[i - 1].pos > p:
                i -= 1
            before = target.events[i - 1]
            fresh = 0
            if dup.reporter is not None and dup.reporter_kind != ReporterKind.MACHINE:
                known = {u for u, *_ in target.supporters if u is not None} | {target.reporter}
                if dup.reporter not in known:
                    target.supporters.append((dup.reporter, "", dup.channel, dup, p))
                    fresh = 1
            elif dup.reporter is None and dup.phone:
                known_phones = {ph for _, ph, *_ in target.supporters if ph} | {target.phone}
                if dup.phone not in known_phones:
                    target.supporters.append((None, dup.phone, dup.channel, dup, p))
                    fresh = 1
            target.supporters_count += fresh
            data = lambda d=dup, n=fresh: {"merged": d.number, "followers": n}  # noqa: E731
            ev = _Ev(
                p, None, Action.MERGE, op, Capacity.OPERATOR, before.to, before.to, before.level, "", data
            )
            target.events.insert(i, ev)


def _state_at(c: _Story, p: int) -> str:
    state = ""
    for ev in c.events:
        if ev.pos > p:
            break
        state = ev.to
    return state


# -- planning: who reports what, when and where --------------------------------------------------------------------
class _Planner:
    def __init__(self, engine: _Engine, world: _World) -> None:
        self.e = engine
        self.w = world
        self.rng = random.Random(engine.rng.random())
        local_now = engine.now.astimezone(TZ)
        first = local_now.date() - dt.timedelta(days=HISTORY_DAYS)
        self.days = [first + dt.timedelta(days=i) for i in range(HISTORY_DAYS + 1)]
        cal = get_calendar()
        working = [cal.is_working_day(d) for d in self.days]
        self.day_cum = {}
        for group, (on, off) in DAY_WEIGHTS.items():
            weights = []
            for d, work in zip(self.days, working, strict=True):
                w = (on if work else off) * (
                    1 + 0.12 * np.cos(2 * np.pi * (d.timetuple().tm_yday - 200) / 365)
                )
                weights.append(float(w))
            self.day_cum[group] = _cum(weights)
        self.hour_cum = {g: _cum(w) for g, w in HOUR_WEIGHTS.items()}
        self.item_cum: dict[tuple[str, int], list[float]] = {}
        # Frequent reporters: a few residents report much more than the others.
        self.resident_cum = _cum([1 / (i + 1) ** 0.6 for i in range(len(world.residents))])

    @staticmethod
    def group(channel: str) -> str:
        return "office" if channel in OFFICE else "machine" if channel in MACHINES else "public"

    def when(self, channel: str) -> dt.datetime:
        rng = self.rng
        group = self.group(channel)
        for _ in range(100):
            day = self.days[bisect.bisect(self.day_cum[group], rng.random() * self.day_cum[group][-1])]
            hour = bisect.bisect(self.hour_cum[group], rng.random() * self.hour_cum[group][-1])
            local = dt.datetime.combine(day, dt.time(hour), tzinfo=TZ) + dt.timedelta(
                seconds=rng.randrange(3600)
            )
            at = local.astimezone(UTC)
            if at < self.e.now:
                return at
        return self.e.now - dt.timedelta(hours=1)

    def item(self, channel: str, month: int) -> _ItemInfo:
        key = (channel, month)
        cum = self.item_cum.get(key)
        if cum is None:
            only = CHANNEL_ITEMS.get(channel)
            modules = CHANNEL_MODULES.get(channel, {})
            weights = []
            for it in self.w.items:
                if only is not None:
                    w = 1.0 if it.code in only else 0.0
                else:
                    w = MODULE_WEIGHTS.get(it.code[:2], 1.0) * modules.get(it.code[:2], 1.0)
                    w *= ITEM_BOOST.get(it.code, 1.0)
                    if it.obj.kind == "component":
                        w *= COMPONENT_BOOST.get(channel, 1.0)
                weights.append(w * season(it.code, month))
            if not any(weights):
                weights = [1.0] * len(self.w.items)
            cum = self.item_cum[key] = _cum(weights)
        return self.w.items[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def grid(self, item: _ItemInfo, channel: str) -> _GridInfo:
        kind = "rural" if item.rural else "urban" if (item.urban or channel in URBAN_CHANNELS) else "any"
        cum = self.w.grid_cum[kind]
        if cum[-1] <= 0:
            cum = self.w.grid_cum["any"]
        return self.w.grids[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def point(self, grid: _GridInfo) -> tuple[float, float]:
        if not grid.points:
            x0, y0, x1, y1 = grid.geometry.bounds
            while len(grid.points) < 24:
                xs = np.round(self.e.np.uniform(x0, x1, 64), 6)
                ys = np.round(self.e.np.uniform(y0, y1, 64), 6)
                inside = shapely.contains_xy(grid.geometry, xs, ys)
                grid.points += [(float(x), float(y)) for x, y in zip(xs[inside], ys[inside], strict=True)]
                if len(grid.points) < 24 and not inside.any():
                    c = grid.geometry.representative_point()
                    grid.points.append((round(c.x, 7), round(c.y, 7)))
            grid.points.reverse()
        return grid.points.pop()

    def caller(self) -> tuple[str, str]:
        rng = self.rng
        if self.e.callers and rng.random() < 0.15:
            return rng.choice(self.e.callers)
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        found = (person_name(rng, 0.1), phone)
        self.e.callers.append(found)
        return found

    def plan(self, c: _Story, target: _Story | None = None) -> None:
        """What the case is about, where, and who reports it."""
        rng, w = self.rng, self.w
        if target is not None:
            c.item, c.grid = target.item, target.grid
            x, y = target.lon + rng.uniform(-2e-4, 2e-4), target.lat + rng.uniform(-2e-4, 2e-4)  # type: ignore[operator]
            x, y = round(x, 6), round(y, 6)
            if not shapely.contains_xy(c.grid.geometry, x, y):
                x, y = target.lon, target.lat  # type: ignore[assignment]
            c.lon, c.lat = x, y
        else:
            c.item = self.item(c.channel, c.created.astimezone(TZ).month)
            c.grid = self.grid(c.item, c.channel)
            c.lon, c.lat = self.point(c.grid)
        c.urgency = c.item.urgency
        if c.channel == Channel.HOTLINE and c.urgency == Urgency.NORMAL and rng.random() < 0.03:
            c.urgency = Urgency.URGENT
        c.limits = c.item.limits
        c.description = texts.describe(c.item.obj, rng)
        c.address = "" if c.channel in MACHINES else c.grid.address
        c.routed = w.route(c.item, c.grid)[0]
        c.staff = w.staff.get(c.grid.id, [])
        town_ops = w.town_ops.get(c.grid.l1, [])
        banner = c.channel in BANNER_CHANNELS and rng.random() < 0.8
        if (banner or not town_ops or rng.random() < 0.1) and w.banner_ops:
            c.op, c.op_level = self.e.pick(w.banner_ops), 0
        else:
            c.op, c.op_level = self.e.pick(town_ops), 1
        channel = c.channel
        if channel == Channel.WORKER_APP and c.staff:
            c.reporter_kind = ReporterKind.STAFF
            c.reporter = c.actor = self.e.pick(c.staff)
        elif channel == Channel.RESIDENT_APP and w.residents:
            c.reporter_kind = ReporterKind.RESIDENT
            i = bisect.bisect(self.resident_cum, rng.random() * self.resident_cum[-1])
            c.reporter = c.actor = w.residents[i]
        elif channel in MACHINES:
            c.reporter_kind = ReporterKind.MACHINE
        else:
            # Callers, visitors, Open311 clients, imported records: known by phone only. Staff who take a
            # call or a visit report for the caller (the report's actor), Open311 clients anonymously.
            c.reporter_kind = ReporterKind.ANONYMOUS
            c.name, c.phone = self.caller()
            c.confidential = rng.random() < 0.03
            if channel in (Channel.HOTLINE, Channel.IMPORT) and w.banner_ops:
                c.actor = self.e.pick(w.banner_ops)
            elif channel == Channel.WALK_IN:
                c.actor = c.op
        # The path the story takes.
        r = rng.random()
        if target is not None:
            c.path, c.target = "merge", target
        elif r < REJECTED.get(channel, 0.0):
            c.path = "reject"
        elif channel == Channel.WORKER_APP and c.reporter_kind == ReporterKind.STAFF:
            r = rng.random()
            if r < SELF_HANDLED:
                c.path = "self"
            elif (
                r < SELF_HANDLED + VILLAGE
                and w.l2_heads.get(c.grid.l2)
                and c.limits[(Stage.REGISTER, c.urgency)] >= 10
            ):
                c.path = "village"


# -- writing ------------------------------------------------------------------------------------------------------
class _Ref:
    """What `audit.record_many` needs of a case or a user: its model, its key, a username."""

    __slots__ = ("pk", "username")
    _meta = Case._meta

    def __init__(self, pk: int, username: str = "") -> None:
        self.pk, self.username = pk, username


def _insert(model: Any, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Plain multi-row INSERTs (the rows are ready database values): bulk_create's per-field work is the
    slowest part of writing a quarter of a million rows."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(n).column) for n in names)
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608
    with connection.cursor() as cursor:
        for i in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[i : i + BATCH])


def _next_id(model: Any) -> int:
    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


@dataclass
class HistoryReport:
    cases: int = 0
    events: int = 0
    by_state: Counter = field(default_factory=Counter)
    by_channel: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def seed_history(
    config: DemoConfig | None = None,
    *,
    now: dt.datetime | None = None,
    count: int | None = None,
) -> HistoryReport:
    """Write `count` (default `config.cases`) cases of the last six months into the seeded demo county.

    Runs inside the caller's transaction (the audit log requires one); deterministic for the config's seed
    and `now`. Case numbers continue the day counters already in the database."""
    config = config or DemoConfig()
    now = (now or timezone.now()).astimezone(UTC)
    total = config.cases if count is None else count
    report = HistoryReport()
    started = time.perf_counter()
    lap = started

    def tick(name: str) -> None:
        nonlocal lap
        t = time.perf_counter()
        report.timings[name] = t - lap
        lap = t

    if total <= 0:
        return report
    # A quarter of a million rows in one transaction: no garbage collection passes over the objects that
    # stay alive anyway, and a page cache that holds the tables' indexes (SQLite's default is 2 MB).
    collecting = gc.isenabled()
    gc.disable()
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            (cache_size,) = cursor.fetchone()
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
    try:
        _generate(config, now, total, report, tick)
    finally:
        if collecting:
            gc.enable()
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
    report.seconds = time.perf_counter() - started
    return report


def _generate(config: DemoConfig, now: dt.datetime, total: int, report: HistoryReport, tick: Any) -> None:
    world = _World(config)
    engine = _Engine(world, config, now)
    planner = _Planner(engine, world)
    tick("load")

    # Cases placed on purpose: every open state, in time, due soon and overdue, whatever the hour.
    forced = max(16, round(total * 0.005)) if total >= 64 else total // 4
    natural = total - forced
    channels = list(CHANNEL_MIX)
    channel_cum = _cum(list(CHANNEL_MIX.values()))
    rng = planner.rng
    stories = []
    for i in range(natural):
        channel = channels[bisect.bisect(channel_cum, rng.random() * channel_cum[-1])]
        stories.append(_Story(i, channel, planner.when(channel)))
    stories.sort(key=lambda s: s.created)
    created = [s.created for s in stories]
    for i, c in enumerate(stories):
        c.idx = i
        target = None
        if rng.random() < DUPLICATED.get(c.channel, 0.0):
            lo = bisect.bisect_left(created, c.created - dt.timedelta(hours=36))
            hi = bisect.bisect_left(created, c.created - dt.timedelta(minutes=15))
            options = [s for s in stories[lo:hi] if s.path != "merge" and s.channel not in MACHINES]
            target = rng.choice(options) if options else None
        planner.plan(c, target)
    tick("plan")

    for c in stories:
        engine.live(c)
    stories += _forced(engine, planner, forced, natural)
    engine.apply_merges()
    tick("simulate")

    rows = _Rows(engine, world, stories)
    rows.number()
    rows.times()
    tick("times")
    rows.write()
    tick("write")
    rows.audit()
    tick("audit")

    report.cases = len(stories)
    report.events = rows.event_count
    report.by_state = Counter(c.state for c in stories)
    report.by_channel = Counter(c.channel for c in stories)


def _forced(engine: _Engine, planner: _Planner, count: int, first_idx: int) -> list[_Story]:
    """Open cases placed so that now falls where they are to be found: the current stage's clock has run
    `share` of its limit — green under 80 %, yellow up to the limit, red past it; suspended ones for a few
    working days."""
    states = (State.REPORTED, State.REGISTERED, State.DISPATCHED, State.HANDLING, State.HANDLED)
    combos = [(s, col) for s in states for col in ("green", "yellow", "red")] + [(State.SUSPENDED, "")]
    state_w = {State.REPORTED: 1, State.REGISTERED: 1, State.DISPATCHED: 1.5, State.HANDLING: 4}
    state_w.update({State.HANDLED: 1.5, State.SUSPENDED: 1.5})
    colour_w = {"green": 0.5, "yellow": 0.25, "red": 0.25, "": 1.0}
    cum = _cum([state_w[s] * colour_w[c] for s, c in combos])
    rng = planner.rng
    extra = max(0, count - len(combos))
    wanted = combos[:count] + [combos[bisect.bisect(cum, rng.random() * cum[-1])] for _ in range(extra)]
    channels = [ch for ch in CHANNEL_MIX if ch not in MACHINES]
    channel_cum = _cum([CHANNEL_MIX[ch] for ch in channels])
    day = engine.clock.day_us
    result = []
    for n, (state, colour) in enumerate(wanted):
        channel = channels[bisect.bisect(channel_cum, rng.random() * channel_cum[-1])]
        # Red up to 2.5 times the limit (escalated by the sweep past 1.5), but a handled case only to 1.45.
        red = (1.05, 1.45) if state == State.HANDLED else (1.05, 2.5)
        share = rng.uniform(*{"green": (0.1, 0.75), "yellow": (0.82, 0.98), "red": red}.get(colour, (0.5, 8)))
        seed = rng.random()
        planned = _Story(first_idx + n, channel, engine.now)
        planner.plan(planned)
        planned.path = "standard"
        # Play the story once to learn when its stage starts, then again, moved so that it starts in time.
        trial = engine.p_now - 60 * day
        c = _replay(engine, planned, seed, trial, state)
        if c.state != state:
            continue
        if state == State.SUSPENDED:
            since, elapsed = c.events[-1].pos, int(share * day)
        else:
            since, elapsed = c.clock.p0, int(share * c.clock.minutes * MINUTE)  # type: ignore[union-attr]
        c = _replay(engine, planned, seed, trial + (engine.p_now - elapsed) - since, state)
        c.stop = None
        if (
            state == State.HANDLING
            and c.lead
            and (colour == "red" or (colour == "yellow" and rng.random() < 0.4))
        ):
            # A late unit asks for more time; the centre has not decided yet.
            asked = engine.p_now - int(rng.uniform(5, 90) * MINUTE)
            if asked > c.t:
                engine.request_extension(c, asked, engine.handler(c, c.lead))
        engine.sweep(c, engine.p_now)
        result.append(c)
    return result


def _replay(engine: _Engine, planned: _Story, seed: float, report_pos: int, stop: str) -> _Story:
    c = planned.replan(engine.clock.wall(report_pos))
    c.stop = stop
    saved = engine.rng, engine.p_cut
    engine.rng, engine.p_cut = random.Random(seed), 1 << 62
    try:
        engine.live(c)
    finally:
        engine.rng, engine.p_cut = saved
    return c


# The columns written, in the order of the rows built below.
CASE_COLUMNS = (
    "id", "number", "channel", "state", "suspended_from", "version", "item", "urgency", "description", "address",
    "lon", "lat", "grid", "grid_l1_id", "grid_l2_id", "grid_l3_id", "level", "resolved_level", "lead_department",
    "routed_department", "reporter_kind", "reporter", "reporter_name_enc", "reporter_phone_enc",
    "reporter_phone_index", "confidential", "idempotency_key", "merged_into", "supporters_count", "created_at",
    "updated_at", "closed_at", "stage", "warn_at", "due_at", "overdue", "supervised", "card", "returns", "reworks",
    "rating", "rated_at", "disputed",
)  # fmt: skip
DEADLINE_COLUMNS = (
    "id", "case", "stage", "minutes", "started_at", "warn_at", "due_at", "escalate_at", "paused_at", "done_at",
    "met", "noticed", "escalated",
)  # fmt: skip
ASSIGNMENT_COLUMNS = (
    "case", "department", "kind", "active", "dispatched_at", "signed_at", "fed_back_at", "ended_at", "end_reason",
)  # fmt: skip
EXTENSION_COLUMNS = (
    "id", "case", "deadline", "minutes", "reason", "state", "requested_by", "requested_at", "decided_by",
    "decided_at", "decision_note",
)  # fmt: skip
SUPERVISION_COLUMNS = ("id", "case", "card", "reason", "stage", "by", "created_at")
SUPPORTER_COLUMNS = ("case", "user", "phone_enc", "phone_index", "channel", "from_case", "created_at")
EVENT_COLUMNS = (
    "case", "seq", "action", "actor", "capacity", "from_state", "to_state", "level", "note", "data", "created_at",
)  # fmt: skip


class _Rows:
    """Ids, numbers, instants and database rows of the stories, and their audit records."""

    def __init__(self, engine: _Engine, world: _World, stories: list[_Story]) -> None:
        self.e = engine
        self.w = world
        self.stories = sorted(stories, key=lambda s: (s.created, s.idx))
        self.event_count = 0
        self.ordered: list[tuple[dt.datetime, int, int, _Ev, _Story]] = []
        ops = connection.ops
        self.json = lambda v: ops.adapt_json_value(v, None)
        self.instant: Callable[[dt.datetime], Any]
        self.position: Callable[[int], Any]
        if connection.vendor == "sqlite" and str(getattr(connection, "timezone", "UTC")) == "UTC":
            # What the SQLite backend stores (naive UTC text); every instant here is in UTC already.
            self.instant = lambda t: str(t.replace(tzinfo=None))
            self.position = engine.clock.text
        else:
            self.instant = ops.adapt_datetimefield_value
            self.position = lambda p: ops.adapt_datetimefield_value(engine.clock.wall(p))
        self._cache: dict[int, Any] = {}

    def wall(self, t: Any) -> dt.datetime | None:
        return t if t is None or isinstance(t, dt.datetime) else self.e.clock.wall(t)

    def db(self, t: Any) -> Any:
        """The database value of an instant given as a position, a datetime or None."""
        if t is None:
            return None
        if isinstance(t, dt.datetime):
            return self.instant(t)
        found = self._cache.get(t)
        if found is None:
            found = self._cache[t] = self.position(t)
        return found

    def number(self) -> None:
        """Ids and numbers in the order of reporting, each day's numbers after those it already had."""
        base = _next_id(Case)
        days = {c.created.astimezone(TZ).date() for c in self.stories}
        existing = dict(CaseCounter.objects.filter(day__in=days).values_list("day", "last"))
        seq = dict(existing)
        for i, c in enumerate(self.stories):
            c.id = base + i
            day = c.created.astimezone(TZ).date()
            seq[day] = seq.get(day, 0) + 1
            c.number = f"{day:%Y%m%d}-{seq[day]:04d}"
        self.counters = seq
        self.existing_days = set(existing)

    def times(self) -> None:
        """Every event's instant: staff steps at their position, the sweep's a few seconds after the mark
        it saw passed (and before the next step)."""
        now = self.e.now
        for c in self.stories:
            nxt = now
            for k in range(len(c.events) - 1, -1, -1):
                ev = c.events[k]
                if ev.at is None:
                    at = self.e.clock.wall(ev.pos)
                    if ev.sweep:
                        lag = dt.timedelta(seconds=5 + (c.id * 7919 + k * 104729) % 50)
                        at = at + min(lag, (nxt - at) / 2)
                    ev.at = at
                nxt = ev.at
            for k, ev in enumerate(c.events):
                self.ordered.append((ev.at, c.id, k + 1, ev, c))
        self.ordered.sort(key=lambda r: (r[0], r[1], r[2]))
        self.event_count = len(self.ordered)

    def write(self) -> None:
        db, wall, stories = self.db, self.wall, self.stories
        # Ids of the rows that others point at, in the order the services would have created them.
        clocks = sorted((wall(d.started), c.id, k, d) for c in stories for k, d in enumerate(c.deadlines))
        for i, (*_, d) in enumerate(clocks, start=_next_id(Deadline)):
            d.id = i
        exts = sorted((wall(x.at), c.id, k, x) for c in stories for k, x in enumerate(c.exts))
        for i, (*_, x) in enumerate(exts, start=_next_id(Extension)):
            x.id = i
        sups = sorted((s.ev.at, c.id, k, s) for c in stories for k, s in enumerate(c.sups))
        for i, (*_, s) in enumerate(sups, start=_next_id(Supervision)):
            s.id = i

        rows: list[tuple] = []
        for c in stories:
            run = c.clock if c.state in OPEN_STATES and c.state != State.SUSPENDED else None
            g = c.grid
            phone_index = self.e.phone_index(c.phone) if c.phone else ""
            warn, due = (db(run.warn), db(run.due)) if run else (None, None)
            rows.append((
                c.id, c.number, c.channel, c.state, c.suspended_from, len(c.events), c.item.id, c.urgency,
                c.description, c.address, c.lon, c.lat, g.id, g.l1, g.l2, g.id, c.level, c.resolved_level,
                c.lead, c.routed, c.reporter_kind, c.reporter, encrypt_text(c.name, NAME),
                encrypt_text(c.phone, PHONE), phone_index, c.confidential, None,
                c.merged_into.id if c.merged_into else None, c.supporters_count, db(c.created),
                db(c.events[-1].at), db(c.closed), c.stage, warn, due,
                c.overdue, c.supervised, c.card, c.returns, c.reworks, c.rating, db(c.rated), c.disputed,
            ))  # fmt: skip
        _insert(Case, CASE_COLUMNS, rows)

        rows = [
            (
                d.id,
                case_id,
                d.stage,
                d.minutes,
                db(d.started),
                db(d.warn),
                db(d.due),
                db(d.esc),
                db(d.paused),
                db(d.done),
                d.met,
                d.noticed,
                d.escalated,
            )
            for _, case_id, _, d in clocks
        ]
        _insert(Deadline, DEADLINE_COLUMNS, rows)

        rows = sorted(
            (
                wall(a.dispatched),
                c.id,
                a.dept,
                a.kind,
                a.active,
                a.dispatched,
                a.signed,
                a.fed_back,
                a.ended,
                a.end_reason,
            )
            for c in stories
            for a in c.assigns
        )
        rows = [(*r[1:5], db(r[5]), db(r[6]), db(r[7]), db(r[8]), r[9]) for r in rows]
        _insert(Assignment, ASSIGNMENT_COLUMNS, rows)

        rows = [
            (
                x.id,
                case_id,
                x.clk.id,
                x.minutes,
                x.reason,
                x.state,
                x.by,
                db(at),
                x.decided_by,
                db(x.decided),
                x.note,
            )
            for at, case_id, _, x in exts
        ]
        _insert(Extension, EXTENSION_COLUMNS, rows)
        rows = [(s.id, case_id, s.card, s.reason, s.stage, s.by, db(at)) for at, case_id, _, s in sups]
        _insert(Supervision, SUPERVISION_COLUMNS, rows)

        rows = sorted(
            (wall(p), c.id, user, phone, channel, dup.id)
            for c in stories
            for user, phone, channel, dup, p in c.supporters
        )
        rows = [
            (
                r[1],
                r[2],
                encrypt_text(r[3], PHONE),
                self.e.phone_index(r[3]) if r[3] else "",
                r[4],
                r[5],
                db(r[0]),
            )
            for r in rows
        ]
        _insert(Supporter, SUPPORTER_COLUMNS, rows)

        rows = []
        for at, case_id, seq, ev, _c in self.ordered:
            data = ev.data() if callable(ev.data) else ev.data
            if isinstance(data.get("supervision"), _Sup):
                data = {**data, "supervision": data["supervision"].id}
            ev.data = data
            rows.append(
                (
                    case_id,
                    seq,
                    ev.action,
                    ev.actor,
                    ev.capacity,
                    ev.frm,
                    ev.to,
                    ev.level,
                    ev.note,
                    self.json(data),
                    db(at),
                )
            )
        _insert(CaseEvent, EVENT_COLUMNS, rows)
        del rows

        days = sorted(self.counters)
        CaseCounter.objects.bulk_create(
            [CaseCounter(day=d, last=self.counters[d]) for d in days if d not in self.existing_days],
            batch_size=BATCH,
        )
        for day in self.existing_days:
            CaseCounter.objects.filter(day=day).update(last=self.counters[day])
        # Explicit ids leave PostgreSQL's sequences behind (SQLite's AUTOINCREMENT follows by itself).
        reset = connection.ops.sequence_reset_sql(no_style(), [Case, Deadline, Extension, Supervision])
        if reset:
            with connection.cursor() as cursor:
                for sql in reset:
                    cursor.execute(sql)

    def audit(self) -> None:
        """One audit record per event, as `services._event` writes it, in the order they happened."""
        names = self.w.usernames
        users: dict[int, _Ref] = {}
        cases: dict[int, _Ref] = {}
        entries = []
        for _at, case_id, seq, ev, c in self.ordered:
            actor = None
            if ev.actor is not None:
                actor = users.get(ev.actor)
                if actor is None:
                    actor = users[ev.actor] = _Ref(ev.actor, names.get(ev.actor, ""))
            target = cases.get(case_id)
            if target is None:
                target = cases[case_id] = _Ref(case_id)
            data = {"number": c.number, "from": ev.frm, "to": ev.to, "seq": seq, **ev.data}
            entries.append(audit.Entry(f"case.{ev.action}", target=target, data=data, actor=actor, at=_at))
            if len(entries) >= AUDIT_CHUNK:
                audit.record_many(entries)
                entries = []
        audit.record_many(entries)


__all__ = ["HISTORY_DAYS", "HistoryReport", "seed_history"]
