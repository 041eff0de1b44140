"""Each role's home (its queues, the next things to do, recent notifications), the case list (filters, keyset
paging, batch-dispatch checkboxes for operators), its Excel export, and the notification inbox.

Every read goes through `cases.selectors` (scoped); nothing here changes a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from gridgov.accounts.choices import Role
from gridgov.catalog.models import Department
from gridgov.catalog.selectors import visible_items
from gridgov.core.audit import client_ip
from gridgov.core.scoping import holds_duty, visible_to
from gridgov.grids.models import Grid

from .. import selectors
from ..choices import OPEN_STATES, Channel, Colour, Queue, State
from ..errors import CaseError
from ..exports import export_response
from ..models import Case, Notification
from ..notify import link_of
from ..notify import render as render_notification
from ..scoping import held_roles, staff_roles

PAGE_SIZE = 50
INBOX_PAGE_SIZE = 30
NEXT_UP = 5

# The queues each role works from, on its home, in the order shown.
ROLE_QUEUES: dict[str, tuple[str, ...]] = {
    Role.OPERATOR: (Queue.TO_ACCEPT, Queue.TO_DISPATCH, Queue.DUE_SOON, Queue.OVERDUE, Queue.SUPERVISED),
    Role.DEPT_HANDLER: (Queue.TO_SIGN, Queue.HANDLING, Queue.DUE_SOON, Queue.OVERDUE),
    Role.GRID_GUIDE: (Queue.TO_SIGN, Queue.HANDLING, Queue.DUE_SOON, Queue.OVERDUE),
    Role.INFO_OFFICER: (Queue.TO_VERIFY,),
    Role.GRID_SPECIALIST: (Queue.TO_VERIFY,),
    Role.GRID_HEAD_L2: (Queue.OVERDUE, Queue.SUPERVISED),
    Role.GRID_HEAD_L1: (Queue.OVERDUE, Queue.SUPERVISED),
    Role.LEADER: (Queue.OVERDUE, Queue.SUPERVISED),
}
QUEUE_ORDER = (
    Queue.TO_ACCEPT,
    Queue.TO_DISPATCH,
    Queue.TO_SIGN,
    Queue.HANDLING,
    Queue.TO_VERIFY,
    Queue.DUE_SOON,
    Queue.OVERDUE,
    Queue.SUPERVISED,
)
# Which queue's cases come first in "next to do": overdue before anything else.
URGENCY = (
    Queue.OVERDUE,
    Queue.TO_ACCEPT,
    Queue.TO_SIGN,
    Queue.TO_VERIFY,
    Queue.TO_DISPATCH,
    Queue.DUE_SOON,
    Queue.SUPERVISED,
    Queue.HANDLING,
)
GRID_STAFF_ROLES = frozenset({Role.INFO_OFFICER, Role.GRID_SPECIALIST})
OVERVIEW_ROLES = frozenset({Role.GRID_HEAD_L1, Role.GRID_HEAD_L2, Role.LEADER})
# Deadline queues list the nearest (or the longest overdue) first.
DUE_SORTED = frozenset({Queue.DUE_SOON, Queue.OVERDUE})


# ------------------------------------------------------------------------------------------------- rows


@dataclass
class Row:
    case: Case
    colour: str
    colour_label: str
    countdown: str
    closed: bool
    dispatchable: bool


def countdown(case: Case, now: datetime) -> str:
    """ "due in 3 hours" / "overdue by 2 days" (wall-clock time to the working-time deadline); empty when no
    clock runs."""
    if case.due_at is None:
        return ""
    if now >= case.due_at:
        return _("overdue by %(time)s") % {"time": timesince(case.due_at, now, depth=1)}
    return _("due in %(time)s") % {"time": timeuntil(case.due_at, now, depth=1)}


def operator_paths(user: Any) -> list[str]:
    """The grids of the user's command centres: where they may dispatch."""
    return [h.grid_path for h in held_roles(user) if h.role == Role.OPERATOR and h.grid_path]


def rows_of(cases: list[Case], now: datetime, dispatch_paths: list[str] | None = None) -> list[Row]:
    out = []
    for case in cases:
        colour = selectors.colour(case, now)
        dispatchable = bool(
            dispatch_paths
            and case.state == State.REGISTERED
            and any(case.grid.path.startswith(p) for p in dispatch_paths)
        )
        out.append(
            Row(
                case=case,
                colour=colour,
                colour_label=str(Colour(colour).label) if colour else "",
                countdown=countdown(case, now),
                closed=case.state not in OPEN_STATES,
                dispatchable=dispatchable,
            )
        )
    return out


def _list_url(**params: str) -> str:
    return f"{reverse('cases:list')}?{urlencode(params)}"


def queue_url(name: str) -> str:
    params = {"queue": name}
    if name in DUE_SORTED:
        params["sort"] = "due"
    return _list_url(**params)


# ------------------------------------------------------------------------------------------------- home


def _admin_links(user: Any) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    if holds_duty(user, ("system",)):
        links += [
            (reverse("grids:manage"), _("Grids: draw, split, merge")),
            (reverse("catalog:items"), _("Responsibility list")),
            (reverse("catalog:rules"), _("Routing rules")),
            (reverse("catalog:calendar"), _("Working calendar")),
        ]
    if holds_duty(user, ("security",)):
        links.append((reverse("accounts:people"), _("People and role assignments")))
    if holds_duty(user, ("audit",)):
        links.append((reverse("admin:core_auditrecord_changelist"), _("Audit log")))
    return links


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    now = timezone.now()
    roles = {h.role for h in held_roles(user)}
    ctx: dict[str, Any] = {"now": now}

    names = {q for role in roles for q in ROLE_QUEUES.get(role, ())}
    grid_staff = bool(roles & GRID_STAFF_ROLES)
    if names or grid_staff:
        counts = selectors.queue_counts(user, now)
        ctx["queues"] = [
            {
                "name": q,
                "label": Queue(q).label,
                "count": counts.get(q) or 0,
                "url": queue_url(q),
                "tone": {"overdue": "red", "due_soon": "yellow", "supervised": "card"}.get(q, ""),
            }
            for q in QUEUE_ORDER
            if q in names
        ]
        if grid_staff:
            ctx["open_count"] = counts.get("open") or 0
            ctx["open_url"] = _list_url(state="open")
        first = next((q for q in URGENCY if q in names and counts.get(q)), None)
        if first is not None:
            cases = list(
                selectors.queue(user, first, now).order_by(F("due_at").asc(nulls_last=True), "-id")[:NEXT_UP]
            )
            ctx["next_queue"] = {"label": Queue(first).label, "url": queue_url(first), "count": counts[first]}
            ctx["next_rows"] = rows_of(cases, now)
    if Role.RESIDENT in roles:
        own = list(selectors.visible_cases(user).select_related(*selectors.LIST_FIELDS).order_by("-id")[:10])
        ctx["own_rows"] = rows_of(own, now)
        ctx["show_own"] = True
    ctx["overview"] = bool(roles & OVERVIEW_ROLES)
    ctx["admin_links"] = _admin_links(user) if user.admin_duty or user.is_superuser else []
    ctx["no_work"] = not (names or grid_staff or Role.RESIDENT in roles or ctx["admin_links"])
    notes = list(selectors.inbox(user, unread=True).order_by("-id")[:5])
    ctx["notifications"] = _notification_rows(user, notes)
    return render(request, "cases/home.html", ctx)


# ------------------------------------------------------------------------------------------------- list


SORT_CHOICES = (
    ("newest", gettext_lazy("Newest first")),
    ("oldest", gettext_lazy("Oldest first")),
    ("due", gettext_lazy("Due soonest (running deadlines)")),
)


class CaseListForm(forms.Form):
    """The filters of the case list: a GET form, so that a filtered list is a bookmarkable URL."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    number = forms.CharField(label=gettext_lazy("Case number"), required=False, max_length=20)
    phone = forms.CharField(label=gettext_lazy("Reporter phone"), required=False, max_length=20)
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    queue = forms.ChoiceField(label=gettext_lazy("Queue"), required=False)
    module = forms.ChoiceField(label=gettext_lazy("Module"), required=False)
    item = forms.ChoiceField(label=gettext_lazy("Item"), required=False)
    grid = forms.ChoiceField(label=gettext_lazy("Grid"), required=False)
    department = forms.ChoiceField(label=gettext_lazy("Lead department"), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    colour = forms.ChoiceField(label=gettext_lazy("Deadline"), required=False)
    since = forms.DateField(
        label=gettext_lazy("Reported from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("Reported until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    supervised = forms.BooleanField(label=gettext_lazy("Under supervision"), required=False)
    sort = forms.ChoiceField(label=gettext_lazy("Sort"), required=False, choices=SORT_CHOICES)

    def __init__(self, user: Any, data: QueryDict) -> None:
        super().__init__(data)
        self.user = user
        every = ("", _("all"))
        f = self.fields
        f["q"].widget.attrs.update(
            {"type": "search", "placeholder": _("in description or address"), "autofocus": True}
        )
        f["number"].widget.attrs.update({"placeholder": "20261126-0123", "inputmode": "numeric"})
        if selectors.phone_search_allowed(user):
            f["phone"].widget.attrs.update({"inputmode": "tel", "autocomplete": "off"})
        else:
            del f["phone"]  # searching by phone tells who reported: operators only
        states: list[Any] = [every, ("open", _("all open")), ("closed", _("all closed"))]
        f["state"].choices = [*states, *State.choices]  # type: ignore[attr-defined]
        f["queue"].choices = [every, *Queue.choices]  # type: ignore[attr-defined]
        f["channel"].choices = [every, *Channel.choices]  # type: ignore[attr-defined]
        f["colour"].choices = [every, *Colour.choices]  # type: ignore[attr-defined]
        items = list(visible_items(user).select_related("module").order_by("code"))
        modules: dict[str, Any] = {}
        for it in items:
            modules.setdefault(it.module.code, (it.module, []))[1].append((it.code, f"{it.code} {it.label}"))
        f["module"].choices = [  # type: ignore[attr-defined]
            every,
            *((code, f"{code} {m.label}") for code, (m, _its) in modules.items()),
        ]
        f["item"].choices = [every, *((m.label, its) for m, its in modules.values())]  # type: ignore[attr-defined]
        f["department"].choices = [  # type: ignore[attr-defined]
            every,
            *((d.code, d.label) for d in visible_to(user, Department).order_by("code")),
        ]
        grids = visible_to(user, Grid.objects.current()).filter(level__lte=2).order_by("path")
        grid_choices = [(g.code, f"{'　' * g.level}{g.name}") for g in grids.only("code", "name", "level")]
        wanted = (data.get("grid") or "").strip()
        if wanted and wanted not in {c for c, _n in grid_choices}:
            grid_choices.append(
                (wanted, wanted)
            )  # a finer grid linked from elsewhere: the selector checks it
        f["grid"].choices = [every, *grid_choices]  # type: ignore[attr-defined]

    def clean_number(self) -> str:
        return (self.cleaned_data.get("number") or "").strip()

    def clean_phone(self) -> str:
        from ..services import normalise_phone

        raw = (self.cleaned_data.get("phone") or "").strip()
        if not raw:
            return ""
        try:
            return normalise_phone(raw, "phone")
        except CaseError as exc:
            raise ValidationError(str(exc.message)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def case_filter(self) -> selectors.CaseFilter:
        """The valid filters (a field in error is left out, its error shown next to it)."""
        d = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        state = d.get("state") or ""
        states: list[str] | None
        if state == "open":
            states = sorted(OPEN_STATES)
        elif state == "closed":
            states = [s for s in State.values if s not in OPEN_STATES]
        else:
            states = [state] if state else None
        return selectors.CaseFilter(
            state=states,
            queue=d.get("queue") or None,
            item=d.get("item") or None,
            module=d.get("module") or None,
            grid=d.get("grid") or None,
            department=d.get("department") or None,
            channel=d.get("channel") or None,
            number=d.get("number") or None,
            phone=d.get("phone") or None,
            since=d.get("since"),
            until=d.get("until"),
            q=(d.get("q") or "").strip() or None,
            colour=d.get("colour") or None,
            supervised=bool(d.get("supervised")),
            sort=d.get("sort") or "newest",
        )

    def applied(self) -> dict[str, Any]:
        """The filters in force, as recorded in the audit log of an export (never a phone in clear)."""
        d = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        out = {k: v for k, v in d.items() if v not in (None, "", False)}
        if "phone" in out:
            out["phone"] = "(given)"
        return out


def _query(request: HttpRequest, **changes: str | None) -> str:
    params = request.GET.copy()
    for key in ("after", "before", *changes):
        params.pop(key, None)
    for key, value in changes.items():
        if value is not None:
            params[key] = value
    return params.urlencode()


def _filtered(request: HttpRequest) -> tuple[CaseListForm, selectors.CaseFilter]:
    form = CaseListForm(request.user, request.GET)
    form.is_valid()
    return form, form.case_filter()


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    now = timezone.now()
    form, f = _filtered(request)
    qs = selectors.case_list(user, f, now)
    page = selectors.keyset_page(
        qs, f.sort, after=request.GET.get("after"), before=request.GET.get("before"), limit=PAGE_SIZE
    )
    paths = operator_paths(user)
    rows = rows_of(page.rows, now, paths)
    more_filters = ("module", "item", "grid", "department", "channel", "since", "until", "number", "phone")
    ctx = {
        "form": form,
        "rows": rows,
        "may_dispatch": bool(paths),
        "any_dispatchable": any(r.dispatchable for r in rows),
        "next_url": f"?{_query(request, after=page.next)}" if page.next else "",
        "previous_url": f"?{_query(request, before=page.previous)}" if page.previous else "",
        "export_url": f"{reverse('cases:export')}?{_query(request)}",
        "filtered": any(k in request.GET and request.GET[k] for k in form.fields),
        "open_more": any(request.GET.get(k) for k in more_filters) or bool(form.errors),
        "page_size": PAGE_SIZE,
        # Staff watch their list change live; a resident's own reports are not a queue.
        "live": staff_roles(user),
    }
    return render(request, "cases/list.html", ctx)


@login_required
@require_GET
def case_export(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form, f = _filtered(request)
    qs = selectors.case_list(user, f)
    return export_response(user, qs, filters=form.applied(), ip=client_ip(request))


# ------------------------------------------------------------------------------------------------- inbox


@dataclass
class NotificationRow:
    note: Notification
    text: str
    url: str
    unread: bool


def _notification_rows(user: Any, notes: list[Notification]) -> list[NotificationRow]:
    """The rows of an inbox, each linking to its case only when the user may still open it (or, for another
    app's entry, to its page there)."""
    ids = {n.case_id for n in notes if n.case_id}
    visible = (
        set(selectors.visible_cases(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    )
    return [
        NotificationRow(
            note=n,
            text=render_notification(n.kind, n.data),
            url=reverse("cases:detail", args=[n.case.number])
            if n.case is not None and n.case_id in visible
            else link_of(n.kind, n.data),
            unread=n.read_at is None,
        )
        for n in notes
    ]


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    unread_only = request.GET.get("unread") == "1"
    qs = selectors.inbox(user, unread=unread_only)
    before = request.GET.get("before", "")
    after = request.GET.get("after", "")
    if before.isdigit():  # older
        qs = qs.filter(pk__lt=int(before))
        notes = list(qs.order_by("-id")[: INBOX_PAGE_SIZE + 1])
        more_older, newer = len(notes) > INBOX_PAGE_SIZE, True
        notes = notes[:INBOX_PAGE_SIZE]
    elif after.isdigit():  # newer
        notes = list(qs.filter(pk__gt=int(after)).order_by("id")[: INBOX_PAGE_SIZE + 1])
        newer = len(notes) > INBOX_PAGE_SIZE
        notes = notes[:INBOX_PAGE_SIZE][::-1]
        more_older = True
    else:
        notes = list(qs.order_by("-id")[: INBOX_PAGE_SIZE + 1])
        more_older, newer = len(notes) > INBOX_PAGE_SIZE, False
        notes = notes[:INBOX_PAGE_SIZE]
    base = {"unread": "1"} if unread_only else {}
    ctx = {
        "rows": _notification_rows(user, notes),
        "unread_only": unread_only,
        "older_url": f"?{urlencode({**base, 'before': notes[-1].pk})}" if notes and more_older else "",
        "newer_url": f"?{urlencode({**base, 'after': notes[0].pk})}" if notes and newer else "",
    }
    return render(request, "cases/inbox.html", ctx)


@login_required
@require_POST
def inbox_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (`id`) or all of the user's notifications read."""
    user: Any = request.user
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    one = request.POST.get("id", "")
    if one.isdigit():
        qs = qs.filter(pk=int(one))
    qs.update(read_at=timezone.now())
    return HttpResponseRedirect(reverse("cases:inbox"))


urlpatterns: list = [
    path("", case_list, name="list"),
    path("export.xlsx", case_export, name="export"),
    path("inbox/", inbox, name="inbox"),
    path("inbox/read/", inbox_read, name="inbox_read"),
]
