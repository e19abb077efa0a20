"""Signed letters and the public verification page (/verify/): a letter and a notice are kept as
tagged, signed PDF/A with their code; the page answers by number + code (the QR code's link) and
by upload; an altered file, a forged number, a file never issued, a reissued and a withdrawn
letter, an old unsigned letter and too many lookups are each answered plainly."""

import hashlib
import io
import re
from urllib.parse import parse_qs, urlsplit

import pikepdf
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from grants import letters
from grants.letters import letter_pdf, letter_render
from grants.models import Letter, LetterKind, LetterStatus
from grants.services import notice_render
from grants.signed import verify_url
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.refusals import Refused
from tests.factories import UserFactory
from tests.grants.test_letters import GRANT_DETAILS, OWNER, case_at, issue, pdf_text
from tests.grants.test_notices_pdf import make_notice
from tests.kodoku_portal.test_signing import decode_qr_in_pdf
from tests.signing_pki import validate

pytestmark = pytest.mark.django_db

URL = "/verify/"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PORTAL_BASE_URL = "https://portal.example.jp"


def stored(document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()


def signed_letter():
    case = case_at()
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    return case, letter_render(letter_id=letter.pk)


def answer(response):
    match = re.search(r'data-outcome="([a-z_]+)"', response.content.decode())
    return match.group(1) if match else None


def ask(client, number, code):
    with translation.override("en"):
        return client.get(URL, {"no": number, "code": code}, HTTP_ACCEPT_LANGUAGE="en")


def upload(client, data, name="letter.pdf"):
    return client.post(
        URL, {"file": SimpleUploadedFile(name, data, content_type="application/pdf")}, HTTP_ACCEPT_LANGUAGE="en"
    )


def test_url_is_verify():
    assert reverse("verify:verify") == URL


def test_a_letter_is_kept_signed_trusted_timestamped_with_its_code_and_sha256(pki):
    _case, letter = signed_letter()
    data = stored(letter)
    assert letter.signed_sha256 == hashlib.sha256(data).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{16}", letter.verification_code)
    assert not letter.signed_with_test_certificate
    signature, status = validate(data, pki.root)
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity.intact and status.timestamp_validity.trusted
    assert signature.sig_object["/Name"] == OWNER  # the call's sender (programme.owner)
    # Never signed again: rendering a kept letter returns the same file.
    assert stored(letter_render(letter_id=letter.pk)) == data


def test_the_kept_letter_is_tagged_pdfa_with_headings_paragraphs_lists_and_tables():
    _case, letter = signed_letter()
    with pikepdf.open(io.BytesIO(stored(letter))) as pdf:
        assert str(pdf.Root.Lang) == "ja"
        kinds = set()

        def walk(node):
            if isinstance(node, pikepdf.Dictionary):
                if "/S" in node:
                    kinds.add(str(node.S))
                kids = node.get("/K")
                for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
                    if isinstance(kid, pikepdf.Dictionary):
                        walk(kid)

        walk(pdf.Root.StructTreeRoot)
        # The subject (h1), the body, the conditions (ol: the 記's list), the items and the budget.
        assert {"/H1", "/P", "/L", "/LI", "/Table", "/TH", "/TD"} <= kinds
        with pdf.open_metadata() as meta:
            assert meta.get("pdfaid:part") == "2"


def test_the_letter_prints_its_number_code_and_a_qr_code_of_the_verification_url(tmp_path):
    _case, letter = signed_letter()
    text = pdf_text(stored(letter), tmp_path)
    code = letter.verification_code.upper()
    assert letter.document_number in text
    assert "-".join(code[i : i + 4] for i in range(0, 16, 4)) in text
    url = verify_url(letter.document_number, letter.verification_code)
    assert decode_qr_in_pdf(stored(letter), tmp_path) == [url]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://portal.example.jp/verify/?")
    assert query == {"no": [letter.document_number], "code": [letter.verification_code]}


def test_number_and_code_confirm_the_letter_and_show_only_what_it_shows(client):
    case, letter = signed_letter()
    response = ask(client, letter.document_number, letter.verification_code)
    assert response.status_code == 200 and answer(response) == "issued"
    page = response.content.decode()
    assert "交付決定通知書" in page and case.application.organisation.name in page
    assert "Yes: not replaced or withdrawn." in page
    assert "1,500,000" not in page and case.application.title not in page
    # Typed as printed (upper case, hyphens) and with full-width digits in the number.
    printed = "-".join(letter.verification_code.upper()[i : i + 4] for i in range(0, 16, 4))
    number = letter.document_number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert answer(ask(client, number, printed)) == "issued"


def test_a_forged_number_or_wrong_code_is_answered_plainly(client):
    _case, letter = signed_letter()
    assert answer(ask(client, "府孤第99999号", letter.verification_code)) == "not_found"
    wrong = ("0" if letter.verification_code[0] != "0" else "1") + letter.verification_code[1:]
    response = ask(client, letter.document_number, wrong)
    assert response.status_code == 200 and answer(response) == "not_found"
    assert "Not confirmed" in response.content.decode()
    bad = ask(client, letter.document_number, "xyz")
    assert bad.status_code == 400 and answer(bad) is None


def test_upload_of_the_exact_file_of_a_changed_byte_and_of_a_file_never_issued(client):
    _case, letter = signed_letter()
    data = stored(letter)
    with translation.override("en"):
        response = upload(client, data)
        assert response.status_code == 200 and answer(response) == "issued"
        assert "exactly the file the portal issued" in response.content.decode()
        altered = bytearray(data)
        altered[data.index(b"WeasyPrint")] ^= 0x01
        response = upload(client, bytes(altered))
        assert response.status_code == 200 and answer(response) == "altered"
        assert answer(upload(client, letter_pdf(letter))) == "not_issued"  # same letter, never issued as such
        appended = data + b"\n% something added\n"
        assert answer(upload(client, appended)) in {"changed", "not_issued"}
        assert answer(upload(client, b"%PDF-1.7\nnot really")) == "unreadable"
        refused = upload(client, b"GIF89a...", name="letter.pdf")
        assert refused.status_code == 400 and "Only PDF files can be checked." in refused.content.decode()


def test_upload_over_the_size_limit_is_refused(client, settings):
    settings.VERIFY_UPLOAD_MAX_BYTES = 1024
    with translation.override("en"):
        response = upload(client, b"%PDF-" + b"0" * 2048)
    assert response.status_code == 400 and answer(response) is None


def test_a_reissued_letter_shows_the_earlier_one_as_replaced(client, mailoutbox):
    case, letter = signed_letter()
    new = letters.letter_reissue(letter=letter, by=case.staff, reason="団体名の誤記")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.REPLACED and letter.replaced_by == new
    assert new.details == letter.details and new.document_number != letter.document_number
    assert OutboxMessage.objects.filter(kind="letter", subject_id=new.pk).exists()
    assert AuditEntry.objects.filter(action="letter_reissued").count() == 1
    new = letter_render(letter_id=new.pk)
    response = ask(client, letter.document_number, letter.verification_code)
    assert answer(response) == "issued"
    assert f"No: replaced by the reissued letter {new.document_number}" in response.content.decode()
    with translation.override("en"):
        assert "replaced by the reissued letter" in upload(client, stored(letter)).content.decode()
    assert "Yes: not replaced or withdrawn." in ask(client, new.document_number, new.verification_code).content.decode()
    with pytest.raises(Refused):
        letters.letter_reissue(letter=letter, by=case.staff)  # replaced already


def test_only_staff_reissue_or_withdraw(pki):
    case, letter = signed_letter()
    with pytest.raises(Refused):
        letters.letter_reissue(letter=letter, by=case.member)
    with pytest.raises(Refused):
        letters.letter_withdraw(letter=letter, by=case.member)
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.ISSUED


def test_a_withdrawn_letter_is_shown_withdrawn(client):
    case, letter = signed_letter()
    letters.letter_withdraw(letter=letter, by=case.staff, reason="誤発行")
    response = ask(client, letter.document_number, letter.verification_code)
    assert answer(response) == "issued" and "No: withdrawn on" in response.content.decode()


def test_a_letter_issued_before_signing_is_said_so_and_nothing_more(client):
    case = case_at()
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    letter.pdf.save("old.pdf", ContentFile(b"%PDF-1.7 old"), save=True)  # rendered before this change
    response = ask(client, letter.document_number, "0123456789abcdef")
    assert answer(response) == "before_signing"
    assert case.application.organisation.name not in response.content.decode()


def test_a_notice_is_signed_and_verifiable_the_same_way(client, pki):
    notice = notice_render(notice_id=make_notice(UserFactory(role=Role.STAFF)).pk)
    data = stored(notice)
    assert notice.signed_sha256 == hashlib.sha256(data).hexdigest() and notice.verification_code
    _signature, status = validate(data, pki.root)
    assert status.bottom_line
    response = ask(client, notice.document_number, notice.verification_code)
    assert answer(response) == "issued" and "採択通知書" in response.content.decode()
    assert answer(upload(client, data)) == "issued"


def test_lookups_are_rate_limited_per_address_with_a_429_page_in_japanese(client, settings):
    settings.VERIFY_RATE_LIMIT = 2
    for _ in range(2):
        assert client.get(URL, {"no": "府孤第1号", "code": "0123456789abcdef"}).status_code == 200
    response = client.get(URL, {"no": "府孤第1号", "code": "0123456789abcdef"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 429
    assert client.get(URL).status_code == 200  # the empty form is not a lookup


def test_the_page_is_public_and_in_japanese(client):
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    assert '<html lang="ja"' in response.content.decode()


# --- staff: reissue and withdraw from the award page ----------------------------------------


def test_staff_reissue_a_letter_from_the_award_page(client):
    case, letter = signed_letter()
    client.force_login(case.staff)
    page = client.get(reverse("grants:award", args=[case.award.pk]))
    assert page.status_code == 200 and letter.document_number in page.content.decode()
    url = reverse("grants:letter_reissue", args=[case.award.pk, letter.pk])
    assert client.post(url, {f"l{letter.pk}-reason": ""}).status_code == 302  # a message, nothing done
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.ISSUED
    response = client.post(url, {f"l{letter.pk}-reason": "団体名の誤記"})
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.status == LetterStatus.REPLACED and letter.replaced_by is not None
    with translation.override("en"):
        page = client.get(reverse("grants:award", args=[case.award.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert f"Replaced by {letter.replaced_by.document_number}" in page.content.decode()


def test_staff_withdraw_a_letter_and_others_cannot(client):
    case, letter = signed_letter()
    url = reverse("grants:letter_withdraw", args=[case.award.pk, letter.pk])
    response = client.post(url, {f"l{letter.pk}-reason": "誤発行"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]  # anonymous
    client.force_login(case.member)
    assert client.post(url, {f"l{letter.pk}-reason": "誤発行"}).status_code == 403  # the organisation
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.ISSUED
    client.force_login(case.staff)
    assert client.post(url, {f"l{letter.pk}-reason": "誤発行"}).status_code == 302
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.WITHDRAWN
    _other_case, other = signed_letter()
    wrong = reverse("grants:letter_withdraw", args=[case.award.pk, other.pk])  # a letter of another award
    assert client.post(wrong, {f"l{other.pk}-reason": "x"}).status_code == 404


def test_the_mail_states_the_code_and_the_sha256_of_the_attached_signed_file(mailoutbox):
    from grants.letters import letter_email

    _case, letter = signed_letter()
    message = letter_email(letter, to=["org@example.jp"])
    attached = message.attachments[0][1]
    assert hashlib.sha256(attached).hexdigest() == letter.signed_sha256
    assert f"添付ファイルのSHA-256：{letter.signed_sha256}" in message.body
    assert "https://portal.example.jp/verify/" in message.body


def test_an_upload_larger_than_the_page_takes_is_refused_before_it_is_read(client, settings):
    """RequestBodyLimitMiddleware: the body of a POST to /verify/ announcing more than the limit is
    never read (no temporary file, no CSRF or NUL check reading it): 413, in the user's language."""
    limit = settings.VERIFY_UPLOAD_MAX_BYTES + 64 * 1024
    response = client.post(URL, data=b"x", content_type="application/octet-stream", CONTENT_LENGTH=str(limit + 1))
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in response.content.decode()


def test_the_page_answers_when_the_rate_limits_cache_is_down(client):
    """The rate limit's cache is a Redis that is not there (nothing listens on port 1): the lookup
    is answered, not a server error."""
    from django.test import override_settings

    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    with override_settings(CACHES=down):
        response = client.get(URL, {"no": "府孤第1号", "code": "0123456789abcdef"})
    assert response.status_code == 200


def test_a_practice_letter_is_said_to_have_no_effect(client):
    """nc-record (issue 12, item 9): a practice call's letter (練習用第N号) is never shown in force."""
    case = case_at(is_practice=True)
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    letter = letter_render(letter_id=letter.pk)
    assert letter.document_number.startswith("練習用第")
    response = ask(client, letter.document_number, letter.verification_code)
    page = response.content.decode()
    assert answer(response) == "issued"
    assert "a letter of a practice call" in page and "Yes: not replaced or withdrawn." not in page
