"""Mediation's enumerations: value, translated label, and where it matters a kind (open / closed) or a colour.

States are data with a kind, so that lists and figures never hard-code state names."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DisputeKind(models.TextChoices):
    """What the dispute is about: the kinds a county's mediation register (调解台账) counts separately."""

    LAND = "land", _("land and grassland")
    # A context: "neighbours" elsewhere are neighbouring grids.
    NEIGHBOURS = "neighbours", pgettext_lazy("dispute kind", "neighbours")
    FAMILY = "family", _("marriage and family")
    CONTRACT = "contract", _("contracts")
    WAGES = "wages", _("wages owed")
    DEBT = "debt", _("debts")
    UTILITIES = "utilities", _("electricity and water fees")
    PROPERTY = "property", _("property management")
    DAMAGE = "damage", _("damage and compensation")
    OTHER = "other", pgettext_lazy("dispute kind", "other")


class RiskLevel(models.TextChoices):
    """How likely the dispute is to turn worse (矛盾升级): the high ones are watched first."""

    LOW = "low", _("low risk")
    MEDIUM = "medium", _("medium risk")
    HIGH = "high", _("high risk")


# The colour a risk is shown in (the same green / yellow / red as a case's deadline).
RISK_COLOUR: dict[str, str] = {RiskLevel.LOW: "green", RiskLevel.MEDIUM: "yellow", RiskLevel.HIGH: "red"}


def risk_colour(risk: str) -> str:
    return RISK_COLOUR.get(risk, "")


class DisputeState(models.TextChoices):
    RECEIVED = "received", _("received (已受理)")
    ASSIGNED = "assigned", _("assigned (已指派)")
    MEDIATING = "mediating", _("mediating (调解中)")
    SETTLED = "settled", _("settled by agreement (调解成功)")
    PARTIAL = "partial", _("partly settled (部分达成)")
    FAILED = "failed", _("mediation failed (调解不成)")
    HANDED_OVER = "handed_over", _("handed over (已移交)")


# Tuples in lifecycle order (the same SQL text in every process, see cases.choices).
OPEN_STATES: tuple[str, ...] = (DisputeState.RECEIVED, DisputeState.ASSIGNED, DisputeState.MEDIATING)
CLOSED_STATES: tuple[str, ...] = (
    DisputeState.SETTLED,
    DisputeState.PARTIAL,
    DisputeState.FAILED,
    DisputeState.HANDED_OVER,
)
# An agreement was signed (in full or in part): its follow-up visits are due.
SIGNED_STATES: tuple[str, ...] = (DisputeState.SETTLED, DisputeState.PARTIAL)


def state_kind(state: str) -> str:
    return "open" if state in OPEN_STATES else "closed"


class Outcome(models.TextChoices):
    AGREEMENT = "agreement", _("agreement reached (达成协议)")
    PARTIAL = "partial", _("partial agreement (部分达成)")
    FAILED = "failed", _("no agreement (调解不成)")


# The state each outcome leaves the dispute in.
OUTCOME_STATE: dict[str, str] = {
    Outcome.AGREEMENT: DisputeState.SETTLED,
    Outcome.PARTIAL: DisputeState.PARTIAL,
    Outcome.FAILED: DisputeState.FAILED,
}


class Level(models.IntegerChoices):
    """The level that handles a dispute: the grid first, then the village's committee, then the town's."""

    TOWN = 1, _("town (镇/街道)")
    VILLAGE = 2, _("village (村/社区)")
    GRID = 3, _("grid (网格)")


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("applicant (申请人)")
    RESPONDENT = "respondent", _("respondent (被申请人)")
    THIRD_PARTY = "third_party", _("third party (第三人)")


class MediatorKind(models.TextChoices):
    ELDER = "elder", _("respected elder (乡贤)")
    RETIRED_CADRE = "retired_cadre", _("retired cadre (老干部)")
    TEACHER = "teacher", _("teacher (教师)")
    LAWYER = "lawyer", _("lawyer or legal worker (律师/法律工作者)")
    GRID_WORKER = "grid_worker", _("grid worker (网格员)")
    OTHER = "other", pgettext_lazy("mediator kind", "other")


class Language(models.TextChoices):
    ZH = "zh", _("Chinese (汉语)")
    MN = "mn", _("Mongolian (蒙古语)")


class HandOverTo(models.TextChoices):
    """Where a dispute mediation cannot settle goes, with its whole record."""

    JUDICIAL_OFFICE = "judicial_office", _("town judicial office (司法所)")
    COURT = "court", _("people's court (人民法院)")
    PETITION = "petition", _("petition office (信访)")
    POLICE = "police", _("police station (派出所)")
    LABOUR_ARBITRATION = "labour_arbitration", _("labour arbitration (劳动仲裁)")


class FollowUpResult(models.TextChoices):
    PERFORMED = "performed", _("performed (已履行)")
    PARTLY = "partly", _("partly performed (部分履行)")
    NOT_PERFORMED = "not_performed", _("not performed (未履行)")


class EventAction(models.TextChoices):
    """A step of a dispute's timeline."""

    RECEIVED = "received", _("received (受理)")
    FROM_CASE = "from_case", _("received from a case (案件转调解)")
    PARTY_ADDED = "party_added", _("party added (添加当事人)")
    PARTY_UPDATED = "party_updated", _("party updated (修改当事人)")
    ASSIGNED = "assigned", _("mediators assigned (指派调解员)")
    SESSION = "session", _("mediation session (调解)")
    OUTCOME = "outcome", _("outcome recorded (调解结果)")
    FOLLOW_UP = "follow_up", _("follow-up visit (回访)")
    REFERRED_UP = "referred_up", _("referred up (提交上级调委会)")
    HANDED_OVER = "handed_over", _("handed over (移交)")
