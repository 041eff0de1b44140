"""Helpers of the mediation tests: committees and mediators as the back office makes them, valid ID numbers,
disputes driven through the real services, and a snapshot of everything a refusal must leave unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridgov.core.models import AuditRecord
from gridgov.mediation import services
from gridgov.mediation.models import (
    Agreement,
    Committee,
    Dispute,
    DisputeEvent,
    FollowUp,
    Mediator,
    Party,
    Session,
)
from gridgov.registry.validators import id_check_char


def make_committee(grid: Any, name: str, **fields: Any) -> Committee:
    committee = Committee(name=name, **fields)
    committee.place_in(grid)
    committee.save()
    return committee


def make_mediator(
    committee: Committee,
    name: str,
    *,
    areas: list[Any] = (),  # type: ignore[assignment]
    phone: str = "",
    **fields: Any,
) -> Mediator:
    mediator = Mediator(committee=committee, name=name, **fields, **services.phone_fields(phone))
    mediator.save()
    mediator.areas.set(areas)
    return mediator


def id_number(born: str = "19800101", serial: str = "123", region: str = "150621") -> str:
    """A valid GB 11643 ID number."""
    first = f"{region}{born}{serial}"
    return first + id_check_char(first)


def bad_id_number() -> str:
    """An ID number with a wrong check digit."""
    good = id_number()
    return good[:17] + ("0" if good[17] != "0" else "1")


def two_parties() -> list[dict[str, Any]]:
    return [
        {"role": "applicant", "name": "张三", "id_number": id_number(serial="111"), "phone": "13800001111"},
        {"role": "respondent", "name": "李四", "id_number": id_number(serial="222"), "phone": "13900002222"},
    ]


def receive(
    med: Any, actor: Any = None, *, parties: Any = None, now: dt.datetime | None = None, **kw: Any
) -> Dispute:
    """A dispute of world.grid received by the grid specialist (unless told), with two parties."""
    fields: dict[str, Any] = dict(
        kind="neighbours",
        title="邻居漏水纠纷",
        description="楼上漏水导致楼下墙面受损，双方就赔偿数额争执不下。",
        grid=med.w.grid,
        amount="3000",
        risk="medium",
    )
    fields.update(kw)
    return services.do_receive_dispute(
        actor=actor or med.w.specialist,
        parties=two_parties() if parties is None else parties,
        now=now,
        **fields,
    )


def mediate(
    med: Any,
    dispute: Dispute,
    *,
    committee: Committee | None = None,
    lead: Mediator | None = None,
    actor: Any = None,
    at: dt.datetime | None = None,
) -> Dispute:
    """Assign the dispute (to the grid's committee and its mediator unless told) and hold one session."""
    actor = actor or med.w.specialist
    committee = committee or med.grid_committee
    lead = lead or med.grid_mediator
    services.do_assign(dispute, actor=actor, committee=committee, lead=lead, now=at)
    held = at or dispute.received_at
    services.do_record_session(dispute, actor=actor, held_at=held, mediators=[lead], now=at)
    return Dispute.objects.get(pk=dispute.pk)


COUNTED = (Dispute, Party, Session, Agreement, FollowUp, DisputeEvent, AuditRecord)


def snapshot() -> dict[str, Any]:
    """Everything a refused call must leave as it was."""
    return {
        "counts": {m.__name__: m.objects.count() for m in COUNTED},
        "disputes": list(
            Dispute.objects.order_by("id").values_list(
                "id",
                "state",
                "version",
                "level",
                "committee_id",
                "lead_mediator_id",
                "settled_at",
                "failed_at",
            )
        ),
        "parties": list(
            Party.objects.order_by("id").values_list("id", "name", "id_number_index", "phone_index", "role")
        ),
        "follow_ups": list(FollowUp.objects.order_by("id").values_list("id", "done_at", "result")),
    }
