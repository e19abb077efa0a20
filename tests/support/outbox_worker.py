"""The Celery app for worker processes started by outbox tests:

    python -m celery -A tests.support.outbox_worker worker …

It is the portal's app (kodoku_portal.celery, settings from the environment) with the test
builder registered for kind "test", as an app would register its builders in AppConfig.ready.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kodoku_portal.settings")
django.setup()

from kodoku_portal import outbox  # noqa: E402 - after django.setup()
from kodoku_portal.celery import app  # noqa: E402
from tests.support.outbox import KIND, build_test_mail  # noqa: E402

outbox.register(KIND, build_test_mail)

__all__ = ["app"]
