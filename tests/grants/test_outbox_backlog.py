"""Staff see the work still queued and its age: the mails not sent yet, how long the oldest has
waited (staff dashboard and outbox page), and each unsent row's waiting time (issue 13)."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from accounts.models import Role
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.factories import ApplicationFactory, UserFactory, enable_totp
from tests.grants.test_outbox_and_audit_pages import message

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


def _aged(row: OutboxMessage, hours: int) -> None:
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours))


def test_the_dashboard_and_the_outbox_say_how_many_mails_wait_and_since_when(client, staff):
    application = ApplicationFactory()
    waiting = message(application, "a@example.jp")
    _aged(waiting, 3)
    _aged(message(application, "b@example.jp", status=OutboxStatus.FAILED, error="mail server down"), 1)
    _aged(message(application, "c@example.jp", status=OutboxStatus.SENT), 30)  # sent: not waiting
    client.force_login(staff)
    with translation.override("en"):
        for url in ("/staff/", "/staff/outbox/"):
            page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
            assert "2 e-mails are not sent yet; the oldest has waited 3\xa0hours" in page, url
        outbox = client.get("/staff/outbox/?status=queued", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="outbox-waiting">3\xa0hours</td>' in outbox


def test_nothing_waiting_is_said_too(client, staff):
    message(ApplicationFactory(), "a@example.jp", status=OutboxStatus.SENT)
    client.force_login(staff)
    with translation.override("en"):
        page = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "none is waiting" in page
