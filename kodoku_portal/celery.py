"""The Celery application. Without a broker (the embedded run) tasks run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kodoku_portal.settings")

app = Celery("kodoku_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
