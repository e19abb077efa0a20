"""Pages of the integrity checks and the calibration: who may open them, what they show, and the
score the decisions page orders by."""

import re

import pytest
from django.utils import timezone

from accounts.models import Role
from applications.models import MemberRole, Membership
from kodoku_portal.models import AuditEntry
from reviews import ranking, selectors, services
from reviews.models import Assignment, IntegrityFlag, IntegrityFlagStatus, ReviewerAffiliation
from tests.factories import CallFactory, ReviewerAffiliationFactory, UserFactory, enable_totp

from .conftest import make_reviewer, submitted
from .test_review_pages import score_all

pytestmark = pytest.mark.django_db

THIS_YEAR = timezone.localdate().year


@pytest.fixture
def flagged(call, review_round, staff):
    """Two applications by one representative, and a reviewer who belongs to the first applicant."""
    first, second = submitted(call, 2)
    for application in (first, second):
        application.organisation.representative_name = "山田 太郎"
        application.organisation.address = "東京都千代田区永田町１－６－１"
        application.organisation.save()
    second.organisation.address = "東京都 千代田区 永田町1ー6ー1"
    second.organisation.save()
    reviewer = make_reviewer()
    ReviewerAffiliationFactory(reviewer=reviewer, organisation_name=first.organisation.name, year_from=THIS_YEAR - 1)
    services.integrity_refresh(call=call)
    return first, second, reviewer


def login(client, role):
    if role is None:
        return None
    user = make_reviewer() if role == Role.REVIEWER else UserFactory(role=role)
    if role != Role.REVIEWER:
        enable_totp(user)
    client.force_login(user)
    return user


# --- who may open what ------------------------------------------------------------------------------

STAFF_URLS = ["integrity/", "calibration/"]
STAFF_POSTS = ["integrity/recheck/", "integrity/{flag}/dismiss/", "integrity/{flag}/assign/"]


def staff_conflict_reviewer_kinds(client, flagged, kind):
    """A reviewer assigned to, returned from (conflict) or not on an application of the call."""
    first, _second, _reviewer = flagged
    user = make_reviewer()
    staff = UserFactory(role=Role.STAFF)
    if kind != "unassigned":
        assignment = Assignment.objects.create(application=first, reviewer=user, assigned_by=staff)
        if kind == "conflicted":
            services.assignment_declare(assignment=assignment, has_conflict=True, reason="元職員")
    client.force_login(user)


@pytest.mark.parametrize("kind", ["assigned", "conflicted", "unassigned"])
def test_no_reviewer_opens_the_staff_pages(client, call, flagged, kind):
    staff_conflict_reviewer_kinds(client, flagged, kind)
    flag = IntegrityFlag.objects.first()
    for url in STAFF_URLS:
        assert client.get(f"/staff/calls/{call.slug}/review/{url}").status_code == 403
    for url in STAFF_POSTS:
        response = client.post(f"/staff/calls/{call.slug}/review/{url.format(flag=flag.pk)}", {"reason": "x"})
        assert response.status_code == 403
    assert IntegrityFlag.objects.filter(status=IntegrityFlagStatus.OPEN).count() == 2


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), (Role.APPLICANT, 403), (Role.REVIEWER, 403), (Role.STAFF, 200), (Role.ADMINISTRATOR, 200)],
)
def test_the_staff_pages_are_for_staff_and_administrators(client, call, flagged, role, expected):
    login(client, role)
    for url in STAFF_URLS:
        response = client.get(f"/staff/calls/{call.slug}/review/{url}")
        assert response.status_code == expected
        if role is None:
            assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("role", "expected"), [(None, 302), (Role.APPLICANT, 403), (Role.STAFF, 302)])
def test_only_staff_post_a_dismissal(client, call, flagged, role, expected):
    login(client, role)
    flag = IntegrityFlag.objects.first()
    response = client.post(f"/staff/calls/{call.slug}/review/integrity/{flag.pk}/dismiss/", {"reason": ""})
    assert response.status_code == expected
    if role is None:
        assert "/accounts/login/" in response["Location"]
    if role == Role.STAFF:
        assert response["Location"].endswith("/review/integrity/")  # refused (no reason) with a message
    flag.refresh_from_db()
    assert flag.status == IntegrityFlagStatus.OPEN


def test_a_flag_is_not_reached_through_another_call(client, call, flagged, staff):
    other = CallFactory()
    flag = IntegrityFlag.objects.first()
    client.force_login(staff)
    assert (
        client.post(f"/staff/calls/{other.slug}/review/integrity/{flag.pk}/dismiss/", {"reason": "x"}).status_code
        == 404
    )


@pytest.mark.parametrize("role", [None, Role.APPLICANT, Role.STAFF, Role.ADMINISTRATOR])
def test_the_affiliation_page_is_the_reviewer_own(client, role):
    login(client, role)
    response = client.get("/reviews/affiliations/")
    assert response.status_code == (302 if role is None else 403)


def test_a_reviewer_sees_and_changes_only_their_own_affiliations(client):
    mine, theirs = make_reviewer(), make_reviewer()
    ReviewerAffiliationFactory(reviewer=theirs, organisation_name="他人の所属先")
    client.force_login(mine)
    response = client.post(
        "/reviews/affiliations/",
        {"organisation_name": "NPO法人 みらいネット", "corporate_number": "", "year_from": "2021", "year_to": "2024"},
    )
    assert response.status_code == 302
    page = client.get("/reviews/affiliations/").content.decode()
    assert "NPO法人 みらいネット" in page and "他人の所属先" not in page
    other = theirs.affiliations.get()
    assert client.post(f"/reviews/affiliations/{other.pk}/remove/").status_code == 404
    assert ReviewerAffiliation.objects.filter(pk=other.pk).exists()
    own = mine.affiliations.get()
    assert client.post(f"/reviews/affiliations/{own.pk}/remove/").status_code == 302
    assert not mine.affiliations.exists()


def test_the_affiliation_form_normalises_the_corporate_number_and_checks_the_years(client):
    reviewer = make_reviewer()
    client.force_login(reviewer)
    client.post(
        "/reviews/affiliations/",
        {
            "organisation_name": "社会福祉法人 ひかり",
            "corporate_number": "４－０１１０－０１０９－８９９３",
            "year_from": "2022",
            "year_to": "",
        },
    )
    assert list(reviewer.affiliations.values_list("corporate_number", "year_from", "year_to")) == [
        ("4011001098993", 2022, None)
    ]
    response = client.post(
        "/reviews/affiliations/",
        {"organisation_name": "X", "corporate_number": "", "year_from": "2024", "year_to": "2020"},
    )
    assert response.status_code == 200 and reviewer.affiliations.count() == 1


# --- the integrity page ----------------------------------------------------------------------------


def test_the_integrity_page_shows_each_flag_with_why_it_fired(client, call, flagged, staff):
    first, _second, reviewer = flagged
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/review/integrity/").content.decode()
    assert page.count('data-testid="integrity-flag"') == 2
    assert 'data-kind="duplicate"' in page and 'data-kind="conflict"' in page
    # Why: the values as typed on both sides, and the affiliation.
    assert "東京都千代田区永田町１－６－１" in page and "東京都 千代田区 永田町1ー6ー1" in page
    assert first.organisation.name in page and str(reviewer) in page
    assert "<style" not in page and 'style="' not in page.split('id="integrity-open"')[1]


def test_staff_dismiss_a_flag_on_the_page_and_it_is_audited(client, call, flagged, staff):
    client.force_login(staff)
    flag = IntegrityFlag.objects.get(kind="duplicate")
    url = f"/staff/calls/{call.slug}/review/integrity/{flag.pk}/dismiss/"
    response = client.post(url, {"reason": ""}, follow=True)
    assert [m.tags for m in response.context["messages"]] == ["error"]
    client.post(url, {"reason": "同一人物だが別事業で問題なし"})
    flag.refresh_from_db()
    assert flag.status == IntegrityFlagStatus.DISMISSED
    assert AuditEntry.objects.filter(action="integrity_flag_dismissed", actor=staff).count() == 1
    page = client.get(f"/staff/calls/{call.slug}/review/integrity/").content.decode()
    assert "同一人物だが別事業で問題なし" in page and 'data-status="dismissed"' in page


def test_staff_assign_a_flagged_pair_from_the_page_with_a_reason(client, call, flagged, staff):
    first, _second, reviewer = flagged
    client.force_login(staff)
    flag = IntegrityFlag.objects.get(kind="conflict")
    url = f"/staff/calls/{call.slug}/review/integrity/{flag.pk}/assign/"
    client.post(url, {"reason": ""})
    assert not Assignment.objects.exists()
    client.post(url, {"reason": "所属は事務局のみで利害なし", "due_at": ""})
    assert Assignment.objects.filter(application=first, reviewer=reviewer).exists()
    assert AuditEntry.objects.get(action="integrity_flag_overridden").after["reason"] == "所属は事務局のみで利害なし"


def test_the_manual_assignment_form_takes_the_override_reason(client, call, flagged, staff):
    first, _second, reviewer = flagged
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/review/assignments/manual/"
    data = {"manual-applications": [first.pk], "manual-reviewers": [reviewer.pk]}
    response = client.post(url, data, follow=True)
    assert "warning" in [m.tags for m in response.context["messages"]]
    assert not Assignment.objects.exists()
    client.post(url, data | {"manual-override_reason": "確認済み"})
    assert Assignment.objects.filter(application=first, reviewer=reviewer).exists()


def test_flagged_applications_carry_a_marker_on_the_lists(client, call, flagged, staff):
    first, second, _reviewer = flagged
    [third] = submitted(call, 1, start=3)
    client.force_login(staff)
    for url in (f"/staff/calls/{call.slug}/applications/", f"/staff/calls/{call.slug}/review/ranking/"):
        page = client.get(url).content.decode()

        def marker(application, page=page):
            pattern = re.escape(application.receipt_number) + r'(?:</a>)?\s*<a[^>]*data-testid="flag-marker">⚑ \D*(\d+)'
            found = re.search(pattern, page)
            return found and int(found.group(1))

        assert (marker(first), marker(second), marker(third)) == (2, 1, None), url


def test_the_include_for_an_application_page_reads_its_flags(flagged):
    from django.template.loader import render_to_string

    first, second, _reviewer = flagged
    html = render_to_string("reviews/staff/_integrity_flags.html", {"application": second})
    assert html.count('data-testid="integrity-flag"') == 1  # the duplicate only
    assert len(selectors.integrity_flags_for(first)) == 2


# --- calibration -----------------------------------------------------------------------------------


def test_reviewer_calibration_against_a_hand_computed_example():
    # r1: 40, 60 (mean 50, sd 10); r2: 80, 100 (mean 90, sd 10); r3: 70 alone.
    # Panel: 40, 60, 80, 100, 70 → mean 70, population sd √((900+100+100+900+0)/5) = 20.
    lines = ranking.reviewer_calibration([(1, 1, 40.0), (2, 1, 60.0), (1, 2, 80.0), (2, 2, 100.0), (3, 3, 70.0)])
    assert [(x.reviewer_id, x.n_reviews, x.mean, x.spread, x.difference, x.standing, x.verdict) for x in lines] == [
        (1, 2, 50.0, 10.0, -20.0, -1.0, "harsh"),
        (2, 2, 90.0, 10.0, 20.0, 1.0, "lenient"),
        (3, 1, 70.0, 0.0, 0.0, 0.0, "too_few"),
    ]


def test_a_reviewer_who_gives_every_application_the_same_total_is_named_flat():
    lines = ranking.reviewer_calibration([(1, 1, 40.0), (2, 1, 80.0), (1, 2, 60.0), (2, 2, 60.0)])
    assert [x.verdict for x in lines] == ["in_line", "flat"]


@pytest.fixture
def scored(reviewing, staff):
    """r1 gives 40 and 60, r2 80 and 100, r3 60 (the default rubric: five criteria of 0–5, total = 20 × score)."""
    a1, a2, a3 = submitted(reviewing, 3)
    r1, r2, r3 = make_reviewer(full_name="厳しい 委員"), make_reviewer(full_name="甘い 委員"), make_reviewer()
    for application, reviewer, value in [(a1, r1, 2), (a2, r1, 3), (a1, r2, 4), (a2, r2, 5), (a3, r3, 3)]:
        assignment = services.assignment_create(
            application=application, reviewer=reviewer, due_at=None, assigned_by=staff
        )
        services.assignment_declare(assignment=assignment, has_conflict=False)
        score_all(assignment, reviewing, value)
    return reviewing, (r1, r2, r3)


def test_the_calibration_page_shows_each_reviewer_against_the_panel(client, scored, staff):
    call, (r1, r2, r3) = scored
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/review/calibration/").content.decode()
    # Panel: 40, 60, 80, 100, 60 → mean 68, sd √(2080/5) = 20.4.
    panel = re.search(r'data-testid="calibration-panel">([^<]+)<', page).group(1)
    assert "5" in panel and "68.0" in panel and "20.4" in panel
    rows = re.findall(
        r'<tr data-testid="calibration-row" data-verdict="(\w+)">\s*<td[^>]*>([^<]+)</td>'
        r"((?:\s*<td[^>]*>[^<]*</td>){4})",
        page,
    )
    figures = [(verdict, name, re.findall(r">([^<]*)</td>", cells)) for verdict, name, cells in rows]
    assert figures == [
        ("harsh", str(r1), ["2", "50.0", "10.0", "-18.0"]),
        ("too_few", str(r3), ["1", "60.0", "0.0", "-8.0"]),
        ("lenient", str(r2), ["2", "90.0", "10.0", "+22.0"]),
    ]


def test_the_decisions_page_names_and_shows_the_score_it_orders_by(client, scored, staff):
    call, _reviewers = scored
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/decisions/"

    def shown():
        page = client.get(url).content.decode()
        header = re.search(r'data-testid="score-header">([^<]+)<', page).group(1)
        return header, re.findall(r'data-testid="score-used">([^<]+)<', page)

    raw_rows = selectors.ranking_rows(call, selectors.reviewable_applications(call), calibrate=False)
    header, values = shown()
    assert "raw" in header.lower() or "素点" in header
    assert values == [f"{row.score:.1f}" for row in raw_rows]
    services.round_configure(call=call, reviewers_per_application=2, use_calibration=True, default_due_at=None)
    calibrated_rows = selectors.ranking_rows(call, selectors.reviewable_applications(call), calibrate=True)
    calibrated_header, values = shown()
    assert calibrated_header != header
    assert values == [f"{row.calibrated:.1f}" for row in calibrated_rows]
    assert [f"{row.calibrated:.1f}" for row in calibrated_rows] != [f"{row.score:.1f}" for row in calibrated_rows]


def test_a_member_reviewer_is_never_offered_the_application(call, reviewing, staff):
    [application] = submitted(call, 1)
    reviewer = make_reviewer()
    Membership.objects.create(organisation=application.organisation, user=reviewer, role=MemberRole.OWNER)
    assert (application.pk, reviewer.pk) in services.conflicted_pairs(call=call)


def test_the_integrity_page_does_not_grow_in_queries(client, call, review_round, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def pages_queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/staff/calls/{call.slug}/review/integrity/").status_code == 200
        return len(captured)

    def add(start, n):
        for application in submitted(call, n, start=start):
            application.organisation.representative_name = f"代表 {application.pk}"
            application.organisation.phone = f"03-0000-{application.pk:04d}"
            application.organisation.save()
            twin = submitted(call, 1, start=start + 1000)[0]
            twin.organisation.representative_name = f"代表{application.pk}"
            twin.organisation.phone = f"０３－００００－{application.pk:04d}"
            twin.organisation.save()
            start += 1
            ReviewerAffiliationFactory(reviewer=make_reviewer(), organisation_name=application.organisation.name)

    client.force_login(staff)
    add(1, 2)
    pages_queries()  # the first visit makes the flags
    small = pages_queries()
    add(10, 8)
    pages_queries()
    assert IntegrityFlag.objects.count() == 20
    assert pages_queries() == small
