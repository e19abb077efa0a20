"""List pages run a number of queries that does not grow with their rows."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from tests.factories import ApplicationFactory, UserFactory, enable_totp

from .conftest import complete_organisation, corporate_number

pytestmark = pytest.mark.django_db


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def add_applications(call, npo_type, member, count, start):
    for index in range(start, start + count):
        organisation = complete_organisation(
            applicant_type=npo_type, corporate_number=corporate_number(f"9{index:011d}")
        )
        Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
        ApplicationFactory(
            call=call,
            organisation=organisation,
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"{call.receipt_prefix}-{index:04d}",
        )


def test_staff_call_applications_page(client, open_call, npo_type, member):
    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    url = f"/staff/calls/{open_call.slug}/applications/"
    add_applications(open_call, npo_type, member, 10, 0)
    small = queries(client, url)
    add_applications(open_call, npo_type, member, 290, 10)
    assert queries(client, url) == small


def test_applicant_dashboard(client, open_call, npo_type, member):
    client.force_login(member)
    add_applications(open_call, npo_type, member, 3, 0)
    small = queries(client, "/applications/")
    add_applications(open_call, npo_type, member, 30, 3)
    assert queries(client, "/applications/") == small


def test_staff_dashboard(client, open_call, npo_type, member):
    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    add_applications(open_call, npo_type, member, 5, 0)
    small = queries(client, "/staff/")
    add_applications(open_call, npo_type, member, 50, 5)
    assert queries(client, "/staff/") == small


def test_the_applicant_dashboard_shows_fifty_applications_a_page(client, open_call, npo_type, member):
    client.force_login(member)
    add_applications(open_call, npo_type, member, 55, 0)
    first = client.get("/applications/").content.decode()
    second = client.get("/applications/?page=2").content.decode()
    assert len(re.findall(r'href="/applications/\d+/"', first)) == 50
    assert len(re.findall(r'href="/applications/\d+/"', second)) == 5
    assert 'href="?page=2"' in first and 'aria-current="page"' in second
    # The organisations are paged on their own (?opage=), and their pager keeps the other page.
    assert 'href="?opage=2"' in first and 'href="?page=2&amp;opage=2"' in second
