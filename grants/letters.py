"""Official letters after 採択 (交付決定通知書, 変更承認通知書, 額の確定通知書, 返還命令書, 繰上げ採択 and
補欠 notices): numbering, issuing, the PDF and the e-mail.

``next_document_number(day, *, practice) -> str``
    府孤第N号 per fiscal year (April–March); a practice call's letters and notices count in a
    series of their own, 練習用第N号, never 府孤第N号. The counter row is locked until commit.
``issue_letter(kind, *, application, award=None, change=None, details, by) -> Letter | None``
    Inside the caller's transaction: numbers the letter, keeps ``details`` (what it states, frozen
    now) and records one outbox mail (kind "letter") per address of the application. A letter a
    contract (委託) does not issue (``SUBSIDY_ONLY_LETTERS``) returns None and records nothing.
``letter_render(letter_id) -> Letter``
    The PDF, rendered once (outside any lock) and kept; later mails attach the same file.
``letter_pdf(letter) -> bytes`` / ``letter_email(letter, to=…) -> EmailMessage``

``details`` by kind (amounts in yen as int, dates as ISO strings; every letter may also carry
"note"):

- grant_decision: amount, applied_on (the 交付申請's date, or the application's),
  project_start, project_end, conditions (list of str), budget (list of [category label, amount])
- change_approved / change_refused: change_number, change_kind (label), requested_on, note,
  budget_before, budget_after (lists of [category label, amount]; empty when not a budget change)
- confirmation: granted_amount, confirmed_amount, reported_on, paid_so_far, balance
  (confirmed − paid so far: positive is still to be paid, negative is to be returned)
- refund_order: amount, due_on, rate (str, % a year), confirmation_number, confirmed_amount,
  paid_so_far
- promoted: award_amount
- reserve_closed: (nothing)
"""

import datetime as dt

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User
from applications.models import Application
from applications.selectors import application_mail_recipients
from kodoku_portal.jp import JST
from kodoku_portal.links import absolute_url
from kodoku_portal.models import OutboxMessage
from kodoku_portal.outbox import Mail, enqueue
from kodoku_portal.pdf import render_pdf

from .models import (
    SUBSIDY_ONLY_LETTERS,
    Award,
    ChangeRequest,
    DocumentCounter,
    DocumentSeries,
    Letter,
    LetterKind,
)

LETTER_MAIL = "letter"  # the outbox kind of a letter's mail (one per address)


def fiscal_year(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def next_document_number(day: dt.date, *, practice: bool) -> str:
    """The next number of the fiscal year of ``day`` in the official or the practice series."""
    series = DocumentSeries.PRACTICE if practice else DocumentSeries.OFFICIAL
    counter, _created = DocumentCounter.objects.get_or_create(series=series, fiscal_year=fiscal_year(day))
    counter = DocumentCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"練習用第{counter.last}号" if practice else f"府孤第{counter.last}号"


def issue_letter(
    kind: LetterKind,
    *,
    application: Application,
    award: Award | None = None,
    change: ChangeRequest | None = None,
    details: dict,
    by: User,
) -> Letter | None:
    """Issue a letter (see the module docstring); must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("issue_letter() must run inside the caller's transaction")
    call = application.call
    if kind in SUBSIDY_ONLY_LETTERS and not call.is_subsidy:
        return None
    today = timezone.now().astimezone(JST).date()
    letter = Letter.objects.create(
        application=application,
        award=award,
        change=change,
        kind=kind,
        document_number=next_document_number(today, practice=call.is_practice),
        issued_on=today,
        details=details,
        issued_by=by,
    )
    for mail in letter_mails(letter):
        enqueue(mail)
    return letter


def letter_mails(letter: Letter) -> list[Mail]:
    application = letter.application
    submitter = application.submitted_by if application.submitted_by_id else None
    return [
        Mail(
            kind=LETTER_MAIL,
            subject=letter,
            to_email=address,
            recipient=submitter if submitter is not None and submitter.email.lower() == address else None,
            language="ja",  # official letters are issued in Japanese
            call_id=application.call_id,
        )
        for address in application_mail_recipients(application)
    ]


def _load(letter: Letter) -> Letter:
    return Letter.objects.select_related(
        "application__organisation", "application__call__programme", "award", "change"
    ).get(pk=letter.pk)


def _context(letter: Letter) -> dict:
    application = letter.application
    return {
        "letter": letter,
        "details": letter.details,
        "kind": LetterKind(letter.kind),
        "application": application,
        "award": letter.award,
        "change": letter.change,
        "organisation": application.organisation,
        "call": application.call,
        "programme": application.call.programme,
        "practice": application.call.is_practice,
        "url": absolute_url("grants:applicant_award", application.pk),
    }


def letter_pdf(letter: Letter) -> bytes:
    """The A4 letter in Japanese, from templates/pdf/letters/<kind>.html."""
    letter = _load(letter)
    with translation.override("ja"):
        html = render_to_string(f"pdf/letters/{letter.kind}.html", _context(letter))
    return render_pdf(html)


def letter_render(*, letter_id: int) -> Letter:
    """The letter with its PDF, rendered once and kept (if another worker stored one meanwhile,
    that one is kept)."""
    letter = Letter.objects.get(pk=letter_id)
    if letter.pdf:
        return letter
    pdf = letter_pdf(letter)
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter_id)
        if not letter.pdf:
            letter.pdf.save(f"{letter.document_number}.pdf", ContentFile(pdf), save=False)
            letter.generated_at = timezone.now()
            letter.save(update_fields=["pdf", "generated_at"])
    return letter


def letter_email(letter: Letter, *, to: list[str]) -> EmailMessage:
    letter = _load(letter)
    context = _context(letter)
    with translation.override("ja"):
        subject = render_to_string("grants/email/letter_subject.txt", context)
        body = render_to_string("grants/email/letter_body.txt", context)
    subject = " ".join(line.strip() for line in subject.splitlines() if line.strip())
    message = EmailMessage(subject=subject, body=body, to=to)
    letter.pdf.open("rb")
    try:
        message.attach(f"{letter.document_number}.pdf", letter.pdf.read(), "application/pdf")
    finally:
        letter.pdf.close()
    return message


def build_letter_mail(message: OutboxMessage) -> EmailMessage | None:
    """The outbox builder: the letter's mail to one address, with its PDF (rendered the first time)."""
    if not Letter.objects.filter(pk=message.subject_id).exists():
        return None
    letter = letter_render(letter_id=message.subject_id)
    Letter.objects.filter(pk=letter.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return letter_email(letter, to=[message.to_email])
