"""Reads of the applicant's side. Every applicant page fetches through these, so a member sees
only their own organisations' rows; anything else is "not found" (ids cannot be probed)."""

from django.db.models import IntegerField, Model, Prefetch, QuerySet, Value, prefetch_related_objects
from django.shortcuts import get_object_or_404

from accounts.models import User
from calls.models import Call
from kodoku_portal.audit import object_words
from kodoku_portal.limits import LimitedTextField

from .models import Application, Attachment, BudgetLine, MemberRole, Organisation, RefusedSave
from .rules import FETCHED_FOR


def application_mail_recipients(application: Application) -> list[str]:
    """Who is written to about an application (receipt, notices, reminders of the award): the
    organisation's contact address and the member who submitted it, each once, lower-cased."""
    addresses = [application.organisation.email]
    if application.submitted_by_id and application.submitted_by.email:
        addresses.append(application.submitted_by.email)
    return list(dict.fromkeys(address.lower() for address in addresses if address))


def organisations_of(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__user=user).select_related("applicant_type")


def organisation_for_member(user: User, pk: int) -> Organisation:
    return get_object_or_404(organisations_of(user), pk=pk)


def organisation_for_owner(user: User, pk: int) -> Organisation:
    return get_object_or_404(
        organisations_of(user).filter(memberships__user=user, memberships__role=MemberRole.OWNER), pk=pk
    )


def applications_of(user: User) -> QuerySet[Application]:
    """The applications of the user's organisations, each marked as found through a membership
    (rules.is_member then needs no query per row)."""
    return (
        Application.objects.filter(organisation__memberships__user=user)
        .select_related("call", "organisation__applicant_type", "theme")
        .annotate(**{FETCHED_FOR: Value(user.pk, output_field=IntegerField())})
    )


def long_texts(model: type[Model], prefix: str = "") -> list[str]:
    """The long text columns of ``model`` (LimitedTextField), which a list never shows: deferred."""
    return [f"{prefix}{field.name}" for field in model._meta.concrete_fields if isinstance(field, LimitedTextField)]


def applications_for_dashboard(user: User) -> QuerySet[Application]:
    """The applicant's list, without the long texts of the application and of its call (paged by
    kodoku_portal.paging)."""
    return (
        applications_of(user)
        .select_related("receipt", "award")
        .defer(*long_texts(Application), *long_texts(Call, "call__"))
        .order_by("-call__closes_at", "-created_at", "-id")
    )


def _page_relations() -> list[Prefetch]:
    """What the application's page shows besides the row: budget lines, attachments, unsaved input."""
    return [
        Prefetch("budget_lines", queryset=BudgetLine.objects.order_by("position", "id")),
        Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by")),
        Prefetch(
            "refused_saves",
            queryset=RefusedSave.objects.filter(dismissed_at__isnull=True).select_related("user"),
            to_attr="open_refused_saves",
        ),
    ]


def application_for_member(user: User, pk: int) -> Application:
    return get_object_or_404(applications_of(user).prefetch_related(*_page_relations()), pk=pk)


def application_to_save(user: User, pk: int) -> Application:
    """The application with its call, theme and organisation, in one query and nothing more: a save
    reads its budget lines itself, under the row lock (services.application_save_draft)."""
    return get_object_or_404(applications_of(user), pk=pk)


def with_page_relations(application: Application) -> Application:
    """Fetch what ``application_for_member`` would have prefetched (a refused form shown again)."""
    prefetch_related_objects([application], *_page_relations())
    return application


def attachment_for_member(user: User, application_pk: int, pk: int) -> Attachment:
    return get_object_or_404(
        Attachment.objects.filter(application__organisation__memberships__user=user, application_id=application_pk),
        pk=pk,
    )


def refused_save_for_member(user: User, application_pk: int, pk: int) -> RefusedSave:
    return get_object_or_404(
        RefusedSave.objects.filter(
            application__organisation__memberships__user=user, application_id=application_pk
        ).select_related("application__call", "user"),
        pk=pk,
    )


def audit_application_names(ids: list[str]) -> dict[str, str]:
    """Applications as the audit trail names them, in one query: 「申請 R7-0001（団体名）」."""
    kind = Application._meta.verbose_name
    rows = Application.objects.filter(pk__in=[int(pk) for pk in ids if pk.isdigit()]).values_list(
        "pk", "receipt_number", "title", "organisation__name"
    )
    return {
        str(pk): object_words(kind, receipt or title or f"#{pk}", organisation)
        for pk, receipt, title, organisation in rows
    }
