"""Attachments: type by content, size limit, stored outside the web root, served only to members."""

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from applications.models import Attachment
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    workbook = Workbook()
    workbook.active["A1"] = "収支予算書"
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, application, name, content, kind="articles"):
    return client.post(
        f"/applications/{application.pk}/attachments/",
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
        follow=True,
    )


def test_a_pdf_is_attached_and_downloaded_by_a_member(client, draft, member):
    client.force_login(member)
    response = upload(client, draft, "定款.pdf", PDF)
    assert "定款.pdf" in response.content.decode()
    attachment = Attachment.objects.get(application=draft)
    assert attachment.file_type == "pdf"
    # Stored under the private root with a random name, never under static files.
    path = Path(attachment.file.path)
    assert path.is_relative_to(Path(settings.PRIVATE_ROOT))
    assert "定款" not in path.name
    download = client.get(f"/applications/{draft.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment;" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF


def test_an_excel_file_is_accepted_by_content(client, draft, member):
    client.force_login(member)
    upload(client, draft, "予算書.xlsx", xlsx_bytes(), kind="other")
    assert Attachment.objects.get(application=draft).file_type == "xlsx"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", b"MZ\x90\x00" + b"\x00" * 100),  # a program named .pdf
        ("photo.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
        ("empty.pdf", b""),
    ],
)
def test_files_whose_content_is_not_allowed_are_refused(client, draft, member, name, content):
    client.force_login(member)
    response = upload(client, draft, name, content)
    assert not Attachment.objects.filter(application=draft).exists()
    assert 'class="alert alert-danger"' in response.content.decode()


def test_a_name_that_lies_about_the_content_is_refused(client, draft, member):
    client.force_login(member)
    upload(client, draft, "定款.pdf", xlsx_bytes())
    assert not Attachment.objects.filter(application=draft).exists()


def test_a_macro_enabled_document_is_refused(client, draft, member):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" '
            'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", "<w:document/>")
    client.force_login(member)
    upload(client, draft, "申請書.docx", buffer.getvalue())
    assert not Attachment.objects.filter(application=draft).exists()


def test_the_size_limit_is_enforced(client, draft, member, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    client.force_login(member)
    response = upload(client, draft, "big.pdf", PDF + b"0" * 2048)
    assert not Attachment.objects.filter(application=draft).exists()
    assert "MB" in response.content.decode()


def test_a_member_removes_an_attachment_and_its_file(client, draft, member, django_capture_on_commit_callbacks):
    client.force_login(member)
    upload(client, draft, "定款.pdf", PDF)
    attachment = Attachment.objects.get(application=draft)
    path = Path(attachment.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/applications/{draft.pk}/attachments/{attachment.pk}/delete/")
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not path.exists()


def test_attaching_and_removing_a_file_are_audited_with_its_name(client, draft, member):
    client.force_login(member)
    upload(client, draft, "定款.pdf", PDF)
    attachment = Attachment.objects.get(application=draft)
    client.post(f"/applications/{draft.pk}/attachments/{attachment.pk}/delete/")
    entries = AuditEntry.objects.filter(object_type="applications.Application", object_id=str(draft.pk))
    added, removed = entries.order_by("id")
    assert (added.action, added.actor, added.after) == ("attachment_added", member, {"original_name": "定款.pdf"})
    assert (removed.action, removed.actor, removed.before) == (
        "attachment_removed",
        member,
        {"original_name": "定款.pdf"},
    )
    assert added.call_id == draft.call_id
    with translation.override("ja"):
        assert "（ファイル名：定款.pdf）" in describe(added) and "（ファイル名：定款.pdf）" in describe(removed)


def test_no_upload_after_submission(client, complete_draft, member, django_capture_on_commit_callbacks):
    from applications import services

    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=complete_draft.pk, user=member)
    client.force_login(member)
    upload(client, complete_draft, "定款.pdf", PDF)
    assert not Attachment.objects.filter(application=complete_draft).exists()
