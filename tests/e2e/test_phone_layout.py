"""Issue 12, item 4, in Chromium at 390 × 844 (a phone): no page of any role scrolls sideways,
and no table hides a sideways scroll box either — wide tables are stacks of cards there, each cell
saying what it is (``table-stack`` with ``data-label``). Long words (URLs, e-mail addresses,
codes) wrap. The public adopted list is a readable stack: every field spans the list's width, and
the seed's projects take about as much height as their text needs. axe-core runs on every page.

The data: the demo (``seed_demo``: the seed's calls, the practice call's reviews, the practice
awards at every step after adoption), the seed's adopted list of 令和6年度 published, a two-stage
call (for the interview page), a kept unsaved input, a reviewer's affiliation, and an
organisation whose web address and project name are single long words.

The staff decisions page and the applicant's section pages are judged at 390 px by their own
browser tests (tests/e2e/test_paged_lists.py, test_keyboard_apply.py).
"""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page

from applications.models import Application, ApplicationStatus, Organisation, RefusedSave, RefusedSaveReason
from calls.models import Call
from grants.models import Award
from reviews.models import Assignment, AssignmentStatus
from tests.e2e.axe import assert_accessible
from tests.e2e.test_csp import Watch, finish, log_in
from tests.factories import ReviewerAffiliationFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
LONG_URL = "https://www.example.jp/" + "tsunagari-demo-no-kai-katsudou-houkoku-" * 3 + "2025.html"
LONG_TITLE = "居場所づくりSupercalifragilisticexpialidociousCommunityCafeProject2025事業"

OVERFLOW = """() => {
  const width = window.innerWidth;
  const found = [];
  const page = document.documentElement.scrollWidth;
  if (page > width) found.push('the page: ' + page + ' px');
  for (const box of document.querySelectorAll('main *')) {
    const style = getComputedStyle(box);
    if (!['auto', 'scroll'].includes(style.overflowX) || box.scrollWidth <= box.clientWidth + 1) continue;
    const caption = box.querySelector('caption');
    const name = caption ? caption.textContent.trim() : box.outerHTML.slice(0, 80);
    found.push('a scroll box: ' + name + ' ' + box.scrollWidth + ' px');
  }
  return found;
}"""


def fits_a_phone(watch: Watch, path: str) -> None:
    watch.visit(path)
    overflow = watch.page.evaluate(OVERFLOW)
    assert overflow == [], f"{path} is wider than {PHONE['width']} px: {overflow}"
    assert_accessible(watch.page)


@pytest.fixture
def demo(live_server):
    from grants.demo.loader import seed_demo
    from tests.e2e.test_two_stage_review import two_stage_call_scored_on_paper

    seed_demo()
    User = get_user_model()
    # The seed's own public record: the nine projects adopted in 令和6年度, published.
    Call.objects.filter(slug="r6-ninaite").update(adoptions_published_at=timezone.now())
    # Long words that must wrap rather than widen a page.
    applicant = User.objects.get(email="applicant@example.jp")
    organisation = Organisation.objects.filter(memberships__user=applicant).order_by("pk").first()
    Organisation.objects.filter(pk=organisation.pk).update(website=LONG_URL)
    adopted = Application.objects.filter(organisation=organisation, status=ApplicationStatus.ADOPTED).first()
    Application.objects.filter(pk=adopted.pk).update(title=LONG_TITLE)
    draft = Application.objects.filter(organisation=organisation, status=ApplicationStatus.DRAFT).first()
    RefusedSave.objects.create(
        application=draft,
        user=applicant,
        reason=RefusedSaveReason.CONFLICT,
        based_on_version=draft.version,
        data={"title": [LONG_TITLE], "summary": ["電波の届かない所で書いた概要です。" * 4]},
    )
    ReviewerAffiliationFactory(
        reviewer=User.objects.get(email="reviewer@example.jp"),
        organisation_name="特定非営利活動法人 とても長い名前の地域の居場所づくりと見守りのネットワーク",
        corporate_number="1234567890123",
    )
    two_stage, _applications = two_stage_call_scored_on_paper(User.objects.get(email="staff@example.jp"))
    return {
        "base": live_server.url,
        "organisation": organisation,
        "adopted": adopted,
        "draft": draft,
        "refused": RefusedSave.objects.get(application=draft),
        "two_stage": two_stage,
    }


def phone_watch(page: Page, base: str, email: str | None = None) -> Watch:
    """A watched page, logged in as `email` (at the default width, where the header shows the
    logout button the login helper waits for), then narrowed to a phone."""
    watch = Watch(page, base)
    if email:
        log_in(watch, email)
    page.set_viewport_size(PHONE)
    return watch


def test_the_public_pages_fit_a_phone_and_the_adopted_list_is_a_readable_stack(page: Page, demo):
    watch = phone_watch(page, demo["base"])
    for path in ("/", "/calls/", "/calls/r7-npo-model/", "/calls/r6-ninaite/", "/verify/", "/accounts/login/"):
        fits_a_phone(watch, path)
    fits_a_phone(watch, "/calls/r6-ninaite/adopted/")
    entries = page.get_by_test_id("adopted-row")
    assert entries.count() == 9
    layout = page.evaluate(
        """() => {
          const list = document.querySelector('main table');
          const width = list.getBoundingClientRect().width;
          const squeezed = [];
          for (const cell of list.querySelectorAll('tbody th, tbody td')) {
            const w = cell.getBoundingClientRect().width;
            if (w < 0.9 * width) squeezed.push(cell.textContent.trim().slice(0, 20) + ': ' + Math.round(w) + ' px');
          }
          return {height: list.getBoundingClientRect().height, squeezed: squeezed};
        }"""
    )
    # Every field spans the list: nothing is set in a column of a few characters.
    assert layout["squeezed"] == []
    # Squeezed into three columns, six entries took 6,880 px (over eight screens). Set at full
    # width, an entry of the seed (an organisation, a 14–47 character project name, an 88–167
    # character summary, an area) needs about six to ten lines, a third to a half of a screen:
    # three screens per six entries is the bound.
    bound = 3 * PHONE["height"] * entries.count() / 6
    assert layout["height"] <= bound, f"{layout['height']:.0f} px for {entries.count()} entries (bound {bound:.0f})"
    finish(watch)


def test_the_applicants_pages_fit_a_phone(page: Page, demo):
    watch = phone_watch(page, demo["base"], "applicant@example.jp")
    adopted, draft = demo["adopted"], demo["draft"]
    for path in (
        "/applications/",
        f"/organisations/{demo['organisation'].pk}/",
        f"/applications/{adopted.pk}/",
        f"/applications/{adopted.pk}/award/",
        f"/applications/{adopted.pk}/award/grant-application/",
        f"/applications/{draft.pk}/",
        f"/applications/{draft.pk}/preview/",
        f"/applications/{draft.pk}/unsaved/{demo['refused'].pk}/",
        "/accounts/reminders/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
    ):
        fits_a_phone(watch, path)
    # The long project name was on those pages (in the breadcrumb, a flex row), and wrapped.
    watch.visit(f"/applications/{adopted.pk}/")
    crumb = page.locator("main [aria-current=page]").filter(has_text=LONG_TITLE)
    assert crumb.bounding_box()["width"] <= PHONE["width"]
    finish(watch)


def test_the_award_pages_of_every_step_fit_a_phone(page: Page, demo):
    """colleague@example.jp's organisations hold the practice awards: granted, reported, confirmed,
    refund ordered and closed, with budgets, reports, evidence, payments and letters."""
    watch = phone_watch(page, demo["base"], "colleague@example.jp")
    fits_a_phone(watch, "/applications/")
    awards = Award.objects.filter(application__organisation__memberships__user__email="colleague@example.jp")
    assert awards.count() >= 5
    for award in awards.order_by("pk"):
        fits_a_phone(watch, f"/applications/{award.application_id}/award/")
    granted = awards.filter(status="granted").first()
    fits_a_phone(watch, f"/applications/{granted.application_id}/award/reports/final/new/")
    finish(watch)


def test_the_reviewers_pages_fit_a_phone(page: Page, demo, new_page):
    watch = phone_watch(page, demo["base"], "reviewer@example.jp")
    pending = Assignment.objects.filter(reviewer__email="reviewer@example.jp", status=AssignmentStatus.PENDING)
    for path in ("/reviews/", f"/reviews/assignments/{pending.first().pk}/declare/", "/reviews/affiliations/"):
        fits_a_phone(watch, path)
    finish(watch)

    other = phone_watch(new_page(), demo["base"], "reviewer2@example.jp")
    accepted = Assignment.objects.filter(reviewer__email="reviewer2@example.jp", status=AssignmentStatus.ACCEPTED)
    fits_a_phone(other, f"/reviews/assignments/{accepted.order_by('pk').first().pk}/")
    finish(other)


def test_the_staff_pages_fit_a_phone(page: Page, demo):
    watch = phone_watch(page, demo["base"], "staff@example.jp")
    practice = Application.objects.filter(call__slug="practice").order_by("pk").first()
    two_stage = demo["two_stage"]
    paths = [
        "/staff/",
        "/staff/reminders/",
        "/staff/outbox/",
        "/staff/awards/",
        "/staff/payments/",
        "/staff/calls/practice/applications/",
        "/staff/calls/r6-ninaite/applications/",
        f"/staff/applications/{practice.pk}/",
        "/staff/calls/practice/review/",
        "/staff/calls/practice/review/assignments/",
        "/staff/calls/practice/review/ranking/",
        "/staff/calls/practice/review/calibration/",
        "/staff/calls/practice/review/integrity/",
        "/staff/calls/practice/notices/",
        "/staff/calls/practice/audit/",
        "/staff/calls/practice-awards/audit/",
        "/staff/calls/practice-awards/reserve/",
        f"/staff/calls/{two_stage.slug}/review/interview/",
        f"/staff/applications/{two_stage.applications.order_by('pk').first().pk}/",
    ]
    paths += [f"/staff/awards/{pk}/" for pk in Award.objects.order_by("pk").values_list("pk", flat=True)]
    paths.append(f"/staff/applications/{demo['adopted'].pk}/")  # the long web address and project name
    for path in paths:
        fits_a_phone(watch, path)
    assert page.get_by_text(LONG_URL).bounding_box()["width"] <= PHONE["width"]
    finish(watch)
