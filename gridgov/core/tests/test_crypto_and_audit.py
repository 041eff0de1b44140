import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from gridgov.core import audit
from gridgov.core.crypto import provider
from gridgov.core.masking import mask_id_number, mask_name, mask_phone, scrub
from gridgov.core.models import AuditRecord


def test_sm3_standard_vector():
    # GB/T 32905 example 1: SM3("abc").
    assert provider().sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm4_gcm_round_trip_and_tamper_detection():
    p = provider()
    token = p.encrypt(b"150621199001011234", b"person:1")
    assert p.decrypt(token, b"person:1") == b"150621199001011234"
    assert token != p.encrypt(b"150621199001011234", b"person:1")  # fresh nonce each time
    with pytest.raises(Exception):  # noqa: B017 - InvalidTag: wrong associated data
        p.decrypt(token, b"person:2")
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    with pytest.raises(Exception):  # noqa: B017
        p.decrypt(tampered, b"person:1")


def test_blind_index_is_deterministic_and_keyed():
    p = provider()
    assert p.hmac_sm3("index", b"13812341234") == p.hmac_sm3("index", b"13812341234")
    assert p.hmac_sm3("index", b"13812341234") != p.hmac_sm3("audit", b"13812341234")


def test_masking():
    assert mask_id_number("15062119900101123X") == "150621********123X"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("巴特尔") == "巴*尔"
    assert scrub("电话13812341234，身份证15062119900101123X") == "电话138****1234，身份证150621********123X"


@pytest.mark.django_db(transaction=True)
def test_audit_record_requires_a_transaction():
    with pytest.raises(RuntimeError):
        audit.record("x")


@pytest.mark.django_db(transaction=True)
def test_audit_chain_detects_a_changed_and_a_removed_entry(capsys):
    for i in range(5):
        audit.atomic_record("test.event", data={"i": i})
    call_command("verify_audit")
    assert "5" in capsys.readouterr().out

    third = AuditRecord.objects.order_by("id")[2]
    with transaction.atomic():
        AuditRecord.objects.filter(pk=third.pk).update(data={"i": 99})
    report = audit.verify_chain()
    assert report.broken_at == third.pk and "changed" in report.reason
    with pytest.raises(CommandError, match=str(third.pk)):
        call_command("verify_audit")

    AuditRecord.objects.filter(pk=third.pk).delete()
    report = audit.verify_chain()
    assert report.broken_at == AuditRecord.objects.order_by("id")[2].pk
    assert "removed" in report.reason


@pytest.mark.django_db(transaction=True)
def test_audit_chain_detects_a_cut_tail():
    for i in range(3):
        audit.atomic_record("test.event", data={"i": i})
    assert audit.verify_chain().reason == ""
    AuditRecord.objects.order_by("-id").first().delete()
    assert "ends early" in audit.verify_chain().reason


@pytest.mark.django_db
def test_audit_chain_detects_an_inserted_entry_and_bulk_appends_chain_like_single_ones():
    for i in range(3):
        audit.atomic_record("test.event", data={"i": i})
    with transaction.atomic():
        audit.record_many([audit.Entry("test.bulk", data={"i": i}) for i in range(4)])
    assert audit.verify_chain().checked == 7 and audit.verify_chain().reason == ""
    # A forger without the key copies a genuine link and puts it between two others.
    second = AuditRecord.objects.order_by("id")[1]
    forged = AuditRecord.objects.create(
        created_at=second.created_at,
        action="test.forged",
        data={"i": 42},
        prev_hash=second.hash,
        hash="f" * 64,
    )
    AuditRecord.objects.filter(pk=forged.pk).update(id=second.pk + 1000)  # sorts after the genuine ones
    report = audit.verify_chain()
    assert report.broken_at == second.pk + 1000 and report.reason
