"""The demo county's volunteer teams (多元共治): a car team (爱心车队), a party alliance (区域化党建联盟) in every town
and sub-district, a patrol (红袖章巡逻队, 十户联防队) or a volunteer service team in every village and community,
their members, a year of activities with sign-ups and confirmed hours, the next weeks' activities open for
sign-up, and the tasks the grids gave the teams, in every state.

`seed_community(config)` writes in bulk what `gridgov.community.services` would have left, rule for rule: a team
is created by a keeper of its grid and given its leader (an edit: version 2); members join on a day (the
registry's volunteers of the village, linked to their person, and the volunteer logins of the plan, whose
accounts are named after the registered volunteer they belong to); an activity is created before it starts,
members sign up before it starts (a few take it back), the organiser confirms who came and their hours (0 to
the activity's length) and closes it as held, or calls it off before any confirmation; a task is given by a
giver of its grid to a team of that grid, above or below it, accepted or declined by a volunteer of the team
(a login), reported done by that volunteer or written down by the grid's staff, or cancelled by the grid. Each
step has the audit record the service writes, appended through `audit.record_many` in the order they happened.

The demo `volunteer` is a member of their community's team (and of their town's car team): their phone shows
tasks waiting, one they accepted, activities to sign up for and the hours they served. Deterministic for a seed
and a `now`, except the random nonces of the encrypted phones."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.models import Case
from gridgov.community.choices import ActivityKind, ActivityState, TaskState, TeamKind
from gridgov.community.models import Activity, Member, SignUp, Task, Team
from gridgov.core import audit
from gridgov.core.calendar import TZ
from gridgov.grids.models import Grid
from gridgov.registry.choices import PersonRoleKind, PersonState
from gridgov.registry.models import PersonRole

from .config import DemoConfig
from .county import COUNTY_NAME
from .mediation import (
    bulk_writing,
    cumulative,
    insert_rows,
    mobile,
    next_id,
    phone_fields,
    pick_weighted,
    reset_sequences,
)
from .names import person_name

YEAR_DAYS = 365
AHEAD_DAYS = 30  # activities planned for the next weeks, open for sign-up
UTC = dt.UTC

TEAM_TEXTS: dict[str, str] = {
    "car": "由爱心车主自愿组成，为行动不便的老人、病患就医和学生出行提供免费接送服务。",
    "red_armband": "佩戴红袖章的居民志愿者，每天在小区开展治安巡逻、防火防盗宣传和矛盾纠纷排查。",
    "ten_households": "以十户为一个联防小组，邻里互助、互相照看，夜间轮流巡逻，守护村庄平安。",
    "party": "辖区机关、企事业单位和村（社区）党组织结对共建，整合资源为群众办实事、解难题。",
    "service": "常态化开展环境整治、关爱老人、政策宣传等志愿服务。",
    "ants": "聚少成多、积小善为大善的“蚂蚁”志愿者，常年开展助老助残、扶贫济困等公益服务。",
}
# (title, kind, months it happens in (empty: any), start hour, length in hours) by the kind of team.
ACTIVITIES: dict[str, tuple[tuple[str, str, tuple[int, ...], int, float], ...]] = {
    TeamKind.CAR: (
        ("接送老人到旗医院体检", ActivityKind.TRANSPORT, (), 8, 4.0),
        ("爱心送考", ActivityKind.TRANSPORT, (6,), 7, 6.0),
        ("接送透析病人", ActivityKind.TRANSPORT, (), 7, 5.0),
        ("助农运送农产品", ActivityKind.TRANSPORT, (8, 9, 10), 8, 6.0),
        ("春节前慰问独居老人", ActivityKind.CARE, (1, 2), 9, 3.0),
    ),
    TeamKind.PATROL: (
        ("夜间治安巡逻", ActivityKind.PATROL, (), 19, 2.0),
        ("重点时段防火巡查", ActivityKind.PATROL, (3, 4, 10, 11), 14, 3.0),
        ("节日安全巡逻", ActivityKind.PATROL, (1, 2, 5, 10), 18, 3.0),
        ("入户宣传防范煤气中毒", ActivityKind.PUBLICITY, (11, 12, 1, 2), 9, 3.0),
        ("防范电信诈骗宣传", ActivityKind.PUBLICITY, (), 9, 2.5),
        ("汛期河道巡查", ActivityKind.PATROL, (6, 7, 8), 15, 3.0),
    ),
    TeamKind.PARTY: (
        ("党员进社区志愿服务日", ActivityKind.SERVICE, (), 9, 3.0),
        ("政策宣讲进村入户", ActivityKind.PUBLICITY, (), 9, 3.0),
        ("结对帮扶走访慰问", ActivityKind.CARE, (), 14, 3.0),
        ("人居环境整治", ActivityKind.CLEANUP, (4, 5, 6, 7, 8, 9, 10), 8, 3.5),
        ("爱心义诊", ActivityKind.SERVICE, (), 9, 4.0),
    ),
    TeamKind.SERVICE: (
        ("村庄环境卫生大扫除", ActivityKind.CLEANUP, (3, 4, 5, 6, 7, 8, 9, 10), 8, 3.0),
        ("清理楼道杂物", ActivityKind.CLEANUP, (), 9, 2.5),
        ("扫雪除冰", ActivityKind.CLEANUP, (11, 12, 1, 2, 3), 8, 2.5),
        ("关爱空巢老人走访", ActivityKind.CARE, (), 14, 3.0),
        ("义务理发进社区", ActivityKind.SERVICE, (), 9, 3.0),
        ("垃圾分类宣传", ActivityKind.PUBLICITY, (), 15, 2.0),
    ),
}
PLACES = ("{g}党群服务中心", "{g}文化广场", "{g}村委会门口", "{g}东门", "旗人民医院门口", "{g}活动室")
NOTES = (
    "请穿志愿者马甲，佩戴红袖章。",
    "集合后分组行动。",
    "自带车辆，注意行车安全。",
    "",
    "",
    "请提前十分钟到达。",
)
CANCEL_ACTIVITY = ("大风沙尘天气，活动取消。", "与镇里会议时间冲突，改期举行。", "报名人数不足，活动取消。")
# (title, description) of tasks by the kind of team: {v} village, {p} place, {n} a name.
TASKS: dict[str, tuple[tuple[str, str], ...]] = {
    TeamKind.CAR: (
        ("接送老人就医", "{v}{n}老人需到旗人民医院复查，家中无人接送，请车队安排车辆。"),
        ("雪天护送学生返校", "大雪后{v}到镇中心学校的路不好走，请安排车辆接送住校生返校。"),
        ("运送慰问物资", "将镇里的慰问物资（米、面、油）送到{v}几户困难群众家中。"),
    ),
    TeamKind.PATROL: (
        ("夜间看护积水点", "{p}路段积水较深，夜间请安排人员看护并设置警示。"),
        ("协助排查出租房", "协助网格员对{p}一带的出租房屋开展安全排查。"),
        ("矛盾纠纷排查", "协助网格员对{v}近期的邻里纠纷开展一次排查。"),
        ("节日期间加强巡逻", "节日期间请在{p}增加一次夜间巡逻。"),
    ),
    TeamKind.PARTY: (
        ("帮扶困难户取暖", "为{v}{n}家协调解决冬季取暖用煤。"),
        ("协助政策宣传", "配合村（社区）做好{p}一带的惠民政策宣传。"),
    ),
    TeamKind.SERVICE: (
        ("清理积雪", "{p}积雪较厚，请组织志愿者清理。"),
        ("走访独居老人", "对{v}的独居老人开展一次走访，了解生活需求。"),
        ("清理堆积垃圾", "{p}有堆积的生活垃圾，请协助清理。"),
        ("协助疫苗接种引导", "镇卫生院在{p}开展接种，请安排志愿者维持秩序、引导群众。"),
    ),
}
RESULTS = (
    "已按要求完成，现场照片已发网格群。",
    "已完成，群众表示满意。",
    "已安排两名队员完成，情况已反馈网格员。",
    "已清理完毕。",
    "已平安送达。",
)
DECLINE = ("队员近期外出务工，人手不足。", "车辆故障，无法出车。", "时间冲突，请改派其他队伍。")
TEAM_SKILLS: dict[str, str] = {TeamKind.CAR: "驾驶", TeamKind.PATROL: "巡逻"}
CANCEL_TASK = ("家属已自行处理。", "问题已由相关部门处理。", "天气原因，改期安排。")


class _Ref:
    __slots__ = ("_meta", "pk", "username")

    def __init__(self, model: Any, pk: int, username: str = "") -> None:
        self._meta, self.pk, self.username = model._meta, pk, username


@dataclass
class CommunityReport:
    teams: int = 0
    by_kind: Counter = field(default_factory=Counter)
    members: int = 0
    linked_members: int = 0
    volunteer_logins: int = 0
    activities: int = 0
    activities_by_state: Counter = field(default_factory=Counter)
    signups: int = 0
    hours: Decimal = Decimal(0)
    tasks: int = 0
    tasks_by_state: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return _(
            "Community: %(teams)s volunteer teams with %(members)s members, %(activities)s activities "
            "(%(open)s open for sign-up) with %(signups)s sign-ups and %(hours)s hours served, %(tasks)s tasks "
            "(%(waiting)s waiting), in %(seconds).1f s."
        ) % {
            "teams": f"{self.teams:,}",
            "members": f"{self.members:,}",
            "activities": f"{self.activities:,}",
            "open": f"{self.activities_by_state.get(ActivityState.OPEN, 0):,}",
            "signups": f"{self.signups:,}",
            "hours": f"{self.hours:,.0f}",
            "tasks": f"{self.tasks:,}",
            "waiting": f"{self.tasks_by_state.get(TaskState.ASSIGNED, 0) + self.tasks_by_state.get(TaskState.ACCEPTED, 0):,}",
            "seconds": self.seconds,
        }


# -- the rows in the making ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _G:
    id: int
    code: str
    name: str
    level: int
    l1: int | None
    l2: int | None
    path: str
    category: str = ""


@dataclass(eq=False)
class _Member:
    id: int
    team: _Team
    name: str
    user: int | None
    person: int | None
    phone: tuple[bytes | None, str, str]
    skills: str
    joined: dt.date
    left: dt.date | None = None
    keeper: int = 0

    def active_on(self, day: dt.date) -> bool:
        return self.joined <= day and (self.left is None or self.left > day)


@dataclass(eq=False)
class _Team:
    id: int
    grid: _G
    name: str
    kind: str
    text: str
    phone: str
    keeper: int
    created: dt.datetime
    members: list[_Member] = field(default_factory=list)
    weight: float = 1.0

    @property
    def logins(self) -> list[_Member]:
        return [m for m in self.members if m.user and m.left is None]


@dataclass(eq=False)
class _SignUp:
    id: int
    member: _Member
    signed: dt.datetime
    by: int | None
    cancelled: dt.datetime | None = None
    attended: bool = False
    hours: Decimal | None = None
    confirmed: dt.datetime | None = None
    confirmed_by: int | None = None


@dataclass(eq=False)
class _Activity:
    id: int
    team: _Team | None
    grid: _G
    title: str
    kind: str
    notes: str
    place: str
    starts: dt.datetime
    ends: dt.datetime
    capacity: int | None
    by: int
    created: dt.datetime
    state: str = ActivityState.OPEN
    closed: dt.datetime | None = None
    reason: str = ""
    signups: list[_SignUp] = field(default_factory=list)


@dataclass(eq=False)
class _Task:
    id: int
    team: _Team
    grid: _G
    title: str
    text: str
    due: dt.date | None
    by: int
    created: dt.datetime
    case: tuple[int, str] | None = None
    state: str = TaskState.ASSIGNED
    accepted_by: _Member | None = None
    accepted: dt.datetime | None = None
    declined_by: _Member | None = None
    reason: str = ""
    result: str = ""
    done: dt.datetime | None = None
    done_by: int | None = None
    closed: dt.datetime | None = None
    closed_by: int | None = None


# -- building ---------------------------------------------------------------------------------------------------------
class _Community:
    def __init__(self, config: DemoConfig, now: dt.datetime) -> None:
        self.config = config
        self.now = now
        self.today = now.astimezone(TZ).date()
        self.rng = random.Random(config.seed * 977 + 11)
        kinds = {u.code: u.kind for u in config.units}
        self.grids: dict[int, _G] = {}
        self.units: list[_G] = []
        self.villages: list[_G] = []
        self.leaves: dict[int, list[_G]] = defaultdict(list)
        for pk, code, name, level, kind, l1, l2, path in (
            Grid.objects.current()
            .order_by("code")
            .values_list("id", "code", "name", "level", "kind", "l1_id", "l2_id", "path")
        ):
            g = _G(pk, code, name, level, l1, l2, path)
            self.grids[pk] = g
            if level == 1:
                g.category = kinds.get(code[6:9], "town")
                self.units.append(g)
            elif level == 2:
                g.category = (
                    "community" if name.endswith("社区") else "gaqa" if name.endswith("嘎查") else "village"
                )
                self.villages.append(g)
            elif level == 3 and kind == "base":
                self.leaves[l2 or 0].append(g)
        self.users = {pk: (u, n) for pk, u, n in User.objects.values_list("id", "username", "full_name")}
        roles: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for user, role, grid in (
            RoleAssignment.objects.filter(grid__isnull=False)
            .order_by("id")
            .values_list("user_id", "role", "grid_id")
        ):
            roles[role][grid].append(user)
        self.roles = roles
        for users in roles[Role.VOLUNTEER].values():
            users.sort(key=lambda u: self.users[u][0])
        # The registry's volunteers and party members, by village.
        volunteers: dict[int, list[tuple[int, str, Any]]] = defaultdict(list)
        party: dict[int, list[tuple[int, str, Any]]] = defaultdict(list)
        rows = (
            PersonRole.objects.filter(
                role__in=(PersonRoleKind.VOLUNTEER, PersonRoleKind.PARTY_MEMBER),
                person__state=PersonState.LIVING_HERE,
            )
            .order_by("person_id")
            .values_list("role", "person_id", "person__name", "person__grid_l2_id", "person__phone_enc",
                         "person__phone_index", "person__phone_masked")
        )  # fmt: skip
        for kind, person, pname, village, enc, index, masked in rows:
            target = volunteers if kind == PersonRoleKind.VOLUNTEER else party
            target[village or 0].append((person, pname, (bytes(enc) if enc else None, index, masked)))
        self.volunteers = volunteers
        self.party = party
        self.teams: list[_Team] = []
        self.members: list[_Member] = []
        self.activities: list[_Activity] = []
        self.tasks: list[_Task] = []
        self.renames: dict[int, str] = {}
        self.demo: _Member | None = None
        self.tick: Callable[[str], None] = lambda _name: None

    def keeper(self, grid: _G) -> int:
        """A keeper of the grid's teams: its head (a town's or a village's), else the town's operator."""
        rng = self.rng
        if grid.level == 1:
            pool = self.roles[Role.GRID_HEAD_L1].get(grid.id, []) + self.roles[Role.OPERATOR].get(grid.id, [])
        elif grid.level == 2:
            pool = self.roles[Role.GRID_HEAD_L2].get(grid.id, [])
        else:
            pool = self.roles[Role.GRID_SPECIALIST].get(grid.id, [])
        if not pool:
            pool = self.roles[Role.GRID_HEAD_L1].get(grid.l1 or 0, []) or self.roles[Role.OPERATOR].get(
                grid.l1 or 0, []
            )
        return pool[0] if len(pool) == 1 else rng.choice(pool)

    # -- teams and members
    def build_teams(self) -> None:
        rng = self.rng
        team_id = next_id(Team)
        member_id = next_id(Member)
        streets = [u for u in self.units if u.category == "street"]

        def team(grid: _G, name: str, kind: str, text: str, weight: float) -> _Team:
            nonlocal team_id
            created = self.moment(
                self.today - dt.timedelta(days=rng.randrange(YEAR_DAYS + 200, YEAR_DAYS + 1100)), 10
            )
            phone = mobile(rng) if rng.random() < 0.6 else f"0477-5{rng.randrange(10**6):06d}"
            t = _Team(team_id, grid, name, kind, text, phone, self.keeper(grid), created, weight=weight)
            team_id += 1
            self.teams.append(t)
            return t

        def member(t: _Team, name: str, *, user: int | None = None, person: int | None = None,
                   phone: tuple[bytes | None, str, str] | None = None, skills: str = "") -> _Member:  # fmt: skip
            nonlocal member_id
            start = t.created.astimezone(TZ).date()
            joined = start + dt.timedelta(days=rng.randrange(0, max(1, (self.today - start).days - 20)))
            if rng.random() < 0.4:
                joined = start  # the founding members
            m = _Member(member_id, t, name, user, person, phone or phone_fields(mobile(rng)), skills, joined)
            if user is None and rng.random() < 0.05:
                m.left = joined + dt.timedelta(days=rng.randrange(30, max(31, (self.today - joined).days)))
                if m.left >= self.today:
                    m.left = None
            m.keeper = self.keeper(t.grid)
            member_id += 1
            t.members.append(m)
            self.members.append(m)
            return m

        def fill(
            t: _Team, village: _G | None, size: int, pools: list[list[tuple[int, str, Any]]], mongol: float
        ) -> None:
            skills = TEAM_SKILLS.get(t.kind, "")
            for pool in pools:
                while pool and len(t.members) < size and rng.random() < 0.8:
                    pk, name, phone = pool.pop(0)
                    member(t, name, person=pk, phone=phone, skills=skills)
            while len(t.members) < size:
                member(t, person_name(rng, mongol), skills=skills)

        volunteer_users = self.roles[Role.VOLUNTEER]
        for unit in self.units:
            villages = [v for v in self.villages if v.l1 == unit.id]
            mongol = 0.35 if unit.category == "sumu" else 0.08
            party_pool = [p for v in villages for p in self.party.get(v.id, [])[:3]]
            alliance = team(unit, f"{unit.name}区域化党建联盟", TeamKind.PARTY, TEAM_TEXTS["party"], 2.5)
            if unit.category != "street":
                car = team(unit, f"{unit.name}爱心车队", TeamKind.CAR, TEAM_TEXTS["car"], 2.0)
            elif unit is streets[0]:
                car = team(unit, f"{COUNTY_NAME}爱心车队", TeamKind.CAR, TEAM_TEXTS["car"], 3.0)
            else:
                car = None
            if len(streets) > 1 and unit is streets[1]:
                ants = team(unit, "蚂蚁志愿服务队", TeamKind.SERVICE, TEAM_TEXTS["ants"], 2.5)
                fill(ants, None, rng.randrange(20, 36), [], mongol)
            logins = [u for v in villages for u in volunteer_users.get(v.id, [])]
            # One volunteer login in each town-level team, so that its tasks reach a phone.
            if logins:
                for t in (alliance, car):
                    if t is not None:
                        u = logins[0] if t is car else logins[-1]
                        member(t, self.users[u][1], user=u)
            fill(alliance, None, rng.randrange(12, 24), [party_pool], mongol)
            if car is not None:
                fill(car, None, rng.randrange(10, 22), [], mongol)
            for v in villages:
                pastoral = v.category == "gaqa"
                if v.category == "community":
                    kind, name, text = (
                        (TeamKind.PATROL, f"{v.name}红袖章巡逻队", TEAM_TEXTS["red_armband"])
                        if rng.random() < 0.55
                        else (TeamKind.SERVICE, f"{v.name}志愿服务队", TEAM_TEXTS["service"])
                    )
                elif rng.random() < 0.45:
                    kind, name, text = TeamKind.PATROL, f"{v.name}十户联防队", TEAM_TEXTS["ten_households"]
                else:
                    kind, name, text = TeamKind.SERVICE, f"{v.name}志愿服务队", TEAM_TEXTS["service"]
                t = team(v, name, kind, text, 1.0)
                registered = list(self.volunteers.get(v.id, []))
                # The volunteer logins of the village, named after its registered volunteers where there are.
                for u in volunteer_users.get(v.id, []):
                    if registered:
                        pk, pname, phone = registered.pop(0)
                        self.renames[u] = pname
                        m = member(t, pname, user=u, person=pk, phone=phone)
                    else:
                        m = member(t, self.users[u][1], user=u)
                    if self.users[u][0] == "volunteer":
                        self.demo = m
                fill(t, v, rng.randrange(8, 22), [registered], 0.35 if pastoral else 0.08)
        # A login is one person in every team: the town teams' login members are their village's.
        home = {m.user: m for m in self.members if m.user and m.team.grid.level == 2}
        for m in self.members:
            first = home.get(m.user) if m.user else None
            if first is not None and first is not m:
                m.name, m.person, m.phone = first.name, first.person, first.phone
        # A person is a member of a team once: a party member who is the login's person leaves the roster.
        for t in self.teams:
            logged = {m.person for m in t.members if m.user and m.person}
            t.members = [m for m in t.members if m.user or m.person is None or m.person not in logged]
        self.members = [m for t in self.teams for m in t.members]
        # The demo volunteer rides with their town's car team.
        if self.demo is not None:
            town = self.demo.team.grid.l1
            car = next((t for t in self.teams if t.kind == TeamKind.CAR and t.grid.id == town), None)
            if car is not None and all(m.user != self.demo.user for m in car.members):
                member(
                    car, self.demo.name, user=self.demo.user, person=self.demo.person, phone=self.demo.phone
                )

    def moment(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(UTC)

    # -- activities
    def build_activities(self) -> None:
        rng, now = self.rng, self.now
        total = self.config.activities
        if total <= 0 or not self.teams:
            return
        cum = cumulative([t.weight for t in self.teams])
        first = self.today - dt.timedelta(days=YEAR_DAYS)
        span = YEAR_DAYS + AHEAD_DAYS
        activity_id = next_id(Activity)
        signup_id = next_id(SignUp)
        planned: list[tuple[_Team | None, _G, dt.date, bool]] = []
        for _i in range(total):
            t = pick_weighted(rng, self.teams, cum)
            planned.append((t, t.grid, first + dt.timedelta(days=rng.randrange(span)), False))
        # Open to every team of a town: its volunteer service days.
        for unit in self.units:
            for _k in range(max(1, total // 150)):
                planned.append((None, unit, first + dt.timedelta(days=rng.randrange(span)), False))
        # The demo volunteer's team: two activities coming up, one with their sign-up already.
        if self.demo is not None:
            for days in (3, 9):
                planned.append(
                    (self.demo.team, self.demo.team.grid, self.today + dt.timedelta(days=days), True)
                )
        for team, grid, day, placed in planned:
            kind_of = team.kind if team is not None else TeamKind.SERVICE
            options = [
                a
                for a in ACTIVITIES.get(kind_of, ACTIVITIES[TeamKind.SERVICE])
                if not a[2] or day.month in a[2]
            ]
            options = options or list(ACTIVITIES[TeamKind.SERVICE][1:2])
            title, kind, _months, hour, length = rng.choice(options)
            if team is None:
                title, kind = f"{grid.name}志愿服务日", ActivityKind.SERVICE
            starts = self.moment(day, hour, rng.choice((0, 0, 30)))
            ends = starts + dt.timedelta(hours=length)
            by = team.keeper if team is not None and rng.random() < 0.6 else self.keeper(grid)
            created = starts - dt.timedelta(days=rng.randrange(3, 15), hours=rng.randrange(0, 8))
            if placed:
                created = now - dt.timedelta(days=2, hours=rng.randrange(0, 8))
            if created >= now:
                continue  # not planned yet
            place = rng.choice(PLACES).format(g=grid.name)
            capacity = None if rng.random() < 0.4 else rng.randrange(6, 31)
            a = _Activity(
                activity_id,
                team,
                grid,
                title,
                kind,
                rng.choice(NOTES),
                place,
                starts,
                ends,
                capacity,
                by,
                created,
            )
            activity_id += 1
            self.activities.append(a)
            # Where it stands now: to come (open), held lately and not closed yet, called off, or held.
            if ends > now or (ends > now - dt.timedelta(days=2) and rng.random() < 0.5):
                state = ActivityState.OPEN
            elif rng.random() < 0.05:
                state = ActivityState.CANCELLED
                a.closed = created + (min(starts, now) - created) * rng.uniform(0.5, 1.0)
                a.reason = rng.choice(CANCEL_ACTIVITY)
            else:
                state = ActivityState.DONE
                a.closed = min(
                    ends + dt.timedelta(minutes=rng.randrange(20, 48 * 60)), now - dt.timedelta(minutes=5)
                )
            a.state = state
            # Who signs up: the team's members, or those of every team of the grid and below, before it starts
            # (and before it was called off).
            if team is not None:
                pool = [m for m in team.members if m.active_on(day)]
            else:
                pool = [
                    m
                    for t in self.teams
                    if t.grid.path.startswith(grid.path)
                    for m in t.members
                    if m.active_on(day)
                ]
                pool = rng.sample(pool, min(len(pool), 40))
            want = int(len(pool) * rng.uniform(0.3, 0.75)) if team is not None else rng.randrange(8, 25)
            if capacity is not None:
                want = min(want, capacity)
            chosen = rng.sample(pool, min(len(pool), want))
            demo = self.demo
            if demo is not None and demo in pool:
                wanted = day != self.today + dt.timedelta(days=9) and (
                    starts < now or placed or rng.random() < 0.5
                )
                if wanted and demo not in chosen and rng.random() < 0.9:
                    chosen = (
                        chosen[: capacity - 1] if capacity is not None and len(chosen) >= capacity else chosen
                    )
                    chosen.append(demo)
                elif not wanted and demo in chosen:
                    chosen.remove(demo)  # one to sign up for on the phone
            latest = min(starts, now, a.closed or now) - dt.timedelta(minutes=10)
            for m in chosen:
                if latest <= created:
                    break
                signed = created + (latest - created) * rng.random()
                su = _SignUp(signup_id, m, signed, m.user if m.user and rng.random() < 0.7 else a.by)
                signup_id += 1
                if rng.random() < 0.06 and m is not demo:
                    su.cancelled = signed + (latest - signed) * rng.random()
                a.signups.append(su)
            if state == ActivityState.DONE and a.closed is not None:
                limit = Decimal(str(length))
                for su in a.signups:
                    if su.cancelled is not None:
                        continue
                    su.attended = rng.random() < 0.9
                    if su.attended:
                        served = limit if rng.random() < 0.8 else max(Decimal("0.5"), limit - Decimal("0.5"))
                        su.hours = served.quantize(Decimal("0.01"))
                    su.confirmed, su.confirmed_by = a.closed - dt.timedelta(minutes=2), a.by

    # -- tasks
    def build_tasks(self) -> None:
        rng, now = self.rng, self.now
        total = self.config.team_tasks
        if total <= 0 or not self.teams:
            return
        weights = [2.0 if t.kind in (TeamKind.CAR, TeamKind.PATROL) else 1.0 for t in self.teams]
        cum = cumulative(weights)
        task_id = next_id(Task)
        cases: dict[int, list[tuple[int, str, dt.datetime]]] = defaultdict(list)
        # Cases a team may help with: social services, livelihood, disputes (elderly care, snow, neighbours…).
        helped = Case.objects.filter(item__module__code__in=("04", "06", "07")).order_by("id")
        for pk, number, l2, created in helped.values_list("id", "number", "grid_l2_id", "created_at"):
            cases[l2 or 0].append((pk, number, created))
        plans: list[tuple[_Team, dt.datetime, str | None]] = []
        for _i in range(total):
            t = pick_weighted(rng, self.teams, cum)
            plans.append((t, now - dt.timedelta(minutes=rng.randrange(30, YEAR_DAYS * 24 * 60)), None))
        if self.demo is not None:
            demo_team = self.demo.team
            for hours, state in (
                (3, TaskState.ASSIGNED),
                (30, TaskState.ACCEPTED),
                (200, TaskState.DONE),
                (50, TaskState.ASSIGNED),
            ):
                plans.append((demo_team, now - dt.timedelta(hours=hours), state))
        for t, created, forced in plans:
            # Given in the team's grid, a grid below it, or (for a village team) by its level-3 grid's staff.
            grid = t.grid
            if grid.level == 1:
                below = [v for v in self.villages if v.l1 == grid.id]
                if below and rng.random() < 0.6:
                    grid = rng.choice(below)
            if grid.level == 2 and self.leaves.get(grid.id) and rng.random() < 0.5:
                grid = rng.choice(self.leaves[grid.id])
            if grid.level == 3:
                pool = self.roles[Role.GRID_SPECIALIST].get(grid.id, []) + self.roles[Role.INFO_OFFICER].get(
                    grid.id, []
                )
                by = rng.choice(pool) if pool else self.keeper(self.grids[grid.l2 or 0])
            else:
                by = self.keeper(grid)
            village = self.grids.get(grid.l2 or 0) if grid.level >= 2 else None
            title, text = rng.choice(TASKS.get(t.kind, TASKS[TeamKind.SERVICE]))
            text = text.format(
                v=village.name if village else grid.name, p=grid.name, n=person_name(rng, 0.08)[:1] + "大爷"
            )
            day = created.astimezone(TZ).date()
            due = day + dt.timedelta(days=rng.randrange(0, 8)) if rng.random() < 0.7 else None
            task = _Task(task_id, t, grid, title, text, due, by, created)
            task_id += 1
            if grid.level == 2 and rng.random() < 0.15:
                found = [c for c in cases.get(grid.id, []) if c[2] < created]
                if found:
                    pk, number, _c = rng.choice(found[-30:])
                    task.case = (pk, number)
            self.tasks.append(task)
            self.play(task, forced)

    def play(self, task: _Task, forced: str | None) -> None:
        rng, now = self.rng, self.now
        age = now - task.created
        r = rng.random()
        if forced is not None:
            state = forced
        elif age < dt.timedelta(days=10):
            state = pick_weighted(rng, list(TaskState.values), cumulative((0.35, 0.3, 0.25, 0.05, 0.05)))
        else:
            state = pick_weighted(rng, list(TaskState.values), cumulative((0.02, 0.03, 0.79, 0.08, 0.08)))
        logins = task.team.logins
        if self.demo is not None and task.team is self.demo.team and forced is not None:
            logins = [self.demo]
        if not logins and state in (TaskState.ACCEPTED, TaskState.DECLINED):
            state = TaskState.ASSIGNED if state == TaskState.ACCEPTED else TaskState.CANCELLED

        def after(start: dt.datetime, hours: float) -> dt.datetime:
            return min(
                now - dt.timedelta(minutes=1),
                start + dt.timedelta(minutes=rng.randrange(10, max(11, int(hours * 60)))),
            )

        span = max(age.total_seconds() / 3600 / 2, 0.3)
        if state in (TaskState.ACCEPTED, TaskState.DONE) and logins and (forced is not None or r < 0.85):
            member = rng.choice(logins)
            task.accepted_by, task.accepted = member, after(task.created, min(span, 24))
        if state == TaskState.ACCEPTED and task.accepted_by is None:
            state = TaskState.ASSIGNED
        task.state = state
        if state == TaskState.DONE:
            start = task.accepted or task.created
            task.done = after(start, min(span, 72))
            if task.accepted_by is not None and rng.random() < 0.75:
                task.done_by = task.accepted_by.user
            else:
                task.done_by = task.by  # the grid's staff write down what the team told them
            task.result = rng.choice(RESULTS)
            task.closed, task.closed_by = task.done, task.done_by
        elif state == TaskState.DECLINED:
            member = rng.choice(logins)
            task.declined_by, task.reason = member, rng.choice(DECLINE)
            task.closed, task.closed_by = after(task.created, min(span, 24)), member.user
        elif state == TaskState.CANCELLED:
            task.reason = rng.choice(CANCEL_TASK)
            task.closed, task.closed_by = after(task.created, min(span, 48)), task.by

    # -- writing
    def write(self, report: CommunityReport) -> None:
        # Each team's leader: its first member who has not left (an edit of the team: version 2).
        leaders = {t.id: next((m for m in t.members if m.left is None), None) for t in self.teams}
        rows = []
        for t in self.teams:
            leader = leaders[t.id]
            edited = self.moment(leader.joined, 10, 5) if leader is not None else t.created
            rows.append((t.id, t.grid.id, *self.place(t.grid), t.name, t.kind, None, t.text, t.phone, True,
                         2 if leader is not None else 1, t.keeper, t.created, edited))  # fmt: skip
        insert_rows(
            Team,
            ("id", "grid", "grid_l1_id", "grid_l2_id", "grid_l3_id", "name", "kind", "leader", "description", "phone",
             "active", "version", "created_by", "created_at", "updated_at"),
            rows,
        )  # fmt: skip
        insert_rows(
            Member,
            ("id", "team", "person", "user", "name", "phone_enc", "phone_index", "phone_masked", "skills", "joined_on",
             "active", "left_on", "created_at"),
            [(m.id, m.team.id, m.person, m.user, m.name, *m.phone, m.skills, m.joined, m.left is None, m.left,
              self.moment(m.joined, 10)) for m in self.members],
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {connection.ops.quote_name(Team._meta.db_table)} SET leader_id = %s WHERE id = %s",  # noqa: S608
                [(m.id, pk) for pk, m in leaders.items() if m is not None],
            )
        insert_rows(
            Activity,
            ("id", "grid", "grid_l1_id", "grid_l2_id", "grid_l3_id", "team", "title", "kind", "notes", "place",
             "starts_at", "ends_at", "capacity", "state", "created_by", "created_at", "closed_at", "closed_by", "reason"),
            [(a.id, a.grid.id, *self.place(a.grid), a.team.id if a.team else None, a.title, a.kind, a.notes, a.place,
              a.starts, a.ends, a.capacity, a.state, a.by, a.created, a.closed, a.by if a.closed else None, a.reason)
             for a in self.activities],
        )  # fmt: skip
        signups = sorted(((s, a) for a in self.activities for s in a.signups), key=lambda r: r[0].id)
        insert_rows(
            SignUp,
            ("id", "activity", "member", "signed_at", "signed_by", "cancelled_at", "attended", "hours", "confirmed_by",
             "confirmed_at"),
            [(s.id, a.id, s.member.id, s.signed, s.by, s.cancelled, s.attended, s.hours, s.confirmed_by, s.confirmed)
             for s, a in signups],
        )  # fmt: skip
        insert_rows(
            Task,
            ("id", "grid", "grid_l1_id", "grid_l2_id", "grid_l3_id", "team", "title", "description", "due_on", "state",
             "case", "accepted_by", "accepted_at", "declined_by", "reason", "result", "done_at", "done_by", "closed_at",
             "closed_by", "created_by", "created_at"),
            [(k.id, k.grid.id, *self.place(k.grid), k.team.id, k.title, k.text, k.due, k.state,
              k.case[0] if k.case else None, k.accepted_by.id if k.accepted_by else None, k.accepted,
              k.declined_by.id if k.declined_by else None, k.reason, k.result, k.done, k.done_by, k.closed,
              k.closed_by, k.by, k.created) for k in self.tasks],
        )  # fmt: skip
        reset_sequences([Team, Member, Activity, SignUp, Task])
        if self.renames:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {connection.ops.quote_name(User._meta.db_table)} SET full_name = %s WHERE id = %s",  # noqa: S608
                    [(name, pk) for pk, name in sorted(self.renames.items())],
                )
        self.tick("write")
        self.audit(leaders)
        self.tick("audit")

        report.teams = len(self.teams)
        report.by_kind = Counter(t.kind for t in self.teams)
        report.members = len(self.members)
        report.linked_members = sum(1 for m in self.members if m.person is not None)
        report.volunteer_logins = len({m.user for m in self.members if m.user})
        report.activities = len(self.activities)
        report.activities_by_state = Counter(a.state for a in self.activities)
        report.signups = len(signups)
        report.hours = sum((s.hours for s, _a in signups if s.hours is not None), Decimal(0))
        report.tasks = len(self.tasks)
        report.tasks_by_state = Counter(k.state for k in self.tasks)

    def place(self, g: _G) -> tuple[int | None, int | None, int | None]:
        return (
            g.id if g.level == 1 else g.l1,
            g.id if g.level == 2 else g.l2,
            g.id if g.level == 3 else None,
        )

    def audit(self, leaders: dict[int, _Member | None]) -> None:
        """The audit record of every step, as the services write them, in the order they happened."""
        refs: dict[int, _Ref] = {}

        def who(pk: int | None) -> _Ref | None:
            if pk is None:
                return None
            ref = refs.get(pk)
            if ref is None:
                ref = refs[pk] = _Ref(User, pk, self.users.get(pk, ("", ""))[0])
            return ref

        entries: list[tuple[dt.datetime, int, audit.Entry]] = []

        def add(
            at: dt.datetime, action: str, model: Any, pk: int, actor: int | None, data: dict[str, Any]
        ) -> None:
            entries.append(
                (
                    at,
                    len(entries),
                    audit.Entry(action, target=_Ref(model, pk), data=data, actor=who(actor), at=at),
                )
            )

        for t in self.teams:
            add(
                t.created,
                "community.team.create",
                Team,
                t.id,
                t.keeper,
                {"name": t.name, "kind": t.kind, "grid": t.grid.code},
            )
        for m in self.members:
            joined = self.moment(m.joined, 10)
            add(joined, "community.member.add", Member, m.id, m.keeper,
                {"team": m.team.id, "name": m.name, "person": m.person, "user": m.user, "phone": m.phone[2],
                 "joined_on": m.joined.isoformat()})  # fmt: skip
            if m.left is not None:
                add(
                    self.moment(m.left, 15),
                    "community.member.remove",
                    Member,
                    m.id,
                    m.keeper,
                    {"team": m.team.id, "reason": ""},
                )
        for t in self.teams:
            leader = leaders.get(t.id)
            if leader is not None:
                at = self.moment(leader.joined, 10, 5)
                add(at, "community.team.edit", Team, t.id, t.keeper,
                    {"name": t.name, "kind": t.kind, "leader": leader.id, "active": True})  # fmt: skip
        for a in self.activities:
            add(a.created, "community.activity.create", Activity, a.id, a.by,
                {"title": a.title, "grid": a.grid.code, "team": a.team.id if a.team else None, "kind": a.kind,
                 "starts_at": a.starts.isoformat(), "ends_at": a.ends.isoformat(), "capacity": a.capacity})  # fmt: skip
            confirmed: dict[str, Any] = {}
            for s in a.signups:
                add(
                    s.signed,
                    "community.signup",
                    SignUp,
                    s.id,
                    s.by,
                    {"activity": a.id, "member": s.member.id},
                )
                if s.cancelled is not None:
                    actor = s.member.user or a.by
                    add(
                        s.cancelled,
                        "community.signup.cancel",
                        SignUp,
                        s.id,
                        actor,
                        {"activity": a.id, "member": s.member.id},
                    )
                elif s.confirmed is not None:
                    confirmed[str(s.id)] = {
                        "attended": s.attended,
                        "hours": str(s.hours) if s.hours is not None else None,
                    }
            if a.state == ActivityState.DONE and a.closed is not None:
                if confirmed:
                    add(
                        a.closed - dt.timedelta(minutes=2),
                        "community.attendance",
                        Activity,
                        a.id,
                        a.by,
                        {"signups": confirmed},
                    )
                add(a.closed, "community.activity.close", Activity, a.id, a.by, {})
            elif a.state == ActivityState.CANCELLED and a.closed is not None:
                add(a.closed, "community.activity.cancel", Activity, a.id, a.by, {"reason": a.reason})
        for k in self.tasks:
            add(k.created, "community.task.give", Task, k.id, k.by,
                {"team": k.team.id, "grid": k.grid.code, "title": k.title,
                 "due_on": k.due.isoformat() if k.due else None, "case": k.case[1] if k.case else None})  # fmt: skip
            if k.accepted is not None and k.accepted_by is not None:
                add(
                    k.accepted,
                    "community.task.accept",
                    Task,
                    k.id,
                    k.accepted_by.user,
                    {"member": k.accepted_by.id},
                )
            if k.state == TaskState.DONE and k.done is not None:
                member = (
                    k.accepted_by.id
                    if k.accepted_by is not None and k.done_by == k.accepted_by.user
                    else None
                )
                add(
                    k.done,
                    "community.task.done",
                    Task,
                    k.id,
                    k.done_by,
                    {"member": member, "result": k.result[:200]},
                )
            elif k.state == TaskState.DECLINED and k.closed is not None and k.declined_by is not None:
                add(k.closed, "community.task.decline", Task, k.id, k.closed_by,
                    {"member": k.declined_by.id, "reason": k.reason})  # fmt: skip
            elif k.state == TaskState.CANCELLED and k.closed is not None:
                add(k.closed, "community.task.cancel", Task, k.id, k.closed_by, {"reason": k.reason})
        entries.sort(key=lambda r: (r[0], r[1]))
        audit.record_many([e for _at, _n, e in entries])


def seed_community(
    config: DemoConfig | None = None,
    *,
    now: dt.datetime | None = None,
    say: Callable[[str], None] | None = None,
) -> CommunityReport:
    """Write the volunteer teams, their members, a year of activities and the grids' tasks into the seeded demo
    county (inside the caller's transaction: the audit log requires one)."""
    config = config or DemoConfig()
    now = (now or timezone.now()).astimezone(UTC)
    say = say or (lambda _message: None)
    report = CommunityReport()
    started = lap = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal lap
        t = time.perf_counter()
        report.timings[name] = t - lap
        lap = t

    c = _Community(config, now)
    c.tick = tick
    if not c.units:
        return report
    say(_("Writing the volunteer teams, their activities and tasks…"))
    with bulk_writing():
        c.build_teams()
        c.build_activities()
        c.build_tasks()
        tick("plan")
        c.write(report)
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["CommunityReport", "seed_community"]
