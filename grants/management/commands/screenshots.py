"""python manage.py screenshots — PNGs of each demo role's main pages, desktop and phone (issue 12, item 12).

`make screenshots` runs it on a throwaway SQLite database loaded by ``seed_demo`` (to which it
adds one draft: see ``demo_paths``): the command starts ``runserver`` on that database, logs in
through the portal's own pages as each demo account (password, then the TOTP code computed from
the account's secret, as the browser tests do), and writes
``docs/screenshots/<role>-<page>-<width>.png``. The browser is Debian's Chromium driven by
Playwright from the virtualenv; none is downloaded.

To add a page: add a line to PAGES (its path may name a value of ``demo_paths``' dictionary) and
to the table in README.md. Each image is at most MAX_HEIGHT[width] pixels tall (the top of the
page, not all of it) at device scale 1, to keep the committed files small.
"""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DESKTOP, PHONE = 1280, 390
VIEWPORT = {DESKTOP: {"width": DESKTOP, "height": 800}, PHONE: {"width": PHONE, "height": 844}}
MAX_HEIGHT = {DESKTOP: 1400, PHONE: 1800}


@dataclass(frozen=True)
class Shot:
    role: str  # the file name's first part, and the README's column
    email: str | None  # the demo account that sees the page (None: not logged in)
    name: str
    path: str  # formatted with demo_paths()
    widths: tuple[int, ...] = (DESKTOP, PHONE)

    def filename(self, width: int) -> str:
        return f"{self.role}-{self.name}-{width}.png"


APPLICANT, COLLEAGUE = "applicant@example.jp", "colleague@example.jp"
REVIEWER, REVIEWER2, STAFF = "reviewer@example.jp", "reviewer2@example.jp", "staff@example.jp"

PAGES = [
    Shot("public", None, "home", "/"),
    Shot("public", None, "call", "/calls/r7-npo-model/", (DESKTOP,)),
    Shot("applicant", APPLICANT, "applications", "/applications/"),
    Shot("applicant", APPLICANT, "draft", "/applications/{draft}/"),
    Shot("applicant", COLLEAGUE, "award", "/applications/{reported_award_application}/award/"),
    Shot("reviewer", REVIEWER, "reviews", "/reviews/"),
    Shot("reviewer", REVIEWER2, "review", "/reviews/assignments/{accepted_assignment}/"),
    Shot("staff", STAFF, "dashboard", "/staff/"),
    Shot("staff", STAFF, "applications", "/staff/calls/practice/applications/", (DESKTOP,)),
    Shot("staff", STAFF, "ranking", "/staff/calls/practice/review/ranking/"),
    Shot("staff", STAFF, "award", "/staff/awards/{reported_award}/"),
    Shot("staff", STAFF, "payments", "/staff/payments/", (PHONE,)),
]


def demo_paths() -> dict[str, int]:
    """The demo's objects the page list names (seed_demo must have run). The demo's own drafts
    are on a closed call (read-only); for the form as an applicant sees it, the applicant's
    organisation gets a draft on the open practice call, through the service, once."""
    from applications.models import Application, ApplicationStatus, Organisation
    from applications.services import application_start
    from calls.models import Call
    from grants.models import Award, AwardStatus
    from reviews.models import Assignment, AssignmentStatus

    practice = Call.objects.filter(slug="practice").first()
    organisation = Organisation.objects.filter(memberships__user__email=APPLICANT).order_by("pk").first()
    draft = Application.objects.filter(call=practice, organisation=organisation, status=ApplicationStatus.DRAFT)
    if practice and organisation and not draft.exists():
        application_start(call=practice, organisation=organisation, user=organisation.memberships.first().user)
    reported = Award.objects.filter(
        status=AwardStatus.REPORTED, application__organisation__memberships__user__email=COLLEAGUE
    ).order_by("pk")
    accepted = Assignment.objects.filter(reviewer__email=REVIEWER2, status=AssignmentStatus.ACCEPTED).order_by("pk")
    found = {
        "draft": draft.values_list("pk", flat=True).first(),
        "reported_award": reported.values_list("pk", flat=True).first(),
        "reported_award_application": reported.values_list("application_id", flat=True).first(),
        "accepted_assignment": accepted.values_list("pk", flat=True).first(),
    }
    missing = [key for key, value in found.items() if value is None]
    if missing:
        raise CommandError(f"The demo data lacks {', '.join(missing)}: run `manage.py seed_demo` first.")
    return found


def totp_secrets() -> dict[str, str]:
    """The TOTP secret of each demo account that has one (read before the browser starts:
    Playwright runs an event loop, in which Django refuses database queries)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import decrypt

    emails = {shot.email for shot in PAGES if shot.email}
    authenticators = Authenticator.objects.filter(user__email__in=emails, type=Authenticator.Type.TOTP)
    return {a.user.email: decrypt(a.data["secret"]) for a in authenticators.select_related("user")}


def totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise CommandError("Chromium is not installed: apt-get install -y chromium (no browser is downloaded).")


class Command(BaseCommand):
    help = "Write PNGs of each demo role's main pages at 1280 and 390 px into docs/screenshots/."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8790")))
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "screenshots"))
        parser.add_argument("--only", help="Only the pages whose file name contains this text.")

    def handle(self, *args, **options):
        from grants.demo.data import DEMO_PASSWORD

        paths = demo_paths()
        secrets = totp_secrets()
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        base = f"http://127.0.0.1:{options['port']}"
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{options['port']}"],
            cwd=settings.BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._wait_for(base)
            written = self._shoot(base, paths, secrets, DEMO_PASSWORD, out, options["only"])
        finally:
            server.terminate()
            server.wait(timeout=10)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(written)} screenshots into {out}"))

    def _wait_for(self, base: str) -> None:
        for _attempt in range(60):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise CommandError(f"The server at {base} did not start.")

    def _shoot(self, base, paths, secrets, password, out: Path, only: str | None) -> list[Path]:
        from playwright.sync_api import sync_playwright

        written = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium(), args=["--headless", "--no-sandbox"])
            try:
                for email in dict.fromkeys(shot.email for shot in PAGES):
                    shots = [s for s in PAGES if s.email == email]
                    context = browser.new_context(
                        viewport=VIEWPORT[DESKTOP], device_scale_factor=1, locale="ja-JP", timezone_id="Asia/Tokyo"
                    )
                    page = context.new_page()
                    if email:
                        self._log_in(page, base, email, password, secrets.get(email))
                    for shot in shots:
                        for width in shot.widths:
                            target = out / shot.filename(width)
                            if only and only not in target.name:
                                continue
                            page.set_viewport_size(VIEWPORT[width])
                            response = page.goto(base + shot.path.format(**paths))
                            if response is None or response.status != 200:
                                raise CommandError(f"{shot.path}: {response and response.status}")
                            page.wait_for_load_state("networkidle")
                            height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT[width])
                            page.screenshot(
                                path=target, full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height}
                            )
                            written.append(target)
                            self.stdout.write(f"  {target.name}")
                    context.close()
            finally:
                browser.close()
        return written

    def _log_in(self, page, base: str, email: str, password: str, secret: str | None) -> None:
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("メールアドレス").fill(email)
        page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(password)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_load_state()
        for _attempt in range(2):  # the 30-second window may turn between the code and the post
            if secret is None or "/2fa/authenticate/" not in page.url:
                break
            page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(totp_code(secret))
            page.get_by_role("main").get_by_role("button", name="ログイン").click()
            page.wait_for_load_state()
        if "/accounts/" in page.url:
            raise CommandError(f"Could not log in as {email} (still at {page.url}).")
