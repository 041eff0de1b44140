"""The registry's own enumerations. The national code tables (gender, ethnicity, documents) are in codes.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Relation(models.TextChoices):
    """Relation to the head of the household, as the household register (户口簿) writes it."""

    HEAD = "head", _("head of household")
    SPOUSE = "spouse", _("spouse")
    SON = "son", _("son")
    DAUGHTER = "daughter", _("daughter")
    PARENT = "parent", pgettext_lazy("relation to the head of household", "parent")
    GRANDCHILD = "grandchild", _("grandchild")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other")


class Residence(models.TextChoices):
    """实有人口 by GB/T 31000: who lives here, and on what footing."""

    REGISTERED = "registered", _("registered resident")
    FLOATING = "floating", _("floating population")
    OVERSEAS = "overseas", _("person from outside the mainland")
    LEFT_BEHIND = "left_behind", _("left-behind person")


class PersonState(models.TextChoices):
    LIVING_HERE = "here", _("lives here")
    MOVED_OUT = "moved_out", _("moved out of the county")
    DECEASED = "deceased", _("deceased")


class MoveKind(models.TextChoices):
    """Why a person's grid changed: stored as a kind (shown in the reader's language) beside any reason given."""

    REGISTERED = "registered", _("registered here")
    ARRIVED = "arrived", _("registered here, coming from another grid")
    MOVED = "moved", _("moved house")
    ADJUSTED = "adjusted", _("the grids were adjusted")
    IMPORTED = "imported", _("a register was imported")


class KeyGroup(models.TextChoices):
    """Key groups (重点人群) by GB/T 31000's special groups and key youth, with the care groups counties add (the
    "X" of "9+X"). A label on a person, encrypted: higher levels see only how many."""

    ELDERLY_ALONE = "elderly_alone", _("elderly living alone")
    DISABLED = "disabled", _("person with a disability")
    LEFT_BEHIND_CHILD = "left_behind_child", _("left-behind child")
    LOW_INCOME = "low_income", _("minimum-living-allowance household member")
    COMMUNITY_CORRECTION = "community_correction", _("person under community correction")
    RELEASED_PRISONER = "released_prisoner", _("released prisoner")
    SEVERE_MENTAL = "severe_mental", _("person with a severe mental disorder")
    DRUG_USER = "drug_user", _("drug user")
    KEY_YOUTH = "key_youth", _("key youth")


# Groups cared for (关爱) rather than supervised (管控): the worker's visits to them are help, not checks.
CARE_GROUPS = frozenset(
    {KeyGroup.ELDERLY_ALONE, KeyGroup.DISABLED, KeyGroup.LEFT_BEHIND_CHILD, KeyGroup.LOW_INCOME}
)


class PersonRoleKind(models.TextChoices):
    """What a registered person also is in the grid: one person record, many roles."""

    PARTY_MEMBER = "party_member", _("party member")
    VOLUNTEER = "volunteer", _("volunteer")
    MEDIATOR = "mediator", _("mediator")
    GRID_WORKER = "grid_worker", _("grid worker")


class PartyOrgKind(models.TextChoices):
    COMMITTEE = "committee", _("party committee")
    GENERAL_BRANCH = "general_branch", _("general party branch")
    BRANCH = "branch", _("party branch")
    GROUP = "group", _("party group")


class BuildingKind(models.TextChoices):
    RESIDENTIAL = "residential", _("residential")
    COURTYARD = "courtyard", _("rural courtyard")
    COMMERCIAL = "commercial", _("commercial")
    PUBLIC = "public", _("public building")
    INDUSTRIAL = "industrial", _("industrial")
    OTHER = "other", _("other")


class OrganisationKind(models.TextChoices):
    """非公有制经济组织和社会组织 (GB/T 31000) and the public bodies the grid also serves."""

    SHOP = "shop", _("shop or individual business")
    ENTERPRISE = "enterprise", _("enterprise")
    SOCIAL = "social", _("social organisation")
    INSTITUTION = "institution", _("public institution")
    OTHER = "other", _("other")


class OrganisationState(models.TextChoices):
    OPEN = "open", _("in business")
    CLOSED = "closed", _("closed")


class ComponentState(models.TextChoices):
    """部件状态 (ObjState)."""

    GOOD = "good", _("in good order")
    DAMAGED = "damaged", _("damaged")
    MISSING = "missing", _("missing")
    OCCUPIED = "occupied", _("occupied or blocked")
    RETIRED = "retired", _("retired")


class Source(models.TextChoices):
    """Where a record came from (数据来源)."""

    SURVEY = "survey", _("collected by a grid worker")
    IMPORT = "import", _("imported from a register")
    ADMIN = "admin", _("entered at the office")
