"""nc-nav (issue 12, item 7): the applicant's mails — receipt, invitation, allauth's account mails,
the deadline reminder — link on PORTAL_BASE_URL only, name the portal, and write dates as the
screens do."""

import pytest
from django.core import mail
from django.urls import reverse

from applications import services
from applications.documents import invitation_email, receipt_email
from applications.models import MemberRole
from grants.models import ReminderKind
from grants.reminders import _context, build_message
from kodoku_portal.jp import format_date
from tests.factories import ApplicationFactory
from tests.support.mail_links import BASE_URL, SITE_NAME, assert_portal_mail

from .conftest import INSIDE, save_complete

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.PORTAL_BASE_URL = BASE_URL


def test_the_receipt_mail_links_on_the_base_url_and_names_the_portal(seed_window_call, organisation, member):
    draft = save_complete(ApplicationFactory(call=seed_window_call, organisation=organisation), member, now=INSIDE)
    services.application_submit(application_id=draft.pk, user=member, now=INSIDE)
    receipt = services.receipt_render(application_id=draft.pk)
    assert_portal_mail(receipt_email(receipt, to=member.email), f"/applications/{draft.pk}/")


def test_the_invitation_links_on_the_base_url_and_writes_its_expiry_as_the_screens(organisation, member):
    invitation = services.invitation_create(
        organisation=organisation, email="colleague@example.jp", role=MemberRole.EDITOR, invited_by=member
    )
    message = invitation_email(invitation)
    assert_portal_mail(message, f"/invitations/{invitation.token}/")
    expiry = format_date(invitation.expires_at)  # e.g. 2026年12月13日（日）
    assert expiry in message.body
    assert invitation.expires_at.strftime("%Y-%m-%d") not in message.body


def test_the_deadline_reminder_links_on_the_base_url_and_names_the_portal(open_call, organisation, member):
    draft = ApplicationFactory(call=open_call, organisation=organisation)
    message = build_message(ReminderKind.DEADLINE, member, _context(ReminderKind.DEADLINE, draft.pk, ""))
    assert_portal_mail(message, f"/applications/{draft.pk}/", "/accounts/reminders/")


def test_allauth_mails_link_on_the_base_url_and_greet_with_the_portals_name(
    client, member, django_capture_on_commit_callbacks
):
    """Sign-up (address confirmation) and password reset: their links are made from the request
    by allauth, and the greeting used the request's host as the site name."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "newcomer@example.jp", "password1": "a-long-Passphrase-42", "password2": "a-long-Passphrase-42"},
        )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": member.email})
    assert len(mail.outbox) == 2
    confirmation, reset = mail.outbox
    assert_portal_mail(confirmation, "/accounts/confirm-email/")
    assert_portal_mail(reset, "/accounts/password/reset/key/")
    for message in (confirmation, reset):
        assert "testserver" not in message.body
        assert f"{SITE_NAME}" in message.body
    assert "kodoku-grants.example.go.jp:8443" in confirmation.body  # the site's domain, not the request's host


def test_the_base_url_defaults_to_the_port_make_run_serves(monkeypatch):
    """Without PORTAL_BASE_URL the default follows PORT (exported by `make run PORT=…`)."""
    import importlib

    import kodoku_portal.settings as portal_settings

    monkeypatch.delenv("PORTAL_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8765")
    try:
        assert importlib.reload(portal_settings).PORTAL_BASE_URL == "http://127.0.0.1:8765"
    finally:
        monkeypatch.delenv("PORT")
        importlib.reload(portal_settings)
