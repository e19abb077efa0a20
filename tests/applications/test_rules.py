"""The named permissions of applications/rules.py, as a small matrix: who (member, another
organisation's applicant, staff) × what (draft, submitted) × when (call open, closed)."""

import datetime as dt

import pytest
import rules
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Role
from applications import selectors, services
from applications.models import Application, ApplicationStatus, MemberRole, Membership
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, ThemeFactory, UserFactory

from .conftest import save_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(member, outsider):
    return {"member": member, "outsider": outsider, "staff": UserFactory(role=Role.STAFF)}


def close(call) -> None:
    call.closes_at = timezone.now() - dt.timedelta(minutes=1)
    call.save(update_fields=["closes_at"])


def application_in(call_state: str, status: str, organisation, member) -> Application:
    """A complete application with ``status`` on the open call, closed afterwards if asked."""
    now = timezone.now()
    call = CallFactory(
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=1),
        eligible=[organisation.applicant_type],
    )
    ThemeFactory(call=call, number=1)
    application = save_complete(ApplicationFactory(call=call, organisation=organisation), member)
    if status != ApplicationStatus.DRAFT:
        Application.objects.filter(pk=application.pk).update(status=status, receipt_number=f"{call.pk}-0001")
        application.refresh_from_db()
    if call_state == "closed":
        close(call)
        application.refresh_from_db()
    return application


# (who, status, call) → can_edit_draft, can_submit, can_withdraw, can_view_application
MATRIX = [
    ("member", "draft", "open", (True, True, False, True)),
    ("member", "draft", "closed", (False, False, False, True)),
    ("member", "submitted", "open", (False, False, True, True)),
    ("member", "submitted", "closed", (False, False, False, True)),
    ("outsider", "draft", "open", (False, False, False, False)),
    ("outsider", "draft", "closed", (False, False, False, False)),
    ("outsider", "submitted", "open", (False, False, False, False)),
    ("outsider", "submitted", "closed", (False, False, False, False)),
    ("staff", "draft", "open", (False, False, False, False)),
    ("staff", "draft", "closed", (False, False, False, False)),
    ("staff", "submitted", "open", (False, False, False, False)),
    ("staff", "submitted", "closed", (False, False, False, False)),
]


@pytest.mark.parametrize(("who", "status", "call_state", "expected"), MATRIX)
def test_permission_matrix(people, organisation, member, who, status, call_state, expected):
    application = application_in(call_state, status, organisation, member)
    user = people[who]
    got = tuple(
        rules.test_rule(name, user, application)
        for name in ("can_edit_draft", "can_submit", "can_withdraw", "can_view_application")
    )
    assert got == expected


def test_an_incomplete_draft_may_be_edited_but_not_submitted(draft, member):
    assert rules.test_rule("can_edit_draft", member, draft)
    assert not rules.test_rule("can_submit", member, draft)


def test_an_anonymous_visitor_may_do_nothing(complete_draft):
    visitor = AnonymousUser()
    for name in ("can_edit_draft", "can_submit", "can_withdraw", "can_view_application", "can_see_decision"):
        assert not rules.test_rule(name, visitor, complete_draft)
    assert not rules.test_rule("is_applicant", visitor)


def test_rows_fetched_for_a_member_need_no_membership_query(complete_draft, member, django_assert_num_queries):
    [row] = selectors.applications_of(member)
    with django_assert_num_queries(0):
        assert rules.test_rule("can_view_application", member, row)


def test_a_row_fetched_for_someone_else_is_still_checked(complete_draft, member, outsider):
    [row] = selectors.applications_of(member)
    assert not rules.test_rule("can_view_application", outsider, row)


@pytest.mark.parametrize(
    ("status", "disclosed", "expected"),
    [
        (ApplicationStatus.SUBMITTED, False, False),
        (ApplicationStatus.ADOPTED, False, False),
        (ApplicationStatus.NOT_ADOPTED, False, False),
        (ApplicationStatus.ADOPTED, True, True),
        (ApplicationStatus.NOT_ADOPTED, True, True),
        (ApplicationStatus.RESERVE, True, True),
        (ApplicationStatus.SUBMITTED, True, False),  # a decision taken back is not shown
    ],
)
def test_a_decision_is_seen_once_disclosed(open_call, organisation, member, outsider, status, disclosed, expected):
    application = ApplicationFactory(
        call=open_call,
        organisation=organisation,
        status=status,
        decision_disclosed_at=timezone.now() if disclosed else None,
    )
    assert rules.test_rule("can_see_decision", member, application) is expected
    assert not rules.test_rule("can_see_decision", outsider, application)
    shown = application.get_status_display() if expected else ApplicationStatus.SUBMITTED.label
    assert application.status_for_applicant == shown


def test_only_owners_manage_the_organisation(organisation, member, outsider):
    editor = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=editor, role=MemberRole.EDITOR)
    assert rules.test_rule("can_manage_organisation", member, organisation)
    assert not rules.test_rule("can_manage_organisation", editor, organisation)
    assert not rules.test_rule("can_manage_organisation", outsider, organisation)


@pytest.mark.parametrize(("role", "expected"), [(Role.APPLICANT, True), (Role.REVIEWER, False), (Role.STAFF, False)])
def test_is_applicant(role, expected, db):
    assert rules.test_rule("is_applicant", UserFactory(role=role)) is expected


@pytest.mark.parametrize("disclosed", [False, True])
def test_the_pages_show_the_decision_only_once_disclosed(client, open_call, organisation, member, disclosed):
    application = ApplicationFactory(
        call=open_call,
        organisation=organisation,
        status=ApplicationStatus.ADOPTED,
        receipt_number="D-0001",
        decision_disclosed_at=timezone.now() if disclosed else None,
    )
    client.force_login(member)
    notice_link = f'href="/applications/{application.pk}/notice.pdf"'.encode()
    detail = client.get(f"/applications/{application.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    dashboard = client.get("/applications/", HTTP_ACCEPT_LANGUAGE="en")
    for page in (detail, dashboard):
        assert (notice_link in page.content) is disclosed
        assert (b"Adopted" in page.content) is disclosed
    # Undisclosed, the pages read exactly as for a submitted application: the banner of a received
    # application and the badge of a submitted one, so nothing gives the decision away.
    assert (b"alert-success" in detail.content) is not disclosed
    assert (b"badge text-bg-success" in dashboard.content) is not disclosed


def test_a_refused_submission_comes_back_to_the_preview_with_every_reason(client, draft, member):
    from tests.support.forms import project_version

    project_version(draft.call)  # the call asks the project questions (事業の内容)
    client.force_login(member)
    response = client.post(f"/applications/{draft.pk}/submit/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.redirect_chain == [(f"/applications/{draft.pk}/preview/", 302)]
    errors = [str(m) for m in response.context["messages"]]
    assert len(errors) >= 7  # one message per missing item, one for the project questions
    assert any(error.startswith("About the project") and "Purpose" in error for error in errors)
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.DRAFT


@pytest.mark.parametrize(
    "decided", [ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED, ApplicationStatus.RESERVE]
)
def test_an_organisation_cannot_take_a_decided_application_back_to_submitted(client, complete_draft, member, decided):
    """The table lets staff undo a decision (back to submitted); the organisation's submit button
    must not: only a draft is submitted, even while the call is still open."""
    services.application_submit(application_id=complete_draft.pk, user=member)
    Application.objects.filter(pk=complete_draft.pk).update(status=decided)  # as staff decided it
    number = Application.objects.get(pk=complete_draft.pk).receipt_number
    with pytest.raises(Refused) as refused:
        services.application_submit(application_id=complete_draft.pk, user=member)
    assert refused.value.code == "not_draft"
    client.force_login(member)
    client.post(f"/applications/{complete_draft.pk}/submit/")
    application = Application.objects.get(pk=complete_draft.pk)
    assert (application.status, application.receipt_number) == (decided, number)


def test_the_award_is_not_shown_before_the_decision_is_disclosed(client, open_call, organisation, member):
    from grants.models import Award, Decision

    application = ApplicationFactory(
        call=open_call, organisation=organisation, status=ApplicationStatus.ADOPTED, receipt_number="D-0002"
    )
    staff = UserFactory(role=Role.STAFF)
    Decision.objects.create(
        application=application, award_amount=1_000_000, decided_by=staff, decided_at=timezone.now()
    )
    Award.objects.create(application=application)
    client.force_login(member)
    award_link = f"/applications/{application.pk}/award/"
    assert client.get(award_link).status_code == 404
    assert award_link not in client.get("/applications/").content.decode()
    Application.objects.filter(pk=application.pk).update(decision_disclosed_at=timezone.now())
    assert client.get(award_link).status_code == 200
    assert award_link in client.get("/applications/").content.decode()
