"""A file slot of a call's own form takes an upload (issue 16): the file passes the attachments
page's checks (type by content, size) and is stored as an attachment (its virus check queued), the
slot's answer points at it, and the section's other fields are saved by the same POST, all in one
transaction: a refused or invalid save stores no file and no answer."""

import datetime as dt
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from applications import answers as answer_store
from applications.checks import application_problems
from applications.models import Answer, Attachment, AttachmentKind, RefusedSave, RefusedSaveReason, ScanStatus
from applications.services import answers_attach_file
from kodoku_portal.models import Job
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
STUB = Path(__file__).resolve().parents[1] / "support" / "stub_scanner.py"

# A section with a text and a required file slot; a second section with an optional slot.
SLOT_FORM = [
    (
        "documents",
        "提出書類",
        [
            {"key": "summary", "kind": "short_text", "label": "事業の概要"},
            {
                "key": "plan_file",
                "kind": "file",
                "label": "事業計画書",
                "help_text": "様式第2号を添付してください。",
                "required": True,
            },
        ],
    ),
    ("extra", "参考資料", [{"key": "extra_file", "kind": "file", "label": "参考資料"}]),
]

UPLOAD = "schema-plan_file-upload"


@pytest.fixture
def version(open_call):
    return build_version(open_call, SLOT_FORM)


@pytest.fixture
def app_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def scanner(settings):
    settings.ATTACHMENT_SCAN_COMMAND = f"{sys.executable} {STUB} {{path}}"


def url(application, key="form-documents"):
    return f"/applications/{application.pk}/section/{key}/"


def post_section(client, application, data, key="form-documents", **kwargs):
    """POST the section's page as its (multipart) form does, with the version it was opened on."""
    application.refresh_from_db(fields=["version"])
    return client.post(url(application, key), {"version": str(application.version), **data}, **kwargs)


def stored(application):
    return {answer.field_key: answer for answer in Answer.objects.filter(application=application)}


def section(version, key="documents"):
    return version.sections.get(key=key)


def test_the_slot_shows_its_label_help_accepted_types_and_an_upload_in_a_multipart_form(app_client, draft, version):
    html = app_client.get(url(draft)).content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert '<legend class="form-label fs-6">事業計画書 <span class="badge text-bg-danger">必須</span></legend>' in html
    assert "様式第2号を添付してください。" in html
    assert f'<input type="file" name="{UPLOAD}" id="id_{UPLOAD}"' in html
    assert "PDF、Word、Excelのファイルを10 MBまで添付できます。" in html
    assert "この欄にはまだファイルがありません。" in html
    assert 'name="upload_slot" value="plan_file"' in html
    assert "style=" not in html.split('id="application-form"')[1].split("</form>")[0]  # CSP: no inline style


def test_a_file_uploaded_into_the_slot_is_stored_as_an_attachment_and_answers_it(app_client, draft, version, scanner):
    opened_on = draft.version
    response = post_section(
        app_client,
        draft,
        {
            "schema-summary": "居場所づくり",
            UPLOAD: SimpleUploadedFile("事業計画書.pdf", PDF),
            "upload_slot": "plan_file",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url(draft) + "#schema-field-plan_file"
    attachment = Attachment.objects.get(application=draft)
    assert (attachment.original_name, attachment.file_type, attachment.size) == ("事業計画書.pdf", "pdf", len(PDF))
    assert attachment.kind == AttachmentKind.OTHER and attachment.uploaded_by is not None
    assert attachment.scan_status == ScanStatus.PENDING  # its virus check queued, as on the attachments page
    assert Job.objects.filter(kind="scan_attachment", subject_id=attachment.pk).exists()
    rows = stored(draft)
    assert rows["plan_file"].attachment == attachment
    assert rows["summary"].text == "居場所づくり"  # the same POST saved the other field
    draft.refresh_from_db()
    assert draft.version == opened_on + 1 and draft.form_version == version

    page = app_client.get(response["Location"])
    html = page.content.decode()
    messages = [str(m) for m in page.context["messages"]]
    assert "「事業計画書.pdf」を添付しました。" in messages
    assert any("ウイルス検査中です" in m for m in messages)
    current = html.split('data-testid="file-slot-current"')[1].split("</p>")[0]
    assert "事業計画書.pdf" in current and "検査中" in current and 'data-testid="scan-status"' in current
    assert f"/applications/{draft.pk}/attachments/{attachment.pk}/" in current
    # Also listed on the attachments page, as any attachment.
    assert "事業計画書.pdf" in app_client.get(url(draft, "attachments")).content.decode()


def test_a_new_upload_replaces_the_file_in_the_slot_and_the_empty_choice_empties_it(app_client, draft, version):
    post_section(app_client, draft, {UPLOAD: SimpleUploadedFile("第1版.pdf", PDF)})
    first = Attachment.objects.get(application=draft)
    post_section(app_client, draft, {"schema-plan_file": str(first.pk), UPLOAD: SimpleUploadedFile("第2版.pdf", PDF)})
    second = Attachment.objects.exclude(pk=first.pk).get(application=draft)
    assert stored(draft)["plan_file"].attachment == second
    # The choice among the attached files still works, and the empty choice empties the slot
    # (the file stays attached).
    post_section(app_client, draft, {"schema-plan_file": str(first.pk)}, key="form-extra")
    post_section(app_client, draft, {"schema-extra_file": str(first.pk)}, key="form-extra")
    assert stored(draft)["extra_file"].attachment == first
    post_section(app_client, draft, {"schema-extra_file": ""}, key="form-extra")
    assert stored(draft)["extra_file"].attachment is None
    assert Attachment.objects.filter(application=draft).count() == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("計画書.pdf", PNG, "この形式のファイルは添付できません。"),
        ("計画書.png", PNG, "この形式のファイルは添付できません。"),
        ("計画書.pdf", b"", "ファイルが空です。"),
    ],
)
def test_a_file_refused_by_the_checks_is_shown_with_its_message_and_nothing_is_stored(
    app_client, draft, version, name, content, message
):
    opened_on = draft.version
    response = post_section(
        app_client, draft, {"schema-summary": "居場所づくり", UPLOAD: SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    errors = html.split('id="id_schema-plan_file-errors"')[1].split("</div></div>")[0]
    assert message in errors
    assert "ファイルも保存されていません" in html
    assert 'value="居場所づくり"' in html  # what was typed is still on the page
    assert not Attachment.objects.filter(application=draft).exists()
    assert not stored(draft)  # not even the other field: the save is one
    draft.refresh_from_db()
    assert draft.version == opened_on


def test_the_message_is_in_english_for_an_english_page(app_client, draft, version):
    response = post_section(app_client, draft, {UPLOAD: SimpleUploadedFile("plan.pdf", PNG)}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "This type of file cannot be attached." in html
    assert "no file was stored" in html
    assert not Attachment.objects.filter(application=draft).exists()


def test_the_size_limit_of_the_attachments_page_applies(app_client, draft, version, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    response = post_section(app_client, draft, {UPLOAD: SimpleUploadedFile("大きな計画書.pdf", PDF + b"0" * 2048)})
    assert response.status_code == 400
    assert "ファイルのサイズが大きすぎます（0.1 MB）。添付できるファイルは0 MBまでです。" in response.content.decode()
    assert not Attachment.objects.filter(application=draft).exists()
    assert not stored(draft)


def test_an_error_in_another_field_stores_neither_the_file_nor_the_answers(app_client, draft, version):
    response = post_section(
        app_client, draft, {"schema-summary": "あ" * 500, UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)}
    )
    assert response.status_code == 400
    assert not Attachment.objects.filter(application=draft).exists()
    assert not stored(draft)


def test_a_required_slot_is_satisfied_only_by_an_uploaded_file(app_client, draft, version):
    def missing():
        return [p for p in application_problems(draft) if p.field == "form-documents"]

    assert missing() and "事業計画書" in missing()[0].message
    # Saving the section without a file: saved as a draft, and the slot is still asked for.
    response = post_section(app_client, draft, {"schema-summary": "居場所づくり"})
    assert response.status_code == 302
    assert missing()
    [state] = [s for s in answer_store.section_states(draft) if s.section.key == "documents"]
    assert not state.complete
    response = post_section(
        app_client, draft, {"schema-summary": "居場所づくり", UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)}
    )
    assert response.status_code == 302
    assert not missing()
    [state] = [s for s in answer_store.section_states(draft) if s.section.key == "documents"]
    assert state.complete


def test_the_autosave_saves_the_other_fields_and_never_takes_a_file_it_is_not_sent(app_client, draft, version):
    # The page's script leaves files out of its JSON autosave; what it sends saves as before.
    headers = {"X-Autosave": "1", "Accept": "application/json"}
    response = post_section(app_client, draft, {"schema-summary": "下書き"}, headers=headers)
    assert response.status_code == 200  # a draft saves without its required file; the task list asks for it
    [state] = [s for s in answer_store.section_states(draft) if s.section.key == "documents"]
    assert not state.complete
    post_section(app_client, draft, {"schema-summary": "下書き", UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)})
    response = post_section(
        app_client,
        draft,
        {"schema-summary": "自動保存", "schema-plan_file": str(Attachment.objects.get().pk)},
        headers=headers,
    )
    assert response.status_code == 200 and response.json()["saved"] is True
    assert stored(draft)["summary"].text == "自動保存"


def test_a_non_member_is_refused_and_nothing_is_stored(client, outsider, draft, version, member):
    client.force_login(outsider)
    response = post_section(client, draft, {UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)})
    assert response.status_code == 404
    with pytest.raises(Refused) as refused:
        answers_attach_file(
            draft,
            section(version),
            {"schema-summary": "x"},
            {UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)},
            by=outsider,
            base_version=draft.version,
            raw={},
        )
    assert refused.value.code == "forbidden"
    assert not Attachment.objects.filter(application=draft).exists()
    assert not stored(draft)
    applicant = UserFactory(role=Role.APPLICANT)  # of no organisation at all
    with pytest.raises(Refused):
        answers_attach_file(
            draft,
            section(version),
            {},
            {UPLOAD: SimpleUploadedFile("a.pdf", PDF)},
            by=applicant,
            base_version=draft.version,
            raw={},
        )
    assert not Attachment.objects.exists()


def test_after_the_call_closed_nothing_is_stored_and_what_was_typed_is_kept(app_client, draft, version, open_call):
    open_call.closes_at = timezone.now() - dt.timedelta(minutes=1)
    open_call.save(update_fields=["closes_at"])
    response = post_section(
        app_client, draft, {"schema-summary": "締切後の入力", UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)}
    )
    refused = RefusedSave.objects.get(application=draft)
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{draft.pk}/unsaved/{refused.pk}/"
    assert refused.reason == RefusedSaveReason.CLOSED
    assert refused.data["schema-summary"] == ["締切後の入力"] and refused.data[UPLOAD] == ["計画書.pdf"]
    assert not Attachment.objects.filter(application=draft).exists()
    assert not stored(draft)
    messages = [str(m) for m in app_client.get(response["Location"]).context["messages"]]
    assert "選んだファイルは保存されていません。" in messages


def test_a_save_based_on_an_older_version_stores_no_file(draft, member, version):
    # Another member saved first (with a file), from the page opened on the same version.
    opened_on = draft.version
    first = answers_attach_file(
        draft,
        section(version),
        {"schema-summary": "先の保存"},
        {UPLOAD: SimpleUploadedFile("先.pdf", PDF)},
        by=member,
        base_version=opened_on,
        raw={},
    )
    assert first.saved and first.version == opened_on + 1
    late = answers_attach_file(
        draft,
        section(version),
        {"schema-summary": "後の保存"},
        {UPLOAD: SimpleUploadedFile("後.pdf", PDF)},
        by=member,
        base_version=opened_on,
        raw={"schema-summary": ["後の保存"]},
    )
    assert not late.saved and late.reason == RefusedSaveReason.CONFLICT
    assert list(Attachment.objects.filter(application=draft).values_list("original_name", flat=True)) == ["先.pdf"]
    assert stored(draft)["summary"].text == "先の保存"


def test_an_upload_into_a_slot_hidden_by_its_condition_is_not_stored(draft, member, open_call):
    spec = [
        (
            "docs",
            "書類",
            [
                {"key": "has_plan", "kind": "choice", "label": "計画書の有無", "choices": "yes|あり\nno|なし"},
                {
                    "key": "plan_file",
                    "kind": "file",
                    "label": "計画書",
                    "condition_field": "has_plan",
                    "condition_operator": "equals",
                    "condition_value": "yes",
                },
            ],
        )
    ]
    version = build_version(open_call, spec)
    files = {UPLOAD: SimpleUploadedFile("計画書.pdf", PDF)}
    outcome = answers_attach_file(
        draft, section(version, "docs"), {"schema-has_plan": "no"}, files, by=member, base_version=draft.version, raw={}
    )
    assert outcome.saved and outcome.attached == ()
    assert not Attachment.objects.exists()
    assert stored(draft)["has_plan"].text == "no" and "plan_file" not in stored(draft)
