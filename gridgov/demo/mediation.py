"""The demo county's people's mediation (人民调解): the eight towns' grid mediation committees (网格调解委员会)
with the 373 volunteer mediators (乡贤: respected elders, retired cadres, teachers, legal workers), the village
committees and grid mediation groups below them, and a year of disputes in every state.

`seed_mediation(config)` writes in bulk what `gridgov.mediation.services` would have left after a year of use,
without calling them per step. The ladder is the services' (小事不出网格, 大事不出村, 矛盾不上交): each base grid of
a town has its mediation group (网格调解小组) whose mediators are the grid's specialists, each village its
people's mediation committee (人民调解委员会) chaired by the village head with the registered mediators of the
village, and each town its grid mediation committee, where the volunteers of its villages sit (their areas: the
village they live in). A volunteer's login is the `md-…` account of the plan (`gridgov.demo.people`), named after
the registry's mediator of their village where the register has one, and linked to that person.

Each dispute lives one story that follows the services rule for rule: received (directly, or from a case of the
disputes module 07 of the demo history, with the staff comment the service adds to the case), assigned to a
committee covering its grid at its level or higher (the level becomes the committee's), sessions, the outcome
(agreement, partial, failed: the agreement row, `settled_at`/`settled_level` or `failed_at`, the follow-up
visits on `follow_up_days()`), the visits made or still due, referral up the ladder (failed outcomes stay on
record and are replaced by a later agreement), hand-over to the judicial office, a court, labour arbitration…
Every step is a `DisputeEvent` (the version is their count) with its audit record, written through
`audit.record_many` in the order they happened, as the history of cases does. Stories are cut where now falls;
a few are placed on purpose so that every open state (received, assigned, mediating) holds disputes whatever
the hour of seeding, and the demo `mediator` has disputes of their own in mediation and visits due.

One town (白泥井镇, the reference town) settles more than 960 disputes in the year. Deterministic for a seed and
a `now`, except the random nonces of the encrypted personal fields."""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.cases.choices import Capacity, ExtensionState
from gridgov.cases.choices import State as CaseState
from gridgov.cases.models import Case, CaseEvent, Comment, Extension
from gridgov.core import audit
from gridgov.core.calendar import TZ
from gridgov.core.masking import mask_id_number, mask_phone
from gridgov.core.personal import DOCUMENT, ID_NUMBER, PHONE, blind_index, decrypt_text, encrypt_text
from gridgov.grids.models import Grid
from gridgov.mediation.choices import (
    OPEN_STATES,
    DisputeKind,
    DisputeState,
    EventAction,
    FollowUpResult,
    HandOverTo,
    Language,
    Level,
    MediatorKind,
    Outcome,
    PartyRole,
    RiskLevel,
)
from gridgov.mediation.models import (
    Agreement,
    Committee,
    Dispute,
    DisputeCounter,
    DisputeEvent,
    FollowUp,
    Mediator,
    Party,
    Session,
)
from gridgov.mediation.services import KIND_OF_ITEM, follow_up_days
from gridgov.registry.choices import PersonRoleKind, PersonState
from gridgov.registry.codes import DocumentKind
from gridgov.registry.models import Person, PersonRole
from gridgov.registry.services import document_index
from gridgov.registry.validators import id_check_char

from .config import DemoConfig
from .county import COUNTY_CODE
from .history import SECOND, _Clock
from .names import MONGOL_FEMALE, MONGOL_MALE, person_name

YEAR_DAYS = 365
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
BATCH = 2000
UTC = dt.UTC
MONGOL_GIVEN = frozenset(MONGOL_MALE) | frozenset(MONGOL_FEMALE)
MONGOL_ETHNICITY = "02"
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "183",
    "186",
    "187",
    "189",
    "198",
]
# When a party added during the mediation is added, until it is.
LATER = dt.datetime.max.replace(tzinfo=UTC)
# The share of a year's disputes received from a case of the disputes module (where the history has them).
FROM_CASE_SHARE = 0.10


# -- what disputes are made of ------------------------------------------------------------------------------------
# Kinds of dispute in the towns and the sumu, by weight (a county's 调解台账: land and neighbours first).
KIND_WEIGHTS: dict[str, float] = {
    DisputeKind.LAND: 0.22,
    DisputeKind.NEIGHBOURS: 0.22,
    DisputeKind.FAMILY: 0.13,
    DisputeKind.CONTRACT: 0.08,
    DisputeKind.WAGES: 0.09,
    DisputeKind.DEBT: 0.08,
    DisputeKind.UTILITIES: 0.06,
    DisputeKind.PROPERTY: 0.03,
    DisputeKind.DAMAGE: 0.07,
    DisputeKind.OTHER: 0.02,
}
# Which months bring more of a kind: land in spring ploughing and autumn harvest, wages before the Spring
# Festival, family matters around the holidays.
SEASONS: dict[str, dict[int, float]] = {
    DisputeKind.LAND: {3: 1.8, 4: 2.2, 5: 1.8, 9: 1.3, 10: 1.4, 12: 0.5, 1: 0.5},
    DisputeKind.WAGES: {12: 2.2, 1: 2.6, 2: 1.4, 7: 0.8},
    DisputeKind.FAMILY: {1: 1.5, 2: 1.7, 10: 1.2},
    DisputeKind.DAMAGE: {6: 1.5, 7: 1.6, 8: 1.5},
    DisputeKind.UTILITIES: {11: 1.6, 12: 1.4, 4: 1.3},
    DisputeKind.PROPERTY: {11: 1.8, 12: 1.6},
}

# (title, description): {a} applicant, {b} respondent, {n} a few, {mu} mu of land, {amt} yuan, {months} months.
STORIES: dict[str, tuple[tuple[str, str], ...]] = {
    DisputeKind.LAND: (
        ("耕地边界纠纷", "{a}反映{b}春耕时越界耕种其承包地约{mu}亩，双方多次发生口角，要求恢复原有地界。"),
        ("草牧场边界纠纷", "{a}与{b}两户草牧场界线不清，{b}家羊群多次进入{a}围封禁牧的草场，双方互不相让。"),
        ("土地确权面积争议", "{a}认为确权登记时其承包地少登了{mu}亩，与相邻的{b}家就地界发生争执。"),
        ("宅基地权属纠纷", "{a}与{b}就老宅基地归属发生争议，{b}准备在争议地块上翻建房屋，{a}出面阻拦。"),
        ("林地权属纠纷", "{a}与{b}对村东一片杨树林的权属各执一词，{b}已擅自砍伐了部分树木。"),
        ("灌溉渠占地纠纷", "{b}修整地块时填平了一段灌溉支渠，{a}等{n}户的地浇不上水，要求恢复渠道。"),
    ),
    DisputeKind.NEIGHBOURS: (
        ("邻里排水纠纷", "{b}家新砌院墙后雨水排向{a}家院内，{a}多次协商未果，两家关系紧张。"),
        ("房檐滴水纠纷", "{a}反映{b}家房檐滴水落入其院内，墙根受潮开裂，要求{b}加装排水槽。"),
        ("通行纠纷", "{b}在巷道口堆放柴草和农机具，堵住了{a}家出入的通道，双方发生争吵。"),
        ("养狗扰民纠纷", "{b}家散养的狗多次咬死{a}家的鸡，夜间狂吠影响休息，{a}要求拴养并赔偿。"),
        ("树木遮挡纠纷", "{b}家院外的杨树长得过高，遮挡{a}家蔬菜大棚的阳光，{a}要求砍伐。"),
        ("噪音扰民纠纷", "{a}反映楼上{b}家装修和夜间活动噪音大，影响家中老人休息，协商无果。"),
        ("粪堆占道纠纷", "{b}家把牛粪堆在{a}家门前空地上，气味难闻，{a}多次要求清走未果。"),
    ),
    DisputeKind.FAMILY: (
        ("赡养纠纷", "{a}年近八旬，几个子女对赡养费用和轮流照顾的安排意见不一，{a}申请调解。"),
        ("婚姻家庭纠纷", "{a}与{b}夫妻因家庭琐事长期争吵，{a}提出离婚，双方就子女抚养和财产分割争执不下。"),
        ("分家析产纠纷", "{a}与{b}兄弟二人因父母去世后的房屋和承包地分配发生争执。"),
        ("抚养费纠纷", "{a}与{b}离婚后，{b}未按约定支付孩子抚养费，已拖欠{months}个月。"),
        ("家庭矛盾纠纷", "{a}与子女{b}因照看孙辈和家务分担长期不和，矛盾有激化迹象。"),
    ),
    DisputeKind.CONTRACT: (
        ("土地流转合同纠纷", "{a}将{mu}亩耕地流转给{b}种植，{b}以收成不好为由拖欠流转费{amt}元。"),
        ("农机作业费纠纷", "{b}雇用{a}的收割机收玉米，事后以作业质量差为由拒付作业费{amt}元。"),
        ("房屋租赁纠纷", "{b}租住{a}的房屋，租期未满提前搬走，双方就押金和房租发生争执。"),
        ("鱼塘承包合同纠纷", "{a}承包村集体鱼塘，合同到期后与{b}就设施补偿问题产生分歧。"),
        ("项目园租地纠纷", "{a}等{n}户村民与{b}经营的种植项目园就土地租金结算发生争执，涉及{amt}元。"),
    ),
    DisputeKind.WAGES: (
        ("拖欠务工工资纠纷", "{a}等{n}名村民在{b}承包的工地务工，工程完工后{b}拖欠工资共计{amt}元。"),
        ("雇工报酬纠纷", "{a}为{b}家放羊半年，{b}以丢失羊只为由克扣工钱{amt}元。"),
        ("季节工工钱纠纷", "{a}等人为{b}的合作社采摘葡萄，结算时双方对工日计算有分歧，涉及{amt}元。"),
        ("装修工钱纠纷", "{a}给{b}家装修房屋，完工后{b}以质量问题为由拒付剩余工钱{amt}元。"),
    ),
    DisputeKind.DEBT: (
        ("民间借贷纠纷", "{b}向{a}借款{amt}元用于购买化肥和种子，约定秋后归还，至今未还。"),
        ("赊购款纠纷", "{b}在{a}的农资店赊购化肥农药，欠款{amt}元，多次催要未果。"),
        ("购牛款纠纷", "{b}从{a}处购买{n}头牛，尚欠购牛款{amt}元。"),
        ("合伙债务纠纷", "{a}与{b}合伙养羊，散伙时对欠饲料款{amt}元由谁承担意见不一。"),
    ),
    DisputeKind.UTILITIES: (
        ("电费分摊纠纷", "{a}等{n}户村民与{b}就共用变压器的电费分摊和线损问题发生争执，涉及电费{amt}元。"),
        ("灌溉水费纠纷", "{a}反映{b}负责收取的机井灌溉水费计算不公，部分农户拒绝缴纳，涉及{amt}元。"),
        ("自来水费纠纷", "{a}与{b}两家共用一块水表，因水费分摊问题多次争吵。"),
    ),
    DisputeKind.PROPERTY: (
        ("物业费纠纷", "{b}以小区环境卫生差为由拒交物业费{amt}元，与物业负责人{a}发生争执。"),
        ("取暖费纠纷", "{a}反映冬季室温不达标，拒交取暖费{amt}元，与供暖负责人{b}协商无果。"),
    ),
    DisputeKind.DAMAGE: (
        ("牲畜毁坏庄稼纠纷", "{b}家的羊群跑进{a}家玉米地，啃食青苗约{mu}亩，{a}要求赔偿。"),
        ("交通事故赔偿纠纷", "{b}驾驶三轮车与{a}的电动车相撞，{a}受轻伤，双方就赔偿数额争执不下。"),
        ("房屋损坏赔偿纠纷", "{b}家盖房施工时震裂了{a}家的墙体，{a}要求修复并赔偿{amt}元。"),
        ("农药飘移损害纠纷", "{b}打药时农药飘到{a}家的葵花地，造成减产，{a}要求赔偿损失{amt}元。"),
    ),
    DisputeKind.OTHER: (
        ("坟地纠纷", "{a}与{b}就祖坟迁移和坟地范围发生争执。"),
        ("集体收益分配纠纷", "{a}对村集体征地补偿款的分配方案有异议，认为其家庭人口计算有误。"),
    ),
}
# Amounts at stake (yuan): share of disputes without one, then the median and spread of a lognormal.
AMOUNTS: dict[str, tuple[float, float, float, int, int]] = {
    # kind: (no amount, median, sigma, lowest, highest)
    DisputeKind.LAND: (0.45, 8_000, 0.9, 1_000, 120_000),
    DisputeKind.NEIGHBOURS: (0.6, 3_000, 0.9, 200, 30_000),
    DisputeKind.FAMILY: (0.5, 40_000, 1.0, 3_000, 500_000),
    DisputeKind.CONTRACT: (0.05, 30_000, 1.0, 2_000, 600_000),
    DisputeKind.WAGES: (0.0, 25_000, 1.0, 2_000, 400_000),
    DisputeKind.DEBT: (0.0, 20_000, 1.0, 1_000, 300_000),
    DisputeKind.UTILITIES: (0.1, 3_000, 0.8, 200, 20_000),
    DisputeKind.PROPERTY: (0.0, 2_000, 0.6, 400, 10_000),
    DisputeKind.DAMAGE: (0.1, 8_000, 1.0, 500, 120_000),
    DisputeKind.OTHER: (0.5, 10_000, 1.0, 1_000, 100_000),
}
RISK_BIAS: dict[str, float] = {
    DisputeKind.LAND: 1.6,
    DisputeKind.WAGES: 1.5,
    DisputeKind.FAMILY: 1.2,
    DisputeKind.OTHER: 1.3,
}
LAWS: dict[str, str] = {
    DisputeKind.LAND: "《农村土地承包法》和《民法典》物权编",
    DisputeKind.NEIGHBOURS: "《民法典》关于相邻关系",
    DisputeKind.FAMILY: "《民法典》婚姻家庭编",
    DisputeKind.CONTRACT: "《民法典》合同编",
    DisputeKind.WAGES: "《保障农民工工资支付条例》",
    DisputeKind.DEBT: "《民法典》关于借款合同",
    DisputeKind.UTILITIES: "供用电、供用水合同",
    DisputeKind.PROPERTY: "《物业管理条例》",
    DisputeKind.DAMAGE: "《民法典》侵权责任编",
    DisputeKind.OTHER: "村规民约和有关法律",
}
SESSION_NOTES = (
    "调解员分别听取双方陈述，{a}坚持原有要求，{b}表示可以适当让步，双方分歧主要在金额和期限上。",
    "调解员到争议现场实地查看，查阅了相关合同和票据，向双方讲解了{law}的有关规定。",
    "采取背靠背方式分别做双方工作，双方情绪有所缓和，同意在村委会主持下继续协商。",
    "邀请村里德高望重的老党员一同参与调解，从邻里情分入手做双方思想工作。",
    "双方当面核对了往来账目，对大部分事实没有异议，仅对个别款项存在争议。",
    "{b}未按时到场，调解员电话联系后当事人表示愿意接受调解，约定下次时间。",
    "调解员结合{law}释法明理，双方均表示愿意在互谅互让的基础上解决问题。",
)
NEXT_STEPS = (
    "约定三日后再次调解。",
    "请村委会核实原始承包合同和地界图。",
    "由网格员联系供电所核实电表读数。",
    "待当事人外出务工返乡后继续调解。",
    "双方各自回去与家人商量，下周再谈。",
    "请司法所工作人员参加下次调解。",
)
TERMS: dict[str, str] = {
    DisputeKind.LAND: (
        "一、双方同意以土地确权登记图为准重新确定地界，由村委会现场埋设界桩；二、{b}于本协议签订后十日内退还越界"
        "耕种的土地，并补偿{a}青苗损失{amt}元；三、双方今后不得再就此地界发生争执。"
    ),
    DisputeKind.NEIGHBOURS: (
        "一、{b}于十五日内在院墙外侧加装排水管，雨水改排至巷道排水沟；二、{b}一次性补偿{a}墙体维修费{amt}元；"
        "三、双方互谅互让，和睦相处。"
    ),
    DisputeKind.FAMILY: (
        "一、子女每人每月支付父母赡养费{amt}元，于每月五日前交付；二、父母由子女轮流照顾，每人每次照顾两个月；"
        "三、父母的医疗费用由子女平均分担。"
    ),
    DisputeKind.CONTRACT: (
        "一、{b}于约定期限前一次性支付{a}{amt}元；二、原合同继续履行至期满；三、如{b}逾期未付，{a}可依法解除合同。"
    ),
    DisputeKind.WAGES: (
        "一、{b}于约定期限前一次性支付{a}等人工资{amt}元；二、款项通过银行转账支付至各人账户；三、双方再无其他争议。"
    ),
    DisputeKind.DEBT: "一、{b}确认尚欠{a}{amt}元；二、{b}分三期归还，每期于月底前支付；三、{a}同意免除全部利息。",
    DisputeKind.UTILITIES: (
        "一、共用变压器的线损电费由各户按用电量比例分摊；二、{b}对之前多收取的电费予以减免；三、{a}等户交足当年电费{amt}元。"
    ),
    DisputeKind.PROPERTY: "一、物业公司于十日内完成小区环境卫生整改；二、{b}于整改后补交费用{amt}元。",
    DisputeKind.DAMAGE: "一、{b}一次性赔偿{a}各项损失共计{amt}元，于签订协议当日付清；二、双方就此事再无其他争议。",
    DisputeKind.OTHER: "一、双方同意按村规民约处理，由村委会监督执行；二、双方不得再因此事发生争执。",
}
TERMS_NO_AMOUNT = "一、双方就争议事项达成谅解，{b}向{a}赔礼道歉；二、双方今后互谅互让，不再因此事发生争执。"
PARTIAL = "一、双方就{part}达成一致：{b}支付{a}{amt}元；二、其余争议事项双方未能达成一致，可另行协商或依法向人民法院起诉。"
PARTS = ("已发生的损失", "欠款本金", "地界走向", "维修费用", "前期费用")
FAILED = (
    "双方对赔偿数额分歧过大，经多次调解仍未能达成一致。",
    "{b}拒不到场参加调解，调解无法进行。",
    "争议涉及土地确权，需由政府依法确认后处理。",
    "当事人坚持通过诉讼解决，不同意继续调解。",
    "双方情绪激动，存在矛盾激化风险，建议移交处理。",
)
METHODS = (
    "当场以现金支付",
    "通过微信转账支付",
    "通过银行转账支付",
    "分期支付，由村委会监督",
    "由调解委员会监督履行",
)
REFER = {
    2: (
        "争议金额较大，网格调解小组难以调处，提交村调委会。",
        "涉及多户村民，需村委会出面协调。",
        "双方分歧较大，网格内调解不成，提请村调委会调解。",
    ),
    1: (
        "双方分歧较大，提请镇网格调解委员会调解。",
        "涉及土地确权，需镇里相关部门参与调处。",
        "村调委会调解未果，提交镇网格调解委员会。",
    ),
}
HAND_OVER: dict[str, str] = {
    HandOverTo.JUDICIAL_OFFICE: "经镇网格调解委员会调解未果，将案卷移交镇司法所，由司法所依法调处。",
    HandOverTo.COURT: "当事人已向旗人民法院提起诉讼，将全部调解材料移交法院诉调对接中心。",
    HandOverTo.LABOUR_ARBITRATION: "欠薪纠纷调解不成，已引导当事人申请劳动仲裁，移交调解笔录和欠薪证据。",
    HandOverTo.POLICE: "双方冲突有激化倾向，已移交派出所依法处置，并做好稳控工作。",
    HandOverTo.PETITION: "当事人坚持上访，已将调解材料移交旗信访局。",
}
VISITS: dict[str, tuple[str, ...]] = {
    FollowUpResult.PERFORMED: (
        "回访时双方均表示协议已履行完毕，关系已恢复正常。",
        "款项已全部付清，当事人对调解结果满意。",
        "新地界已埋设界桩，双方未再发生争执。",
        "",
    ),
    FollowUpResult.PARTLY: (
        "已支付部分款项，剩余部分约定下月付清。",
        "部分条款已履行，已督促尽快履行其余部分。",
    ),
    FollowUpResult.NOT_PERFORMED: (
        "对方以资金困难为由尚未履行，调解员已再次做工作。",
        "协议未履行，已告知当事人可申请司法确认。",
    ),
}
PLACES = {
    3: ("{g}网格服务站", "当事人家中", "争议现场"),
    2: ("{v}党群服务中心调解室", "{v}村委会会议室", "争议地块现场"),
    1: ("{t}综治中心调解室", "{t}司法所调解室", "{t}网格调解委员会调解室"),
}
OTHERS = ("村委会主任", "网格员", "村民代表", "包村干部", "双方亲属", "司法所工作人员", "派出所民警", "")
# The kinds of the volunteers on the town committees, and what each kind is good at.
VOLUNTEER_KINDS = (
    (MediatorKind.ELDER, 0.38),
    (MediatorKind.RETIRED_CADRE, 0.26),
    (MediatorKind.TEACHER, 0.2),
    (MediatorKind.LAWYER, 0.1),
    (MediatorKind.OTHER, 0.06),
)
SKILLS: dict[str, tuple[str, ...]] = {
    MediatorKind.ELDER: (DisputeKind.LAND, DisputeKind.NEIGHBOURS, DisputeKind.FAMILY, DisputeKind.OTHER),
    MediatorKind.RETIRED_CADRE: (DisputeKind.LAND, DisputeKind.CONTRACT, DisputeKind.UTILITIES, DisputeKind.NEIGHBOURS),
    MediatorKind.TEACHER: (DisputeKind.FAMILY, DisputeKind.NEIGHBOURS, DisputeKind.DAMAGE),
    MediatorKind.LAWYER: (DisputeKind.CONTRACT, DisputeKind.DEBT, DisputeKind.WAGES, DisputeKind.DAMAGE),
    MediatorKind.GRID_WORKER: (DisputeKind.NEIGHBOURS, DisputeKind.PROPERTY, DisputeKind.UTILITIES, DisputeKind.FAMILY),
    MediatorKind.OTHER: (DisputeKind.LAND, DisputeKind.NEIGHBOURS, DisputeKind.FAMILY, DisputeKind.UTILITIES),
}  # fmt: skip

# Where a dispute is first assigned (grid group, village committee, town committee), by risk.
FIRST_LEVEL: dict[str, tuple[float, float, float]] = {
    RiskLevel.LOW: (0.62, 0.24, 0.14),
    RiskLevel.MEDIUM: (0.42, 0.33, 0.25),
    RiskLevel.HIGH: (0.12, 0.38, 0.5),
}
# The outcome at each level: agreement, partial, failed, referred up without an outcome.
OUTCOMES: dict[int, tuple[float, float, float, float]] = {
    3: (0.74, 0.06, 0.12, 0.08),
    2: (0.70, 0.09, 0.14, 0.07),
    1: (0.66, 0.12, 0.22, 0.0),
}
BUSY_OUTCOMES: dict[int, tuple[float, float, float, float]] = {
    3: (0.84, 0.04, 0.07, 0.05),
    2: (0.80, 0.06, 0.09, 0.05),
    1: (0.76, 0.08, 0.16, 0.0),
}


class _Cut(Exception):
    """The next step of a story lies after now: the dispute stays where it is."""


class _Stop(Exception):
    """A dispute placed on purpose has reached the state it is to be found in."""


# -- the county as mediation sees it --------------------------------------------------------------------------------
@dataclass(eq=False)
class _Grid:
    id: int
    code: str
    name: str
    level: int
    l1: int | None
    l2: int | None
    path: str


@dataclass(eq=False)
class _Person:
    id: int
    name: str
    gender: str
    mongol: bool
    phone: tuple[bytes | None, str, str]  # encrypted, blind index, masked
    document: tuple[bytes | None, str, str] | None  # an ID card: encrypted (DOCUMENT), blind index, masked


@dataclass(eq=False)
class _Committee:
    id: int
    grid: _Grid
    level: int
    name: str
    mediators: list[_Mediator] = field(default_factory=list)


@dataclass(eq=False)
class _Mediator:
    id: int
    committee: _Committee
    name: str
    kind: str
    user: int | None
    person: _Person | None
    skills: list[str]
    languages: list[str]
    area: _Grid
    gender: str = ""


class _Ref:
    """What `audit.record_many` needs of a row: its model, its key, a username."""

    __slots__ = ("_meta", "pk", "username")

    def __init__(self, model: Any, pk: int, username: str = "") -> None:
        self._meta, self.pk, self.username = model._meta, pk, username


def is_mongolian(name: str) -> bool:
    """A name drawn from the Mongolian pools of `gridgov.demo.names` (with or without a surname)."""
    return name in MONGOL_GIVEN or name[1:] in MONGOL_GIVEN


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def phone_fields(number: str) -> tuple[bytes | None, str, str]:
    """A phone as the services store it: encrypted, its blind index, masked (blank stays blank)."""
    if not number:
        return None, "", ""
    return encrypt_text(number, PHONE), blind_index(number), mask_phone(number)


def id_number(rng: random.Random, born: dt.date, female: bool) -> str:
    """A valid GB 11643 citizen ID number registered in the county."""
    serial = rng.randrange(0, 50) * 10 + rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    first = f"{COUNTY_CODE}{born:%Y%m%d}{serial:03d}"
    return first + id_check_char(first)


# -- writing helpers (shared with gridgov.demo.community) ----------------------------------------------------------
# Field types whose Python values are already what the database takes.
PLAIN = frozenset(
    {
        "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "ForeignKey", "IntegerField",
        "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "TextField",
    }
)  # fmt: skip


def _converter(f: Any, conn: Any) -> Callable[[Any], Any] | None:
    """How a value of field `f` goes to the database (None: as it is), without the per-value work of
    `get_db_prep_save` where the backend adapts the type itself."""
    kind = f.get_internal_type()
    if kind in PLAIN or (kind == "ForeignKey" and f.target_field.get_internal_type() in PLAIN):
        return None
    if kind == "DateTimeField":
        adapt = conn.ops.adapt_datetimefield_value
        return lambda v: adapt(v) if v is not None else None
    if kind == "DateField":
        return conn.ops.adapt_datefield_value
    if kind == "DecimalField":
        adapt_decimal = conn.ops.adapt_decimalfield_value
        return lambda v: adapt_decimal(v, f.max_digits, f.decimal_places)
    return lambda v: f.get_db_prep_save(v, conn)


def insert_rows(model: Any, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Plain executemany of the rows (values as the model's fields take them); columns not named get their
    field's default. bulk_create's per-field work would cost more than the rows themselves."""
    if not rows:
        return
    conn = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the per-thread proxy
    given = [model._meta.get_field(n) for n in names]
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f not in given]
    defaults = [f.get_db_prep_save(f.get_default(), conn) for f in rest]
    table = conn.ops.quote_name(model._meta.db_table)
    columns = ", ".join(conn.ops.quote_name(f.column) for f in (*given, *rest))
    marks = ", ".join(["%s"] * (len(given) + len(rest)))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - the model's own names
    converters = [(i, c) for i, f in enumerate(given) if (c := _converter(f, conn)) is not None]
    with conn.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            prepared = []
            for row in rows[start : start + BATCH]:
                values = list(row)
                for i, convert in converters:
                    values[i] = convert(values[i])
                values += defaults
                prepared.append(values)
            cursor.executemany(sql, prepared)


@contextmanager
def bulk_writing() -> Iterator[None]:
    """Many rows in one transaction: no garbage collection passes over the objects that stay alive anyway, and
    (SQLite) a page cache that holds the tables' indexes, as the history of cases does."""
    collecting = gc.isenabled()
    gc.disable()
    sqlite = connection.vendor == "sqlite"
    cache_size = 0
    if sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            (cache_size,) = cursor.fetchone()
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")


def next_id(model: Any) -> int:
    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def reset_sequences(models: Sequence[Any]) -> None:
    """Explicit ids leave PostgreSQL's sequences behind (SQLite's follow by themselves)."""
    sql = connection.ops.sequence_reset_sql(no_style(), list(models))
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)


def cumulative(weights: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


def pick_weighted(rng: random.Random, items: Sequence[Any], cum: Sequence[float]) -> Any:
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


# -- the report ---------------------------------------------------------------------------------------------------------
@dataclass
class MediationReport:
    committees: int = 0
    committees_by_level: Counter = field(default_factory=Counter)
    mediators: int = 0
    volunteers: int = 0  # the volunteer mediators (乡贤) on the towns' grid mediation committees
    linked_mediators: int = 0
    disputes: int = 0
    by_state: Counter = field(default_factory=Counter)
    settled_by_level: Counter = field(default_factory=Counter)
    events: int = 0
    parties: int = 0
    linked_parties: int = 0
    sessions: int = 0
    agreements: int = 0
    follow_ups: int = 0
    follow_ups_done: int = 0
    from_cases: int = 0
    busy_town: str = ""
    busy_town_settled: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the seed's output."""
        text = _(
            "Mediation: %(committees)s committees (%(towns)s towns' grid mediation committees with %(volunteers)s "
            "volunteer mediators), %(mediators)s mediators, %(disputes)s disputes in a year (%(settled)s settled, "
            "%(open)s open), in %(seconds).1f s."
        ) % {
            "committees": f"{self.committees:,}",
            "towns": self.committees_by_level.get(1, 0),
            "volunteers": f"{self.volunteers:,}",
            "mediators": f"{self.mediators:,}",
            "disputes": f"{self.disputes:,}",
            "settled": f"{self.by_state.get(DisputeState.SETTLED, 0):,}",
            "open": f"{sum(self.by_state.get(s, 0) for s in OPEN_STATES):,}",
            "seconds": self.seconds,
        }
        if self.busy_town:
            text += " " + _("%(town)s settled %(count)s disputes in the last year.") % {
                "town": self.busy_town,
                "count": f"{self.busy_town_settled:,}",
            }
        return text


# -- the committees and their mediators -------------------------------------------------------------------------------
class _World:
    """The towns, their villages and grids, the people who mediate there, read once; the committees made."""

    def __init__(self, config: DemoConfig, now: dt.datetime, rng: random.Random) -> None:
        self.rng = rng
        self.now = now
        towns = {COUNTY_CODE + u.code for u in config.units if u.kind == "town"}
        rows = (
            Grid.objects.current()
            .order_by("code")
            .values_list("id", "code", "name", "level", "kind", "l1_id", "l2_id", "path")
        )
        self.grids: dict[int, _Grid] = {}
        self.towns: list[_Grid] = []
        self.villages: list[_Grid] = []
        self.leaves: list[_Grid] = []
        self.population: dict[int, int] = dict(Grid.objects.current().values_list("id", "population"))
        town_ids: set[int] = set()
        for pk, code, name, level, kind, l1, l2, path in rows:
            g = _Grid(pk, code, name, level, l1, l2, path)
            self.grids[pk] = g
            if level == 1 and code in towns:
                self.towns.append(g)
                town_ids.add(pk)
            elif level == 2 and l1 in town_ids:
                self.villages.append(g)
            elif level == 3 and kind == "base" and l1 in town_ids:
                self.leaves.append(g)
        self.leaves_of: dict[int, list[_Grid]] = defaultdict(list)
        for leaf in self.leaves:
            self.leaves_of[leaf.l2 or 0].append(leaf)
        self.villages_of: dict[int, list[_Grid]] = defaultdict(list)
        for v in self.villages:
            self.villages_of[v.l1 or 0].append(v)

        self.users: dict[int, tuple[str, str]] = {
            pk: (username, full_name)
            for pk, username, full_name in User.objects.values_list("id", "username", "full_name")
        }
        self.by_username = {username: pk for pk, (username, _n) in self.users.items()}
        self.specialists: dict[int, list[int]] = defaultdict(list)
        self.officers: dict[int, list[int]] = defaultdict(list)
        self.l2_heads: dict[int, list[int]] = defaultdict(list)
        self.l1_heads: dict[int, list[int]] = defaultdict(list)
        self.town_ops: dict[int, list[int]] = defaultdict(list)
        self.md_users: dict[int, list[int]] = defaultdict(list)
        by_role: dict[str, dict[int, list[int]]] = {
            Role.GRID_SPECIALIST: self.specialists,
            Role.INFO_OFFICER: self.officers,
            Role.GRID_HEAD_L2: self.l2_heads,
            Role.GRID_HEAD_L1: self.l1_heads,
            Role.OPERATOR: self.town_ops,
            Role.MEDIATOR: self.md_users,
        }
        held = RoleAssignment.objects.filter(grid__isnull=False).order_by("id")
        for user, role, grid in held.values_list("user_id", "role", "grid_id"):
            target = by_role.get(role)
            if target is not None and grid is not None:
                target[grid].append(user)
        for users in self.md_users.values():
            users.sort(key=lambda u: self.users[u][0])
        self.renames: dict[int, str] = {}

        # The register: its mediators by village, and grown-ups who may be parties to a dispute.
        village_ids = [v.id for v in self.villages]
        self.registered: dict[int, list[_Person]] = defaultdict(list)
        self.residents: dict[int, list[_Person]] = defaultdict(list)
        if village_ids:
            mediator_ids = set(
                PersonRole.objects.filter(
                    role=PersonRoleKind.MEDIATOR, person__grid_l2_id__in=village_ids
                ).values_list("person_id", flat=True)
            )
            born_before = timezone.localdate(now) - dt.timedelta(days=int(20 * 365.25))
            for pid, pname, gender, ethnicity, home, kind, doc_enc, doc_index, doc_masked, ph_enc, ph_index, ph_masked in (
                Person.objects.filter(
                    state=PersonState.LIVING_HERE, grid_l2_id__in=village_ids, birth_date__lte=born_before
                )
                .order_by("id")
                .values_list(
                    "id", "name", "gender", "ethnicity", "grid_l2_id", "document_kind", "document_enc",
                    "document_index", "document_masked", "phone_enc", "phone_index", "phone_masked",
                )
            ):  # fmt: skip
                document = None
                if kind == DocumentKind.ID_CARD and doc_enc:
                    document = (bytes(doc_enc), doc_index, doc_masked)
                phone = (bytes(ph_enc) if ph_enc else None, ph_index, ph_masked)
                person = _Person(pid, pname, gender, ethnicity == MONGOL_ETHNICITY, phone, document)
                if pid in mediator_ids:
                    self.registered[home or 0].append(person)
                self.residents[home or 0].append(person)
        self.committees: list[_Committee] = []
        self.mediators: list[_Mediator] = []
        self.town_committee: dict[int, _Committee] = {}
        self.village_committee: dict[int, _Committee] = {}
        self.grid_committee: dict[int, _Committee] = {}
        self.area_mediators: dict[int, list[_Mediator]] = defaultdict(list)  # town committee, by village
        self.demo_mediator: _Mediator | None = None

    def name_of(self, user: int) -> str:
        return self.renames.get(user) or self.users[user][1]

    def languages(self, name: str, mongol: bool, pastoral: bool) -> list[str]:
        speaks = mongol or is_mongolian(name) or (pastoral and self.rng.random() < 0.35)
        return [Language.ZH, Language.MN] if speaks else [Language.ZH]

    def skills(self, kind: str, pastoral: bool) -> list[str]:
        pool = list(SKILLS[kind])
        k = self.rng.choice((1, 2, 2, 3))
        chosen = self.rng.sample(pool, min(k, len(pool)))
        if pastoral and DisputeKind.LAND not in chosen and self.rng.random() < 0.5:
            chosen.append(DisputeKind.LAND)  # grassland boundaries: what a gaqa's mediators know best
        return [k for k in DisputeKind.values if k in chosen]

    def build(self) -> None:
        """The committees and their mediators, in memory (ids given here, written by `write_committees`)."""
        rng = self.rng
        committee_id = next_id(Committee)
        mediator_id = next_id(Mediator)

        def committee(grid: _Grid, level: int, name: str) -> _Committee:
            nonlocal committee_id
            c = _Committee(committee_id, grid, level, name)
            committee_id += 1
            self.committees.append(c)
            return c

        def mediator(c: _Committee, **values: Any) -> _Mediator:
            nonlocal mediator_id
            m = _Mediator(mediator_id, c, **values)
            mediator_id += 1
            c.mediators.append(m)
            self.mediators.append(m)
            return m

        for town in self.towns:
            tc = self.town_committee[town.id] = committee(town, Level.TOWN, f"{town.name}网格调解委员会")
            for village in self.villages_of[town.id]:
                pastoral = village.name.endswith("嘎查")
                registered = list(self.registered.get(village.id, []))
                # The volunteers of the village sit on the town's committee, their areas the village.
                for user in self.md_users.get(village.id, []):
                    person = registered.pop(0) if registered else None
                    if person is not None:
                        self.renames[user] = person.name
                    name = person.name if person else self.users[user][1]
                    kind = pick_weighted(
                        rng, [k for k, _w in VOLUNTEER_KINDS], cumulative([w for _k, w in VOLUNTEER_KINDS])
                    )
                    m = mediator(
                        tc,
                        name=name,
                        kind=kind,
                        user=user,
                        person=person,
                        skills=self.skills(kind, pastoral),
                        languages=self.languages(name, bool(person and person.mongol), pastoral),
                        area=village,
                        gender=person.gender if person else "",
                    )
                    self.area_mediators[village.id].append(m)
                    if self.users[user][0] == "mediator":
                        self.demo_mediator = m
                # The village's people's mediation committee: its head, and the registered mediators left.
                vc = self.village_committee[village.id] = committee(
                    village, Level.VILLAGE, f"{village.name}人民调解委员会"
                )
                for user in self.l2_heads.get(village.id, [])[:1]:
                    name = self.users[user][1]
                    mediator(
                        vc,
                        name=name,
                        kind=MediatorKind.OTHER,
                        user=user,
                        person=None,
                        skills=self.skills(MediatorKind.OTHER, pastoral),
                        languages=self.languages(name, False, pastoral),
                        area=village,
                    )
                for person in registered[:3]:
                    kind = rng.choice(
                        (
                            MediatorKind.ELDER,
                            MediatorKind.ELDER,
                            MediatorKind.RETIRED_CADRE,
                            MediatorKind.TEACHER,
                        )
                    )
                    mediator(
                        vc,
                        name=person.name,
                        kind=kind,
                        user=None,
                        person=person,
                        skills=self.skills(kind, pastoral),
                        languages=self.languages(person.name, person.mongol, pastoral),
                        area=village,
                        gender=person.gender,
                    )
                # Each grid's mediation group: its grid specialists, who mediate first.
                for leaf in self.leaves_of.get(village.id, []):
                    specialists = self.specialists.get(leaf.id, [])
                    if not specialists:
                        continue
                    gc = self.grid_committee[leaf.id] = committee(
                        leaf, Level.GRID, f"{village.name}{leaf.name}网格调解小组"
                    )
                    for user in specialists:
                        name = self.users[user][1]
                        mediator(
                            gc,
                            name=name,
                            kind=MediatorKind.GRID_WORKER,
                            user=user,
                            person=None,
                            skills=self.skills(MediatorKind.GRID_WORKER, pastoral),
                            languages=self.languages(name, False, pastoral),
                            area=leaf,
                        )

    def write_committees(self, now: dt.datetime) -> None:
        rng = random.Random(len(self.committees))
        since = now - dt.timedelta(days=YEAR_DAYS + 40)
        rows: list[tuple[Any, ...]] = []
        for c in self.committees:
            g = c.grid
            if c.level == Level.TOWN:
                address, phone = f"{g.name}综治中心（司法所）", f"0477-5{rng.randrange(10**6):06d}"
            elif c.level == Level.VILLAGE:
                address, phone = (
                    f"{self.grids[g.l1 or 0].name}{g.name}党群服务中心",
                    f"0477-5{rng.randrange(10**6):06d}",
                )
            else:
                village = self.grids[g.l2 or 0]
                address, phone = f"{self.grids[g.l1 or 0].name}{village.name}{g.name}网格服务站", ""
            l3 = g.id if c.level == 3 else None
            l2 = g.id if c.level == 2 else g.l2
            l1 = g.id if c.level == 1 else g.l1
            rows.append((c.id, c.name, g.id, c.level, address, phone, True, since, l1, l2, l3))
        insert_rows(
            Committee,
            ("id", "name", "grid", "level", "address", "phone", "active", "created_at", "grid_l1_id", "grid_l2_id", "grid_l3_id"),
            rows,
        )  # fmt: skip
        rows = []
        areas: list[tuple[int, int]] = []
        for m in self.mediators:
            if m.person is not None and m.person.phone[0]:
                phone_cols = m.person.phone
            else:
                phone_cols = phone_fields(mobile(rng))
            rows.append(
                (m.id, m.committee.id, m.person.id if m.person else None, m.user, m.name, m.kind, m.gender, *phone_cols,
                 m.skills, m.languages, True, since, since)
            )  # fmt: skip
            areas.append((m.id, m.area.id))
        insert_rows(
            Mediator,
            ("id", "committee", "person", "user", "name", "kind", "gender", "phone_enc", "phone_index", "phone_masked",
             "skills", "languages", "active", "created_at", "updated_at"),
            rows,
        )  # fmt: skip
        insert_rows(Mediator.areas.through, ("mediator", "grid"), areas)
        # A volunteer's login bears the name of the registered resident it belongs to.
        if self.renames:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {connection.ops.quote_name(User._meta.db_table)} SET full_name = %s WHERE id = %s",  # noqa: S608
                    [(name, pk) for pk, name in sorted(self.renames.items())],
                )


# -- the stories ------------------------------------------------------------------------------------------------------
class _Party:
    __slots__ = (
        "added",
        "address",
        "id",
        "id_enc",
        "id_index",
        "id_masked",
        "name",
        "person",
        "phone",
        "role",
    )

    def __init__(self, role: str, name: str) -> None:
        self.id = 0
        self.role = role
        self.name = name
        self.person: int | None = None
        self.id_enc: bytes | None = None
        self.id_index = ""
        self.id_masked = ""
        self.phone: tuple[bytes | None, str, str] = (None, "", "")
        self.address = ""
        self.added: dt.datetime | None = None  # added after the receipt (a party-added step)


class _Ev:
    __slots__ = ("action", "actor", "at", "audit_data", "data", "frm", "level", "note", "to")

    def __init__(self, at, action, actor, frm, to, level, note, data, audit_data=None) -> None:
        self.at, self.action, self.actor, self.frm, self.to = at, action, actor, frm, to
        self.level, self.note, self.data, self.audit_data = level, note, data, audit_data


class _Session:
    __slots__ = ("by", "held", "id", "mediators", "next_steps", "notes", "others", "parties", "place")

    def __init__(self, held: dt.datetime, by: int) -> None:
        self.id = 0
        self.held, self.by = held, by
        self.mediators: list[_Mediator] = []
        self.parties: list[_Party] = []
        self.place = self.others = self.notes = self.next_steps = ""


class _Agreement:
    __slots__ = ("amount", "at", "by", "committee", "due", "level", "method", "outcome", "signed", "terms")

    def __init__(self, outcome: str, at: dt.datetime, by: int, committee: _Committee, level: int) -> None:
        self.outcome, self.at, self.by, self.committee, self.level = outcome, at, by, committee, level
        self.signed = at.astimezone(TZ).date()
        self.terms = self.method = ""
        self.amount: Decimal | None = None
        self.due: dt.date | None = None


class _FollowUp:
    __slots__ = ("created", "done", "due", "id", "note", "result", "visitor")

    def __init__(self, due: dt.date, created: dt.datetime) -> None:
        self.id = 0
        self.due, self.created = due, created
        self.done: dt.datetime | None = None
        self.visitor: int | None = None
        self.result = self.note = ""


@dataclass(eq=False)
class _Case:
    id: int
    number: str
    state: str
    level: int
    version: int
    item: str
    item_name: str
    description: str
    address: str
    grid: int
    last: dt.datetime


class _Story:
    """One dispute: what it is about, and everything that happened to it."""

    def __init__(self, idx: int, grid: _Grid, seed: float) -> None:
        self.idx = idx
        self.seed = seed
        self.grid = grid
        self.id = 0
        self.number = ""
        self.kind = ""
        self.title = ""
        self.description = ""
        self.amount: Decimal | None = None
        self.risk: str = RiskLevel.LOW
        self.language: str = Language.ZH
        self.address = ""
        self.case: _Case | None = None
        self.parties: list[_Party] = []
        self.received: dt.datetime = dt.datetime.min.replace(tzinfo=UTC)
        self.receiver = 0
        self.events: list[_Ev] = []
        self.state = ""
        self.level: int = Level.GRID
        self.committee: _Committee | None = None
        self.lead: _Mediator | None = None
        self.assistants: list[_Mediator] = []
        self.sessions: list[_Session] = []
        self.agreement: _Agreement | None = None
        self.follow_ups: list[_FollowUp] = []
        self.settled_at: dt.datetime | None = None
        self.settled_level: int | None = None
        self.failed_at: dt.datetime | None = None
        self.handed_to = ""
        self.handed_at: dt.datetime | None = None
        self.handover_note = ""
        # What the plan forces (placed stories): the first level, the lead, the state to stop in, the outcome.
        self.first_level: int | None = None
        self.lead_pick: _Mediator | None = None
        self.stop: str | None = None
        self.outcome: str | None = None
        self.p0 = 0
        self.busy = False


class _Engine:
    def __init__(self, world: _World, config: DemoConfig, now: dt.datetime) -> None:
        self.w = world
        self.now = now
        self.rng = random.Random(config.seed * 7349 + 3)
        today = now.astimezone(TZ).date()
        self.clock = _Clock(today - dt.timedelta(days=YEAR_DAYS + 500), today + dt.timedelta(days=60))
        self.p_now = self.clock.pos(now)
        self.p_cut = self.p_now
        self.follow_days = follow_up_days()
        self.kinds = list(KIND_WEIGHTS)
        self.kind_cum: dict[int, list[float]] = {
            m: cumulative([w * SEASONS.get(k, {}).get(m, 1.0) for k, w in KIND_WEIGHTS.items()])
            for m in range(1, 13)
        }

    # -- time
    def enter(self, s: _Story, p: int) -> dt.datetime:
        """The instant of a step at position `p`; _Cut when it lies after now."""
        if p > self.p_cut:
            raise _Cut
        return self.clock.wall(p)

    def later(self, p: int, median_minutes: float, sigma: float = 0.8, least: float = 5.0) -> int:
        return p + int(max(least, self.rng.lognormvariate(0, sigma) * median_minutes) * MINUTE)

    def event(self, s: _Story, at, action, actor, to, *, note="", data=None, audit_data=None) -> None:
        s.events.append(_Ev(at, action, actor, s.state, to, s.level, note, data or {}, audit_data))
        s.state = to
        if (
            s.stop is not None
            and to == s.stop
            and action not in (EventAction.PARTY_ADDED, EventAction.FOLLOW_UP)
        ):
            raise _Stop

    # -- who
    def staff_of(self, s: _Story) -> int:
        leaf = s.grid
        return (self.w.specialists.get(leaf.id) or self.w.officers.get(leaf.id) or self.head(s, 2) or [0])[0]

    def head(self, s: _Story, level: int) -> list[int]:
        if level == 2:
            return self.w.l2_heads.get(s.grid.l2 or 0, [])
        return self.w.l1_heads.get(s.grid.l1 or 0, []) or self.w.town_ops.get(s.grid.l1 or 0, [])

    def recorder(self, s: _Story) -> int:
        """Who writes down a step of the committee at work: the lead when they have a login, else the head."""
        if s.lead is not None and s.lead.user:
            return s.lead.user
        heads = self.head(s, s.level) if s.level < 3 else []
        return heads[0] if heads else self.staff_of(s)

    # -- the steps
    def receive(self, s: _Story, p: int) -> int:
        w, rng = self.w, self.rng
        at = self.enter(s, p)
        s.received = at
        leaf = s.grid
        r = rng.random()
        volunteers = w.md_users.get(leaf.l2 or 0, [])
        if s.case is None and r < 0.2 and volunteers:
            s.receiver = rng.choice(volunteers)  # a volunteer found it on their rounds (走访排查)
        elif r < 0.32 and w.l2_heads.get(leaf.l2 or 0):
            s.receiver = w.l2_heads[leaf.l2 or 0][0]
        elif r < 0.45 and w.officers.get(leaf.id):
            s.receiver = rng.choice(w.officers[leaf.id])
        else:
            s.receiver = self.staff_of(s)
        if s.case is not None:
            s.receiver = self.staff_of(s)  # the grid's specialist takes the case to mediation
        s.level = Level.GRID
        initial = [p for p in s.parties if p.added is None]
        parties = lambda: [p.id for p in initial]  # noqa: E731 - ids are given once every row is known
        if s.case is not None:
            number = s.case.number
            data = {"case": number, "grid": leaf.code, "parties": len(initial)}
            audit_data = lambda: {"case": number, "grid": leaf.code, "parties": parties()}  # noqa: E731
            action = EventAction.FROM_CASE
        else:
            data = {"grid": leaf.code, "parties": len(initial)}
            audit_data = lambda: {"grid": leaf.code, "kind": s.kind, "parties": parties()}  # noqa: E731
            action = EventAction.RECEIVED
        self.event(s, at, action, s.receiver, DisputeState.RECEIVED, data=data, audit_data=audit_data)
        return p

    def add_party(self, s: _Story, p: int, party: _Party) -> int:
        at = self.enter(s, p)
        party.added = at
        actor = self.recorder(s) if s.committee is not None else s.receiver
        data = lambda: {"party": party.id, "role": party.role, "registry": party.person is not None}  # noqa: E731
        self.event(s, at, EventAction.PARTY_ADDED, actor, s.state, data=data)
        return p

    def choose_lead(self, s: _Story, c: _Committee) -> tuple[_Mediator, list[_Mediator]]:
        rng = self.rng
        if s.lead_pick is not None and s.lead_pick.committee is c:
            lead = s.lead_pick
        else:
            pool = c.mediators
            if c.level == Level.TOWN:
                local = self.w.area_mediators.get(s.grid.l2 or 0, [])
                pool = local if local and rng.random() < 0.75 else pool
            weights = []
            for m in pool:
                wgt = 1.0 + (2.0 if s.kind in m.skills else 0.0) + (2.0 if s.language in m.languages else 0.0)
                if m is self.w.demo_mediator:
                    wgt *= 3.0  # the demo account has work to show
                weights.append(wgt)
            lead = pick_weighted(rng, pool, cumulative(weights))
        others = [m for m in c.mediators if m is not lead]
        k = min(len(others), rng.choice((0, 0, 1, 1, 2)) if c.level < 3 else rng.choice((0, 0, 0, 1)))
        return lead, rng.sample(others, k) if k else []

    def assign(self, s: _Story, p: int, c: _Committee) -> int:
        at = self.enter(s, p)
        lead, assistants = self.choose_lead(s, c)
        if c.level == Level.GRID:
            actor = lead.user or self.staff_of(s)
        elif c.level == Level.VILLAGE:
            actor = (self.head(s, 2) or [self.staff_of(s)])[0]
        else:
            heads = self.head(s, 1)
            actor = (
                heads[0] if heads and self.rng.random() < 0.6 else (lead.user or (heads or [s.receiver])[0])
            )
        s.committee, s.level, s.lead, s.assistants = c, c.level, lead, assistants
        to = DisputeState.MEDIATING if s.state == DisputeState.MEDIATING else DisputeState.ASSIGNED
        data = {
            "committee": c.id,
            "committee_name": c.name,
            "lead": lead.id,
            "lead_name": lead.name,
            "assistants": [m.id for m in assistants],
        }
        self.event(s, at, EventAction.ASSIGNED, actor, to, data=data)
        return p

    def session(self, s: _Story, p: int, final: bool) -> int:
        rng, w = self.rng, self.w
        at = self.enter(s, p)
        by = self.recorder(s)
        sess = _Session(at, by)
        sess.mediators = [s.lead, *[m for m in s.assistants if rng.random() < 0.7]]  # type: ignore[list-item]
        present = [q for q in s.parties if q.added is None or q.added <= at]
        if len(present) > 2 and rng.random() < 0.2:
            present = present[:-1]
        elif not final and rng.random() < 0.12:
            present = present[:1]  # the other side did not come
        sess.parties = present
        town, village = w.grids[s.grid.l1 or 0], w.grids[s.grid.l2 or 0]
        sess.place = rng.choice(PLACES[s.level]).format(g=s.grid.name, v=village.name, t=town.name)
        others = [o for o in rng.sample(OTHERS, 2) if o]
        sess.others = "、".join(others)
        a, b = s.parties[0].name, s.parties[1].name
        sess.notes = rng.choice(SESSION_NOTES).format(a=a, b=b, law=LAWS[s.kind])
        sess.next_steps = "" if final else rng.choice(NEXT_STEPS)
        s.sessions.append(sess)
        data = lambda: {  # noqa: E731 - ids are given once every row is known
            "session": sess.id,
            "held_at": at.astimezone(TZ).isoformat(),
            "mediators": [m.id for m in sess.mediators],
            "parties_present": [q.id for q in sess.parties],
        }
        self.event(s, at, EventAction.SESSION, by, DisputeState.MEDIATING, data=data)
        return p

    def outcome(self, s: _Story, p: int, outcome: str) -> int:
        rng = self.rng
        at = self.enter(s, p)
        by = self.recorder(s)
        assert s.committee is not None
        agreement = _Agreement(outcome, at, by, s.committee, s.level)
        a, b = s.parties[0].name, s.parties[1].name
        signs = outcome in (Outcome.AGREEMENT, Outcome.PARTIAL)
        if signs and s.amount is not None:
            share = rng.uniform(0.5, 1.0) if outcome == Outcome.AGREEMENT else rng.uniform(0.25, 0.6)
            hundreds = int(s.amount * Decimal(str(round(share, 2))) / 100)
            agreement.amount = min(Decimal(max(1, hundreds) * 100), s.amount).quantize(Decimal("0.01"))
        amt = f"{agreement.amount:.0f}" if agreement.amount is not None else ""
        if outcome == Outcome.AGREEMENT:
            template = TERMS[s.kind] if agreement.amount is not None else TERMS_NO_AMOUNT
            agreement.terms = template.format(a=a, b=b, amt=amt)
        elif outcome == Outcome.PARTIAL:
            agreement.terms = (PARTIAL if agreement.amount is not None else TERMS_NO_AMOUNT).format(
                a=a, b=b, amt=amt, part=rng.choice(PARTS)
            )
        else:
            agreement.terms = rng.choice(FAILED).format(a=a, b=b)
        if signs:
            agreement.method = (
                rng.choice(METHODS) if agreement.amount is not None else "双方自觉履行，由调解委员会监督"
            )
            if rng.random() < 0.7:
                agreement.due = agreement.signed + dt.timedelta(days=rng.choice((3, 7, 10, 15, 30, 60)))
            s.settled_at, s.settled_level, s.failed_at = at, s.level, None
            due_days = [agreement.signed + dt.timedelta(days=d) for d in self.follow_days]
            s.follow_ups += [_FollowUp(day, at) for day in due_days]
        else:
            s.failed_at = at
            due_days = []
        s.agreement = agreement  # a later outcome replaces a failed one (update_or_create)
        states: dict[str, str] = {
            Outcome.AGREEMENT: DisputeState.SETTLED,
            Outcome.PARTIAL: DisputeState.PARTIAL,
        }
        to = states.get(outcome, DisputeState.FAILED)
        data = {
            "outcome": outcome,
            "signed_on": agreement.signed.isoformat(),
            "amount": str(agreement.amount) if agreement.amount is not None else None,
            "level": s.level,
            "follow_ups": [d.isoformat() for d in due_days],
        }
        self.event(s, at, EventAction.OUTCOME, by, to, note="" if signs else agreement.terms, data=data)
        return p

    def visits(self, s: _Story, after: dt.datetime) -> None:
        """The follow-up visits made by now: most on their day or a few days after, some not (yet) made."""
        rng = self.rng
        for fu in s.follow_ups:
            if fu.done is not None:
                continue
            day = fu.due + dt.timedelta(days=rng.choice((-2, -1, 0, 0, 0, 1, 1, 2, 3, 5)))
            local = dt.datetime.combine(day, dt.time(9), tzinfo=TZ) + dt.timedelta(
                minutes=rng.randrange(8 * 60)
            )
            at = max(local.astimezone(UTC), after + dt.timedelta(hours=20))
            if at > self.now or rng.random() < 0.08:
                continue  # not made (yet): due, or overdue
            r = rng.random()
            result = (
                FollowUpResult.PERFORMED
                if r < 0.86
                else FollowUpResult.PARTLY
                if r < 0.96
                else FollowUpResult.NOT_PERFORMED
            )
            fu.done, fu.result, fu.note = at, result, rng.choice(VISITS[result])
            fu.visitor = s.lead.user if s.lead is not None and s.lead.user else self.staff_of(s)
            data = {"follow_up": lambda fu=fu: fu.id, "due_on": fu.due.isoformat(), "result": result}
            # The state and level the dispute is in then (a partial agreement may be handed over later).
            then = max((e for e in s.events if e.at <= at), key=lambda e: e.at)
            s.events.append(
                _Ev(at, EventAction.FOLLOW_UP, fu.visitor, then.to, then.to, then.level, "", data)
            )
            after = at

    def refer_up(self, s: _Story, p: int, above: _Committee) -> int:
        at = self.enter(s, p)
        from_level = s.level
        actor = self.recorder(s)
        note = self.rng.choice(REFER[above.level])
        s.committee, s.level, s.lead, s.assistants = above, above.level, None, []
        data = {
            "from_level": from_level,
            "to_level": above.level,
            "committee": above.id,
            "committee_name": above.name,
        }
        audit_data = {"from_level": from_level, "to_level": above.level, "committee": above.id}
        self.event(
            s,
            at,
            EventAction.REFERRED_UP,
            actor,
            DisputeState.RECEIVED,
            note=note,
            data=data,
            audit_data=audit_data,
        )
        return p

    def hand_over(self, s: _Story, p: int) -> int:
        rng = self.rng
        at = self.enter(s, p)
        if s.kind == DisputeKind.WAGES and rng.random() < 0.7:
            where = HandOverTo.LABOUR_ARBITRATION
        elif s.risk == RiskLevel.HIGH and rng.random() < 0.3:
            where = HandOverTo.POLICE
        else:
            where = pick_weighted(
                rng,
                (HandOverTo.JUDICIAL_OFFICE, HandOverTo.COURT, HandOverTo.PETITION),
                cumulative((0.55, 0.4, 0.05)),
            )
        heads = self.head(s, 1)
        actor = heads[0] if heads and rng.random() < 0.5 else self.recorder(s)
        s.handed_to, s.handed_at, s.handover_note = where, at, HAND_OVER[where]
        self.event(
            s,
            at,
            EventAction.HANDED_OVER,
            actor,
            DisputeState.HANDED_OVER,
            note=s.handover_note,
            data={"to": where},
        )
        return p

    # -- a whole story
    def live(self, s: _Story) -> None:
        saved = self.rng
        self.rng = random.Random(s.seed)
        try:
            self._live(s)
        except (_Cut, _Stop):
            pass
        finally:
            self.rng = saved
        if s.follow_ups and s.stop is None:
            last = max(e.at for e in s.events)
            self.visits(s, max(s.settled_at or last, last))
            s.events.sort(key=lambda e: e.at)

    def above(self, s: _Story) -> _Committee | None:
        """The committee the dispute is referred up to (one with mediators), or None at the top."""
        w = self.w
        ladder = []
        if s.level == Level.GRID:
            ladder.append(w.village_committee.get(s.grid.l2 or 0))
        if s.level >= Level.VILLAGE:
            ladder.append(w.town_committee.get(s.grid.l1 or 0))
        return next((c for c in ladder if c is not None and c.mediators), None)

    def _live(self, s: _Story) -> None:
        rng, w = self.rng, self.w
        p = self.receive(s, s.p0)
        late = [q for q in s.parties if q.added is not None]
        level = s.first_level
        if level is None:
            level = pick_weighted(rng, (3, 2, 1), cumulative(FIRST_LEVEL[s.risk]))
        ladder = {
            3: w.grid_committee.get(s.grid.id),
            2: w.village_committee.get(s.grid.l2 or 0),
            1: w.town_committee.get(s.grid.l1 or 0),
        }
        order = [level, *[lv for lv in (3, 2, 1) if lv != level]]
        found = [c for lv in order if (c := ladder[lv]) is not None and c.mediators]
        committee = found[0] if found else None
        if committee is None:
            return  # nobody to mediate it: it waits
        urgent = s.risk == RiskLevel.HIGH
        p = self.assign(s, self.later(p, 60 if urgent else 240, 1.0), committee)
        outcomes = BUSY_OUTCOMES if s.busy else OUTCOMES
        while True:
            for party in late:
                p = self.add_party(s, self.later(p, 120), party)
            late = []
            n = pick_weighted(rng, (1, 2, 3, 4), cumulative((0.45, 0.3, 0.15, 0.1)))
            gap = 600 if s.level == Level.GRID else 900
            for k in range(n):
                p = self.session(s, self.later(p, gap if k == 0 else 1400, 0.7, 30), final=k == n - 1)
            choice = s.outcome or pick_weighted(
                rng, ("agreement", "partial", "failed", "refer"), cumulative(outcomes[s.level])
            )
            above = self.above(s)
            if choice == "refer":
                if above is not None:
                    p = self.refer_up(s, self.later(p, 300), above)
                    p = self.assign(s, self.later(p, 400), above)
                    continue
                choice = "failed"
            if rng.random() < 0.01 and s.risk == RiskLevel.HIGH and s.outcome is None:
                self.hand_over(s, self.later(p, 60))  # turning violent in mediation: to the police at once
                return
            p = self.outcome(s, self.later(p, 40, 0.6, 10), Outcome(choice))
            if choice == Outcome.PARTIAL:
                if rng.random() < 0.15:
                    self.hand_over(s, self.later(p, 2000))
                return
            if choice != Outcome.FAILED:
                return
            r = rng.random()
            if above is not None and r < 0.65:
                p = self.refer_up(s, self.later(p, 900), above)
                p = self.assign(s, self.later(p, 500), above)
                continue
            if r < (0.8 if s.level == Level.TOWN else 0.85):
                self.hand_over(s, self.later(p, 1500))
            return


# -- planning: what is disputed, where, between whom ------------------------------------------------------------------
class _Planner:
    def __init__(self, engine: _Engine, world: _World, config: DemoConfig) -> None:
        self.e = engine
        self.w = world
        self.config = config
        self.rng = random.Random(engine.rng.random())
        now_local = engine.now.astimezone(TZ)
        first = now_local.date() - dt.timedelta(days=YEAR_DAYS)
        self.days = [first + dt.timedelta(days=i) for i in range(YEAR_DAYS + 1)]
        self.day_cum = cumulative([1.0 + 0.25 * (d.month in (3, 4, 5, 12, 1)) for d in self.days])
        self.busy_town = next((t for t in world.towns if t.code == COUNTY_CODE + config.busy_town), None)
        # Grids weighted by their people, the reference town apart.
        self.leaf_cum: dict[int | None, tuple[list[_Grid], list[float]]] = {}
        mediated = [g for g in world.leaves if g.id in world.grid_committee]
        for town in world.towns:
            leaves = [g for g in mediated if g.l1 == town.id]
            if leaves:
                self.leaf_cum[town.id] = (
                    leaves,
                    cumulative([world.population.get(g.id, 0) + 20.0 for g in leaves]),
                )
        others = [g for g in mediated if self.busy_town is None or g.l1 != self.busy_town.id] or mediated
        if others:
            self.leaf_cum[None] = (others, cumulative([world.population.get(g.id, 0) + 20.0 for g in others]))

    def leaf(self, town: int | None) -> _Grid:
        leaves, cum = self.leaf_cum.get(town) or self.leaf_cum[None]
        return pick_weighted(self.rng, leaves, cum)

    def day_position(self) -> int:
        day = pick_weighted(self.rng, self.days, self.day_cum)
        local = dt.datetime.combine(day, dt.time(), tzinfo=TZ)
        return self.e.clock.pos(local) + int(self.rng.random() * self.e.clock.day_us)

    def party(self, s: _Story, role: str, used: set[int]) -> _Party:
        """A party: a resident of the village from the register (often), or somebody else."""
        rng = self.rng
        residents = self.w.residents.get(s.grid.l2 or 0, [])
        town, village = self.w.grids[s.grid.l1 or 0], self.w.grids[s.grid.l2 or 0]
        if residents and rng.random() < 0.45:
            person = rng.choice(residents)
            if person.id not in used:
                used.add(person.id)
                party = _Party(role, person.name)
                party.person = person.id
                if person.document is not None:
                    number = decrypt_text(person.document[0], DOCUMENT)
                    party.id_enc, party.id_index, party.id_masked = (
                        encrypt_text(number, ID_NUMBER),
                        person.document[1],
                        person.document[2],
                    )
                party.phone = person.phone
                party.address = f"{town.name}{village.name}{s.grid.name}"
                return party
        mongol = 0.35 if village.name.endswith("嘎查") else 0.08
        party = _Party(role, person_name(rng, mongol))
        if rng.random() < 0.85:
            female = rng.random() < 0.45
            born = dt.date(rng.randrange(1945, 2003), rng.randrange(1, 13), rng.randrange(1, 29))
            number = id_number(rng, born, female)
            party.id_enc = encrypt_text(number, ID_NUMBER)
            party.id_index = document_index(DocumentKind.ID_CARD, number)
            party.id_masked = mask_id_number(number)
        if rng.random() < 0.85:
            party.phone = phone_fields(mobile(rng))
        party.address = f"{town.name}{village.name}{s.grid.name}"
        return party

    def plan(self, s: _Story, month: int) -> None:
        rng = self.rng
        e = self.e
        if s.case is None:
            s.kind = pick_weighted(rng, e.kinds, e.kind_cum[month])
        roles = [PartyRole.APPLICANT, PartyRole.RESPONDENT]
        r = rng.random()
        if r < 0.12:
            roles.append(PartyRole.THIRD_PARTY)
        elif r < 0.18:
            roles.insert(1, PartyRole.APPLICANT)
        used: set[int] = set()
        s.parties = [self.party(s, role, used) for role in roles]
        if rng.random() < 0.07:
            late = self.party(s, PartyRole.THIRD_PARTY, used)
            late.added = LATER  # marked: added during the mediation
            s.parties.append(late)
        no_amount, median, sigma, low, high = AMOUNTS[s.kind]
        if rng.random() >= no_amount:
            value = min(high, max(low, rng.lognormvariate(0, sigma) * median))
            step = 100 if value < 20_000 else 1000
            s.amount = Decimal(int(round(value / step) * step)).quantize(Decimal("0.01"))
        bias = RISK_BIAS.get(s.kind, 1.0) * (1.4 if s.amount is not None and s.amount >= 50_000 else 1.0)
        r = rng.random()
        s.risk = RiskLevel.HIGH if r < 0.06 * bias else RiskLevel.MEDIUM if r < 0.3 * bias else RiskLevel.LOW
        village = self.w.grids[s.grid.l2 or 0]
        mongol = is_mongolian(s.parties[0].name) or (village.name.endswith("嘎查") and rng.random() < 0.3)
        s.language = Language.MN if mongol and rng.random() < 0.7 else Language.ZH
        a, b = s.parties[0].name, s.parties[-1 if s.parties[-1].role == PartyRole.RESPONDENT else 1].name
        if s.case is None:
            title, text = rng.choice(STORIES[s.kind])
            amt = f"{s.amount:.0f}" if s.amount is not None else f"{rng.randrange(2, 30) * 500}"
            # Land in mu, worth what is at stake (a few hundred to a few thousand yuan a mu).
            mu = rng.choice((2, 3, 5, 8, 12, 20))
            if s.amount is not None:
                mu = max(1, min(80, round(float(s.amount) / rng.uniform(800, 2500))))
            values = {
                "a": a,
                "b": b,
                "n": rng.randrange(2, 9),
                "mu": mu,
                "amt": amt,
                "months": rng.randrange(3, 19),
            }

            s.title = title
            s.description = text.format(**values)
            s.address = f"{self.w.grids[s.grid.l1 or 0].name}{village.name}{s.grid.name}"
        else:
            s.title = s.case.item_name[:100]
            s.description = s.case.description[:4000]
            s.address = s.case.address[:200]


# -- writing ---------------------------------------------------------------------------------------------------------
DISPUTE_COLUMNS = (
    "id", "number", "kind", "title", "description", "amount", "risk", "language", "state", "version", "grid",
    "grid_l1_id", "grid_l2_id", "grid_l3_id", "address", "committee", "level", "lead_mediator", "case", "received_at",
    "received_by", "settled_at", "settled_level", "failed_at", "handed_to", "handed_at", "handover_note",
    "created_at", "updated_at",
)  # fmt: skip
PARTY_COLUMNS = (
    "id", "dispute", "role", "name", "person", "id_number_enc", "id_number_index", "id_number_masked", "phone_enc",
    "phone_index", "phone_masked", "address", "note", "created_at",
)  # fmt: skip
AUDIT_ACTIONS = {
    EventAction.RECEIVED: "dispute.receive",
    EventAction.FROM_CASE: "dispute.open_from_case",
    EventAction.PARTY_ADDED: "dispute.party_add",
    EventAction.ASSIGNED: "dispute.assign",
    EventAction.SESSION: "dispute.session",
    EventAction.OUTCOME: "dispute.outcome",
    EventAction.FOLLOW_UP: "dispute.follow_up",
    EventAction.REFERRED_UP: "dispute.refer_up",
    EventAction.HANDED_OVER: "dispute.hand_over",
}


def _resolve(data: Any) -> dict[str, Any]:
    data = data() if callable(data) else data
    return {k: (v() if callable(v) else v) for k, v in data.items()}


def _write(
    world: _World, stories: list[_Story], report: MediationReport, tick: Callable[[str], None]
) -> None:
    w = world
    stories.sort(key=lambda s: (s.received, s.idx))
    # Ids and numbers in the order of intake, each day's numbers after those it had.
    base = next_id(Dispute)
    days = {s.received.astimezone(TZ).date() for s in stories}
    existing = dict(DisputeCounter.objects.filter(day__in=days).values_list("day", "last"))
    seq = dict(existing)
    for i, s in enumerate(stories):
        s.id = base + i
        day = s.received.astimezone(TZ).date()
        seq[day] = seq.get(day, 0) + 1
        s.number = f"T{day:%Y%m%d}-{seq[day]:04d}"
    parties = sorted(
        (
            (q.added or s.received, s.id, k, q, s)
            for s in stories
            for k, q in enumerate(s.parties)
            if q.added != LATER
        ),
        key=lambda r: r[:3],
    )
    for i, row in enumerate(parties, start=next_id(Party)):
        row[3].id = i
    sessions = sorted(
        ((x.held, s.id, k, x) for s in stories for k, x in enumerate(s.sessions)), key=lambda r: r[:3]
    )
    for i, srow in enumerate(sessions, start=next_id(Session)):
        srow[3].id = i
    visits = sorted(
        ((f.created, s.id, k, f) for s in stories for k, f in enumerate(s.follow_ups)), key=lambda r: r[:3]
    )
    for i, vrow in enumerate(visits, start=next_id(FollowUp)):
        vrow[3].id = i

    rows = []
    for s in stories:
        g = s.grid
        last = s.events[-1].at
        rows.append(
            (s.id, s.number, s.kind, s.title, s.description, s.amount, s.risk, s.language, s.state, len(s.events),
             g.id, g.l1, g.l2, g.id, s.address, s.committee.id if s.committee else None, s.level,
             s.lead.id if s.lead else None, s.case.id if s.case else None, s.received, s.receiver, s.settled_at,
             s.settled_level, s.failed_at, s.handed_to, s.handed_at, s.handover_note, s.received, last)
        )  # fmt: skip
    insert_rows(Dispute, DISPUTE_COLUMNS, rows)
    counters = [DisputeCounter(day=d, last=n) for d, n in sorted(seq.items()) if d not in existing]
    DisputeCounter.objects.bulk_create(counters, batch_size=BATCH)
    for day in existing:
        DisputeCounter.objects.filter(day=day).update(last=seq[day])
    insert_rows(
        Dispute.assistants.through,
        ("dispute", "mediator"),
        [(s.id, m.id) for s in stories for m in s.assistants],
    )
    insert_rows(
        Party,
        PARTY_COLUMNS,
        [(q.id, s.id, q.role, q.name, q.person, q.id_enc, q.id_index, q.id_masked, *q.phone, q.address, "", at)
         for at, _sid, _k, q, s in parties],
    )  # fmt: skip
    insert_rows(
        Session,
        ("id", "dispute", "held_at", "place", "others_present", "notes", "next_steps", "created_by", "created_at"),
        [(x.id, sid, x.held, x.place, x.others, x.notes, x.next_steps, x.by, x.held) for _h, sid, _k, x in sessions],
    )  # fmt: skip
    insert_rows(
        Session.mediators.through,
        ("session", "mediator"),
        [(x.id, m.id) for *_r, x in sessions for m in dict.fromkeys(x.mediators)],
    )
    insert_rows(
        Session.parties_present.through,
        ("session", "party"),
        [(x.id, q.id) for *_r, x in sessions for q in x.parties],
    )
    agreements = [s for s in stories if s.agreement is not None]
    insert_rows(
        Agreement,
        ("dispute", "outcome", "number", "terms", "amount", "performance_method", "performance_due", "signed_on",
         "committee", "level", "created_by", "created_at"),
        [(s.id, a.outcome, s.number, a.terms, a.amount, a.method, a.due, a.signed, a.committee.id, a.level, a.by, a.at)
         for s in agreements for a in (s.agreement,) if a is not None],
    )  # fmt: skip
    insert_rows(
        FollowUp,
        ("id", "dispute", "due_on", "done_at", "visitor", "result", "note", "created_at"),
        [(f.id, sid, f.due, f.done, f.visitor, f.result, f.note, f.created) for _c, sid, _k, f in visits],
    )

    ordered = sorted(
        ((ev.at, s.id, k, ev, s) for s in stories for k, ev in enumerate(s.events)), key=lambda r: r[:3]
    )
    event_rows = []
    for at, sid, _k, ev, _s in ordered:
        ev.data = _resolve(ev.data)
        event_rows.append((sid, ev.action, ev.actor, ev.frm, ev.to, ev.level, at, ev.note, ev.data))
    insert_rows(
        DisputeEvent,
        ("dispute", "action", "actor", "from_state", "to_state", "level", "at", "note", "data"),
        event_rows,
    )

    tick("write")
    # The cases taken to mediation: the staff comment the service leaves on each, as the case's next event.
    linked = [s for s in stories if s.case is not None]
    comments: list[tuple[dt.datetime, _Story, int]] = []
    if linked:
        comment_base = next_id(Comment)
        crow, erow, urow = [], [], []
        for i, s in enumerate(sorted(linked, key=lambda s: s.received)):
            c = s.case
            assert c is not None
            cid = comment_base + i
            text = _("Taken to people's mediation as dispute %(number)s.") % {"number": s.number}
            crow.append((cid, c.id, s.receiver, Capacity.GRID_STAFF, text, False, s.received))
            erow.append((c.id, c.version + 1, "comment", s.receiver, Capacity.GRID_STAFF, c.state, c.state, c.level,
                         text, {"comment": cid, "public": False}, s.received))  # fmt: skip
            urow.append((s.received, c.id))
            comments.append((s.received, s, cid))
        insert_rows(Comment, ("id", "case", "author", "capacity", "text", "public", "created_at"), crow)
        insert_rows(
            CaseEvent,
            ("case", "seq", "action", "actor", "capacity", "from_state", "to_state", "level", "note", "data", "created_at"),
            erow,
        )  # fmt: skip
        field_ = Case._meta.get_field("updated_at")
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {connection.ops.quote_name(Case._meta.db_table)} SET version = version + 1, "  # noqa: S608
                "updated_at = %s WHERE id = %s",
                [(field_.get_db_prep_save(at, connection), pk) for at, pk in urow],
            )
        reset_sequences([Comment])
    reset_sequences([Committee, Mediator, Dispute, Party, Session, FollowUp])

    # One audit record per event (and per case comment), in the order they happened.
    names = {pk: username for pk, (username, _n) in w.users.items()}
    users: dict[int, _Ref] = {}

    def actor(pk: int | None) -> _Ref | None:
        if pk is None:
            return None
        ref = users.get(pk)
        if ref is None:
            ref = users[pk] = _Ref(User, pk, names.get(pk, ""))
        return ref

    entries: list[tuple[dt.datetime, int, int, audit.Entry]] = []
    for at, sid, k, ev, s in ordered:
        extra = _resolve(ev.audit_data) if ev.audit_data is not None else ev.data
        data = {"number": s.number, "from": ev.frm, "to": ev.to, **extra}
        entries.append(
            (
                at,
                sid,
                k,
                audit.Entry(
                    AUDIT_ACTIONS[ev.action],
                    target=_Ref(Dispute, s.id),
                    data=data,
                    actor=actor(ev.actor),
                    at=at,
                ),
            )
        )
    for at, s, cid in comments:
        c = s.case
        assert c is not None
        data = {
            "number": c.number,
            "from": c.state,
            "to": c.state,
            "seq": c.version + 1,
            "comment": cid,
            "public": False,
        }
        # Right after the dispute's intake, in the same transaction.
        entries.append(
            (
                at,
                s.id,
                0,
                audit.Entry(
                    "case.comment", target=_Ref(Case, c.id), data=data, actor=actor(s.receiver), at=at
                ),
            )
        )
    entries.sort(key=lambda r: (r[0], r[1], r[2], r[3].action != "dispute.open_from_case"))
    audit.record_many([e for *_r, e in entries])
    tick("audit")

    report.events = len(ordered)
    report.parties = len(parties)
    report.linked_parties = sum(1 for row in parties if row[3].person is not None)
    report.sessions = len(sessions)
    report.agreements = len(agreements)
    report.follow_ups = len(visits)
    report.follow_ups_done = sum(1 for v in visits if v[3].done is not None)
    report.from_cases = len(linked)


# -- the cases of the disputes module ------------------------------------------------------------------------------------
def _cases(world: _World, engine: _Engine) -> list[_Case]:
    """Cases of the disputes module (07) in the grids with a mediation group, not merged, whose last step lies an
    hour or more before now, without an extension waiting (a comment lapses them): those a grid may take to
    mediation."""
    if not world.grid_committee:
        return []
    pending = Extension.objects.filter(state=ExtensionState.PENDING).values("case_id")
    rows = (
        Case.objects.filter(item__module__code="07", grid_l3_id__in=sorted(world.grid_committee))
        .exclude(state=CaseState.MERGED)
        .exclude(pk__in=pending)
        .filter(updated_at__lte=engine.now - dt.timedelta(hours=1))
        .order_by("id")
        .values_list("id", "number", "state", "level", "version", "item__code", "item__name", "description", "address",
                     "grid_l3_id", "updated_at")
    )  # fmt: skip
    return [_Case(*row) for row in rows]  # type: ignore[arg-type]


def seed_mediation(
    config: DemoConfig | None = None,
    *,
    now: dt.datetime | None = None,
    say: Callable[[str], None] | None = None,
) -> MediationReport:
    """Write the committees, mediators and a year of disputes into the seeded demo county (inside the caller's
    transaction: the audit log requires one)."""
    config = config or DemoConfig()
    now = (now or timezone.now()).astimezone(UTC)
    say = say or (lambda _message: None)
    report = MediationReport()
    started = lap = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal lap
        t = time.perf_counter()
        report.timings[name] = t - lap
        lap = t

    with bulk_writing():
        _seed(config, now, report, tick, say)
    report.seconds = time.perf_counter() - started
    return report


def _seed(
    config: DemoConfig,
    now: dt.datetime,
    report: MediationReport,
    tick: Callable[[str], None],
    say: Callable[[str], None],
) -> None:
    rng = random.Random(config.seed * 131 + 5)
    world = _World(config, now, rng)
    if not world.towns:
        return
    world.build()
    world.write_committees(now)
    report.committees = len(world.committees)
    report.committees_by_level = Counter(c.level for c in world.committees)
    report.mediators = len(world.mediators)
    report.volunteers = sum(len(c.mediators) for c in world.committees if c.level == Level.TOWN)
    report.linked_mediators = sum(1 for m in world.mediators if m.person is not None)
    tick("committees")
    if config.disputes <= 0 or not world.grid_committee:
        return
    say(_("Writing %(count)d disputes of the last year…") % {"count": config.disputes})

    engine = _Engine(world, config, now)
    planner = _Planner(engine, world, config)
    prng = planner.rng
    stories: list[_Story] = []

    # Taken to mediation from cases of the disputes module.
    cases = _cases(world, engine)
    prng.shuffle(cases)
    from_cases = cases[: round(config.disputes * FROM_CASE_SHARE)]
    grid_of = {g.id: g for g in world.leaves}
    for c in from_cases:
        p0 = engine.later(engine.clock.pos(c.last), 240, 1.0, 10)
        if p0 > engine.p_now - HOUR:
            continue
        s = _Story(len(stories), grid_of[c.grid], prng.random())
        s.case, s.kind, s.p0 = c, KIND_OF_ITEM.get(c.item, DisputeKind.OTHER), p0
        s.busy = planner.busy_town is not None and s.grid.l1 == planner.busy_town.id
        planner.plan(s, engine.clock.wall(p0).astimezone(TZ).month)
        stories.append(s)

    # The reference town's share, the rest by population; a few placed on purpose.
    forced: list[tuple[str, int | None, bool]] = []  # (state, level, the demo mediator leads)
    for state in (DisputeState.RECEIVED, DisputeState.ASSIGNED, DisputeState.MEDIATING):
        forced += [(state, None, False)] * max(2, round(config.disputes * 0.004))
    if world.demo_mediator is not None:
        forced += [
            (DisputeState.ASSIGNED, 1, True),
            (DisputeState.MEDIATING, 1, True),
            (DisputeState.MEDIATING, 1, True),
        ]
        forced += [(DisputeState.SETTLED, 1, True)] * 2
    natural = max(0, config.disputes - len(stories) - len(forced))
    busy = 0
    if planner.busy_town is not None:
        busy = min(natural, max(0, config.busy_town_disputes - sum(1 for s in stories if s.busy)))
    for i in range(natural):
        town = planner.busy_town.id if i < busy and planner.busy_town is not None else None
        s = _Story(len(stories), planner.leaf(town), prng.random())
        s.busy = town is not None
        s.p0 = planner.day_position()
        planner.plan(s, engine.clock.wall(s.p0).astimezone(TZ).month)
        stories.append(s)
    for s in stories:
        engine.live(s)
    stories = [s for s in stories if s.events]  # those received after now are not received yet

    demo_village = world.demo_mediator.area if world.demo_mediator is not None else None
    demo_leaves = [
        g
        for g in world.leaves
        if demo_village is not None and g.l2 == demo_village.id and g.id in world.grid_committee
    ]
    day = engine.clock.day_us
    for wanted, level, demo in forced:
        grid = prng.choice(demo_leaves) if demo and demo_leaves else planner.leaf(None)
        s = _Story(len(stories), grid, prng.random())
        s.stop, s.first_level = wanted, level
        if demo:
            s.lead_pick = world.demo_mediator
        if wanted == DisputeState.SETTLED:
            s.outcome = Outcome.AGREEMENT
        planner.plan(s, engine.now.astimezone(TZ).month)
        # Play it once to learn how long it takes to get there, then again, placed so that it got there lately.
        s.p0 = engine.p_now - 200 * day
        trial = _replay(engine, s)
        if trial.state != wanted:
            continue
        reached = engine.clock.pos(trial.events[-1].at) - s.p0
        back = (
            int(prng.uniform(0.5, 4.5) * day)
            if wanted == DisputeState.SETTLED
            else int(prng.uniform(0.05, 1.5) * day)
        )
        s.p0 = engine.p_now - back - reached
        final = _replay(engine, s)
        if final.state == wanted:
            stories.append(final)
    tick("simulate")

    _write(world, stories, report, tick)
    report.disputes = len(stories)
    report.by_state = Counter(s.state for s in stories)
    report.settled_by_level = Counter(s.settled_level for s in stories if s.state == DisputeState.SETTLED)
    year_ago = now - dt.timedelta(days=YEAR_DAYS)
    if planner.busy_town is not None:
        report.busy_town = planner.busy_town.name
        report.busy_town_settled = sum(
            1
            for s in stories
            if s.grid.l1 == planner.busy_town.id
            and s.state == DisputeState.SETTLED
            and s.settled_at is not None
            and s.settled_at >= year_ago
        )


def _replay(engine: _Engine, planned: _Story) -> _Story:
    """A fresh story of the same plan, lived from its receipt at `planned.p0`, uncut by now."""
    s = _Story(planned.idx, planned.grid, planned.seed)
    for name in ("kind", "title", "description", "amount", "risk", "language", "address", "first_level",
                 "lead_pick", "stop", "outcome", "p0", "busy"):  # fmt: skip
        setattr(s, name, getattr(planned, name))
    s.parties = [_copy_party(q) for q in planned.parties]
    saved = engine.p_cut
    engine.p_cut = 1 << 62
    try:
        engine.live(s)
    finally:
        engine.p_cut = saved
    return s


def _copy_party(q: _Party) -> _Party:
    c = _Party(q.role, q.name)
    for name in _Party.__slots__:
        setattr(c, name, getattr(q, name))
    if c.added is not None:
        c.added = LATER
    return c


__all__ = ["MediationReport", "insert_rows", "next_id", "reset_sequences", "seed_mediation"]
