"""rv-stages: the staff page of a two-stage call's shortlist and interview (ヒアリング): the document
ranking with the shortlist, each shortlisted application's slot and interview reviewers."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import STAFF_ROLES, role_required
from applications.models import Application
from calls.models import Call
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages

from . import selectors, services, stages
from .forms import AutoAssignForm, InterviewSlotForm, ShortlistTopForm
from .models import Assignment, ReviewStage

staff_only = role_required(*STAFF_ROLES)
INTERVIEW = ReviewStage.INTERVIEW


def _call(slug: str) -> Call:
    """A two-stage call (404 for a one-stage call: it has no interview)."""
    return get_object_or_404(Call.objects.select_related("programme"), slug=slug, two_stage_review=True)


def _slot_initial(slot) -> dict:
    if slot is None:
        return {"duration_minutes": 30}
    return {
        "starts_at": timezone.localtime(slot.starts_at),
        "duration_minutes": slot.duration_minutes,
        "place": slot.place,
        "online_url": slot.online_url,
    }


@staff_only
def interview_page(request, slug):
    call = _call(slug)
    document_round = selectors.review_round(call, ReviewStage.DOCUMENT)
    interview_round = selectors.review_round(call, INTERVIEW)
    rows = selectors.ranking_rows(
        call,
        selectors.submitted_applications(call).select_related("shortlisting", "interview_slot"),
        calibrate=document_round.use_calibration,
    )
    shortlisted = [row for row in rows if hasattr(row.application, "shortlisting")]
    applications = {row.application.pk for row in shortlisted}
    interview_assignments: dict[int, list[Assignment]] = {}
    for assignment in (
        Assignment.objects.filter(application_id__in=applications, stage=INTERVIEW)
        .select_related("reviewer", "review")
        .order_by("reviewer__full_name", "id")
    ):
        interview_assignments.setdefault(assignment.application_id, []).append(assignment)
    reviewer_loads = selectors.reviewer_loads(call, INTERVIEW)
    paging = paginate(request, rows)
    entries = [
        {
            "row": row,
            "slot": getattr(row.application, "interview_slot", None),
            "form": InterviewSlotForm(
                initial=_slot_initial(getattr(row.application, "interview_slot", None)),
                prefix=f"s{row.application.pk}",
            ),
            "assignments": interview_assignments.get(row.application.pk, []),
        }
        for row in shortlisted
    ]
    return render(
        request,
        "reviews/staff/interview.html",
        {
            "call": call,
            "document_round": document_round,
            "interview_round": interview_round,
            "rows": paging.rows,
            "paging": paging,
            "entries": entries,
            "shortlist_open": stages.shortlist_is_open(call),
            "top_form": ShortlistTopForm(prefix="top", initial={"n": len(shortlisted) or None}),
            "auto_form": AutoAssignForm(
                prefix="auto",
                initial={
                    "reviewers": [r for r, _load in reviewer_loads],
                    "due_at": interview_round.default_due_at,
                },
            ),
            "reviewer_loads": reviewer_loads,
            "ranking_basis": selectors.ranking_basis(call),
        },
    )


@require_POST
@staff_only
@refusals_to_messages("review_staff:interview")
def shortlist_top(request, slug):
    call = _call(slug)
    form = ShortlistTopForm(request.POST, prefix="top")
    if not form.is_valid():
        messages.error(request, _("Give the number of applications to shortlist."))
        return redirect("review_staff:interview", slug=slug)
    shortlist = stages.shortlist_top(call=call, n=form.cleaned_data["n"], by=request.user)
    messages.success(request, _("%(n)d application(s) shortlisted.") % {"n": len(shortlist)})
    return redirect("review_staff:interview", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:interview")
def shortlist_set(request, slug):
    call = _call(slug)
    ids = [int(value) for value in request.POST.getlist("application") if value.isdigit()]
    if "shown" in request.POST:
        # The ranking is paged: the ticks speak for the rows shown; the rest of the shortlist stays.
        shown = {int(value) for value in request.POST.getlist("shown") if value.isdigit() and len(value) < 19}
        ids = sorted((selectors.shortlisted_ids(call) - shown) | set(ids))
    shortlist = stages.shortlist_set(call=call, application_ids=ids, by=request.user)
    messages.success(request, _("%(n)d application(s) shortlisted.") % {"n": len(shortlist)})
    return redirect("review_staff:interview", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:interview")
def slot(request, slug, pk):
    call = _call(slug)
    application = get_object_or_404(Application, pk=pk, call=call)
    form = InterviewSlotForm(request.POST, prefix=f"s{pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("review_staff:interview", slug=slug)
    stages.slot_schedule(application=application, by=request.user, **form.cleaned_data)
    messages.success(
        request, _("The interview slot of %(receipt)s was saved.") % {"receipt": application.receipt_number}
    )
    return redirect("review_staff:interview", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:interview")
def assign_auto(request, slug):
    call = _call(slug)
    form = AutoAssignForm(request.POST, prefix="auto")
    if form.is_valid():
        created = services.assignments_auto(
            call=call,
            reviewers=list(form.cleaned_data["reviewers"]),
            due_at=form.cleaned_data["due_at"],
            assigned_by=request.user,
            stage=INTERVIEW,
        )
        messages.success(request, _("%(n)d assignment(s) made.") % {"n": created})
    else:
        messages.error(request, _("Choose the reviewers to use."))
    return redirect("review_staff:interview", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:interview")
def assign_manual(request, slug):
    """One reviewer to one shortlisted application, by hand."""
    call = _call(slug)
    application_id, reviewer_id = request.POST.get("application", ""), request.POST.get("reviewer", "")
    if not (application_id.isdigit() and reviewer_id.isdigit()):
        raise Http404
    application = get_object_or_404(Application, pk=int(application_id), call=call)
    reviewer = get_object_or_404(selectors.active_reviewers(), pk=int(reviewer_id))
    services.assignment_create(
        application=application, reviewer=reviewer, due_at=None, assigned_by=request.user, stage=INTERVIEW
    )
    messages.success(request, _("%(n)d assignment(s) made.") % {"n": 1})
    return redirect("review_staff:interview", slug=slug)
