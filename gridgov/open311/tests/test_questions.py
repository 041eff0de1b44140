"""An item's questions (Open311 service attributes) are checked before they are kept."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from gridgov.catalog.models import Item, ItemQuestion
from gridgov.open311.demo import DEMO_QUESTIONS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"code": "has space", "datatype": "string"}, "code"),
        ({"code": "A", "datatype": "singlevaluelist", "values": []}, "values"),
        ({"code": "A", "datatype": "multivaluelist", "values": [{"key": "1"}]}, "values"),
        (
            {
                "code": "A",
                "datatype": "singlevaluelist",
                "values": [{"key": "1", "name": "甲"}, {"key": "1", "name": "乙"}],
            },
            "values",
        ),
        ({"code": "A", "datatype": "number", "values": [{"key": "1", "name": "甲"}]}, "values"),
        ({"code": "A", "datatype": "text", "variable": False, "required": True}, "required"),
        ({"code": "A", "datatype": "text", "order": 0}, "order"),
    ],
)
def test_bad_questions_are_refused_naming_the_field(catalog, fields, wrong):
    q = ItemQuestion(item=Item.objects.get(code="011001"), name="问题", **fields)
    with pytest.raises(ValidationError) as refused:
        q.full_clean()
    assert wrong in refused.value.message_dict


def test_choices_follow_the_language(catalog):
    from django.utils import translation

    q = ItemQuestion(
        item=Item.objects.get(code="011001"),
        code="URGENT",
        name="紧急程度",
        name_en="Urgency",
        datatype="singlevaluelist",
        values=[{"key": "1", "name": "紧急", "name_en": "urgent"}, {"key": "0", "name": "一般"}],
    )
    q.full_clean()
    with translation.override("en"):
        assert q.label == "Urgency" and q.choices() == [("1", "urgent"), ("0", "一般")]
    with translation.override("zh-hans"):
        assert q.label == "紧急程度" and q.choices() == [("1", "紧急"), ("0", "一般")]


def test_demo_questions_cover_every_datatype(catalog, client):
    from django.core.management import call_command

    call_command("open311_demo_questions")
    call_command("open311_demo_questions")  # a second run adds nothing
    assert set(ItemQuestion.objects.values_list("datatype", flat=True)) == {
        "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist",
    }  # fmt: skip
    assert ItemQuestion.objects.count() == sum(len(q) for q in DEMO_QUESTIONS.values())
    services = {s["service_code"]: s["metadata"] for s in client.get("/open311/v2/services.json").json()}
    assert services["062001"] is True and services["011002"] is False


def test_questions_in_the_admin(catalog, client, make_user):
    admin_user = make_user("sysadmin", is_staff=True, admin_duty="system")
    client.force_login(admin_user)
    assert client.get("/admin/catalog/itemquestion/add/").status_code == 200
    assert client.get("/admin/catalog/itemquestion/").status_code == 200
