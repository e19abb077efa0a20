"""nc-nav (issue 12, item 1): the header offers each role its own pages and every signed-in person
the account pages; the page shown is marked aria-current; login lands on the role's home."""

import re

import pytest
from django.test import RequestFactory
from django.utils import translation

from accounts.adapter import AccountAdapter
from accounts.models import Role
from applications.models import MemberRole, Membership
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db

APPLICANT_LINKS = {"My applications": "/applications/", "Organisation details": None}
REVIEWER_LINKS = {"My reviews": "/reviews/", "My affiliations": "/reviews/affiliations/"}
STAFF_LINKS = {"Staff": "/staff/"}
ACCOUNT_LINKS = {
    "E-mail address": "/accounts/email/",
    "Password": "/accounts/password/change/",
    "Two-factor authentication": "/accounts/2fa/",
    "Notification settings": "/accounts/reminders/",
}


def header(client, path="/") -> str:
    with translation.override("en"):
        page = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return page[page.index("<header") : page.index("</header>")]


def links(html: str) -> dict[str, str]:
    """label → href of each link in the header."""
    found = {}
    for href, label in re.findall(r'<a class="[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>', html):
        found[label.strip()] = href
    return found


def user_with(role):
    user = UserFactory(role=role)
    if role != Role.APPLICANT:
        enable_totp(user)
    return user


@pytest.mark.parametrize(
    ("role", "own", "others"),
    [
        (Role.APPLICANT, APPLICANT_LINKS, {**REVIEWER_LINKS, **STAFF_LINKS}),
        (Role.REVIEWER, REVIEWER_LINKS, {**APPLICANT_LINKS, **STAFF_LINKS}),
        (Role.STAFF, STAFF_LINKS, {**APPLICANT_LINKS, **REVIEWER_LINKS}),
        (Role.ADMINISTRATOR, {**STAFF_LINKS, "Administration": "/admin/"}, {**APPLICANT_LINKS, **REVIEWER_LINKS}),
    ],
)
def test_each_role_sees_its_own_pages_and_the_account_menu(client, role, own, others):
    client.force_login(user_with(role))
    html = header(client)
    found = links(html)
    for label, href in {**own, **ACCOUNT_LINKS}.items():
        assert label in found, label
        if href:
            assert found[label] == href
    for label in others:
        assert label not in found
    assert "Log out" in html and "Log in" not in found
    assert '<nav class="navbar navbar-expand-lg" aria-label="Main menu">' in html
    assert 'data-bs-toggle="dropdown"' in html and 'aria-expanded="false"' in html


def test_anonymous_visitors_see_log_in_and_sign_up_only(client):
    found = links(header(client))
    assert {"Log in", "Sign up", "Calls for applications"} <= set(found)
    assert not set(found) & (set(ACCOUNT_LINKS) | set(APPLICANT_LINKS))


def test_the_organisation_link_opens_the_applicants_organisation(client):
    member = UserFactory(role=Role.APPLICANT)
    client.force_login(member)
    assert links(header(client))["Organisation details"] == "/organisations/new/"
    organisation = OrganisationFactory()
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    assert links(header(client))["Organisation details"] == f"/organisations/{organisation.pk}/"


def test_the_page_shown_is_marked_current(client):
    client.force_login(UserFactory(role=Role.APPLICANT))
    html = header(client, "/applications/")
    assert re.search(r'href="/applications/" aria-current="page">My applications<', html)
    assert html.count('aria-current="page"') == 1
    html = header(client, "/accounts/reminders/")
    assert re.search(r'href="/accounts/reminders/" aria-current="page">Notification settings<', html)


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.APPLICANT, "/applications/"),
        (Role.REVIEWER, "/reviews/"),
        (Role.STAFF, "/staff/"),
        (Role.ADMINISTRATOR, "/staff/"),
    ],
)
def test_login_lands_on_the_roles_home(role, home):
    request = RequestFactory().get("/accounts/login/")
    request.user = UserFactory(role=role)
    assert AccountAdapter(request).get_login_redirect_url(request) == home


def test_an_applicant_logging_in_through_the_form_lands_on_the_applications_list(client, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    user = UserFactory(role=Role.APPLICANT, email="member@example.jp")
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/applications/"
    # A ?next= still wins.
    client.logout()
    response = client.post("/accounts/login/?next=/calls/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == "/calls/"
