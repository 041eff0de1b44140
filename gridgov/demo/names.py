"""Chinese names that look real: people (Han and Mongolian), villages, gaqa, communities, compounds.

Everything is drawn from a `random.Random` the caller seeds, so the same seed gives the same names. The pools
are generic words of the region (圪堵, 营子, 壕, 圐圙 … are Ordos place-name elements); no list of real
village names is copied.
"""

from __future__ import annotations

import random

# -- people ------------------------------------------------------------------------------------------------
# Surnames common in Ordos, roughly by frequency (the weights are the repeat counts).
HAN_SURNAMES = (
    "王" * 9 + "李" * 8 + "张" * 8 + "刘" * 7 + "杨" * 5 + "赵" * 4 + "高" * 4 + "郝" * 3 + "贺" * 3 + "郭" * 3
    + "白" * 3 + "马" * 3 + "段" * 2 + "徐" * 2 + "孙" * 2 + "苏" * 2 + "乔" * 2 + "田" * 2 + "武" * 2 + "杜" * 2
    + "韩" * 2 + "陈" * 2 + "吴" * 2 + "周" * 2 + "胡" * 2 + "冯" * 2 + "邬" * 2 + "奇" + "云" + "康" + "霍"
    + "任" + "石" + "薛" + "闫" + "梁" + "宋" + "温" + "訾" + "侯" + "贾" + "秦" + "牛" + "崔" + "姚" + "雷"
    + "曹" + "袁" + "訾" + "樊" + "尚" + "边" + "呼" + "折"
)  # fmt: skip
HAN_MALE = "建国军伟强明志永海平东文俊飞磊涛斌鹏宇浩杰峰刚勇宏亮春生福贵林成龙利忠荣华兵旭晨阳凯毅振德祥"
HAN_FEMALE = "秀英兰芳丽霞红燕梅玲娟敏静婷慧琴艳萍莉娜雪月瑞佳欣悦璐颖洁琳彩凤桂珍蓉丹晶"
MONGOL_MALE = (
    "巴特尔", "额尔敦", "苏和", "朝鲁", "宝音", "阿拉坦", "巴雅尔", "孟和", "达来", "吉日嘎拉", "特木尔",
    "布和", "乌力吉", "阿古拉", "宝力道", "毕力格", "巴图", "胡日查", "道尔吉", "额尔德尼", "哈斯巴根",
    "那顺", "图门", "斯日古楞", "额日和木", "宝音图", "乌恩", "满都拉", "格日勒图", "敖日格勒", "巴音孟和",
    "乌日图", "达布希拉图", "朝克图", "白音仓", "呼和巴特尔", "斯琴巴图", "其木德", "阿木古楞", "达瓦",
)  # fmt: skip
MONGOL_FEMALE = (
    "其其格", "乌日娜", "斯琴", "乌兰", "萨仁", "图雅", "那仁", "格根", "塔娜", "苏布达", "乌云", "其木格",
    "萨日娜", "高娃", "娜仁花", "托雅", "阿茹娜", "斯琴高娃", "敖登", "吉雅", "乌云其木格", "哈斯", "苏日娜",
    "其日麦格", "宝日玛", "额尔德尼其其格", "阿拉坦其其格", "萨仁高娃", "乌仁图雅", "格日乐",
)  # fmt: skip
# Mongolian families often add a one-character surname (包, 白, 奇 …) in Chinese documents.
MONGOL_SURNAMES = "包白奇韩云鲍乌宝那"


def person_name(rng: random.Random, mongolian_share: float = 0.1) -> str:
    female = rng.random() < 0.45
    if rng.random() < mongolian_share:
        given = rng.choice(MONGOL_FEMALE if female else MONGOL_MALE)
        return (rng.choice(MONGOL_SURNAMES) + given) if rng.random() < 0.25 else given
    pool = HAN_FEMALE if female else HAN_MALE
    given = rng.choice(pool) if rng.random() < 0.3 else rng.choice(pool) + rng.choice(pool)
    return rng.choice(HAN_SURNAMES) + given


# -- places --------------------------------------------------------------------------------------------------
PLACE_SURNAMES = "王李张刘杨赵高郝贺郭白马段徐孙苏乔田武杜韩陈吴周胡冯邬康霍任石薛闫梁宋温侯贾秦牛"
PLACE_SUFFIXES = (
    "圪堵", "圪旦", "渠", "营子", "湾", "梁", "壕", "圐圙", "店", "窑", "塔", "畔", "沟", "堡", "圪梁", "滩", "召",
    "营", "碾房", "伙房", "窑子", "园子",
)  # fmt: skip
DIRECTIONS = "东西南北前后上中新老大小"
PLACE_NOUNS = (
    "海子",
    "滩",
    "梁",
    "营子",
    "圪旦",
    "壕",
    "渠",
    "湾",
    "柳",
    "沙壕",
    "柜",
    "园子",
    "碾房",
    "伙房",
    "窑子",
    "河头",
)
NUMBERED = ("二股地", "三顷地", "四份子", "五股地", "六份子", "七份子", "八股地", "九股地", "十二顷")
AUSPICIOUS = (
    "德胜", "永和", "兴隆", "复兴", "长胜", "新民", "团结", "解放", "红旗", "胜利", "光明", "建设", "丰收", "和平",
    "太平", "富民", "万太", "三合", "永胜", "新胜", "兴胜", "联合", "吉庆", "丰泰", "福盛", "广益", "公益", "义和",
    "同心", "新丰", "德义", "庆丰", "林原", "草原", "柳林", "榆林", "杨林", "红泥", "河畔", "树林", "万兴",
    "宏伟", "新建", "合同", "前进", "先锋", "新华", "永丰", "乐园", "四村",
)  # fmt: skip
MONGOL_PLACES = (
    "乌兰", "巴音", "哈什拉", "敖包", "呼和", "宝日", "查干", "希拉", "阿拉坦", "额尔登", "布日嘎斯太", "柴登",
    "沙日", "赛乌素", "哈拉", "毛其", "伊和", "巴嘎", "独贵", "阿日", "巴彦", "图格", "门肯", "嘎鲁图", "苏里格",
    "塔拉", "珠拉", "乌素图", "宝力格", "那日图", "海流图", "察汗", "巴拉贡", "查汗淖", "乌日图", "包勒",
    "布拉格", "浩勒图", "沙日召", "伊克", "额尔和", "恩格", "达拉", "吉格", "昂素", "纳林",
)  # fmt: skip
MONGOL_PLACE_SUFFIXES = ("", "", "", "淖尔", "陶勒盖", "敖包", "布拉格", "呼都格", "哈达")
COMMUNITY_WORDS = (
    "锦绣", "和谐", "幸福", "康居", "阳光", "新华", "滨河", "兴达", "紫荆", "东达", "文化", "民族", "金泰", "祥和",
    "丰泽", "恩和", "同乐", "世纪", "富康", "安居", "永昌", "星光", "怡和", "育才", "朝阳", "园丁", "站前", "光明",
    "振兴", "康泰", "盛世", "新城", "静园", "南苑", "北苑", "东苑", "西苑", "绿洲", "春晖", "利民", "惠民", "和顺",
    "天骄", "蒙欣", "广场", "北环", "南环", "团结", "宏远", "丰华", "河畔", "康乐",
)  # fmt: skip
COMPOUND_WORDS = (
    "金地", "御景", "锦江", "名仕", "阳光", "康城", "滨河", "东方", "龙腾", "凯旋", "丽景", "翰林", "怡景", "佳和",
    "泰和", "安泰", "碧水", "蓝天", "绿园", "馨园", "嘉和", "富源", "时代", "世纪", "瑞祥", "福润", "银河", "紫薇",
    "雅居", "金泉", "文昌", "丰华", "书香", "天骄", "蒙欣", "祥泰", "鑫源", "润泽", "福康", "颐和", "锦华", "恒安",
    "聚福", "兴泰", "安康", "和美", "金桂", "銮泰", "祥瑞", "众和", "宏泰", "恒泰", "汇丰", "华盛", "东城", "西城",
    "南城", "北城", "新苑", "水岸", "锦苑", "香榭", "华府", "盛景", "春华", "秋实", "林荫", "枫林", "花语", "云景",
    "星河", "鸿福", "康乐", "平安", "长青", "鼎盛", "正和", "宜居", "铂悦", "明珠", "红星", "电力", "石油",
    "教师", "供电", "交通", "税务", "粮食", "邮电", "医院", "林业", "水利", "气象",
)  # fmt: skip
COMPOUND_SUFFIXES = (
    "小区", "小区", "小区", "花园", "家园", "苑", "新村", "嘉园", "名邸", "公寓", "佳苑", "雅苑", "华庭", "丽都", "家属院",
)  # fmt: skip
BUNGALOW_PLACES = (
    "东沟", "西沟", "南沟", "北沟", "老街", "旧城", "南河", "北河", "车站", "东梁", "西梁", "前滩", "后滩", "砖厂",
    "林场", "粮站", "农机站", "供销社", "水泥厂", "召庙", "东营子", "西营子", "南圪堵", "北圪堵", "果园", "苗圃",
)  # fmt: skip
CHINESE_DIGITS = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 35 → 三十五 (up to 99)."""
    tens, ones = divmod(n, 10)
    text = ""
    if tens:
        text = ("" if tens == 1 else CHINESE_DIGITS[tens]) + "十"
    return text + (CHINESE_DIGITS[ones] if ones else "")


def han_place(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(PLACE_SURNAMES) + "家" + rng.choice(PLACE_SUFFIXES)
    if roll < 0.7:
        return rng.choice(DIRECTIONS) + rng.choice(PLACE_NOUNS)
    if roll < 0.78:
        return rng.choice(NUMBERED)
    return rng.choice(AUSPICIOUS)


def mongol_place(rng: random.Random) -> str:
    return rng.choice(MONGOL_PLACES) + rng.choice(MONGOL_PLACE_SUFFIXES)


class Namer:
    """Hands out names that are unique where they must be (villages and communities in the county,
    level-3 grids within their village)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make, suffix: str = "", scope: set[str] | None = None) -> str:
        used = self.used if scope is None else scope
        for _ in range(200):
            name = make() + suffix
            if name not in used:
                used.add(name)
                return name
        # Pools exhausted: number the name, which still reads naturally (新民二村).
        base = make()
        n = 2
        while f"{base}{chinese_number(n)}{suffix}" in used:
            n += 1
        name = f"{base}{chinese_number(n)}{suffix}"
        used.add(name)
        return name

    def community(self) -> str:
        return self._unique(lambda: self.rng.choice(COMMUNITY_WORDS), "社区")

    def village(self, pastoral: bool) -> str:
        """A 嘎查 (pastoral, Mongolian name) or a 村 (Han name, sometimes Mongolian)."""
        if pastoral:
            return self._unique(lambda: mongol_place(self.rng), "嘎查")
        make = (lambda: mongol_place(self.rng)) if self.rng.random() < 0.12 else (lambda: han_place(self.rng))
        return self._unique(make, "村")

    def compound(self, scope: set[str]) -> str:
        return self._unique(
            lambda: self.rng.choice(COMPOUND_WORDS) + self.rng.choice(COMPOUND_SUFFIXES), scope=scope
        )

    def bungalow_area(self, scope: set[str]) -> str:
        return self._unique(lambda: self.rng.choice(BUNGALOW_PLACES), "平房区", scope=scope)

    def natural_village(self, scope: set[str], pastoral: bool) -> str:
        make = (lambda: mongol_place(self.rng)) if pastoral else (lambda: han_place(self.rng))
        return self._unique(make, scope=scope)
