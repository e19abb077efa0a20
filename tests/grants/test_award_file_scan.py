"""The virus check of grants' uploaded files (issue 13 item 5, branch g-scan): a report's evidence
and an award's documents are checked as an application's attachment is (applications/scans.py, one
job kind and handler for every ScannedFile), served only when cleared (member, staff and the
dossier), shown with their state on the award page and on the staff outbox page, and a filing that
holds a file the check has not cleared is not filed again or accepted.

The scanner is tests/support/stub_scanner.py (exit codes as clamdscan's; it finds the EICAR test
string, hidden in a PDF comment that passes the upload's type checks): ClamAV's signature database
cannot be downloaded offline. tests/applications/test_attachment_scan.py runs ClamAV itself."""

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from applications.models import ScanStatus
from grants import grant_steps, report_steps
from grants.grant_steps import DocumentInput
from grants.models import AwardDocument, AwardStatus, CostVerdict, Evidence, ReportStatus
from grants.report_steps import CostInput
from kodoku_portal import jobs
from kodoku_portal.models import AuditEntry, Job, JobStatus
from kodoku_portal.workflow import Refused
from tests.grants.lifecycle import award_at
from tests.grants.test_grant_filing import file as file_grant_application
from tests.grants.test_report_steps import file_report
from tests.support.stub_scanner import EICAR

pytestmark = pytest.mark.django_db

STUB = Path(__file__).resolve().parents[1] / "support" / "stub_scanner.py"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def scanner(settings):
    settings.ATTACHMENT_SCAN_COMMAND = f"{sys.executable} {STUB} {{path}}"
    settings.JOB_MAX_ATTEMPTS = 3
    return settings


def pdf(comment: bytes = b"clean") -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\n%" + comment + b"\ntrailer<<>>\n%%EOF\n"


def get(client, url):
    response = client.get(url)
    if response.streaming:
        body = b"".join(response.streaming_content)  # consuming the stream closes the file
        return response, body
    return response, response.content


def upload_evidence(client, case, line, content, name, capture=None):
    """Upload through the member's page; with ``capture`` the scan job runs when the upload's
    transaction commits (in-process Celery), without it no worker has taken the job yet."""
    client.force_login(case.member)
    data = {f"evidence-{line.pk}-kind": "receipt", f"evidence-{line.pk}-file": SimpleUploadedFile(name, content)}
    url = f"/applications/{case.application.pk}/award/reports/{line.report_id}/lines/{line.pk}/evidence/"
    if capture is None:
        return client.post(url, data)
    with capture(execute=True):
        return client.post(url, data)


def dossier_manifest(client, case) -> tuple[zipfile.ZipFile, dict]:
    import csv

    from grants import dossier

    client.force_login(case.staff)
    response = client.get(f"/staff/applications/{case.application.pk}/dossier.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = csv.DictReader(io.StringIO(archive.read(dossier.MANIFEST).decode("utf-8-sig")))
    return archive, {row["path"].rsplit("/", 1)[-1]: row["status"] for row in rows}


def test_eicar_evidence_is_quarantined_and_never_served(client, scanner, django_capture_on_commit_callbacks):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.first()
    upload_evidence(client, case, line, pdf(EICAR), "eicar領収書.pdf", capture=django_capture_on_commit_callbacks)
    evidence = Evidence.objects.get(cost=line)
    assert evidence.scan_status == ScanStatus.QUARANTINED
    assert "Eicar-Test-Signature FOUND" in evidence.scan_detail
    job = Job.objects.get(subject_type="grants.Evidence", subject_id=evidence.pk)
    assert (job.kind, job.status) == ("scan_attachment", JobStatus.DONE)
    entry = AuditEntry.objects.get(action="attachment_scan_quarantined")
    assert entry.actor is None and entry.call_id == case.call.pk and entry.object_type == "grants.Evidence"

    # The member: the page that says why, never the file; the award page shows the state.
    client.force_login(case.member)
    refused, body = get(client, f"/awards/evidence/{evidence.pk}/")
    assert refused.status_code == 403 and refused["Content-Type"].startswith("text/html")
    assert b"malicious content" in body and EICAR not in body
    page = client.get(f"/applications/{case.application.pk}/award/").content.decode()
    assert ">Quarantined<" in page and 'data-testid="quarantine-note"' in page
    # Staff: refused the same way.
    client.force_login(case.staff)
    refused, body = get(client, f"/awards/evidence/{evidence.pk}/")
    assert refused.status_code == 403 and EICAR not in body
    assert ">Quarantined<" in client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    # The dossier lists it as withheld, without its bytes.
    archive, manifest = dossier_manifest(client, case)
    name = f"{evidence.pk}_eicar領収書.pdf"
    assert manifest[name] == "withheld (quarantined)"
    assert not any(info.filename.endswith(name) for info in archive.infolist())
    # The staff outbox page lists it with the application's call and organisation.
    outbox = client.get("/staff/outbox/").content.decode()
    assert outbox.count('data-testid="unopenable-row"') == 1 and "eicar領収書.pdf" in outbox
    assert case.application.organisation.name in outbox


def test_clean_evidence_and_documents_are_served(client, scanner, django_capture_on_commit_callbacks):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.first()
    upload_evidence(client, case, line, pdf(), "領収書.pdf", capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        document = report_steps.report_document_add(
            report=report, title="成果物", upload=SimpleUploadedFile("成果物.pdf", pdf()), by=case.member
        )
    evidence = Evidence.objects.get(cost=line)
    document.refresh_from_db()
    assert (evidence.scan_status, document.scan_status) == (ScanStatus.CLEAN, ScanStatus.CLEAN)
    for user in (case.member, case.staff):
        client.force_login(user)
        for url in (f"/awards/evidence/{evidence.pk}/", f"/awards/report-documents/{document.pk}/"):
            response, body = get(client, url)
            assert response.status_code == 200 and body == pdf()
            assert response["X-Content-Type-Options"] == "nosniff"
    assert ">No problem found<" in client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    _archive, manifest = dossier_manifest(client, case)
    assert manifest[f"{evidence.pk}_領収書.pdf"] == "ok"
    assert manifest[f"{document.pk}_成果物.pdf"] == "ok"


def test_evidence_being_checked_is_refused_with_an_explanation(client, scanner):
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    response = upload_evidence(client, case, line, pdf(), "領収書.pdf")  # the job is recorded; no worker took it yet
    told = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("being checked for viruses" in message for message in told)
    evidence = Evidence.objects.get(cost=line)
    assert evidence.scan_status == ScanStatus.PENDING
    assert Job.objects.get(subject_type="grants.Evidence", subject_id=evidence.pk).status == JobStatus.QUEUED
    for user in (case.member, case.staff):
        client.force_login(user)
        refused, body = get(client, f"/awards/evidence/{evidence.pk}/")
        assert refused.status_code == 403 and b"being checked for viruses" in body
    _archive, manifest = dossier_manifest(client, case)
    assert manifest[f"{evidence.pk}_領収書.pdf"] == "withheld (pending)"


def test_the_sweeper_runs_a_lost_evidence_scan(client, scanner, django_capture_on_commit_callbacks):
    """The broker lost the dispatch (the upload's commit callbacks never ran): the periodic sweep
    dispatches the job again and the same handler records the verdict on the evidence."""
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    upload_evidence(client, case, line, pdf(EICAR), "eicar.pdf")
    evidence = Evidence.objects.get(cost=line)
    assert evidence.scan_status == ScanStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=timezone.now() + dt.timedelta(hours=1)) == 1
    evidence.refresh_from_db()
    job = Job.objects.get(subject_type="grants.Evidence", subject_id=evidence.pk)
    assert (evidence.scan_status, job.status, job.attempts) == (ScanStatus.QUARANTINED, JobStatus.DONE, 1)


def test_a_report_carrying_a_quarantined_file_cannot_be_filed_again(
    client, scanner, django_capture_on_commit_callbacks
):
    case = award_at(AwardStatus.GRANTED)
    first = file_report(case)
    line = first.costs.first()
    upload_evidence(client, case, line, pdf(EICAR), "eicar領収書.pdf", capture=django_capture_on_commit_callbacks)
    report_steps.report_line_review(cost=line, verdict=CostVerdict.MORE_NEEDED, comment="明細を", by=case.staff)
    report_steps.report_return(report=first, reason="領収書を差し替えてください", by=case.staff)
    carrying = [CostInput(line.category, line.description, line.amount, source=line.pk)]
    with pytest.raises(Refused) as refused:
        file_report(case, costs=carrying)
    message = refused.value.messages[0]
    assert "quarantined" in message and "“eicar領収書.pdf” (Quarantined)" in message
    assert first.award.reports.exclude(status=ReportStatus.RETURNED).count() == 0
    # Filed without that line's evidence, it goes through; the clean copy is attached afterwards.
    report = file_report(case, costs=[CostInput(line.category, line.description, line.amount)])
    assert report.status == ReportStatus.SUBMITTED


def test_a_carried_clean_file_keeps_its_verdict(client, scanner, django_capture_on_commit_callbacks):
    case = award_at(AwardStatus.GRANTED)
    first = file_report(case)
    line = first.costs.first()
    upload_evidence(client, case, line, pdf(), "領収書.pdf", capture=django_capture_on_commit_callbacks)
    report_steps.report_return(report=first, reason="やり直し", by=case.staff)
    report = file_report(case, costs=[CostInput(line.category, line.description, line.amount, source=line.pk)])
    carried = Evidence.objects.get(cost__report=report)
    assert carried.scan_status == ScanStatus.CLEAN and carried.file.name == Evidence.objects.get(cost=line).file.name


def test_a_report_is_not_accepted_while_a_file_is_quarantined_or_being_checked(
    client, scanner, django_capture_on_commit_callbacks
):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case, costs=[CostInput("honoraria", "講師謝金", 300_000)])
    line = report.costs.get()
    upload_evidence(client, case, line, pdf(EICAR), "eicar.pdf", capture=django_capture_on_commit_callbacks)
    upload_evidence(client, case, line, pdf(), "checking.pdf")  # not yet checked
    report_steps.report_line_review(cost=line, verdict=CostVerdict.ACCEPTED, by=case.staff)
    with pytest.raises(Refused) as refused:
        report_steps.report_accept(report=report, by=case.staff)
    message = refused.value.messages[0]
    assert "“eicar.pdf” (Quarantined)" in message and "“checking.pdf” (Being checked)" in message
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_grant_application_documents_are_checked_and_block_acceptance(
    client, scanner, django_capture_on_commit_callbacks
):
    case = award_at(AwardStatus.ADOPTED)
    upload = SimpleUploadedFile("事業計画書.pdf", pdf(EICAR))
    with django_capture_on_commit_callbacks(execute=True):
        filing = file_grant_application(case, documents=[DocumentInput("事業計画書", upload, "pdf")])
    document = AwardDocument.objects.get(grant_application=filing)
    assert document.scan_status == ScanStatus.QUARANTINED
    with pytest.raises(Refused) as refused:
        grant_steps.grant_application_accept(filing=filing, by=case.staff)
    assert "“事業計画書.pdf” (Quarantined)" in refused.value.messages[0]
    for user, url in (
        (case.member, f"/applications/{case.application.pk}/award/documents/{document.pk}/"),
        (case.staff, f"/staff/awards/{case.award.pk}/documents/{document.pk}/"),
    ):
        client.force_login(user)
        response, body = get(client, url)
        assert response.status_code == 403 and b"malicious content" in body and EICAR not in body


def test_with_scanning_off_grants_files_are_not_scanned_and_served(client, settings):
    settings.ATTACHMENT_SCAN_COMMAND = ""
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    upload_evidence(client, case, line, pdf(), "領収書.pdf")
    evidence = Evidence.objects.get(cost=line)
    assert evidence.scan_status == ScanStatus.NOT_SCANNED and not Job.objects.exists()
    response, body = get(client, f"/awards/evidence/{evidence.pk}/")
    assert response.status_code == 200 and body == pdf()
    assert "Virus check:" not in client.get(f"/applications/{case.application.pk}/award/").content.decode()


def test_a_change_request_with_a_quarantined_file_is_not_approved_nor_its_file_served(
    client, scanner, django_capture_on_commit_callbacks
):
    from grants import change_steps
    from grants.models import ChangeStatus
    from tests.grants.test_change_services import lines_with

    case = award_at(AwardStatus.GRANTED)
    upload = SimpleUploadedFile("見積書.pdf", pdf(EICAR))
    with django_capture_on_commit_callbacks(execute=True):
        change = change_steps.change_request(
            award=case.award,
            by=case.member,
            plan_before="講座を3回開催する",
            plan_after="講座を2回とし、オンライン配信を加える",
            reason="理由",
            lines=lines_with(travel=190_000, supplies=610_000),
            documents=[(upload, "pdf")],
        )
    document = AwardDocument.objects.get(change=change)
    assert document.scan_status == ScanStatus.QUARANTINED
    with pytest.raises(Refused) as refused:
        change_steps.change_decide(change=change, by=case.staff, approve=True)
    assert "“見積書.pdf” (Quarantined)" in refused.value.messages[0]
    refusal = change_steps.change_decide(change=change, by=case.staff, approve=False, note="見積書を差し替えて再申請を")
    assert refusal.status == ChangeStatus.REFUSED  # refusing it stays possible
    for user, url in (
        (case.member, f"/applications/{case.application.pk}/award/changes/documents/{document.pk}/"),
        (case.staff, f"/staff/awards/{case.award.pk}/changes/documents/{document.pk}/"),
    ):
        client.force_login(user)
        response, body = get(client, url)
        assert response.status_code == 403 and EICAR not in body
        page = client.get(
            f"/staff/awards/{case.award.pk}/" if user == case.staff else f"/applications/{case.application.pk}/award/"
        ).content.decode()
        assert ">Quarantined<" in page
