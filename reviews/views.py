"""The reviewer's pages: assignments, the conflict declaration, the application and its scores."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required, role_required_or_404
from applications.answers import answers_for_display
from applications.attachment_files import attachment_response
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages

from . import selectors, services
from .forms import AffiliationForm, DeclarationForm, ReviewForm
from .integrity import AFFILIATION_YEARS
from .models import AssignmentStatus, ReviewStatus


@role_required(Role.REVIEWER)
def home(request):
    paging = paginate(request, selectors.reviewer_home_rows(request.user), sorts=selectors.REVIEWER_HOME_SORTS)
    return render(
        request,
        "reviews/home.html",
        {
            "assignments": paging.rows,
            "paging": paging,
            "now": timezone.now(),
            "Status": AssignmentStatus,
            "ReviewStatus": ReviewStatus,
        },
    )


@role_required(Role.REVIEWER)
@refusals_to_messages("reviews:assignment")
def declare(request, pk):
    """利害関係の申告: before the application is shown, only its organisation and title are."""
    assignment = selectors.assignment_for_reviewer(request.user, pk)
    form = DeclarationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        has_conflict = form.cleaned_data["has_conflict"]
        services.assignment_declare(
            assignment=assignment, has_conflict=has_conflict, reason=form.cleaned_data["reason"]
        )
        if has_conflict:
            messages.info(
                request, _("Thank you. The application has been returned to staff and is no longer shown to you.")
            )
            return redirect("reviews:home")
        return redirect("reviews:assignment", pk=pk)
    return render(request, "reviews/declare.html", {"assignment": assignment, "form": form})


@role_required(Role.REVIEWER)
@refusals_to_messages()  # back to this page, which shows what was saved
def assignment_detail(request, pk):
    assignment = selectors.assignment_for_reviewer(request.user, pk)
    if assignment.status != AssignmentStatus.ACCEPTED:
        return redirect("reviews:declare", pk=pk)
    application = selectors.application_for_reviewer(assignment)
    review_round = selectors.review_round(application.call, assignment.stage)
    criteria = selectors.criteria_of(application.call, assignment.stage)
    review = getattr(assignment, "review", None)
    initial = {}
    if review is not None:
        initial = {f"score_{s.criterion_id}": s.value for s in review.scores.all()}
        initial.update(
            comment_to_staff=review.comment_to_staff,
            comment_to_applicant=review.comment_to_applicant,
            disclose_to_applicant=review.disclose_to_applicant,
        )
    form = ReviewForm(request.POST or None, initial=initial, criteria=criteria)
    if request.method == "POST" and form.is_valid():
        # The scores are kept as a draft first, so that a refused submission (a criterion left
        # without a score) loses nothing the reviewer typed.
        services.review_save(
            assignment=assignment,
            scores=form.scores(),
            comment_to_staff=form.cleaned_data["comment_to_staff"],
            comment_to_applicant=form.cleaned_data["comment_to_applicant"],
            disclose_to_applicant=form.cleaned_data["disclose_to_applicant"],
            submit=False,
        )
        submit = "submit" in request.POST
        if submit:
            services.review_submit(assignment=assignment)
        messages.success(request, _("Your review was submitted.") if submit else _("Your draft was saved."))
        return redirect("reviews:assignment", pk=pk)
    return render(
        request,
        "reviews/assignment.html",
        {
            "assignment": assignment,
            "application": application,
            # The answers to the call's form (the project questions, and a call's own sections).
            "schema_answers": answers_for_display(application),
            "review": review,
            "review_round": review_round,
            "form": form,
            "submitted": review is not None and review.status == ReviewStatus.SUBMITTED,
            "others": selectors.other_reviews(assignment) if review_round.reviewers_see_others else None,
        },
    )


@require_POST
@role_required(Role.REVIEWER)
@refusals_to_messages("reviews:assignment")
def reopen(request, pk):
    assignment = selectors.assignment_for_reviewer(request.user, pk)
    services.review_reopen(assignment=assignment)
    return redirect("reviews:assignment", pk=pk)


@role_required_or_404(Role.REVIEWER)
def assignment_attachment(request, pk, attachment_pk):
    """An attachment of the assigned application, opened beside the scoring form (a PDF in the
    browser, Office files downloaded), by the reviewer of an accepted assignment; each opening is
    audited. Another reviewer's assignment, a returned or conflicted one: 404."""
    assignment = selectors.assignment_for_reviewer(request.user, pk)
    attachment = selectors.attachment_for_reader(request.user, assignment.application, attachment_pk)
    services.attachment_opened(attachment=attachment, by=request.user)
    return attachment_response(attachment, inline=True)


# --- the reviewer's affiliations (issue 11, item 5) ----------------------------------------------


@role_required(Role.REVIEWER)
@refusals_to_messages("reviews:affiliations")
def affiliations(request):
    """所属: the organisations the reviewer belongs or belonged to, for the conflict-of-interest
    checks. Only their own: there is no other reviewer's list to reach."""
    form = AffiliationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.affiliation_add(reviewer=request.user, data=services.AffiliationInput(**form.cleaned_data))
        messages.success(request, _("The affiliation was recorded."))
        return redirect("reviews:affiliations")
    return render(
        request,
        "reviews/affiliations.html",
        {
            "affiliations": selectors.affiliations_of(request.user),
            "form": form,
            "years": AFFILIATION_YEARS,
        },
    )


@require_POST
@role_required(Role.REVIEWER)
@refusals_to_messages("reviews:affiliations")
def affiliation_remove(request, pk):
    affiliation = get_object_or_404(selectors.affiliations_of(request.user), pk=pk)
    services.affiliation_remove(affiliation=affiliation, by=request.user)
    messages.success(request, _("The affiliation was removed."))
    return redirect("reviews:affiliations")
