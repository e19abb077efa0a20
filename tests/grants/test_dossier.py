"""The dossier (記録一式): what the ZIP holds, its manifest, the call's streamed ZIP, the audit of
each download, who may download it and the queries it takes."""

import csv
import hashlib
import io
import os
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from applications.models import Attachment, MemberRole, Membership
from grants import dossier
from grants.models import AwardStatus
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from reviews.models import ConflictDeclaration
from tests.factories import ApplicationFactory, OrganisationFactory, UserFactory, enable_totp
from tests.grants.records import full_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _manifest(archive: zipfile.ZipFile) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(dossier.MANIFEST).decode("utf-8-sig"))))


def _staff_client(client, case):
    client.force_login(case.staff)
    return client


def test_application_dossier_holds_what_its_manifest_says(client):
    case, rows = full_record()
    response = _staff_client(client, case).get(f"/staff/applications/{case.application.pk}/dossier.zip")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    archive = _zip(response)
    assert archive.testzip() is None
    manifest = _manifest(archive)
    names = set(archive.namelist())
    present = [row for row in manifest if row["status"] == "ok"]
    # Every file but the manifest itself is listed, with its size and SHA-256.
    assert {row["path"] for row in present} == names - {dossier.MANIFEST}
    for row in present:
        data = archive.read(row["path"])
        assert int(row["size"]) == len(data)
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
    root = case.application.receipt_number + "/"
    expected = {
        dossier.README,
        root + "application/summary.pdf",
        root + "application/application.json",
        root + "application/unsaved_inputs.json",
        root + f"attachments/{rows['attachment'].pk}_定款.pdf",
        root + "reviews/reviews.json",
        root + "reviews/conflicts.json",
        root + "decision/decision.json",
        root + f"decision/{case.application.notice.document_number}.pdf",
        root + f"letters/{rows['letter'].document_number}.pdf",
        root + "letters/letters.json",
        root + "award/award.json",
        root + "award/timeline.json",
        root + "award/timeline.csv",
        root + f"evidence/{rows['evidence'].pk}_領収書.pdf",
        root + "audit/audit.json",
        root + "audit/audit.csv",
    }
    assert expected <= names
    assert archive.read(root + f"attachments/{rows['attachment'].pk}_定款.pdf") == "%PDF-定款".encode()
    assert archive.read(root + "application/summary.pdf").startswith(b"%PDF")
    # The letter whose PDF is gone is listed as missing, not a server error.
    missing = [row for row in manifest if row["status"] == "missing"]
    assert [row["path"] for row in missing] == [root + f"letters/{rows['gone'].document_number}.pdf"]
    # Japanese names are flagged UTF-8 in the ZIP (bit 11), so Windows shows them as written.
    info = archive.getinfo(root + f"attachments/{rows['attachment'].pk}_定款.pdf")
    assert info.flag_bits & 0x800
    assert "記録一式" in archive.read(dossier.README).decode("utf-8")
    reviews = archive.read(root + "reviews/reviews.json").decode()
    assert "審査 太郎" in reviews and "山田さんの説明は明快" in reviews
    assert "元職員" in archive.read(root + "reviews/conflicts.json").decode()
    award = archive.read(root + "award/award.json").decode()
    assert "1234567" in award and "計画書.pdf" in award
    assert "amount_corrected" in archive.read(root + "audit/audit.csv").decode("utf-8-sig")
    assert case.application.notice.document_number in archive.read(root + "award/timeline.csv").decode("utf-8-sig")


def test_each_download_is_audited(client):
    case, _rows = full_record()
    _staff_client(client, case).get(f"/staff/applications/{case.application.pk}/dossier.zip")
    entry = AuditEntry.objects.get(action="dossier_downloaded")
    assert (entry.actor, entry.object_id, entry.call_id) == (case.staff, str(case.application.pk), case.call.pk)
    with translation.override("en"):
        assert (
            describe(entry)
            == f"{case.staff.email} downloaded the dossier of application {case.application.receipt_number}"
        )
    b"".join(client.get(f"/staff/calls/{case.call.slug}/dossier.zip").streaming_content)
    entry = AuditEntry.objects.get(action="call_dossier_downloaded")
    assert (entry.actor, entry.object_id, entry.after) == (case.staff, str(case.call.pk), {"applications": 1})


def test_call_dossier_streams_every_application_in_its_folder(client):
    case, _rows = full_record()
    second, _ = full_record(call=case.call, staff=case.staff)
    ApplicationFactory(call=case.call)  # a draft, never submitted: not in the dossier
    response = _staff_client(client, case).get(f"/staff/calls/{case.call.slug}/dossier.zip")
    assert response.status_code == 200
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) > 2  # written as it goes, not built whole and sent once
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    folders = {name.split("/")[0] for name in archive.namelist() if "/" in name}
    assert folders == {case.application.receipt_number, second.application.receipt_number}
    manifest = _manifest(archive)
    assert {row["path"] for row in manifest if row["status"] == "ok"} == set(archive.namelist()) - {dossier.MANIFEST}


def _call_queries(client, call) -> int:
    with CaptureQueriesContext(connection) as queries:
        b"".join(client.get(f"/staff/calls/{call.slug}/dossier.zip").streaming_content)
    return len(queries)


def test_call_dossier_queries_do_not_grow_with_applications(client):
    """The applications are read in chunks with their rows prefetched: a fixed number of queries
    per chunk, whatever the number of applications in it."""
    case, _rows = full_record()
    _staff_client(client, case)
    one = _call_queries(client, case.call)
    for _ in range(3):
        full_record(call=case.call, staff=case.staff)
    four = _call_queries(client, case.call)
    assert four == one


def test_chunks_cost_a_fixed_number_of_queries_each(client):
    case, _rows = full_record()
    for _ in range(3):
        full_record(call=case.call, staff=case.staff)
    queryset = dossier.dossier_applications().filter(call=case.call)
    with CaptureQueriesContext(connection) as by_one:
        list(dossier.application_parts(queryset, chunk=1))
    with CaptureQueriesContext(connection) as by_four:
        list(dossier.application_parts(queryset, chunk=4))
    per_chunk = len(by_four) - 1  # one query lists the ids
    assert len(by_one) - 1 == 4 * per_chunk


# --- who may download ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("member", 403),
        ("other_applicant", 403),
        ("assigned_reviewer", 403),
        ("conflicted_reviewer", 403),
        ("reviewer", 403),
        ("staff", 200),
        ("staff_without_totp", 302),
        ("administrator", 200),
        ("administrator_without_totp", 302),
    ],
)
@pytest.mark.parametrize("page", ["application", "call"])
def test_who_may_download(client, who, expected, page):
    case, _rows = full_record(AwardStatus.GRANTED)
    users = {
        "member": case.member,
        "other_applicant": UserFactory(role=Role.APPLICANT),
        "assigned_reviewer": case.application.assignments.get().reviewer,
        "conflicted_reviewer": ConflictDeclaration.objects.get(organisation=case.application.organisation).reviewer,
        "reviewer": UserFactory(role=Role.REVIEWER),
        "staff": case.staff,
        "staff_without_totp": UserFactory(role=Role.STAFF),
        "administrator": UserFactory(role=Role.ADMINISTRATOR),
        "administrator_without_totp": UserFactory(role=Role.ADMINISTRATOR),
    }
    Membership.objects.create(organisation=OrganisationFactory(), user=users["other_applicant"], role=MemberRole.OWNER)
    for name in ("assigned_reviewer", "conflicted_reviewer", "reviewer", "administrator"):
        enable_totp(users[name])
    if who != "anonymous":
        client.force_login(users[who])
    url = (
        f"/staff/applications/{case.application.pk}/dossier.zip"
        if page == "application"
        else f"/staff/calls/{case.call.slug}/dossier.zip"
    )
    assert client.get(url).status_code == expected


def test_unknown_or_draft_application_is_not_found(client):
    case, _rows = full_record()
    draft = ApplicationFactory(call=case.call)
    _staff_client(client, case)
    assert client.get(f"/staff/applications/{draft.pk}/dossier.zip").status_code == 404
    assert client.get("/staff/applications/999999/dossier.zip").status_code == 404
    assert client.get("/staff/calls/no-such-call/dossier.zip").status_code == 404


def test_links_on_the_award_page_and_the_call_list(client):
    case, _rows = full_record()
    _staff_client(client, case)
    url = f"/staff/applications/{case.application.pk}/dossier.zip"
    assert url in client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    page = client.get(f"/staff/calls/{case.call.slug}/applications/").content.decode()
    assert url in page and f"/staff/calls/{case.call.slug}/dossier.zip" in page


def test_memory_stays_flat_while_a_large_file_streams():
    """An 8 MiB attachment goes through the ZIP 64 KiB at a time: the peak of memory allocated
    while it streams stays far below the file's size. (Rendering the summary PDF peaks at about
    24 MB in WeasyPrint, once per application, whatever the size of its files.)"""
    case, _rows = full_record()
    big = Attachment(application=case.application, kind="other", original_name="big.bin", file_type="pdf", size=0)
    big.file.save("big", ContentFile(os.urandom(8 * 1024 * 1024)), save=False)
    big.size = big.file.size
    big.save()
    queryset = dossier.dossier_applications().filter(pk=case.application.pk)
    parts = [part for part in dossier.application_parts(queryset) if part.path.endswith("_big.bin")]
    manifest = []
    total = 0
    tracemalloc.start()
    try:
        for chunk in dossier.zip_stream(parts, manifest=manifest):
            total += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 8 * 1024 * 1024
    assert [row.size for row in manifest if row.path.endswith("_big.bin")] == [8 * 1024 * 1024]
    assert peak < 2 * 1024 * 1024, peak


def test_a_file_the_virus_check_has_not_cleared_is_named_but_not_bundled(client):
    """Issue 13's scan: a quarantined attachment is listed in the manifest as withheld, with its
    status, and its bytes are not in the ZIP; a clean one is bundled as before."""
    from applications.models import ScanStatus

    case, rows = full_record()
    Attachment.objects.filter(pk=rows["attachment"].pk).update(scan_status=ScanStatus.QUARANTINED)
    archive = _zip(_staff_client(client, case).get(f"/staff/applications/{case.application.pk}/dossier.zip"))
    path = case.application.receipt_number + f"/attachments/{rows['attachment'].pk}_定款.pdf"
    assert path not in archive.namelist()
    [row] = [row for row in _manifest(archive) if row["path"] == path]
    assert row["status"] == "withheld (quarantined)"
    assert (row["size"], row["sha256"]) == ("0", "")
