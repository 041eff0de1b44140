"""Assessment API (考核评定): the ranking table of a period per kind of object, the configuration in force, and
its changes (weights, thresholds, exclusions, appeals). Reads are scoped (`visible_to`: a grid out of scope
answers 404); a change the caller may not make answers 403, one that collides with the record's state 409, bad
input 422 naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from gridgov.core.audit import client_ip
from gridgov.core.errors import NotAllowed
from gridgov.core.schemas import READ_ERRORS, WRITE_ERRORS, Error, Id, optional

from . import selectors, services
from .choices import Kind
from .indicators import period_of, weightable

router = Router(tags=["assessment"])
# Writes take JSON bodies: a body that is not JSON answers 400.
BODY_ERRORS = {400: Error, **WRITE_ERRORS}

KindName = Literal["town", "village", "grid", "department", "worker"]
Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", max_length=7)]


class AssessmentTableQuery(Schema):
    kind: KindName = "town"
    month: Month | None = optional()
    since: Month | None = optional()
    until: Month | None = optional()
    grid: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$")] | None = optional()
    sort: Annotated[str, Field(max_length=40, pattern=r"^-?[a-z_]+$")] = "score"


class AssessmentIndicatorOut(Schema):
    code: str
    label: str
    rate: bool
    less_is_better: bool


class AssessmentRowOut(Schema):
    key: int | None
    name: str
    code: str
    rank: int | None
    score: Decimal | None
    mark: str
    values: dict[str, Decimal | int | None]
    counts: dict[str, int]


class AssessmentTableOut(Schema):
    kind: str
    period: str
    grid: str
    indicators: list[AssessmentIndicatorOut]
    rows: list[AssessmentRowOut]
    total: AssessmentRowOut
    weights: dict[str, Decimal]
    red_below: Decimal
    yellow_below: Decimal


class AssessmentConfigOut(Schema):
    kind: str
    weights: dict[str, Decimal]
    red_below: Decimal
    yellow_below: Decimal


class AssessmentWeightsIn(Schema):
    weights: dict[Annotated[str, Field(max_length=40)], Annotated[Decimal, Field(ge=0, le=1000)]]


class AssessmentThresholdsIn(Schema):
    red_below: Annotated[Decimal, Field(ge=0, le=100)]
    yellow_below: Annotated[Decimal, Field(ge=0, le=100)]


Reason = Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")]
CaseNumber = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[^\x00]*$")]


class AssessmentExclusionIn(Schema):
    case: CaseNumber
    reason_kind: Literal["unreasonable", "repeated"]
    reason: Reason


class AssessmentExclusionOut(Schema):
    id: int
    case: str
    reason_kind: str
    reason: str
    active: bool


class AssessmentAppealIn(Schema):
    case: CaseNumber
    reason: Reason


class AssessmentDecisionIn(Schema):
    accept: bool
    note: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] = ""


class AssessmentAppealOut(Schema):
    id: int
    case: str
    reason: str
    state: str
    decision_note: str


def _reader(request: HttpRequest):
    user = request.user
    if not selectors.reads(user):
        raise NotAllowed(_("Only leaders, grid heads, operators and departments see the assessment."))
    return user


def _row(r) -> AssessmentRowOut:
    return AssessmentRowOut(
        key=r.key,
        name=r.name,
        code=r.code,
        rank=r.rank,
        score=r.score,
        mark=r.mark,
        values={k: v for k, v in r.values.items()},
        counts=r.counts,
    )


@router.get(
    "/table",
    response={200: AssessmentTableOut, **READ_ERRORS},
    url_name="assessment_table",
    summary="Ranking table",
)
def table(request: HttpRequest, query: Query[AssessmentTableQuery]):
    """The indicators of the cases reported in a month (`month`, default this month) or a range of months
    (`since`…`until`), per `kind`, in the caller's scope (inside grid `grid` when given), with the composite
    score, its mark and rank, sorted by `sort` (`score` or an indicator's code; `-` for ascending)."""
    user = _reader(request)
    period = period_of(query.month, query.since, query.until)
    t, _grid = selectors.table(user, query.kind, period, query.grid, query.sort)
    return AssessmentTableOut(
        kind=t.kind,
        period=period.key,
        grid=query.grid or (_grid.code if _grid else ""),
        indicators=[
            AssessmentIndicatorOut(
                code=c.code, label=str(c.label), rate=c.is_rate, less_is_better=c.less_is_better
            )
            for c in t.columns
        ],
        rows=[_row(r) for r in t.rows],
        total=_row(t.total),
        weights=t.weights,
        red_below=t.thresholds[0],
        yellow_below=t.thresholds[1],
    )


def _config(kind: str) -> AssessmentConfigOut:
    red, yellow = selectors.thresholds_of(kind)
    return AssessmentConfigOut(
        kind=kind, weights=selectors.weights_of(kind), red_below=red, yellow_below=yellow
    )


@router.get(
    "/config/{kind}",
    response={200: AssessmentConfigOut, **READ_ERRORS},
    url_name="assessment_config",
    summary="Configuration",
)
def config(request: HttpRequest, kind: KindName):
    """The weights and thresholds in force for a kind of object."""
    _reader(request)
    return _config(kind)


@router.put(
    "/config/{kind}/weights",
    response={200: AssessmentConfigOut, **BODY_ERRORS},
    url_name="assessment_weights",
    summary="Set the weights",
)
def set_weights(request: HttpRequest, kind: KindName, body: AssessmentWeightsIn):
    """Replace the weights of a kind (indicator code → weight; the kind's rates only)."""
    user = _reader(request)
    services.do_set_weights(kind, dict(body.weights), actor=user, ip=client_ip(request))
    return _config(kind)


@router.put(
    "/config/{kind}/thresholds",
    response={200: AssessmentConfigOut, **BODY_ERRORS},
    url_name="assessment_thresholds",
    summary="Set the thresholds",
)
def set_thresholds(request: HttpRequest, kind: KindName, body: AssessmentThresholdsIn):
    user = _reader(request)
    services.do_set_thresholds(kind, body.red_below, body.yellow_below, actor=user, ip=client_ip(request))
    return _config(kind)


def _exclusion(x) -> AssessmentExclusionOut:
    return AssessmentExclusionOut(
        id=x.pk, case=x.case.number, reason_kind=x.reason_kind, reason=x.reason, active=x.active
    )


@router.get(
    "/exclusions",
    response={200: list[AssessmentExclusionOut], **READ_ERRORS},
    url_name="assessment_exclusions",
    summary="Exclusions",
)
def exclusions(request: HttpRequest):
    user = _reader(request)
    return [_exclusion(x) for x in selectors.exclusions(user)[:200]]


@router.post(
    "/exclusions",
    response={201: AssessmentExclusionOut, **BODY_ERRORS},
    url_name="assessment_exclude",
    summary="Exclude a case",
)
def exclude(request: HttpRequest, body: AssessmentExclusionIn):
    user = _reader(request)
    x = services.do_exclude(body.case, body.reason_kind, body.reason, actor=user, ip=client_ip(request))
    return 201, _exclusion(x)


@router.post(
    "/exclusions/{exclusion_id}/revoke",
    response={200: AssessmentExclusionOut, **BODY_ERRORS},
    url_name="assessment_revoke",
    summary="Count a case again",
)
def revoke(request: HttpRequest, exclusion_id: Id):
    user = _reader(request)
    if not selectors.exclusions(user).filter(pk=exclusion_id).exists():
        raise Http404
    return _exclusion(services.do_revoke_exclusion(exclusion_id, actor=user, ip=client_ip(request)))


def _appeal(a) -> AssessmentAppealOut:
    return AssessmentAppealOut(
        id=a.pk, case=a.case.number, reason=a.reason, state=a.state, decision_note=a.decision_note
    )


@router.get(
    "/appeals",
    response={200: list[AssessmentAppealOut], **READ_ERRORS},
    url_name="assessment_appeals",
    summary="Appeals",
)
def appeals(request: HttpRequest):
    user = _reader(request)
    return [_appeal(a) for a in selectors.appeals(user)[:200]]


@router.post(
    "/appeals",
    response={201: AssessmentAppealOut, **BODY_ERRORS},
    url_name="assessment_appeal",
    summary="Appeal a case",
)
def appeal(request: HttpRequest, body: AssessmentAppealIn):
    user = _reader(request)
    return 201, _appeal(services.do_appeal(body.case, body.reason, actor=user, ip=client_ip(request)))


@router.post(
    "/appeals/{appeal_id}/decide",
    response={200: AssessmentAppealOut, **BODY_ERRORS},
    url_name="assessment_decide",
    summary="Decide an appeal",
)
def decide(request: HttpRequest, appeal_id: Id, body: AssessmentDecisionIn):
    user = _reader(request)
    if not selectors.appeals(user).filter(pk=appeal_id).exists():
        raise Http404
    return _appeal(
        services.do_decide_appeal(appeal_id, body.accept, body.note, actor=user, ip=client_ip(request))
    )


__all__ = ["Kind", "router", "weightable"]
