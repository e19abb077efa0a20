"""Services of 交付申請 (its filing, 差戻し, acceptance), 交付決定 and its letter, 辞退, 補欠 and 繰上げ採択.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter.

``grant_application_file(award=, filing=, documents=, by=)``
    交付申請 (article 5) by a member of the organisation while the award is 採択 (ADOPTED) and the
    call uses a separate grant application: a budget version (not yet in force), the filing
    (number 1, 2, … after a 差戻し), its attachments; the award → APPLIED.
``grant_application_return(filing=, reason=, by=)`` / ``grant_application_accept(filing=, by=)``
    Staff return the filing for correction (the award back to ADOPTED, to be filed again) or
    accept it (the award → ACCEPTED).
``grant_decide(award=, amount=, conditions=, progress_report_due=, by=)``
    交付決定 (articles 6, 8): on an accepted filing, or straight from 採択 where the call has no
    separate grant application; the budget put in force, the due dates set, the 交付決定通知書 issued.
``award_decline(award=, reason=, by=)``
    辞退 / 申請の取下げ (article 9) until ``award.decline_by`` (inclusive, JST); releases the budget.
``reserve_promote(application=, award_amount=, by=)`` / ``reserve_close(call=, by=)``
    繰上げ採択 of a 補欠 application after its reserve notice, and closing the reserve list.

Bank details are normalised as the banks' transfer data (全銀フォーマット) needs them:
``normalise_account_holder`` (half-width katakana), ``normalise_bank_code`` (4 digits),
``normalise_branch_code`` (3 digits), ``normalise_account_number`` (7 digits, zero-padded).
"""

import datetime as dt
import re
from dataclasses import dataclass, field

import jaconv
import rules
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from applications.models import Application, ApplicationStatus, BudgetCategory
from calls.models import Call
from kodoku_portal.jp import JST, format_date, format_yen
from kodoku_portal.normalise import normalise_code
from kodoku_portal.workflow import Refused, change_state

from . import scanned_files
from .letters import issue_letter
from .models import (
    AccountType,
    Award,
    AwardDocument,
    AwardDocumentPurpose,
    AwardStatus,
    BudgetVersion,
    BudgetVersionLine,
    Decision,
    GrantApplication,
    GrantApplicationStatus,
    LetterKind,
    Notice,
    NoticeKind,
)
from .services import _check_award_amount, award_open, committed_amount

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {
    "grant_application_filed": gettext_lazy("%(actor)s filed the grant application %(object)s (%(amount)s)"),
    "grant_application_returned": gettext_lazy("%(actor)s returned the grant application of %(object)s for correction"),
    "grant_application_accepted": gettext_lazy("%(actor)s accepted the grant application of %(object)s"),
    "grant_decided": gettext_lazy("%(actor)s decided the grant for %(object)s (%(amount)s)"),
    "award_declined": gettext_lazy("%(actor)s declined the award %(object)s"),
    "promoted": gettext_lazy("%(actor)s adopted %(object)s from the reserve list (%(amount)s)"),
    "reserve_closed": gettext_lazy("%(actor)s closed the reserve list: %(object)s is not adopted"),
}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {
    "grant_application_filed": gettext_lazy("Grant application filed (交付申請)"),
    "grant_application_returned": gettext_lazy("Grant application returned (差戻し)"),
    "grant_application_accepted": gettext_lazy("Grant application accepted"),
    "grant_decided": gettext_lazy("Grant decided (交付決定)"),
    "award_declined": gettext_lazy("Declined (辞退)"),
    "promoted": gettext_lazy("Adopted from the reserve list (繰上げ採択)"),
    "reserve_closed": gettext_lazy("Reserve list closed"),
}


def _today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(JST).date()


# --- bank details (全銀) ------------------------------------------------------------------------

# Small kana are written large in bank data (ｧ → ｱ, ｯ → ﾂ); the long-vowel mark ｰ as "-".
_SMALL_TO_LARGE = str.maketrans(
    {"ｧ": "ｱ", "ｨ": "ｲ", "ｩ": "ｳ", "ｪ": "ｴ", "ｫ": "ｵ", "ｯ": "ﾂ", "ｬ": "ﾔ", "ｭ": "ﾕ", "ｮ": "ﾖ"}
)
_BANK_EXTRA = str.maketrans({"ｰ": "-", "－": "-", "‐": "-", "−": "-", "\u3000": " "})
_BANK_ALLOWED = re.compile(r"[0-9A-Zｦｱ-ﾝﾞﾟ ().\-/,]")
_BANK_SPACES = re.compile(r" +")
ACCOUNT_HOLDER_MAX = 60


def normalise_account_holder(value: str) -> str:
    """口座名義: the half-width katakana the banks' transfer data uses.

    Rule: hiragana become katakana, full-width katakana half-width (ガ → ｶﾞ: the voiced marks ﾞ ﾟ
    follow their kana), full-width digits, letters and the symbols ( ) . - / , become ASCII,
    lower-case letters upper-case, small kana large (ｧ → ｱ, ｯ → ﾂ), the long-vowel mark ー and
    dash look-alikes "-", runs of spaces (ASCII or full-width) one space, surrounding spaces
    dropped. What remains may hold only half-width katakana, ﾞ ﾟ, digits, A–Z, spaces and
    ( ) . - / , — anything else (kanji, ・, other symbols) is refused, naming the characters.
    "とくていひえいり　かぶしきがいしゃ" gives "ﾄｸﾃｲﾋｴｲﾘ ｶﾌﾞｼｷｶﾞｲｼｬ".
    """
    text = jaconv.hira2kata(value)
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)  # ｶﾞ → ガ first, so all kana are alike
    text = jaconv.z2h(text, kana=True, ascii=True, digit=True)
    text = text.translate(_BANK_EXTRA).translate(_SMALL_TO_LARGE).upper()
    text = _BANK_SPACES.sub(" ", text).strip()
    if not text:
        raise ValidationError(_("Enter the account holder's name in katakana."), code="required")
    wrong = list(dict.fromkeys(char for char in text if not _BANK_ALLOWED.fullmatch(char)))
    if wrong:
        raise ValidationError(
            _(
                "The account holder's name cannot contain %(chars)s. Write it in katakana as the bank "
                "has it (hiragana is converted for you); digits, letters, spaces and ( ) . - / , are allowed."
            )
            % {"chars": "「" + "」「".join(wrong) + "」"},
            code="invalid",
        )
    if len(text) > ACCOUNT_HOLDER_MAX:
        raise ValidationError(
            _("The account holder's name is at most %(max)d characters in half-width katakana.")
            % {"max": ACCOUNT_HOLDER_MAX},
            code="max_length",
        )
    return text


def _digits(value: str, *, length: int, pad: bool, message: str) -> str:
    text = normalise_code(value).replace("-", "").replace(" ", "")
    if not text.isascii() or not text.isdigit() or len(text) > length or (not pad and len(text) != length):
        raise ValidationError(message, code="invalid")
    return text.zfill(length)


def normalise_bank_code(value: str) -> str:
    """金融機関コード: exactly 4 digits (full-width digits accepted)."""
    return _digits(value, length=4, pad=False, message=_("The bank code has 4 digits, for example 0005."))


def normalise_branch_code(value: str) -> str:
    """支店コード: exactly 3 digits (full-width digits accepted)."""
    return _digits(value, length=3, pad=False, message=_("The branch code has 3 digits, for example 001."))


def normalise_account_number(value: str) -> str:
    """口座番号: up to 7 digits, zero-padded on the left to 7 ("12345" → "0012345")."""
    return _digits(value, length=7, pad=True, message=_("The account number has at most 7 digits."))


# --- 交付申請 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    category: str
    description: str
    amount: int


@dataclass(frozen=True)
class DocumentInput:
    title: str
    upload: UploadedFile
    file_type: str  # from applications.filetypes.validate_attachment


@dataclass
class FilingInput:
    """What the organisation types into the 交付申請書."""

    project_start: dt.date
    project_end: dt.date
    lines: list[LineInput]
    responsible_name: str
    bank_name: str
    bank_code: str
    branch_name: str
    branch_code: str
    account_type: str
    account_number: str
    account_holder_kana: str
    responsible_title: str = ""
    responsible_phone: str = ""
    responsible_email: str = ""
    documents: list[DocumentInput] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def award_amount_of(award: Award) -> int | None:
    decision = Decision.objects.filter(application_id=award.application_id).first()
    return decision.award_amount if decision else None


def _lock_award(award: Award) -> Award:
    return Award.objects.select_for_update(of=("self",)).select_related("application__call").get(pk=award.pk)


def _check_staff(user: User) -> None:
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only programme staff may do this."), code="forbidden")


def _check_member(user: User, award: Award) -> None:
    if not rules.test_rule("can_act_for_award", user, award):
        raise Refused(_("Only a member of the adopted organisation may do this."), code="forbidden")


def _validate_filing(filing: FilingInput, award_amount: int | None) -> FilingInput:
    """The rules of the form, checked again where the filing is written (bank details normalised)."""
    errors = []
    if not filing.lines:
        errors.append(_("Give at least one budget line."))
    for line in filing.lines:
        if line.category not in BudgetCategory.values:
            errors.append(_("Unknown expense category: %(category)s.") % {"category": line.category})
    total = filing.total
    if total <= 0:
        errors.append(_("The budget total must be more than ¥0."))
    elif award_amount is not None and total > award_amount:
        errors.append(
            _("The budget total (%(total)s) cannot exceed the award amount (%(award)s).")
            % {"total": format_yen(total), "award": format_yen(award_amount)}
        )
    if filing.project_start > filing.project_end:
        errors.append(_("The project must start before it ends."))
    if not filing.responsible_name.strip():
        errors.append(_("Give the person responsible."))
    if filing.account_type not in AccountType.values:
        errors.append(_("Choose the account type."))
    normalised = {}
    for name, normalise in (
        ("bank_code", normalise_bank_code),
        ("branch_code", normalise_branch_code),
        ("account_number", normalise_account_number),
        ("account_holder_kana", normalise_account_holder),
    ):
        try:
            normalised[name] = normalise(getattr(filing, name))
        except ValidationError as error:
            errors.extend(error.messages)
    if not filing.bank_name.strip() or not filing.branch_name.strip():
        errors.append(_("Give the bank and the branch."))
    if errors:
        raise Refused(*errors, code="invalid")
    for name, value in normalised.items():
        setattr(filing, name, value)
    return filing


@transaction.atomic
def grant_application_file(*, award: Award, filing: FilingInput, by: User, now: dt.datetime | None = None):
    """交付申請 (article 5): see the module docstring. Refused unless the award waits for it."""
    now = now or timezone.now()
    award = _lock_award(award)
    _check_member(by, award)
    call = award.application.call
    if not call.uses_grant_application:
        raise Refused(_("This call has no separate grant application."), code="no_step")
    if award.status != AwardStatus.ADOPTED:
        raise Refused(
            _("The grant application cannot be filed now: the award is at “%(status)s”.")
            % {"status": award.get_status_display()},
            code="state",
        )
    filing = _validate_filing(filing, award_amount_of(award))
    version = BudgetVersion.objects.create(
        award=award, number=(award.budget_versions.aggregate(n=Max("number"))["n"] or 0) + 1, in_force_from=None
    )
    BudgetVersionLine.objects.bulk_create(
        BudgetVersionLine(
            version=version,
            position=position,
            category=line.category,
            description=line.description[:200],
            amount=line.amount,
        )
        for position, line in enumerate(filing.lines)
    )
    grant_application = GrantApplication.objects.create(
        award=award,
        number=(award.grant_applications.aggregate(n=Max("number"))["n"] or 0) + 1,
        budget=version,
        amount=filing.total,
        project_start=filing.project_start,
        project_end=filing.project_end,
        responsible_title=filing.responsible_title,
        responsible_name=filing.responsible_name.strip(),
        responsible_phone=filing.responsible_phone,
        responsible_email=filing.responsible_email,
        bank_name=filing.bank_name.strip(),
        bank_code=filing.bank_code,
        branch_name=filing.branch_name.strip(),
        branch_code=filing.branch_code,
        account_type=filing.account_type,
        account_number=filing.account_number,
        account_holder_kana=filing.account_holder_kana,
        submitted_by=by,
        submitted_at=now,
    )
    for document in filing.documents:
        stored = AwardDocument(
            award=award,
            purpose=AwardDocumentPurpose.GRANT_APPLICATION,
            grant_application=grant_application,
            title=document.title[:100],
            original_name=document.upload.name[:200],
            file_type=document.file_type,
            size=document.upload.size,
            uploaded_by=by,
            **scanned_files.stored_scan_fields(),
        )
        stored.file.save("upload", document.upload, save=False)
        stored.save()
        scanned_files.schedule(stored)  # the virus check, run by a worker after commit
    change_state(
        award,
        AwardStatus.APPLIED,
        by=by,
        action="grant_application_filed",
        after={"grant_application": grant_application.number, "amount": grant_application.amount},
        call_id=call.pk,
    )
    return grant_application


def _lock_filing(filing: GrantApplication) -> tuple[GrantApplication, Award]:
    award = _lock_award(filing.award)
    filing = GrantApplication.objects.select_for_update(of=("self",)).select_related("reviewed_by").get(pk=filing.pk)
    if filing.status != GrantApplicationStatus.SUBMITTED:
        who = filing.reviewed_by.email if filing.reviewed_by else "—"
        raise Refused(
            _("Grant application %(number)s has already been %(status)s by %(who)s.")
            % {"number": filing.number, "status": filing.get_status_display().lower(), "who": who},
            code="done",
        )
    return filing, award


@transaction.atomic
def grant_application_return(*, filing: GrantApplication, reason: str, by: User, now: dt.datetime | None = None):
    """差戻し: the filing stays on record, returned with its reason; the award waits for a new one."""
    _check_staff(by)
    reason = reason.strip()
    if not reason:
        raise Refused(_("Give the reason for returning the grant application."), code="reason")
    filing, award = _lock_filing(filing)
    filing.reviewed_by = by
    filing.reviewed_at = now or timezone.now()
    filing.return_reason = reason
    change_state(
        filing,
        GrantApplicationStatus.RETURNED,
        by=by,
        action="grant_application_returned",
        update_fields=["reviewed_by", "reviewed_at", "return_reason"],
        after={"return_reason": reason},
        call_id=award.application.call_id,
    )
    change_state(
        award,
        AwardStatus.ADOPTED,
        by=by,
        action="grant_application_returned",
        after={"grant_application": filing.number},
        call_id=award.application.call_id,
    )
    return filing


@transaction.atomic
def grant_application_accept(*, filing: GrantApplication, by: User, now: dt.datetime | None = None):
    """The filing is accepted: the award waits for the grant decision."""
    _check_staff(by)
    filing, award = _lock_filing(filing)
    scanned_files.refuse_unopenable(
        filing.documents.order_by("pk"),
        _(
            "The grant application cannot be accepted while a file the virus check has not cleared is attached: "
            "%(files)s. Wait for the check, or return it so that the organisation attaches a clean copy."
        ),
    )
    filing.reviewed_by = by
    filing.reviewed_at = now or timezone.now()
    change_state(
        filing,
        GrantApplicationStatus.ACCEPTED,
        by=by,
        action="grant_application_accepted",
        update_fields=["reviewed_by", "reviewed_at"],
        call_id=award.application.call_id,
    )
    change_state(
        award,
        AwardStatus.ACCEPTED,
        by=by,
        action="grant_application_accepted",
        after={"grant_application": filing.number},
        call_id=award.application.call_id,
    )
    return filing


def filing_to_prefill(award: Award) -> GrantApplication | None:
    """The last returned filing, from which a new one starts (None when there is none)."""
    return award.grant_applications.filter(status=GrantApplicationStatus.RETURNED).order_by("-number").first()


def accepted_filing(award: Award) -> GrantApplication | None:
    return award.grant_applications.filter(status=GrantApplicationStatus.ACCEPTED).order_by("-number").first()


# --- 交付決定 -----------------------------------------------------------------------------------


def midpoint(start: dt.date, end: dt.date) -> dt.date:
    return start + (end - start) // 2


def final_report_due(call: Call, project_end: dt.date) -> dt.date:
    """実績報告: N days after the project ends, or the call's fixed date, whichever is earlier."""
    due = project_end + dt.timedelta(days=call.final_report_due_days)
    if call.final_report_due_date is not None:
        due = min(due, call.final_report_due_date)
    return due


def grant_ceiling(award: Award) -> tuple[int | None, str]:
    """The most the grant may be, and what sets it: the accepted filing's amount, else the award's."""
    filing = accepted_filing(award)
    if filing is not None:
        return filing.amount, _("the amount applied for")
    return award_amount_of(award), _("the award amount")


def _budget_labels(version: BudgetVersion) -> list[list]:
    with translation.override("ja"):
        labels = {value: str(label) for value, label in BudgetCategory.choices}
        return [[labels.get(line.category, line.category), line.amount] for line in version.lines.all()]


@transaction.atomic
def grant_decide(
    *,
    award: Award,
    amount: int | None,
    conditions: str,
    progress_report_due: dt.date | None,
    by: User,
    now: dt.datetime | None = None,
) -> Award:
    """交付決定 (articles 6, 8): see the module docstring. The amount is at most the accepted
    filing's (or the award amount), at most the call's cap, within the call's budget."""
    _check_staff(by)
    now = now or timezone.now()
    today = _today(now)
    call = Call.objects.select_for_update().get(pk=award.application.call_id)  # one budget check at a time
    award = _lock_award(award)
    application = award.application
    if award.status == AwardStatus.GRANTED:
        raise Refused(
            _("The grant was already decided on %(day)s (%(amount)s).")
            % {"day": format_date(award.granted_on), "amount": format_yen(award.granted_amount)},
            code="done",
        )
    filing = None
    if call.uses_grant_application:
        if award.status != AwardStatus.ACCEPTED:
            raise Refused(
                _("The grant is decided on an accepted grant application; the award is at “%(status)s”.")
                % {"status": award.get_status_display()},
                code="state",
            )
        filing = accepted_filing(award)
    elif award.status != AwardStatus.ADOPTED:
        raise Refused(
            _("The grant cannot be decided now: the award is at “%(status)s”.")
            % {"status": award.get_status_display()},
            code="state",
        )
    ceiling, ceiling_name = grant_ceiling(award)
    if amount is None or amount <= 0:
        raise Refused(_("Give the granted amount."), code="amount")
    if ceiling is not None and amount > ceiling:
        raise Refused(
            _("The granted amount (%(amount)s) cannot exceed %(what)s (%(ceiling)s).")
            % {"amount": format_yen(amount), "what": ceiling_name, "ceiling": format_yen(ceiling)},
            code="amount",
        )
    if call.cap_amount is not None and amount > call.cap_amount:
        raise Refused(
            _("The granted amount (%(amount)s) cannot exceed the cap (%(cap)s).")
            % {"amount": format_yen(amount), "cap": format_yen(call.cap_amount)},
            code="amount",
        )
    if call.budget_total is not None:
        committed = committed_amount(call, excluding=application)
        if committed + amount > call.budget_total:
            raise Refused(
                _("This grant would exceed the budget: %(committed)s already committed, %(left)s left of %(budget)s.")
                % {
                    "committed": format_yen(committed),
                    "left": format_yen(call.budget_total - committed),
                    "budget": format_yen(call.budget_total),
                },
                code="budget",
            )
    if filing is not None:
        version = filing.budget
        start, end = filing.project_start, filing.project_end
        applied_on = filing.submitted_at.astimezone(JST).date()
    else:
        version = BudgetVersion.objects.create(
            award=award, number=(award.budget_versions.aggregate(n=Max("number"))["n"] or 0) + 1
        )
        BudgetVersionLine.objects.bulk_create(
            BudgetVersionLine(
                version=version,
                position=line.position,
                category=line.category,
                description=line.description,
                amount=line.amount,
            )
            for line in application.budget_lines.all()
        )
        start = application.period_start or award.project_start
        end = application.period_end or award.project_end
        applied_on = application.submitted_at.astimezone(JST).date() if application.submitted_at else today
    if start is None or end is None:
        raise Refused(_("The project period is not known; it is needed for the due dates."), code="period")
    version.in_force_from = now
    version.save(update_fields=["in_force_from"])
    award.granted_on = today
    award.granted_amount = amount
    award.grant_conditions = conditions.strip()
    award.decline_by = today + dt.timedelta(days=call.decline_days)
    award.project_start, award.project_end = start, end
    award.final_report_due = final_report_due(call, end)
    award.progress_report_due = (progress_report_due or midpoint(start, end)) if call.progress_report_step else None
    fields = [
        "granted_on",
        "granted_amount",
        "grant_conditions",
        "decline_by",
        "project_start",
        "project_end",
        "final_report_due",
        "progress_report_due",
    ]
    change_state(
        award,
        AwardStatus.GRANTED,
        by=by,
        action="grant_decided",
        update_fields=fields,
        after={
            "granted_amount": amount,
            "budget_version": version.number,
            **{
                name: str(getattr(award, name)) for name in fields if name not in ("granted_amount", "grant_conditions")
            },
        },
        call_id=call.pk,
    )
    issue_letter(
        LetterKind.GRANT_DECISION,
        application=application,
        award=award,
        details={
            "amount": amount,
            "applied_on": applied_on.isoformat(),
            "project_start": start.isoformat(),
            "project_end": end.isoformat(),
            "conditions": [line.strip() for line in award.grant_conditions.splitlines() if line.strip()],
            "budget": _budget_labels(version),
        },
        by=by,
    )
    return award


# --- 辞退 -------------------------------------------------------------------------------------

DECLINABLE = frozenset({AwardStatus.ADOPTED, AwardStatus.APPLIED, AwardStatus.ACCEPTED, AwardStatus.GRANTED})


def decline_refusal(award: Award, today: dt.date) -> str | None:
    """Why the organisation may not decline now, or None when it may (the form and the service)."""
    if award.status not in DECLINABLE:
        return _("The award can no longer be declined: it is at “%(status)s”.") % {"status": award.get_status_display()}
    if award.status == AwardStatus.GRANTED and award.decline_by is not None and today > award.decline_by:
        return _("The period for declining ended on %(day)s.") % {"day": format_date(award.decline_by)}
    return None


@transaction.atomic
def award_decline(*, award: Award, reason: str, by: User, now: dt.datetime | None = None) -> Award:
    """辞退 / 申請の取下げ (article 9): the award is declined and the budget it held is released
    (``services.committed_amount`` no longer counts it)."""
    now = now or timezone.now()
    award = _lock_award(award)
    _check_member(by, award)
    reason = reason.strip()
    if not reason:
        raise Refused(_("Give the reason for declining."), code="reason")
    refusal = decline_refusal(award, _today(now))
    if refusal:
        raise Refused(refusal, code="state" if award.status not in DECLINABLE else "late")
    award.declined_at = now
    award.decline_reason = reason
    change_state(
        award,
        AwardStatus.DECLINED,
        by=by,
        action="award_declined",
        update_fields=["declined_at", "decline_reason"],
        after={"decline_reason": reason},
        call_id=award.application.call_id,
    )
    return award


# --- 補欠 and 繰上げ採択 ------------------------------------------------------------------------


@transaction.atomic
def reserve_promote(*, application: Application, award_amount: int | None, by: User) -> Award:
    """繰上げ採択: a 補欠 application whose reserve notice has been sent is adopted at ``award_amount``
    (≤ the request, ≤ the cap, ≤ the budget left), its award opened (交付申請 due from today) and
    the 繰上げ採択通知書 issued. Only after the notices: before them, staff change the decision."""
    _check_staff(by)
    call = Call.objects.select_for_update().get(pk=application.call_id)
    application = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application.pk)
    if application.status != ApplicationStatus.RESERVE:
        raise Refused(
            _("%(number)s is not on the reserve list (it is “%(status)s”).")
            % {"number": application.receipt_number, "status": application.get_status_display()},
            code="state",
        )
    notice = Notice.objects.filter(application=application, kind=NoticeKind.RESERVE).first()
    if notice is None or application.decision_disclosed_at is None:
        raise Refused(
            _("%(number)s: send the reserve notice first; until then, change the decision on the decisions page.")
            % {"number": application.receipt_number},
            code="unnoticed",
        )
    try:
        _check_award_amount(call, application, award_amount)
    except Refused as refused:
        raise Refused(
            *(
                _("%(number)s: %(message)s") % {"number": application.receipt_number, "message": message}
                for message in refused.messages
            ),
            code=refused.code,
        ) from refused
    decision = Decision.objects.filter(application=application).first()
    before_amount = decision.award_amount if decision else None
    if decision is None:
        decision = Decision(application=application)
    decision.award_amount = award_amount
    decision.decided_by = by
    decision.decided_at = timezone.now()
    decision.note = _("Adopted from the reserve list")[:200]
    decision.save()
    change_state(
        application,
        ApplicationStatus.ADOPTED,
        by=by,
        action="promoted",
        before={"award_amount": before_amount},
        after={"award_amount": award_amount},
    )
    award = award_open(application=application, notice_day=_today())
    issue_letter(
        LetterKind.PROMOTED, application=application, award=award, details={"award_amount": award_amount}, by=by
    )
    return award


def reserve_applications(call: Call):
    return Application.objects.filter(call=call, status=ApplicationStatus.RESERVE)


@transaction.atomic
def reserve_close(*, call: Call, by: User) -> int:
    """The reserve list is closed: every application still on it is not adopted, each told by a
    補欠解除通知書. Refused while a reserve application has no notice yet (change its decision)."""
    _check_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    remaining = list(
        reserve_applications(call).select_for_update(of=("self",)).select_related("call").order_by("receipt_number")
    )
    if not remaining:
        raise Refused(_("No application is on the reserve list of this call."), code="empty")
    unnoticed = [a.receipt_number for a in remaining if not Notice.objects.filter(application=a).exists()]
    if unnoticed:
        raise Refused(
            _("Send the notices first; these reserve applications have none: %(numbers)s.")
            % {"numbers": ", ".join(unnoticed)},
            code="unnoticed",
        )
    for application in remaining:
        change_state(application, ApplicationStatus.NOT_ADOPTED, by=by, action="reserve_closed")
        issue_letter(LetterKind.RESERVE_CLOSED, application=application, details={}, by=by)
    return len(remaining)
