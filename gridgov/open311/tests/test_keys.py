"""API keys: made by `gridgov open311-key NAME` or in the workbench, kept hashed, revoked, audited."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from gridgov.core.models import AuditRecord
from gridgov.open311.models import ApiKey
from gridgov.open311.services import key_hash

pytestmark = pytest.mark.django_db


def test_command_prints_a_new_key_kept_hashed(world, client):
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_key", "城管通", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert re.fullmatch(r"g311_[A-Za-z0-9_-]{32}", key)
    stored = ApiKey.objects.get()
    assert stored.name == "城管通" and stored.key_hash == key_hash(key) and key not in str(stored.__dict__)
    assert not stored.account.is_active and not stored.account.has_usable_password()
    assert AuditRecord.objects.filter(action="open311.key_create").count() == 1
    # The key works at once.
    assert client.get("/open311/v2/services.json", {"api_key": key}).status_code == 200


def test_workbench_page_makes_and_revokes_keys(world, client):
    client.force_login(world.resident)
    assert client.get("/open311/keys/").status_code == 404
    client.force_login(world.operator)
    page = client.get("/open311/keys/")
    assert page.status_code == 200
    made = client.post("/open311/keys/", {"action": "create_key", "name": "市民通", "rate_per_minute": "30"})
    assert made.status_code == 200
    key = re.search(r'<code class="new-key">([^<]+)</code>', made.content.decode()).group(1)
    api_key = ApiKey.objects.get(key_hash=key_hash(key))
    assert api_key.rate_per_minute == 30 and api_key.created_by == world.operator
    assert client.get("/open311/v2/services.json", {"api_key": key}).status_code == 200
    page = client.get("/open311/keys/").content.decode()
    assert api_key.prefix in page and key not in page  # shown once only
    refused = client.post("/open311/keys/", {"action": "create_key", "name": "", "rate_per_minute": "30"})
    assert refused.status_code == 400 and ApiKey.objects.count() == 1
    assert client.post("/open311/keys/", {"action": "revoke_key", "key": api_key.pk}).status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key.revoked_by == world.operator
    assert client.get("/open311/v2/services.json", {"api_key": key}).status_code == 403
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"open311.key_create", "open311.key_revoke"} <= actions
    # A webhook added from the same page shows its secret once.
    added = client.post(
        "/open311/keys/",
        {
            "action": "create_webhook",
            "name": "订阅",
            "url": "https://hooks.example.cn/x",
            "events": ["case.report"],
        },
    )
    assert added.status_code == 200 and 'class="new-secret"' in added.content.decode()
