"""Reads that the staff and decision pages share, with their joins."""

from django.db.models import Count, Q, QuerySet

from applications.models import Application, ApplicationStatus
from calls.models import Call


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


def decidable_applications(call: Call) -> QuerySet[Application]:
    """What staff decide on: submitted and already decided applications (not drafts or withdrawn)."""
    return (
        Application.objects.filter(call=call)
        .exclude(status__in=[ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN])
        .select_related("decision", "notice")
    )


def budget_summary(call: Call) -> dict:
    from .services import committed_amount

    committed = committed_amount(call)
    budget = call.budget_total
    return {
        "budget": budget,
        "committed": committed,
        "left": None if budget is None else budget - committed,
        "percent": round(100 * committed / budget) if budget else None,
    }


def budget_left(call: Call) -> int | None:
    return budget_summary(call)["left"]


def proposal_candidates(rows, *, calibrate: bool):
    """Undecided or reserve applications with a score, as candidates of the adoption proposal."""
    from .services import Candidate

    eligible = {ApplicationStatus.SUBMITTED, ApplicationStatus.RESERVE}
    return [
        Candidate(
            row.application.pk,
            (row.calibrated if calibrate else row.score) or 0.0,
            row.application.requested_amount,
            row.application.theme_id,
            row.application.organisation.prefecture,
        )
        for row in rows
        if row.rank is not None and row.application.status in eligible
    ]


def notices_of(call: Call):
    from .models import Notice

    return (
        Notice.objects.filter(application__call=call)
        .select_related("application__organisation")
        .order_by("document_number")
    )


def notice_progress(call: Call) -> dict:
    from .models import Notice

    notices = Notice.objects.filter(application__call=call)
    counts = notices.aggregate(
        total=Count("id"),
        sent=Count("id", filter=Q(emailed_at__isnull=False)),
        failed=Count("id", filter=Q(emailed_at__isnull=True, attempts__gt=0)),
    )
    counts["percent"] = round(100 * counts["sent"] / counts["total"]) if counts["total"] else 0
    return counts


def awards_for_board():
    from .models import Award

    return Award.objects.select_related(
        "application__organisation", "application__call", "application__decision"
    ).order_by("application__call", "application__receipt_number")


def audit_entries(call: Call):
    from kodoku_portal.models import AuditEntry

    from .models import Award

    application_ids = [str(pk) for pk in Application.objects.filter(call=call).values_list("pk", flat=True)]
    award_ids = [str(pk) for pk in Award.objects.filter(application__call=call).values_list("pk", flat=True)]
    return AuditEntry.objects.filter(
        Q(object_type="applications.Application", object_id__in=application_ids)
        | Q(object_type="grants.Award", object_id__in=award_ids)
        # Entries written before the call models moved to ``calls`` name them ``grants.Call``.
        | Q(object_type__in=("calls.Call", "grants.Call"), object_id=str(call.pk))
    ).select_related("actor")[:500]


def adopted_for_public(call: Call) -> QuerySet[Application]:
    return (
        Application.objects.filter(call=call, status=ApplicationStatus.ADOPTED)
        .select_related("organisation", "theme")
        .order_by("receipt_number")
    )
