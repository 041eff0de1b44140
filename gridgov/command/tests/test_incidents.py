"""Emergencies (突发事件): the town's command centre declares one over two grids, dispatches two departments at
once (their staff are told), a department acknowledges, reports progress and finishes, the grid workers of the
affected grids are told, and it is closed with a report. Refusals name the field and change nothing; who sees
an incident is the subtree of its grids and the dispatched departments (404 for anyone else)."""

from __future__ import annotations

import pytest

from gridgov.cases.models import Notification
from gridgov.command import incidents_services as services
from gridgov.command.models import DispatchState, Incident, IncidentEvent, IncidentState
from gridgov.core.errors import Conflict, Invalid, NotAllowed
from gridgov.core.models import AuditRecord, OutboxEvent


def declare(w, **changes):
    fields = {
        "kind": "natural",
        "level": 3,
        "title": "暴雨致道路积水",
        "description": "凌晨强降雨，镇区低洼路段积水半米，两户房屋进水。",
        "place": "镇1东街低洼路段",
        "grids": [w.grid.code, w.grid_b.code],
        "lon": 109.01,
        "lat": 40.05,
    }
    fields.update(changes)
    return services.do_declare(actor=fields.pop("actor", w.operator), **fields)


def inbox(user, kind):
    return list(Notification.objects.filter(user=user, kind=kind).values_list("data", flat=True))


def test_declare_dispatch_answer_broadcast_and_close(world):
    w = world
    # Refusals: each names its field, and nothing is declared.
    with pytest.raises(Invalid) as no_title:
        declare(w, title=" ")
    assert no_title.value.field == "title"
    with pytest.raises(Invalid) as bad_level:
        declare(w, level=7)
    assert bad_level.value.field == "level"
    with pytest.raises(NotAllowed) as outside:
        declare(w, grids=[w.grid.code, w.other_grid.code])  # a grid of the other town
    assert outside.value.field == "grids"
    with pytest.raises(NotAllowed):
        declare(w, actor=w.specialist)
    assert Incident.objects.count() == 0

    incident = declare(w)
    assert incident.number.startswith("YJ") and incident.state == IncidentState.OPEN
    assert incident.grid == w.village and incident.grid_l1_id == w.town.pk
    assert AuditRecord.objects.filter(action="incident.declared", object_id=str(incident.pk)).count() == 1
    assert OutboxEvent.objects.filter(topic="incident.declared", grid_l1_id=w.town.pk).count() == 1

    # Two departments at once; their staff are told (the HW guide's village holds the grids).
    with pytest.raises(Invalid) as no_task:
        services.do_dispatch(incident.number, actor=w.operator, departments=[("HW", "清理积水"), ("ZF", "")])
    assert no_task.value.field == "departments.1.task"
    with pytest.raises(NotAllowed):
        services.do_dispatch(incident.number, actor=w.specialist, departments=[("HW", "x")])
    made = services.do_dispatch(
        incident.number,
        actor=w.operator,
        departments=[("HW", "抽排积水，清理路面"), ("ZF", "排查危房，转移群众")],
    )
    assert [d.department.code for d in made] == ["HW", "ZF"]
    for user in (w.handler, w.guide, w.assistant):
        assert [d["number"] for d in inbox(user, "incident_dispatch")] == [incident.number]
    assert inbox(w.other_handler, "incident_dispatch") == []
    with pytest.raises(Conflict):
        services.do_dispatch(incident.number, actor=w.operator, departments=[("HW", "再派一次")])

    # The department answers: acknowledge, progress, done; another department cannot answer for it.
    hw = made[0]
    with pytest.raises(NotAllowed):
        services.do_acknowledge(hw.pk, actor=w.assistant)
    with pytest.raises(Conflict):
        services.do_finish(hw.pk, actor=w.handler, note="已完成")  # not acknowledged yet
    assert services.do_acknowledge(hw.pk, actor=w.handler).state == DispatchState.ACKNOWLEDGED
    with pytest.raises(Invalid) as no_note:
        services.do_progress(hw.pk, actor=w.handler, note="")
    assert no_note.value.field == "note"
    services.do_progress(hw.pk, actor=w.handler, note="两台抽水泵到场")
    done = services.do_finish(hw.pk, actor=w.handler, note="积水已排净，道路恢复通行")
    assert done.state == DispatchState.DONE and done.progress == "积水已排净，道路恢复通行"

    # The grid workers of the two grids are told; those of other grids are not.
    told = services.do_broadcast(
        incident.number, actor=w.operator, message="请立即排查辖区低洼户，劝离危房住户"
    )
    assert told == 2
    for user in (w.specialist, w.officer):
        assert inbox(user, "incident_broadcast")[0]["message"].startswith("请立即排查")
    assert inbox(w.other_specialist, "incident_broadcast") == []

    # Closed with a report.
    with pytest.raises(Invalid) as no_summary:
        services.do_close(incident.number, actor=w.operator, summary="", measures="x")
    assert no_summary.value.field == "summary"
    with pytest.raises(Invalid) as bad_count:
        services.do_close(incident.number, actor=w.operator, summary="x", measures="x", injuries="-1")
    assert bad_count.value.field == "injuries"
    closed = services.do_close(
        incident.number,
        actor=w.leader,
        summary="强降雨致镇区积水，经处置已恢复。",
        measures="抽排积水，转移群众12人。",
        injuries=1,
        relocated_people=12,
        direct_loss="3.5",
    )
    assert (
        closed.state == IncidentState.CLOSED
        and closed.relocated_people == 12
        and str(closed.direct_loss) == "3.50"
    )
    with pytest.raises(Conflict):
        services.do_broadcast(incident.number, actor=w.operator, message="again")
    actions = list(IncidentEvent.objects.filter(incident=incident).values_list("action", flat=True))
    assert actions == [
        "declared",
        "dispatched",
        "dispatched",
        "acknowledged",
        "progress",
        "done",
        "broadcast",
        "closed",
    ]
    assert all(IncidentEvent.objects.filter(incident=incident).values_list("actor_id", flat=True))
    topics = set(OutboxEvent.objects.filter(topic__startswith="incident.").values_list("topic", flat=True))
    assert {"incident.declared", "incident.dispatched", "incident.acknowledged", "incident.closed"} <= topics


def test_scope_pages_and_api(world, client, django_assert_max_num_queries):
    w = world
    client.force_login(w.operator)
    declared = client.post(
        "/api/command/incidents",
        {
            "kind": "accident",
            "level": 4,
            "title": "化工厂泄漏",
            "description": "储罐阀门泄漏，有刺激性气味。",
            "place": "镇1工业园",
            "grids": [w.grid.code],
        },
        content_type="application/json",
    )
    assert declared.status_code == 201, declared.content
    number = declared.json()["number"]
    page = f"/command/incidents/{number}/"
    sent = client.post(
        f"/api/command/incidents/{number}/dispatches",
        {"departments": [{"department": "HW", "task": "监测空气"}]},
        content_type="application/json",
    )
    assert sent.status_code == 201
    sees = {
        w.operator: True,
        w.l1head: True,
        w.l2head: True,
        w.specialist: True,
        w.handler: True,  # dispatched
        w.leader: True,
        w.other_specialist: False,  # another grid, and none of its ancestors is affected
        w.other_operator: False,
        w.assistant: False,  # ZF was not dispatched
        w.resident: False,
    }
    for user, visible in sees.items():
        client.force_login(user)
        assert client.get(page).status_code == (200 if visible else 404), user.username
        answer = client.get(f"/api/command/incidents/{number}")
        assert answer.status_code == (200 if visible else (403 if user == w.resident else 404)), user.username
    # The department acknowledges through the API; the operator of another town cannot close it.
    client.force_login(w.handler)
    dispatch_id = sent.json()[0]["id"]
    ack = client.post(
        f"/api/command/incidents/{number}/dispatches/{dispatch_id}/acknowledge",
        {},
        content_type="application/json",
    )
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    client.force_login(w.other_operator)
    refused = client.post(
        f"/api/command/incidents/{number}/close",
        {"summary": "x", "measures": "y"},
        content_type="application/json",
    )
    assert refused.status_code == 404
    client.force_login(w.operator)
    with django_assert_max_num_queries(12):  # whatever the number of dispatches and steps
        assert client.get(page).status_code == 200
    bad = client.post(f"/command/incidents/{number}/close/", {"summary": "", "measures": "y"})
    assert bad.status_code == 422 and 'id="id_summary-errors"' in bad.content.decode()
    closed = client.post(
        f"/command/incidents/{number}/close/", {"summary": "泄漏已封堵", "measures": "疏散周边群众"}
    )
    assert closed.status_code == 302
    report = client.get(f"/command/incidents/{number}/report/")
    assert report.status_code == 200 and "泄漏已封堵" in report.content.decode()


def test_the_demo_seeds_hotspots_and_emergencies(db, client):
    from dataclasses import replace

    from gridgov.command.models import Hotspot
    from gridgov.demo.config import DemoConfig
    from gridgov.demo.seed import seed_demo

    config = replace(DemoConfig.small(), disputes=0, activities=0, team_tasks=0)
    report = seed_demo(config).incidents
    assert report is not None
    assert report.hotspots >= 3 and report.incidents == 2
    statuses = set(Hotspot.objects.values_list("status", flat=True))
    assert {"new", "working", "resolved"} <= statuses
    assert Incident.objects.filter(state="closed").count() == 1
    # The demo accounts find them: the banner operator both emergencies, the demo handler (ZF) its task.
    from gridgov.accounts.models import User

    client.force_login(User.objects.get(username="handler"))
    listed = client.get("/command/incidents/?state=all").content.decode()
    assert listed.count('class="incident-row') == 2
    client.force_login(User.objects.get(username="town_operator"))
    assert client.get("/command/hotspots/").content.decode().count('class="hotspot-row"') >= 1
