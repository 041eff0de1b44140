"""Enumerations of the case engine: value, translated label, and where it matters a kind or a colour.

States are data with a kind (open / closed) so that queues and indicators never hard-code state names."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    REPORTED = "reported", _("reported (待受理)")
    REGISTERED = "registered", _("registered, to dispatch (待派遣)")
    DISPATCHED = "dispatched", _("dispatched, to sign (待签收)")
    HANDLING = "handling", _("handling (处置中)")
    HANDLED = "handled", _("handled, to verify (待核查)")
    SUSPENDED = "suspended", _("suspended (挂账)")
    CLOSED = "closed", _("closed (已结案)")
    REJECTED = "rejected", _("rejected (不予受理)")
    MERGED = "merged", _("merged (已并案)")


# Tuples in the order of the lifecycle, not sets: `state IN (…)` must be the same SQL text in every process
# (a set's order changes with the hash seed), or SQLite will not match it to the partial index of open cases.
OPEN_STATES: tuple[str, ...] = (
    State.REPORTED,
    State.REGISTERED,
    State.DISPATCHED,
    State.HANDLING,
    State.HANDLED,
    State.SUSPENDED,
)
CLOSED_STATES: tuple[str, ...] = (State.CLOSED, State.REJECTED, State.MERGED)


class Level(models.IntegerChoices):
    """The level that answers for a case: it climbs from the grid towards the banner when escalated."""

    BANNER = 0, _("banner (旗)")
    TOWN = 1, _("town (镇/街道)")
    VILLAGE = 2, _("village (村/社区)")
    GRID = 3, _("grid (网格)")


def state_kind(state: str) -> str:
    return "open" if state in OPEN_STATES else "closed"


class Action(models.TextChoices):
    REPORT = "report", _("report (上报)")
    ACCEPT = "accept", _("accept and register (受理立案)")
    REJECT = "reject", _("reject (不予受理)")
    MERGE = "merge", _("merge into another case (并案)")
    DISPATCH = "dispatch", _("dispatch (派遣)")
    REASSIGN = "reassign", _("reassign (改派)")
    SIGN = "sign", _("sign (签收)")
    RETURN = "return", _("return (退单)")
    ASSIST_SIGN = "assist_sign", _("sign as assisting unit (协办签收)")
    ASSIST_FEEDBACK = "assist_feedback", _("feed back as assisting unit (协办反馈)")
    FEEDBACK = "feedback", _("feed back (处置反馈)")
    VERIFY_PASS = "verify_pass", _("verify and close (核查结案)")
    VERIFY_FAIL = "verify_fail", _("verification failed, back to handling (返工)")
    SELF_HANDLE = "self_handle", _("handle on the spot (自处置)")
    ESCALATE = "escalate", _("escalate one level (上报上级)")
    REQUEST_EXTENSION = "request_extension", _("request an extension (申请延期)")
    APPROVE_EXTENSION = "approve_extension", _("approve the extension (同意延期)")
    DENY_EXTENSION = "deny_extension", _("deny the extension (驳回延期)")
    SUSPEND = "suspend", _("suspend (挂账)")
    RESUME = "resume", _("resume (恢复)")
    SUPERVISE = "supervise", _("supervise (督办)")
    EVALUATE = "evaluate", _("evaluate (评价)")
    DISPUTE = "dispute", _("dispute the closure (申诉)")
    COMMENT = "comment", _("comment (留言)")
    ME_TOO = "me_too", _("me too (我也遇到)")


class Channel(models.TextChoices):
    RESIDENT_APP = "resident_app", _("resident app")
    WORKER_APP = "worker_app", _("grid-worker app")
    HOTLINE = "hotline", _("12345 hotline / phone")
    WALK_IN = "walk_in", _("walk-in")
    VIDEO = "video", _("video analytics alarm")
    IOT = "iot", _("IoT sensor alarm")
    OPEN311 = "open311", _("Open311 client")
    IMPORT = "import", _("bulk import")


# Alarms from machines repeat themselves: a duplicate becomes a "me too" on the open case, never a new case.
MACHINE_CHANNELS: frozenset[str] = frozenset({Channel.VIDEO, Channel.IOT})


class ReporterKind(models.TextChoices):
    RESIDENT = "resident", _("resident with an account")
    ANONYMOUS = "anonymous", _("resident known by phone only")
    STAFF = "staff", _("staff")
    MACHINE = "machine", _("device")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied (满意)")
    BASIC = "basic", _("basically satisfied (基本满意)")
    UNSATISFIED = "unsatisfied", _("unsatisfied (不满意)")


class Card(models.TextChoices):
    YELLOW = "yellow", _("yellow card (黄牌督办)")
    RED = "red", _("red card (红牌督办)")


class Colour(models.TextChoices):
    """A deadline's colour: green in time, yellow at 80 % of the limit, red past it."""

    GREEN = "green", _("in time")
    YELLOW = "yellow", _("due soon")
    RED = "red", _("overdue")


class Capacity(models.TextChoices):
    """In which capacity a user acts on one case: a role, narrowed by the user's relation to the case.

    The transition table says which capacities may take each action."""

    OPERATOR = "operator", _("command-centre operator")
    GRID_STAFF = "grid_staff", _("grid staff of the case's grid")
    GRID_HEAD_L2 = "grid_head_l2", _("level-2 grid head")
    GRID_HEAD_L1 = "grid_head_l1", _("level-1 grid head")
    LEADER = "leader", _("leader")
    LEAD_UNIT = "lead_unit", _("lead unit (主办单位)")
    ASSIST_UNIT = "assist_unit", _("assisting unit (协办单位)")
    REPORTER = "reporter", _("reporter")
    SYSTEM = "system", _("the system (deadline sweep)")


class AssignmentKind(models.TextChoices):
    LEAD = "lead", _("lead (主办)")
    ASSIST = "assist", _("assisting (协办)")


class EvidencePhase(models.TextChoices):
    REPORT = "report", _("as reported")
    BEFORE = "before", _("before handling")
    AFTER = "after", _("after handling")
    OTHER = "other", _("other")


class EvidenceKind(models.TextChoices):
    PHOTO = "photo", _("photo")
    VIDEO = "video", _("video")


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    DENIED = "denied", _("denied")
    LAPSED = "lapsed", _("lapsed (the case moved on before a decision)")


class Queue(models.TextChoices):
    """The role-aware work queues."""

    TO_ACCEPT = "to_accept", _("to accept (待受理)")
    TO_DISPATCH = "to_dispatch", _("to dispatch (待派遣)")
    TO_SIGN = "to_sign", _("to sign (待签收)")
    HANDLING = "handling", _("handling (处置中)")
    TO_VERIFY = "to_verify", _("to verify (待核查)")
    DUE_SOON = "due_soon", _("due soon (即将超期)")
    OVERDUE = "overdue", _("overdue (已超期)")
    SUPERVISED = "supervised", _("under supervision (督办中)")
