"""Pages of 変更承認申請, 軽微な変更, 中止・廃止 and their letters.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_change.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, role_required
from applications.filetypes import validate_attachment
from kodoku_portal.views_support import refusals_to_messages

from . import change_steps
from .award_support import award_page_url, member_award_or_404, staff_award_or_404
from .change_forms import ChangeDecisionForm, ChangeRequestForm, DiscontinueForm, budget_formset
from .models import Award, AwardDocument, AwardDocumentPurpose, BudgetVersion, ChangeKind, ChangeRequest, ChangeStatus
from .scanned_files import say_when_being_checked, stored_file_response


def _applicant_page(request, pk, **_ids) -> str:
    return reverse("grants:applicant_award", args=[pk]) + "#change-heading"


def _staff_page(request, pk, **_ids) -> str:
    return reverse("grants:award", args=[pk]) + "#change-heading"


def threshold_note(award: Award) -> str:
    percent = award.application.call.minor_change_percent
    return _(
        "A shift between expense categories of at most %(percent)s%% of the smaller one needs no approval "
        "(when the total does not increase, no new category is added and the plan does not change)."
    ) % {"percent": percent}


# --- the section ---------------------------------------------------------------------------------


@dataclass
class VersionRow:
    version: BudgetVersion
    total: int
    categories: list[tuple[str, int]]
    in_force: bool
    origin: str


@dataclass
class ChangeRow:
    change: ChangeRequest
    diff: list = field(default_factory=list)
    total_before: int = 0
    total_after: int = 0
    letters: list[tuple[str, str, str]] = field(default_factory=list)  # (label, number, url)
    documents: list[tuple[str, str, AwardDocument]] = field(default_factory=list)  # (name, url, document)
    decision_form: ChangeDecisionForm | None = None
    can_withdraw: bool = False


def _version_rows(award: Award) -> list[VersionRow]:
    in_force = award.budget_in_force()
    versions = award.budget_versions.prefetch_related("lines").select_related("change_request")
    rows = []
    for version in versions:
        change = getattr(version, "change_request", None)
        if change is not None:
            origin = _("Change request %(number)s (%(status)s)") % {
                "number": change.number,
                "status": change.get_status_display(),
            }
        elif hasattr(version, "grant_application"):
            origin = _("Grant application")
        else:
            origin = _("Grant decision")
        rows.append(
            VersionRow(
                version=version,
                total=version.total,
                categories=[(change_steps.category_label(c), a) for c, a in version.by_category().items()],
                in_force=in_force is not None and version.pk == in_force.pk,
                origin=origin,
            )
        )
    return rows


def _change_rows(request: HttpRequest, award: Award, *, staff: bool) -> list[ChangeRow]:
    changes = award.changes.select_related("budget", "requested_by", "decided_by").prefetch_related(
        "letters", "documents", "budget__lines"
    )
    rows = []
    for change in changes:
        row = ChangeRow(change=change)
        if change.budget_id:
            before = change_steps.budget_before(change)
            row.diff = change_steps.budget_diff(before, change.budget)
            row.total_before = before.total if before else 0
            row.total_after = change.budget.total
        for letter in change.letters.all():
            if staff:
                url = reverse("grants:staff_letter", args=[letter.pk])
            else:
                url = reverse("grants:applicant_letter", args=[award.application_id, letter.pk])
            row.letters.append((letter.get_kind_display(), letter.document_number, url))
        for document in change.documents.all():
            if staff:
                url = reverse("grants:staff_change_document", args=[award.pk, document.pk])
            else:
                url = reverse("grants:change_document", args=[award.application_id, document.pk])
            row.documents.append((document.original_name, url, document))
        if change.status == ChangeStatus.PENDING:
            if staff:
                row.decision_form = ChangeDecisionForm(auto_id=f"id_change{change.pk}_%s")
            else:
                row.can_withdraw = True
        rows.append(row)
    return rows


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    section = {
        "versions": _version_rows(award),
        "changes": _change_rows(request, award, staff=staff),
        "threshold_note": threshold_note(award),
        "can_request": False,
    }
    if not staff:
        refusal = change_steps.change_refusal(award)
        section["refusal"] = refusal
        if refusal is None:
            section |= _request_forms(award)
    return section


def _request_forms(award: Award, *, form=None, formset=None, discontinue_form=None) -> dict:
    return {
        "can_request": True,
        "form": form or ChangeRequestForm(auto_id="id_change_%s"),
        "formset": formset or budget_formset(award.budget_in_force()),
        "discontinue_form": discontinue_form or DiscontinueForm(auto_id="id_discontinue_%s"),
    }


# --- the organisation ------------------------------------------------------------------------------


def _checked_documents(request: HttpRequest, form) -> list | None:
    """(upload, file type) of each attachment, or None after adding the form's error."""
    checked = []
    for upload in form.cleaned_data["documents"]:
        try:
            checked.append((upload, validate_attachment(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES)))
        except ValidationError as error:
            form.add_error("documents", f"{upload.name}: {' '.join(error.messages)}")
            return None
    return checked


def _form_page(request: HttpRequest, award: Award, context: dict) -> HttpResponse:
    return render(
        request,
        "grants/award/change_form.html",
        {
            "award": award,
            "application": award.application,
            "threshold_note": threshold_note(award),
            "page_url": award_page_url(award, staff=False),
            **context,
        },
    )


@role_required(Role.APPLICANT)
@refusals_to_messages(_applicant_page)
def change_new(request: HttpRequest, pk: int) -> HttpResponse:
    """変更承認申請: the form (GET, or POST with errors) and the filing."""
    award = member_award_or_404(request.user, pk)
    refusal = change_steps.change_refusal(award)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect(award_page_url(award, staff=False))
    if request.method != "POST":
        return _form_page(request, award, {"kind": "change", **_request_forms(award)})
    form = ChangeRequestForm(request.POST, request.FILES, auto_id="id_change_%s")
    formset = budget_formset(award.budget_in_force(), request.POST)
    documents = None
    if form.is_valid() and formset.is_valid():
        documents = _checked_documents(request, form)
    if documents is None:
        return _form_page(request, award, {"kind": "change", **_request_forms(award, form=form, formset=formset)})
    change = change_steps.change_request(
        award=award,
        by=request.user,
        plan_before=form.cleaned_data["plan_before"],
        plan_after=form.cleaned_data["plan_after"],
        reason=form.cleaned_data["reason"],
        lines=formset.lines(),
        documents=documents,
    )
    if change.status == ChangeStatus.MINOR:
        messages.success(
            request,
            _("Change request %(number)s is a minor change: it is recorded and the new budget is in force now.")
            % {"number": change.number},
        )
    else:
        messages.success(
            request, _("Change request %(number)s was filed; it awaits approval.") % {"number": change.number}
        )
    say_when_being_checked(request, change.documents.all())
    return redirect(award_page_url(award, staff=False))


@role_required(Role.APPLICANT)
@refusals_to_messages(_applicant_page)
def change_discontinue(request: HttpRequest, pk: int) -> HttpResponse:
    """中止・廃止の申請: the form (GET, or POST with errors) and the filing."""
    award = member_award_or_404(request.user, pk)
    refusal = change_steps.change_refusal(award)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect(award_page_url(award, staff=False))
    if request.method != "POST":
        return _form_page(request, award, {"kind": "discontinue", **_request_forms(award)})
    form = DiscontinueForm(request.POST, request.FILES, auto_id="id_discontinue_%s")
    documents = _checked_documents(request, form) if form.is_valid() else None
    if documents is None:
        return _form_page(request, award, {"kind": "discontinue", **_request_forms(award, discontinue_form=form)})
    change = change_steps.discontinue_request(
        award=award,
        by=request.user,
        kind=ChangeKind(form.cleaned_data["kind"]),
        effective_on=form.cleaned_data["effective_on"],
        reason=form.cleaned_data["reason"],
        documents=documents,
    )
    messages.success(request, _("Change request %(number)s was filed; it awaits approval.") % {"number": change.number})
    say_when_being_checked(request, change.documents.all())
    return redirect(award_page_url(award, staff=False))


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages(_applicant_page)
def change_withdraw(request: HttpRequest, pk: int, change: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    request_ = get_object_or_404(ChangeRequest, pk=change, award=award)
    change_steps.change_withdraw(change=request_, by=request.user)
    messages.success(request, _("Change request %(number)s was withdrawn.") % {"number": request_.number})
    return redirect(award_page_url(award, staff=False))


def _document_response(request: HttpRequest, document: AwardDocument, *, staff: bool) -> HttpResponse:
    # Only a file the virus check cleared (or scanning is off) is served (grants/scanned_files.py).
    return stored_file_response(request, document, back_url=award_page_url(document.award, staff=staff))


@role_required(Role.APPLICANT)
def change_document(request: HttpRequest, pk: int, document: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    found = get_object_or_404(AwardDocument, pk=document, award=award, purpose=AwardDocumentPurpose.CHANGE)
    return _document_response(request, found, staff=False)


# --- staff -----------------------------------------------------------------------------------------


@require_POST
@role_required(*STAFF_ROLES)
@refusals_to_messages(_staff_page)
def change_decide(request: HttpRequest, pk: int, change: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    request_ = get_object_or_404(ChangeRequest, pk=change, award=award)
    form = ChangeDecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_staff_page(request, pk))
    approve = form.cleaned_data["decision"] == "approve"
    change_steps.change_decide(change=request_, by=request.user, approve=approve, note=form.cleaned_data["note"])
    done = _("Change request %(number)s was approved.") if approve else _("Change request %(number)s was refused.")
    messages.success(request, done % {"number": request_.number})
    return redirect(award_page_url(award, staff=True))


@role_required(*STAFF_ROLES)
def staff_change_document(request: HttpRequest, pk: int, document: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    found = get_object_or_404(AwardDocument, pk=document, award=award, purpose=AwardDocumentPurpose.CHANGE)
    return _document_response(request, found, staff=True)


urlpatterns: list = [
    path("applications/<int:pk>/award/changes/new/", change_new, name="change_new"),
    path("applications/<int:pk>/award/changes/discontinue/", change_discontinue, name="change_discontinue"),
    path("applications/<int:pk>/award/changes/<int:change>/withdraw/", change_withdraw, name="change_withdraw"),
    path("applications/<int:pk>/award/changes/documents/<int:document>/", change_document, name="change_document"),
    path("staff/awards/<int:pk>/changes/<int:change>/decide/", change_decide, name="change_decide"),
    path(
        "staff/awards/<int:pk>/changes/documents/<int:document>/", staff_change_document, name="staff_change_document"
    ),
]
