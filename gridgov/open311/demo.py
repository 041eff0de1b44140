"""Questions for a few items of the packaged responsibility list, so that the demo county's Open311 service list
has definitions with attributes of every datatype (`gridgov open311-demo-questions`, after `seed-demo`).
Idempotent: a question already there (same item and code) is left as it is."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from gridgov.catalog.models import Item, ItemQuestion

# item code → [(code, datatype, required, name, name_en, hint, values)]
DEMO_QUESTIONS: dict[str, list[tuple[str, str, bool, str, str, str, list[dict[str, str]]]]] = {
    "011001": [  # 垃圾箱
        (
            "OBJID",
            "string",
            False,
            "部件编号（箱体上的16位编码）",
            "Component ID (16 digits on the bin)",
            "16 位数字",
            [],
        ),
        (
            "STATE",
            "singlevaluelist",
            True,
            "垃圾箱的情况",
            "State of the bin",
            "",
            [
                {"key": "full", "name": "满溢", "name_en": "overflowing"},
                {"key": "broken", "name": "破损", "name_en": "broken"},
                {"key": "missing", "name": "缺失", "name_en": "missing"},
                {"key": "fallen", "name": "倾倒", "name_en": "knocked over"},
            ],
        ),
    ],
    "021001": [  # 消防设施
        (
            "KINDS",
            "multivaluelist",
            True,
            "哪些消防设施有问题",
            "Which fire equipment is faulty",
            "可多选",
            [
                {"key": "extinguisher", "name": "灭火器", "name_en": "extinguisher"},
                {"key": "hydrant", "name": "消火栓", "name_en": "hydrant"},
                {"key": "sign", "name": "疏散指示标志", "name_en": "exit sign"},
                {"key": "alarm", "name": "火灾报警器", "name_en": "fire alarm"},
            ],
        ),
        ("COUNT", "number", False, "涉及数量", "How many", "填写数字", []),
    ],
    "062001": [  # 停水及供水水质异常
        ("SINCE", "datetime", True, "从什么时候开始", "Since when", "例如 2026-05-01T08:00:00+08:00", []),
        ("HOUSEHOLDS", "number", False, "大约影响多少户", "About how many households", "", []),
        (
            "DETAIL",
            "text",
            False,
            "水质异常的表现（颜色、气味等）",
            "What is wrong with the water (colour, smell…)",
            "",
            [],
        ),
    ],
    "022001": [  # 占用消防通道
        ("PLATE", "string", False, "占用车辆的车牌号", "Number plate of the vehicle", "", []),
        ("NOTICE", "text", False, "情况紧急请直接拨打119", "In an emergency call 119", "", []),
    ],
}


@transaction.atomic
def add_demo_questions() -> int:
    """Add the demo questions to the items that exist; returns how many were added."""
    added = 0
    items: dict[str, Any] = {i.code: i for i in Item.objects.filter(code__in=list(DEMO_QUESTIONS))}
    for code, questions in DEMO_QUESTIONS.items():
        item = items.get(code)
        if item is None:
            continue
        for order, (q_code, datatype, required, name, name_en, hint, values) in enumerate(questions, start=1):
            if ItemQuestion.objects.filter(item=item, code=q_code).exists():
                continue
            q = ItemQuestion(
                item=item, code=q_code, datatype=datatype, required=required, order=order, name=name,
                name_en=name_en, hint=hint, values=values, variable=q_code != "NOTICE",
            )  # fmt: skip
            q.full_clean()
            q.save()
            added += 1
    return added
