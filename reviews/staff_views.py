"""Staff pages of a call's review: settings and rubric, assignments, ranking and its CSV."""

import csv

from django.contrib import messages
from django.db.models import Q
from django.forms import formset_factory
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import STAFF_ROLES, role_required
from calls.models import Call
from kodoku_portal.exports import Echo, spreadsheet_safe
from kodoku_portal.normalise import strip_invisible_controls
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages
from kodoku_portal.workflow import Refused

from . import selectors, services, stages
from .forms import (
    AutoAssignForm,
    FlagDismissForm,
    FlagOverrideForm,
    ManualAssignForm,
    RankingFilter,
    RankingOptionsForm,
    RoundForm,
    StagesForm,
)
from .models import (
    Assignment,
    AssignmentStatus,
    ConflictDeclaration,
    IntegrityFlag,
    IntegrityFlagKind,
    ReviewPhase,
    ReviewRound,
    ReviewStage,
    ReviewStatus,
)
from .ranking import OUTLIER_SD
from .services import CriterionInput

staff_only = role_required(*STAFF_ROLES)


def _call(slug):
    return get_object_or_404(Call.objects.select_related("programme"), slug=slug)


def _criterion_formset():
    from django import forms

    from kodoku_portal.formfields import NOTE_MAX, CleanInputFormMixin

    class CriterionForm(CleanInputFormMixin, forms.Form):
        name = forms.CharField(label=_("Criterion"), max_length=100)
        name_en = forms.CharField(label=_("Criterion (English)"), max_length=120, required=False)
        description = forms.CharField(
            label=_("Description"), required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
        )
        max_score = forms.IntegerField(label=_("Maximum score"), min_value=1, max_value=100)
        weight = forms.DecimalField(label=_("Weight"), min_value=0.01, max_digits=5, decimal_places=2)

    return formset_factory(CriterionForm, extra=1, can_delete=True)


def _settings_url(request, slug, stage=ReviewStage.DOCUMENT):
    """The settings page of the stage (rv-stages: the interview has its own)."""
    name = "review_staff:interview_settings" if stage == ReviewStage.INTERVIEW else "review_staff:settings"
    return reverse(name, kwargs={"slug": slug})


@staff_only
@refusals_to_messages(_settings_url)
def settings_page(request, slug, stage=ReviewStage.DOCUMENT):
    call = _call(slug)
    if stage == ReviewStage.INTERVIEW and not call.two_stage_review:
        raise Http404
    review_round = selectors.review_round(call, stage)
    Criteria = _criterion_formset()
    initial = [
        {
            "name": c.name,
            "name_en": c.name_en,
            "description": c.description,
            "max_score": c.max_score,
            "weight": c.weight,
        }
        for c in selectors.criteria_of(call, stage)
    ]
    round_form = RoundForm(instance=review_round, prefix="round")
    criteria = Criteria(initial=initial, prefix="criteria")
    if request.method == "POST" and "save_round" in request.POST:
        round_form = RoundForm(request.POST, instance=review_round, prefix="round")
        if round_form.is_valid():
            services.round_configure(call=call, stage=stage, **round_form.cleaned_data)
            messages.success(request, _("The review settings were saved."))
            return redirect(_settings_url(request, slug, stage))
    stages_form = StagesForm(instance=call, prefix="stages")
    if request.method == "POST" and "save_stages" in request.POST and stage == ReviewStage.DOCUMENT:
        stages_form = StagesForm(request.POST, instance=Call.objects.get(pk=call.pk), prefix="stages")
        if stages_form.is_valid():
            stages.stages_configure(call=call, by=request.user, **stages_form.cleaned_data)
            messages.success(request, _("The review settings were saved."))
            return redirect(_settings_url(request, slug, stage))
    if request.method == "POST" and "save_rubric" in request.POST:
        criteria = Criteria(request.POST, initial=initial, prefix="criteria")
        if criteria.is_valid():
            rows = [
                CriterionInput(
                    **{k: f.cleaned_data[k] for k in ("name", "name_en", "description", "max_score", "weight")}
                )
                for f in criteria.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            services.rubric_replace(call=call, criteria=rows, stage=stage)
            messages.success(request, _("The rubric was saved."))
            return redirect(_settings_url(request, slug, stage))
    return render(
        request,
        "reviews/staff/settings.html",
        {
            "call": call,
            "review_round": review_round,
            "round_form": round_form,
            "criteria": criteria,
            "phases": ReviewPhase,
            "next_phases": _next_phases(review_round),
            "stage": stage,
            "stages_form": stages_form,
            "phase_url": reverse(
                "review_staff:interview_phase" if stage == ReviewStage.INTERVIEW else "review_staff:phase",
                kwargs={"slug": slug},
            ),
        },
    )


def _next_phases(review_round: ReviewRound) -> list[ReviewPhase]:
    return [ReviewPhase(p) for p in ReviewPhase if p in ReviewRound.TRANSITIONS[review_round.phase]]


@require_POST
@staff_only
@refusals_to_messages(_settings_url)
def phase(request, slug, stage=ReviewStage.DOCUMENT):
    call = _call(slug)
    if request.POST.get("phase") not in ReviewPhase.values:
        raise Refused(_("This change is not possible at this stage."), code="transition")
    services.phase_set(call=call, phase=ReviewPhase(request.POST["phase"]), by=request.user, stage=stage)
    messages.success(request, _("The review phase was changed."))
    return redirect(_settings_url(request, slug, stage))


@staff_only
def assignments_page(request, slug):
    call = _call(slug)
    review_round = selectors.review_round(call)
    paging = paginate(request, selectors.assignment_page_applications(call), sorts=selectors.ASSIGNMENT_PAGE_SORTS)
    reviewer_loads = selectors.reviewer_loads(call)
    return render(
        request,
        "reviews/staff/assignments.html",
        {
            "call": call,
            "review_round": review_round,
            "applications": paging.rows,
            "paging": paging,
            "reviewer_loads": reviewer_loads,
            "manual_form": ManualAssignForm(call=call, prefix="manual"),
            "auto_form": AutoAssignForm(
                prefix="auto",
                initial={"reviewers": [r for r, _load in reviewer_loads], "due_at": review_round.default_due_at},
            ),
            "search_applications_url": reverse("review_staff:search", args=[call.slug, "applications"]),
            "Status": AssignmentStatus,
            "ReviewStatus": ReviewStatus,
        },
    )


@require_POST
@staff_only
@refusals_to_messages("review_staff:assignments")
def assign_manual(request, slug):
    call = _call(slug)
    form = ManualAssignForm(request.POST, call=call, prefix="manual")
    if form.is_valid():
        result = services.assignments_bulk(
            applications=list(form.cleaned_data["applications"]),
            reviewers=list(form.cleaned_data["reviewers"]),
            due_at=form.cleaned_data["due_at"],
            assigned_by=request.user,
            override_reason=form.cleaned_data["override_reason"],
        )
        messages.success(request, _("%(n)d assignment(s) made.") % {"n": result.created})
        for skipped in result.skipped:
            messages.warning(request, skipped)
    else:
        messages.error(request, _("Choose at least one application and one reviewer."))
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("review_staff:assignments", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:assignments")
def assign_auto(request, slug):
    call = _call(slug)
    form = AutoAssignForm(request.POST, prefix="auto")
    if form.is_valid():
        created = services.assignments_auto(
            call=call,
            reviewers=list(form.cleaned_data["reviewers"]),
            due_at=form.cleaned_data["due_at"],
            assigned_by=request.user,
        )
        messages.success(request, _("%(n)d assignment(s) made.") % {"n": created})
    else:
        messages.error(request, _("Choose the reviewers to use."))
    return redirect("review_staff:assignments", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:assignments")
def unassign(request, slug, pk):
    assignment = get_object_or_404(Assignment, pk=pk, application__call__slug=slug)
    services.assignment_remove(assignment=assignment, by=request.user)
    messages.success(request, _("The assignment was removed."))
    return redirect("review_staff:assignments", slug=slug)


SEARCH_RESULTS = 20


@staff_only
def search(request, slug, kind):
    """The assignment page's search (JSON, 20 results a page): submitted applications of the call
    by receipt number, project or organisation name, or active reviewers by name or e-mail."""
    call = _call(slug)
    query = strip_invisible_controls(request.GET.get("q", ""))[:100]
    if kind == "applications":
        found = selectors.search_submitted_applications(call, query)

        def result(application):
            return {
                "value": application.receipt_number,
                "label": f"{application.receipt_number} {application.organisation.name} — {application.title}",
            }

    elif kind == "reviewers":
        found = selectors.search_reviewers(query)

        def result(reviewer):
            return {"value": reviewer.email, "label": f"{reviewer} <{reviewer.email}>"}

    else:
        raise Http404
    paging = paginate(request, found, per_page=SEARCH_RESULTS)
    return JsonResponse(
        {
            "results": [result(row) for row in paging.rows],
            "page": paging.page.number,
            "has_next": paging.page.has_next(),
            "total": paging.total,
        }
    )


@require_POST
@staff_only
@refusals_to_messages("review_staff:assignments")
def record_conflict(request, slug):
    call = _call(slug)
    reviewer_id, organisation_id = request.POST.get("reviewer", ""), request.POST.get("organisation", "")
    reviewer = get_object_or_404(selectors.active_reviewers(), pk=int(reviewer_id) if reviewer_id.isdecimal() else 0)
    organisation = selectors.organisation_by_pick(call, organisation_id)
    reason = strip_invisible_controls(request.POST.get("reason", "")).strip()
    if len(reason) > ConflictDeclaration._meta.get_field("reason").max_length:
        messages.error(request, _("The reason is too long."))
        return redirect("review_staff:assignments", slug=slug)
    services.conflict_declare(reviewer=reviewer, organisation=organisation, reason=reason, by=request.user)
    messages.success(request, _("The conflict of interest was recorded."))
    return redirect("review_staff:assignments", slug=slug)


def _ranking(request, call, review_round, *, page_in_database: bool = False):
    """The ranking's filters and options, and its rows in the order asked; ``None`` for the rows
    when ``page_in_database`` and the page shows the default order with no lower bound (the caller
    then pages the stored ranking in the database)."""
    filterset = RankingFilter(request.GET or None, queryset=selectors.reviewable_applications(call), call=call)
    options = RankingOptionsForm(request.GET or None)
    chosen = options.cleaned_data if options.is_valid() else {}
    sort = chosen.get("sort") or "score"
    min_score = chosen.get("min_score")
    if page_in_database and min_score is None and sort == "score":
        return filterset, options, None
    rows = selectors.ranking_rows(call, filterset.qs, calibrate=review_round.use_calibration)
    if min_score is not None:
        rows = [r for r in rows if r.rank and (r.calibrated if review_round.use_calibration else r.score) >= min_score]
    keys = {
        "raw": lambda r: (r.rank is None, -(r.score or 0)),
        "calibrated": lambda r: (r.rank is None, -(r.calibrated or 0)),
        "spread": lambda r: (r.rank is None, -(r.rank.spread if r.rank else 0)),
        "receipt": lambda r: r.application.receipt_number or "",
    }
    if sort in keys:
        rows.sort(key=keys[sort])
    return filterset, options, rows


@staff_only
def ranking_page(request, slug):
    call = _call(slug)
    review_round = selectors.review_round(call)
    filterset, options, rows = _ranking(request, call, review_round, page_in_database=True)
    if rows is None:
        # The default order with no lower bound: ordered and paged in the database (issue 14).
        calibrate = review_round.use_calibration
        paging = paginate(request, selectors.ranked_applications(filterset.qs, calibrate=calibrate))
        paging.page.object_list = selectors.rows_of(
            paging.rows, calibrate=calibrate, first_position=paging.page.start_index()
        )
    else:
        paging = paginate(request, rows)
    return render(
        request,
        "reviews/staff/ranking.html",
        {
            "call": call,
            "review_round": review_round,
            "filter": filterset,
            "options": options,
            "rows": paging.rows,
            "paging": paging,
            "criteria": selectors.criteria_of(call),
            "flag_counts": selectors.flagged_application_ids(call),
        },
    )


@staff_only
def scores_csv(request, slug):
    """Every submitted review's scores, for Excel (UTF-8 with BOM)."""
    call = _call(slug)
    criteria = selectors.criteria_of(call)
    reviews = selectors.scores_export(call)
    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow(
            [_("Receipt number"), _("Organisation"), _("Project name"), _("Reviewer")]
            + [str(c) for c in criteria]
            + [_("Weighted total (0–100)"), _("Comment to staff")]
        )
        for row in reviews:
            yield writer.writerow([spreadsheet_safe(cell) for cell in row])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="scores-{call.slug}.csv"'
    return response


# --- integrity checks and calibration (issue 11, items 5 and 6) ---------------------------------


@staff_only
def integrity_page(request, slug):
    """整合性チェック: the call's flags, each with why it fired; the checks run again on every visit."""
    call = _call(slug)
    services.integrity_refresh(call=call)
    open_flags = paginate(request, selectors.integrity_flags_page_query(call, is_open=True))
    dismissed = paginate(request, selectors.integrity_flags_page_query(call, is_open=False), param="dpage")
    return render(
        request,
        "reviews/staff/integrity.html",
        {
            "call": call,
            "open_flags": selectors.flag_views(open_flags.rows),
            "dismissed_flags": selectors.flag_views(dismissed.rows),
            "paging": open_flags,
            "dismissed_paging": dismissed,
            "Kind": IntegrityFlagKind,
            "dismiss_form": FlagDismissForm(),
            "override_form": FlagOverrideForm(),
        },
    )


@require_POST
@staff_only
@refusals_to_messages("review_staff:integrity")
def integrity_recheck(request, slug):
    services.integrity_refresh(call=_call(slug))
    messages.success(request, _("The integrity checks were run again."))
    return redirect("review_staff:integrity", slug=slug)


def _flag(slug, pk):
    return get_object_or_404(
        IntegrityFlag.objects.select_related("application", "reviewer").filter(
            Q(application__call__slug=slug) | Q(other_application__call__slug=slug)
        ),
        pk=pk,
    )


@require_POST
@staff_only
@refusals_to_messages("review_staff:integrity")
def integrity_dismiss(request, slug, pk):
    flag = _flag(slug, pk)
    form = FlagDismissForm(request.POST)
    if not form.is_valid():
        raise Refused(_("Say why this flag is false before dismissing it."), code="reason_required")
    services.integrity_flag_dismiss(flag=flag, reason=form.cleaned_data["reason"], by=request.user)
    messages.success(request, _("The flag was dismissed."))
    return redirect("review_staff:integrity", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("review_staff:integrity")
def integrity_override(request, slug, pk):
    """Assign a flagged reviewer–application pair anyway, with a reason (audited)."""
    flag = _flag(slug, pk)
    if flag.kind != IntegrityFlagKind.CONFLICT or flag.application.call.slug != slug:
        raise Http404
    form = FlagOverrideForm(request.POST)
    if not form.is_valid():
        raise Refused(_("Give a reason to assign anyway."), code="reason_required")
    services.assignment_create(
        application=flag.application,
        reviewer=flag.reviewer,
        due_at=form.cleaned_data["due_at"],
        assigned_by=request.user,
        override_reason=form.cleaned_data["reason"],
    )
    messages.success(request, _("The reviewer was assigned; your reason was recorded."))
    return redirect("review_staff:integrity", slug=slug)


@staff_only
def calibration_page(request, slug):
    """Each reviewer against the panel: how many scored, mean, spread and difference, in words."""
    call = _call(slug)
    rows, panel = selectors.reviewer_calibration(call)
    paging = paginate(request, rows)
    return render(
        request,
        "reviews/staff/calibration.html",
        {
            "call": call,
            "review_round": selectors.review_round(call),
            "rows": paging.rows,
            "paging": paging,
            "panel": panel,
            "outlier_sd": OUTLIER_SD,
        },
    )
