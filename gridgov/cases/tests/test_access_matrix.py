"""The access matrix of the case API: every role × every operation under /api/cases/ × cases inside and outside
the caller's scope.

Four cases, all of item 011001:

- A: reported in world.grid by world.resident (王小明) through the app, with a JPEG carrying EXIF; signed by HW.
- B: taken on the 12345 hotline by the town's operator for 李四 (13812345678), with a photo; dispatched.
- C: the same, but the caller asked to stay confidential (赵敏): only operators see who reported.
- D: reported in the other town by world.other_resident (陈大文); dispatched to GA.

A, B and C go to HW with ZF assisting and carry a public comment, a staff-only note and a supervision.

What is checked, for every user of the world (plus a volunteer and one administrator per duty) and an
anonymous client:

- who sees which case: a table written by hand from the domain rules, compared with `visible_to`;
- a case the caller does not see answers 404 on every operation that names it (never 403, never 200), and
  never shows in the list, the queues or the inbox; anonymous callers get 401 everywhere;
- a case the caller sees answers its detail (200); its harmless action (comment) and a state-changing one
  (suspend) answer 200 or 403 as the caller's capacities say; "me too" answers 200;
- the reporter's name and phone never reach a role that may not see who reported (not even masked), and reach
  the others masked only, except through /reporter/unmask (operators only, audited);
- evidence is served as its public copy (no EXIF), never as the original.

The operations walked are checked against the OpenAPI document, so that a new one cannot be forgotten.
Actions that change something run in a savepoint that is rolled back, so every request sees the same scene."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from gridgov.accounts.models import RoleAssignment
from gridgov.cases import selectors
from gridgov.cases.choices import Queue
from gridgov.cases.models import Case, CaseEvent, Comment, Evidence, Notification
from gridgov.cases.services import Report, Step, do_report, do_transition
from gridgov.cases.tests.helpers import HERE, USER_NAMES, undone
from gridgov.cases.workflow import BY_ACTION
from gridgov.core.models import AuditRecord
from gridgov.core.scoping import visible_to

pytestmark = pytest.mark.django_db
API = "/api/cases/"
CASES = "ABCD"
# Inside world.other_grid (150621101200001, 109.100-109.125 E): the other town's first grid.
OTHER_GRID = (109.11, 40.05)


@pytest.fixture(autouse=True)
def quick(settings, tmp_path):
    """Cheap password hashing for the many users; evidence in tmp; no triage model."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TRIAGE_MODEL_PATH = tmp_path / "no-triage.model"


# ------------------------------------------------------------------------------------------------- the tables


@dataclass(frozen=True)
class Secret:
    """Who reported a case, as stored, and as a role allowed to see it is shown it."""

    name: str
    phone: str
    masked_name: str
    masked_phone: str
    kind: str


# Written by hand, not through `mask_name` / `mask_phone`.
SECRETS = {
    "A": Secret("王小明", "13900001111", "王*明", "139****1111", "resident"),
    "B": Secret("李四", "13812345678", "李*", "138****5678", "anonymous"),
    "C": Secret("赵敏", "13700002222", "赵*", "137****2222", "anonymous"),
    "D": Secret("陈大文", "13600003333", "陈*文", "136****3333", "resident"),
}
# The user (by world name) whose own report each case is.
REPORTER = {"A": "resident", "D": "other_resident"}

# Who sees which case, from the domain rules: grid roles their subtree (operator/l1 head: town t; l2 head:
# village v; specialist/officer: grid g; other_*: the other town; banner operator and leader: the root);
# department handlers the cases dispatched to their department (A-C: HW lead, ZF assisting; D: GA); the grid
# guide (HW in village v) HW's cases in village v; residents their own; administrators everything;
# mediators and volunteers nothing.
SEES: dict[str, str] = {
    "operator": "ABC",
    "banner_operator": "ABCD",
    "other_operator": "D",
    "l1head": "ABC",
    "l2head": "ABC",
    "specialist": "ABC",
    "officer": "ABC",
    "other_specialist": "D",
    "handler": "ABC",
    "assistant": "ABC",
    "other_handler": "D",
    "guide": "ABC",
    "leader": "ABCD",
    "resident": "A",
    "other_resident": "D",
    "mediator": "",
    "volunteer": "",
    "audit_admin": "ABCD",
    "system_admin": "ABCD",
    "security_admin": "ABCD",
}
# Who sees (masked) who reported: operators; the grid's staff and level-2 head unless confidential; the
# reporter. Never departments, guides, leaders, level-1 heads, administrators, other residents.
SEES_REPORTER: dict[str, str] = {
    "operator": "ABC",
    "banner_operator": "ABCD",
    "other_operator": "D",
    "l2head": "AB",
    "specialist": "AB",
    "officer": "AB",
    "other_specialist": "D",
    "resident": "A",
    "other_resident": "D",
}
OPERATORS = frozenset({"operator", "banner_operator", "other_operator"})
ADMINS = frozenset({"audit_admin", "system_admin", "security_admin"})
RESIDENTS = frozenset({"resident", "other_resident"})
ALL_USERS = (*USER_NAMES, "volunteer", *sorted(ADMINS))
# Whose roles hold no cases: no live updates of case lists.
NO_LIVE = frozenset({"resident", "other_resident", "mediator", "volunteer"})
# Who sees a new report placed in world.grid (still "reported", no unit yet): the grid roles covering it,
# the administrators, and its reporter (a resident reporting sees their own report).
SEES_NEW_REPORT = frozenset(
    {
        "operator",
        "banner_operator",
        "l1head",
        "l2head",
        "specialist",
        "officer",
        "leader",
        *ADMINS,
        *RESIDENTS,
    }
)
# Text only staff may read: a note among staff, and a supervision's reason.
STAFF_ONLY = ("内部备注：需协调执法车辆", "督办：请加快处理")


def comment_status(name: str) -> int:
    """Commenting is for everybody with a capacity on the case; administrators see cases but hold none."""
    return 403 if name in ADMINS else 200


def suspend_status(name: str) -> int:
    return 200 if name in OPERATORS else 403


def unmask_status(name: str) -> int:
    return 200 if name in OPERATORS else 403


# ------------------------------------------------------------------------------------------------- the scene


@dataclass(repr=False)
class Scene:
    world: Any
    users: dict[str, Any]
    numbers: dict[str, str]  # case letter → number
    evidence: dict[str, list[int]]  # case letter → evidence ids
    originals: dict[int, bytes]
    publics: dict[int, bytes]
    indexes: dict[str, str]  # case letter → blind index of the reporter's phone
    keys: dict[str, str]  # case letter → idempotency key it was reported with
    # Who sees which case and whose reporter (the tables above; a probe may add users).
    sees: dict[str, str] = field(default_factory=lambda: dict(SEES))
    sees_reporter: dict[str, str] = field(default_factory=lambda: dict(SEES_REPORTER))
    problems: list[str] = field(default_factory=list)
    hit: set[tuple[str, str]] = field(default_factory=set)
    requests: int = 0

    def letter(self, number: str) -> str | None:
        return next((k for k, n in self.numbers.items() if n == number), None)


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x013B] = "王小明"  # Artist: personal data in the metadata, too
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 30)).save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def png_with_text(colour: tuple[int, int, int], author: str) -> bytes:
    """A PNG photo whose text chunks name who took it."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("Author", author)
    info.add_text("Comment", "PhoneMaker")
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _upload(name: str, data: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def _step(world: Any, number: str, action: str, who: str, **fields: Any) -> None:
    do_transition(number, action, Step(**fields), actor=getattr(world, who))


def _hotline(world: Any, png: bytes, letter: str, *, confidential: bool) -> str:
    """A hotline report taken by the town's operator through the API; its answer shows the caller masked."""
    secret = SECRETS[letter]
    client = Client()
    client.force_login(world.operator)
    response = client.post(
        API,
        {
            "channel": "hotline",
            "description": "小区门口垃圾箱满了没人清运",
            "item": "011001",
            "lon": str(HERE[0]),
            "lat": str(HERE[1]),
            "reporter_name": secret.name,
            "reporter_phone": secret.phone,
            "confidential": "true" if confidential else "false",
            "force": "true",
            "idempotency_key": f"hotline-{letter}",
            "files": [_upload("photo.png", png, "image/png")],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    body["case"] = client.get(f"/api/cases/{body['case']['number']}").json()
    assert body["case"]["reporter"] == {
        "kind": "anonymous",
        "kind_label": body["case"]["reporter"]["kind_label"],
        "name": secret.masked_name,
        "phone": secret.masked_phone,
    }
    text = json.dumps(body, ensure_ascii=False)
    assert secret.name not in text and secret.phone not in text
    return body["case"]["number"]


@pytest.fixture
def scene(world, make_user) -> Scene:
    w = world
    w.other_resident.full_name = SECRETS["D"].name
    w.other_resident.save(update_fields=["full_name"])
    volunteer = make_user("vol", full_name="vol")
    RoleAssignment.objects.create(user=volunteer, role="volunteer", grid=w.village)
    users = {name: getattr(w, name) for name in USER_NAMES}
    users["volunteer"] = volunteer
    for duty in ("audit", "system", "security"):
        users[f"{duty}_admin"] = make_user(
            f"{duty}-admin", full_name=f"{duty}-admin", is_staff=True, admin_duty=duty
        )

    a = do_report(
        Report(
            channel="resident_app",
            description="垃圾箱满了没人清运",
            item="011001",
            lon=HERE[0],
            lat=HERE[1],
            reporter_phone=SECRETS["A"].phone,
            idempotency_key="app-A",
            files=[("photo.jpg", jpeg_with_exif())],
            force=True,
        ),
        actor=w.resident,
    ).case
    numbers = {"A": a.number}
    numbers["B"] = _hotline(w, png_with_text((200, 200, 0), SECRETS["B"].name), "B", confidential=False)
    numbers["C"] = _hotline(w, png_with_text((0, 200, 200), SECRETS["C"].name), "C", confidential=True)
    d = do_report(
        Report(
            channel="resident_app",
            description="路边垃圾箱破损",
            item="011001",
            lon=OTHER_GRID[0],
            lat=OTHER_GRID[1],
            reporter_phone=SECRETS["D"].phone,
            idempotency_key="app-D",
            files=[("photo.png", png_with_text((90, 90, 90), SECRETS["D"].name))],
            force=True,
        ),
        actor=w.other_resident,
    ).case
    numbers["D"] = d.number

    for letter in "ABC":
        n = numbers[letter]
        _step(w, n, "accept", "operator")
        _step(w, n, "dispatch", "operator", unit="HW", assisting=["ZF"])
        _step(w, n, "comment", "operator", note="已转环卫处理")
        _step(w, n, "comment", "handler", note=STAFF_ONLY[0], public=False)
        _step(w, n, "supervise", "leader", card="yellow", reason=STAFF_ONLY[1])
    _step(w, numbers["A"], "comment", "resident", note="谢谢，请尽快")
    _step(w, numbers["A"], "sign", "handler")
    _step(w, numbers["D"], "accept", "other_operator")
    _step(w, numbers["D"], "dispatch", "other_operator", unit="GA")
    _step(w, numbers["D"], "comment", "other_handler", note="已派人查看")
    _step(w, numbers["D"], "supervise", "leader", card="yellow", reason=STAFF_ONLY[1])
    _step(w, numbers["D"], "comment", "other_resident", note="好的")

    cases = {k: Case.objects.get(number=n) for k, n in numbers.items()}
    evidence = {
        k: list(Evidence.objects.filter(case=c).order_by("id").values_list("pk", flat=True))
        for k, c in cases.items()
    }
    originals, publics = {}, {}
    for ev in Evidence.objects.all():
        with ev.original.open("rb") as f:
            originals[ev.pk] = f.read()
        with ev.public.open("rb") as f:
            publics[ev.pk] = f.read()
    assert all(evidence.values()), evidence
    assert all(b"PhoneMaker" in data for data in originals.values())  # what must not be served
    return Scene(
        world=w,
        users=users,
        numbers=numbers,
        evidence=evidence,
        originals=originals,
        publics=publics,
        indexes={k: c.reporter_phone_index for k, c in cases.items()},
        keys={"A": "app-A", "B": "hotline-B", "C": "hotline-C", "D": "app-D"},
    )


def client_of(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# ------------------------------------------------------------------------------------------------- checking


def body_text(response) -> str:
    """The whole answer as text (JSON re-dumped without escapes, so that Chinese names can be searched)."""
    if getattr(response, "streaming", False):
        data = b"".join(response.streaming_content)
        return data.decode("utf-8", "replace")
    content = response.content
    try:
        return json.dumps(json.loads(content), ensure_ascii=False)
    except ValueError:
        return content.decode("utf-8", "replace")


def leaks(scene: Scene, name: str, text: str, *, unmasked: str | None = None) -> list[str]:
    """Personal data of a reporter found in an answer to `name`. `unmasked`: the case whose reporter this answer
    legitimately shows in full (an operator's /reporter/unmask)."""
    found = []
    for letter, s in SECRETS.items():
        if letter == unmasked:
            continue
        own = REPORTER.get(letter) == name
        may_see = letter in scene.sees_reporter.get(name, "")
        forbidden = {"full phone": s.phone, "phone index": scene.indexes[letter]}
        if not own:  # the reporter's own account name is shown to themselves
            forbidden["full name"] = s.name
        if not may_see:
            forbidden |= {"masked name": s.masked_name, "masked phone": s.masked_phone}
        found += [
            f"{what} of {letter}'s reporter ({value})" for what, value in forbidden.items() if value in text
        ]
    if name in RESIDENTS or name in ("mediator", "volunteer"):
        found += [f"staff-only text {t!r}" for t in STAFF_ONLY if t in text]
    return found


def check(
    scene: Scene,
    name: str,
    what: str,
    response,
    expected: int | set[int],
    *,
    unmasked: str | None = None,
) -> str:
    """Record a wrong status or a leak of one answer; return its text."""
    text = body_text(response)
    allowed = {expected} if isinstance(expected, int) else expected
    if response.status_code not in allowed:
        scene.problems.append(
            f"{name}: {what} answered {response.status_code}, expected {sorted(allowed)}: {text[:200]}"
        )
    for leak in leaks(scene, name, text, unmasked=unmasked):
        scene.problems.append(f"{name}: {what} ({response.status_code}) shows the {leak}")
    return text


def call(
    scene: Scene,
    client: Client,
    method: str,
    template: str,
    params: dict[str, Any] | None = None,
    **kwargs: Any,
):
    """Call the operation `template` (an OpenAPI path) with its path parameters, and note it as covered."""
    scene.hit.add((template, method))
    scene.requests += 1
    url = template.format(**(params or {}))
    return getattr(client, method)(url, **kwargs)


def cases_in(response) -> set[str]:
    return {c["number"] for c in response.json()["items"]} if response.status_code == 200 else set()


# ------------------------------------------------------------------------------------------------- the document


def case_operations() -> set[tuple[str, str]]:
    from gridgov.api import api

    paths = api.get_openapi_schema()["paths"]
    return {(p, m) for p, ops in paths.items() if p.startswith(API) for m in ops}


def test_the_document_lists_the_operations_this_matrix_walks():
    """A new operation under /api/cases/ must be added to the matrix (the matrix test checks it called each)."""
    assert case_operations() == {
        ("/api/cases/", "get"),
        ("/api/cases/", "post"),
        ("/api/cases/queues", "get"),
        ("/api/cases/queues/{name}", "get"),
        ("/api/cases/inbox", "get"),
        ("/api/cases/inbox/read", "post"),
        ("/api/cases/triage", "get"),
        ("/api/cases/changes", "get"),
        ("/api/cases/{number}", "get"),
        ("/api/cases/{number}/actions/{action}", "post"),
        ("/api/cases/{number}/me-too", "post"),
        ("/api/cases/{number}/evidence/{evidence_id}", "get"),
        ("/api/cases/{number}/reporter/unmask", "post"),
    }


# ------------------------------------------------------------------------------------------------- visibility


def test_the_hand_written_table_agrees_with_visible_to(scene):
    assert set(SEES) == set(scene.users) and set(SEES_REPORTER) <= set(SEES)
    disagree = []
    for name, user in scene.users.items():
        seen = {scene.letter(n) for n in visible_to(user, Case).values_list("number", flat=True)}
        if seen != set(SEES[name]):
            disagree.append(f"{name}: visible_to gives {sorted(seen)}, the table {sorted(SEES[name])}")
        for letter in SEES[name]:
            case = Case.objects.get(number=scene.numbers[letter])
            if selectors.reporter_visible(user, case) != (letter in SEES_REPORTER.get(name, "")):
                disagree.append(f"{name}: reporter_visible on {letter} disagrees with the table")
        # What hangs off a case follows the case.
        for model in (CaseEvent, Evidence, Comment):
            rows = {scene.letter(n) for n in visible_to(user, model).values_list("case__number", flat=True)}
            if not rows <= set(SEES[name]):
                disagree.append(f"{name}: sees {model.__name__} rows of {sorted(rows - set(SEES[name]))}")
        if name in RESIDENTS and visible_to(user, Comment).filter(public=False).exists():
            disagree.append(f"{name}: sees a note among staff")
    assert not disagree, "\n".join(disagree)
    assert visible_to(None, Case).count() == 0


# ------------------------------------------------------------------------------------------------- the matrix


def _lists(scene: Scene, name: str, client: Client) -> None:
    """List, queues, inbox, triage: a case out of scope never appears; nothing personal leaks."""
    sees = {scene.numbers[k] for k in scene.sees[name]}
    r = call(scene, client, "get", "/api/cases/", params={}, data={"limit": 100})
    check(scene, name, "GET list", r, 200)
    if cases_in(r) != sees:
        scene.problems.append(f"{name}: the list holds {sorted(map(scene.letter, cases_in(r)))}")
    for letter, number in scene.numbers.items():
        r = call(scene, client, "get", "/api/cases/", data={"number": number})
        check(scene, name, f"GET list?number={letter}", r, 200)
        if cases_in(r) != ({number} & sees):
            scene.problems.append(f"{name}: list?number={letter} holds {sorted(cases_in(r))}")
    r = call(scene, client, "get", "/api/cases/queues")
    check(scene, name, "GET queues", r, 200)
    counts = {q["name"]: q["count"] for q in r.json()} if r.status_code == 200 else {}
    for q in Queue.values:
        r = call(scene, client, "get", "/api/cases/queues/{name}", {"name": q}, data={"limit": 100})
        check(scene, name, f"GET queues/{q}", r, 200)
        held = cases_in(r)
        if not held <= sees:
            scene.problems.append(
                f"{name}: queue {q} holds {sorted(map(scene.letter, held - sees))}, out of scope"
            )
        if counts.get(q) != len(held):
            scene.problems.append(f"{name}: queue {q} counts {counts.get(q)} but lists {len(held)}")
    r = call(scene, client, "get", "/api/cases/inbox", data={"limit": 100})
    check(scene, name, "GET inbox", r, 200)
    for n in r.json()["items"] if r.status_code == 200 else []:
        if n["case"] is not None and n["case"] not in sees:
            scene.problems.append(f"{name}: inbox tells of {scene.letter(n['case'])}, out of scope")
    user = scene.users[name]
    others = list(
        Notification.objects.exclude(user=user).filter(read_at__isnull=True).values_list("pk", flat=True)
    )
    r = call(
        scene, client, "post", "/api/cases/inbox/read", data={"ids": others}, content_type="application/json"
    )
    check(scene, name, "POST inbox/read (others' ids)", r, 200)
    if r.status_code == 200 and r.json()["marked"] != 0:
        scene.problems.append(f"{name}: marked {r.json()['marked']} notifications of other users read")
    r = call(scene, client, "get", "/api/cases/triage", data={"text": "垃圾箱满了"})
    check(scene, name, "GET triage", r, 200 if name in OPERATORS else 403)
    # Live pages: staff whose roles hold cases (the answer is a hint; the page reads its own scoped list).
    r = call(scene, client, "get", "/api/cases/changes", data={"after": 0})
    check(scene, name, "GET changes", r, 403 if name in NO_LIVE else 200)


def _intake(scene: Scene, name: str, client: Client) -> None:
    """A report at case A's place: the "already reported" offer shows nothing personal; the new case comes
    back only to who may see it; somebody else's idempotency key reveals nothing out of scope. (Intake is
    one durable transaction, so it cannot run in a savepoint: the matrix reports after everything else.)"""
    data = {
        "channel": "resident_app",
        "description": "这里垃圾箱满了",
        "item": "011001",
        "lon": str(HERE[0]),
        "lat": str(HERE[1]),
    }
    r = call(scene, client, "post", "/api/cases/", data=data)
    check(scene, name, "POST intake (near A)", r, 409)
    r = call(scene, client, "post", "/api/cases/", data={**data, "force": "true"})
    check(scene, name, "POST intake (forced)", r, 201)
    if r.status_code == 201 and (r.json()["case"] is not None) != (name in SEES_NEW_REPORT):
        shown = "in full" if r.json()["case"] else "as null"
        scene.problems.append(f"{name}: intake answered the new case {shown}")
    for letter, key in scene.keys.items():
        r = call(scene, client, "post", "/api/cases/", data={**data, "force": "true", "idempotency_key": key})
        text = check(scene, name, f"POST intake (key of {letter})", r, {200, 409})
        if letter not in scene.sees[name] and scene.numbers[letter] in text:
            scene.problems.append(
                f"{name}: replaying the idempotency key of {letter} answers {r.status_code} with its number "
                "and state, out of scope"
            )


def _one_case(scene: Scene, name: str, client: Client, letter: str) -> None:
    number = scene.numbers[letter]
    sees = letter in scene.sees[name]
    p = {"number": number}
    what = f"case {letter}"

    r = call(scene, client, "get", "/api/cases/{number}", p)
    check(scene, name, f"GET {what}", r, 200 if sees else 404)
    if sees and r.status_code == 200:
        detail = r.json()
        s = SECRETS[letter]
        expected = (
            {
                "kind": s.kind,
                "kind_label": (detail["reporter"] or {}).get("kind_label"),
                "name": s.masked_name,
                "phone": s.masked_phone,
            }
            if letter in scene.sees_reporter.get(name, "")
            else None
        )
        if detail["reporter"] != expected:
            scene.problems.append(
                f"{name}: {what} shows the reporter as {detail['reporter']}, expected {expected}"
            )
        for ev in detail["evidence"]:
            if set(ev) != {"id", "phase", "phase_label", "kind", "content_type", "url", "created_at"}:
                scene.problems.append(f"{name}: {what} evidence entry has fields {sorted(ev)}")
            if ev["url"] != f"{API}{number}/evidence/{ev['id']}":
                scene.problems.append(f"{name}: {what} evidence url {ev['url']}")

    for action, fields, status_of in (
        ("comment", {"note": "看到了"}, comment_status),
        ("suspend", {"reason": "等待协调"}, suspend_status),
    ):
        with undone():
            r = call(
                scene,
                client,
                "post",
                "/api/cases/{number}/actions/{action}",
                {**p, "action": action},
                data=fields,
            )
            check(scene, name, f"POST {what} {action}", r, status_of(name) if sees else 404)
    if not sees:
        # Out of scope, every action is 404, whatever its fields and whoever may take it.
        for action in BY_ACTION:
            r = call(
                scene,
                client,
                "post",
                "/api/cases/{number}/actions/{action}",
                {**p, "action": action},
                data={"reason": "x", "note": "x"},
            )
            check(scene, name, f"POST {what} {action}", r, 404)

    with undone():
        r = call(scene, client, "post", "/api/cases/{number}/me-too", p, data={})
        check(scene, name, f"POST {what} me-too", r, 200 if sees else 404)

    for ev_id in scene.evidence[letter]:
        r = call(
            scene, client, "get", "/api/cases/{number}/evidence/{evidence_id}", {**p, "evidence_id": ev_id}
        )
        if not sees or r.status_code != 200:
            check(scene, name, f"GET {what} evidence {ev_id}", r, 200 if sees else 404)
            continue
        data = b"".join(r.streaming_content)
        # Every original carries metadata naming a device or a person; the answer is the copy without it.
        if data != scene.publics[ev_id] or data == scene.originals[ev_id]:
            scene.problems.append(f"{name}: {what} evidence {ev_id} is not its public copy")
        image = Image.open(io.BytesIO(data))
        personal = [s.name.encode() for s in SECRETS.values()] + [
            s.name.encode("utf-16-le") for s in SECRETS.values()
        ]
        if (
            image.getexif()
            or {"exif", "xmp", "Author", "Comment", "icc_profile"} & set(image.info)
            or b"PhoneMaker" in data
            or any(p in data for p in personal)
        ):
            scene.problems.append(f"{name}: {what} evidence {ev_id} carries metadata: {sorted(image.info)}")
        # The same evidence asked for under another case the caller sees is not found.
        for other in scene.sees[name].replace(letter, ""):
            r = call(
                scene,
                client,
                "get",
                "/api/cases/{number}/evidence/{evidence_id}",
                {"number": scene.numbers[other], "evidence_id": ev_id},
            )
            check(scene, name, f"GET {other}'s evidence {ev_id} (of {letter})", r, 404)

    with undone():
        before = AuditRecord.objects.filter(action="case.unmask_reporter").count()
        r = call(scene, client, "post", "/api/cases/{number}/reporter/unmask", p)
        status = unmask_status(name) if sees else 404
        check(
            scene, name, f"POST {what} reporter/unmask", r, status, unmasked=letter if status == 200 else None
        )
        audited = AuditRecord.objects.filter(action="case.unmask_reporter").count() - before
        if r.status_code == 200:
            s = SECRETS[letter]
            got = r.json()
            if (got["name"], got["phone"], got["kind"]) != (s.name, s.phone, s.kind):
                scene.problems.append(f"{name}: unmask of {letter} answered {got}")
            record = AuditRecord.objects.filter(action="case.unmask_reporter").order_by("-id").first()
            if audited != 1 or record is None or record.actor_id != scene.users[name].pk:
                scene.problems.append(f"{name}: unmask of {letter} wrote {audited} audit records")
        elif audited:
            scene.problems.append(f"{name}: a refused unmask of {letter} wrote {audited} audit records")


def _every_user(scene: Scene) -> Iterator[tuple[str, Client]]:
    for name in ALL_USERS:
        yield name, client_of(scene.users[name])


def test_every_role_every_operation_every_case(scene):
    for name, client in _every_user(scene):
        _lists(scene, name, client)
        for letter in CASES:
            _one_case(scene, name, client, letter)
    for name, client in _every_user(scene):
        _intake(scene, name, client)
    assert scene.hit == case_operations(), "the matrix must call every operation of the document"
    assert not scene.problems, f"{len(scene.problems)} problems in {scene.requests} requests:\n" + "\n".join(
        scene.problems
    )


def test_anonymous_callers_get_401_everywhere(scene):
    client = client_of(None)
    calls = [
        ("get", "/api/cases/", {}, {}),
        (
            "post",
            "/api/cases/",
            {},
            {"data": {"description": "x", "grid": scene.world.grid.code, "reporter_phone": "13912345678"}},
        ),
        ("get", "/api/cases/queues", {}, {}),
        ("get", "/api/cases/queues/{name}", {"name": "to_sign"}, {}),
        ("get", "/api/cases/inbox", {}, {}),
        ("post", "/api/cases/inbox/read", {}, {"data": {"all": True}, "content_type": "application/json"}),
        ("get", "/api/cases/triage", {}, {"data": {"text": "x"}}),
        ("get", "/api/cases/changes", {}, {"data": {"after": 0}}),
    ]
    for letter, number in scene.numbers.items():
        calls += [
            ("get", "/api/cases/{number}", {"number": number}, {}),
            (
                "post",
                "/api/cases/{number}/actions/{action}",
                {"number": number, "action": "comment"},
                {"data": {"note": "x"}},
            ),
            (
                "post",
                "/api/cases/{number}/actions/{action}",
                {"number": number, "action": "suspend"},
                {"data": {"reason": "x"}},
            ),
            ("post", "/api/cases/{number}/me-too", {"number": number}, {"data": {}}),
            ("post", "/api/cases/{number}/reporter/unmask", {"number": number}, {}),
        ]
        for ev_id in scene.evidence[letter]:
            calls.append(
                (
                    "get",
                    "/api/cases/{number}/evidence/{evidence_id}",
                    {"number": number, "evidence_id": ev_id},
                    {},
                )
            )
    for method, template, params, kwargs in calls:
        with undone():
            r = call(scene, client, method, template, params, **kwargs)
            check(scene, "anonymous", f"{method.upper()} {template.format(**params)}", r, 401)
            if r.status_code == 401 and r.json()["code"] != "unauthorized":
                scene.problems.append(f"anonymous: {template} answered {r.json()}")
    assert scene.hit == case_operations()
    assert not scene.problems, "\n".join(scene.problems)
    assert Case.objects.count() == 4


# ------------------------------------------------------------------------------------------------- probes


def test_a_second_role_elsewhere_does_not_open_the_reporter(scene, make_user):
    """Two people holding a department role plus a grid role in the other town: the department shows them
    HW's cases, but only a grid role covering a case shows who reported it (and lets an operator unmask)."""
    from gridgov.grids.models import Grid

    w = scene.world
    op2_hw = make_user("op2-hw", full_name="op2-hw")
    RoleAssignment.objects.create(user=op2_hw, role="operator", grid=Grid.objects.get(code="150621101"))
    RoleAssignment.objects.create(user=op2_hw, role="dept_handler", department=w.hw)
    spec2_hw = make_user("spec2-hw", full_name="spec2-hw")
    RoleAssignment.objects.create(user=spec2_hw, role="grid_specialist", grid=w.other_grid)
    RoleAssignment.objects.create(user=spec2_hw, role="dept_handler", department=w.hw)
    for name, user in (("op2_hw", op2_hw), ("spec2_hw", spec2_hw)):
        scene.users[name] = user
        scene.sees[name] = "ABCD"  # HW's cases, and the other town's
        scene.sees_reporter[name] = "D"  # only where a grid role covers the case
        client = client_of(user)
        for letter in CASES:
            number = scene.numbers[letter]
            assert visible_to(user, Case).filter(number=number).exists(), (name, letter)
            r = client.get(f"{API}{number}")
            check(scene, name, f"GET case {letter}", r, 200)
            shown = r.json()["reporter"] if r.status_code == 200 else None
            if (shown is not None) != (letter in scene.sees_reporter[name]):
                scene.problems.append(f"{name}: case {letter} shows the reporter as {shown}")
            with undone():
                r = client.post(f"{API}{number}/reporter/unmask")
                status = 200 if name == "op2_hw" and letter == "D" else 403
                check(
                    scene,
                    name,
                    f"POST case {letter} reporter/unmask",
                    r,
                    status,
                    unmasked=letter if status == 200 else None,
                )
    assert not scene.problems, "\n".join(scene.problems)


def test_the_phone_filter_tells_nothing_to_who_may_not_see_reporters(scene):
    """`?phone=` searches through the blind index: for a role that may not see who reported, it must not
    become an oracle of who reported which case it sees."""
    for name in ALL_USERS:
        client = client_of(scene.users[name])
        for letter, s in SECRETS.items():
            r = client.get(API, {"phone": s.phone})
            found = {scene.letter(n) for n in cases_in(r)}
            check(scene, name, f"GET list?phone=<{letter}'s>", r, 200)
            may = set(scene.sees_reporter.get(name, ""))
            if not found <= may:
                scene.problems.append(
                    f"{name}: list?phone=<{letter}'s phone> finds {sorted(found)}: who reported leaks"
                )
    assert not scene.problems, f"{len(scene.problems)} problems:\n" + "\n".join(scene.problems)
