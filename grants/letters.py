"""Official letters after 採択 (交付決定通知書, 変更承認通知書, 額の確定通知書, 返還命令書, 交付決定取消通知書,
繰上げ採択 and 補欠 notices): numbering, issuing, the PDF and the e-mail.

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
``letter_reissue(letter=, by=, reason=) -> Letter`` / ``letter_withdraw(letter=, by=, reason=)``
    Staff only: a new letter (new number, same ``details``) that replaces the earlier one, or the
    letter marked withdrawn; the public verification page (/verify/) says which.

``details`` by kind (amounts in yen as int, dates as ISO strings; every letter may also carry
"note"):

- grant_decision: amount, applied_on (the 交付申請's date, or the application's),
  project_start, project_end, conditions (list of str), budget (list of [category label, amount])
- change_approved / change_refused: change_number, change_kind (label), requested_on, note,
  budget_before, budget_after (lists of [category label, amount]; empty when not a budget change)
- confirmation: granted_amount, confirmed_amount, reported_on, paid_so_far, balance
  (confirmed − paid so far: positive is still to be paid, negative is to be returned)
- refund_order: amount, due_on, rate (str, % a year), confirmation_number, confirmed_amount,
  paid_so_far, cause ("overpayment": article 18(2), after 額の確定; "cancellation": article
  18(1), after a 決定の取消 under article 17(1)), additional_charge (bool: whether the order
  states the 加算金 of article 19(1) — True only with cause "cancellation")
- cancellation: cancelled_on, amount (cancelled by this act), reason, granted_amount (the
  交付決定額 as decided), cancelled_before (cancelled by earlier acts), granted_after (the
  交付決定額 after the cancellation), whole (bool), decision_number (the 交付決定通知書's number,
  "" when none), decided_on, confirmed_amount (None before 額の確定), paid_so_far, to_return (the
  amount the 返還命令書 issued with it orders back; 0 when none)
- promoted: award_amount
- reserve_closed: (nothing)

Optional keys (the letter falls back as said when they are absent):

- grant_decision: decline_by (ISO date; the last day of 申請の取下げ, article 9; default the
  award's ``decline_by``)
- refund_order: cause (default "overpayment": a letter issued before causes were recorded);
  additional_charge (default: True for cause "cancellation", False for "overpayment" — the Act
  attaches 加算金 only to a return after a cancellation, article 19(1); see docs/DOMAIN.md);
  with cause "cancellation": cancellation_number (the 交付決定取消通知書's number), cancelled_on,
  entitled_amount (what the organisation keeps: the 交付決定額 after the cancellation, or the
  confirmed amount when lower)

A letter is issued once: a second ``issue_letter`` of the same kind for the same application (and
the same change request) is refused (``Refused``, code "issued"), so a letter is never numbered or
mailed twice. The exception is the 交付決定取消通知書 (``REPEATABLE_LETTERS``): a grant may be
cancelled in part more than once, one letter per act; the cancelling service (money_steps.
grant_cancel) locks the award and refuses a second act on stale figures. Its mails are sent
through the outbox (one row per address, its unique key), and the letter counts as e-mailed
(``emailed_at``) only once the mail server has accepted one of them.
"""

import datetime as dt

import rules
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Min, OuterRef, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from applications.models import Application
from applications.selectors import application_mail_recipients
from kodoku_portal.jp import JST, format_wareki
from kodoku_portal.links import absolute_url
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail, enqueue
from kodoku_portal.refusals import Refused
from kodoku_portal.signing import render_official_pdf
from kodoku_portal.workflow import change_state

from .models import (
    SUBSIDY_ONLY_LETTERS,
    Award,
    ChangeRequest,
    DocumentCounter,
    DocumentSeries,
    Letter,
    LetterKind,
    LetterStatus,
)
from .sent_mail import MailWithAfterSend
from .signed import render_signed, signed_mail_context, store_signed

LETTER_MAIL = "letter"  # the outbox kind of a letter's mail (one per address)

# What each letter is called on paper and in its mail: official letters are issued in Japanese
# whatever the reader's language, so these are not translated.
LETTER_TITLES = {
    LetterKind.GRANT_DECISION: "交付決定通知書",
    LetterKind.CHANGE_APPROVED: "変更承認通知書",
    LetterKind.CHANGE_REFUSED: "変更不承認通知書",
    LetterKind.CONFIRMATION: "額の確定通知書",
    LetterKind.REFUND_ORDER: "返還命令書",
    LetterKind.PROMOTED: "繰上げ採択通知書",
    LetterKind.RESERVE_CLOSED: "補欠解除通知書",
    LetterKind.CANCELLATION: "交付決定取消通知書",
}

# Letters issued once per act rather than once per application (see the module docstring).
REPEATABLE_LETTERS = frozenset({LetterKind.CANCELLATION})


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
    # Issued once: the application's row is locked while we look, so two issues at once give one.
    list(Application.objects.select_for_update().filter(pk=application.pk).values_list("pk", flat=True))
    issued = Letter.objects.filter(application=application, kind=kind, change=change).first()
    if issued is not None and kind not in REPEATABLE_LETTERS:
        raise Refused(
            _("The %(kind)s has already been issued (%(number)s of %(date)s); a letter is issued only once.")
            % {
                "kind": LetterKind(kind).label,
                "number": issued.document_number,
                "date": format_wareki(issued.issued_on),
            },
            code="issued",
        )
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


def _check_staff(user: User) -> None:
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only the programme's staff can reissue or withdraw a letter."), code="forbidden")


def _lock_in_force(letter: Letter) -> Letter:
    locked = Letter.objects.select_for_update().select_related("application__call").get(pk=letter.pk)
    if locked.status != LetterStatus.ISSUED:
        raise Refused(
            _("The letter %(number)s has already been replaced or withdrawn.") % {"number": locked.document_number},
            code="not_in_force",
        )
    return locked


@transaction.atomic
def letter_reissue(*, letter: Letter, by: User, reason: str = "") -> Letter:
    """Reissue a letter (a mistake in it, the organisation's name changed): a new letter of the same
    kind stating the same (``details`` copied), with a new number and today's date, signed and
    mailed like any letter; the earlier one is marked replaced by it (the verification page says
    so). The earlier file is kept as it was: a stored letter is never re-signed."""
    _check_staff(by)
    old = _lock_in_force(letter)
    application = old.application
    list(Application.objects.select_for_update().filter(pk=application.pk).values_list("pk", flat=True))
    today = timezone.now().astimezone(JST).date()
    new = Letter.objects.create(
        application=application,
        award_id=old.award_id,
        change_id=old.change_id,
        kind=old.kind,
        document_number=next_document_number(today, practice=application.call.is_practice),
        issued_on=today,
        details=old.details,
        issued_by=by,
    )
    old.replaced_by = new
    old.status_changed_at = timezone.now()
    change_state(
        old,
        LetterStatus.REPLACED,
        by=by,
        action="letter_reissued",
        update_fields=["replaced_by", "status_changed_at"],
        after={"replaced_by": new.document_number, "reason": reason},
        mails=letter_mails(new),
        call_id=application.call_id,
    )
    return new


@transaction.atomic
def letter_withdraw(*, letter: Letter, by: User, reason: str = "") -> Letter:
    """Withdraw a letter issued in error: it stays on record, and the verification page says it
    was withdrawn (when). Nothing is mailed: the office writes to the organisation itself."""
    _check_staff(by)
    old = _lock_in_force(letter)
    old.status_changed_at = timezone.now()
    change_state(
        old,
        LetterStatus.WITHDRAWN,
        by=by,
        action="letter_withdrawn",
        update_fields=["status_changed_at"],
        after={"reason": reason},
        call_id=old.application.call_id,
    )
    return old


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


# The keys of ``details`` that hold dates (ISO strings): printed in 令和.
DATE_KEYS = (
    "applied_on",
    "project_start",
    "project_end",
    "requested_on",
    "reported_on",
    "due_on",
    "decline_by",
    "cancelled_on",
    "decided_on",
)


def _budget(rows: list | None) -> list[tuple[str, int]]:
    return [(str(label), int(amount)) for label, amount in rows or []]


def _printable(letter: Letter) -> dict:
    """What the letter prints: ``details`` with its dates as dates, the budget tables as rows with
    totals, and the figures a template cannot compute (the balance's size, the rate's text)."""
    details = dict(letter.details or {})
    for key in DATE_KEYS:
        if details.get(key):
            details[key] = dt.date.fromisoformat(str(details[key])[:10])
    if letter.kind == LetterKind.GRANT_DECISION and not details.get("decline_by") and letter.award_id:
        details["decline_by"] = letter.award.decline_by
    budget = _budget(details.get("budget"))
    details["budget"] = budget
    details["budget_total"] = sum(amount for _label, amount in budget)
    before, after = _budget(details.get("budget_before")), _budget(details.get("budget_after"))
    labels = list(dict.fromkeys([label for label, _amount in before] + [label for label, _amount in after]))
    before_by, after_by = dict(before), dict(after)
    details["budget_change"] = [
        {
            "label": label,
            "before": before_by.get(label, 0),
            "after": after_by.get(label, 0),
            "diff": after_by.get(label, 0) - before_by.get(label, 0),
            "diff_abs": abs(after_by.get(label, 0) - before_by.get(label, 0)),
        }
        for label in labels
    ]
    details["budget_change_total"] = (sum(before_by.values()), sum(after_by.values()))
    if "balance" in details:
        details["balance_abs"] = abs(int(details["balance"]))
    details["conditions"] = [str(item) for item in details.get("conditions") or []]
    if letter.kind == LetterKind.REFUND_ORDER:
        details.setdefault("cause", "overpayment")
        details.setdefault("additional_charge", details["cause"] == "cancellation")
    return details


def _context(letter: Letter) -> dict:
    application = letter.application
    return {
        "letter": letter,
        "document_number": letter.document_number,
        "issued_on": letter.issued_on,
        "details": _printable(letter),
        "kind": LetterKind(letter.kind),
        "title": LETTER_TITLES[LetterKind(letter.kind)],
        "application": application,
        "award": letter.award,
        "change": letter.change,
        "organisation": application.organisation,
        "call": application.call,
        "programme": application.call.programme,
        "practice": application.call.is_practice,
        # The award page; a letter without an award (補欠解除) links to the application.
        "url": absolute_url("grants:applicant_award", application.pk)
        if letter.award_id
        else absolute_url("applications:detail", application.pk),
    }


def letter_pdf(letter: Letter) -> bytes:
    """The A4 letter in Japanese, from templates/pdf/letters/<kind>.html, as tagged PDF/A — a
    preview: unsigned and without the verification block (the kept file is ``letter_render``'s)."""
    letter = _load(letter)
    with translation.override("ja"):
        html = render_to_string(f"pdf/letters/{letter.kind}.html", _context(letter))
    return render_official_pdf(html)


def letter_record(letter: Letter) -> dict:
    """What the letter states, for its verification code (grants/signed.py)."""
    return {
        "number": letter.document_number,
        "date": letter.issued_on.isoformat(),
        "kind": str(letter.kind),
        "organisation": letter.application.organisation.name,
        "details": letter.details or {},
    }


def letter_render(*, letter_id: int) -> Letter:
    """The letter with its PDF — tagged PDF/A with its number, verification code and QR code,
    signed (PAdES) — rendered and signed once, outside any lock, and kept; if another worker
    stored one meanwhile, that one is kept. A stored letter is never rendered or signed again."""
    letter = Letter.objects.get(pk=letter_id)
    if letter.pdf:
        return letter
    letter = _load(letter)
    title = LETTER_TITLES[LetterKind(letter.kind)]
    rendered = render_signed(
        f"pdf/letters/{letter.kind}.html",
        _context(letter),
        number=letter.document_number,
        record=letter_record(letter),
        signer_name=letter.application.call.programme.owner,
        reason=f"{title}（{letter.document_number}）の発行",
    )
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter_id)
        if not letter.pdf:
            letter.pdf.save(f"{letter.document_number}.pdf", ContentFile(rendered.data), save=False)
            letter.generated_at = timezone.now()
            letter.save(update_fields=["pdf", "generated_at", *store_signed(letter, rendered)])
    return letter


def letter_email(letter: Letter, *, to: list[str], message_class: type[EmailMessage] = EmailMessage) -> EmailMessage:
    """The mail of a rendered letter (its stored PDF attached) to ``to``."""
    letter = _load(letter)
    context = {**_context(letter), "signed": signed_mail_context(letter)}
    with translation.override("ja"):
        subject = render_to_string("grants/email/letter_subject.txt", context)
        body = render_to_string("grants/email/letter_body.txt", context)
    subject = " ".join(line.strip() for line in subject.splitlines() if line.strip())  # one header line
    message = message_class(subject=subject, body=body, to=to)
    letter.pdf.open("rb")
    try:
        message.attach(f"{letter.document_number}.pdf", letter.pdf.read(), "application/pdf")
    finally:
        letter.pdf.close()
    return message


def letter_mail_sent(*, letter_id: int, at: dt.datetime) -> None:
    """A mail of the letter has been accepted by the mail server: the letter counts as e-mailed
    (the first time only)."""
    Letter.objects.filter(pk=letter_id, emailed_at__isnull=True).update(emailed_at=at)


def build_letter_mail(message: OutboxMessage) -> EmailMessage | None:
    """The outbox builder: the letter's mail to one address, with its PDF (rendered and stored the
    first time; a retry attaches the same file). The letter counts as e-mailed only after the mail
    server has accepted the mail (``after_send``), never when the mail is merely built."""
    if not Letter.objects.filter(pk=message.subject_id).exists():
        return None
    letter = letter_render(letter_id=message.subject_id)
    email = letter_email(letter, to=[message.to_email], message_class=MailWithAfterSend)
    email.after_send = lambda: letter_mail_sent(letter_id=letter.pk, at=message.sent_at or timezone.now())
    return email


def letters_record_sent() -> int:
    """Repair: a letter whose mail the outbox has sent but that is not recorded as e-mailed (the
    worker stopped between the mail server's answer and the record) is recorded now, with the time
    the outbox sent its first mail. Run by beat with the notices' repair; returns how many."""
    sent = OutboxMessage.objects.filter(
        kind=LETTER_MAIL, subject_type=Letter._meta.label, status=OutboxStatus.SENT, sent_at__isnull=False
    )
    first_sent = sent.filter(subject_id=OuterRef("pk")).order_by().values("subject_id").annotate(first=Min("sent_at"))
    unrecorded = Letter.objects.filter(emailed_at__isnull=True, pk__in=sent.values("subject_id")).annotate(
        first=Subquery(first_sent.values("first"))
    )
    repaired = 0
    for letter_id, first in unrecorded.values_list("pk", "first"):
        letter_mail_sent(letter_id=letter_id, at=first)
        repaired += 1
    return repaired
