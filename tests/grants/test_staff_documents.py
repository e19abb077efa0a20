"""Staff can open every document the portal issues about an application (issue 12, item 5): the
receipt (受付票), the notice (採択・不採択・補欠通知書) and each kind of letter after 採択 (交付決定,
変更承認・不承認, 額の確定, 返還命令, 繰上げ採択, 補欠解除, 取消). The staff application page links
each one; staff get the PDF, every other role does not (404 for the application's own pages,
403 for the letters' URL, the login page for nobody)."""

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role
from applications.models import Receipt
from grants.models import AwardStatus, Letter, LetterKind
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def documents():
    """An award with its receipt, its notice and one letter of every kind, each PDF kept."""
    case = award_at(AwardStatus.CONFIRMED)
    application = case.application
    receipt = Receipt.objects.create(application=application, generated_at=timezone.now())
    receipt.pdf.save("receipt.pdf", ContentFile(b"%PDF-receipt"), save=True)
    application.notice.pdf.save("notice.pdf", ContentFile(b"%PDF-notice"), save=True)
    letters = []
    for n, kind in enumerate(LetterKind, start=1):
        letter = Letter.objects.create(
            application=application,
            award=case.award,
            kind=kind,
            document_number=f"府孤第{application.pk}{n:02d}号",
            issued_on=timezone.localdate(),
            issued_by=case.staff,
        )
        letter.pdf.save(f"{kind}.pdf", ContentFile(f"%PDF-{kind}".encode()), save=True)
        letters.append(letter)
    return case, letters


def staff_user():
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


def urls(case, letters):
    pk = case.application.pk
    return {
        "receipt": f"/staff/applications/{pk}/receipt.pdf",
        "notice": f"/staff/applications/{pk}/notice.pdf",
        **{letter.kind: f"/staff/letters/{letter.pk}.pdf" for letter in letters},
    }


def test_the_staff_application_page_links_every_issued_document(client, documents):
    case, letters = documents
    client.force_login(staff_user())
    page = client.get(f"/staff/applications/{case.application.pk}/").content.decode()
    for url in urls(case, letters).values():
        assert f'href="{url}"' in page


def test_staff_open_every_document_as_a_pdf(client, documents):
    case, letters = documents
    client.force_login(staff_user())
    for name, url in urls(case, letters).items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content).startswith(b"%PDF-")


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_no_other_role_opens_them(client, documents, role):
    case, letters = documents
    user = case.member if role == Role.APPLICANT else UserFactory(role=role)
    if role == Role.REVIEWER:
        enable_totp(user)
    client.force_login(user)
    for name, url in urls(case, letters).items():
        expected = 403 if url.startswith("/staff/letters/") else 404
        assert client.get(url).status_code == expected, name


def test_nobody_signed_out_opens_them(client, documents):
    case, letters = documents
    for url in urls(case, letters).values():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_receipt_not_made_yet_is_not_found(client, documents):
    case, _letters = documents
    Receipt.objects.filter(application=case.application).update(pdf="")
    client.force_login(staff_user())
    assert client.get(f"/staff/applications/{case.application.pk}/receipt.pdf").status_code == 404
