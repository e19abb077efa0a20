"""The staff overview, the reminder log and the public list of adopted projects."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.permissions import STAFF_ROLES, role_required
from applications.models import ApplicationStatus
from calls.models import Call, CallState
from reviews.selectors import review_progress

from . import selectors
from .models import Reminder, ReminderStatus


@role_required(*STAFF_ROLES)
def staff_dashboard(request):
    now = timezone.now()
    statuses = list(ApplicationStatus)
    rows = [
        (call, call.state_at(now), [getattr(call, f"n_{status.value}") for status in statuses])
        for call in selectors.calls_with_application_counts()
    ]
    return render(request, "staff/dashboard.html", {"rows": rows, "statuses": statuses, "CallState": CallState})


@role_required(*STAFF_ROLES)
def staff_call_applications(request, slug):
    """A call's applications for staff, with the ones below the call's area rule flagged."""
    call = get_object_or_404(Call.objects.select_related("programme"), slug=slug)
    applications = selectors.applications_for_staff(call)
    return render(
        request,
        "staff/call_applications.html",
        {
            "call": call,
            "applications": applications,
            "state": call.state_at(timezone.now()),
            "CallState": CallState,
            "charts": selectors.call_dashboard_charts(call),
            "progress": review_progress(call),
        },
    )


@role_required(*STAFF_ROLES)
def staff_reminders(request):
    """What was sent, to whom, when, and what failed (the newest 500 reminders)."""
    status = request.GET.get("status", "")
    reminders = Reminder.objects.select_related("recipient").order_by("-created_at", "-id")
    if status in ReminderStatus.values:
        reminders = reminders.filter(status=status)
    return render(
        request,
        "staff/reminders.html",
        {"reminders": reminders[:500], "statuses": ReminderStatus.choices, "status": status},
    )


def adopted_projects(request, slug):
    """The public list of a call's adopted projects, once staff have published it."""
    call = get_object_or_404(Call.objects.filter(published=True, adoptions_published_at__isnull=False), slug=slug)
    return render(request, "grants/adopted.html", {"call": call, "applications": selectors.adopted_for_public(call)})
