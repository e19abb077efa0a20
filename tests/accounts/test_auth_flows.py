"""allauth: e-mail login, verification required, password reset, rate limits, TOTP at login."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core import mail

from accounts.models import Role, User
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.factories import PASSWORD, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


def test_signup_requires_email_verification_before_login(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {"email": "New.Person@Example.jp", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="new.person@example.jp")
    assert user.role == Role.APPLICANT
    assert len(mail.outbox) == 1
    # Sent through the outbox, like every mail of the portal.
    message = OutboxMessage.objects.get(kind="account")
    assert (message.status, message.to_email, message.recipient) == (OutboxStatus.SENT, user.email, user)
    # Not verified yet: logging in sends to the verification page, not into the portal.
    client.logout()
    response = client.post("/accounts/login/", {"login": "new.person@example.jp", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    # Confirm from the link in the mail.
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/", mail.outbox[0].body).group(0)
    path = urlsplit(link).path  # the link starts with PORTAL_BASE_URL, not the request's host (nc-nav)
    assert client.post(path).status_code == 302
    response = client.post("/accounts/login/", {"login": "new.person@example.jp", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/applications/"  # the applicant's home (nc-nav)
    assert client.get("/accounts/email/").status_code == 200


def test_signup_mail_is_in_japanese_by_default(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/signup/", {"email": "ja@example.jp", "password1": PASSWORD, "password2": PASSWORD})
    assert "メールアドレス" in mail.outbox[0].body or "確認" in mail.outbox[0].body


def test_password_reset_sends_a_mail(client, django_capture_on_commit_callbacks):
    UserFactory(email="forgot@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "forgot@example.jp"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    # A second request is a second mail (each has its own key), never the first one again.
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "forgot@example.jp"})
    assert len(mail.outbox) == 2
    assert OutboxMessage.objects.filter(kind="account", status=OutboxStatus.SENT).count() == 2
    # The reset links are secrets: once sent, the outbox keeps no copy of them.
    assert list(OutboxMessage.objects.filter(kind="account").values_list("context", flat=True)) == [{}, {}]


def test_failed_logins_are_rate_limited(client):
    UserFactory(email="target@example.jp")
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": "target@example.jp", "password": "wrong-password"})
        assert response.status_code == 200
    # The limit for this address is reached: even the right password is refused for now.
    response = client.post("/accounts/login/", {"login": "target@example.jp", "password": PASSWORD})
    assert response.status_code == 200
    assert "ログイン失敗が連続しています。" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_totp_is_asked_at_login_for_a_reviewer(client):
    user = UserFactory(email="rev@example.jp", role=Role.REVIEWER)
    secret = enable_totp(user)
    response = client.post("/accounts/login/", {"login": "rev@example.jp", "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/reviews/").status_code == 302  # not logged in yet
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.get("/reviews/").status_code == 200


def test_wrong_totp_code_is_refused(client):
    user = UserFactory(email="rev2@example.jp", role=Role.REVIEWER)
    enable_totp(user)
    client.post("/accounts/login/", {"login": "rev2@example.jp", "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert client.get("/reviews/").status_code == 302


def test_django_admin_login_form_is_not_a_back_door(client):
    """The admin's own password-only login form would skip TOTP: it must send to allauth's login."""
    UserFactory(email="boss@example.jp", role=Role.ADMINISTRATOR)
    response = client.post("/admin/login/", {"username": "boss@example.jp", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302
