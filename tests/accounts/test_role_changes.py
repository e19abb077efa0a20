"""A user's role changes only through user_set_role, which goes through the workflow and is audited."""

import pytest
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_create, user_set_role
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from tests.factories import enable_totp

pytestmark = pytest.mark.django_db


def _entries(user: User, action: str):
    return AuditEntry.objects.filter(object_type="accounts.User", object_id=str(user.pk), action=action)


def test_a_role_change_is_audited_with_who_and_both_roles():
    admin = user_create(email="admin@example.jp", password="x", role=Role.ADMINISTRATOR)
    user = user_create(email="someone@example.jp", password="x", role=Role.APPLICANT, by=admin)
    user_set_role(user=user, role=Role.REVIEWER, by=admin)
    user.refresh_from_db()
    assert user.role == Role.REVIEWER
    entry = _entries(user, "role_changed").get()
    assert entry.actor == admin
    assert entry.before == {"role": "applicant"}
    assert entry.after == {"role": "reviewer"}
    assert entry.object_repr == str(user)
    assert "admin@example.jp" in describe(entry)


def test_becoming_administrator_sets_the_django_flags_and_leaving_clears_them():
    user = user_create(email="staff@example.jp", password="x", role=Role.STAFF)
    assert (user.is_staff, user.is_superuser) == (False, False)
    user_set_role(user=user, role=Role.ADMINISTRATOR)
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, True)
    user_set_role(user=user, role=Role.APPLICANT)
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.APPLICANT, False, False)
    assert _entries(user, "role_changed").count() == 2


def test_setting_the_same_role_again_writes_no_entry():
    user = user_create(email="same@example.jp", password="x", role=Role.REVIEWER)
    user_set_role(user=user, role=Role.REVIEWER)
    assert not _entries(user, "role_changed").exists()
    assert _entries(user, "user_created").count() == 1


def test_a_role_change_and_its_entry_are_one_transaction():
    user = user_create(email="atomic@example.jp", password="x", role=Role.APPLICANT)
    with pytest.raises(RuntimeError), transaction.atomic():
        user_set_role(user=user, role=Role.STAFF)
        raise RuntimeError("rolled back")
    user.refresh_from_db()
    assert user.role == Role.APPLICANT
    assert not _entries(user, "role_changed").exists()


def test_the_admin_changes_a_role_through_the_service(admin_client_with_totp):
    client, admin = admin_client_with_totp
    user = user_create(email="promote@example.jp", password="x", role=Role.APPLICANT)
    response = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"email": user.email, "full_name": "", "role": Role.STAFF, "is_active": "on"},
    )
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert user.role == Role.STAFF
    entry = _entries(user, "role_changed").get()
    assert entry.actor == admin
    assert entry.after == {"role": "staff"}


@pytest.fixture
def admin_client_with_totp(client):
    admin = user_create(email="root@example.jp", password="x", role=Role.ADMINISTRATOR, email_verified=True)
    enable_totp(admin)
    client.force_login(admin)
    return client, admin


def test_an_account_added_in_the_admin_is_audited(admin_client_with_totp):
    client, admin = admin_client_with_totp
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new-reviewer@example.jp",
            "password1": "a-long-pass-phrase-2025",
            "password2": "a-long-pass-phrase-2025",
            "role": Role.REVIEWER,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(email="new-reviewer@example.jp")
    assert user.role == Role.REVIEWER
    entry = _entries(user, "user_created").get()
    assert entry.actor == admin and entry.after == {"role": "reviewer"}
    assert not _entries(user, "role_changed").exists()
