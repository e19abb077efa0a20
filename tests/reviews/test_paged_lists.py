"""Review lists paged by kodoku_portal/paging.py and the assignment page's search (issue 14)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from reviews import services, stages
from reviews.models import Assignment, ConflictDeclaration, ReviewPhase, ReviewStage, Shortlisting
from tests.factories import UserFactory, enable_totp

from .conftest import make_reviewer, submitted

pytestmark = pytest.mark.django_db


def queries(client, url) -> int:
    client.get(url)  # the first request fills per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def assign(applications, reviewer, staff):
    services.assignments_bulk(applications=applications, reviewers=[reviewer], due_at=None, assigned_by=staff)


# --- the reviewer's list --------------------------------------------------------------------------


def test_the_reviewers_list_is_paged_and_does_not_grow_in_queries(client, reviewing, call, staff):
    reviewer = make_reviewer()
    assign(submitted(call, 3), reviewer, staff)
    client.force_login(reviewer)
    small = queries(client, "/reviews/")
    assign(submitted(call, 60, start=4), reviewer, staff)
    assert queries(client, "/reviews/") == small
    page = client.get("/reviews/").content.decode()
    assert page.count("/declare/") == 50 and 'aria-current="page"' in page
    second = client.get("/reviews/?sort=-due&page=2").content.decode()
    assert second.count("/declare/") == 13 and 'href="?sort=-due"' in second


# --- staff review pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["integrity", "calibration", "assignments"])
def test_staff_review_lists_do_not_grow_in_queries(client, reviewing, call, staff, reviewers, page):
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/review/{page}/"
    assign(submitted(call, 3), reviewers[0], staff)
    small = queries(client, url)
    assign(submitted(call, 60, start=4), reviewers[0], staff)
    assert queries(client, url) == small


def test_the_assignment_page_sorts_and_pages(client, reviewing, call, staff):
    submitted(call, 55)
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/review/assignments/"
    second = client.get(url + "?sort=-receipt&page=2").content.decode()
    numbers = re.findall(rf">({call.receipt_prefix}-\d{{4}})<", second)
    assert numbers == [f"{call.receipt_prefix}-{i:04d}" for i in range(5, 0, -1)]
    assert "<option" not in second.split('id="conflict-organisation"')[1].split("</div>")[0]


# --- search -----------------------------------------------------------------------------------------------


def search(client, call, kind, q, page=1):
    return client.get(f"/staff/calls/{call.slug}/review/assignments/search/{kind}/", {"q": q, "page": page})


def test_the_search_finds_submitted_applications_twenty_at_a_time(client, call, staff):
    applications = submitted(call, 45)
    applications[7].organisation.name = "特定非営利活動法人 みなとの居場所"
    applications[7].organisation.save()
    client.force_login(staff)
    first = search(client, call, "applications", "").json()
    assert len(first["results"]) == 20 and first["total"] == 45 and first["has_next"]
    assert search(client, call, "applications", "", page=3).json()["results"][-1]["value"].endswith("-0045")
    found = search(client, call, "applications", "みなと").json()["results"]
    assert [r["value"] for r in found] == [applications[7].receipt_number]
    # Full-width digits find the receipt number as typed.
    assert search(client, call, "applications", "００４５").json()["total"] == 1


def test_the_search_finds_active_reviewers_by_name_or_address(client, call, staff):
    make_reviewer(full_name="審査 花子", email="hanako@example.jp")
    make_reviewer(full_name="審査 太郎", email="taro@example.jp", is_active=False)
    client.force_login(staff)
    assert [r["value"] for r in search(client, call, "reviewers", "花子").json()["results"]] == ["hanako@example.jp"]
    assert search(client, call, "reviewers", "taro").json()["results"] == []


def test_the_search_query_count_does_not_grow(client, call, staff):
    client.force_login(staff)
    submitted(call, 3)
    url = f"/staff/calls/{call.slug}/review/assignments/search/applications/?q=0"
    small = queries(client, url)
    submitted(call, 40, start=4)
    assert queries(client, url) == small


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_the_search_is_for_staff_only(client, call, role):
    user = UserFactory(role=role)
    if role == Role.REVIEWER:
        enable_totp(user)
    client.force_login(user)
    assert search(client, call, "applications", "").status_code == 403
    assert search(client, call, "reviewers", "").status_code == 403


def test_an_unknown_kind_of_search_is_not_found(client, call, staff):
    client.force_login(staff)
    assert search(client, call, "organisations", "").status_code == 404


# --- assigning by what the search fills in --------------------------------------------------------------


def test_staff_assign_by_receipt_numbers_and_addresses(client, reviewing, call, staff):
    applications = submitted(call, 3)
    a, b = make_reviewer(email="a@example.jp"), make_reviewer(email="b@example.jp")
    client.force_login(staff)
    numbers = f"{applications[0].receipt_number}、 {applications[2].receipt_number.replace('-', '－')}"
    client.post(
        f"/staff/calls/{call.slug}/review/assignments/manual/",
        {"manual-applications": numbers, "manual-reviewers": "A@example.jp, b@example.jp,"},
    )
    pairs = set(Assignment.objects.values_list("application_id", "reviewer_id"))
    assert pairs == {(applications[i].pk, r.pk) for i in (0, 2) for r in (a, b)}


def test_an_unknown_receipt_number_is_named_and_nothing_is_assigned(client, reviewing, call, staff):
    applications = submitted(call, 1)
    make_reviewer(email="a@example.jp")
    client.force_login(staff)
    response = client.post(
        f"/staff/calls/{call.slug}/review/assignments/manual/",
        {"manual-applications": f"{applications[0].receipt_number}, X-9999", "manual-reviewers": "a@example.jp"},
        follow=True,
    )
    assert "X-9999" in response.content.decode() and not Assignment.objects.exists()


def test_a_conflict_is_recorded_by_the_receipt_number_of_the_application(client, reviewing, call, staff):
    application = submitted(call, 1)[0]
    reviewer = make_reviewer()
    client.force_login(staff)
    client.post(
        f"/staff/calls/{call.slug}/review/conflicts/",
        {"reviewer": reviewer.pk, "organisation": application.receipt_number, "reason": "元職員"},
    )
    assert ConflictDeclaration.objects.filter(reviewer=reviewer, organisation=application.organisation).exists()


# --- the interview shortlist, paged ---------------------------------------------------------------------


def test_ticks_on_one_page_of_the_shortlist_leave_the_other_pages_alone(client, call, staff):
    call.two_stage_review = True
    call.save()
    for stage in (ReviewStage.DOCUMENT, ReviewStage.INTERVIEW):
        services.review_round_for(call=call, stage=stage)
    applications = submitted(call, 55)
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)
    stages.shortlist_set(call=call, application_ids=[applications[0].pk, applications[54].pk], by=staff)
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/review/interview/").content.decode()
    shown = [int(pk) for pk in re.findall(r'name="shown" value="(\d+)"', page)]
    assert len(shown) == 50
    on_page = applications[0].pk if applications[0].pk in shown else applications[54].pk
    elsewhere = applications[54].pk if on_page == applications[0].pk else applications[0].pk
    ticked = next(pk for pk in shown if pk != on_page)
    client.post(f"/staff/calls/{call.slug}/review/interview/shortlist/", {"shown": shown, "application": [ticked]})
    assert set(Shortlisting.objects.values_list("application_id", flat=True)) == {ticked, elsewhere}


def test_a_conflict_names_an_organisation_of_this_call_only(reviewing, call):
    """A bare number picked on the conflict form is an organisation's id only among those that
    applied to this call (a typed "0001" never names another call's organisation)."""
    from django.http import Http404

    from reviews.selectors import organisation_by_pick
    from tests.factories import ApplicationFactory

    mine = submitted(call, 1)[0].organisation
    elsewhere = ApplicationFactory().organisation
    assert organisation_by_pick(call, str(mine.pk)) == mine
    assert organisation_by_pick(call, "".join(chr(ord(c) + 0xFEE0) for c in str(mine.pk))) == mine  # full-width
    with pytest.raises(Http404):
        organisation_by_pick(call, str(elsewhere.pk))
