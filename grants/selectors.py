"""Reads of programmes and calls that pages share, with their joins."""

from django.db.models import Count, Prefetch, Q, QuerySet

from applications.models import Application, ApplicationStatus

from .models import Call, Theme


def calls_for_public_list() -> QuerySet[Call]:
    return Call.objects.filter(published=True).select_related("programme").order_by("is_practice", "-closes_at", "id")


def call_for_public_page(slug: str) -> QuerySet[Call]:
    return (
        Call.objects.filter(published=True, slug=slug)
        .select_related("programme")
        .prefetch_related("eligible_types", Prefetch("themes", queryset=Theme.objects.order_by("number")))
    )


def calls_with_application_counts() -> QuerySet[Call]:
    """Every call with its applications counted by status (one query)."""
    counts = {
        f"n_{status.value}": Count("applications", filter=Q(applications__status=status))
        for status in ApplicationStatus
    }
    return (
        Call.objects.select_related("programme")
        .annotate(n_total=Count("applications"), **counts)
        .order_by("is_practice", "-closes_at", "id")
    )


def applications_for_staff(call: Call) -> QuerySet[Application]:
    """A call's applications past the draft stage, with what the staff list shows (one query)."""
    return (
        Application.objects.filter(call=call)
        .exclude(status=ApplicationStatus.DRAFT)
        .select_related("call", "organisation__applicant_type", "theme")
        .order_by("receipt_number")
    )
