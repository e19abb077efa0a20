"""Staff pages after the review: decisions and the adoption proposal, notices, awards, the audit
trail. Refusals of the services (``Refused``) become messages in one place, the decorator."""

import csv
import tempfile

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import STAFF_ROLES, role_required
from applications.models import ApplicationStatus
from calls.models import Call
from kodoku_portal.audit import action_label, describe, object_kind, object_words
from kodoku_portal.exports import Echo, spreadsheet_safe
from kodoku_portal.jp import JST
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import confirmed, refusals_to_messages
from reviews.selectors import final_ranking_rows, ranked_applications, ranking_basis, review_round, rows_of

from . import exports, selectors, services
from .forms import DECISION_CHOICES, DecisionForm, DecisionWindowOverrideForm, OutsideNoticesForm, ProposalForm
from .models import AwardStatus

staff_only = role_required(*STAFF_ROLES)


def _call(slug):
    return get_object_or_404(Call.objects.select_related("programme"), slug=slug)


@staff_only
def decisions_page(request, slug):
    """採否の決定: the ranking, 50 rows a page, each row a light form that posts one decision
    (plain inputs named as DecisionForm expects; no form object is built per row)."""
    call = _call(slug)
    calibrate = review_round(call).use_calibration
    proposal_form = ProposalForm(request.GET or None)
    proposed = None
    proposed_rows = []
    if call.two_stage_review or "propose" in request.GET:
        # The final ranking of two stages, or a proposal over the whole ranking: every row.
        rows = final_ranking_rows(call, selectors.decidable_applications(call), calibrate=calibrate)
        if "propose" in request.GET and proposal_form.is_valid():
            proposed = set(
                services.propose(
                    selectors.proposal_candidates(rows, calibrate=calibrate),
                    budget=selectors.budget_left(call),
                    balance_by=proposal_form.cleaned_data["balance_by"],
                )
            )
        proposed_rows = [row for row in rows if proposed and row.application.pk in proposed]
        paging = paginate(request, rows)
        page_rows = paging.rows
    else:
        # One stage, no proposal: the stored ranking ordered and paged in the database (issue 14).
        paging = paginate(request, ranked_applications(selectors.decidable_applications(call), calibrate=calibrate))
        page_rows = rows_of(paging.rows, calibrate=calibrate, first_position=paging.page.start_index())
    return render(
        request,
        "grants/staff/decisions.html",
        {
            "call": call,
            "rows": [(row, _initial(row.application)) for row in page_rows],
            "paging": paging,
            "decision_choices": DECISION_CHOICES,
            "budget": selectors.budget_summary(call),
            "proposal_form": proposal_form,
            "proposed": proposed,
            "proposed_rows": proposed_rows,
            "proposed_total": sum(row.application.requested_amount for row in proposed_rows),
            "calibrate": calibrate,
            "Status": ApplicationStatus,
            "ranking_basis": ranking_basis(call),
            "window": selectors.decision_window(call),
            "window_form": DecisionWindowOverrideForm(),
        },
    )


def _initial(application):
    decision = getattr(application, "decision", None)
    return {
        "application": application.pk,
        "outcome": application.status,
        "award_amount": decision.award_amount if decision and decision.award_amount else application.requested_amount,
    }


def _back_to_decisions(request, slug) -> str:
    """Back to the decisions page the row was on (its page and filters), never elsewhere."""
    home = reverse("grants:decisions", kwargs={"slug": slug})
    back = request.POST.get("next", "")
    return back if back.startswith(home) and "//" not in back else home


@require_POST
@staff_only
@refusals_to_messages(_back_to_decisions)
def decide(request, slug):
    call = _call(slug)
    pk = request.POST.get("application", "")
    application = get_object_or_404(selectors.decidable_applications(call), pk=int(pk) if pk.isdecimal() else 0)
    form = DecisionForm(request.POST, prefix=f"d{application.pk}")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_back_to_decisions(request, slug))
    services.decision_record(
        application=application,
        outcome=ApplicationStatus(form.cleaned_data["outcome"]),
        award_amount=form.cleaned_data["award_amount"],
        decided_by=request.user,
    )
    messages.success(request, _("%(number)s: the decision was recorded.") % {"number": application.receipt_number})
    return redirect(_back_to_decisions(request, slug))


@require_POST
@staff_only
@refusals_to_messages("grants:decisions")
def accept_proposal(request, slug):
    call = _call(slug)
    ids = [int(pk) for pk in request.POST.getlist("application") if pk.isdecimal()]
    count = services.proposal_accept(call=call, application_ids=ids, decided_by=request.user)
    messages.success(request, _("%(n)d application(s) adopted.") % {"n": count})
    return redirect("grants:decisions", slug=slug)


def _confirmed_form(request, form_class, unconfirmed: str) -> dict | None:
    """The cleaned data of a staff action's form whose consequence was confirmed (the checkbox,
    checked on the server); None after saying what is missing."""
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return None
    if not confirmed(request):
        messages.error(request, unconfirmed)
        return None
    return form.cleaned_data


@require_POST
@staff_only
@refusals_to_messages("grants:decisions")
def allow_decisions_before_close(request, slug):
    """Decisions wait until the call closes; staff may allow them earlier, giving the reason."""
    call = _call(slug)
    data = _confirmed_form(
        request,
        DecisionWindowOverrideForm,
        _("Tick the box to confirm: decisions will be recorded while organisations may still apply."),
    )
    if data is None:
        return redirect("grants:decisions", slug=slug)
    services.decisions_allow_before_close(call=call, by=request.user, reason=data["reason"])
    messages.success(request, _("Decisions on this call may now be recorded before it closes."))
    return redirect("grants:decisions", slug=slug)


@staff_only
def notices_page(request, slug):
    call = _call(slug)
    notices = paginate(request, selectors.notices_of(call))
    return render(
        request,
        "grants/staff/notices.html",
        {
            "call": call,
            "notices": notices.rows,
            "paging": notices,
            "progress": selectors.notice_progress(call),
            "outside_records": selectors.notices_sent_outside(call),
            "outside_waiting": selectors.outside_notice_waiting(call),
            "outside_form": OutsideNoticesForm(),
        },
    )


@require_POST
@staff_only
@refusals_to_messages("grants:notices")
def record_outside_notices(request, slug):
    """A past round imported as decided: record that its notices were sent outside the portal."""
    call = _call(slug)
    data = _confirmed_form(
        request,
        OutsideNoticesForm,
        _(
            "Tick the box to confirm: the portal will send these organisations no notice, "
            "and their decisions are shown to them."
        ),
    )
    if data is None:
        return redirect("grants:notices", slug=slug)
    entry = services.notices_record_outside(call=call, by=request.user, note=data["note"], sent_on=data["sent_on"])
    messages.success(
        request,
        _("Recorded: the notices of %(n)d application(s) were sent outside the portal.")
        % {"n": entry.applications.count()},
    )
    return redirect("grants:notices", slug=slug)


@require_POST
@staff_only
@refusals_to_messages("grants:notices")
def send_notices(request, slug):
    call = _call(slug)
    if not confirmed(request):
        messages.error(
            request,
            _("Tick the box to confirm: the notices are numbered and mailed, and cannot be recalled."),
        )
        return redirect("grants:notices", slug=slug)
    _batch, pending = services.notices_prepare(call=call, created_by=request.user)
    messages.success(request, _("%(n)d notice(s) are being made and sent.") % {"n": len(pending)})
    return redirect("grants:notices", slug=slug)


@staff_only
def notice_progress(request, slug):
    return JsonResponse(selectors.notice_progress(_call(slug)))


@require_POST
@staff_only
@refusals_to_messages("grants:decisions")
def publish(request, slug):
    call = _call(slug)
    publish = request.POST.get("publish") == "1"
    if publish and not confirmed(request):
        messages.error(
            request, _("Tick the box to confirm: the adopted projects and organisations are shown to the public.")
        )
        return redirect("grants:decisions", slug=slug)
    services.adoptions_publish(call=call, publish=publish, by=request.user)
    messages.success(request, _("The public list of adopted projects was updated."))
    return redirect("grants:decisions", slug=slug)


@staff_only
def awards_board(request):
    """Every award, filtered by call, by the step it waits on, or only what is overdue."""
    calls = Call.objects.filter(applications__award__isnull=False).distinct().order_by("-closes_at", "id")
    call = calls.filter(slug=request.GET.get("call", "")).first()
    step = request.GET.get("step", "open")
    overdue = request.GET.get("overdue") == "1"
    paging = paginate(request, selectors.awards_for_board(call=call, step=step, overdue=overdue))
    counts = selectors.award_step_counts()
    steps = [
        ("open", _("Not finished"), sum(n for s, n in counts.items() if s not in selectors.FINISHED)),
        ("", _("Every step"), sum(counts.values())),
    ]
    steps += [(status.value, status.label, counts.get(status.value, 0)) for status in AwardStatus]
    return render(
        request,
        "grants/staff/awards.html",
        {
            "awards": paging.rows,
            "paging": paging,
            "calls": calls,
            "call": call,
            "step": step,
            "steps": steps,
            "overdue": overdue,
            "organisation_acts": selectors.ORGANISATION_ACTS,
            "Status": AwardStatus,
        },
    )


@staff_only
def audit_trail(request, slug):
    """The call's audit trail in words, filtered by person, kind of action and of object, and
    days; ``?format=csv`` for Excel."""
    call = _call(slug)
    trail = selectors.audit_trail(call, request.GET)
    entries = trail.qs
    if request.GET.get("format") == "csv":
        return _audit_csv(call, entries)
    paging = paginate(request, entries)
    rows = selectors.audit_rows(paging.rows)
    return render(
        request, "grants/staff/audit.html", {"call": call, "rows": rows, "form": trail.form, "paging": paging}
    )


def _audit_csv(call: Call, entries) -> StreamingHttpResponse:
    """UTF-8 with a BOM (Excel reads it as UTF-8), every cell spreadsheet-safe, streamed; the
    action by its label and the object by the name it had, never by codes."""
    writer = csv.writer(Echo())
    header = [_("When"), _("Who"), _("What happened"), _("Action"), _("Object"), _("IP address")]

    def rows():
        yield "\ufeff" + writer.writerow(header)
        for entry in entries.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    spreadsheet_safe(value)
                    for value in (
                        entry.created_at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S"),
                        entry.actor.email if entry.actor else "",
                        describe(entry),
                        action_label(entry.action),
                        entry.object_repr or object_words(object_kind(entry.object_type), f"#{entry.object_id}"),
                        entry.ip or "",
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{call.slug}.csv"'
    return response


@staff_only
def export_adoptions(request, slug, fmt):
    """The adoption list (採択一覧) for Excel: CSV (UTF-8 with BOM) streamed, or XLSX."""
    call = _call(slug)
    if fmt == "csv":
        response = StreamingHttpResponse(exports.stream_csv(call), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="adoptions-{call.slug}.csv"'
        return response
    if fmt == "xlsx":
        # openpyxl's write-only mode writes row by row to a temporary file: memory stays flat.
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it after sending
        exports.write_xlsx(call, handle)
        handle.seek(0)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"adoptions-{call.slug}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    raise Http404
