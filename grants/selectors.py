"""Reads that the staff and decision pages share, with their joins."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.apps import apps
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from applications.models import Application, ApplicationStatus, Attachment, BudgetLine, RefusedSave
from calls.models import Call, CallState
from kodoku_portal import audit, outbox
from kodoku_portal.audit import object_words
from kodoku_portal.jp import JST
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from kodoku_portal.prefectures import prefecture_name
from reviews.models import Assignment, ConflictDeclaration, Score
from reviews.selectors import RankingRow

from .forms import AuditFilter
from .models import (
    Award,
    AwardStatus,
    DecisionWindowOverride,
    Letter,
    Notice,
    NoticesSentOutside,
    ReminderKind,
    Report,
    ReportKind,
    ReportStatus,
)
from .services import NOTICE_MAIL, Candidate, committed_amount, outside_notice_candidates

# Outbox messages that are, or will be, sent (a cancelled one is not counted).
LIVE_STATUSES = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT, OutboxStatus.FAILED)


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


STAFF_LIST_COLUMNS = (
    "id",
    "call_id",
    "call__area_rule",
    "organisation_id",
    "organisation__name",
    "organisation__prefecture",
    "title",
    "area_prefectures",
    "area_nationwide",
    "area_description",
    "area_reason",
    "requested_amount",
    "status",
    "receipt_number",
)
# The staff list's sorts (paged by kodoku_portal.paging; indexes in applications' Meta.indexes).
STAFF_LIST_SORTS = {
    "receipt": ("receipt_number", "id"),
    "amount": ("requested_amount", "id"),
    "status": ("status", "receipt_number", "id"),
}


def applications_for_staff(call: Call, *, status: str = "") -> QuerySet[Application]:
    """A call's applications past the draft stage, with only the columns the staff list shows
    (one query per page; ``status`` filters)."""
    found = Application.objects.filter(call=call).exclude(status=ApplicationStatus.DRAFT)
    if status:
        found = found.filter(status=status)
    return found.select_related("call", "organisation").only(*STAFF_LIST_COLUMNS).order_by("receipt_number", "id")


def _bars(rows: list[tuple[str, int]]) -> list[dict]:
    top = max((count for _label, count in rows), default=0) or 1
    return [{"label": label, "count": count, "percent": round(100 * count / top)} for label, count in rows]


def call_dashboard_charts(call: Call) -> dict[str, list[dict]]:
    """Counts of a call's applications by status, theme and prefecture (three grouped queries)."""
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


def proposal_candidates(rows: list[RankingRow], *, calibrate: bool) -> list[Candidate]:
    """Undecided or reserve applications with a score, as candidates of the adoption proposal."""
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


def _notice_messages() -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(kind=NOTICE_MAIL, subject_type=Notice._meta.label)


def _count_of(messages: QuerySet[OutboxMessage]) -> Coalesce:
    """How many of ``messages`` are about the notice of the outer query (a correlated subquery)."""
    counted = (
        messages.filter(subject_id=OuterRef("pk")).order_by().values("subject_id").annotate(n=Count("id")).values("n")
    )
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), Value(0))


@dataclass(frozen=True)
class DecisionWindow:
    """Whether a call's decisions may be recorded yet: once it has closed, or earlier when staff
    allowed it with a reason (``override``)."""

    state: CallState
    override: DecisionWindowOverride | None

    @property
    def waiting(self) -> bool:
        return self.state != CallState.CLOSED and self.override is None

    @property
    def early(self) -> bool:
        return self.state != CallState.CLOSED and self.override is not None


def decision_window(call: Call) -> DecisionWindow:
    override = DecisionWindowOverride.objects.select_related("allowed_by").filter(call=call).first()
    return DecisionWindow(state=call.state, override=override)


def notices_sent_outside(call: Call) -> list[NoticesSentOutside]:
    """What staff recorded of notices sent outside the portal, with the applications each covers."""
    return list(
        NoticesSentOutside.objects.filter(call=call)
        .select_related("recorded_by")
        .prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.select_related("organisation").order_by("receipt_number"),
            )
        )
        .order_by("recorded_at", "id")
    )


def outside_notice_waiting(call: Call) -> int:
    """How many decided applications have no notice and are not recorded as told outside the portal."""
    return outside_notice_candidates(call).count()


def notices_of(call: Call) -> QuerySet[Notice]:
    """The call's notices with how their mails stand (``n_unsent``: mails not sent yet,
    ``n_failed``, ``last_error`` of the newest failed one)."""
    messages = _notice_messages()
    failed = messages.filter(status=OutboxStatus.FAILED)
    return (
        Notice.objects.filter(application__call=call)
        .select_related("application__organisation")
        .annotate(
            n_unsent=_count_of(
                messages.filter(status__in=(OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED))
            ),
            n_failed=_count_of(failed),
            last_error=Subquery(
                failed.filter(subject_id=OuterRef("pk")).order_by("-created_at", "-id").values("last_error")[:1]
            ),
        )
        .order_by("document_number")
    )


def notice_progress(call: Call) -> dict:
    """The notice mails of the call in the outbox: how many, sent, failed (for the progress bar).
    All the call's notices count: sending again puts the unsent ones in a new batch, and the bar
    shows the whole call's progress, the mails sent by earlier batches included."""
    counts = (
        _notice_messages()
        .filter(call_id=call.pk, status__in=LIVE_STATUSES)
        .aggregate(
            total=Count("id"),
            sent=Count("id", filter=Q(status=OutboxStatus.SENT)),
            failed=Count("id", filter=Q(status=OutboxStatus.FAILED)),
        )
    )
    counts["percent"] = round(100 * counts["sent"] / counts["total"]) if counts["total"] else 0
    return counts


# The steps at which the organisation acts next (the others wait on programme staff).
ORGANISATION_ACTS = frozenset({AwardStatus.ADOPTED, AwardStatus.GRANTED, AwardStatus.REFUND_ORDERED})
FINISHED = frozenset({AwardStatus.CLOSED, AwardStatus.DECLINED})


def overdue_awards(today: dt.date) -> Q:
    """Awards past a date they are due by, while they still wait on it: the 交付申請, an open
    report (the progress report only until it is filed), or the refund."""
    live_progress = Report.objects.filter(award=OuterRef("pk"), kind=ReportKind.PROGRESS).exclude(
        status=ReportStatus.RETURNED
    )
    return (
        Q(status=AwardStatus.ADOPTED, grant_application_due__lt=today, application__call__grant_application_step=True)
        | Q(status=AwardStatus.GRANTED, final_report_due__lt=today)
        | (
            Q(status=AwardStatus.GRANTED, progress_report_due__lt=today)
            & Q(application__call__progress_report_step=True)
            & ~Exists(live_progress)
        )
        | Q(status=AwardStatus.REFUND_ORDERED, refund__due_on__lt=today, refund__received_on__isnull=True)
    )


def awards_for_board(
    *, call: Call | None = None, step: str = "", overdue: bool = False, today: dt.date | None = None
) -> QuerySet[Award]:
    """The awards board: every award with what its row shows (one query), filtered by the call,
    the step it waits on, or only the overdue ones; ``is_overdue`` is annotated on each."""
    today = today or timezone.now().astimezone(JST).date()
    awards = (
        Award.objects.select_related("application__organisation", "application__call", "application__decision")
        .select_related("refund")
        .annotate(is_overdue=ExpressionWrapper(overdue_awards(today), output_field=BooleanField()))
        .order_by("application__call", "application__receipt_number")
    )
    if call is not None:
        awards = awards.filter(application__call=call)
    if step in AwardStatus.values:
        awards = awards.filter(status=step)
    elif step == "open":
        awards = awards.exclude(status__in=FINISHED)
    if overdue:
        awards = awards.filter(overdue_awards(today))
    return awards


def award_step_counts() -> dict[str, int]:
    """How many awards wait at each step (for the board's filter)."""
    rows = Award.objects.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def audit_trail(call: Call, params: Mapping[str, str] | None = None) -> AuditFilter:
    """The call's audit trail filtered by ``params`` (the query string): the filter (its form for
    the page) whose ``.qs`` is every entry to show, newest first. A page shows a slice of that
    queryset and names its objects with :func:`audit_rows`."""
    return AuditFilter(params or None, queryset=audit_entries(call))


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    sentence: str
    changes: list


def audit_rows(entries: QuerySet[AuditEntry]) -> list[AuditRow]:
    """Entries as the audit page shows them: the sentence, with each object named in words (one
    query per kind of object), and the values before and after."""
    entries = list(entries)
    names = audit.object_names(entries)
    return [AuditRow(entry, audit.describe(entry, names), audit.describe_changes(entry)) for entry in entries]


def audit_entries(call: Call) -> QuerySet[AuditEntry]:
    """The call's audit trail, newest first: every entry that carries the call (decisions, notices,
    awards, assignments, reviews …), and older entries written before entries carried a call,
    found by their object as before."""
    # Subqueries, not lists of ids: at 10,000 applications a list of ids costs a round trip and a
    # 10,000-parameter IN (issue 14); object_id is text, so the ids are cast.
    application_ids = Application.objects.filter(call=call).annotate(key=Cast("pk", CharField())).values("key")
    award_ids = Award.objects.filter(application__call=call).annotate(key=Cast("pk", CharField())).values("key")
    older = (
        Q(object_type="applications.Application", object_id__in=application_ids)
        | Q(object_type="grants.Award", object_id__in=award_ids)
        # Entries written before the call models moved to ``calls`` name them ``grants.Call``.
        | Q(object_type__in=("calls.Call", "grants.Call"), object_id=str(call.pk))
    )
    return (
        AuditEntry.objects.filter(Q(call_id=call.pk) | (Q(call_id__isnull=True) & older))
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


def reminder_messages(status: str = "") -> QuerySet[OutboxMessage]:
    """The outbox messages of the reminder kinds, newest first (the staff reminder log)."""
    messages = OutboxMessage.objects.filter(kind__in=ReminderKind.values).only(*OUTBOX_LIST_COLUMNS)
    if status in OutboxStatus.values:
        messages = messages.filter(status=status)
    return messages.order_by("-created_at", "-id")


# What the outbox and reminder lists show (not the context, which can be long).
OUTBOX_LIST_COLUMNS = (
    "id",
    "kind",
    "subject_type",
    "subject_id",
    "to_email",
    "slot",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
)


def outbox_messages(*, status: str = "", kind: str = "") -> QuerySet[OutboxMessage]:
    """Every outbox message, newest first, filtered by status and kind when given."""
    messages = OutboxMessage.objects.only(*OUTBOX_LIST_COLUMNS)
    if status in OutboxStatus.values:
        messages = messages.filter(status=status)
    if kind:
        messages = messages.filter(kind=kind)
    return messages.order_by("-created_at", "-id")


# Mails the portal still owes: waiting for a worker, being sent, or failed and waiting to be retried.
OUTBOX_UNSENT = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED)


def outbox_backlog() -> dict:
    """How many mails are still owed and since when the oldest has waited (one query): what staff
    watch when the broker or a worker is down (issue 13)."""
    return OutboxMessage.objects.filter(status__in=OUTBOX_UNSENT).aggregate(count=Count("id"), oldest=Min("created_at"))


def outbox_kinds() -> list[tuple[str, str]]:
    """The kinds of message in the outbox, with what the staff pages call them."""
    kinds = OutboxMessage.objects.order_by("kind").values_list("kind", flat=True).distinct()
    return [(kind, outbox.kind_label(kind)) for kind in kinds]


def outbox_subject_labels(messages: list[OutboxMessage]) -> dict[tuple[str, int], str]:
    """How staff read what each message is about (a receipt number, a document number, a person),
    one query per kind of subject on the page, not one per row."""
    by_type: dict[str, set[int]] = {}
    for message in messages:
        by_type.setdefault(message.subject_type, set()).add(message.subject_id)
    labels = {}
    for subject_type, ids in by_type.items():
        try:
            model = apps.get_model(subject_type)
        except (LookupError, ValueError):
            continue
        for obj in model._default_manager.filter(pk__in=ids):
            labels[(subject_type, obj.pk)] = str(getattr(obj, "audit_label", None) or obj)
    return labels


def adopted_for_public(call: Call) -> QuerySet[Application]:
    """The published list: the adopted projects, less those their organisations declined (辞退)."""
    return (
        Application.objects.filter(call=call, status=ApplicationStatus.ADOPTED)
        .exclude(award__status=AwardStatus.DECLINED)
        .select_related("organisation", "theme")
        .order_by("receipt_number")
    )


# --- the staff page of one application (grants/application_views.py) -----------------------------


def application_for_staff(pk: int) -> Application:
    """One application with everything its staff page shows, in a fixed number of queries however
    many budget lines, attachments, reviews, scores or letters it has; 404 for a draft (a draft is
    the organisation's own until it is submitted)."""
    assignments = (
        Assignment.objects.select_related("reviewer", "review", "assigned_by")
        .prefetch_related(
            Prefetch("review__scores", queryset=Score.objects.select_related("criterion").order_by("criterion__order"))
        )
        .order_by("reviewer__full_name", "reviewer__email", "id")
    )
    queryset = (
        Application.objects.exclude(status=ApplicationStatus.DRAFT)
        .select_related(
            "call__programme",
            "organisation__applicant_type",
            "theme",
            "submitted_by",
            "updated_by",
            "receipt",
            "decision__decided_by",
            "notice",
            "award",
        )
        .prefetch_related(
            Prefetch("budget_lines", queryset=BudgetLine.objects.order_by("position", "id")),
            Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by")),
            Prefetch("assignments", queryset=assignments),
            Prefetch("refused_saves", queryset=RefusedSave.objects.select_related("user").order_by("created_at")),
            Prefetch("letters", queryset=Letter.objects.order_by("issued_on", "id")),
        )
    )
    return get_object_or_404(queryset, pk=pk)


def conflicts_declared(application: Application) -> list:
    """Conflicts of interest declared with the application's organisation beforehand (one query);
    the assignments returned for a conflict are among the application's assignments."""
    return list(
        ConflictDeclaration.objects.filter(organisation_id=application.organisation_id)
        .select_related("reviewer")
        .order_by("declared_at", "id")
    )


# --- f-csp: background jobs and virus checks on the staff outbox page ----------------------------


def open_jobs(limit: int = 50) -> list:
    """Background jobs not yet done (queued, running, failed), oldest first: what is waiting."""
    from kodoku_portal.models import Job, JobStatus

    return list(Job.objects.exclude(status=JobStatus.DONE).order_by("created_at", "pk")[:limit])


def unopenable_attachments(limit: int = 100) -> list:
    """Uploaded files whose virus check failed or quarantined them — applications' attachments and
    the award's files (evidence, documents of 交付申請, changes and reports), newest first, each with
    ``owner_application`` (its application, with call and organisation): three queries."""
    from applications.models import Attachment, ScanStatus

    from .models import AwardDocument, Evidence

    unopenable = (ScanStatus.ERROR, ScanStatus.QUARANTINED)
    rows = []
    for queryset, path in (
        (Attachment.objects, "application"),
        (AwardDocument.objects, "award__application"),
        (Evidence.objects, "cost__report__award__application"),
    ):
        found = (
            queryset.filter(scan_status__in=unopenable)
            .select_related(f"{path}__call", f"{path}__organisation")
            .order_by("-uploaded_at", "-pk")[:limit]
        )
        for stored in found:
            owner = stored
            for step in path.split("__"):
                owner = getattr(owner, step)
            stored.owner_application = owner
            rows.append(stored)
    rows.sort(key=lambda stored: stored.uploaded_at, reverse=True)
    return rows[:limit]


def audit_award_names(ids: list[str]) -> dict[str, str]:
    """Awards as the audit trail names them, in one query: 「採択事業 R7-0001（団体名）」."""
    kind = Award._meta.verbose_name
    rows = Award.objects.filter(pk__in=[int(pk) for pk in ids if pk.isdigit()]).values_list(
        "pk", "application__receipt_number", "application_id", "application__organisation__name"
    )
    return {
        str(pk): object_words(kind, receipt or f"#{application_id}", organisation)
        for pk, receipt, application_id, organisation in rows
    }
