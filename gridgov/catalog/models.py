from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Bilingual(models.Model):
    """Dictionary rows named in Chinese and English; `label` follows the user's language."""

    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)

    class Meta:
        abstract = True

    @property
    def label(self) -> str:
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") and self.name_en else self.name

    def __str__(self) -> str:
        return self.label


class Department(Bilingual):
    """A department sunk into the grids (旗直部门): it leads or assists on items and sends grid guides."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    phone = models.CharField(_("duty phone"), max_length=30, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]


class Module(Bilingual):
    """One of the modules of the responsibility list (市容市貌, 公共安全 …)."""

    code = models.CharField(_("code"), max_length=4, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["order", "code"]


class ItemKind(models.TextChoices):
    COMPONENT = "component", _("component (部件)")
    EVENT = "event", _("event (事件)")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("normal")
    URGENT = "urgent", _("urgent")


class ResolvingLevel(models.IntegerChoices):
    """The lowest level expected to settle an item: 小事不出网格，大事不出村，矛盾不上交."""

    GRID = 3, _("grid (level 3)")
    VILLAGE = 2, _("village (level 2)")
    TOWN = 1, _("town (level 1)")
    BANNER = 0, _("banner")
    DEPARTMENT = -1, _("department")


class Stage(models.TextChoices):
    REGISTER = "register", _("accept and register")
    DISPATCH = "dispatch", _("dispatch")
    SIGN = "sign", _("sign")
    HANDLE = "handle", _("handle")
    VERIFY = "verify", _("verify")


class Item(Bilingual):
    """An item (小类) of the responsibility list (责任清单): what it is, who owns it, how fast it must move."""

    module = models.ForeignKey(Module, verbose_name=_("module"), on_delete=models.PROTECT, related_name="items")
    code = models.CharField(_("code"), max_length=8, unique=True)
    standard_code = models.CharField(
        _("national standard code"),
        max_length=8,
        blank=True,
        db_index=True,
        help_text=_("GB/T 47678.5-2026 code of the same component or matter, where one exists"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices)
    lead_department = models.ForeignKey(
        Department, verbose_name=_("lead department"), on_delete=models.PROTECT, related_name="lead_items"
    )
    assisting_departments = models.ManyToManyField(
        Department, verbose_name=_("assisting departments"), blank=True, related_name="assisting_items"
    )
    resolving_level = models.SmallIntegerField(
        _("lowest resolving level"), choices=ResolvingLevel.choices, default=ResolvingLevel.GRID
    )
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    filing_condition = models.TextField(_("filing condition (立案条件)"), blank=True)
    closing_condition = models.TextField(_("closing condition (结案条件)"), blank=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    pinyin = models.CharField(_("pinyin"), max_length=300, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["code"]


class TimeLimit(models.Model):
    """A working-time limit for one stage of an item, for normal or urgent cases."""

    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="limits")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices)
    minutes = models.PositiveIntegerField(_("working minutes"))

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints = [models.UniqueConstraint(fields=["item", "stage", "urgency"], name="one_limit_per_stage")]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.get_urgency_display()} {self.minutes}"


class RoutingRule(models.Model):
    """Overrides the lead department of an item (or of a whole module) inside a grid subtree."""

    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid subtree"), on_delete=models.CASCADE, related_name="routing_rules"
    )
    module = models.ForeignKey(Module, verbose_name=_("module"), null=True, blank=True, on_delete=models.CASCADE)
    item = models.ForeignKey(Item, verbose_name=_("item"), null=True, blank=True, on_delete=models.CASCADE)
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(module__isnull=False) | models.Q(item__isnull=False), name="rule_names_module_or_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.item or self.module} → {self.department}"
