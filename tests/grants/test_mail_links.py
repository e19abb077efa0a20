"""nc-nav (issue 12, item 7): the mails after the review — notice, letters, the award's due-date
reminder — link on PORTAL_BASE_URL only and name the portal."""

import datetime as dt

import pytest

from accounts.models import Role
from grants.documents import notice_email
from grants.letters import letter_email, letter_render
from grants.models import AwardStatus, LetterKind, ReminderKind
from grants.reminders import _context, award_dues, build_message
from grants.services import notice_render
from tests.factories import UserFactory
from tests.support.mail_links import BASE_URL, assert_portal_mail

from .test_letters import GRANT_DETAILS, case_at, issue
from .test_notices_pdf import make_notice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _base_url(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PORTAL_BASE_URL = BASE_URL


def test_the_notice_mail_links_on_the_base_url_and_names_the_portal():
    notice = make_notice(UserFactory(role=Role.STAFF))
    notice = notice_render(notice_id=notice.pk)
    message = notice_email(notice, to=["office@example.jp"])
    assert_portal_mail(message, f"/applications/{notice.application_id}/")


def test_a_letter_mail_links_on_the_base_url_and_names_the_portal():
    case = case_at()
    letter = letter_render(letter_id=issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS).pk)
    message = letter_email(letter, to=["office@example.jp"])
    assert_portal_mail(message, f"/applications/{case.application.pk}/award/")


def test_the_award_reminder_links_on_the_base_url_and_names_the_portal():
    case = case_at(AwardStatus.GRANTED)
    case.award.final_report_due = dt.date.today() + dt.timedelta(days=7)
    case.award.save()
    owed = award_dues(case.award)
    assert owed, "the award owes a report"
    message = build_message(ReminderKind.REPORT, case.member, _context(ReminderKind.REPORT, case.award.pk, owed[0].key))
    assert_portal_mail(message, f"/applications/{case.application.pk}/award/")
