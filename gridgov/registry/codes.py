"""National code tables the registry stores as they are: the stored value is the standard's code, so exports
and exchanges with other government systems need no mapping. Labels are English in source, Chinese by translation."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Gender(models.TextChoices):
    """GB/T 2261.1-2003 人的性别代码."""

    UNKNOWN = "0", _("unknown")
    MALE = "1", _("male")
    FEMALE = "2", _("female")
    NOT_STATED = "9", _("not stated")


class Ethnicity(models.TextChoices):
    """GB/T 3304-1991 中国各民族名称的罗马字母拼写法和代码, in the standard's order."""

    HAN = "01", _("Han")
    MONGOL = "02", _("Mongol")
    HUI = "03", _("Hui")
    TIBETAN = "04", _("Tibetan")
    UYGHUR = "05", _("Uyghur")
    MIAO = "06", _("Miao")
    YI = "07", _("Yi")
    ZHUANG = "08", _("Zhuang")
    BUYEI = "09", _("Buyei")
    KOREAN = "10", _("Korean")
    MANCHU = "11", _("Manchu")
    DONG = "12", _("Dong")
    YAO = "13", _("Yao")
    BAI = "14", _("Bai")
    TUJIA = "15", _("Tujia")
    HANI = "16", _("Hani")
    KAZAKH = "17", _("Kazakh")
    DAI = "18", _("Dai")
    LI = "19", _("Li")
    LISU = "20", _("Lisu")
    VA = "21", _("Va")
    SHE = "22", _("She")
    GAOSHAN = "23", _("Gaoshan")
    LAHU = "24", _("Lahu")
    SHUI = "25", _("Shui")
    DONGXIANG = "26", _("Dongxiang")
    NAXI = "27", _("Naxi")
    JINGPO = "28", _("Jingpo")
    KYRGYZ = "29", _("Kyrgyz")
    TU = "30", pgettext_lazy("ethnic group", "Tu")
    DAUR = "31", _("Daur")
    MULAO = "32", _("Mulao")
    QIANG = "33", _("Qiang")
    BLANG = "34", _("Blang")
    SALAR = "35", _("Salar")
    MAONAN = "36", _("Maonan")
    GELAO = "37", _("Gelao")
    XIBE = "38", _("Xibe")
    ACHANG = "39", _("Achang")
    PUMI = "40", _("Pumi")
    TAJIK = "41", _("Tajik")
    NU = "42", _("Nu")
    UZBEK = "43", _("Uzbek")
    RUSSIAN = "44", _("Russian")
    EVENKI = "45", _("Evenki")
    DEANG = "46", _("De'ang")
    BONAN = "47", _("Bonan")
    YUGUR = "48", _("Yugur")
    GIN = "49", _("Gin")
    TATAR = "50", _("Tatar")
    DERUNG = "51", _("Derung")
    OROQEN = "52", _("Oroqen")
    HEZHEN = "53", _("Hezhen")
    MONBA = "54", _("Monba")
    LHOBA = "55", _("Lhoba")
    JINO = "56", _("Jino")
    OTHER = "97", _("other (unidentified)")
    FOREIGN_ORIGIN = "98", _("foreign origin (naturalised)")


class DocumentKind(models.TextChoices):
    """The identity documents a person may be registered with; each has its own number format (validators.py)."""

    ID_CARD = "id_card", _("resident identity card")
    HMT_RESIDENCE = "hmt_residence", _("residence permit for Hong Kong, Macao and Taiwan residents")
    HK_MACAO_PERMIT = "hk_macao_permit", _("mainland travel permit for Hong Kong and Macao residents")
    TAIWAN_PERMIT = "taiwan_permit", _("mainland travel permit for Taiwan residents")
    FOREIGNER_PERMANENT = "foreigner_permanent", _("foreigner's permanent residence ID card")
    PASSPORT = "passport", _("passport")
    OTHER = "other", _("other document")


# First two digits of a GB/T 2260 administrative division code: the provinces, autonomous regions and
# municipalities, Taiwan (71), Hong Kong (81), Macao (82), 83 (which the residence permits of Taiwan residents
# start with), and 91 ("abroad"), which the code tables in common use for ID numbers list.
PROVINCE_CODES: frozenset[str] = frozenset(
    str(n)
    for first, last in (
        (11, 15),
        (21, 23),
        (31, 37),
        (41, 46),
        (50, 54),
        (61, 65),
        (71, 71),
        (81, 83),
        (91, 91),
    )
    for n in range(first, last + 1)
)
