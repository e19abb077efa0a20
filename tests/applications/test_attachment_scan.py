"""The virus check of attachments (issue 13 item 5): an upload is recorded with its scan job in one
transaction; the job runs ATTACHMENT_SCAN_COMMAND and the attachment becomes 問題なし (clean) or
隔離 (quarantined), or 検査失敗 (error), which is retried and, once the attempts are spent, shown to
staff. A file is served only when clean (or when scanning is disabled: 未検査).

The scanner is tests/support/stub_scanner.py, which answers as clamdscan does (0 clean, 1 infected,
2 error) and finds the EICAR test string: Debian's clamav installs here but its signature
database cannot be downloaded offline, and clamscan refuses to run without one. One test runs
ClamAV itself (clamscan) with a one-signature database it writes (EICAR). The file kind is
PDF: the EICAR string in a PDF comment passes the type checks (applications/filetypes.py), which
run first, in the request; only a file that passed them is stored and scanned.
"""

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from accounts.models import Role
from applications.models import Attachment, ScanStatus
from kodoku_portal import jobs
from kodoku_portal.models import AuditEntry, Job, JobStatus
from tests.factories import UserFactory, enable_totp
from tests.support.stub_scanner import EICAR, FAIL_MARK

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_pages(client):
    """Pages in English (the assertions read English; Japanese is the catalogue's business)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


STUB = Path(__file__).resolve().parents[1] / "support" / "stub_scanner.py"


def pdf(comment: bytes = b"clean") -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\n%" + comment + b"\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def scanner(settings):
    settings.ATTACHMENT_SCAN_COMMAND = f"{sys.executable} {STUB} {{path}}"
    settings.JOB_MAX_ATTEMPTS = 3
    return settings


def upload(client, application, content, name="定款.pdf", capture=None):
    """Upload through the page; the scan job runs when the upload's transaction commits
    (in-process Celery in these tests)."""
    with capture(execute=True):
        return client.post(
            f"/applications/{application.pk}/attachments/",
            {"kind": "articles", "file": SimpleUploadedFile(name, content)},
            follow=True,
        )


def download(client, attachment):
    response = client.get(f"/applications/{attachment.application_id}/attachments/{attachment.pk}/")
    for closer in response._resource_closers:  # the file; response.close() would also end the
        closer()  # "request" and close the test's database connection on PostgreSQL
    response._resource_closers.clear()
    return response


def test_a_clean_file_is_checked_and_then_served(client, draft, member, scanner, django_capture_on_commit_callbacks):
    client.force_login(member)
    upload(client, draft, pdf(), capture=django_capture_on_commit_callbacks)
    attachment = Attachment.objects.get(application=draft)
    assert attachment.scan_status == ScanStatus.CLEAN
    assert "OK" in attachment.scan_detail and attachment.scanned_at is not None
    job = Job.objects.get(subject_type="applications.Attachment", subject_id=attachment.pk)
    assert (job.kind, job.status, job.attempts) == ("scan_attachment", JobStatus.DONE, 1)
    assert download(client, attachment).status_code == 200
    entry = AuditEntry.objects.get(action="attachment_scan_clean")
    assert entry.actor is None and entry.call_id == draft.call_id
    assert (entry.before["scan_status"], entry.after["scan_status"]) == ("pending", "clean")


def test_the_eicar_file_is_quarantined_and_never_served(
    client, draft, member, scanner, django_capture_on_commit_callbacks
):
    client.force_login(member)
    with translation.override("en"):
        upload(client, draft, pdf(EICAR), capture=django_capture_on_commit_callbacks)
        attachment = Attachment.objects.get(application=draft)
        assert attachment.scan_status == ScanStatus.QUARANTINED
        assert "Eicar-Test-Signature FOUND" in attachment.scan_detail
        refused = download(client, attachment)
        assert refused.status_code == 403
        assert refused["Content-Type"].startswith("text/html")
        page = refused.content.decode()
        assert "Quarantined" in page and "malicious content" in page
        form = client.get(f"/applications/{draft.pk}/section/attachments/").content.decode()
        assert 'data-testid="quarantine-note"' in form and ">Quarantined<" in form
    assert AuditEntry.objects.filter(action="attachment_scan_quarantined").count() == 1


def test_a_file_being_checked_is_not_served_and_says_so(client, draft, member, scanner):
    client.force_login(member)
    # The job is recorded, but its commit callbacks never run: no worker has taken it yet.
    with translation.override("en"):
        client.post(
            f"/applications/{draft.pk}/attachments/",
            {"kind": "articles", "file": SimpleUploadedFile("定款.pdf", pdf())},
        )
        attachment = Attachment.objects.get(application=draft)
        assert attachment.scan_status == ScanStatus.PENDING
        assert Job.objects.get(subject_id=attachment.pk).status == JobStatus.QUEUED
        refused = download(client, attachment)
        assert refused.status_code == 403 and "being checked for viruses" in refused.content.decode()
        assert ">Being checked<" in client.get(f"/applications/{draft.pk}/section/attachments/").content.decode()


def test_a_failing_scanner_is_retried_and_then_shown_to_staff(
    client, draft, member, scanner, django_capture_on_commit_callbacks
):
    client.force_login(member)
    upload(client, draft, pdf(FAIL_MARK), capture=django_capture_on_commit_callbacks)
    attachment = Attachment.objects.get(application=draft)
    job = Job.objects.get(subject_id=attachment.pk, kind="scan_attachment")
    assert attachment.scan_status == ScanStatus.ERROR
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert "exit code 2" in job.last_error and job.next_attempt_at is not None
    assert download(client, attachment).status_code == 403

    # The sweeper runs it again after each back-off, until the attempts are spent.
    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.sweep(now=timezone.now() + dt.timedelta(hours=2)) == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.next_attempt_at) == (JobStatus.FAILED, 3, None)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=timezone.now() + dt.timedelta(hours=4)) == 0
    assert AuditEntry.objects.filter(action="attachment_scan_error").count() == 1  # one change of state

    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    with translation.override("en"):
        page = client.get("/staff/outbox/").content.decode()
    assert page.count('data-testid="job-row"') == 1 and "Virus check of an attachment" in page
    assert page.count('data-testid="unopenable-row"') == 1 and "定款.pdf" in page and "Check failed" in page


def test_staff_run_a_failed_check_again_and_it_recovers(
    client, draft, member, scanner, django_capture_on_commit_callbacks, tmp_path, monkeypatch
):
    broken = tmp_path / "scanner-down"
    broken.touch()
    monkeypatch.setenv("STUB_SCANNER_FAIL_FILE", str(broken))
    scanner.JOB_MAX_ATTEMPTS = 1
    client.force_login(member)
    upload(client, draft, pdf(), capture=django_capture_on_commit_callbacks)
    attachment = Attachment.objects.get(application=draft)
    job = Job.objects.get(subject_id=attachment.pk)
    assert (attachment.scan_status, job.status, job.next_attempt_at) == (ScanStatus.ERROR, JobStatus.FAILED, None)

    broken.unlink()  # the scanning daemon is back
    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/jobs/{job.pk}/retry/", {"next": "/staff/outbox/"})
    assert response.status_code == 302 and response["Location"] == "/staff/outbox/"
    attachment.refresh_from_db()
    job.refresh_from_db()
    assert (attachment.scan_status, job.status) == (ScanStatus.CLEAN, JobStatus.DONE)
    client.force_login(member)
    assert download(client, attachment).status_code == 200


def test_with_scanning_disabled_files_are_not_scanned_and_served(client, draft, member, settings):
    settings.ATTACHMENT_SCAN_COMMAND = ""
    client.force_login(member)
    client.post(
        f"/applications/{draft.pk}/attachments/",
        {"kind": "articles", "file": SimpleUploadedFile("定款.pdf", pdf(EICAR))},
    )
    attachment = Attachment.objects.get(application=draft)
    assert attachment.scan_status == ScanStatus.NOT_SCANNED
    assert not Job.objects.exists()
    assert download(client, attachment).status_code == 200


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", "login"),
        ("applicant", 403),
        ("reviewer", 403),
        ("staff_without_totp", "mfa"),
        ("staff", 302),
        ("administrator", 302),
    ],
)
def test_who_may_run_a_job_again(client, who, expected):
    """The role matrix of POST /staff/jobs/<pk>/retry/ (a POST-only page, so not in the GET matrix
    of tests/accounts/test_access_matrix.py)."""
    job = Job.objects.create(
        kind="scan_attachment",
        subject_type="applications.Attachment",
        subject_id=1,
        status=JobStatus.FAILED,
    )
    if who != "anonymous":
        role = {"staff_without_totp": Role.STAFF, "administrator": Role.ADMINISTRATOR}.get(who, who)
        user = UserFactory(role=Role(role))
        if who != "staff_without_totp":
            enable_totp(user)
        client.force_login(user)
    response = client.post(f"/staff/jobs/{job.pk}/retry/", {"next": "/staff/outbox/"})
    if expected == "login":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif expected == "mfa":
        assert response.status_code == 302 and "/accounts/2fa/" in response["Location"]
    else:
        assert response.status_code == expected
    job.refresh_from_db()
    assert job.status == (JobStatus.QUEUED if expected == 302 else JobStatus.FAILED)
    assert client.get(f"/staff/jobs/{job.pk}/retry/").status_code in (302, 403, 405)


CLAMSCAN = shutil.which("clamscan")


@pytest.mark.skipif(not CLAMSCAN, reason="ClamAV is not installed: apt-get install -y clamav (.ci/run does)")
def test_clamav_itself_quarantines_the_eicar_file(
    client, draft, member, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Debian's ClamAV (clamscan) as the scan command. Its signature database cannot be
    downloaded here (freshclam needs ClamAV's mirrors), so the test gives it a database of one
    signature it writes itself: the EICAR test string, as a ClamAV body signature (.ndb). The
    engine, its exit codes and the portal's handling of them are the real ones."""
    database = tmp_path / "eicar.ndb"
    database.write_text(f"Kodoku.Test.EICAR:0:*:{EICAR.hex()}\n")
    settings.ATTACHMENT_SCAN_COMMAND = f"{CLAMSCAN} --no-summary --database={database} {{path}}"
    client.force_login(member)
    upload(client, draft, pdf(EICAR), name="eicar.pdf", capture=django_capture_on_commit_callbacks)
    upload(client, draft, pdf(), name="clean.pdf", capture=django_capture_on_commit_callbacks)
    states = dict(Attachment.objects.filter(application=draft).values_list("original_name", "scan_status"))
    assert states == {"eicar.pdf": ScanStatus.QUARANTINED, "clean.pdf": ScanStatus.CLEAN}
    infected = Attachment.objects.get(original_name="eicar.pdf")
    assert "Kodoku.Test.EICAR" in infected.scan_detail and "FOUND" in infected.scan_detail


def test_an_application_with_a_quarantined_file_cannot_be_submitted(
    client, draft, member, scanner, django_capture_on_commit_callbacks
):
    from applications.checks import application_problems

    client.force_login(member)
    upload(client, draft, pdf(EICAR), name="eicar.pdf", capture=django_capture_on_commit_callbacks)
    with translation.override("en"):
        problems = [problem.message for problem in application_problems(draft) if problem.field == "attachments"]
    assert problems == ["The virus check quarantined eicar.pdf: remove it and attach a clean copy."]
