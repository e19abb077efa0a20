"""Staff pages on the shared infrastructure: the outbox (every mail, filters, retry) and a call's
audit trail (prose, filters, CSV for Excel)."""

import csv
import datetime as dt
import html
import io
import re

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from applications.models import Application, ApplicationStatus
from grants import services
from grants.models import Award
from kodoku_portal.audit import audit
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail, enqueue
from tests.factories import ApplicationFactory, CallFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF, email="staff@example.jp")
    enable_totp(user)
    return user


def message(subject, to_email, *, kind="notice", status=OutboxStatus.QUEUED, error=""):
    with transaction.atomic():
        row = enqueue(Mail(kind=kind, subject=subject, to_email=to_email))
    OutboxMessage.objects.filter(pk=row.pk).update(status=status, last_error=error, attempts=int(bool(error)))
    return OutboxMessage.objects.get(pk=row.pk)


# --- the outbox page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), (Role.APPLICANT, 403), (Role.REVIEWER, 403), (Role.STAFF, 200), (Role.ADMINISTRATOR, 200)],
)
def test_the_outbox_is_for_staff_roles_only(client, role, expected):
    if role is not None:
        user = UserFactory(role=role)
        enable_totp(user)
        client.force_login(user)
    assert client.get("/staff/outbox/").status_code == expected
    assert client.post("/staff/outbox/1/retry/").status_code == (403 if expected == 403 else 302)


def test_the_outbox_lists_filters_and_pages_newest_first(client, staff):
    application = ApplicationFactory()
    failed = message(application, "a@example.jp", status=OutboxStatus.FAILED, error="SMTP 451 try later")
    message(application, "b@example.jp", kind="reminder_deadline", status=OutboxStatus.SENT)
    client.force_login(staff)
    page = client.get("/staff/outbox/").content.decode()
    assert page.count('data-testid="outbox-row"') == 2
    assert page.index("b@example.jp") < page.index("a@example.jp")  # newest first
    assert "SMTP 451 try later" in page
    only_failed = client.get("/staff/outbox/?status=failed").content.decode()
    assert only_failed.count('data-testid="outbox-row"') == 1 and "a@example.jp" in only_failed
    assert f"/staff/outbox/{failed.pk}/retry/" in only_failed  # a failed message can be sent again
    reminders = client.get("/staff/outbox/?kind=reminder_deadline").content.decode()
    assert reminders.count('data-testid="outbox-row"') == 1 and "b@example.jp" in reminders
    assert "/retry/" not in reminders  # not for a sent one


def test_the_outbox_shows_fifty_a_page(client, staff):
    application = ApplicationFactory()
    for index in range(51):
        message(application, f"person{index}@example.jp")
    client.force_login(staff)
    first = client.get("/staff/outbox/").content.decode()
    second = client.get("/staff/outbox/?page=2").content.decode()
    assert first.count('data-testid="outbox-row"') == 50 and "person50@example.jp" in first
    assert second.count('data-testid="outbox-row"') == 1 and "person0@example.jp" in second


def test_staff_send_a_failed_message_again(client, staff, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call = CallFactory(cap_amount=2_000_000, budget_total=None)
    application = ApplicationFactory(
        call=call, status=ApplicationStatus.SUBMITTED, receipt_number="R-0001", requested_amount=1_000_000
    )
    application.organisation.email = "org@example.jp"
    application.organisation.save()
    services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=1_000_000, decided_by=staff
    )
    settings.EMAIL_BACKEND = "tests.grants.mail_backends.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    failed = OutboxMessage.objects.get()
    assert failed.status == OutboxStatus.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/outbox/{failed.pk}/retry/", {"next": "/staff/outbox/?status=failed"})
    assert response.status_code == 302 and response["Location"] == "/staff/outbox/?status=failed"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxStatus.SENT, 2)
    assert application.notice.__class__.objects.get().emailed_at is not None
    # A message that is not failed is not sent again; the page says why.
    response = client.post(f"/staff/outbox/{failed.pk}/retry/", {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[0][0] == "/staff/outbox/"
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
    failed.refresh_from_db()
    assert failed.attempts == 2


# --- the audit page ---------------------------------------------------------------------------


@pytest.fixture
def trail(staff):
    """A call with two decisions by two people, a publication, and an award entry written before
    entries carried their call; and another call's decision."""
    call = CallFactory(title="=1+1 公募", cap_amount=2_000_000, budget_total=None)
    other_staff = UserFactory(role=Role.STAFF, email="other@example.jp")
    first, second = (
        ApplicationFactory(
            call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"T-000{i}", requested_amount=1_000_000
        )
        for i in (1, 2)
    )
    services.decision_record(
        application=first, outcome=ApplicationStatus.ADOPTED, award_amount=900_000, decided_by=staff
    )
    services.decision_record(
        application=second, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=other_staff
    )
    award = Award.objects.create(application=first)
    with transaction.atomic():
        audit(actor=staff, action="award_granted", obj=award, before=None, after={"status": "granted"})
    assert AuditEntry.objects.get(action="award_granted").call_id is None  # an older kind of entry
    services.adoptions_publish(call=call, publish=False, by=staff)
    elsewhere = ApplicationFactory(status=ApplicationStatus.SUBMITTED, receipt_number="X-0001", requested_amount=1)
    services.decision_record(
        application=elsewhere, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
    )
    return call, other_staff


def test_the_audit_page_tells_the_calls_trail_in_words(client, staff, trail):
    call, _other = trail
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/audit/").content.decode()
    assert page.count('data-testid="audit-row"') == 4  # two decisions, the older award entry, the withdrawal
    assert "staff@example.jp" in page and "other@example.jp" in page
    assert "900,000" in page
    assert "X-0001" not in page  # another call's


def test_the_audit_page_filters_by_person_and_kind(client, staff, trail):
    call, other = trail
    client.force_login(staff)
    by_other = client.get(f"/staff/calls/{call.slug}/audit/?actor={other.pk}").content.decode()
    assert by_other.count('data-testid="audit-row"') == 1
    decisions = client.get(f"/staff/calls/{call.slug}/audit/?action=decision").content.decode()
    assert decisions.count('data-testid="audit-row"') == 2
    both = client.get(f"/staff/calls/{call.slug}/audit/?action=decision&actor={staff.pk}").content.decode()
    assert both.count('data-testid="audit-row"') == 1


def test_the_audit_trail_downloads_as_csv_for_excel(client, staff, trail):
    call, other = trail
    client.force_login(staff)
    response = client.get(f"/staff/calls/{call.slug}/audit/?format=csv&actor={other.pk}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert len(header) == 6 and len(rows) == 1
    assert rows[0][1] == "other@example.jp" and rows[0][3] == "採否の決定"  # the action by its label
    everything = b"".join(client.get(f"/staff/calls/{call.slug}/audit/?format=csv").streaming_content).decode()
    [withdrawal] = [row for row in csv.reader(io.StringIO(everything)) if row[3] == "採択事業一覧の公表取下げ"]
    assert withdrawal[4] == "'=1+1 公募"  # a cell Excel would run as a formula is made text


def test_the_outbox_names_kinds_and_subjects_as_staff_read_them(client, staff, django_assert_max_num_queries):
    """Labels, not codes: the kind as its app registered it, the subject by its receipt number,
    with one query per kind of subject however many rows the page holds."""
    applications = [ApplicationFactory(receipt_number=f"T-{n:04d}") for n in range(1, 4)]
    for application in applications:
        message(application, f"{application.receipt_number.lower()}@example.jp", kind="receipt")
    client.force_login(staff)
    page = client.get("/staff/outbox/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "受付票" in page and ">receipt<" not in page
    assert all(application.receipt_number in page for application in applications)
    assert "applications.Application:" not in page
    with django_assert_max_num_queries(12):
        client.get("/staff/outbox/")
    for n in range(4, 30):
        message(ApplicationFactory(receipt_number=f"T-{n:04d}"), f"t{n}@example.jp", kind="receipt")
    with django_assert_max_num_queries(12):
        client.get("/staff/outbox/")


def test_the_audit_page_names_objects_in_words_and_shows_values_by_label(client, staff, trail):
    call, _other = trail
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/audit/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    shown = html.unescape(re.sub(r"<[^>]+>", " ", page))  # what a person reads (no tags, no attributes)
    first = Application.objects.get(receipt_number="T-0001")
    assert f"申請 T-0001（{first.organisation.name}）" in shown
    assert f"採択事業 T-0001（{first.organisation.name}）" in shown  # the older award entry
    assert "採択額：— → 900,000円" in shown
    for raw in ("grants.Award", "applications.Application", "{'", "award_granted", "adoptions_withdrawn", "decision"):
        assert raw not in shown
    assert '<option value="decision">採否の決定</option>' in page  # the kind filter offers labels


def test_the_audit_page_filters_by_object_kind_and_days(client, staff, trail):
    call, _other = trail
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/audit/"
    awards = client.get(f"{url}?object_type=grants.Award").content.decode()
    assert awards.count('data-testid="audit-row"') == 1
    today = timezone.localdate()
    days = f"since={today:%Y-%m-%d}&until={today:%Y-%m-%d}"
    assert client.get(f"{url}?{days}").content.decode().count('data-testid="audit-row"') == 4
    tomorrow = today + dt.timedelta(days=1)
    assert client.get(f"{url}?since={tomorrow:%Y-%m-%d}").content.decode().count('data-testid="audit-row"') == 0
    # The filters stay in the query string and in the form.
    kept = client.get(f"{url}?object_type=applications.Application&{days}").content.decode()
    assert kept.count('data-testid="audit-row"') == 2
    assert f'value="{today:%Y-%m-%d}"' in kept
    # A range that ends before it starts is said so, and nothing is filtered by it.
    wrong = client.get(f"{url}?since={tomorrow:%Y-%m-%d}&until={today:%Y-%m-%d}", HTTP_ACCEPT_LANGUAGE="ja")
    assert "終わりの日が始まりの日より前になっています。" in wrong.content.decode()


def test_the_audit_pages_queries_do_not_grow_with_rows(client, staff, trail, django_assert_max_num_queries):
    call, _other = trail
    client.force_login(staff)
    url = f"/staff/calls/{call.slug}/audit/"
    with django_assert_max_num_queries(16) as few:
        client.get(url)
    for n in range(3, 15):
        application = ApplicationFactory(
            call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"T-{n:04d}", requested_amount=1
        )
        services.decision_record(
            application=application, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count('data-testid="audit-row"') == 16
