"""The notice of adoption, non-adoption or of the reserve list (採択通知書 / 不採択通知書 /
補欠通知書) as PDF and e-mail.

``notice_pdf(notice) -> bytes``
    The A4 official letter (公用文), always in Japanese, from templates/pdf/notice.html (the layout
    it shares with the letters after 採択: templates/pdf/letters/_official.html). A practice
    call's notice carries the 「練習用」 mark (and its number is of the practice series).
``notice_signed(notice) -> SignedRender``
    The notice as kept and mailed: with its verification code and QR code, signed (PAdES);
    ``services.notice_render`` stores it once.
``notice_email(notice, to=None) -> EmailMessage``
    The e-mail to ``to`` (default: the organisation and the person who submitted), with the PDF
    attached as ``<document number>.pdf`` (the stored PDF when it has been rendered, so the mail
    carries the very file kept on record).

Called by grants.services.notice_render, the outbox builder (grants/mails.py) and by
``manage.py render_notice``.
"""

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from applications.selectors import application_mail_recipients
from kodoku_portal.links import absolute_url
from kodoku_portal.signing import render_official_pdf
from reviews.selectors import disclosed_comments

from .models import Notice, NoticeKind
from .signed import SignedRender, render_signed, signed_mail_context


def _load(notice: Notice) -> Notice:
    """The notice with everything the letter and the mail print, in one query."""
    return Notice.objects.select_related(
        "application__organisation",
        "application__call__programme",
        "application__decision",
        "application__submitted_by",
    ).get(pk=notice.pk)


def _context(notice: Notice) -> dict:
    application = notice.application
    return {
        "notice": notice,
        "document_number": notice.document_number,
        "issued_on": notice.issued_on,
        "practice": application.call.is_practice,  # the 「練習用」 mark; the number is 練習用第N号
        "adopted": notice.kind == NoticeKind.ADOPTED,
        "reserve": notice.kind == NoticeKind.RESERVE,
        "application": application,
        "organisation": application.organisation,
        "call": application.call,
        "programme": application.call.programme,
        "url": absolute_url("applications:detail", application.pk),
        "review_comments": _review_comments(notice),
    }


def _review_comments(notice: Notice) -> list[str]:
    """The reviewers' comments marked 「申請者に開示可」, printed (without names) on a 不採択 notice
    when the call says so (``Call.disclose_comments_in_notice``); none on any other notice."""
    if notice.kind != NoticeKind.NOT_ADOPTED or not notice.application.call.disclose_comments_in_notice:
        return []
    return disclosed_comments(notice.application)


def _render_pdf(notice: Notice) -> bytes:
    with translation.override("ja"):
        html = render_to_string("pdf/notice.html", _context(notice))
    return render_official_pdf(html)


def notice_pdf(notice: Notice) -> bytes:
    """A4 notice in Japanese (official documents are issued in Japanese), tagged PDF/A — a preview:
    unsigned and without the verification block (the kept file is ``notice_signed``'s)."""
    return _render_pdf(_load(notice))


def notice_record(notice: Notice) -> dict:
    """What the notice states, for its verification code (grants/signed.py)."""
    application = notice.application
    return {
        "number": notice.document_number,
        "date": notice.issued_on.isoformat(),
        "kind": str(notice.kind),
        "organisation": application.organisation.name,
        "receipt_number": application.receipt_number,
        "title": application.title,
        "award_amount": notice.award_amount,
    }


def notice_signed(notice: Notice) -> SignedRender:
    """The notice as it is kept and mailed: tagged PDF/A with its number, verification code and QR
    code, signed (PAdES) in the name of the programme's office."""
    notice = _load(notice)
    title = {NoticeKind.ADOPTED: "採択通知書", NoticeKind.RESERVE: "補欠通知書"}.get(notice.kind, "不採択通知書")
    return render_signed(
        "pdf/notice.html",
        _context(notice),
        number=notice.document_number,
        record=notice_record(notice),
        signer_name=notice.application.call.programme.owner,
        reason=f"{title}（{notice.document_number}）の発行",
    )


def _stored_pdf(notice: Notice) -> bytes | None:
    if not notice.pdf:
        return None
    notice.pdf.open("rb")
    try:
        return notice.pdf.read()
    finally:
        notice.pdf.close()


def notice_email(
    notice: Notice, *, to: list[str] | None = None, message_class: type[EmailMessage] = EmailMessage
) -> EmailMessage:
    notice = _load(notice)
    context = {**_context(notice), "signed": signed_mail_context(notice)}
    with translation.override("ja"):
        subject = render_to_string("grants/email/notice_subject.txt", context)
        body = render_to_string("grants/email/notice_body.txt", context)
    subject = " ".join(line.strip() for line in subject.splitlines() if line.strip())  # one header line
    recipients = to if to is not None else application_mail_recipients(notice.application)
    message = message_class(subject=subject, body=body, to=recipients)
    pdf = _stored_pdf(notice)
    if pdf is None:
        pdf = _render_pdf(notice)
    message.attach(f"{notice.document_number}.pdf", pdf, "application/pdf")
    return message
