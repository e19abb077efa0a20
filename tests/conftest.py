"""Shared fixtures. Tests talk to the real database (PostgreSQL in CI via DATABASE_URL)."""

import functools
import os

import pytest
from django.core.management.commands import flush
from django.db import connection
from hypothesis import settings as hypothesis_settings

from kodoku_portal.append_only import maintenance
from kodoku_portal.celery import app as celery_app

# Property tests judge what is computed, never how fast: a loaded machine (CI's two cores, a
# worker beside) must not fail one on Hypothesis's 200 ms per-example deadline.
hypothesis_settings.register_profile("portal", deadline=None)
hypothesis_settings.load_profile("portal")

# live_server runs in a thread beside sync Playwright, which owns an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _flush_in_audit_maintenance(handle):
    """Django's flush (teardown of transactional and live-server tests) empties every table. On
    SQLite that is DELETE FROM, which the audit table's triggers refuse outside maintenance();
    on PostgreSQL it is TRUNCATE, which row triggers do not see (kodoku_portal/append_only.py)."""

    @functools.wraps(handle)
    def handle_in_maintenance(self, *args, **options):
        with maintenance():
            return handle(self, *args, **options)

    handle_in_maintenance.in_audit_maintenance = True
    return handle_in_maintenance


if not getattr(flush.Command.handle, "in_audit_maintenance", False):
    flush.Command.handle = _flush_in_audit_maintenance(flush.Command.handle)


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL
    return [
        f"kodoku-portal database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db.get('NAME')})",
        f"kodoku-portal broker: {broker}",
    ]


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections_before_teardown(django_db_setup, django_db_blocker):
    """The live server's request threads may still hold a PostgreSQL session when the suite ends,
    which makes dropping the test database fail; end those sessions first."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process unless a test starts a real worker (marked 'services')."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _no_rate_limit_leaks(settings):
    """Each test starts with an empty cache, so allauth's rate limits do not carry over."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 is slow on purpose; tests hash many passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client, db):
    """A client signed in as an administrator who has set up TOTP (so the admin opens), in place of
    pytest-django's superuser of the same name."""
    from accounts.models import Role
    from tests.factories import UserFactory, enable_totp

    administrator = UserFactory(role=Role.ADMINISTRATOR, email="admin@example.jp")
    enable_totp(administrator)
    client.force_login(administrator)
    return client


@pytest.fixture
def db_vendor(db):
    return connection.vendor


@pytest.fixture(scope="session")
def _signing_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("signing")


@pytest.fixture(autouse=True)
def _local_test_signing_certificate(settings, _signing_dir):
    """Letters are signed (kodoku_portal/signing.py): without a configured certificate, the local
    test certificate is generated once per run in a temporary folder, never in var/signing/."""
    settings.SIGNING_PKCS12_PATH = ""
    settings.SIGNING_TSA_URL = ""
    settings.SIGNING_DIR = _signing_dir


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the portal's default language. Django's LocaleMiddleware activates a
    request's language in the thread and never deactivates it, so a test client request made with
    ``HTTP_ACCEPT_LANGUAGE="en"`` would otherwise leave English active for the tests after it."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
