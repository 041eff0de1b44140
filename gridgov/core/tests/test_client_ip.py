"""The address the audit log keeps: the peer's, unless the peer is a trusted proxy (nginx in front), whose
X-Forwarded-For then names the client; what a client writes into that header itself is never believed."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from gridgov.core.audit import client_ip


def request(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("peer", "forwarded", "seen"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # nginx on the host passes the client on
        ("127.0.0.1", "198.51.100.7, 203.0.113.5", "203.0.113.5"),  # the left one is the client's own claim
        ("127.0.0.1", "203.0.113.5, 127.0.0.1", "203.0.113.5"),  # two trusted hops
        ("127.0.0.1", None, "127.0.0.1"),  # nothing forwarded: the proxy's own request
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # an untrusted peer cannot name another address
        ("127.0.0.1", "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_the_client_behind_a_trusted_proxy(settings, peer, forwarded, seen):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request(peer, forwarded)) == seen


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("127.0.0.1", "203.0.113.5")) == "127.0.0.1"
    assert client_ip(None) is None
