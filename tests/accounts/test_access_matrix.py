"""Who may see which page: every role × every page that exists so far."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from applications.models import MemberRole, Membership
from calls.models import FormVersion
from tests.factories import ApplicationFactory, CallFactory, UserFactory, enable_totp
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db

OK, LOGIN, MFA, FORBIDDEN = "ok", "login", "mfa", "forbidden"

# (name, role, with TOTP) — None is an anonymous visitor.
USERS = {
    "anonymous": None,
    "applicant": (Role.APPLICANT, False),
    "reviewer": (Role.REVIEWER, True),
    "reviewer_without_totp": (Role.REVIEWER, False),
    "staff": (Role.STAFF, True),
    "staff_without_totp": (Role.STAFF, False),
    "administrator": (Role.ADMINISTRATOR, True),
    "administrator_without_totp": (Role.ADMINISTRATOR, False),
}

PUBLIC = dict.fromkeys(USERS, OK)
STAFF_PAGE = {
    "anonymous": LOGIN,
    "applicant": FORBIDDEN,
    "reviewer": FORBIDDEN,
    "reviewer_without_totp": FORBIDDEN,
    "staff": OK,
    "staff_without_totp": MFA,
    "administrator": OK,
    "administrator_without_totp": MFA,
}
APPLICANT_PAGE = dict.fromkeys(USERS, FORBIDDEN) | {"anonymous": LOGIN, "applicant": OK}
PAGES = {
    "/": PUBLIC,
    "/calls/": PUBLIC,
    "/calls/{slug}/": PUBLIC,
    "/healthz": PUBLIC,
    "/verify/": PUBLIC,  # the public verification of signed letters (grants/verify_views.py)
    "/accounts/email/": {name: LOGIN if name == "anonymous" else OK for name in USERS},
    "/staff/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": FORBIDDEN,
        "reviewer_without_totp": FORBIDDEN,
        "staff": OK,
        "staff_without_totp": MFA,
        "administrator": OK,
        "administrator_without_totp": MFA,
    },
    "/reviews/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": OK,
        "reviewer_without_totp": MFA,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": FORBIDDEN,
        "administrator_without_totp": FORBIDDEN,
    },
    "/staff/calls/{slug}/applications/": STAFF_PAGE,
    "/staff/calls/{slug}/review/": STAFF_PAGE,
    "/staff/calls/{slug}/review/assignments/": STAFF_PAGE,
    "/staff/calls/{slug}/review/assignments/search/applications/?q=1": STAFF_PAGE,
    "/staff/calls/{slug}/review/assignments/search/reviewers/?q=a": STAFF_PAGE,
    "/staff/calls/{slug}/review/ranking/": STAFF_PAGE,
    "/staff/calls/{slug}/dossier.zip": STAFF_PAGE,
    "/staff/calls/{slug}/review/calibration/": STAFF_PAGE,
    "/staff/calls/{slug}/review/integrity/": STAFF_PAGE,
    "/staff/forms/{form}/preview/": STAFF_PAGE,  # the preview of a call's application form (issue 16)
    "/staff/calls/{slug}/audit/": STAFF_PAGE,
    "/staff/calls/{slug}/audit/?object_type=applications.Application&since=2025-04-01": STAFF_PAGE,
    "/reviews/affiliations/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": OK,
        "reviewer_without_totp": MFA,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": FORBIDDEN,
        "administrator_without_totp": FORBIDDEN,
    },
    "/applications/": APPLICANT_PAGE,
    "/organisations/new/": APPLICANT_PAGE,
    "/admin/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": FORBIDDEN,
        "reviewer_without_totp": FORBIDDEN,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": OK,
        "administrator_without_totp": MFA,
    },
    "/admin/calls/call/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": FORBIDDEN,
        "reviewer_without_totp": FORBIDDEN,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": OK,
        "administrator_without_totp": MFA,
    },
    "/admin/django_celery_beat/periodictask/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": FORBIDDEN,
        "reviewer_without_totp": FORBIDDEN,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": OK,
        "administrator_without_totp": MFA,
    },
    "/admin/auth/group/add/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": FORBIDDEN,
        "reviewer_without_totp": FORBIDDEN,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": OK,
        "administrator_without_totp": MFA,
    },
    "/admin/calls/applicanttype/": {
        "anonymous": LOGIN,
        "applicant": FORBIDDEN,
        "reviewer": FORBIDDEN,
        "reviewer_without_totp": FORBIDDEN,
        "staff": FORBIDDEN,
        "staff_without_totp": FORBIDDEN,
        "administrator": OK,
        "administrator_without_totp": MFA,
    },
}


def outcome(client, url: str) -> str:
    """Follow redirects until the page is shown, refused, or the visitor is sent to log in / set up MFA."""
    login, mfa = reverse("account_login"), reverse("mfa_activate_totp")
    for _hop in range(4):
        response = client.get(url)
        if response.status_code == 200:
            return OK
        if response.status_code == 403:
            return FORBIDDEN
        assert response.status_code == 302, (url, response.status_code)
        url = response["Location"]
        path = urlsplit(url).path
        if path == login:
            return LOGIN
        if path == mfa:
            return MFA
    raise AssertionError(f"too many redirects from {url}")


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("who", list(USERS))
def test_role_matrix(client, page, who):
    call = CallFactory()
    form = FormVersion.objects.create(call=call, number=1)
    spec = USERS[who]
    if spec is not None:
        role, totp = spec
        user = UserFactory(role=role)
        if totp:
            enable_totp(user)
        client.force_login(user)
    assert outcome(client, page.format(slug=call.slug, form=form.pk)) == PAGES[page][who]


# An applicant's draft, open for editing: the task list (the application's home) and each section
# page (issue 12, item 1), the preview. The applicant of the matrix is a member of its organisation;
# every other role is refused as on the applicant's other pages (can_edit_draft and the selectors:
# another organisation's member gets 404, tested in tests/applications/test_sections.py).
# Two cases, one matrix: "fixed" is a call without a form of its own (the fixed sections);
# "schema" is a call with its own form (issue 16), whose sections are on the task list too.
DRAFT_PAGES = {
    "fixed": [
        "/applications/{pk}/",
        "/applications/{pk}/section/organisation/",
        "/applications/{pk}/section/content/",
        "/applications/{pk}/section/budget/",
        "/applications/{pk}/section/attachments/",
        "/applications/{pk}/preview/",
    ],
    "schema": ["/applications/{pk}/section/form-basic/", "/applications/{pk}/section/form-activity/"],
}


@pytest.mark.parametrize(("case", "page"), [(case, page) for case, pages in DRAFT_PAGES.items() for page in pages])
@pytest.mark.parametrize("who", list(USERS))
def test_role_matrix_of_a_draft_and_its_sections(client, case, page, who):
    now = timezone.now()
    call = CallFactory(opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=9))
    if case == "schema":
        build_version(call)
    draft = ApplicationFactory(call=call)
    spec = USERS[who]
    if spec is not None:
        role, totp = spec
        user = UserFactory(role=role)
        if totp:
            enable_totp(user)
        if role == Role.APPLICANT:
            Membership.objects.create(organisation=draft.organisation, user=user, role=MemberRole.EDITOR)
        client.force_login(user)
    url = page.format(pk=draft.pk)
    assert outcome(client, url) == APPLICANT_PAGE[who]
    if who == "applicant":
        assert client.get(url).status_code == 200  # the page itself, not a redirect to another


def test_every_staff_and_review_view_declares_its_roles():
    """A guard against a new staff or review page without a role check."""
    from django.urls import get_resolver

    unguarded = []
    for pattern in get_resolver().url_patterns:
        for sub in getattr(pattern, "url_patterns", []):
            namespace = getattr(pattern, "namespace", None)
            view = getattr(sub, "callback", None)
            name = f"{namespace}:{getattr(sub, 'name', '')}"
            route = str(sub.pattern)
            is_protected_area = namespace in ("reviews", "review_staff") or (
                namespace in ("grants", "calls") and route.startswith("staff/")
            )
            if view is not None and is_protected_area and not hasattr(view, "allowed_roles"):
                unguarded.append(name)
    assert unguarded == []


def test_unpublished_call_is_not_found(client):
    call = CallFactory(published=False)
    assert client.get(f"/calls/{call.slug}/").status_code == 404
