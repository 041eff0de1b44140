"""人、事、物: everything registered once in its level-3 grid and reused by every module.

Personal data is kept as little as the work needs and never in plain text: ID and other document numbers,
phones and key-group labels are encrypted (`core.personal`), found by their blind indexes, and shown masked
(the masked form is kept beside the ciphertext, so lists never decrypt). Every located record copies its grid's
ancestors (`grid_l1_id`…) so that scoped reads filter on indexed ids, as cases do."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    BuildingKind,
    ComponentState,
    MoveKind,
    OrganisationKind,
    OrganisationState,
    PartyOrgKind,
    PersonRoleKind,
    PersonState,
    Relation,
    Residence,
    Source,
)
from .codes import DocumentKind, Ethnicity, Gender


class Located(models.Model):
    """A record in a level-3 grid, with the grid's ancestors copied for scoped reads and roll-ups."""

    grid = models.ForeignKey("grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    created_at = models.DateTimeField(_("registered"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        abstract = True

    def place_in(self, grid: object) -> None:
        """Put the record in `grid`, with its ancestors."""
        self.grid = grid  # type: ignore[assignment]
        self.grid_l1_id = getattr(grid, "l1_id", None)
        self.grid_l2_id = getattr(grid, "l2_id", None)
        self.grid_l3_id = getattr(grid, "l3_id", None)


def _located_indexes(prefix: str) -> list[models.Index]:
    return [
        models.Index(fields=["grid_l1_id", "-id"], name=f"{prefix}_l1"),
        models.Index(fields=["grid_l2_id", "-id"], name=f"{prefix}_l2"),
        models.Index(fields=["grid_l3_id", "-id"], name=f"{prefix}_l3"),
    ]


class Building(Located):
    """A building or a rural courtyard, with its code (楼栋编码) and the standard address of its door."""

    code = models.CharField(_("building code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=12, choices=BuildingKind.choices, default=BuildingKind.OTHER
    )
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    address = models.CharField(_("standard address"), max_length=200, blank=True)
    # Free remarks of the office (备注): may be personal, so never logged nor put on the audit record.
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        indexes = _located_indexes("building")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Household(Located):
    """A household (一户一档): its number, its standard address (building, unit, house number), its members."""

    number = models.CharField(_("household number"), max_length=30, unique=True)
    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="households",
    )
    house_number = models.CharField(_("house number"), max_length=40, blank=True)
    address = models.CharField(_("standard address"), max_length=200, blank=True)
    members = models.PositiveSmallIntegerField(_("members"), default=0)
    # Free remarks of the office (备注): may be personal, so never logged nor put on the audit record.
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        indexes = _located_indexes("household")

    def __str__(self) -> str:
        return self.number


class Person(Located):
    """One record per person across the county (the master index): found again by their document's blind
    index, whatever grid registers them next; moving between grids writes a `PersonMove`."""

    name = models.CharField(_("name"), max_length=50, db_index=True)
    name_mongolian = models.CharField(_("name in Mongolian script"), max_length=100, blank=True)
    document_kind = models.CharField(
        _("document"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.ID_CARD
    )
    document_enc = models.BinaryField(_("document number (encrypted)"), null=True, blank=True)
    document_index = models.CharField(_("document number (blind index)"), max_length=64, blank=True)
    document_masked = models.CharField(_("document number"), max_length=40, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, default=Gender.UNKNOWN)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, choices=Ethnicity.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True)
    phone_index = models.CharField(_("phone (blind index)"), max_length=64, blank=True)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="people",
    )
    relation = models.CharField(
        _("relation to the head"), max_length=12, choices=Relation.choices, blank=True
    )
    residence = models.CharField(
        _("residence"), max_length=12, choices=Residence.choices, default=Residence.REGISTERED
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=PersonState.choices, default=PersonState.LIVING_HERE
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Free remarks of the office (备注): may be personal, so never logged nor put on the audit record.
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            # The master index: one record per document.
            models.UniqueConstraint(
                fields=["document_index"], condition=~Q(document_index=""), name="person_one_per_document"
            ),
        ]
        indexes = [
            *_located_indexes("person"),
            models.Index(fields=["phone_index"], name="person_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class PersonMove(models.Model):
    """A person's move between grids: registered elsewhere, moved by hand, or carried by a grid adjustment."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="moves"
    )
    from_grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    moved_at = models.DateTimeField(_("moved"), default=timezone.now)
    kind = models.CharField(_("why"), max_length=10, choices=MoveKind.choices, default=MoveKind.MOVED)
    reason = models.CharField(_("reason given"), max_length=200, blank=True)
    change = models.ForeignKey(
        "grids.GridChange",
        verbose_name=_("grid adjustment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("move")
        verbose_name_plural = _("moves")
        indexes = [models.Index(fields=["person", "moved_at"], name="person_move_history")]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.to_grid_id}"


class KeyGroupLabel(models.Model):
    """A person's key group (重点人群). The group itself is encrypted; its blind index lets the grid count and
    filter; the grid's ancestors are copied so that levels above the village can be given counts only."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="key_groups"
    )
    group_enc = models.BinaryField(_("group (encrypted)"))
    group_index = models.CharField(_("group (blind index)"), max_length=64)
    grid_l1_id = models.BigIntegerField(_("level-1 grid"), null=True, blank=True)
    grid_l2_id = models.BigIntegerField(_("level-2 grid"), null=True, blank=True)
    grid_l3_id = models.BigIntegerField(_("level-3 grid"), null=True, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)
    created_at = models.DateTimeField(_("labelled"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("key-group label")
        verbose_name_plural = _("key-group labels")
        constraints = [
            models.UniqueConstraint(fields=["person", "group_index"], name="key_group_once_per_person")
        ]
        indexes = [
            models.Index(fields=["grid_l1_id", "group_index"], name="key_group_l1"),
            models.Index(fields=["grid_l2_id", "group_index"], name="key_group_l2"),
            models.Index(fields=["grid_l3_id", "group_index"], name="key_group_l3"),
        ]

    def __str__(self) -> str:
        return str(_("key-group label"))  # never the group itself: it is sensitive


class PartyOrganisation(Located):
    """A party organisation of the grid tree (党组织建在网格上): a committee, a branch, a group."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=PartyOrgKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    secretary = models.ForeignKey(
        Person,
        verbose_name=_("secretary"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("party organisation")
        verbose_name_plural = _("party organisations")
        indexes = _located_indexes("partyorg")

    def __str__(self) -> str:
        return self.name


class PersonRole(models.Model):
    """A role a registered person holds in the grid: party member, volunteer, mediator, grid worker."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="roles"
    )
    role = models.CharField(_("role"), max_length=16, choices=PersonRoleKind.choices)
    party_organisation = models.ForeignKey(
        PartyOrganisation,
        verbose_name=_("party organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    since = models.DateField(_("since"), null=True, blank=True)

    class Meta:
        verbose_name = _("role in the grid")
        verbose_name_plural = _("roles in the grid")
        constraints = [models.UniqueConstraint(fields=["person", "role"], name="person_role_once")]
        indexes = [models.Index(fields=["role", "person"], name="person_role_kind")]

    def __str__(self) -> str:
        return self.get_role_display()


class Organisation(Located):
    """A shop, an enterprise, a social organisation or a public body in the grid, with its unified social credit
    code (GB 32100) when it has one."""

    name = models.CharField(_("name"), max_length=200, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=OrganisationKind.choices)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    representative = models.CharField(_("legal representative or keeper"), max_length=50, blank=True)
    phone_enc = models.BinaryField(_("phone (encrypted)"), null=True, blank=True)
    phone_index = models.CharField(_("phone (blind index)"), max_length=64, blank=True)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    building = models.ForeignKey(
        Building,
        verbose_name=_("building"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organisations",
    )
    address = models.CharField(_("standard address"), max_length=200, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=8, choices=OrganisationState.choices, default=OrganisationState.OPEN
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    # Free remarks of the office (备注): may be personal, so never logged nor put on the audit record.
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="organisation_one_per_credit_code"
            )
        ]
        indexes = _located_indexes("organisation")

    def __str__(self) -> str:
        return self.name


class Component(Located):
    """A component or facility (部件): a hydrant, an extinguisher, a manhole cover, a street lamp…, with its
    16-digit identifier (county 6 + major class 2 + minor class 2 + serial 6), its departments and its state."""

    object_id = models.CharField(_("component ID"), max_length=16, unique=True)
    item = models.ForeignKey(
        "catalog.Item", verbose_name=_("class"), on_delete=models.PROTECT, related_name="components"
    )
    name = models.CharField(_("name"), max_length=100)
    location = models.CharField(_("where"), max_length=200, blank=True)
    owner_department = models.ForeignKey(
        "catalog.Department",
        verbose_name=_("department in charge"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    owner_unit = models.CharField(_("owner"), max_length=100, blank=True)
    maintainer_department = models.ForeignKey(
        "catalog.Department",
        verbose_name=_("maintained by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ComponentState.choices, default=ComponentState.GOOD
    )
    installed_on = models.DateField(_("installed"), null=True, blank=True)
    # Type-specific attributes of the standard (材质, 形状, 设置位置…).
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    # Free remarks of the office (备注): may be personal, so never logged nor put on the audit record.
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("component")
        verbose_name_plural = _("components")
        indexes = [
            *_located_indexes("component"),
            models.Index(fields=["item", "state"], name="component_item"),
        ]

    def __str__(self) -> str:
        return f"{self.object_id} {self.name}"
