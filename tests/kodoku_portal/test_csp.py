"""Content-Security-Policy: every HTML page carries the policy, without 'unsafe-inline', and no
page holds what the policy would block (an inline script or style, a style="" attribute, an on…=
handler); the report endpoint logs reports and refuses oversized or too many.

The pages: the demo data, and every same-site link a visitor of each role can follow from the
pages they start on (a bounded crawl with the test client, GET only)."""

import json
import logging
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from grants.demo.loader import seed_demo

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "report-uri": "/csp-report/",
}

# Where each role starts; the crawl follows links from there.
START = {
    None: ["/", "/calls/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"],
    "applicant@example.jp": ["/", "/applications/", "/accounts/email/", "/accounts/2fa/"],
    "reviewer@example.jp": ["/reviews/"],
    "staff@example.jp": ["/staff/", "/staff/outbox/", "/staff/awards/"],
    "admin@example.jp": ["/admin/", "/admin/calls/call/"],
}
# Pages that change something on GET or end the session are not followed.
SKIP = ("/accounts/logout/", "/i18n/", "/admin/logout/", "/csp-report/")
MAX_PAGES = 120


class InlineFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' blocks in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.links: list[str] = []
        self._script_open = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script":
            kind = (attributes.get("type") or "text/javascript").lower()
            executable = kind in ("text/javascript", "module", "application/javascript")
            if executable and not attributes.get("src"):
                self._script_open = True
        for name, value in attrs:
            if name == "style":
                self.found.append(f"style attribute on <{tag}>: {value!r}")
            elif name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            elif name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL in {name} of <{tag}>")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])

    def handle_data(self, data):
        if self._script_open and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:80]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_open = False


def parse_policy(header: str) -> dict[str, str]:
    policy = {}
    for part in header.split(";"):
        name, _space, value = part.strip().partition(" ")
        if name:
            policy[name] = value
    return policy


def check_page(url: str, response) -> list[str]:
    """What is wrong with one HTML response, as sentences; [] when it is right."""
    problems = []
    header = response.get("Content-Security-Policy", "")
    if not header:
        return [f"{url}: no Content-Security-Policy header"]
    if "unsafe-inline" in header or "unsafe-eval" in header:
        problems.append(f"{url}: unsafe source in {header}")
    if parse_policy(header) != POLICY:
        problems.append(f"{url}: policy {header}")
    finder = InlineFinder()
    finder.feed(response.content.decode(response.charset or "utf-8", errors="replace"))
    problems += [f"{url}: {what}" for what in finder.found]
    return problems


def release(response) -> None:
    """Close a file download's file (not the response: its close() would signal the end of a
    request, which closes the test's database connection on PostgreSQL)."""
    for closer in response._resource_closers:
        closer()
    response._resource_closers.clear()


def crawl(client, starts: list[str]) -> tuple[list[str], list[str]]:
    """GET every same-site page reachable from ``starts`` (at most MAX_PAGES); returns the HTML
    pages visited and the problems found on them."""
    queue, seen, pages, problems = list(starts), set(), [], []
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", "testserver") or parts.scheme not in ("", "http"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen or any(parts.path.startswith(skip) for skip in SKIP):
            continue
        seen.add(path)
        response = client.get(path)
        release(response)
        if response.status_code in (301, 302):
            queue.append(urljoin(path, response["Location"]))
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        pages.append(path)
        problems += check_page(path, response)
        finder = InlineFinder()
        finder.feed(response.content.decode(response.charset or "utf-8", errors="replace"))
        queue += [urljoin(path, link.split("#")[0]) for link in finder.links if not link.startswith("#")]
    return pages, problems


# An admin change form with a URLField warns about Django 6.0's default scheme (not this test's
# concern; the admin forms are not this module's).
@pytest.mark.filterwarnings("ignore::django.utils.deprecation.RemovedInDjango60Warning")
@pytest.mark.parametrize("who", list(START), ids=lambda who: who or "anonymous")
def test_every_html_page_has_the_policy_and_nothing_inline(client, who):
    seed_demo()
    if who:
        client.force_login(get_user_model().objects.get(email=who))
    pages, problems = crawl(client, START[who])
    assert len(pages) >= len(START[who])
    assert problems == []


def test_error_pages_carry_the_policy_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert parse_policy(response["Content-Security-Policy"]) == POLICY


def test_report_uri_is_our_endpoint():
    assert reverse("csp_report") == settings.CSP_REPORT_PATH == POLICY["report-uri"]


REPORT = {
    "csp-report": {
        "document-uri": "http://testserver/calls/",
        "violated-directive": "style-src-attr",
        "blocked-uri": "inline",
        "source-file": "http://testserver/calls/",
        "line-number": 12,
    }
}


def test_a_report_is_logged_without_a_csrf_token(caplog):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.WARNING, logger="kodoku_portal.csp"):
        response = client.post("/csp-report/", json.dumps(REPORT), content_type="application/csp-report")
    assert response.status_code == 204
    assert "style-src-attr blocked inline on http://testserver/calls/" in caplog.text


def test_the_reporting_api_form_is_logged_too(client, caplog):
    body = [
        {
            "type": "csp-violation",
            "body": {
                "documentURL": "http://testserver/",
                "effectiveDirective": "script-src-elem",
                "blockedURL": "inline",
            },
        }
    ]
    with caplog.at_level(logging.WARNING, logger="kodoku_portal.csp"):
        response = client.post("/csp-report/", json.dumps(body), content_type="application/reports+json")
    assert response.status_code == 204
    assert "script-src-elem blocked inline on http://testserver/" in caplog.text


def test_an_oversized_report_is_refused_unread(client, settings, caplog):
    settings.CSP_REPORT_MAX_BYTES = 1000
    big = {"csp-report": {**REPORT["csp-report"], "blocked-uri": "x" * 2000}}
    with caplog.at_level(logging.WARNING, logger="kodoku_portal.csp"):
        response = client.post("/csp-report/", json.dumps(big), content_type="application/csp-report")
    assert response.status_code == 413
    assert "CSP violation" not in caplog.text


def test_too_many_reports_from_one_address_are_refused(client, settings, caplog):
    settings.CSP_REPORT_RATE = 3
    with caplog.at_level(logging.WARNING, logger="kodoku_portal.csp"):
        codes = [
            client.post(
                "/csp-report/", json.dumps(REPORT), content_type="application/csp-report", REMOTE_ADDR="192.0.2.7"
            ).status_code
            for _ in range(5)
        ]
    assert codes == [204, 204, 204, 429, 429]
    assert caplog.text.count("CSP violation") == 3


def test_a_report_that_is_not_json_is_a_400_and_get_is_not_allowed(client):
    assert client.post("/csp-report/", "not json", content_type="application/csp-report").status_code == 400
    assert client.get("/csp-report/").status_code == 405


@pytest.mark.parametrize("role", [None, "applicant", "reviewer", "staff", "administrator"])
def test_every_role_may_report_a_violation(client, role):
    """The role matrix of POST /csp-report/: a browser reports whoever is logged in."""
    from accounts.models import Role
    from tests.factories import UserFactory

    if role:
        client.force_login(UserFactory(role=Role(role)))
    response = client.post("/csp-report/", json.dumps(REPORT), content_type="application/csp-report")
    assert response.status_code == 204


def test_a_pdf_response_carries_no_policy_so_the_browser_viewer_works(client, settings, tmp_path):
    """Chrome's PDF viewer is blocked by the pages' policy on the PDF itself (object-src,
    style-src): PDFs carry the file policy instead (kodoku_portal/csp.py: no script, no form, no
    framing), every other response keeps the pages' policy."""
    from django.core.files.base import ContentFile

    from applications.models import Attachment
    from tests.factories import ApplicationFactory, UserFactory

    settings.MEDIA_ROOT = tmp_path
    application = ApplicationFactory()
    member = UserFactory()
    application.organisation.memberships.create(user=member, role="owner")
    attachment = Attachment(
        application=application, kind="other", original_name="a.pdf", file_type="pdf", size=4, uploaded_by=member
    )
    attachment.file.save("upload", ContentFile(b"%PDF"), save=False)
    attachment.save()
    client.force_login(member)
    response = client.get(f"/applications/{application.pk}/attachments/{attachment.pk}/")
    for closer in response._resource_closers:
        closer()
    response._resource_closers.clear()
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    from kodoku_portal.csp import PDF_POLICY

    assert response["Content-Security-Policy"] == PDF_POLICY
    assert "script-src" not in PDF_POLICY and "default-src 'none'" in PDF_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in client.get("/applications/")
