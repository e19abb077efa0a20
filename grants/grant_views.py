"""Pages of 交付申請 (its filing, 差戻し, acceptance), 交付決定 and its letter, 辞退, 補欠 and 繰上げ採択.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_grant.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.

The organisation files its 交付申請 on a page of its own (grant_application.html: the form is
long, and a refused filing is shown again with what was typed); the award page links to it.
The reserve list of a call is /staff/calls/<slug>/reserve/.
"""

import rules
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, role_required
from applications.models import Application, ApplicationStatus
from calls.models import Call
from kodoku_portal.jp import JST
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages
from kodoku_portal.workflow import Refused
from reviews.selectors import final_ranking_rows, review_round

from . import grant_steps, selectors
from .award_support import award_page_url, member_award_or_404, staff_award_or_404
from .grant_forms import (
    DeclineForm,
    DocumentFormSet,
    FilingForm,
    GrantBudgetFormSet,
    GrantDecisionForm,
    PromoteForm,
    ReserveCloseForm,
    ReturnForm,
    filing_input,
)
from .models import Award, AwardDocument, AwardStatus, GrantApplication, GrantApplicationStatus
from .scanned_files import say_when_being_checked, stored_file_response

staff_only = role_required(*STAFF_ROLES)
member_only = role_required(Role.APPLICANT)


def _today():
    return timezone.now().astimezone(JST).date()


def _member_page(request, pk, **_ids) -> str:
    return reverse("grants:applicant_award", args=[pk])


def _staff_page(request, pk, **_ids) -> str:
    return reverse("grants:award", args=[pk])


def _filings(award: Award):
    return award.grant_applications.select_related("budget", "reviewed_by").prefetch_related(
        "budget__lines", "documents"
    )


def may_file(user, award: Award) -> bool:
    return (
        award.application.call.uses_grant_application
        and award.status == AwardStatus.ADOPTED
        and rules.test_rule("can_act_for_award", user, award)
    )


def may_decide(award: Award) -> bool:
    if award.application.call.uses_grant_application:
        return award.status == AwardStatus.ACCEPTED
    return award.status == AwardStatus.ADOPTED


# --- the award page's section ----------------------------------------------------------------


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    call = award.application.call
    filings = list(_filings(award))
    section = {
        "filings": filings,
        "uses_grant_application": call.uses_grant_application,
        "award_amount": grant_steps.award_amount_of(award),
    }
    if staff:
        pending = next((f for f in filings if f.status == GrantApplicationStatus.SUBMITTED), None)
        section["pending"] = pending if award.status == AwardStatus.APPLIED else None
        section["return_form"] = ReturnForm(prefix="return")
        if may_decide(award):
            ceiling, ceiling_name = grant_steps.grant_ceiling(award)
            start = next((f.project_start for f in filings if f.status == GrantApplicationStatus.ACCEPTED), None)
            end = next((f.project_end for f in filings if f.status == GrantApplicationStatus.ACCEPTED), None)
            start = start or award.application.period_start or award.project_start
            end = end or award.application.period_end or award.project_end
            amount = ceiling
            if amount is not None and call.cap_amount is not None:
                amount = min(amount, call.cap_amount)
            initial = {"amount": amount, "conditions": call.grant_conditions}
            if start and end:
                initial["progress_report_due"] = grant_steps.midpoint(start, end)
            section["decision_form"] = GrantDecisionForm(
                initial=initial, progress_report=call.progress_report_step, prefix="grant"
            )
            section["ceiling"] = ceiling
            section["ceiling_name"] = ceiling_name
            section["budget"] = selectors.budget_summary(call)
    else:
        section["may_file"] = may_file(request.user, award)
        today = _today()
        if grant_steps.decline_refusal(award, today) is None and rules.test_rule(
            "can_act_for_award", request.user, award
        ):
            section["decline_form"] = DeclineForm(prefix="decline")
    return section


# --- the organisation: 交付申請, 辞退, its documents --------------------------------------------


def _initial(award: Award) -> tuple[dict, list[dict]]:
    """The form starts from the last returned filing, else from the application."""
    previous = grant_steps.filing_to_prefill(award)
    application = award.application
    if previous is not None:
        fields = [name for name in FilingForm.base_fields if hasattr(previous, name)]
        initial = {name: getattr(previous, name) for name in fields}
        lines = [
            {"category": line.category, "description": line.description, "amount": line.amount}
            for line in previous.budget.lines.all()
        ]
        return initial, lines
    initial = {
        "project_start": application.period_start or award.project_start,
        "project_end": application.period_end or award.project_end,
        "responsible_name": getattr(application.organisation, "representative_name", ""),
    }
    lines = [
        {"category": line.category, "description": line.description, "amount": line.amount}
        for line in application.budget_lines.all()
    ]
    return initial, lines


@member_only
@refusals_to_messages(_member_page)
def grant_application_form(request: HttpRequest, pk: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    if not may_file(request.user, award):
        messages.error(request, _("The grant application cannot be filed now."))
        return redirect(award_page_url(award, staff=False))
    award_amount = grant_steps.award_amount_of(award)
    if request.method == "POST":
        form = FilingForm(request.POST)
        budget = GrantBudgetFormSet(request.POST, prefix="budget", award_amount=award_amount)
        documents = DocumentFormSet(request.POST, request.FILES, prefix="documents")
        if form.is_valid() and budget.is_valid() and documents.is_valid():
            try:
                filing = grant_steps.grant_application_file(
                    award=award, filing=filing_input(form, budget, documents), by=request.user
                )
            except Refused as refused:
                for message in refused.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("Grant application %(number)s was filed. Programme staff will check it.")
                    % {"number": filing.number},
                )
                say_when_being_checked(request, filing.documents.all())
                return redirect(award_page_url(award, staff=False))
    else:
        initial, lines = _initial(award)
        form = FilingForm(initial=initial)
        budget = GrantBudgetFormSet(initial=lines, prefix="budget", award_amount=award_amount)
        documents = DocumentFormSet(prefix="documents")
    return render(
        request,
        "grants/award/grant_application.html",
        {
            "award": award,
            "application": award.application,
            "form": form,
            "budget": budget,
            "documents": documents,
            "award_amount": award_amount,
            "returned": grant_steps.filing_to_prefill(award),
            "max_attachment_mb": _max_mb(),
        },
    )


def _max_mb() -> int:
    return settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)


@require_POST
@member_only
@refusals_to_messages(_member_page)
def grant_decline(request: HttpRequest, pk: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    form = DeclineForm(request.POST, prefix="decline")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(award_page_url(award, staff=False))
    grant_steps.award_decline(award=award, reason=form.cleaned_data["reason"], by=request.user)
    messages.success(request, _("The award was declined."))
    return redirect(award_page_url(award, staff=False))


def _document_response(request: HttpRequest, document: AwardDocument, *, staff: bool) -> HttpResponse:
    # Only a file the virus check cleared (or scanning is off) is served (grants/scanned_files.py).
    return stored_file_response(request, document, back_url=award_page_url(document.award, staff=staff))


@member_only
def member_document(request: HttpRequest, pk: int, document: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    return _document_response(request, get_object_or_404(AwardDocument, pk=document, award=award), staff=False)


# --- staff: 差戻し, acceptance, 交付決定, documents -----------------------------------------------


def _filing_or_404(award: Award, filing: int) -> GrantApplication:
    return get_object_or_404(GrantApplication.objects.select_related("award"), pk=filing, award=award)


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def grant_application_return(request: HttpRequest, pk: int, filing: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    grant_application = _filing_or_404(award, filing)
    form = ReturnForm(request.POST, prefix="return")
    if not form.is_valid():
        messages.error(request, _("Give the reason for returning the grant application."))
        return redirect(award_page_url(award, staff=True))
    grant_steps.grant_application_return(filing=grant_application, reason=form.cleaned_data["reason"], by=request.user)
    messages.success(request, _("The grant application was returned to the organisation for correction."))
    return redirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def grant_application_accept(request: HttpRequest, pk: int, filing: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    grant_steps.grant_application_accept(filing=_filing_or_404(award, filing), by=request.user)
    messages.success(request, _("The grant application was accepted. The grant can now be decided."))
    return redirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def grant_decide(request: HttpRequest, pk: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    form = GrantDecisionForm(request.POST, progress_report=award.application.call.progress_report_step, prefix="grant")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(award_page_url(award, staff=True))
    award = grant_steps.grant_decide(
        award=award,
        amount=form.cleaned_data["amount"],
        conditions=form.cleaned_data["conditions"],
        progress_report_due=form.cleaned_data.get("progress_report_due"),
        by=request.user,
    )
    if award.application.call.is_subsidy:
        messages.success(request, _("The grant was decided and the notice of grant decision is being sent."))
    else:
        messages.success(request, _("The grant was decided."))
    return redirect(award_page_url(award, staff=True))


@staff_only
def staff_document(request: HttpRequest, pk: int, document: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    return _document_response(request, get_object_or_404(AwardDocument, pk=document, award=award), staff=True)


# --- staff: the reserve list (補欠) and 繰上げ採択 ------------------------------------------------


def _call(slug: str) -> Call:
    return get_object_or_404(Call.objects.select_related("programme"), slug=slug)


@staff_only
def reserve_page(request: HttpRequest, slug: str) -> HttpResponse:
    call = _call(slug)
    calibrate = review_round(call).use_calibration
    rows = final_ranking_rows(
        call, grant_steps.reserve_applications(call).select_related("decision", "notice"), calibrate=calibrate
    )
    budget = selectors.budget_summary(call)
    left = budget["left"]
    entries = []
    paging = paginate(request, rows)
    for row in paging.rows:
        application = row.application
        amount = application.requested_amount
        if call.cap_amount is not None:
            amount = min(amount, call.cap_amount)
        fits = left is None or amount <= left
        noticed = getattr(application, "notice", None) is not None and application.decision_disclosed_at is not None
        form = PromoteForm(
            initial={"award_amount": amount if fits else left},
            prefix=f"p{application.pk}",
        )
        entries.append({"row": row, "amount": amount, "fits": fits, "noticed": noticed, "form": form})
    return render(
        request,
        "grants/staff/reserve.html",
        {
            "call": call,
            "entries": entries,
            "paging": paging,
            "budget": budget,
            "close_form": ReserveCloseForm(prefix="close"),
            "Status": ApplicationStatus,
        },
    )


@require_POST
@staff_only
@refusals_to_messages("grants:reserve")
def reserve_promote(request: HttpRequest, slug: str) -> HttpResponse:
    call = _call(slug)
    raw = request.POST.get("application", "")
    application = get_object_or_404(Application.objects.filter(call=call), pk=int(raw) if raw.isdecimal() else 0)
    form = PromoteForm(request.POST, prefix=f"p{application.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("grants:reserve", slug=slug)
    award = grant_steps.reserve_promote(
        application=application, award_amount=form.cleaned_data["award_amount"], by=request.user
    )
    messages.success(
        request,
        _("%(number)s was adopted from the reserve list; the notice is being sent.")
        % {"number": application.receipt_number},
    )
    return redirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages("grants:reserve")
def reserve_close(request: HttpRequest, slug: str) -> HttpResponse:
    call = _call(slug)
    form = ReserveCloseForm(request.POST, prefix="close")
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that the reserve list is closed."))
        return redirect("grants:reserve", slug=slug)
    count = grant_steps.reserve_close(call=call, by=request.user)
    messages.success(
        request,
        _("The reserve list was closed: %(count)d application(s) not adopted, each told by letter.") % {"count": count},
    )
    return redirect("grants:reserve", slug=slug)


urlpatterns: list = [
    path("applications/<int:pk>/award/grant-application/", grant_application_form, name="grant_application"),
    path("applications/<int:pk>/award/decline/", grant_decline, name="grant_decline"),
    path("applications/<int:pk>/award/documents/<int:document>/", member_document, name="grant_document"),
    path(
        "staff/awards/<int:pk>/grant-applications/<int:filing>/return/",
        grant_application_return,
        name="grant_application_return",
    ),
    path(
        "staff/awards/<int:pk>/grant-applications/<int:filing>/accept/",
        grant_application_accept,
        name="grant_application_accept",
    ),
    path("staff/awards/<int:pk>/grant-decision/", grant_decide, name="grant_decide"),
    path("staff/awards/<int:pk>/documents/<int:document>/", staff_document, name="staff_grant_document"),
    path("staff/calls/<slug:slug>/reserve/", reserve_page, name="reserve"),
    path("staff/calls/<slug:slug>/reserve/promote/", reserve_promote, name="reserve_promote"),
    path("staff/calls/<slug:slug>/reserve/close/", reserve_close, name="reserve_close"),
]
