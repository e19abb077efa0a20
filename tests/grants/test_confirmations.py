"""nc-nav (issue 12, item 3): sending a call's notices, publishing the adopted list and 額の確定
happen only when the form's confirmation box, which names the consequence, was ticked — checked
by the server, not only by the browser."""

import pytest
from django.contrib.messages import get_messages
from django.utils import translation

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services
from grants.models import AwardStatus, Notice
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp
from tests.grants.lifecycle import award_at
from tests.grants.test_money_services import ALL_ELIGIBLE, final_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


@pytest.fixture
def adopted(staff):
    call = CallFactory(cap_amount=2_000_000, budget_total=10_000_000)
    application = ApplicationFactory(
        call=call,
        organisation=OrganisationFactory(email="office@example.jp"),
        status=ApplicationStatus.SUBMITTED,
        receipt_number="C-0001",
        requested_amount=1_500_000,
    )
    services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=1_500_000, decided_by=staff
    )
    return call


def errors(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def test_the_notices_page_names_the_consequence_in_its_confirmation_box(client, staff, adopted):
    client.force_login(staff)
    with translation.override("en"):
        page = client.get(f"/staff/calls/{adopted.slug}/notices/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="confirm"' in page and "required" in page
    assert "mailed to its organisation at once" in page and "cannot be recalled" in page


def test_notices_are_not_sent_without_confirmation(client, staff, adopted, django_capture_on_commit_callbacks):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/calls/{adopted.slug}/notices/send/")
    assert response.status_code == 302
    assert not Notice.objects.filter(application__call=adopted).exists()
    assert len(errors(response)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/calls/{adopted.slug}/notices/send/", {"confirm": "1"})
    assert Notice.objects.filter(application__call=adopted).count() == 1


def test_the_adopted_list_is_not_published_without_confirmation(
    client, staff, adopted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=adopted, created_by=staff)
    client.force_login(staff)
    with translation.override("en"):
        page = client.get(f"/staff/calls/{adopted.slug}/decisions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "shown to anyone on the public page" in page
    response = client.post(f"/staff/calls/{adopted.slug}/decisions/publish/", {"publish": "1"})
    assert response.status_code == 302 and len(errors(response)) == 1
    adopted.refresh_from_db()
    assert adopted.adoptions_published_at is None
    client.post(f"/staff/calls/{adopted.slug}/decisions/publish/", {"publish": "1", "confirm": "1"})
    adopted.refresh_from_db()
    assert adopted.adoptions_published_at is not None
    # Withdrawing the public list is not irreversible: no confirmation is asked.
    client.post(f"/staff/calls/{adopted.slug}/decisions/publish/", {"publish": "0"})
    adopted.refresh_from_db()
    assert adopted.adoptions_published_at is None


def test_the_amount_is_not_confirmed_without_confirmation(client):
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    client.force_login(case.staff)
    with translation.override("en"):
        page = client.get(f"/staff/awards/{case.award.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "it cannot be undone" in page
    response = client.post(f"/staff/awards/{case.award.pk}/confirm/", {"amount": "", "scheduled_on": ""})
    assert response.status_code == 302
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORT_ACCEPTED and case.award.confirmed_amount is None
    assert not case.award.letters.exists()
    client.post(f"/staff/awards/{case.award.pk}/confirm/", {"amount": "", "scheduled_on": "", "confirm": "on"})
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.CONFIRMED
