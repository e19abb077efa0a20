"""Settings are read from the environment, in one module."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from django.conf import settings
import django
django.setup()
from kodoku_portal.celery import app
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "broker": settings.CELERY_BROKER_URL, "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_broker": app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
    "hosts": settings.ALLOWED_HOSTS, "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS, "secure_cookies": settings.SESSION_COOKIE_SECURE,
    "language": settings.LANGUAGE_CODE, "tz": settings.TIME_ZONE, "use_tz": settings.USE_TZ,
    "email_backend": settings.EMAIL_BACKEND,
}))
"""

_CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_TASK_ALWAYS_EAGER",
    "DJANGO_DEBUG",
    "DJANGO_HTTPS",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_EMAIL_BACKEND",
)


def load_settings(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    clean.update(env, DJANGO_SETTINGS_MODULE="kodoku_portal.settings")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_defaults_need_no_services():
    values = load_settings()
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"].endswith("db.sqlite3")
    assert values["broker"] == "memory://"
    assert values["eager"] is True
    assert values["cache"].endswith("LocMemCache")
    assert values["language"] == "ja"
    assert values["tz"] == "Asia/Tokyo"
    assert values["use_tz"] is True
    assert values["debug"] is False
    assert values["ssl_redirect"] is False


def test_production_values_come_from_the_environment():
    values = load_settings(
        DATABASE_URL="postgres://kodoku:secret@db.internal:5433/kodoku",
        REDIS_URL="redis://cache.internal:6380/2",
        DJANGO_HTTPS="1",
        DJANGO_SECRET_KEY="x" * 60,
        DJANGO_ALLOWED_HOSTS="portal.example.jp, www.portal.example.jp",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["host"] == "db.internal"
    assert values["name"] == "kodoku"
    assert values["broker"] == "redis://cache.internal:6380/2"
    assert values["celery_broker"] == "redis://cache.internal:6380/2"
    assert values["eager"] is False
    assert values["cache"].endswith("RedisCache")
    assert values["hosts"] == ["portal.example.jp", "www.portal.example.jp"]
    assert values["ssl_redirect"] is True
    assert values["hsts"] == 31536000
    assert values["secure_cookies"] is True
    assert values["email_backend"].endswith("smtp.EmailBackend")


@pytest.mark.parametrize("raw", ["maybe", "2"])
def test_a_malformed_boolean_is_refused_with_its_name(raw):
    clean = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    clean.update(DJANGO_DEBUG=raw, DJANGO_SETTINGS_MODULE="kodoku_portal.settings")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr
