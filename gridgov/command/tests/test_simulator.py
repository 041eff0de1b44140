"""The living demo's simulator: a run of steps on a small world reports cases, moves them on through the
workflow as users allowed to act, and sends alarms through the signed webhook, and the audit chain holds."""

from __future__ import annotations

from collections import Counter

from django.core.management import call_command

from gridgov.cases.choices import Action, Channel, State
from gridgov.cases.models import Case, CaseEvent
from gridgov.cases.workflow import BY_ACTION
from gridgov.command.alarms import do_create_alarm_source
from gridgov.command.cameras import CameraInput, do_save_camera
from gridgov.command.models import AlarmReceipt
from gridgov.command.simulator import Simulator
from gridgov.core.audit import verify_chain


def test_a_run_reports_moves_cases_on_and_keeps_the_chain(world):
    do_save_camera(
        CameraInput(
            name="路口",
            code="C1",
            kind="hls",
            hls_url="http://video.example.local/live/C1.m3u8",
            lon=109.01,
            lat=40.05,
        ),
        actor=world.banner_operator,
    )
    do_create_alarm_source(
        actor=None, code="iot", name="物联网平台", kind="iot", mapping={"bin": world.item.code}
    )
    do_create_alarm_source(
        actor=None, code="ai", name="视频分析", kind="video", mapping={"bin": world.item.code}
    )
    # Every report of the item the world's departments answer for: cases go all the way to closed.
    outcomes = Simulator(seed=7, items=[world.item.code]).run(steps=80, interval=0)
    kinds = Counter(o.kind for o in outcomes)
    assert kinds["report"] > 5 and kinds["advance"] > 5 and kinds["alarm"] > 0, kinds

    events = list(CaseEvent.objects.order_by("case_id", "seq"))
    actions = Counter(e.action for e in events)
    moved = (Action.ACCEPT, Action.DISPATCH, Action.SIGN, Action.FEEDBACK, Action.VERIFY_PASS)
    assert all(actions[a] for a in moved), actions
    assert Case.objects.filter(state=State.CLOSED).exists()
    # Every change of state is one the transition table allows, and every step is by a user.
    for e in events:
        assert e.actor_id is not None
        if e.action in BY_ACTION and e.from_state and e.from_state != e.to_state:
            t = BY_ACTION[e.action]
            assert e.from_state in t.sources, (e.action, e.from_state)
            assert t.target in (None, e.to_state) or t.target_without_unit == e.to_state
    channels = set(Case.objects.values_list("channel", flat=True))
    assert {Channel.WORKER_APP, Channel.HOTLINE} <= channels
    assert AlarmReceipt.objects.exists()
    report = verify_chain()
    assert report.broken_at is None and report.checked >= len(events)


def test_the_command_takes_n_steps(world, capsys):
    call_command("simulate", once=3, seed=1)
    out = capsys.readouterr().out
    assert "3" in out.splitlines()[-1]
    assert CaseEvent.objects.exists()
