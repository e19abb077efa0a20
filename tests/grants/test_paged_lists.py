"""Staff lists of the grants floor, paged by kodoku_portal/paging.py (issue 14): 50 rows a page,
the query count the same at two sizes, and page, sort and filters kept together."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services
from grants.models import ReminderKind
from kodoku_portal.audit import audit
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


@pytest.fixture
def call(db):
    return CallFactory(cap_amount=2_000_000, budget_total=None, receipt_prefix="PL")


def submitted(call, start, n, **kwargs):
    return [
        ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(),
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"PL-{i:04d}",
            requested_amount=1_000_000 + i * 1_000,
            **kwargs,
        )
        for i in range(start, start + n)
    ]


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def rows(client, url, testid) -> int:
    return client.get(url).content.decode().count(f'data-testid="{testid}"')


def receipts(html: str) -> list[str]:
    return re.findall(r'data-testid="staff-application-link">(PL-\d{4})<', html)


# --- a call's applications: sort, filter and page keep each other ------------------------------------


def test_the_call_applications_keep_sort_and_filter_across_pages(client, staff, call):
    submitted(call, 1, 60)
    submitted(call, 61, 5)
    for application in call.applications.filter(receipt_number__gte="PL-0061"):
        application.status = ApplicationStatus.WITHDRAWN
        application.save(update_fields=["status"])
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/applications/"
    first = client.get(url + "?status=submitted&sort=-amount").content.decode()
    assert receipts(first)[:2] == ["PL-0060", "PL-0059"] and len(receipts(first)) == 50
    assert 'href="?status=submitted&amp;sort=-amount&amp;page=2"' in first
    assert 'name="sort" value="-amount"' in first  # the filter form keeps the sort
    second = client.get(url + "?status=submitted&sort=-amount&page=2").content.decode()
    assert receipts(second) == [f"PL-{i:04d}" for i in range(10, 0, -1)]  # withdrawn ones filtered out
    # A sort link keeps the filter and starts at page 1.
    assert 'href="?status=submitted&amp;sort=receipt"' in second
    withdrawn = client.get(url + "?status=withdrawn&sort=-amount").content.decode()
    assert receipts(withdrawn) == [f"PL-{i:04d}" for i in range(65, 60, -1)]


# --- query counts at two sizes -------------------------------------------------------------------------


def outbox_rows(start, n, **kwargs):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(subject_type="applications.Application", subject_id=i, to_email=f"p{i}@example.jp", **kwargs)
        for i in range(start, start + n)
    )


def test_outbox_and_reminders_do_not_grow_in_queries(client, staff):
    client.force_login(staff)
    outbox_rows(0, 5, kind=ReminderKind.DEADLINE, status=OutboxStatus.FAILED)
    small = queries(client, "/staff/outbox/"), queries(client, "/staff/reminders/")
    outbox_rows(5, 120, kind=ReminderKind.DEADLINE, status=OutboxStatus.FAILED)
    assert (queries(client, "/staff/outbox/"), queries(client, "/staff/reminders/")) == small
    assert rows(client, "/staff/reminders/", "reminder-row") == 50
    assert rows(client, "/staff/reminders/?status=failed&page=3", "reminder-row") == 25


def test_the_audit_page_is_paged_and_does_not_grow_in_queries(client, staff, call):
    client.force_login(staff)
    application = submitted(call, 1, 1)[0]

    def entries(n):
        for _ in range(n):
            audit(actor=staff, action="decision", obj=application, before=None, after={"status": "adopted"})

    entries(3)
    url = f"/staff/calls/{call.slug}/audit/"
    small = queries(client, url)
    entries(70)
    assert queries(client, url) == small
    assert rows(client, url, "audit-row") == 50 and rows(client, url + "?page=2", "audit-row") == 23


def test_decisions_notices_reserve_and_awards_do_not_grow_in_queries(client, staff, call):
    client.force_login(staff)
    urls = [f"/staff/calls/{call.slug}/{page}/" for page in ("decisions", "notices", "reserve")] + [
        "/staff/awards/",
        "/staff/payments/",
    ]

    def decide(applications, outcome):
        for application in applications:
            services.decision_record(application=application, outcome=outcome, award_amount=1_000_000, decided_by=staff)

    decide(submitted(call, 1, 3), ApplicationStatus.RESERVE)
    [queries(client, url) for url in urls]  # the first request fills per-process caches
    small = [queries(client, url) for url in urls]
    decide(submitted(call, 4, 60), ApplicationStatus.RESERVE)
    assert [queries(client, url) for url in urls] == small


# --- the decisions page: light rows ------------------------------------------------------------------


def test_the_decisions_page_shows_fifty_light_rows_a_page(client, staff, call):
    submitted(call, 1, 55)
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/decisions/"
    first = client.get(url).content.decode()
    assert first.count('data-testid="decision-row"') == 50
    assert first.count('data-testid="decision-form"') == 50
    assert "crispy" not in first and 'class="form-select form-select-sm"' in first
    assert 'for="d' in first  # each input has its label
    second = client.get(url + "?page=2").content.decode()
    assert second.count('data-testid="decision-row"') == 5


def test_a_decision_returns_to_the_page_it_was_made_on(client, staff, call):
    applications = submitted(call, 1, 55)
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/decisions/"
    target = applications[-1]
    response = client.post(
        url + "decide/",
        {
            "application": target.pk,
            f"d{target.pk}-application": target.pk,
            f"d{target.pk}-outcome": "adopted",
            f"d{target.pk}-award_amount": "１，０００，０００",
            "next": url + "?page=2",
        },
    )
    assert response.status_code == 302 and response["Location"] == url + "?page=2"
    target.refresh_from_db()
    assert target.status == ApplicationStatus.ADOPTED and target.decision.award_amount == 1_000_000


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "/staff/outbox/", "//evil.example/staff/"])
def test_a_decision_never_returns_elsewhere(client, staff, call, elsewhere):
    target = submitted(call, 1, 1)[0]
    client.force_login(staff)
    response = client.post(
        f"/staff/calls/{call.slug}/decisions/decide/",
        {
            "application": target.pk,
            f"d{target.pk}-application": target.pk,
            f"d{target.pk}-outcome": "not_adopted",
            "next": elsewhere,
        },
    )
    assert response["Location"] == f"/staff/calls/{call.slug}/decisions/"
