"""nc-record (issue 12, item 9): decisions on a call wait until it has closed, unless staff allow
them earlier with a reason (server-checked confirmation, audited); a practice call decided early
still issues no official number."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone, translation

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services
from grants.models import DecisionWindowOverride, Notice
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF, email="staff-window@example.jp")
    enable_totp(user)
    return user


def open_call(**kwargs):
    now = timezone.now()
    return CallFactory(
        opens_at=now - dt.timedelta(days=10),
        closes_at=now + dt.timedelta(days=5),
        cap_amount=2_000_000,
        budget_total=10_000_000,
        **kwargs,
    )


def submitted(call, number="W-0001", amount=1_000_000):
    return ApplicationFactory(
        call=call,
        organisation=OrganisationFactory(email=f"{number.lower()}@example.jp"),
        status=ApplicationStatus.SUBMITTED,
        receipt_number=number,
        requested_amount=amount,
    )


def adopt(application, staff):
    return services.decision_record(
        application=application,
        outcome=ApplicationStatus.ADOPTED,
        award_amount=application.requested_amount,
        decided_by=staff,
    )


# --- the service ---------------------------------------------------------------------------------


def test_a_decision_on_an_open_call_is_refused_in_japanese(staff):
    call = open_call()
    application = submitted(call)
    with translation.override("ja"), pytest.raises(Refused) as refused:
        adopt(application, staff)
    assert refused.value.code == "call_open"
    message = refused.value.messages[0]
    assert message.startswith("W-0001：この公募は")
    assert "まで受付中です。採否の決定は締切後に行います。" in message
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not hasattr(application, "decision") or application.decision is None


def test_the_adoption_proposal_is_refused_too_while_the_call_is_open(staff):
    call = open_call()
    application = submitted(call)
    with pytest.raises(Refused) as refused:
        services.proposal_accept(call=call, application_ids=[application.pk], decided_by=staff)
    assert refused.value.code == "call_open"


def test_a_call_not_yet_closed_without_a_window_waits_as_well(staff):
    call = CallFactory(opens_at=None, closes_at=None)
    application = submitted(call)
    with translation.override("en"), pytest.raises(Refused) as refused:
        adopt(application, staff)
    assert "has not closed yet" in refused.value.messages[0]


def test_a_closed_call_and_a_call_closed_by_hand_are_decided_without_override(staff):
    closed = CallFactory()  # closed on 2025-05-30
    assert adopt(submitted(closed, "C-0001"), staff).status == ApplicationStatus.ADOPTED
    stopped = open_call(closed_manually=True)
    assert adopt(submitted(stopped, "S-0001"), staff).status == ApplicationStatus.ADOPTED


def test_staff_allow_early_decisions_with_a_reason_and_it_is_audited(staff):
    call = open_call()
    application = submitted(call)
    override = services.decisions_allow_before_close(call=call, by=staff, reason="  練習のため  ")
    assert (override.reason, override.allowed_by) == ("練習のため", staff)
    entry = AuditEntry.objects.get(action="decisions_allowed_before_close")
    assert entry.actor == staff and entry.call_id == call.pk
    with translation.override("ja"):
        sentence = describe(entry)
    assert sentence.startswith("staff-window@example.jp が ")
    assert "締切前の採否の決定を許可しました" in sentence and "練習のため" in sentence
    assert adopt(application, staff).status == ApplicationStatus.ADOPTED


@pytest.mark.parametrize(
    ("case", "code"),
    [("no reason", "reason"), ("closed", "closed"), ("twice", "allowed"), ("applicant", "forbidden")],
)
def test_the_override_is_refused(staff, case, code):
    call = CallFactory() if case == "closed" else open_call()
    by = UserFactory(role=Role.APPLICANT) if case == "applicant" else staff
    if case == "twice":
        services.decisions_allow_before_close(call=call, by=staff, reason="理由")
    with pytest.raises(Refused) as refused:
        services.decisions_allow_before_close(call=call, by=by, reason="" if case == "no reason" else "理由")
    assert refused.value.code == code
    assert DecisionWindowOverride.objects.filter(call=call).count() == (1 if case == "twice" else 0)


def test_a_practice_call_decided_early_issues_only_practice_numbers(staff, django_capture_on_commit_callbacks):
    call = open_call(is_practice=True)
    adopted, refused = submitted(call, "P-0001"), submitted(call, "P-0002")
    services.decisions_allow_before_close(call=call, by=staff, reason="練習のため")
    adopt(adopted, staff)
    services.decision_record(
        application=refused, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    numbers = sorted(Notice.objects.filter(application__call=call).values_list("document_number", flat=True))
    assert len(numbers) == 2
    assert all(n.startswith("練習用第") and n.endswith("号") for n in numbers), numbers
    assert not any("府孤" in n for n in numbers)


# --- the pages -------------------------------------------------------------------------------------


def errors(response) -> list[str]:
    """The error messages a redirect carries (read, so that the next request starts without them)."""
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def test_the_decisions_page_says_decisions_wait_and_offers_the_override(client, staff):
    call = open_call()
    submitted(call)
    client.force_login(staff)
    with translation.override("ja"):
        page = client.get(f"/staff/calls/{call.slug}/decisions/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="decision-window"' in page
    assert "採否の決定は締切後に行います" in page
    assert f"/staff/calls/{call.slug}/decisions/before-close/" in page
    assert 'name="confirm"' in page and 'name="reason"' in page
    with translation.override("en"):
        page = client.get(f"/staff/calls/{call.slug}/decisions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Decisions wait until the call closes" in page


def test_a_closed_calls_decisions_page_has_no_banner(client, staff):
    call = CallFactory()
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/decisions/").content.decode()
    assert 'data-testid="decision-window"' not in page


def test_the_override_needs_the_confirmation_and_a_reason(client, staff):
    call = open_call()
    url = f"/staff/calls/{call.slug}/decisions/before-close/"
    client.force_login(staff)
    response = client.post(url, {"reason": "練習のため"})
    assert response.status_code == 302 and len(errors(response)) == 1
    client.get(response["Location"])  # the page shows (and so consumes) the message
    response = client.post(url, {"reason": "", "confirm": "1"})
    assert response.status_code == 302 and len(errors(response)) == 1
    client.get(response["Location"])
    assert not DecisionWindowOverride.objects.exists()
    response = client.post(url, {"reason": "練習のため", "confirm": "1"})
    assert response["Location"] == f"/staff/calls/{call.slug}/decisions/"
    assert DecisionWindowOverride.objects.get(call=call).reason == "練習のため"
    page = client.get(f"/staff/calls/{call.slug}/decisions/").content.decode()
    assert "練習のため" in page and "before-close/" not in page


def test_a_refused_decision_on_the_page_tells_why(client, staff):
    call = open_call()
    application = submitted(call)
    client.force_login(staff)
    response = client.post(
        f"/staff/calls/{call.slug}/decisions/decide/",
        {
            "application": application.pk,
            f"d{application.pk}-application": application.pk,
            f"d{application.pk}-outcome": "adopted",
            f"d{application.pk}-award_amount": "1000000",
        },
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 302
    [message] = errors(response)
    assert "採否の決定は締切後に行います" in message


# The permission matrix of the new staff action (POST): who is let through, refused, or sent to log
# in / to set up two-factor authentication. Only programme staff and administrators with TOTP act.
MATRIX = {
    "anonymous": "login",
    "applicant": "forbidden",
    "reviewer": "forbidden",
    "staff_without_totp": "mfa",
    "staff": "ok",
    "administrator": "ok",
}


def _user(who):
    roles = {
        "applicant": (Role.APPLICANT, False),
        "reviewer": (Role.REVIEWER, True),
        "staff_without_totp": (Role.STAFF, False),
        "staff": (Role.STAFF, True),
        "administrator": (Role.ADMINISTRATOR, True),
    }
    if who == "anonymous":
        return None
    role, totp = roles[who]
    user = UserFactory(role=role)
    if totp:
        enable_totp(user)
    return user


def post_outcome(response, ok_location: str) -> str:
    if response.status_code == 403:
        return "forbidden"
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    if location.startswith("/accounts/login/"):
        return "login"
    if location.startswith("/accounts/2fa/"):
        return "mfa"
    assert location == ok_location, location
    return "ok"


@pytest.mark.parametrize("who", list(MATRIX))
def test_permission_matrix_of_allowing_early_decisions(client, who):
    call = open_call()
    user = _user(who)
    if user is not None:
        client.force_login(user)
    response = client.post(
        f"/staff/calls/{call.slug}/decisions/before-close/", {"reason": "練習のため", "confirm": "1"}
    )
    assert post_outcome(response, f"/staff/calls/{call.slug}/decisions/") == MATRIX[who]
    assert DecisionWindowOverride.objects.filter(call=call).exists() == (MATRIX[who] == "ok")
