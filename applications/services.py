"""Every state change of organisations and applications. Each function is one transaction and
the only writer of what it changes; views call these and nothing else."""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calls.models import Call, CallState
from kodoku_portal.jp import format_datetime, join_list
from kodoku_portal.prefectures import is_prefecture_code

from .checks import application_problems
from .models import (
    Application,
    ApplicationStatus,
    Attachment,
    BudgetLine,
    Invitation,
    MemberRole,
    Membership,
    Organisation,
    Receipt,
    ReceiptCounter,
    RefusedSave,
    RefusedSaveReason,
    can_transition,
)

INVITATION_DAYS = 14


class ApplicationRefused(Exception):
    """A state change the rules do not allow; ``messages`` are shown to the user as they are."""

    def __init__(self, *messages: str, code: str = "refused"):
        super().__init__(" ".join(messages))
        self.messages = list(messages)
        self.code = code


# --- organisations --------------------------------------------------------------------------


ORGANISATION_FIELDS = (
    "name",
    "name_kana",
    "applicant_type",
    "corporate_number",
    "postal_code",
    "prefecture",
    "address",
    "representative_title",
    "representative_name",
    "founded_on",
    "staff_count",
    "volunteer_count",
    "annual_budget",
    "contact_name",
    "phone",
    "email",
    "website",
)


def _check_organisation(values: dict) -> None:
    if not is_prefecture_code(values.get("prefecture", "")):
        raise ValidationError(_("Unknown prefecture code: %(code)s") % {"code": values.get("prefecture")})
    applicant_type = values["applicant_type"]
    if not applicant_type.has_corporate_number and values.get("corporate_number"):
        raise ValidationError(_("An unincorporated association has no corporate number; leave it empty."))


@transaction.atomic
def organisation_create(*, owner=None, **values) -> Organisation:
    """Create an organisation; its creator (if given) becomes its owner."""
    unknown = set(values) - set(ORGANISATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organisation fields: {sorted(unknown)}")
    _check_organisation(values)
    organisation = Organisation.objects.create(**values)
    if owner is not None:
        Membership.objects.create(organisation=organisation, user=owner, role=MemberRole.OWNER)
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, **values) -> Organisation:
    unknown = set(values) - set(ORGANISATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organisation fields: {sorted(unknown)}")
    merged = {field: getattr(organisation, field) for field in ORGANISATION_FIELDS} | values
    _check_organisation(merged)
    for field, value in values.items():
        setattr(organisation, field, value)
    organisation.save()
    return organisation


@transaction.atomic
def invitation_create(*, organisation: Organisation, email: str, role: MemberRole, invited_by) -> Invitation:
    """Invite a colleague by e-mail; the mail is sent by a task once the invitation is stored."""
    from .tasks import send_invitation

    email = email.strip().lower()
    if organisation.memberships.filter(user__email__iexact=email).exists():
        raise ApplicationRefused(_("%(email)s is already a member of this organisation.") % {"email": email})
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        token=secrets.token_urlsafe(32),
        invited_by=invited_by,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    transaction.on_commit(lambda: send_invitation.delay(invitation_id=invitation.pk))
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Join the organisation, if the invitation is valid and was sent to this user's address."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",)).select_related("organisation").filter(token=token).first()
    )
    if invitation is None:
        raise ApplicationRefused(_("This invitation link is not valid."), code="invalid")
    if invitation.accepted_at is not None:
        if invitation.accepted_by_id == user.pk:
            return Membership.objects.get(organisation=invitation.organisation, user=user)
        raise ApplicationRefused(_("This invitation has already been used."), code="used")
    if invitation.expires_at <= timezone.now():
        raise ApplicationRefused(_("This invitation has expired. Please ask for a new one."), code="expired")
    if not user.emailaddress_set.filter(email__iexact=invitation.email, verified=True).exists():
        raise ApplicationRefused(
            _("This invitation was sent to %(email)s. Please log in with that address.") % {"email": invitation.email},
            code="wrong_user",
        )
    membership, _created = Membership.objects.get_or_create(
        organisation=invitation.organisation, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


# --- applications ---------------------------------------------------------------------------


def _closed_message(call: Call) -> str:
    if call.closes_at:
        return _("The call closed at %(deadline)s (JST). Applications can no longer be changed or submitted.") % {
            "deadline": format_datetime(call.closes_at)
        }
    return _("This call is not accepting applications.")


@transaction.atomic
def application_start(*, call: Call, organisation: Organisation, user, now: dt.datetime | None = None) -> Application:
    """Open a draft for an organisation on a call that is open and admits its legal form."""
    now = now or timezone.now()
    if call.state_at(now) != CallState.OPEN:
        raise ApplicationRefused(_closed_message(call), code="closed")
    if not call.eligible_types.filter(pk=organisation.applicant_type_id).exists():
        raise ApplicationRefused(
            _("This call is not open to %(type)s. Eligible: %(types)s.")
            % {
                "type": organisation.applicant_type,
                "types": join_list(call.eligible_types.all()),
            },
            code="ineligible",
        )
    existing = (
        Application.objects.filter(call=call, organisation=organisation)
        .exclude(status=ApplicationStatus.WITHDRAWN)
        .first()
    )
    if existing is not None:
        return existing
    return Application.objects.create(call=call, organisation=organisation, created_by=user, updated_by=user)


# Fields of the draft form that a save may change.
DRAFT_FIELDS = (
    "theme",
    "title",
    "summary",
    "purpose",
    "target_people",
    "activities",
    "structure",
    "partners",
    "expected_results",
    "schedule",
    "area_prefectures",
    "area_nationwide",
    "area_reason",
    "period_start",
    "period_end",
)


@dataclass(frozen=True)
class BudgetLineInput:
    category: str
    description: str
    quantity: int
    unit_price: int


@dataclass
class SaveOutcome:
    saved: bool
    version: int
    reason: str = ""
    message: str = ""
    refused: RefusedSave | None = None


def application_save_draft(
    *,
    application_id: int,
    user,
    fields: dict,
    budget_lines: list[BudgetLineInput],
    base_version: int,
    raw: dict,
    now: dt.datetime | None = None,
) -> SaveOutcome:
    """Save a draft atomically, or keep what was typed as a RefusedSave and say why.

    Refused when the application is no longer a draft, when the call has closed (server clock),
    or when another member saved a newer version since ``base_version`` (never a silent overwrite).
    """
    with transaction.atomic():
        application = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application_id)
        now = now or timezone.now()  # read after the lock: the deadline is judged at the moment of saving
        if application.status != ApplicationStatus.DRAFT:
            reason, message = RefusedSaveReason.NOT_DRAFT, _("This application has been submitted and is read-only.")
        elif application.call.state_at(now) != CallState.OPEN:
            reason, message = RefusedSaveReason.CLOSED, _closed_message(application.call)
        elif application.version != base_version:
            reason, message = (
                RefusedSaveReason.CONFLICT,
                _(
                    "Another member saved this application after you opened it. Your text was not "
                    "saved over theirs: compare both versions and choose what to keep."
                ),
            )
        else:
            reason = None
        if reason is not None:
            # Keep what was typed. Further refused saves from the same page update the same record,
            # so the member finds the latest text in one place.
            refused = (
                RefusedSave.objects.filter(
                    application=application,
                    user=user,
                    reason=reason,
                    based_on_version=base_version,
                    dismissed_at__isnull=True,
                )
                .order_by("-created_at")
                .first()
            )
            if refused is None:
                refused = RefusedSave.objects.create(
                    application=application, user=user, reason=reason, based_on_version=base_version, data=raw
                )
            else:
                refused.data = raw
                refused.save(update_fields=["data"])
            return SaveOutcome(False, application.version, reason, message, refused)

        for field in DRAFT_FIELDS:
            if field in fields:
                setattr(application, field, fields[field])
        application.budget_lines.all().delete()
        lines = [
            BudgetLine(
                application=application,
                position=position,
                category=line.category,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.quantity * line.unit_price,
            )
            for position, line in enumerate(budget_lines)
        ]
        BudgetLine.objects.bulk_create(lines)
        application.requested_amount = sum(line.amount for line in lines)
        application.version += 1
        application.updated_by = user
        application.save()
        return SaveOutcome(True, application.version)


@transaction.atomic
def refused_save_dismiss(*, refused: RefusedSave) -> None:
    refused.dismissed_at = timezone.now()
    refused.save(update_fields=["dismissed_at"])


@transaction.atomic
def attachment_add(*, application: Application, kind: str, upload, file_type: str, user) -> Attachment:
    """Attach a file whose type was checked by content (see applications/filetypes.py)."""
    locked = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application.pk)
    if locked.status != ApplicationStatus.DRAFT:
        raise ApplicationRefused(_("This application has been submitted and is read-only."), code="not_draft")
    if locked.call.state_at(timezone.now()) != CallState.OPEN:
        raise ApplicationRefused(_closed_message(locked.call), code="closed")
    attachment = Attachment(
        application=locked,
        kind=kind,
        original_name=upload.name[:200],
        file_type=file_type,
        size=upload.size,
        uploaded_by=user,
    )
    attachment.file.save("upload", upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def attachment_remove(*, attachment: Attachment) -> None:
    locked = (
        Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=attachment.application_id)
    )
    if locked.status != ApplicationStatus.DRAFT:
        raise ApplicationRefused(_("This application has been submitted and is read-only."), code="not_draft")
    if locked.call.state_at(timezone.now()) != CallState.OPEN:
        raise ApplicationRefused(_closed_message(locked.call), code="closed")
    stored = attachment.file
    attachment.delete()
    transaction.on_commit(lambda: stored.delete(save=False))


def _next_receipt_number(call) -> str:
    """PREFIX-0001, PREFIX-0002, … per call; the counter row is locked until commit."""
    counter, _created = ReceiptCounter.objects.get_or_create(call=call)
    counter = ReceiptCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{call.receipt_prefix}-{counter.last:04d}"


def _transition(application: Application, target: ApplicationStatus) -> None:
    if not can_transition(application.status, target):
        raise ApplicationRefused(
            _("An application that is %(current)s cannot become %(target)s.")
            % {"current": application.get_status_display(), "target": target.label},
            code="transition",
        )
    application.status = target


def application_submit(*, application_id: int, user, now: dt.datetime | None = None) -> Application:
    """Submit inside the call's window by the server clock; give a receipt number; make the receipt.

    A second submission of the same application (a double click) returns the first one unchanged.
    """
    from .tasks import issue_receipt

    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("call", "organisation__applicant_type", "theme")
            .get(pk=application_id)
        )
        now = now or timezone.now()
        if application.status == ApplicationStatus.SUBMITTED:
            return application
        if application.call.state_at(now) != CallState.OPEN:
            raise ApplicationRefused(_closed_message(application.call), code="closed")
        problems = application_problems(application)
        if problems:
            raise ApplicationRefused(*[problem.message for problem in problems], code="incomplete")
        _transition(application, ApplicationStatus.SUBMITTED)
        application.receipt_number = _next_receipt_number(application.call)
        application.submitted_at = now
        application.submitted_by = user
        application.save()
        Receipt.objects.get_or_create(application=application)
        transaction.on_commit(lambda: issue_receipt.delay(application_id=application.pk))
        return application


@transaction.atomic
def application_withdraw(*, application_id: int, user, now: dt.datetime | None = None) -> Application:
    """Withdraw a submitted application; only before the deadline."""
    application = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application_id)
    now = now or timezone.now()
    if application.status == ApplicationStatus.WITHDRAWN:
        return application
    if application.call.state_at(now) != CallState.OPEN:
        raise ApplicationRefused(_closed_message(application.call), code="closed")
    _transition(application, ApplicationStatus.WITHDRAWN)
    application.withdrawn_at = now
    application.updated_by = user
    application.save()
    return application


@transaction.atomic
def application_import_decided(
    *,
    call,
    organisation: Organisation,
    title: str,
    summary: str,
    area_prefectures: list[str],
    area_nationwide: bool,
    area_description: str = "",
    note: str = "",
    submitted_at: dt.datetime | None,
    outcome: ApplicationStatus,
) -> Application:
    """Record an application of a past round with its outcome (e.g. a published adoption list).

    It is given a receipt number like any submission and passes through the same transitions.
    """
    for code in area_prefectures:
        if not is_prefecture_code(code):
            raise ValidationError(_("Unknown prefecture code: %(code)s") % {"code": code})
    application = Application.objects.create(
        call=call,
        organisation=organisation,
        title=title,
        summary=summary,
        area_prefectures=area_prefectures,
        area_nationwide=area_nationwide,
        area_description=area_description,
        note=note,
    )
    _transition(application, ApplicationStatus.SUBMITTED)
    _transition(application, outcome)
    application.receipt_number = _next_receipt_number(call)
    application.submitted_at = submitted_at
    application.save()
    return application


# --- receipts (受付票) -------------------------------------------------------------------------


def receipt_render(*, application_id: int) -> Receipt:
    """Render the receipt PDF once; a later call finds it made and does nothing."""
    from django.core.files.base import ContentFile

    from .documents import receipt_pdf

    with transaction.atomic():
        receipt = (
            Receipt.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(application_id=application_id)
        )
        if receipt.pdf:
            return receipt
        pdf = receipt_pdf(receipt.application)
        receipt.pdf.save(f"{receipt.application.receipt_number}.pdf", ContentFile(pdf), save=False)
        receipt.generated_at = timezone.now()
        receipt.save(update_fields=["pdf", "generated_at"])
        return receipt


def receipt_send(*, application_id: int) -> Receipt:
    """E-mail the receipt once. The row stays locked while sending, so two workers cannot both send."""
    from .documents import receipt_email

    with transaction.atomic():
        receipt = (
            Receipt.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(application_id=application_id)
        )
        if receipt.emailed_at is not None:
            return receipt
        receipt.attempts += 1
        receipt_email(receipt).send()
        receipt.emailed_at = timezone.now()
        receipt.last_error = ""
        receipt.save(update_fields=["emailed_at", "attempts", "last_error"])
        return receipt


@transaction.atomic
def receipt_record_failure(*, application_id: int, error: str) -> None:
    """Keep the failed attempt visible to staff (the attempt's own transaction was rolled back)."""
    Receipt.objects.filter(application_id=application_id).update(
        last_error=error[:2000], attempts=models.F("attempts") + 1
    )
