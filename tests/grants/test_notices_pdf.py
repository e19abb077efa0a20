"""The notice of adoption / non-adoption (採択通知書 / 不採択通知書): PDF, e-mail, render_notice."""

import datetime as dt
import io
import logging
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role
from applications.models import ApplicationStatus
from grants.documents import notice_email, notice_pdf
from grants.models import Decision, Notice, NoticeKind
from kodoku_portal.jp import JST
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

SUBMITTED_AT = dt.datetime(2025, 5, 20, 10, 0, tzinfo=JST)


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PORTAL_BASE_URL = "https://portal.example.jp"


@pytest.fixture
def staff():
    return UserFactory(role=Role.STAFF)


def make_notice(
    staff,
    *,
    kind=NoticeKind.ADOPTED,
    document_number="府孤第12号",
    organisation_name="特定非営利活動法人 まちの縁側",
    representative_title="理事長",
    representative_name="代表 太郎",
    call_title="令和7年度 孤独・孤立対策活動基盤整備モデル事業",
    receipt_number="R7T-0001",
    award_amount=1_800_000,
):
    call = CallFactory(title=call_title)
    call.programme.owner = "内閣府孤独・孤立対策推進室"
    call.programme.save()
    organisation = OrganisationFactory(
        name=organisation_name,
        representative_title=representative_title,
        representative_name=representative_name,
        email="Office@Example.jp",
    )
    submitter = UserFactory(role=Role.APPLICANT, email="submitter@example.jp")
    adopted = kind == NoticeKind.ADOPTED
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        title="まちの縁側カフェ",
        status=ApplicationStatus.ADOPTED if adopted else ApplicationStatus.NOT_ADOPTED,
        receipt_number=receipt_number,
        submitted_at=SUBMITTED_AT,
        submitted_by=submitter,
        requested_amount=2_000_000,
    )
    Decision.objects.create(
        application=application,
        award_amount=award_amount if adopted else None,
        decided_by=staff,
        decided_at=timezone.now(),
    )
    return Notice.objects.create(
        application=application,
        kind=kind,
        document_number=document_number,
        issued_on=dt.date(2025, 7, 1),
        award_amount=award_amount if adopted else None,
    )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text with all whitespace removed (layout spacing is not what is being tested)."""
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[2:]


def test_adopted_notice_is_an_official_letter_with_embedded_ipaex_fonts(staff, tmp_path):
    notice = make_notice(staff)
    pdf = notice_pdf(notice)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "府孤第12号",
        "令和7年7月1日",
        "特定非営利活動法人まちの縁側",
        "理事長代表太郎様",
        "内閣府孤独・孤立対策推進室長",
        "令和7年度孤独・孤立対策活動基盤整備モデル事業の採択について（通知）",
        "令和7年5月20日付けで申請のあった標記事業については、審査の結果、下記のとおり採択することとしたので通知します。",
        "記",
        "R7T-0001",
        "まちの縁側カフェ",
        "金1,800,000円",
        "交付申請の手続については、別途お知らせします。",
        "以上",
        "担当：内閣府孤独・孤立対策推進室事業担当",
    ):
        assert expected in text, expected
    assert "不採択" not in text
    assert "御中" not in text
    # The order of an official letter: number, date, addressee, sender, subject, body, 記, items, 以上.
    order = [
        "府孤第12号",
        "令和7年7月1日",
        "代表太郎様",
        "推進室長",
        "（通知）",
        "通知します。",
        "記１受付番号",
        "以上",
        "担当",
    ]
    positions = [text.find(marker) for marker in order]
    assert all(p >= 0 for p in positions), dict(zip(order, positions, strict=True))
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))

    fonts = pdf_fonts(pdf, tmp_path)
    assert fonts
    assert any("IPAexMincho" in row for row in fonts), fonts
    assert any("IPAexGothic" in row for row in fonts), fonts
    assert all(" yes " in row for row in fonts), fonts  # every font embedded


def test_not_adopted_notice_says_so_and_has_no_amount(staff, tmp_path):
    notice = make_notice(staff, kind=NoticeKind.NOT_ADOPTED, document_number="府孤第13号")
    text = pdf_text(notice_pdf(notice), tmp_path)
    assert "府孤第13号" in text
    assert "の不採択について（通知）" in text
    assert "採択しないこととしたので通知します。" in text
    assert "採択額" not in text
    assert "金1,800,000円" not in text
    assert "記" in text and "以上" in text
    assert "R7T-0001" in text


def test_without_a_representative_the_organisation_is_addressed_with_onchu(staff, tmp_path):
    notice = make_notice(staff, representative_title="", representative_name="")
    text = pdf_text(notice_pdf(notice), tmp_path)
    assert "特定非営利活動法人まちの縁側御中" in text
    assert "様" not in text


def test_applicant_text_is_printed_literally_and_reads_no_files(staff, tmp_path, caplog):
    notice = make_notice(
        staff,
        organisation_name='団体<img src="file:///etc/passwd">',
        call_title="公募<link rel=stylesheet href=file:///etc/hostname>",
    )
    with caplog.at_level(logging.DEBUG, logger="weasyprint"):
        pdf = notice_pdf(notice)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    assert '団体<imgsrc="file:///etc/passwd">' in text
    assert "公募<linkrel=stylesheethref=file:///etc/hostname>の採択について（通知）" in text
    assert "root:" not in text
    hostname = "".join(Path("/etc/hostname").read_text().split()) if Path("/etc/hostname").exists() else ""
    if len(hostname) >= 8:
        assert hostname not in text
    # Escaped markup never reaches the URL fetcher: nothing was even attempted.
    assert not [r for r in caplog.records if "file:" in r.getMessage()]
    images = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "notice.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert len(images.splitlines()) == 2, images  # header only: no image in the PDF


def test_notice_email_has_the_pdf_and_goes_to_the_organisation_and_the_submitter(staff, tmp_path):
    notice = make_notice(staff)
    message = notice_email(notice)
    assert sorted(message.to) == ["office@example.jp", "submitter@example.jp"]
    assert "採択通知書の送付について" in message.subject
    assert "\n" not in message.subject
    assert "R7T-0001" in message.subject
    assert "特定非営利活動法人 まちの縁側" in message.body
    assert "理事長　代表 太郎　様" in message.body
    assert "府孤第12号" in message.body
    assert f"https://portal.example.jp/applications/{notice.application.pk}/" in message.body
    assert "ダウンロード" in message.body
    [(name, content, mimetype)] = message.attachments
    assert name == "府孤第12号.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    assert "金1,800,000円" in pdf_text(content, tmp_path)


def test_notice_email_of_a_non_adoption_and_plain_text_is_not_html_escaped(staff):
    notice = make_notice(
        staff, kind=NoticeKind.NOT_ADOPTED, organisation_name="一般社団法人 A&B", receipt_number="R7T-0002"
    )
    message = notice_email(notice)
    assert "審査結果の通知について" in message.subject
    assert "一般社団法人 A&B" in message.body
    assert "&amp;" not in message.body
    assert "採択額" not in message.body
    assert message.attachments[0][0] == f"{notice.document_number}.pdf"


def test_notice_email_attaches_the_stored_pdf_once_rendered(staff):
    from grants.services import notice_render

    notice = make_notice(staff)
    notice = notice_render(notice_id=notice.pk)
    with notice.pdf.open("rb") as handle:
        stored = handle.read()
    assert notice_email(notice).attachments[0][1] == stored


def test_render_notice_writes_the_pdf_and_changes_nothing(staff, tmp_path, mailoutbox):
    notice = make_notice(staff)
    output = tmp_path / "out" / "copy.pdf"
    output.parent.mkdir()
    call_command("render_notice", "R7T-0001", "--output", str(output), stdout=io.StringIO())
    assert output.read_bytes().startswith(b"%PDF-")
    assert "府孤第12号" in pdf_text(output.read_bytes(), tmp_path)
    notice.refresh_from_db()
    assert not notice.pdf
    assert notice.generated_at is None and notice.emailed_at is None
    assert mailoutbox == []


def test_render_notice_refuses_an_unknown_receipt_number(staff, tmp_path):
    make_notice(staff)
    output = tmp_path / "never.pdf"
    with pytest.raises(CommandError, match="No application has the receipt number 'R7T-9999'"):
        call_command("render_notice", "R7T-9999", "--output", str(output))
    assert not output.exists()


def test_render_notice_refuses_an_application_without_a_notice(staff, tmp_path):
    ApplicationFactory(status=ApplicationStatus.SUBMITTED, receipt_number="R7T-0005", submitted_at=SUBMITTED_AT)
    with pytest.raises(CommandError, match="has no notice yet"):
        call_command("render_notice", "R7T-0005", "--output", str(tmp_path / "never.pdf"))
