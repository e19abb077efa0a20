"""nc-nav (issue 12, item 7): the interview slot mail and the review reminder link on
PORTAL_BASE_URL only and name the portal."""

import pytest
from django.core import mail

from grants.models import ReminderKind
from grants.reminders import _context, build_message
from reviews import services, stages
from reviews.models import Assignment, ReviewPhase
from tests.support.mail_links import BASE_URL, assert_portal_mail

from .conftest import make_reviewer, submitted
from .test_stages import SLOT_AT, _send_all, _with_address, documents_scored, two_stage  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.PORTAL_BASE_URL = BASE_URL


def test_the_interview_slot_mail_links_on_the_base_url_and_names_the_portal(documents_scored, two_stage, staff):  # noqa: F811
    a = _with_address(documents_scored[0])
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="中央合同庁舎8号館", by=staff)
    _send_all()
    assert len(mail.outbox) == 1
    assert_portal_mail(mail.outbox[0], f"/applications/{a.pk}/")


def test_the_review_reminder_links_on_the_base_url_and_names_the_portal(call, staff):
    application = submitted(call, 1)[0]
    reviewer = make_reviewer()
    services.review_round_for(call=call)
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    services.assignments_bulk(applications=[application], reviewers=[reviewer], due_at=None, assigned_by=staff)
    assignment = Assignment.objects.get(application=application, reviewer=reviewer)
    context = _context(ReminderKind.REVIEW, assignment.pk, "")
    assert context is not None
    message = build_message(ReminderKind.REVIEW, reviewer, context)
    assert_portal_mail(message, f"/reviews/assignments/{assignment.pk}/", "/accounts/reminders/")
