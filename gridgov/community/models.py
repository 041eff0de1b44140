"""Community (多元共治): the volunteer teams that take part in the grids' work — a car team (爱心车队), mutual-aid
patrols (治安联防队: 红袖章, 十户联防), party alliances (党建联盟), volunteer service teams — their members, the
activities they sign up for and the hours they serve, and the tasks a grid gives a team.

A team, an activity and a task sit in a grid of any level (a town's car team, a village's patrol, a grid's
service team) and copy the grid's ancestors (`grid_l1_id`…) for scoped reads, as registry records do. A member's
phone is personal data: encrypted, with a blind index, and kept masked for display (`core.personal`). The hours a
member served are never stored as a running total: they are the sum of the hours confirmed on their sign-ups, so
they cannot drift from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import ActivityKind, ActivityState, TaskState, TeamKind


class Placed(models.Model):
    """A record placed in a grid of level 1 to 3, with the grid's ancestors copied (a town's record has no
    level-2 or level-3 id)."""

    # No index of its own: each model's composite indexes (or the team's unique name) start with it.
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)

    class Meta:
        abstract = True

    def place_in(self, grid: object) -> None:
        """Put the record in `grid`, with its ancestors."""
        self.grid = grid  # type: ignore[assignment]
        self.grid_l1_id = getattr(grid, "l1_id", None)
        self.grid_l2_id = getattr(grid, "l2_id", None)
        self.grid_l3_id = getattr(grid, "l3_id", None)


class Team(Placed):
    """A volunteer team of a grid. `phone` is the team's duty line, given to residents and grid staff; the
    members' own phones are kept encrypted on their records."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=TeamKind.choices, default=TeamKind.SERVICE)
    leader = models.ForeignKey(
        "Member",
        verbose_name=pgettext_lazy("community", "leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    description = models.TextField(pgettext_lazy("community", "description"), blank=True)
    phone = models.CharField(_("duty phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Edits are compare-and-set on it: two keepers editing at once, the second is told to read the team again.
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")
        constraints = [
            models.UniqueConstraint(fields=["grid", "name"], name="community_team_name_in_grid"),
        ]
        indexes = [
            models.Index(fields=["grid_l1_id", "-id"], name="community_team_l1"),
            models.Index(fields=["grid_l2_id", "-id"], name="community_team_l2"),
            models.Index(fields=["grid_l3_id", "-id"], name="community_team_l3"),
        ]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A member of a team: a resident (linked to the registry where known) and, when they use the phone app, a
    login holding the volunteer role. Leaving a team keeps the record (`active` False, `left_on`): their hours
    stay on the team's record."""

    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="members", db_index=False
    )
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="volunteer_memberships",
    )
    name = models.CharField(pgettext_lazy("community", "full name"), max_length=50)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True)
    phone_index = models.CharField(_("phone (blind index)"), max_length=64, blank=True)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    joined_on = models.DateField(_("joined on"))
    active = models.BooleanField(_("active"), default=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    created_at = models.DateTimeField(_("registered"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [
            models.UniqueConstraint(
                fields=["team", "person"],
                condition=Q(person__isnull=False),
                name="community_member_person_once",
            ),
            models.UniqueConstraint(
                fields=["team", "user"], condition=Q(user__isnull=False), name="community_member_user_once"
            ),
            models.CheckConstraint(
                condition=Q(active=True, left_on__isnull=True) | Q(active=False, left_on__isnull=False),
                name="community_member_left_when_inactive",
            ),
        ]
        indexes = [
            # A team's roster (the active first, by name) and its members' counts.
            models.Index(fields=["team", "active", "name"], name="community_member_roster"),
            models.Index(fields=["phone_index"], name="community_member_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class Activity(Placed):
    """An activity volunteers sign up for: a patrol, a service day, a clean-up. Of one team, or (no team) open to
    every team of its grid and below. `capacity` caps the sign-ups (none: no cap)."""

    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activities",
        db_index=False,
    )
    title = models.CharField(pgettext_lazy("community", "title"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.SERVICE
    )
    notes = models.TextField(pgettext_lazy("community", "notes"), blank=True)
    place = models.CharField(pgettext_lazy("community", "place"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=ActivityState.choices, default=ActivityState.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("organiser"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # When it was closed as held or cancelled, by whom, and why it was cancelled.
    closed_at = models.DateTimeField(pgettext_lazy("community", "closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="community_activity_ends_after"
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gte=1), name="community_activity_capacity"
            ),
            models.CheckConstraint(
                condition=Q(state=ActivityState.OPEN, closed_at__isnull=True)
                | (~Q(state=ActivityState.OPEN) & Q(closed_at__isnull=False)),
                name="community_activity_closed_at",
            ),
        ]
        indexes = [
            # The lists of a town's, a village's, a grid's activities by their time; the figures of a period.
            models.Index(fields=["grid_l1_id", "starts_at"], name="community_activity_l1"),
            models.Index(fields=["grid_l2_id", "starts_at"], name="community_activity_l2"),
            models.Index(fields=["grid_l3_id", "starts_at"], name="community_activity_l3"),
            models.Index(fields=["grid", "starts_at"], name="community_activity_grid"),
            models.Index(fields=["team", "starts_at"], name="community_activity_team"),
            models.Index(fields=["starts_at"], name="community_activity_time"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def length_hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600

    @property
    def under_way(self) -> bool:
        """Open, and started: sign-up has closed, and it waits to be closed as held."""
        return self.state == ActivityState.OPEN and self.starts_at <= timezone.now()


class SignUp(models.Model):
    """A member signed up for an activity. Cancelled sign-ups stay (`cancelled_at`) and free their place; signing
    up again takes the same row. The organiser confirms afterwards who came (`attended`) and the hours each
    served: the member's hours are the sum of these."""

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.PROTECT, related_name="signups", db_index=False
    )
    member = models.ForeignKey(
        Member,
        verbose_name=pgettext_lazy("community", "member"),
        on_delete=models.PROTECT,
        related_name="signups",
    )
    signed_at = models.DateTimeField(_("signed up"), default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed up by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    attended = models.BooleanField(_("attended"), default=False)
    hours = models.DecimalField(_("hours served"), max_digits=5, decimal_places=2, null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        constraints = [
            models.UniqueConstraint(fields=["activity", "member"], name="community_signup_once"),
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(hours__gte=0), name="community_signup_hours_not_negative"
            ),
            # Hours are the organiser's word: set only with a confirmation, and only for who came.
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(confirmed_at__isnull=False, attended=True),
                name="community_signup_hours_confirmed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} · {self.member_id}"


class Task(Placed):
    """A task a grid gives a team (交办): escort the elderly to the clinic, watch a spot at night, help after a
    case. A volunteer of the team accepts or declines it, and reports it done with a result."""

    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="tasks", db_index=False
    )
    title = models.CharField(pgettext_lazy("community", "task title"), max_length=100)
    description = models.TextField(pgettext_lazy("community", "description"), blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=TaskState.choices, default=TaskState.ASSIGNED)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    accepted_by = models.ForeignKey(
        Member,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accepted_tasks",
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    declined_by = models.ForeignKey(
        Member,
        verbose_name=_("declined by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Why it was declined or cancelled.
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    result = models.TextField(_("result"), blank=True)
    done_at = models.DateTimeField(_("reported done"), null=True, blank=True)
    # Who reported it done: a volunteer of the team, or the grid's staff writing down what the team told them.
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # When it was declined, done or cancelled.
    closed_at = models.DateTimeField(pgettext_lazy("community", "closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("given by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("given"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("team task")
        verbose_name_plural = _("team tasks")
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=TaskState.DONE) | Q(done_at__isnull=False), name="community_task_done_at"
            ),
            models.CheckConstraint(
                condition=Q(state__in=[TaskState.ASSIGNED, TaskState.ACCEPTED], closed_at__isnull=True)
                | (~Q(state__in=[TaskState.ASSIGNED, TaskState.ACCEPTED]) & Q(closed_at__isnull=False)),
                name="community_task_closed_at",
            ),
        ]
        indexes = [
            # Lists of a town's, a village's, a grid's tasks, newest first; a team's (the volunteer's phone).
            models.Index(fields=["grid_l1_id", "-id"], name="community_task_l1"),
            models.Index(fields=["grid_l2_id", "-id"], name="community_task_l2"),
            models.Index(fields=["grid_l3_id", "-id"], name="community_task_l3"),
            models.Index(fields=["grid", "-id"], name="community_task_grid"),
            models.Index(fields=["team", "state"], name="community_task_team"),
            models.Index(fields=["created_at"], name="community_task_given"),
            models.Index(fields=["done_at"], name="community_task_done"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def waiting(self) -> bool:
        """Still with the team (assigned or accepted)."""
        return self.state in (TaskState.ASSIGNED, TaskState.ACCEPTED)
