"""A submission replayed (the button pressed again, the browser resending the POST after a
timeout, a request retried by a proxy): one receipt number, one audit entry, and each receipt
mail sent exactly once however often the same request arrives."""

import re

import pytest
from django.core import mail
from django.test import Client

from applications.models import ApplicationStatus
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus

pytestmark = pytest.mark.django_db


def test_the_same_submission_posted_three_times_gives_one_receipt_and_each_mail_once(
    complete_draft, member, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    preview = client.get(f"/applications/{complete_draft.pk}/preview/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', preview).group(1)
    answers = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(client.post(f"/applications/{complete_draft.pk}/submit/", {"csrfmiddlewaretoken": token}))
    assert [answer.status_code for answer in answers] == [302, 302, 302]
    assert len({answer["Location"] for answer in answers}) == 1
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SUBMITTED
    assert complete_draft.receipt_number == f"{complete_draft.call.receipt_prefix}-0001"
    assert AuditEntry.objects.filter(action="application_submitted").count() == 1
    messages = list(OutboxMessage.objects.filter(kind="receipt"))
    assert messages and {(m.status, m.attempts) for m in messages} == {(OutboxStatus.SENT, 1)}
    sent_to = sorted(address for sent in mail.outbox for address in sent.to)
    assert sent_to == sorted(m.to_email for m in messages)
    assert len(set(sent_to)) == len(sent_to)
