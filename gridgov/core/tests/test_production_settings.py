"""Production refuses to start on demo defaults."""

import os
import subprocess
import sys

import pytest

KEY = "a" * 64
GOOD = {
    "GRIDGOV_ENV": "production",
    "GRIDGOV_SECRET_KEY": "x" * 60,
    "GRIDGOV_AUDIT_KEY": KEY,
    "GRIDGOV_FIELD_KEY": KEY,
    "GRIDGOV_INDEX_KEY": KEY,
    "GRIDGOV_ALLOWED_HOSTS": "grid.example.gov.cn",
}


def start(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_")}
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["DJANGO_SETTINGS_MODULE"] = "gridgov.settings"
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_production_starts_with_real_settings():
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"GRIDGOV_SECRET_KEY": None}, "GRIDGOV_SECRET_KEY"),
        ({"GRIDGOV_SECRET_KEY": "short"}, "GRIDGOV_SECRET_KEY"),
        ({"GRIDGOV_DEBUG": "1"}, "GRIDGOV_DEBUG"),
        ({"GRIDGOV_AUDIT_KEY": None}, "GRIDGOV_AUDIT_KEY"),
        ({"GRIDGOV_FIELD_KEY": "abc"}, "GRIDGOV_FIELD_KEY"),
        ({"GRIDGOV_ALLOWED_HOSTS": None}, "GRIDGOV_ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_demo_defaults(overrides, message):
    result = start(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
