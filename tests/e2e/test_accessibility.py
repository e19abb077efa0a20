"""axe-core on every page of every role's journey (issue 12, item 11), in Japanese and in English,
at 1280 px and at 390 px: no serious or critical violation anywhere.

The data is the demo's (`seed_demo`: the practice call in review, the practice awards at every step
after 採択, the past round r6-ninaite), plus a few steps taken here through the services: one
assignment of the first demo reviewer declared free of conflict (its score sheet), one scored and
submitted (the read-only sheet), an affiliation, the practice awards' adopted list published.

One test per role. The role logs in once (its second factor too, whose page is checked on the way);
a browser context per width shares that session; the language is the portal's cookie
(``django_language``, what the header's language switch sets), and each page is checked to be in the
language asked for. Every page of the list is visited in every combination and every violation is
collected, so one run names them all: the failure lists (width, language, page) → rule → nodes.

The applicant's draft form (its sections, autosave and keyboard walk) is checked by its own tests;
the Django admin likewise.
"""

import dataclasses
import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from grants.demo.data import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.helpers import totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
LANGUAGES = ("ja", "en")
TWO_STAGE = "two-stage-e2e"  # tests/e2e/test_two_stage_review.py's call


@dataclasses.dataclass(frozen=True)
class Visit:
    path: str
    status: int = 200


@pytest.fixture
def demo(live_server):
    from grants.demo.loader import seed_demo

    seed_demo()
    return live_server.url


# --- the data of each journey ---------------------------------------------------------------------


def anonymous_journey() -> list[Visit]:
    from calls.models import Call
    from grants.models import Notice

    slugs = list(Call.objects.filter(published=True).order_by("pk").values_list("slug", flat=True))
    notice = Notice.objects.exclude(verification_code="").exclude(document_number="").order_by("pk").first()
    verify_answer = (
        f"/verify/?no={notice.document_number}&code={notice.verification_code}" if notice else "/verify/?no=1&code=0"
    )
    return [
        Visit("/"),
        Visit("/calls/"),
        *(Visit(f"/calls/{slug}/") for slug in slugs),
        *(
            Visit(f"/calls/{slug}/adopted/")
            for slug in Call.objects.filter(adoptions_published_at__isnull=False).values_list("slug", flat=True)
        ),
        Visit("/accounts/login/"),
        Visit("/accounts/signup/"),
        Visit("/accounts/password/reset/"),
        Visit("/accounts/password/reset/done/"),
        Visit("/verify/"),
        Visit(verify_answer, 200 if notice else 400),
        Visit("/no-such-page/", 404),
        Visit("/calls/no-such-call/", 404),
    ]


def applicant_journey() -> list[Visit]:
    """colleague@example.jp: a member of the practice organisations, whose awards stand at every
    step after 採択 (and, made a member here, of the demo organisation, adopted, its 交付申請 to file)."""
    from applications.models import Application, ApplicationStatus, Organisation
    from grants.models import Award, AwardStatus, ReportKind

    user = get_user_model().objects.get(email="colleague@example.jp")
    mine = Application.objects.filter(organisation__memberships__user=user).distinct()
    organisation = Organisation.objects.filter(memberships__user=user).order_by("pk").first()
    drafts = mine.filter(status=ApplicationStatus.DRAFT).order_by("pk")
    submitted = mine.filter(status=ApplicationStatus.SUBMITTED).order_by("pk").first()
    awards = Award.objects.filter(application__in=mine).order_by("pk")
    visits = [
        Visit("/applications/"),
        Visit(f"/organisations/{organisation.pk}/"),
        Visit(f"/applications/{drafts.first().pk}/preview/"),
        Visit(f"/applications/{submitted.pk}/"),
    ]
    # The award page at every step; the read-only application page of an adopted one and of one
    # on the reserve list (the same template at every other step).
    visits += [Visit(f"/applications/{award.application_id}/award/") for award in awards]
    reserve = mine.filter(status=ApplicationStatus.RESERVE).order_by("pk").first()
    visits += [Visit(f"/applications/{awards.first().application_id}/"), Visit(f"/applications/{reserve.pk}/")]
    adopted = awards.filter(status=AwardStatus.ADOPTED).first()
    granted = awards.filter(status=AwardStatus.GRANTED).first()
    visits += [
        Visit(f"/applications/{adopted.application_id}/award/grant-application/"),
        Visit(f"/applications/{granted.application_id}/award/changes/new/"),
        Visit(f"/applications/{granted.application_id}/award/changes/discontinue/"),
        Visit(f"/applications/{granted.application_id}/award/reports/{ReportKind.FINAL}/new/"),
        Visit("/accounts/email/"),
        Visit("/accounts/password/change/"),
        Visit("/accounts/2fa/"),
        Visit("/accounts/reminders/"),
        Visit("/staff/", 403),
    ]
    return visits


def reviewer_journey() -> list[Visit]:
    from reviews.models import Assignment

    # As prepare_reviewer() left them: declared, scored and submitted, waiting.
    declared, submitted, waiting = Assignment.objects.filter(reviewer__email="reviewer@example.jp").order_by("pk")[:3]
    return [
        Visit("/reviews/"),
        Visit(f"/reviews/assignments/{waiting.pk}/declare/"),
        Visit(f"/reviews/assignments/{declared.pk}/"),
        Visit(f"/reviews/assignments/{submitted.pk}/"),
        Visit("/reviews/affiliations/"),
    ]


def staff_journey() -> list[Visit]:
    from applications.models import Application
    from grants.models import Award

    review = "/staff/calls/practice/review"
    reviewed = Application.objects.filter(call__slug="practice").order_by("pk").first()
    visits = [
        Visit("/staff/"),
        Visit("/staff/calls/practice/applications/"),
        Visit(f"/staff/applications/{reviewed.pk}/"),
        Visit(f"{review}/"),
        Visit(f"{review}/assignments/"),
        Visit(f"{review}/ranking/"),
        Visit(f"{review}/calibration/"),
        Visit(f"{review}/integrity/"),
        Visit(f"/staff/calls/{TWO_STAGE}/review/"),
        Visit(f"/staff/calls/{TWO_STAGE}/review/interview/"),
        Visit(f"/staff/calls/{TWO_STAGE}/review/interview/settings/"),
        Visit(f"/staff/calls/{TWO_STAGE}/decisions/"),
        Visit("/staff/calls/practice/decisions/"),
        Visit("/staff/calls/practice/notices/"),
        Visit("/staff/calls/practice/audit/"),
        Visit("/staff/calls/practice-awards/applications/"),
        Visit("/staff/calls/practice-awards/decisions/"),
        Visit("/staff/calls/practice-awards/notices/"),
        Visit("/staff/calls/practice-awards/reserve/"),
        Visit("/staff/calls/practice-awards/audit/"),
        Visit("/staff/awards/"),
        *(Visit(f"/staff/awards/{pk}/") for pk in Award.objects.order_by("pk").values_list("pk", flat=True)),
        *(
            Visit(f"/staff/applications/{pk}/")
            for pk in Award.objects.order_by("pk").values_list("application_id", flat=True)[:2]
        ),
        Visit("/staff/payments/"),
        Visit("/staff/outbox/"),
        Visit("/staff/reminders/"),
    ]
    return visits


def prepare_reviewer() -> None:
    """The first demo reviewer: one assignment declared free of conflict, one scored and submitted,
    the rest waiting for a declaration; an affiliation on record."""
    from reviews import services as review_services
    from reviews.models import Assignment, ReviewerAffiliation

    assignments = list(Assignment.objects.filter(reviewer__email="reviewer@example.jp").order_by("pk"))
    assert len(assignments) >= 3
    first, second = assignments[:2]
    review_services.assignment_declare(assignment=first, has_conflict=False)
    review_services.assignment_declare(assignment=second, has_conflict=False)
    criteria = list(second.application.call.criteria.order_by("order"))
    review_services.review_save(
        assignment=Assignment.objects.get(pk=second.pk),
        scores={c.pk: c.max_score for c in criteria},
        comment_to_staff="よくできた計画です。",
        comment_to_applicant="",
        submit=True,
    )
    ReviewerAffiliation.objects.create(
        reviewer=first.reviewer, organisation_name="特定非営利活動法人 審査員の所属", year_from=2020
    )


def prepare_two_stage_call() -> None:
    """The two-stage call of the browser test of 二段階審査: scored on paper, locked, the top two
    shortlisted for the interview (ヒアリング)."""
    from calls.models import Call
    from reviews import services as review_services
    from reviews import stages
    from reviews.models import ReviewPhase, ReviewStage
    from tests.e2e.test_two_stage_review import two_stage_call_scored_on_paper

    staff = get_user_model().objects.get(email="staff@example.jp")
    call, _applications = two_stage_call_scored_on_paper(staff)
    review_services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff, stage=ReviewStage.DOCUMENT)
    stages.shortlist_top(call=Call.objects.get(pk=call.pk), n=2, by=staff)


def prepare_applicant() -> None:
    from applications.models import MemberRole, Membership, Organisation
    from grants.demo.data import DEMO_ORGANISATION

    Membership.objects.get_or_create(
        organisation=Organisation.objects.get(name=DEMO_ORGANISATION["name"]),
        user=get_user_model().objects.get(email="colleague@example.jp"),
        defaults={"role": MemberRole.EDITOR},
    )


def prepare_public() -> None:
    from calls.models import Call
    from grants.services import adoptions_publish

    staff = get_user_model().objects.get(email="staff@example.jp")
    adoptions_publish(call=Call.objects.get(slug="practice-awards"), publish=True, by=staff)


# --- the walk --------------------------------------------------------------------------------------


def log_in(page: Page, base: str, email: str, failures: list[str]) -> None:
    """allauth's login page, then (for reviewers and staff) its second-factor page, checked by axe."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    if get_user_model().objects.get(email=email).requires_mfa:
        expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
        check(page, "[login] /accounts/2fa/authenticate/", failures)
        secret = totp_secret(email)
        for _attempt in range(2):  # the 30-second window may turn between the code and the post
            code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
            page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(code)
            with page.expect_navigation():
                page.get_by_role("main").get_by_role("button", name="ログイン").click()
            if not page.url.endswith("/accounts/2fa/authenticate/"):
                break
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def check(page: Page, where: str, failures: list[str]) -> None:
    try:
        assert_accessible(page)
    except AssertionError as error:
        failures.append(f"[{where}] {error}")


def walk(browser: Browser, context_args: dict, base: str, visits: list[Visit], *, email: str | None) -> None:
    failures: list[str] = []
    state = None
    if email:
        context = browser.new_context(**context_args, viewport=WIDTHS[1280])
        try:
            log_in(context.new_page(), base, email, failures)
            state = context.storage_state()
        finally:
            context.close()
    for width, viewport in WIDTHS.items():
        context = browser.new_context(**context_args, viewport=viewport, storage_state=state)
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            for language in LANGUAGES:
                context.add_cookies([{"name": "django_language", "value": language, "url": base}])
                for visit in visits:
                    where = f"{width}px {language} {visit.path}"
                    response = page.goto(base + visit.path)
                    assert response is not None and response.status == visit.status, (where, response.status)
                    assert page.evaluate("document.documentElement.lang") == language, where
                    check(page, where, failures)
        finally:
            context.close()
    assert not failures, f"{len(failures)} page(s) with serious or critical violations:\n" + "\n".join(failures)


def test_the_public_pages(browser: Browser, browser_context_args, demo):
    prepare_public()
    walk(browser, browser_context_args, demo, anonymous_journey(), email=None)


def test_the_applicants_pages(browser: Browser, browser_context_args, demo):
    prepare_applicant()
    walk(browser, browser_context_args, demo, applicant_journey(), email="colleague@example.jp")


def test_the_reviewers_pages(browser: Browser, browser_context_args, demo):
    prepare_reviewer()
    walk(browser, browser_context_args, demo, reviewer_journey(), email="reviewer@example.jp")


def test_the_staff_pages(browser: Browser, browser_context_args, demo):
    prepare_reviewer()
    prepare_two_stage_call()
    walk(browser, browser_context_args, demo, staff_journey(), email="staff@example.jp")
