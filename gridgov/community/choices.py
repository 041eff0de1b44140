"""Community's enumerations: the kinds of volunteer teams and activities, and where an activity, a sign-up and a
task stand."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TeamKind(models.TextChoices):
    """The volunteer teams a county's grids work with (多元共治)."""

    CAR = "car", _("car team")  # 爱心车队: lifts for the elderly, the sick, pupils in bad weather
    PATROL = "patrol", _("mutual-aid patrol")  # 治安联防队: 红袖章, 十户联防
    PARTY = "party", _("party alliance")  # 党建联盟
    SERVICE = "service", _("volunteer service team")  # 志愿服务队
    OTHER = "other", _("other team")


class ActivityKind(models.TextChoices):
    """What an activity is for."""

    PATROL = "patrol", pgettext_lazy("community", "patrol")
    SERVICE = "service", _("service to residents")
    CARE = "care", _("care visits")
    CLEANUP = "cleanup", _("clean-up")
    PUBLICITY = "publicity", _("publicity")
    TRANSPORT = "transport", _("transport")
    OTHER = "other", _("other activity")


class ActivityState(models.TextChoices):
    OPEN = "open", _("open for sign-up")
    DONE = "done", pgettext_lazy("community", "held")
    CANCELLED = "cancelled", _("cancelled")


class TaskState(models.TextChoices):
    """A task a grid gives a team: assigned until a volunteer of the team accepts or declines it; done with a
    result; cancelled by the grid that gave it."""

    ASSIGNED = "assigned", pgettext_lazy("community", "assigned")
    ACCEPTED = "accepted", pgettext_lazy("community", "accepted")
    DONE = "done", pgettext_lazy("community", "done")
    DECLINED = "declined", pgettext_lazy("community", "declined")
    CANCELLED = "cancelled", _("cancelled")


# The tasks still waiting for the team.
OPEN_TASK_STATES = frozenset({TaskState.ASSIGNED, TaskState.ACCEPTED})
