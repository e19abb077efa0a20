"""Services of 遂行状況報告 (article 12) and 実績報告 (article 14) with evidence, the line-by-line
review, 差戻し and acceptance.

One transactional function per change, through kodoku_portal.workflow (change_state / record).
Locks: the award first (filing, returning, accepting), then the report; the evidence and line
reviews lock the report alone — so two people acting at once give one result in a fixed order.

The flow (nothing typed or uploaded is lost):

1. A member files the report (``report_file``): texts and, for the final report, its actual costs
   as lines (費目, details, amount). It is created SUBMITTED; the final report moves the award to
   REPORTED (action "report_final"); a progress report is a record (action "report_progress").
2. While the report is SUBMITTED, members attach evidence to each line (``evidence_add``: several
   files per line, each with an optional 適格請求書発行事業者 registration number) and general
   documents to the report (``report_document_add``). A line staff have decided on (eligible or
   not) takes no more evidence; a line waiting for more evidence does.
3. Staff give each line of a final report a verdict (``report_line_review``), then return the
   report for correction (``report_return``: the report is RETURNED and kept with every comment;
   the award is GRANTED again) or accept it (``report_accept``: only when no line is pending or
   waiting for more evidence; the award moves to REPORT_ACCEPTED).
4. After a 差戻し the organisation files a new report, prefilled from the returned one; each line
   that names the returned line it continues (``CostInput.source``) brings that line's evidence
   along (the same stored files, as new rows of the new line), and the returned report's documents
   come along when asked. The returned report keeps its own rows.

``eligible_costs(report)`` is the eligible amount per 費目 of an accepted final report (額の確定).
"""

import datetime as dt
from dataclasses import dataclass

import rules
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from applications.filetypes import validate_attachment
from applications.models import BudgetCategory, ScanStatus
from kodoku_portal.jp import format_datetime, format_yen, join_list
from kodoku_portal.normalise import strip_invisible_controls
from kodoku_portal.workflow import Refused, change_state, record

from . import scanned_files
from .invoice_numbers import normalise_invoice_number
from .models import (
    Award,
    AwardDocument,
    AwardDocumentPurpose,
    AwardStatus,
    CostVerdict,
    Evidence,
    EvidenceKind,
    Report,
    ReportCost,
    ReportKind,
    ReportStatus,
)

# The longest text of a report (about ten A4 pages of Japanese), as the application's texts.
TEXT_MAX = 10_000
# The most cost lines a final report holds.
MAX_LINES = 60
# Verdicts that still stand in the way of accepting a final report.
OPEN_VERDICTS = frozenset({CostVerdict.PENDING, CostVerdict.MORE_NEEDED})
# Verdicts after which a line takes no more evidence.
DECIDED_VERDICTS = frozenset({CostVerdict.ACCEPTED, CostVerdict.NOT_ELIGIBLE})

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {
    "report_final": gettext_lazy("%(actor)s filed the final report (実績報告) of %(object)s"),
    "report_progress": gettext_lazy("%(actor)s filed a progress report (遂行状況報告) of %(object)s"),
    "report_evidence_added": gettext_lazy("%(actor)s added evidence to %(object)s (%(after)s)"),
    "report_document_added": gettext_lazy("%(actor)s attached a document to %(object)s (%(after)s)"),
    "report_line_reviewed": gettext_lazy("%(actor)s reviewed a cost line of %(object)s (%(after)s)"),
    "report_returned": gettext_lazy("%(actor)s returned %(object)s for correction (差戻し)"),
    "report_accepted": gettext_lazy("%(actor)s accepted %(object)s"),
}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {
    "report_final": gettext_lazy("Final report (実績報告)"),
    "report_progress": gettext_lazy("Progress report"),
    "report_evidence_added": gettext_lazy("Evidence added"),
    "report_document_added": gettext_lazy("Report document attached"),
    "report_line_reviewed": gettext_lazy("Cost line reviewed"),
    "report_returned": gettext_lazy("Report returned"),
    "report_accepted": gettext_lazy("Report accepted"),
}


@dataclass(frozen=True)
class CostInput:
    """One line of actual costs as filed. ``source``: the id of the line of a returned report this
    line continues (its evidence comes along), or None."""

    category: str
    description: str
    amount: int
    source: int | None = None


# --- checks -----------------------------------------------------------------------------------


def _check_staff(user: User) -> None:
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only programme staff review reports (rule: can_manage_awards)."), code="forbidden")


def _check_member(user: User, award: Award) -> None:
    if not rules.test_rule("can_act_for_award", user, award):
        raise Refused(
            _("Only a member of the organisation files its reports and evidence (rule: can_act_for_award)."),
            code="forbidden",
        )


def _text(value: str, label: str, *, required: bool) -> str:
    text = strip_invisible_controls(value or "").strip()
    if required and not text:
        raise Refused(_("Fill in “%(field)s”.") % {"field": label}, code="required")
    if len(text) > TEXT_MAX:
        raise Refused(
            _("“%(field)s” is %(length)s characters long; at most %(limit)s characters are accepted.")
            % {"field": label, "length": f"{len(text):,}", "limit": f"{TEXT_MAX:,}"},
            code="too_long",
        )
    return text


def _lock_award(pk: int) -> Award:
    return Award.objects.select_for_update(of=("self",)).select_related("application__call").get(pk=pk)


def _lock_report(pk: int) -> Report:
    return Report.objects.select_for_update(of=("self",)).select_related("award__application__call").get(pk=pk)


def line_label(cost: ReportCost) -> str:
    """How a message names a line: 「2行目（旅費、200,000円）」 / "Line 2 (Travel, ¥200,000)"."""
    return _("Line %(number)s (%(category)s, %(amount)s)") % {
        "number": cost.position + 1,
        "category": cost.category_label,
        "amount": format_yen(cost.amount),
    }


def _check_awaits_review(report: Report) -> None:
    """The report is still SUBMITTED; else say who did what, and when."""
    if report.status == ReportStatus.SUBMITTED:
        return
    who = getattr(report.reviewed_by, "email", "") or _("programme staff")
    when = format_datetime(report.reviewed_at) if report.reviewed_at else ""
    if report.status == ReportStatus.ACCEPTED:
        message = _("This report was already accepted by %(who)s on %(when)s.")
    else:
        message = _("This report was already returned for correction by %(who)s on %(when)s.")
    raise Refused(message % {"who": who, "when": when}, code="decided")


# --- the organisation's side -------------------------------------------------------------------


@transaction.atomic
def report_file(
    *,
    award: Award,
    kind: str,
    activities: str,
    participants: int,
    results: str,
    issues: str = "",
    costs: list[CostInput] = (),
    carry_documents: bool = False,
    by: User,
    now: dt.datetime | None = None,
) -> Report:
    """A member files a progress or final report while it is open (``Award.reports_open``).
    The report is created SUBMITTED with its lines; the final report moves the award to REPORTED."""
    award = _lock_award(award.pk)
    _check_member(by, award)
    kind = ReportKind(kind)
    call = award.application.call
    if kind == ReportKind.PROGRESS and not call.progress_report_step:
        raise Refused(_("This call asks for no progress report (遂行状況報告)."), code="not_asked")
    if kind not in award.reports_open():
        if award.status != AwardStatus.GRANTED:
            raise Refused(
                _("Reports are filed while the grant is decided (交付決定); this award is at the step “%(step)s”.")
                % {"step": award.get_status_display()},
                code="state",
            )
        filed = award.reports.exclude(status=ReportStatus.RETURNED).filter(kind=kind).first()
        raise Refused(
            _("The %(kind)s was already filed on %(when)s.")
            % {"kind": kind.label, "when": format_datetime(filed.submitted_at) if filed else ""},
            code="filed",
        )
    activities = _text(activities, _("Activities done"), required=True)
    results = _text(results, _("Results"), required=True)
    issues = _text(issues, _("Issues"), required=False)
    if participants is None or participants < 0:
        raise Refused(_("Give the number of participants."), code="required")
    costs = list(costs) if kind == ReportKind.FINAL else []
    if kind == ReportKind.FINAL and not costs:
        raise Refused(_("Give the actual costs, one line per expense."), code="costs")
    if len(costs) > MAX_LINES:
        raise Refused(_("A report holds at most %(limit)s cost lines.") % {"limit": MAX_LINES}, code="costs")
    for cost in costs:
        if cost.category not in BudgetCategory.values:
            raise Refused(_("“%(category)s” is not an expense category.") % {"category": cost.category}, code="costs")
        if cost.amount is None or cost.amount < 0:
            raise Refused(_("An amount of actual costs cannot be negative."), code="costs")
    returned = list(
        award.reports.filter(kind=kind, status=ReportStatus.RETURNED)
        .order_by("-submitted_at")
        .prefetch_related("costs__evidence", "documents")
    )
    sources = {line.pk: line for report in returned for line in report.costs.all()}
    for cost in costs:
        if cost.source is not None and cost.source not in sources:
            raise Refused(_("A line names evidence that is not of this award's returned report."), code="source")
    # A quarantined file is never filed again (the virus check, grants/scanned_files.py).
    carried_files = [
        evidence for cost in costs if cost.source is not None for evidence in sources[cost.source].evidence.all()
    ]
    if carry_documents and returned:
        carried_files += list(returned[0].documents.all())
    scanned_files.refuse_unopenable(
        carried_files,
        _(
            "The report cannot be filed while it carries a file the virus check quarantined: %(files)s. "
            "File it without that file, then attach a clean copy."
        ),
        statuses={ScanStatus.QUARANTINED},
        code="quarantined",
    )

    report = Report.objects.create(
        award=award,
        kind=kind,
        activities=activities,
        participants=participants,
        results=results,
        issues=issues,
        submitted_by=by,
        submitted_at=now or timezone.now(),
    )
    for position, cost in enumerate(costs):
        line = ReportCost.objects.create(
            report=report,
            position=position,
            category=cost.category,
            description=strip_invisible_controls(cost.description or "").strip()[:200],
            amount=cost.amount,
        )
        if cost.source is not None:
            for evidence in sources[cost.source].evidence.all():
                # The same stored file, a new row of the new line (the returned line keeps its own).
                carried = Evidence.objects.create(
                    cost=line,
                    kind=evidence.kind,
                    invoice_number=evidence.invoice_number,
                    file=evidence.file.name,
                    original_name=evidence.original_name,
                    file_type=evidence.file_type,
                    size=evidence.size,
                    uploaded_by=evidence.uploaded_by,
                    **scanned_files.carried_scan_fields(evidence),
                )
                scanned_files.schedule(carried)
    if carry_documents and returned:
        for document in returned[0].documents.all():
            carried = AwardDocument.objects.create(
                award=award,
                purpose=AwardDocumentPurpose.REPORT,
                report=report,
                title=document.title,
                file=document.file.name,
                original_name=document.original_name,
                file_type=document.file_type,
                size=document.size,
                uploaded_by=document.uploaded_by,
                **scanned_files.carried_scan_fields(document),
            )
            scanned_files.schedule(carried)
    after = {"report": report.pk}
    if returned:
        after["after_returned"] = returned[0].pk
    if kind == ReportKind.FINAL:
        after["actual_costs"] = sum(cost.amount for cost in costs)
        change_state(award, AwardStatus.REPORTED, by=by, action="report_final", after=after, call_id=call.pk)
    else:
        record(award, by=by, action="report_progress", after=after, call_id=call.pk)
    return report


def _checked_upload(upload) -> str:
    try:
        return validate_attachment(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES)
    except ValidationError as error:
        raise Refused(*error.messages, code="file") from error


@transaction.atomic
def evidence_add(*, cost: ReportCost, kind: str, upload, invoice_number: str = "", by: User) -> Evidence:
    """A member attaches a file proving a line of actual costs (several per line), while the report
    awaits review and the line has not been decided on. The file is checked by its content; the
    registration number, when given, by its check digit."""
    report = _lock_report(cost.report_id)
    award = report.award
    _check_member(by, award)
    cost = ReportCost.objects.get(pk=cost.pk, report=report)
    if report.status != ReportStatus.SUBMITTED:
        raise Refused(
            _("Evidence is added while the report awaits review; this report is “%(status)s”.")
            % {"status": report.get_status_display()},
            code="state",
        )
    if cost.verdict in DECIDED_VERDICTS:
        raise Refused(
            _("%(line)s has been reviewed (%(verdict)s); it takes no more evidence.")
            % {"line": line_label(cost), "verdict": cost.get_verdict_display()},
            code="decided",
        )
    if kind not in EvidenceKind.values:
        raise Refused(_("Choose the document type."), code="kind")
    number = ""
    if (invoice_number or "").strip():
        try:
            number = normalise_invoice_number(invoice_number)
        except ValidationError as error:
            raise Refused(*error.messages, code="invoice_number") from error
    file_type = _checked_upload(upload)
    evidence = Evidence(
        cost=cost,
        kind=kind,
        invoice_number=number,
        original_name=(upload.name or "")[:200],
        file_type=file_type,
        size=upload.size,
        uploaded_by=by,
        **scanned_files.stored_scan_fields(),
    )
    evidence.file.save("upload", upload, save=False)
    evidence.save()
    scanned_files.schedule(evidence)  # the virus check, run by a worker after commit
    record(
        report,
        by=by,
        action="report_evidence_added",
        after={"line": cost.position + 1, "evidence": evidence.pk, "file": evidence.original_name, "invoice": number},
        call_id=award.application.call_id,
    )
    return evidence


@transaction.atomic
def report_document_add(*, report: Report, title: str, upload, by: User) -> AwardDocument:
    """A member attaches a general document to a report (not a line's evidence) while it awaits review."""
    report = _lock_report(report.pk)
    award = report.award
    _check_member(by, award)
    if report.status != ReportStatus.SUBMITTED:
        raise Refused(
            _("Documents are attached while the report awaits review; this report is “%(status)s”.")
            % {"status": report.get_status_display()},
            code="state",
        )
    title = strip_invisible_controls(title or "").strip()
    if not title:
        raise Refused(_("Name the document."), code="required")
    file_type = _checked_upload(upload)
    document = AwardDocument(
        award=award,
        purpose=AwardDocumentPurpose.REPORT,
        report=report,
        title=title[:100],
        original_name=(upload.name or "")[:200],
        file_type=file_type,
        size=upload.size,
        uploaded_by=by,
        **scanned_files.stored_scan_fields(),
    )
    document.file.save("upload", upload, save=False)
    document.save()
    scanned_files.schedule(document)  # the virus check, run by a worker after commit
    record(
        report,
        by=by,
        action="report_document_added",
        after={"document": document.pk, "title": document.title, "file": document.original_name},
        call_id=award.application.call_id,
    )
    return document


# --- staff's side --------------------------------------------------------------------------------


@transaction.atomic
def report_line_review(
    *, cost: ReportCost, verdict: str, eligible_amount: int | None = None, comment: str = "", by: User
) -> ReportCost:
    """Staff's verdict on one line of a final report awaiting review: eligible (the whole amount),
    not eligible (a reason required; an eligible part from 0 to the amount, 0 unless given), or more
    evidence needed (a comment saying what). Audited ("report_line_reviewed")."""
    _check_staff(by)
    report = _lock_report(cost.report_id)
    cost = ReportCost.objects.get(pk=cost.pk, report=report)
    if report.kind != ReportKind.FINAL:
        raise Refused(_("Only the lines of a final report are reviewed one by one."), code="kind")
    _check_awaits_review(report)
    if verdict not in (CostVerdict.ACCEPTED, CostVerdict.NOT_ELIGIBLE, CostVerdict.MORE_NEEDED):
        raise Refused(_("Choose a verdict for %(line)s.") % {"line": line_label(cost)}, code="verdict")
    verdict = CostVerdict(verdict)
    comment = _text(comment, _("Comment"), required=False)
    if verdict == CostVerdict.ACCEPTED:
        eligible = cost.amount
    elif verdict == CostVerdict.NOT_ELIGIBLE:
        if not comment:
            raise Refused(
                _("Give the reason why %(line)s is not eligible.") % {"line": line_label(cost)}, code="reason"
            )
        eligible = eligible_amount or 0
        if not 0 <= eligible <= cost.amount:
            raise Refused(
                _(
                    "The eligible part of %(line)s must be between %(zero)s and its actual cost %(amount)s; "
                    "%(given)s was given."
                )
                % {
                    "line": line_label(cost),
                    "zero": format_yen(0),
                    "amount": format_yen(cost.amount),
                    "given": format_yen(eligible),
                },
                code="amount",
            )
    else:
        if not comment:
            raise Refused(_("Say which evidence %(line)s still needs.") % {"line": line_label(cost)}, code="comment")
        eligible = None
    before = {
        "line": cost.position + 1,
        "verdict": cost.verdict,
        "eligible_amount": cost.eligible_amount,
        "comment": cost.comment,
    }
    cost.verdict, cost.eligible_amount, cost.comment = verdict.value, eligible, comment
    cost.save(update_fields=["verdict", "eligible_amount", "comment"])
    record(
        report,
        by=by,
        action="report_line_reviewed",
        before=before,
        after={"line": cost.position + 1, "verdict": cost.verdict, "eligible_amount": eligible, "comment": comment},
        call_id=report.award.application.call_id,
    )
    return cost


@transaction.atomic
def report_return(*, report: Report, reason: str, by: User, now: dt.datetime | None = None) -> Report:
    """差戻し: the report is RETURNED with the reason (and its lines' verdicts and comments, kept as
    they are); a final report puts the award back to GRANTED, so the organisation files again."""
    _check_staff(by)
    award = _lock_award(report.award_id)
    report = _lock_report(report.pk)
    _check_awaits_review(report)
    reason = _text(reason, _("Reason for returning"), required=True)
    now = now or timezone.now()
    report.returned_at, report.return_reason = now, reason
    report.reviewed_by, report.reviewed_at = by, now
    call_id = award.application.call_id
    change_state(
        report,
        ReportStatus.RETURNED,
        by=by,
        action="report_returned",
        update_fields=["returned_at", "return_reason", "reviewed_by", "reviewed_at"],
        after={"reason": reason},
        call_id=call_id,
    )
    if report.kind == ReportKind.FINAL:
        change_state(
            award, AwardStatus.GRANTED, by=by, action="report_returned", after={"report": report.pk}, call_id=call_id
        )
    return report


@transaction.atomic
def report_accept(*, report: Report, by: User, now: dt.datetime | None = None) -> Report:
    """Staff accept a report. A final report only when every line has a verdict and none waits for
    more evidence; the award then waits for 額の確定 (REPORT_ACCEPTED)."""
    _check_staff(by)
    award = _lock_award(report.award_id)
    report = _lock_report(report.pk)
    _check_awaits_review(report)
    after: dict = {}
    scanned_files.refuse_unopenable(
        [
            *Evidence.objects.filter(cost__report=report).order_by("cost__position", "pk"),
            *report.documents.order_by("pk"),
        ],
        _(
            "The report cannot be accepted while a file the virus check has not cleared is attached: %(files)s. "
            "Wait for the check, or return the report so that the organisation attaches a clean copy."
        ),
    )
    if report.kind == ReportKind.FINAL:
        lines = list(report.costs.all())
        open_lines = [line for line in lines if line.verdict in OPEN_VERDICTS]
        if open_lines:
            raise Refused(
                _("The report cannot be accepted while lines are not reviewed or wait for more evidence: %(lines)s.")
                % {"lines": join_list(f"{line_label(line)}: {line.get_verdict_display()}" for line in open_lines)},
                code="open_lines",
            )
        after["eligible_amount"] = sum(line.eligible_amount or 0 for line in lines)
    now = now or timezone.now()
    report.reviewed_by, report.reviewed_at = by, now
    call_id = award.application.call_id
    change_state(
        report,
        ReportStatus.ACCEPTED,
        by=by,
        action="report_accepted",
        update_fields=["reviewed_by", "reviewed_at"],
        after=after,
        call_id=call_id,
    )
    if report.kind == ReportKind.FINAL:
        change_state(
            award,
            AwardStatus.REPORT_ACCEPTED,
            by=by,
            action="report_accepted",
            after={"report": report.pk, **after},
            call_id=call_id,
        )
    return report


# --- what 額の確定 reads -------------------------------------------------------------------------


def accepted_final_report(award: Award) -> Report | None:
    """The award's accepted final report, or None."""
    return award.reports.filter(kind=ReportKind.FINAL, status=ReportStatus.ACCEPTED).first()


def eligible_costs(report: Report) -> dict[str, int]:
    """The eligible amount per 費目 of an accepted final report (the lines staff found eligible in
    whole, and the eligible part of those they did not), in the order the 費目 first appear.
    Raises ValueError for any other report. Reads, never writes."""
    if report.kind != ReportKind.FINAL or report.status != ReportStatus.ACCEPTED:
        raise ValueError(f"eligible_costs(): report {report.pk} is not an accepted final report")
    totals: dict[str, int] = {}
    for line in report.costs.all():
        if line.verdict == CostVerdict.ACCEPTED:
            amount = line.amount
        elif line.verdict == CostVerdict.NOT_ELIGIBLE:
            amount = line.eligible_amount or 0
        else:  # an accepted report has none; counted as nothing eligible
            amount = 0
        totals[line.category] = totals.get(line.category, 0) + amount
    return totals
