"""Hostile input through the real pages: every form of the portal, as a page renders it (hidden
fields, formset counters, ids, versions and amounts included), posted back with some of its fields
replaced by garbage (20-digit numbers, negative amounts, NUL and bidi characters, dates that do
not exist, 10,001 characters…) or left out. Whatever is posted, the answer is never a server
error, and a refused post (a 4xx, or the form shown again with its errors) leaves nothing behind
(no audit entry: nothing was changed).

Each page's forms are read from its HTML (``_FormReader``), so a form added to a page later is
fuzzed without this file knowing it. Examples per case: ``HOSTILE_INPUT_EXAMPLES`` (default 12),
each run in a savepoint rolled back afterwards, so every example starts from the same rows.
"""

import datetime as dt
import os
from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import change_steps, money_steps
from grants.models import AwardStatus, CostVerdict, ReportKind
from kodoku_portal.models import AuditEntry
from reviews import services as review_services
from reviews.models import ReviewPhase
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, ThemeFactory, UserFactory, enable_totp
from tests.grants.lifecycle import award_at

EXAMPLES = int(os.environ.get("HOSTILE_INPUT_EXAMPLES", "12"))

GARBAGE = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "0",
            "2147483648",
            "9223372036854775808",
            "99999999999999999999",
            "-99999999999999999999",
            "1e309",
            "NaN",
            "1.5",
            "0x1F",
            "²",
            "１２",
            "٣",
            "\x00",
            "1\x00",
            "\u202e",
            "\u202e123",
            "9999-99-99",
            "2025-02-30",
            "99999-01-01",
            "0001-01-01",
            "on",
            "null",
            "<script>alert(1)</script>",
            "'; DROP TABLE applications_application; --",
            "あ" * 10_001,
            "a" * 300,
            "\r\n" * 50,
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=40),
)


class _FormReader(HTMLParser):
    """The forms of a page: action, method and the fields as a browser would post them."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "action": a.get("action") or self.url,
                "method": (a.get("method") or "get").lower(),
                "fields": {},
                "multipart": a.get("enctype") == "multipart/form-data",
            }
            return
        if self._form is None:
            return
        name = a.get("name")
        fields = self._form["fields"]
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("file", "image", "reset", "button"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                fields.setdefault(name, None)
                return
            if kind == "submit" and name in fields:
                return
            fields[name] = a.get("value", "on" if kind in ("checkbox", "radio") else "")
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""
        elif tag == "select" and name:
            self._select, self._select_first = name, None
            fields[name] = None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
                self._form["fields"][self._select] = value
            if "selected" in a:
                self._form["fields"][self._select] = value

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            self._form["fields"] = {k: v for k, v in self._form["fields"].items() if v is not None}
            self.forms.append(self._form)
            self._form = None


# Forms of the frame, not of the portal's pages: the language switch and logging out.
_FRAME_ACTIONS = ("/i18n/setlang/", "/accounts/logout/")


def _forms_of(client: Client, urls: list[str]) -> list[dict]:
    forms = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        reader = _FormReader(url)
        reader.feed(response.content.decode())
        forms += [form for form in reader.forms if form["action"] not in _FRAME_ACTIONS]
    return forms


# --- the pages, each with the rows that make its forms appear ---------------------------------------


def _staff() -> "UserFactory":
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


def _applicant_pages():
    call = CallFactory(
        opens_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=9),
    )
    ThemeFactory(call=call, number=1)
    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    draft = ApplicationFactory(call=call, organisation=organisation)
    return member, [
        "/accounts/reminders/",
        "/organisations/new/",
        f"/organisations/{organisation.pk}/",
        f"/applications/{draft.pk}/",
        f"/applications/{draft.pk}/section/organisation/",
        f"/applications/{draft.pk}/section/content/",
        f"/applications/{draft.pk}/section/budget/",
        f"/applications/{draft.pk}/section/attachments/",
        f"/applications/{draft.pk}/preview/",
    ]


def _review_round():
    call = CallFactory()
    ThemeFactory(call=call, number=1)
    staff = _staff()
    review_services.review_round_for(call=call)
    review_services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    application = ApplicationFactory(call=call, status=ApplicationStatus.SUBMITTED, receipt_number="R-0001")
    reviewer = UserFactory(role=Role.REVIEWER)
    enable_totp(reviewer)
    assignment = review_services.assignment_create(
        application=application, reviewer=reviewer, due_at=None, assigned_by=staff
    )
    return call, staff, reviewer, assignment


def _reviewer_declaration_pages():
    _call, _staff_user, reviewer, assignment = _review_round()
    return reviewer, [f"/reviews/assignments/{assignment.pk}/declare/"]


def _reviewer_review_pages():
    _call, _staff_user, reviewer, assignment = _review_round()
    client = Client()
    client.force_login(reviewer)
    client.post(f"/reviews/assignments/{assignment.pk}/declare/", {"has_conflict": "no"})
    return reviewer, [f"/reviews/assignments/{assignment.pk}/"]


def _review_staff_pages():
    call, staff, _reviewer, _assignment = _review_round()
    base = f"/staff/calls/{call.slug}/review/"
    # A call whose review has not begun: its criteria are still editable on the settings page.
    setup = CallFactory()
    review_services.review_round_for(call=setup)
    return staff, [base, f"{base}assignments/", f"{base}ranking/?sort=score", f"/staff/calls/{setup.slug}/review/"]


def _decision_pages():
    from tests.grants.test_grant_reserve import reserve

    case = award_at(AwardStatus.ADOPTED)
    call = case.call
    ApplicationFactory(call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"{call.receipt_prefix}-0900")
    reserve(call, case.staff)
    return case.staff, [
        f"/staff/calls/{call.slug}/decisions/",
        f"/staff/calls/{call.slug}/reserve/",
        f"/staff/calls/{call.slug}/audit/",
        "/staff/payments/",
        "/staff/outbox/",
    ]


def _adopted_member_pages():
    case = award_at(AwardStatus.ADOPTED)
    return case.member, [
        f"/applications/{case.application.pk}/award/",
        f"/applications/{case.application.pk}/award/grant-application/",
    ]


def _filed_staff_pages():
    from tests.grants.test_grant_filing import file

    case = award_at(AwardStatus.ADOPTED)
    file(case)
    return case.staff, [f"/staff/awards/{case.award.pk}/"]


def _accepted_staff_pages():
    from grants import grant_steps
    from tests.grants.test_grant_filing import file

    case = award_at(AwardStatus.ADOPTED)
    filing = file(case)
    grant_steps.grant_application_accept(filing=filing, by=case.staff)
    return case.staff, [f"/staff/awards/{case.award.pk}/"]


def _granted_member_pages():
    case = award_at(AwardStatus.GRANTED)
    return case.member, [
        f"/applications/{case.application.pk}/award/",
        f"/applications/{case.application.pk}/award/reports/{ReportKind.FINAL}/new/",
    ]


def _granted_staff_pages():
    case = award_at(AwardStatus.GRANTED)
    change_steps.change_request(
        award=case.award,
        by=case.member,
        reason="講師の交代",
        plan_after="計画の変更",
        lines=[(line.category, line.description, line.amount) for line in case.award.budget_in_force().lines.all()],
    )
    money_steps.advance_request(award=case.award, amount=100_000, reason="謝金", by=case.member)
    approved = award_at(AwardStatus.GRANTED, staff=case.staff)
    payment = money_steps.advance_request(award=approved.award, amount=100_000, reason="謝金", by=approved.member)
    money_steps.advance_approve(payment=payment, scheduled_on=dt.date.today(), by=case.staff)
    return case.staff, [f"/staff/awards/{case.award.pk}/", f"/staff/awards/{approved.award.pk}/"]


def _reported_pages():
    from tests.grants.test_report_steps import file_report

    case = award_at(AwardStatus.GRANTED)
    file_report(case)
    return case, [f"/staff/awards/{case.award.pk}/"], [f"/applications/{case.application.pk}/award/"]


def _reported_staff_pages():
    case, staff_urls, _member_urls = _reported_pages()
    return case.staff, staff_urls


def _reported_member_pages():
    case, _staff_urls, member_urls = _reported_pages()
    return case.member, member_urls


def _report_accepted_staff_pages():
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    from tests.grants.test_money_services import final_report

    final_report(case, [("rental", 400_000, CostVerdict.ACCEPTED, None)])
    return case.staff, [f"/staff/awards/{case.award.pk}/"]


def _refund_staff_pages():
    from tests.grants.test_money_services import confirmed_with_overpayment

    case = confirmed_with_overpayment()
    money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    unordered = confirmed_with_overpayment(staff=case.staff)
    return case.staff, [
        f"/staff/awards/{case.award.pk}/",
        f"/staff/awards/{case.award.pk}/?money_on=2026-05-01",
        f"/staff/awards/{unordered.award.pk}/",
    ]


def _form_preview_pages():
    from tests.support.forms import build_version

    return _staff(), [f"/staff/forms/{build_version(CallFactory(), publish=False).pk}/preview/"]


CASES = {
    "applicant": _applicant_pages,
    "form-preview": _form_preview_pages,
    "reviewer-declaration": _reviewer_declaration_pages,
    "reviewer-review": _reviewer_review_pages,
    "review-staff": _review_staff_pages,
    "decisions": _decision_pages,
    "adopted-member": _adopted_member_pages,
    "filed-staff": _filed_staff_pages,
    "accepted-staff": _accepted_staff_pages,
    "granted-member": _granted_member_pages,
    "granted-staff": _granted_staff_pages,
    "reported-staff": _reported_staff_pages,
    "reported-member": _reported_member_pages,
    "report-accepted-staff": _report_accepted_staff_pages,
    "refund-staff": _refund_staff_pages,
}


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"


# Posted into every field of every form at once, before the random examples.
EVERY_FIELD = ["99999999999999999999", "-1", "\u202e1"]


def _post(client: Client, form: dict, fields: dict) -> None:
    """Post (or get) ``fields`` to the form in a savepoint rolled back afterwards: never a 5xx, and
    a refusal (a 4xx, or the form shown again) leaves no audit entry."""
    with transaction.atomic():
        before = AuditEntry.objects.count()
        if form["method"] == "post":
            response = client.post(form["action"], fields)
        else:
            response = client.get(form["action"], fields)
        assert response.status_code < 500, (form["action"], fields, response.status_code)
        # Refused: a 4xx, or the form shown again with its errors (a POST answered by a page).
        refused = response.status_code >= 400 or (
            form["method"] == "post"
            and response.status_code == 200
            and response["Content-Type"].startswith("text/html")
        )
        if refused:
            assert AuditEntry.objects.count() == before, (form["action"], fields)
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(CASES))
def test_garbage_in_any_field_of_any_form_is_never_a_server_error_and_a_refusal_changes_nothing(case):
    user, urls = CASES[case]()
    client = Client()
    client.force_login(user)
    forms = _forms_of(client, urls)
    assert forms, f"no form on {urls}"
    for form in forms:
        for value in EVERY_FIELD:
            _post(
                client,
                form,
                {name: (old if name == "csrfmiddlewaretoken" else value) for name, old in form["fields"].items()},
            )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def post_garbage(data):
        form = data.draw(st.sampled_from(forms), label="form")
        fields = dict(form["fields"])
        names = sorted(name for name in fields if name != "csrfmiddlewaretoken")
        if names:
            chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True), label="fields")
            for name in chosen:
                if data.draw(st.booleans(), label=f"drop {name}"):
                    fields.pop(name)
                else:
                    fields[name] = data.draw(GARBAGE, label=name)
        _post(client, form, fields)

    post_garbage()
