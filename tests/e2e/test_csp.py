"""The Content-Security-Policy in the browser: the main pages of every role, on the demo data, in
headless Chromium, with no CSP violation and no console error.

Each page is watched three ways: an init script records every ``securitypolicyviolation`` event
of the document; every request to our report endpoint (the policy's report-uri) is recorded;
console errors and uncaught page errors are recorded. Logins go through allauth's pages (the
password page and, for reviewers, staff and administrators, the TOTP page), so those are watched
too, as are the applicant's MFA setup pages, the Django admin (index, a list, a change form) and
the staff pages with their scripts (Bootstrap, the notices' progress poll, the application
form's autosave).
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from applications.models import Application, ApplicationStatus, Organisation
from applications.services import application_start
from calls.models import Call, CallState
from grants.demo.data import DEMO_PASSWORD
from grants.demo.loader import seed_demo
from grants.models import Award
from reviews.models import Assignment
from tests.e2e.helpers import totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push([e.violatedDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber, e.sample].join(" | "));
});
"""


class Watch:
    """What went wrong on the pages a browser page visited, as sentences."""

    def __init__(self, page: Page, base: str):
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.visited: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", lambda message: self._console(message))
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: uncaught {error}"))
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.problems.append(f"{page.url}: {response.status} for {response.url}")
            ),
        )
        page.on(
            "request",
            lambda request: (
                "/csp-report/" in request.url
                and self.problems.append(f"report sent to our endpoint: {request.post_data}")
            ),
        )

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            if where.endswith("/favicon.ico"):
                return  # the browser's own request for an icon the portal does not have (no page's doing)
            self.problems.append(f"{self.page.url}: console error: {message.text} ({where})")

    def collect(self) -> None:
        """Read the violations the current document recorded (call before leaving it)."""
        for violation in self.page.evaluate("window.__csp || []"):
            self.problems.append(f"{self.page.url}: CSP violation: {violation}")

    def visit(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.page.wait_for_load_state("networkidle")
        self.visited.append(path)
        self.collect()


def log_in(watch: Watch, email: str) -> None:
    """allauth's login page, then (for roles with a second factor) its TOTP page."""
    page, base = watch.page, watch.base
    user = get_user_model().objects.get(email=email)
    watch.visit("/accounts/login/")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    if user.requires_mfa:
        expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
        watch.collect()
        secret = totp_secret(email)
        for _attempt in range(2):  # the 30-second window may turn between the code and the post
            code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
            page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(code)
            with page.expect_navigation():
                page.get_by_role("main").get_by_role("button", name="ログイン").click()
            if not page.url.endswith("/accounts/2fa/authenticate/"):
                break
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    watch.collect()


@pytest.fixture
def demo(live_server):
    seed_demo()
    return live_server.url


def finish(watch: Watch) -> None:
    watch.page.wait_for_timeout(300)  # a report posted while the last page settled
    assert watch.visited
    assert watch.problems == [], "\n".join(watch.problems)


def test_public_and_account_pages(page: Page, demo):
    watch = Watch(page, demo)
    for path in ("/", "/calls/", *(f"/calls/{slug}/" for slug in Call.objects.values_list("slug", flat=True)[:3])):
        watch.visit(path)
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        watch.visit(path)
    # A form posted (the reset request), and the page that follows.
    page.get_by_label("メールアドレス").fill("nobody@example.jp")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    watch.collect()
    finish(watch)


def test_applicant_pages(page: Page, demo):
    watch = Watch(page, demo)
    log_in(watch, "applicant@example.jp")
    watch.visit("/applications/")
    applicant = get_user_model().objects.get(email="applicant@example.jp")
    mine = Application.objects.filter(organisation__memberships__user=applicant)
    submitted = mine.exclude(status=ApplicationStatus.DRAFT).order_by("pk").first()
    assert submitted is not None
    # A draft on a call open now, where the form (and its autosave script) is shown.
    now = timezone.now()
    open_call = next(c for c in Call.objects.filter(published=True) if c.state_at(now) == CallState.OPEN)
    organisation = Organisation.objects.filter(memberships__user=applicant).order_by("pk").first()
    draft = application_start(call=open_call, organisation=organisation, user=applicant)
    watch.visit(f"/applications/{draft.pk}/")  # the task list
    for key in ("organisation", "content", "form-project", "budget", "attachments"):
        watch.visit(f"/applications/{draft.pk}/section/{key}/")
        if key == "content":
            page.locator("#application-form textarea").first.fill("CSPの確認のための入力です。")
            page.wait_for_timeout(2500)  # the autosave posts what was typed
        if key == "form-project":  # the call's project questions: every one answered, then autosaved
            for textarea in page.locator("#application-form textarea").all():
                textarea.fill("CSPの確認のための入力です。")
            page.wait_for_timeout(2500)
        watch.collect()
    watch.visit(f"/applications/{submitted.pk}/")
    award = Award.objects.filter(application__in=mine).order_by("pk").first()
    if award is not None:
        watch.visit(f"/applications/{award.application_id}/award/")
    watch.visit("/accounts/email/")
    watch.visit("/accounts/2fa/")
    watch.visit("/accounts/2fa/totp/activate/")  # the QR code is a data: image
    finish(watch)


def test_reviewer_pages(page: Page, demo):
    watch = Watch(page, demo)
    log_in(watch, "reviewer@example.jp")
    watch.visit("/reviews/")
    assignment = Assignment.objects.filter(reviewer__email="reviewer@example.jp").order_by("pk").first()
    assert assignment is not None
    watch.visit(f"/reviews/assignments/{assignment.pk}/")
    finish(watch)


def test_staff_pages(page: Page, demo):
    watch = Watch(page, demo)
    log_in(watch, "staff@example.jp")
    slug = "practice"
    award = Award.objects.order_by("pk").first()
    assert award is not None
    for path in (
        "/staff/",
        f"/staff/calls/{slug}/applications/",
        f"/staff/calls/{slug}/review/",
        f"/staff/calls/{slug}/review/ranking/",
        f"/staff/calls/{slug}/decisions/",
        f"/staff/calls/{slug}/notices/",
        "/staff/awards/",
        f"/staff/awards/{award.pk}/",
        "/staff/outbox/",
        f"/staff/calls/{slug}/audit/",
    ):
        watch.visit(path)
    finish(watch)


def test_admin_pages(page: Page, demo):
    watch = Watch(page, demo)
    log_in(watch, "admin@example.jp")
    call = Call.objects.order_by("pk").first()
    for path in (
        "/admin/",
        "/admin/calls/call/",
        f"/admin/calls/call/{call.pk}/change/",
        "/admin/accounts/user/",
        "/admin/django_celery_beat/periodictask/add/",
    ):
        watch.visit(path)
    finish(watch)
