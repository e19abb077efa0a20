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


def _bars(rows: list[tuple[str, int]]) -> list[dict]:
    top = max((count for _label, count in rows), default=0) or 1
    return [{"label": label, "count": count, "percent": round(100 * count / top)} for label, count in rows]


def call_dashboard_charts(call: Call) -> dict[str, list[dict]]:
    """Counts of a call's applications by status, theme and prefecture (three grouped queries)."""
    from kodoku_portal.prefectures import prefecture_name

    applications = Application.objects.filter(call=call)
    by_status = dict(applications.values_list("status").annotate(n=Count("id")).order_by())
    by_theme = dict(
        applications.exclude(status=ApplicationStatus.DRAFT).values_list("theme").annotate(n=Count("id")).order_by()
    )
    by_prefecture = dict(
        applications.exclude(status=ApplicationStatus.DRAFT)
        .values_list("organisation__prefecture")
        .annotate(n=Count("id"))
        .order_by()
    )
    themes = list(call.themes.order_by("number"))
    return {
        "status": _bars([(status.label, by_status.get(status.value, 0)) for status in ApplicationStatus]),
        "theme": _bars([(str(theme), by_theme.get(theme.pk, 0)) for theme in themes]),
        "prefecture": _bars(
            sorted(((prefecture_name(code), n) for code, n in by_prefecture.items() if code), key=lambda r: -r[1])
        ),
    }
