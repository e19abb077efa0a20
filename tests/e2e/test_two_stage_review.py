"""A two-stage call in the browser, in Japanese: 書類審査 → ヒアリング → the final ranking.

The document review is scored through the services; in the browser staff lock it, shortlist the
top two, schedule the first one's interview slot, assign an interview reviewer to both and open the
interview; the reviewer scores one application with the interview rubric; the decisions page then
orders by the weighted final score (書類 30 % + ヒアリング 70 %) and says so in its header. The
new screens are found by their ids and test ids, so the walk holds before and after their
Japanese strings reach the catalogue.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from applications.models import ApplicationStatus
from calls.models import FinalRanking
from grants.demo.loader import seed_demo
from kodoku_portal.models import OutboxMessage
from reviews import selectors, services, stages
from reviews.models import Assignment, ReviewPhase, ReviewStage, Shortlisting
from tests.e2e.axe import assert_accessible
from tests.e2e.test_review_flow import STAFF, log_in, make_reviewer, status_message
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, ThemeFactory

pytestmark = pytest.mark.django_db(transaction=True)

SLUG = "two-stage-e2e"
INTERVIEW_CRITERIA = [name for name, _en, _description in services.INTERVIEW_RUBRIC]


def score_through_services(assignment: Assignment, value: int) -> None:
    services.assignment_declare(assignment=assignment, has_conflict=False)
    criteria = selectors.criteria_of(assignment.application.call, assignment.stage)
    services.review_save(
        assignment=assignment,
        scores={c.pk: value for c in criteria},
        comment_to_staff="",
        comment_to_applicant="",
        submit=True,
    )


def two_stage_call_scored_on_paper(staff):
    """A, B, C scored 5, 4, 2 on every document criterion (100, 80, 40); the review still open."""
    call = CallFactory(
        slug=SLUG,
        title="二段階審査テスト公募",
        receipt_prefix="TWO",
        two_stage_review=True,
        final_ranking=FinalRanking.WEIGHTED,
        document_weight_percent=30,
    )
    theme = ThemeFactory(call=call, number=1)
    applications = [
        ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(name=name, email=f"org{i}@npo.example.jp"),
            theme=theme,
            title=title,
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"TWO-{i:04d}",
            submitted_at=timezone.now() - dt.timedelta(days=30),
        )
        for i, (name, title) in enumerate(
            [("みなとの縁側", "縁側カフェ"), ("長屋の会", "夕ごはん食堂"), ("北のひだまり", "ひだまりサロン")], start=1
        )
    ]
    services.review_round_for(call=call)
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    paper = make_reviewer("paper@example.jp", "書類 審子")
    services.assignments_bulk(applications=applications, reviewers=[paper], due_at=None, assigned_by=staff)
    for application, value in zip(applications, (5, 4, 2), strict=True):
        score_through_services(Assignment.objects.get(application=application), value)
    return call, applications


def test_a_two_stage_call_goes_from_paper_to_interview_to_the_final_ranking(page: Page, live_server, new_page):
    seed_demo()
    base = live_server.url
    staff = get_user_model().objects.get(email=STAFF)
    _call, (a, b, c) = two_stage_call_scored_on_paper(staff)
    interviewer = make_reviewer("interview@example.jp", "面接 花子")

    # 1. Staff lock the document review (書類審査).
    log_in(page, base, STAFF, f"/staff/calls/{SLUG}/review/")
    page.get_by_role("button", name="「確定（ロック）」に移行する").click()
    expect(status_message(page, "審査の段階を変更しました。")).to_be_visible()
    expect(page.get_by_test_id("phase")).to_have_text("確定（ロック）")
    assert_accessible(page)

    # 2. The interview page: the document ranking, shortlist the top two.
    page.locator(f"a[href='/staff/calls/{SLUG}/review/interview/']").click()
    rows = page.get_by_test_id("shortlist-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(a.receipt_number)
    expect(rows.nth(0)).to_contain_text("100.0")
    assert_accessible(page)
    page.locator("#id_top-n").fill("2")
    page.locator("form[action$='/interview/shortlist/top/'] button").click()
    expect(page.get_by_test_id("interview-entry")).to_have_count(2)
    assert set(Shortlisting.objects.values_list("application_id", flat=True)) == {a.pk, b.pk}

    # 3. A's slot: the organisation is told by mail (once), the page shows the Japanese date.
    page.locator(f"#id_s{a.pk}-starts_at").fill("2025-05-30T14:00")
    page.locator(f"#id_s{a.pk}-duration_minutes").fill("30")
    page.locator(f"#id_s{a.pk}-place").fill("中央合同庁舎8号館")
    page.locator(f"form[action$='/interview/slots/{a.pk}/'] button").click()
    expect(page.get_by_test_id("slot-summary")).to_contain_text("2025年5月30日（金）14:00")
    expect(page.get_by_test_id("slot-summary")).to_contain_text("中央合同庁舎8号館")
    assert_accessible(page)
    assert OutboxMessage.objects.filter(kind=stages.INTERVIEW_SLOT_MAIL, slot="v1").count() == 1
    assert [m.to for m in mail.outbox if "中央合同庁舎8号館" in m.body] == [["org1@npo.example.jp"]]

    # 4. One interview reviewer on each shortlisted application; the interview opens.
    for application in (a, b):
        page.locator(f"#rv-{application.pk}").select_option(str(interviewer.pk))
        form = page.locator(
            f"form[action$='/interview/assignments/manual/']:has(input[name=application][value='{application.pk}'])"
        )
        form.locator("button").click()
        expect(page.get_by_role("status").first).to_be_visible()
    assert Assignment.objects.filter(stage=ReviewStage.INTERVIEW, reviewer=interviewer).count() == 2
    page.goto(f"{base}/staff/calls/{SLUG}/review/interview/settings/")
    page.get_by_role("button", name="「審査中」に移行する").click()
    expect(status_message(page, "審査の段階を変更しました。")).to_be_visible()
    expect(page.get_by_test_id("phase")).to_have_text("審査中")
    assert_accessible(page)

    # 5. The reviewer scores B with the interview rubric (5 everywhere: 100); A gets 2 (40).
    reviewer = new_page()
    log_in(reviewer, base, interviewer.email, "/reviews/", password=FACTORY_PASSWORD)
    expect(reviewer.get_by_test_id("interview-badge")).to_have_count(2)
    assert_accessible(reviewer)
    reviewer.get_by_role("link", name=f"申告する {b.title}").click()
    question = reviewer.get_by_role("group", name=re.compile("この団体または事業との間に利害関係がありますか。"))
    question.get_by_role("radio", name="いいえ、利害関係はありません").check()
    reviewer.get_by_role("button", name="申告する").click()
    expect(reviewer.get_by_test_id("stage")).to_be_visible()
    assert_accessible(reviewer)
    scores = reviewer.get_by_role("form", name="あなたの採点")
    for criterion in INTERVIEW_CRITERIA:
        scores.get_by_role("combobox", name=criterion, exact=True).select_option("5")
    scores.get_by_role("button", name="審査結果を提出する").click()
    expect(status_message(reviewer, "審査結果を提出しました。")).to_be_visible()
    assert_accessible(reviewer)
    score_through_services(Assignment.objects.get(application=a, stage=ReviewStage.INTERVIEW), 2)

    # 6. The decisions page orders by the weighted final score and says so in its header:
    #    B 0.3×80 + 0.7×100 = 94.0, A 0.3×100 + 0.7×40 = 58.0; C (not shortlisted) follows.
    page.goto(f"{base}/staff/calls/{SLUG}/decisions/")
    expect(page.get_by_test_id("final-ranking-basis")).to_contain_text("30")
    expect(page.get_by_test_id("final-ranking-basis")).to_contain_text("70")
    decision_rows = page.get_by_test_id("decision-row")
    expect(decision_rows).to_have_count(3)
    assert_accessible(page)
    expected = [("1", b.receipt_number, "94.0"), ("2", a.receipt_number, "58.0"), ("—", c.receipt_number, "40.0")]
    for row, (position, receipt, score) in zip(decision_rows.all(), expected, strict=True):
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(position)
        expect(cells.nth(1)).to_contain_text(receipt)
        expect(cells.nth(2)).to_contain_text(score)
