"""The only code that changes the assessment's configuration: weights, thresholds, exclusions and appeals.
Each function is one transaction with its audit record (core.audit) and a live event (core.outbox); bad input
is refused naming the field, and then nothing changes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.cases.models import Case
from gridgov.core import audit, outbox
from gridgov.core.errors import Conflict, Invalid, NotAllowed
from gridgov.core.scoping import visible_to

from .choices import AppealState, ExclusionReason, Kind
from .indicators import weightable
from .models import Appeal, Exclusion, Threshold, Weight
from .selectors import configures, excludes, reads

MAX_REASON = 1000
MAX_WEIGHT = Decimal(1000)


def _atomic() -> Any:
    return transaction.atomic(durable=not connection.in_atomic_block)


def _kind(kind: str) -> str:
    if kind not in Kind.values:
        raise Invalid(_("Choose towns, villages, grids, departments or workers."), field="kind")
    return kind


def _decimal(value: Any, field_name: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(_("Give a number."), field=field_name) from None
    if not d.is_finite() or d < low or d > high:
        raise Invalid(
            _("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high}, field=field_name
        )
    return d.quantize(Decimal("0.01"))


def _reason(value: Any, field_name: str = "reason") -> str:
    from gridgov.core.errors import clean_text

    return clean_text(value, field_name, MAX_REASON, label=_("reason"), required=True)


def _require(allowed: bool, message: Any) -> None:
    if not allowed:
        raise NotAllowed(message)


def do_set_weights(
    kind: str, weights: dict[str, Any], *, actor: Any, ip: str | None = None
) -> dict[str, Decimal]:
    """Replace the weights of `kind` (indicator code → weight ≥ 0; at least one above zero)."""
    _require(configures(actor), _("Only the county's leaders and centre set the weights."))
    kind = _kind(kind)
    allowed = weightable(kind)
    clean: dict[str, Decimal] = {}
    for code, value in weights.items():
        if code not in allowed:
            raise Invalid(_("%(code)s is not an indicator of this kind.") % {"code": code}, field=code)
        clean[code] = _decimal(value, code, Decimal(0), MAX_WEIGHT)
    if not any(clean.values()):
        raise Invalid(_("Give at least one indicator a weight above zero."), field="weights")
    now = timezone.now()
    with _atomic():
        before = {w.indicator: str(w.weight) for w in Weight.objects.select_for_update().filter(kind=kind)}
        Weight.objects.filter(kind=kind).delete()
        Weight.objects.bulk_create(
            [
                Weight(kind=kind, indicator=code, weight=w, updated_by=actor, updated_at=now)
                for code, w in clean.items()
            ]
        )
        data = {"kind": kind, "before": before, "after": {k: str(v) for k, v in clean.items()}}
        audit.record("assessment.weights", actor=actor, data=data, ip=ip)
        outbox.publish("assessment.config", {"kind": kind, "what": "weights"})
    return clean


def do_set_thresholds(
    kind: str, red_below: Any, yellow_below: Any, *, actor: Any, ip: str | None = None
) -> Threshold:
    _require(configures(actor), _("Only the county's leaders and centre set the thresholds."))
    kind = _kind(kind)
    red = _decimal(red_below, "red_below", Decimal(0), Decimal(100))
    yellow = _decimal(yellow_below, "yellow_below", Decimal(0), Decimal(100))
    if yellow < red:
        raise Invalid(_("The yellow threshold cannot be below the red one."), field="yellow_below")
    now = timezone.now()
    with _atomic():
        old = Threshold.objects.select_for_update().filter(kind=kind).first()
        before = {"red_below": str(old.red_below), "yellow_below": str(old.yellow_below)} if old else {}
        t, _created = Threshold.objects.update_or_create(
            kind=kind,
            defaults={"red_below": red, "yellow_below": yellow, "updated_by": actor, "updated_at": now},
        )
        audit.record(
            "assessment.thresholds",
            actor=actor,
            target=t,
            data={
                "kind": kind,
                "before": before,
                "after": {"red_below": str(red), "yellow_below": str(yellow)},
            },
            ip=ip,
        )
        outbox.publish("assessment.config", {"kind": kind, "what": "thresholds"})
    return t


def _case(actor: Any, number: Any, field_name: str = "case") -> Case:
    text = str(number or "").strip()
    if not text:
        raise Invalid(_("Give the case number."), field=field_name)
    case = visible_to(actor, Case).filter(number=text[:20]).first()
    if case is None:
        raise Invalid(
            _("No case you can see has the number %(number)s.") % {"number": text[:20]}, field=field_name
        )
    return case


def do_exclude(
    case_number: Any, reason_kind: str, reason: Any, *, actor: Any, ip: str | None = None
) -> Exclusion:
    """Leave a case out of assessment as an unreasonable or repeated complaint."""
    _require(excludes(actor), _("Only leaders and operators exclude cases from assessment."))
    if reason_kind not in (ExclusionReason.UNREASONABLE, ExclusionReason.REPEATED):
        raise Invalid(_("Choose unreasonable or repeated complaint."), field="reason_kind")
    text = _reason(reason)
    case = _case(actor, case_number)
    with _atomic():
        return _exclude(case, reason_kind, text, None, actor=actor, ip=ip)


def _exclude(
    case: Case, reason_kind: str, text: str, appeal: Appeal | None, *, actor: Any, ip: str | None
) -> Exclusion:
    try:
        with transaction.atomic():
            ex = Exclusion.objects.create(
                case=case,
                reason_kind=reason_kind,
                reason=text,
                appeal=appeal,
                by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise Conflict(
            _("Case %(number)s is already excluded from assessment.") % {"number": case.number}
        ) from None
    audit.record(
        "assessment.exclude",
        actor=actor,
        target=ex,
        data={"case": case.number, "reason_kind": reason_kind, "reason": text},
        ip=ip,
    )
    outbox.publish("assessment.exclusion", {"case": case.number, "active": True}, grid_l1_id=case.grid_l1_id)
    return ex


def do_revoke_exclusion(exclusion_id: int, *, actor: Any, ip: str | None = None) -> Exclusion:
    """Count an excluded case again."""
    _require(excludes(actor), _("Only leaders and operators exclude cases from assessment."))
    with _atomic():
        ex = (
            Exclusion.objects.select_for_update()
            .filter(pk=exclusion_id, case__in=visible_to(actor, Case).values("pk"))
            .select_related("case")
            .first()
        )
        if ex is None:
            raise Invalid(_("No such exclusion."), field="exclusion")
        if not ex.active:
            raise Conflict(_("This exclusion was revoked already."))
        Exclusion.objects.filter(pk=ex.pk).update(active=False, revoked_by=actor, revoked_at=timezone.now())
        ex.refresh_from_db()
        audit.record(
            "assessment.revoke_exclusion", actor=actor, target=ex, data={"case": ex.case.number}, ip=ip
        )
        outbox.publish(
            "assessment.exclusion", {"case": ex.case.number, "active": False}, grid_l1_id=ex.case.grid_l1_id
        )
    return ex


def do_appeal(case_number: Any, reason: Any, *, actor: Any, ip: str | None = None) -> Appeal:
    """A unit asks that a case of its scope not count against it."""
    _require(reads(actor), _("Only grid heads, operators, leaders and departments appeal."))
    text = _reason(reason)
    case = _case(actor, case_number)
    if Exclusion.objects.filter(case=case, active=True).exists():
        raise Conflict(_("Case %(number)s is already excluded from assessment.") % {"number": case.number})
    with _atomic():
        try:
            with transaction.atomic():
                appeal = Appeal.objects.create(
                    case=case, reason=text, filed_by=actor, filed_at=timezone.now()
                )
        except IntegrityError:
            raise Conflict(
                _("An appeal of case %(number)s is already waiting for a decision.") % {"number": case.number}
            ) from None
        audit.record(
            "assessment.appeal", actor=actor, target=appeal, data={"case": case.number, "reason": text}, ip=ip
        )
        outbox.publish(
            "assessment.appeal", {"case": case.number, "state": appeal.state}, grid_l1_id=case.grid_l1_id
        )
    return appeal


def do_decide_appeal(
    appeal_id: int, accept: bool, note: Any = "", *, actor: Any, ip: str | None = None
) -> Appeal:
    """Accept (the case is excluded from assessment) or reject a pending appeal; a rejection needs a reason."""
    _require(configures(actor), _("Only the county's leaders and centre decide appeals."))
    from gridgov.core.errors import clean_text

    text = clean_text(note, "note", MAX_REASON, label=_("decision note"), required=not accept)
    with _atomic():
        appeal = (
            Appeal.objects.select_for_update()
            .filter(pk=appeal_id, case__in=visible_to(actor, Case).values("pk"))
            .select_related("case")
            .first()
        )
        if appeal is None:
            raise Invalid(_("No such appeal."), field="appeal")
        if appeal.state != AppealState.PENDING:
            raise Conflict(_("This appeal was decided already."))
        state = AppealState.ACCEPTED if accept else AppealState.REJECTED
        now = timezone.now()
        Appeal.objects.filter(pk=appeal.pk, state=AppealState.PENDING).update(
            state=state, decided_by=actor, decided_at=now, decision_note=text
        )
        appeal.refresh_from_db()
        audit.record(
            "assessment.decide_appeal",
            actor=actor,
            target=appeal,
            data={"case": appeal.case.number, "state": state, "note": text},
            ip=ip,
        )
        if accept:
            _exclude(appeal.case, ExclusionReason.APPEAL, appeal.reason, appeal, actor=actor, ip=ip)
        outbox.publish(
            "assessment.appeal",
            {"case": appeal.case.number, "state": state},
            grid_l1_id=appeal.case.grid_l1_id,
        )
    return appeal
