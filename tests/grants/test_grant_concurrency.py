"""Two staff acting on the same step at the same moment (PostgreSQL row locks): one result, the
second told what the first did. Each staff member acts in a thread of its own with its own
database connection, released together by a barrier."""

import threading

import pytest
from django.db import connection, connections

from accounts.models import Role
from grants import grant_steps
from grants.models import AwardStatus, GrantApplicationStatus, Letter
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import award_at
from tests.grants.test_grant_filing import file

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (.ci/run sets it)"),
]


def race(*actions) -> list:
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            results[index] = action()
        except Refused as refused:
            results[index] = refused
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, action)) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def two_staff(case):
    other = UserFactory(role=Role.STAFF)
    enable_totp(other)
    return case.staff, other


def test_two_staff_accepting_at_once_give_one_acceptance():
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case)
    first, second = two_staff(case)
    results = race(
        lambda: grant_steps.grant_application_accept(filing=filing, by=first),
        lambda: grant_steps.grant_application_return(filing=filing, reason="再確認", by=second),
    )
    assert sum(isinstance(result, Refused) for result in results) == 1
    filing.refresh_from_db()
    case.award.refresh_from_db()
    assert filing.status in (GrantApplicationStatus.ACCEPTED, GrantApplicationStatus.RETURNED)
    expected = AwardStatus.ACCEPTED if filing.status == GrantApplicationStatus.ACCEPTED else AwardStatus.ADOPTED
    assert case.award.status == expected
    assert AuditEntry.objects.filter(object_type="grants.GrantApplication").count() == 1


def test_two_staff_deciding_at_once_give_one_grant_and_one_letter():
    case = award_at(AwardStatus.ADOPTED, grant_application_step=False)
    first, second = two_staff(case)
    results = race(
        lambda: grant_steps.grant_decide(
            award=case.award, amount=1_500_000, conditions="", progress_report_due=None, by=first
        ),
        lambda: grant_steps.grant_decide(
            award=case.award, amount=1_000_000, conditions="", progress_report_due=None, by=second
        ),
    )
    refused = [result for result in results if isinstance(result, Refused)]
    assert len(refused) == 1 and refused[0].code == "done"
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.GRANTED
    assert Letter.objects.count() == 1
