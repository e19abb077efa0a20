"""Rules that forms, services, checks and pages share are written once (applications/checks.py,
services.DRAFT_FIELDS): each caller gives the same answer."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from applications import services
from applications.checks import (
    CORPORATE_NUMBER_MISSING,
    CORPORATE_NUMBER_UNEXPECTED,
    amount_over_cap,
    application_problems,
    corporate_number_problem,
    project_period_problem,
)
from applications.forms import ApplicationForm
from calls.models import ApplicantType
from tests.factories import CallFactory

from .conftest import COMPLETE_FIELDS, corporate_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def voluntary(db):
    return ApplicantType.objects.get_or_create(
        code="voluntary", defaults={"name": "任意団体", "has_corporate_number": False}
    )[0]


def test_the_draft_form_shows_exactly_the_fields_a_save_may_change(open_call):
    form = ApplicationForm(call=open_call)
    assert [name for name in form.fields if name != "version"] == list(services.DRAFT_FIELDS)


def test_corporate_number_against_the_legal_form(npo_type, voluntary):
    assert corporate_number_problem(npo_type, "") == CORPORATE_NUMBER_MISSING
    assert corporate_number_problem(npo_type, corporate_number()) is None
    assert corporate_number_problem(voluntary, "") is None
    assert corporate_number_problem(voluntary, corporate_number()) == CORPORATE_NUMBER_UNEXPECTED


def test_the_service_refuses_a_number_for_a_body_without_legal_personality(voluntary):
    with pytest.raises(ValidationError):
        services.organisation_create(
            name="任意の会", applicant_type=voluntary, prefecture="13", corporate_number=corporate_number()
        )


def test_the_submission_check_asks_a_corporation_for_its_number(complete_draft):
    organisation = complete_draft.organisation
    organisation.corporate_number = ""
    organisation.save()
    assert any("法人番号" in problem.message for problem in application_problems(complete_draft))


def test_project_period():
    assert project_period_problem(dt.date(2025, 7, 1), dt.date(2025, 7, 1)) is None
    assert project_period_problem(dt.date(2025, 7, 2), dt.date(2025, 7, 1))
    assert project_period_problem(None, dt.date(2025, 7, 1)) is None


def test_the_draft_form_refuses_a_period_that_ends_before_it_starts(open_call):
    form = ApplicationForm({"version": 1, "period_start": "2025-07-02", "period_end": "2025-07-01"}, call=open_call)
    assert not form.is_valid()
    assert form.errors["period_end"] == [project_period_problem(dt.date(2025, 7, 2), dt.date(2025, 7, 1))]


def test_amount_over_cap(db):
    capped = CallFactory(cap_amount=2_000_000)
    assert amount_over_cap(capped, 2_000_000) == 0
    assert amount_over_cap(capped, 2_000_001) == 1
    assert amount_over_cap(CallFactory(cap_amount=None), 10**9) == 0


def test_autosave_reports_over_cap_by_the_same_rule(client, complete_draft, member):
    client.force_login(member)
    data = {
        **{key: value for key, value in COMPLETE_FIELDS.items() if not isinstance(value, list | bool)},
        "theme": complete_draft.theme_id,
        "version": complete_draft.version,
        "budget-TOTAL_FORMS": "1",
        "budget-INITIAL_FORMS": "0",
        "budget-0-category": "honoraria",
        "budget-0-description": "謝金",
        "budget-0-quantity": "1",
        "budget-0-unit_price": str(complete_draft.call.cap_amount + 1),
    }
    response = client.post(f"/applications/{complete_draft.pk}/save/", data, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 200, response.content
    assert response.json()["over_cap"] is True
