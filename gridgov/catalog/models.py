"""The responsibility list (责任清单): departments, modules, items with their time limits, and routing rules.

Item codes (our own): module (2 digits) + kind (1 = component 部件, 2 = event 事件) + sequence (3 digits),
e.g. 031001 = module 03 城乡建设, component, first item. Three sequence digits leave room to extend a module
from the national catalogue (GB/T 47678.5-2026 lists 153 components).

`standard_code` is the GB/T 47678.5-2026 code of the same thing: for a component item the code of the
managed component (管理部件, Table A.1), for an event item the code of the managed matter (管理事项,
Table C.1). The two tables reuse codes (01003 is both 雨水井盖 and 雨水井盖异常), so the code is read
together with the item's kind.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin


def pinyin_of(text: str) -> str:
    """Full pinyin and initials of a Chinese name ("垃圾堆放" → "lajiduifang ljdf"), so that a worker can find an
    item by typing either on a phone keyboard."""
    syllables = [s for s in lazy_pinyin(text, errors="ignore") if s.isascii()]
    initials = [s for s in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore") if s.isascii()]
    return f"{''.join(syllables)} {''.join(initials)}".lower().strip()


class Bilingual(models.Model):
    """Dictionary rows named in Chinese and English; `label` follows the user's language."""

    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") and self.name_en else self.name


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


# The digit an item code carries for its kind.
KIND_DIGIT: dict[str, str] = {ItemKind.COMPONENT: "1", ItemKind.EVENT: "2"}


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

    module = models.ForeignKey(
        Module, verbose_name=_("module"), on_delete=models.PROTECT, related_name="items"
    )
    code = models.CharField(_("code"), max_length=8, unique=True)
    standard_code = models.CharField(
        _("national standard code"),
        max_length=8,
        blank=True,
        db_index=True,
        help_text=_(
            "GB/T 47678.5-2026 code of the same thing, where one exists: the managed component's code for a "
            "component, the managed matter's code for an event"
        ),
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
    urgency = models.CharField(
        _("default urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL
    )
    filing_condition = models.TextField(_("filing condition (立案条件)"), blank=True)
    closing_condition = models.TextField(_("closing condition (结案条件)"), blank=True)
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    pinyin = models.CharField(_("pinyin"), max_length=300, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["code"]

    def save(self, *args, **kwargs):
        self.pinyin = pinyin_of(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "pinyin"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.standard_code and not (len(self.standard_code) == 5 and self.standard_code.isdigit()):
            errors["standard_code"] = _(
                "A national standard code has 5 digits (2 for the class, 3 for the item)."
            )
        if self.code and self.module_id and self.kind in KIND_DIGIT:
            expected = f"{self.module.code}{KIND_DIGIT[self.kind]}"
            if not (len(self.code) == 6 and self.code.isdigit() and self.code.startswith(expected)):
                errors["code"] = _(
                    "An item code is the module code, the kind digit (1 component, 2 event) and a 3-digit "
                    "sequence: this one must look like %(example)s."
                ) % {"example": f"{expected}001"}
        if errors:
            raise ValidationError(errors)


class TimeLimit(models.Model):
    """A working-time limit for one stage of an item, for normal or urgent cases."""

    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="limits")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices)
    minutes = models.PositiveIntegerField(
        _("working minutes"),
        help_text=_("Working time: one working hour is 60, one working day 420 (7 hours)."),
    )

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        ordering = ["item", "stage", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["item", "stage", "urgency"], name="one_limit_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.get_urgency_display()} {self.minutes}"


class RoutingRule(models.Model):
    """Sends an item (or every item of a module) to another lead department inside a grid subtree.

    For a case in grid G: a rule for the item beats a rule for its module; among rules of the same kind,
    the one on the deepest grid that contains G wins."""

    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid subtree"),
        on_delete=models.CASCADE,
        related_name="routing_rules",
        limit_choices_to={"valid_to__isnull": True},  # rules apply to the current tree
    )
    module = models.ForeignKey(
        Module, verbose_name=_("module"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        Item,
        verbose_name=_("item"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="routing_rules",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("lead department"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["grid__code", "item__code", "module__code"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(module__isnull=False) & models.Q(item__isnull=True))
                | (models.Q(module__isnull=True) & models.Q(item__isnull=False)),
                name="rule_names_module_or_item",
            ),
            models.UniqueConstraint(
                fields=["grid", "item"], condition=models.Q(item__isnull=False), name="one_item_rule_per_grid"
            ),
            models.UniqueConstraint(
                fields=["grid", "module"],
                condition=models.Q(module__isnull=False),
                name="one_module_rule_per_grid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.item or self.module} → {self.department}"

    def clean(self) -> None:
        if (self.module_id is None) == (self.item_id is None):
            raise ValidationError(
                {"item": _("A routing rule names either one item or one module (not both, not neither).")}
            )
        if self.grid_id is not None and self.grid.valid_to is not None:
            raise ValidationError(
                {"grid": _("The grid %(code)s is closed: choose a current grid.") % {"code": self.grid.code}}
            )


class QuestionType(models.TextChoices):
    """The six datatypes of an Open311 service attribute (GeoReport v2 service definitions)."""

    STRING = "string", _("single line of text")
    NUMBER = "number", _("number")
    DATETIME = "datetime", _("date and time")
    TEXT = "text", _("several lines of text")
    SINGLE = "singlevaluelist", _("one choice from a list")
    MULTI = "multivaluelist", _("several choices from a list")


LIST_TYPES = (QuestionType.SINGLE, QuestionType.MULTI)


class ItemQuestion(Bilingual):
    """A question an item asks of whoever reports it (部件编号, 涉及人数, 紧急程度…): an Open311 service attribute.

    `name` is the question shown to the reporter; `values` the choices of the two list types, each
    `{"key": …, "name": …, "name_en": …}`. A question that is not `variable` is a notice only (no answer)."""

    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="questions")
    code = models.CharField(
        _("code"),
        max_length=40,
        help_text=_("Letters, digits, _ and -: what clients send as attribute[CODE]."),
    )
    datatype = models.CharField(_("datatype"), max_length=16, choices=QuestionType.choices)
    variable = models.BooleanField(
        _("asks for an answer"), default=True, help_text=_("Untick for a notice that asks nothing.")
    )
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    hint = models.CharField(_("hint (Chinese)"), max_length=200, blank=True)
    hint_en = models.CharField(_("hint (English)"), max_length=200, blank=True)
    values = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        verbose_name = _("item question")
        verbose_name_plural = _("item questions")
        ordering = ["item", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="one_question_code_per_item"),
        ]

    @property
    def hint_label(self) -> str:
        lang = get_language() or "zh-hans"
        return self.hint_en if lang.startswith("en") and self.hint_en else self.hint

    def choices(self) -> list[tuple[str, str]]:
        """(key, label) of each choice, the label in the user's language."""
        english = (get_language() or "zh-hans").startswith("en")
        return [
            (str(v["key"]), str((english and v.get("name_en")) or v.get("name") or v["key"]))
            for v in self.values or []
        ]

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.code and not all(c.isascii() and (c.isalnum() or c in "_-") for c in self.code):
            errors["code"] = _("A question code holds letters, digits, _ and - only.")
        if self.order < 1:
            errors["order"] = _("The order starts at 1.")
        values = self.values or []
        if self.datatype in LIST_TYPES:
            ok = isinstance(values, list) and all(
                isinstance(v, dict) and str(v.get("key", "")).strip() and str(v.get("name", "")).strip()
                for v in values
            )
            keys = [str(v.get("key")) for v in values] if ok else []
            if not ok or not values:
                errors["values"] = _('A list question needs its choices: [{"key": "1", "name": "…"}, …].')
            elif len(set(keys)) != len(keys):
                errors["values"] = _("Two choices have the same key.")
        elif values:
            errors["values"] = _("Only the two list datatypes have choices.")
        if self.required and not self.variable:
            errors["required"] = _("A notice that asks nothing cannot be required.")
        if errors:
            raise ValidationError(errors)
