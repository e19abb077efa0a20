"""The staff overview, the outbox and the reminder log, and the public list of adopted projects."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import STAFF_ROLES, role_required
from applications.models import ApplicationStatus
from calls.models import Call, CallState
from kodoku_portal import jobs, outbox
from kodoku_portal.models import JobStatus, OutboxStatus
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages
from reviews.selectors import flagged_application_ids, review_progress

from . import selectors


@role_required(*STAFF_ROLES)
def staff_dashboard(request):
    now = timezone.now()
    statuses = list(ApplicationStatus)
    rows = [
        (call, call.state_at(now), [(status, getattr(call, f"n_{status.value}")) for status in statuses])
        for call in selectors.calls_with_application_counts()
    ]
    return render(
        request,
        "staff/dashboard.html",
        {"rows": rows, "statuses": statuses, "CallState": CallState, "backlog": selectors.outbox_backlog()},
    )


@role_required(*STAFF_ROLES)
def staff_call_applications(request, slug):
    """A call's applications for staff, with the ones below the call's area rule flagged."""
    call = get_object_or_404(Call.objects.select_related("programme"), slug=slug)
    status = request.GET.get("status", "")
    if status not in ApplicationStatus.values:
        status = ""
    paging = paginate(request, selectors.applications_for_staff(call, status=status), sorts=selectors.STAFF_LIST_SORTS)
    return render(
        request,
        "staff/call_applications.html",
        {
            "call": call,
            "applications": paging.rows,
            "paging": paging,
            "status": status,
            "statuses": [choice for choice in ApplicationStatus.choices if choice[0] != ApplicationStatus.DRAFT],
            "state": call.state_at(timezone.now()),
            "CallState": CallState,
            "charts": selectors.call_dashboard_charts(call),
            "progress": review_progress(call),
            "flag_counts": flagged_application_ids(call),
        },
    )


@role_required(*STAFF_ROLES)
def staff_reminders(request):
    """What was sent, to whom, when, and what failed (the outbox's reminders, newest first, 50 a page)."""
    status = request.GET.get("status", "")
    paging = paginate(request, selectors.reminder_messages(status))
    return render(
        request,
        "staff/reminders.html",
        {
            "reminders": [(message, outbox.kind_label(message.kind)) for message in paging.rows],
            "paging": paging,
            "statuses": OutboxStatus.choices,
            "status": status,
            "OutboxStatus": OutboxStatus,
        },
    )


@role_required(*STAFF_ROLES)
def staff_outbox(request):
    """Every mail the portal owes or has sent: filter by status and kind, newest first, 50 a page."""
    status, kind = request.GET.get("status", ""), request.GET.get("kind", "")
    paging = paginate(request, selectors.outbox_messages(status=status, kind=kind))
    page = paging.page
    subjects = selectors.outbox_subject_labels(page.object_list)
    for message in page.object_list:
        message.kind_label = outbox.kind_label(message.kind)
        message.subject_label = subjects.get((message.subject_type, message.subject_id), "—")
    return render(
        request,
        "staff/outbox.html",
        {
            "page": page,
            "paging": paging,
            "status": status,
            "kind": kind,
            "statuses": OutboxStatus.choices,
            "kinds": selectors.outbox_kinds(),
            "OutboxStatus": OutboxStatus,
            "jobs": _open_jobs(),
            "JobStatus": JobStatus,
            "unopenable": selectors.unopenable_attachments(),
            "unsent": selectors.OUTBOX_UNSENT,
            "backlog": selectors.outbox_backlog(),
        },
    )


def _open_jobs():
    now = timezone.now()
    found = selectors.open_jobs()
    for job in found:
        job.kind_label = jobs.kind_label(job.kind)
        job.age_minutes = int((now - job.created_at).total_seconds() // 60)
    return found


def _back_to_outbox(request) -> str:
    """Back to the outbox page the button was on (its filters and page), never elsewhere."""
    back = request.POST.get("next", "")
    return back if back.startswith("/staff/outbox/") else "/staff/outbox/"


@require_POST
@role_required(*STAFF_ROLES)
@refusals_to_messages(lambda request, **kwargs: _back_to_outbox(request))
def staff_outbox_retry(request, pk):
    """Put a failed message back in the queue (sent again once this request commits)."""
    outbox.retry(pk)
    messages.success(request, _("The message will be sent again."))
    return redirect(_back_to_outbox(request))


@require_POST
@role_required(*STAFF_ROLES)
@refusals_to_messages(lambda request, **kwargs: _back_to_outbox(request))
def staff_job_retry(request, pk):
    """Run a failed background job (a virus check) again once this request commits."""
    jobs.retry(pk)
    messages.success(request, _("The job will be run again."))
    return redirect(_back_to_outbox(request))


def adopted_projects(request, slug):
    """The public list of a call's adopted projects, once staff have published it."""
    call = get_object_or_404(Call.objects.filter(published=True, adoptions_published_at__isnull=False), slug=slug)
    return render(request, "grants/adopted.html", {"call": call, "applications": selectors.adopted_for_public(call)})
