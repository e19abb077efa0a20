"""Pages of 遂行状況報告 and 実績報告 with evidence, the line-by-line review, 差戻し and acceptance.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_report.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.

The organisation files a report on its own page (report_form.html: the texts and, for the final
report, the cost lines prefilled from the budget in force or from the returned report); a refused
filing shows the form again as typed. Evidence (per line) and documents (per report) are uploaded
on the award page while the report awaits review. Files are served to the organisation's members
and programme staff only (404 for anyone else), as attachments.
"""

import rules
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, has_totp, role_required
from applications.models import BudgetCategory
from kodoku_portal.views_support import refusals_to_messages
from kodoku_portal.workflow import Refused

from . import report_steps
from .award_support import award_page_url, member_award_or_404, staff_award_or_404
from .models import (
    Award,
    AwardDocument,
    AwardDocumentPurpose,
    CostVerdict,
    Evidence,
    Report,
    ReportCost,
    ReportKind,
    ReportStatus,
)
from .report_forms import (
    CostFormSet,
    EvidenceForm,
    LineVerdictForm,
    ReportDocumentForm,
    ReportForm,
    ReturnReportForm,
)
from .scanned_files import say_when_being_checked, stored_file_response

SECTION_ANCHOR = "#reports"


def _member_page(request: HttpRequest, pk: int, **_ids) -> str:
    return reverse("grants:applicant_award", args=[pk]) + SECTION_ANCHOR


def _staff_page(request: HttpRequest, pk: int, **_ids) -> str:
    return reverse("grants:award", args=[pk]) + SECTION_ANCHOR


def _reports(award: Award):
    return (
        award.reports.order_by("-submitted_at", "-pk")
        .prefetch_related(
            Prefetch("costs", queryset=ReportCost.objects.prefetch_related("evidence")),
            Prefetch("documents", queryset=AwardDocument.objects.filter(purpose=AwardDocumentPurpose.REPORT)),
        )
        .select_related("submitted_by", "reviewed_by")
    )


def _report_of(award: Award, report_pk: int) -> Report:
    return get_object_or_404(Report.objects.select_related("award"), pk=report_pk, award=award)


def _cost_of(report: Report, cost_pk: int) -> ReportCost:
    return get_object_or_404(ReportCost, pk=cost_pk, report=report)


# --- the organisation's side -------------------------------------------------------------------


def _last_returned(award: Award, kind: str) -> Report | None:
    return (
        award.reports.filter(kind=kind, status=ReportStatus.RETURNED)
        .order_by("-submitted_at", "-pk")
        .prefetch_related("costs")
        .first()
    )


def _prefill(award: Award, kind: str, returned: Report | None) -> tuple[dict, list[dict]]:
    """The report's texts and lines to start from: the returned report's (each line naming the
    line it continues), else the budget in force by line (the amounts left for the actual costs)."""
    if returned is not None:
        texts = {name: getattr(returned, name) for name in ("activities", "participants", "results", "issues")}
        lines = [
            {"category": line.category, "description": line.description, "amount": line.amount, "source": line.pk}
            for line in returned.costs.all()
        ]
        return texts, lines if kind == ReportKind.FINAL else []
    if kind != ReportKind.FINAL:
        return {}, []
    budget = award.budget_in_force()
    lines = []
    for line in budget.lines.all() if budget else []:
        category = line.category if line.category in BudgetCategory.values else ""
        lines.append({"category": category, "description": line.description})
    return {}, lines


@role_required(Role.APPLICANT)
def report_new(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    if kind not in ReportKind.values:
        raise Http404
    kind = ReportKind(kind)
    if kind not in award.reports_open():
        messages.error(request, _("The %(kind)s cannot be filed now.") % {"kind": kind.label})
        return redirect(_member_page(request, pk))
    returned = _last_returned(award, kind)
    texts, lines = _prefill(award, kind, returned)
    final = kind == ReportKind.FINAL
    kept = len(lines) if returned is not None else 0  # the returned report's lines stay unless deleted
    if request.method == "POST":
        form = ReportForm(request.POST, returned=returned)
        costs = CostFormSet(request.POST, prefix="costs", initial=lines, kept=kept) if final else None
        if form.is_valid() and (costs is None or costs.is_valid()):
            data = form.cleaned_data
            try:
                report_steps.report_file(
                    award=award,
                    kind=kind,
                    activities=data["activities"],
                    participants=data["participants"],
                    results=data["results"],
                    issues=data.get("issues") or "",
                    costs=costs.lines() if costs is not None else [],
                    carry_documents=bool(data.get("carry_documents")),
                    by=request.user,
                )
            except Refused as refused:
                for message in refused.messages:
                    messages.error(request, message)
            else:
                if final:
                    messages.success(
                        request,
                        _("The final report was filed. Attach the evidence (receipts, contracts) to each line below."),
                    )
                else:
                    messages.success(request, _("The progress report was filed."))
                return redirect(_member_page(request, pk))
    else:
        form = ReportForm(initial=texts, returned=returned)
        costs = CostFormSet(prefix="costs", initial=lines, kept=kept) if final else None
    budget = award.budget_in_force() if final else None
    return render(
        request,
        "grants/award/report_form.html",
        {
            "award": award,
            "application": award.application,
            "kind": kind,
            "final": final,
            "form": form,
            "costs": costs,
            "returned": returned,
            "budget": budget,
        },
    )


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages(_member_page)
def evidence_upload(request: HttpRequest, pk: int, report: int, cost: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    line = _cost_of(_report_of(award, report), cost)
    form = EvidenceForm(request.POST, request.FILES, prefix=f"evidence-{line.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose the document type and a file."))
        return redirect(_member_page(request, pk))
    upload = form.cleaned_data["file"]
    evidence = report_steps.evidence_add(
        cost=line,
        kind=form.cleaned_data["kind"],
        upload=upload,
        invoice_number=form.cleaned_data["invoice_number"],
        by=request.user,
    )
    messages.success(
        request, _("%(name)s was attached to %(line)s.") % {"name": upload.name, "line": report_steps.line_label(line)}
    )
    say_when_being_checked(request, [evidence])
    return redirect(_member_page(request, pk))


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages(_member_page)
def document_upload(request: HttpRequest, pk: int, report: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    target = _report_of(award, report)
    form = ReportDocumentForm(request.POST, request.FILES, prefix=f"document-{target.pk}")
    if not form.is_valid():
        messages.error(request, _("Name the document and choose a file."))
        return redirect(_member_page(request, pk))
    upload = form.cleaned_data["file"]
    document = report_steps.report_document_add(
        report=target, title=form.cleaned_data["title"], upload=upload, by=request.user
    )
    messages.success(request, _("%(name)s was attached.") % {"name": upload.name})
    say_when_being_checked(request, [document])
    return redirect(_member_page(request, pk))


# --- staff's side ----------------------------------------------------------------------------------


@require_POST
@role_required(*STAFF_ROLES)
@refusals_to_messages(_staff_page)
def line_review(request: HttpRequest, pk: int, report: int, cost: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    line = _cost_of(_report_of(award, report), cost)
    form = LineVerdictForm(request.POST, prefix=f"line-{line.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{report_steps.line_label(line)}: {error}")
        return redirect(_staff_page(request, pk))
    data = form.cleaned_data
    line = report_steps.report_line_review(
        cost=line,
        verdict=data["verdict"],
        eligible_amount=data.get("eligible_amount"),
        comment=data.get("comment") or "",
        by=request.user,
    )
    messages.success(
        request,
        _("%(line)s: %(verdict)s.") % {"line": report_steps.line_label(line), "verdict": line.get_verdict_display()},
    )
    return redirect(_staff_page(request, pk))


@require_POST
@role_required(*STAFF_ROLES)
@refusals_to_messages(_staff_page)
def report_return(request: HttpRequest, pk: int, report: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    target = _report_of(award, report)
    form = ReturnReportForm(request.POST, prefix=f"return-{target.pk}")
    if not form.is_valid():
        messages.error(request, _("Give the reason for returning the report."))
        return redirect(_staff_page(request, pk))
    report_steps.report_return(report=target, reason=form.cleaned_data["reason"], by=request.user)
    messages.success(request, _("The report was returned for correction."))
    return redirect(_staff_page(request, pk))


@require_POST
@role_required(*STAFF_ROLES)
@refusals_to_messages(_staff_page)
def report_accept(request: HttpRequest, pk: int, report: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    target = _report_of(award, report)
    report_steps.report_accept(report=target, by=request.user)
    messages.success(request, _("The report was accepted."))
    return redirect(_staff_page(request, pk))


# --- files (both sides) --------------------------------------------------------------------------


def _serve(request: HttpRequest, award: Award, stored) -> HttpResponse:
    """The file to a member of the organisation or programme staff, as an attachment; 404 for
    anyone else (a staff account without its second factor is sent to set it up first)."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if user.role in STAFF_ROLES and user.requires_mfa and not has_totp(user):
        return redirect("mfa_activate_totp")
    if not rules.test_rule("can_view_award", user, award):
        raise Http404
    # Only a file the virus check cleared (or scanning is off) is served (grants/scanned_files.py).
    return stored_file_response(request, stored, back_url=award_page_url(award, staff=user.role in STAFF_ROLES))


def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence.objects.select_related("cost__report__award__application"), pk=pk)
    return _serve(request, evidence.cost.report.award, evidence)


def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(
        AwardDocument.objects.select_related("award__application"), pk=pk, purpose=AwardDocumentPurpose.REPORT
    )
    return _serve(request, document.award, document)


urlpatterns: list = [
    path("applications/<int:pk>/award/reports/<str:kind>/new/", report_new, name="report_new"),
    path(
        "applications/<int:pk>/award/reports/<int:report>/lines/<int:cost>/evidence/",
        evidence_upload,
        name="report_evidence_upload",
    ),
    path(
        "applications/<int:pk>/award/reports/<int:report>/documents/",
        document_upload,
        name="report_document_upload",
    ),
    path(
        "staff/awards/<int:pk>/reports/<int:report>/lines/<int:cost>/verdict/", line_review, name="report_line_review"
    ),
    path("staff/awards/<int:pk>/reports/<int:report>/return/", report_return, name="report_return"),
    path("staff/awards/<int:pk>/reports/<int:report>/accept/", report_accept, name="report_accept"),
    path("awards/evidence/<int:pk>/", evidence_download, name="report_evidence"),
    path("awards/report-documents/<int:pk>/", document_download, name="report_document"),
]


# --- the award page's section ----------------------------------------------------------------------


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    """The reports newest first, each with its lines (verdicts, comments, evidence) and documents;
    the organisation's filing links and upload forms where allowed; staff's forms per line and
    for returning or accepting a report awaiting review."""
    reports = []
    for report in _reports(award):
        awaiting = report.status == ReportStatus.SUBMITTED
        final = report.kind == ReportKind.FINAL
        lines = []
        for line in report.costs.all():
            entry = {"cost": line, "evidence": list(line.evidence.all()), "evidence_form": None, "verdict_form": None}
            if awaiting and not staff and line.verdict not in report_steps.DECIDED_VERDICTS:
                entry["evidence_form"] = EvidenceForm(prefix=f"evidence-{line.pk}")
            if awaiting and staff:
                initial = {"verdict": line.verdict if line.verdict != CostVerdict.PENDING else CostVerdict.ACCEPTED}
                if line.verdict == CostVerdict.NOT_ELIGIBLE:
                    initial["eligible_amount"] = line.eligible_amount
                initial["comment"] = line.comment
                entry["verdict_form"] = LineVerdictForm(prefix=f"line-{line.pk}", initial=initial)
            lines.append(entry)
        open_lines = [entry["cost"] for entry in lines if entry["cost"].verdict in report_steps.OPEN_VERDICTS]
        reports.append(
            {
                "report": report,
                "final": final,
                "awaiting": awaiting,
                "lines": lines,
                "documents": list(report.documents.all()),
                "actual_total": sum(entry["cost"].amount for entry in lines),
                "eligible_total": sum(entry["cost"].eligible_amount or 0 for entry in lines),
                "open_lines": open_lines,
                "document_form": ReportDocumentForm(prefix=f"document-{report.pk}") if awaiting and not staff else None,
                "return_form": ReturnReportForm(prefix=f"return-{report.pk}") if awaiting and staff else None,
                "can_accept": awaiting and staff and not (final and open_lines),
            }
        )
    open_kinds = []
    if not staff and rules.test_rule("can_act_for_award", request.user, award):
        for kind in award.reports_open():
            returned = award.reports.filter(kind=kind, status=ReportStatus.RETURNED).exists()
            url = reverse("grants:report_new", args=[award.application_id, kind])
            open_kinds.append({"kind": kind, "label": ReportKind(kind).label, "url": url, "again": returned})
    return {"reports": reports, "open_kinds": open_kinds, "page_url": award_page_url(award, staff=staff)}
