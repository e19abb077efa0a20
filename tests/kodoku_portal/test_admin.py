"""The audit trail and the outbox in the Django admin: listed and filtered, never edited."""

import pytest
from django.db import transaction

from kodoku_portal import audit, outbox
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail
from tests.factories import ApplicationFactory
from tests.support.outbox import KIND, build_test_mail

pytestmark = pytest.mark.django_db


def test_the_audit_trail_is_listed_read_only_with_its_sentence(admin_client):
    application = ApplicationFactory(title="PRACTICE-0001")
    with transaction.atomic():
        entry = audit.audit(
            actor=None, action="x", obj=application, before={"status": "draft"}, after={"status": "submitted"}
        )
    listing = admin_client.get("/admin/kodoku_portal/auditentry/?action=x", HTTP_ACCEPT_LANGUAGE="ja")
    assert listing.status_code == 200 and "PRACTICE-0001" in listing.content.decode()
    assert admin_client.get("/admin/kodoku_portal/auditentry/add/").status_code == 403
    detail = admin_client.get(f"/admin/kodoku_portal/auditentry/{entry.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "システム が 申請 PRACTICE-0001 を下書きから提出済に変更しました" in page
    assert "状態: 下書き → 提出済" in page  # the values by their labels, never the stored JSON
    assert "{&quot;status&quot;" not in page and "applications.Application" not in page
    assert admin_client.post(f"/admin/kodoku_portal/auditentry/{entry.pk}/delete/").status_code == 403


def test_failed_messages_are_listed_and_sent_again_by_an_action(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(outbox._BUILDERS, KIND, build_test_mail)
    with transaction.atomic():
        failed = outbox.enqueue(Mail(KIND, ("tests.Subject", 1), "a@example.jp", context={"fail_attempts": 1}))
        sent = outbox.enqueue(Mail(KIND, ("tests.Subject", 2), "b@example.jp"))
    outbox.deliver(failed.pk)
    outbox.deliver(sent.pk)
    listing = admin_client.get("/admin/kodoku_portal/outboxmessage/?status__exact=failed")
    assert listing.status_code == 200 and "a@example.jp" in listing.content.decode()
    assert "b@example.jp" not in listing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/kodoku_portal/outboxmessage/",
            {"action": "send_again", "_selected_action": [failed.pk, sent.pk]},
        )
    assert response.status_code == 302
    assert OutboxMessage.objects.get(pk=failed.pk).status == OutboxStatus.SENT
    assert OutboxMessage.objects.get(pk=sent.pk).attempts == 1
