"""What the demo data's applications look like to people: on screen, in the receipt PDF, in the
reviewers' dossier and in the adoption-list exports (issue 16, item 2).

``snapshot()`` reads every application of the demo data through the pages and documents as a
person gets them (the Django test client, the PDF renderers, the CSV export) and reduces each to
what it says:

- ``screen``: the label → value pairs of the staff page, the applicant's page and each reviewer's
  page (sorted: a page may order its sections differently, the pairs must be the same);
- ``receipt``: the text of a receipt PDF rendered now (``pdftotext``);
- ``dossier``: the text of the dossier's summary PDF and the application's answers in its
  ``application.json``;
- ``exports``: each call's adoption list as CSV text.

``tests/applications/data/npo_form_before.json`` is this snapshot taken on the code before the NPO
form's questions moved into the form schema (commit 3fd1e93, in a ``django_db(transaction=True)``
test right after ``seed_demo()``, as ``test_npo_form_migration`` takes it again after the
migration and compares). Dates with a time of day are the moments the demo was loaded: the
comparison leaves them out (``without_moments``).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from django.test import Client
from django.urls import reverse
from django.utils import translation

from applications.documents import receipt_pdf
from applications.models import Application, Membership
from calls.models import Call
from grants import dossier, exports
from reviews.models import Assignment

BEFORE = Path(__file__).parent / "data" / "npo_form_before.json"

# The dossier's application.json: the answers an application gives (not its timestamps or ids).
DOSSIER_KEYS = (
    "title",
    "summary",
    "purpose",
    "target_people",
    "activities",
    "structure",
    "partners",
    "expected_results",
    "schedule",
    "period_start",
    "period_end",
    "area_reason",
    "requested_amount",
)


class _Pairs(HTMLParser):
    """The (dt, dd) pairs of a page's main content, as text with collapsed spaces."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._in: str | None = None
        self._text: list[str] = []
        self._label = ""
        self._main = 0

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self._main += 1
        if self._main and tag in ("dt", "dd"):
            self._in, self._text = tag, []
        if self._in and tag == "br":
            self._text.append("\n")

    def handle_endtag(self, tag):
        if tag == "main":
            self._main -= 1
        if tag == self._in:
            text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self._text)).strip()
            text = re.sub(r" *\n *", "\n", text)
            if tag == "dt":
                self._label = text
            else:
                self.pairs.append((self._label, text))
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._text.append(data)


def _pairs(html: str) -> list[list[str]]:
    parser = _Pairs()
    parser.feed(html)
    return sorted([label, value] for label, value in parser.pairs)


def _page(client: Client, user, url: str) -> list[list[str]]:
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200, (url, response.status_code)
    return _pairs(response.content.decode())


def _pdf_text(data: bytes) -> str:
    """The PDF's text, laid out; the time of receipt (the practice calls' demo applications are
    submitted when the demo is loaded) is left out."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        text = subprocess.run(
            ["pdftotext", "-layout", handle.name, "-"], capture_output=True, check=True, text=True
        ).stdout
    return re.sub(r"(受付日時\s+).*?（日本時間）", r"\1（受付日時）", text)


def _key(application: Application) -> str:
    """An application named as a person would: its call and organisation, and its title."""
    return f"{application.call.slug} / {application.organisation.name} / {application.title}"


def snapshot() -> dict:
    from accounts.models import User

    staff = User.objects.get(email="staff@example.jp")
    client = Client()
    result: dict = {"applications": {}, "exports": {}}
    applications = Application.objects.select_related("call", "organisation").order_by("call__slug", "pk")
    parts = {application.pk: application for application in dossier.dossier_applications(submitted_only=False)}
    for application in applications:
        entry: dict = {"status": application.status, "receipt_number": application.receipt_number}
        entry["staff"] = (
            _page(client, staff, reverse("grants:staff_application", args=[application.pk]))
            if application.receipt_number
            else None
        )
        member = Membership.objects.filter(organisation=application.organisation).select_related("user").first()
        if member is not None:
            url = reverse(
                "applications:detail" if application.receipt_number else "applications:preview", args=[application.pk]
            )
            entry["applicant"] = _page(client, member.user, url)
        entry["reviewers"] = [
            _page(client, assignment.reviewer, reverse("reviews:assignment", args=[assignment.pk]))
            for assignment in Assignment.objects.filter(application=application, status="accepted")
            .select_related("reviewer")
            .order_by("pk")
        ]
        if application.receipt_number:
            entry["receipt"] = _pdf_text(receipt_pdf(application))
            with translation.override("ja"):
                entry["dossier_summary"] = _pdf_text(dossier._summary_pdf(parts[application.pk])())
            files = {part.path.split("/", 1)[1]: part for part in dossier._parts_of(parts[application.pk], [], [])}
            data = json.loads(files["application/application.json"].data)
            entry["dossier_json"] = {key: data["application"].get(key) for key in DOSSIER_KEYS}
        result["applications"][_key(application)] = entry
    for call in Call.objects.order_by("slug"):
        result["exports"][call.slug] = "".join(exports.stream_csv(call))
    return result


# A date with a time of day on a page is the moment something was done (decided, notified, …):
# the demo does it when it is loaded, so it differs between two loads; the dates of the project do not.
_MOMENT = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日（.）\s?\d{1,2}:\d{2}")


def without_moments(data):
    """``data`` (a snapshot, or a part of one) with every date-and-time of day as 「（日時）」."""
    if isinstance(data, str):
        return _MOMENT.sub("（日時）", data)
    if isinstance(data, list):
        return [without_moments(item) for item in data]
    if isinstance(data, dict):
        return {key: without_moments(value) for key, value in data.items()}
    return data
