from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class GridKind(models.TextChoices):
    BASE = "base", _("base grid")
    SCHOOL = "school", _("special grid: school")
    MARKET = "market", _("special grid: market")
    ENTERPRISE = "enterprise", _("special grid: enterprise")
    SCENIC = "scenic", _("special grid: scenic area")
    OTHER_SPECIAL = "special", _("special grid: other")


SPECIAL_KINDS = frozenset(k for k in GridKind.values if k != GridKind.BASE)

# Level-3 sequence numbers 900–999 are reserved for special-purpose grids (专属网格).
SPECIAL_SEQUENCE_START = 900
SEQUENCE_END = 999

# The root (a county, GB/T 2260) has 6 digits; each level below adds 3 (town, village, grid sequence).
ROOT_CODE_LENGTH = 6
LEVEL_CODE_DIGITS = 3


def code_length(level: int) -> int:
    return ROOT_CODE_LENGTH + LEVEL_CODE_DIGITS * level


class GridQuerySet(models.QuerySet["Grid"]):
    def current(self) -> GridQuerySet:
        return self.filter(valid_to__isnull=True)


class Grid(models.Model):
    """A grid (网格) of any level: its identity, its current shape and its figures.

    A redrawn boundary makes a new `GridVersion` of the same grid; a split or a merge closes grids
    (`valid_to`) and opens new ones. The current shape, parent and ancestors are kept here for fast reads.
    """

    code = models.CharField(_("code"), max_length=32, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=GridKind.choices, default=GridKind.BASE)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # Materialised path of ids ("/1/5/23/") for subtree reads on the grid table itself.
    path = models.CharField(_("path"), max_length=255, db_index=True, editable=False)
    # Ancestors at levels 1–3 (a grid is its own ancestor at its level): scoped rows copy these.
    l1 = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    l2 = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    l3 = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    # Null until a boundary is known: a CSV of division codes names grids without shapes, and a later GeoJSON
    # import with the same codes supplies them. The locator and the coverage check skip or report such grids.
    geometry = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    min_lon = models.FloatField(_("west"), null=True, blank=True)
    min_lat = models.FloatField(_("south"), null=True, blank=True)
    max_lon = models.FloatField(_("east"), null=True, blank=True)
    max_lat = models.FloatField(_("north"), null=True, blank=True)
    area_m2 = models.FloatField(_("area (m²)"), null=True, blank=True)
    households = models.PositiveIntegerField(_("households"), default=0)
    population = models.PositiveIntegerField(_("population"), default=0)
    valid_from = models.DateField(_("effective from"))
    valid_to = models.DateField(_("effective to"), null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = GridQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid")
        # A context keeps this label apart from the project's "grids" (a counter word on the home page).
        verbose_name_plural = pgettext_lazy("model", "grids")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(valid_to__isnull=True), name="grid_code_unique_current"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="grid_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    @property
    def area_km2(self) -> float | None:
        return None if self.area_m2 is None else self.area_m2 / 1e6

    @property
    def sequence(self) -> int | None:
        """The last three digits of the code (town, village or grid number); None for the root."""
        return int(self.code[-LEVEL_CODE_DIGITS:]) if self.level > 0 else None

    @property
    def is_special(self) -> bool:
        return self.kind in SPECIAL_KINDS


class GridVersion(models.Model):
    """The shape and place of a grid over a period: the history behind "what did the tree look like on D"."""

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="versions")
    parent = models.ForeignKey(
        Grid, verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    geometry = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    area_m2 = models.FloatField(_("area (m²)"), null=True, blank=True)
    valid_from = models.DateField(_("effective from"))
    valid_to = models.DateField(_("effective to"), null=True, blank=True)
    change = models.ForeignKey(
        "GridChange",
        verbose_name=_("change"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="versions",
    )

    class Meta:
        verbose_name = _("grid version")
        verbose_name_plural = _("grid versions")
        ordering = ["grid", "valid_from"]
        indexes = [models.Index(fields=["valid_from", "valid_to"]), models.Index(fields=["grid", "valid_to"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="grid_version_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid.code} {self.valid_from}–{self.valid_to or ''}"


class GridChange(models.Model):
    """One dynamic adjustment (动态调整): what closed, what opened, who did it and why."""

    class Kind(models.TextChoices):
        IMPORT = "import", _("import")
        CREATE = "create", _("create")
        SPLIT = "split", _("split")
        MERGE = "merge", _("merge")
        REDRAW = "redraw", _("redraw boundary")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    effective = models.DateField(_("effective"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT
    )
    closed = models.ManyToManyField(
        Grid, verbose_name=_("closed grids"), related_name="closed_by", blank=True
    )
    opened = models.ManyToManyField(
        Grid, verbose_name=_("opened grids"), related_name="opened_by", blank=True
    )
    # Old code → new code(s) of every grid closed, role assignments moved or copied, boundaries supplied.
    moved = models.JSONField(_("what moved"), default=dict, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("grid adjustment")
        verbose_name_plural = _("grid adjustments")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective}"


class TreeGeneration(models.Model):
    """A counter bumped on every change of the grid tree; every process's locator rebuilds when it moves."""

    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)
