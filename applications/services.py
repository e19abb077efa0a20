"""Every state change of organisations and applications. Each function is one transaction and
the only writer of what it changes; views call these and nothing else.

An application's status changes only through ``kodoku_portal.workflow.change_state`` (the
transition table, the audit entry and the mails the change causes, in this transaction); a
refusal is a ``Refused`` whose code says why ("closed", "incomplete", "not_draft", …). The state
rules themselves live in applications/rules.py, the content rules in applications/checks.py.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from calls.form_builder import SchemaSectionForm, section_form
from calls.models import Call, FormSection
from calls.services import published_version
from calls.standard_form import PROJECT_SECTION_KEY
from kodoku_portal.jp import join_list
from kodoku_portal.normalise import local_government_corporate_number, normalise_local_government_code
from kodoku_portal.outbox import Mail, enqueue
from kodoku_portal.prefectures import is_prefecture_code
from kodoku_portal.workflow import Refused, change_state, record

from . import answers as answer_store
from . import scans
from .checks import (
    CORPORATE_NUMBER_UNEXPECTED,
    corporate_number_problem,
    is_eligible,
    unexpected_corporate_number_message,
)
from .documents import receipt_pdf
from .filetypes import validate_attachment
from .models import (
    Answer,
    Application,
    ApplicationStatus,
    Attachment,
    AttachmentKind,
    BudgetLine,
    Invitation,
    MemberRole,
    Membership,
    Organisation,
    Receipt,
    ReceiptCounter,
    RefusedSave,
    RefusedSaveReason,
)
from .rules import (
    call_refusal,
    can_manage_organisation,
    draft_refusal,
    is_member,
    submit_refusal,
    withdraw_refusal,
)
from .selectors import application_mail_recipients

INVITATION_DAYS = 14

# Outbox kinds of this app's mails; their builders are registered in ApplicationsConfig.ready.
RECEIPT_MAIL = "receipt"
INVITATION_MAIL = "invitation"


# --- organisations --------------------------------------------------------------------------


ORGANISATION_FIELDS = (
    "name",
    "name_kana",
    "applicant_type",
    "corporate_number",
    "local_government_code",
    "department",
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


def _check_organisation(values: dict[str, Any]) -> dict[str, Any]:
    """The profile as stored: a local government's prefecture and 法人番号 follow from its
    団体コード (which it must give); any other body may not give one."""
    applicant_type = values["applicant_type"]
    code = values.get("local_government_code") or ""
    if applicant_type.is_local_government:
        if not code:
            raise ValidationError(_("Enter the 6-digit local government code (団体コード)."))
        code = normalise_local_government_code(code)
        values = values | {
            "local_government_code": code,
            "prefecture": code[:2],
            "corporate_number": local_government_corporate_number(code),
        }
    elif code:
        raise ValidationError(_("Only a local government has a local government code (団体コード); leave it empty."))
    if not is_prefecture_code(values.get("prefecture", "")):
        raise ValidationError(_("Unknown prefecture code: %(code)s") % {"code": values.get("prefecture")})
    # A missing number is accepted here (profiles imported from published lists have none) and
    # asked for before submission; a number a body without legal personality cannot have is not.
    problem = corporate_number_problem(applicant_type, values.get("corporate_number") or "")
    if problem == CORPORATE_NUMBER_UNEXPECTED:
        raise ValidationError(unexpected_corporate_number_message())
    return values


@transaction.atomic
def organisation_create(*, owner: User | None = None, **values: object) -> Organisation:
    """Create an organisation; its creator (if given) becomes its owner."""
    unknown = set(values) - set(ORGANISATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organisation fields: {sorted(unknown)}")
    values = _check_organisation(values)
    organisation = Organisation.objects.create(**values)
    if owner is not None:
        Membership.objects.create(organisation=organisation, user=owner, role=MemberRole.OWNER)
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, **values: object) -> Organisation:
    unknown = set(values) - set(ORGANISATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown organisation fields: {sorted(unknown)}")
    merged = _check_organisation({field: getattr(organisation, field) for field in ORGANISATION_FIELDS} | values)
    for field in ORGANISATION_FIELDS:
        setattr(organisation, field, merged[field])
    organisation.save()
    return organisation


@transaction.atomic
def invitation_create(*, organisation: Organisation, email: str, role: MemberRole, invited_by: User) -> Invitation:
    """Invite a colleague by e-mail: the invitation and its mail (the outbox) are stored together."""
    if not can_manage_organisation(invited_by, organisation):
        raise Refused(_("Only the organisation's owners can invite colleagues."), code="not_owner")
    email = email.strip().lower()
    if organisation.memberships.filter(user__email__iexact=email).exists():
        raise Refused(_("%(email)s is already a member of this organisation.") % {"email": email}, code="member")
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        token=secrets.token_urlsafe(32),
        invited_by=invited_by,
        expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
    )
    enqueue(Mail(INVITATION_MAIL, invitation, invitation.email))
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the organisation, if the invitation is valid and was sent to this user's address."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",)).select_related("organisation").filter(token=token).first()
    )
    if invitation is None:
        raise Refused(_("This invitation link is not valid."), code="invalid")
    if invitation.accepted_at is not None:
        if invitation.accepted_by_id == user.pk:
            return Membership.objects.get(organisation=invitation.organisation, user=user)
        raise Refused(_("This invitation has already been used."), code="used")
    if invitation.expires_at <= timezone.now():
        raise Refused(_("This invitation has expired. Please ask for a new one."), code="expired")
    if not user.emailaddress_set.filter(email__iexact=invitation.email, verified=True).exists():
        raise Refused(
            _("This invitation was sent to %(email)s. Please log in with that address.") % {"email": invitation.email},
            code="wrong_user",
        )
    membership, _created = Membership.objects.get_or_create(
        organisation=invitation.organisation, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if _created:
        # Who may see and edit an organisation's applications is worth a line in the trail.
        record(
            invitation.organisation,
            by=user,
            action="member_joined",
            after={"member": user.email, "member_role": membership.role},
        )
    return membership


# --- applications ---------------------------------------------------------------------------


@transaction.atomic
def application_start(
    *, call: Call, organisation: Organisation, user: User, now: dt.datetime | None = None
) -> Application:
    """Open a draft for an organisation on a call that is open and admits its legal form."""
    refusal = call_refusal(call, now or timezone.now())
    if refusal is not None:
        raise refusal
    if not is_eligible(call, organisation):
        raise Refused(
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


# Fields of the draft that a save may change: the draft form shows exactly these (forms.py).
DRAFT_FIELDS = (
    "theme",
    "title",
    "summary",
    "area_nationwide",
    "area_prefectures",
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
    requested_amount: int | None = None  # the sum of the saved budget lines (a saved draft only)


class _SaveNotTaken(Exception):
    """The quick path found the draft changed, submitted or closed: the locking path says why."""


def application_save_draft(
    *,
    application_id: int,
    user: User,
    fields: dict[str, Any],
    budget_lines: list[BudgetLineInput] | None,
    base_version: int,
    raw: dict[str, Any],
    now: dt.datetime | None = None,
    current: Application | None = None,
) -> SaveOutcome:
    """Save a draft atomically, or keep what was typed as a RefusedSave and say why.

    Only the draft fields named in ``fields`` are written; ``budget_lines=None`` leaves the budget
    lines and the requested amount as they are (a save of a section without the budget).

    Refused when the application is no longer a draft, when the call has closed (server clock),
    or when another member saved a newer version since ``base_version`` (never a silent overwrite).

    Only what changed is written: the fields that differ from the stored ones, and the budget
    lines by difference (``_budget_lines_store``). ``current`` is the application as the caller
    has just read it (with its call), e.g. the view's membership check: when it is at
    ``base_version`` the save is one conditional UPDATE (``WHERE version = base_version AND
    status = draft``, which takes the row lock), the deadline judged by the clock read after it,
    then the budget lines read under that lock; when anything does not hold, that transaction is
    rolled back and the save goes the locking way below, which gives the reason.
    """
    if current is not None and current.pk == application_id and current.version == base_version:
        try:
            with transaction.atomic():
                return _save_unchanged_draft(current, user, fields, budget_lines, base_version, now)
        except _SaveNotTaken:
            pass
    with transaction.atomic():
        application = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application_id)
        now = now or timezone.now()  # read after the lock: the deadline is judged at the moment of saving
        refusal = draft_refusal(application, now)
        if refusal is not None:
            # The refusal codes are the reasons a save is kept aside ("not_draft", "closed").
            reason, message = RefusedSaveReason(refusal.code), refusal.message
        elif application.version != base_version:
            reason, message = RefusedSaveReason.CONFLICT, _conflict_message()
        else:
            reason = None
        if reason is not None:
            refused = _keep_refused(application, user, reason, base_version, raw)
            return SaveOutcome(False, application.version, reason, message, refused)

        changes = _draft_changes(application, fields, budget_lines)
        for name, value in changes.items():
            setattr(application, name, value)
        application.version += 1
        application.updated_by = user
        application.save(update_fields=[*changes, "version", "updated_by", "updated_at"])
        if budget_lines is not None:
            _budget_lines_store(application.pk, budget_lines)
        return SaveOutcome(True, application.version, requested_amount=application.requested_amount)


def _conflict_message() -> str:
    return _(
        "Another member saved this application after you opened it. Your text was not "
        "saved over theirs: compare both versions and choose what to keep."
    )


def _keep_refused(
    application: Application, user: User | None, reason: str, base_version: int, raw: dict[str, Any]
) -> RefusedSave:
    """Keep what was typed in a save that was refused. Further refused saves from the same page
    update the same record, so the member finds the latest text in one place."""
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
        return RefusedSave.objects.create(
            application=application, user=user, reason=reason, based_on_version=base_version, data=raw
        )
    refused.data = raw
    refused.save(update_fields=["data"])
    return refused


def _draft_changes(stored: Application, fields: dict[str, Any], budget_lines: list[BudgetLineInput] | None) -> dict:
    """The draft fields (and the requested amount, when the budget lines are given) whose new
    value differs from the stored one. A draft field not in ``fields`` is left as it is."""
    changes: dict[str, Any] = {}
    for name in DRAFT_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name == "theme":
            if (value.pk if value is not None else None) != stored.theme_id:
                changes[name] = value
        elif value != getattr(stored, name):
            changes[name] = value
    if budget_lines is None:
        return changes
    amount = sum(line.quantity * line.unit_price for line in budget_lines)
    if amount != stored.requested_amount:
        changes["requested_amount"] = amount
    return changes


def _save_unchanged_draft(
    current: Application,
    user: User,
    fields: dict[str, Any],
    budget_lines: list[BudgetLineInput] | None,
    base_version: int,
    now: dt.datetime | None,
) -> SaveOutcome:
    """The quick path of ``application_save_draft`` (inside its transaction); raises
    ``_SaveNotTaken`` to roll back when the draft moved on, was submitted or the call closed."""
    changes = _draft_changes(current, fields, budget_lines)
    updated = Application.objects.filter(pk=current.pk, version=base_version, status=ApplicationStatus.DRAFT).update(
        **changes, version=F("version") + 1, updated_by=user, updated_at=timezone.now()
    )
    now = now or timezone.now()  # read after the row lock the UPDATE took, as on the locking path
    if updated != 1 or call_refusal(current.call, now) is not None:
        raise _SaveNotTaken
    if budget_lines is not None:
        _budget_lines_store(current.pk, budget_lines)
    amount = changes.get("requested_amount", current.requested_amount)
    return SaveOutcome(True, base_version + 1, requested_amount=amount)


def _budget_lines_store(application_id: int, lines: list[BudgetLineInput]) -> None:
    """Make the stored budget lines equal to ``lines`` (in this order), writing only the rows that
    change: a stored line with the same content is kept (its position updated if it moved), a
    changed line rewrites a stored row, extra rows are deleted, missing ones inserted. At most one
    query per kind of write, after one read (under the application's row lock)."""
    stored = list(BudgetLine.objects.filter(application_id=application_id).order_by("position", "id"))

    def content(line: BudgetLine | BudgetLineInput) -> tuple:
        return (line.category, line.description, line.quantity, line.unit_price)

    free: dict[tuple, list[BudgetLine]] = {}
    for row in stored:
        free.setdefault(content(row), []).append(row)
    changed: list[BudgetLine] = []
    unmatched: list[tuple[int, BudgetLineInput]] = []
    for position, line in enumerate(lines):
        same = free.get(content(line))
        if not same:
            unmatched.append((position, line))
            continue
        row = next((r for r in same if r.position == position), same[0])
        same.remove(row)
        if row.position != position:
            row.position = position
            changed.append(row)
    spare = sorted((row for rows in free.values() for row in rows), key=lambda r: (r.position, r.id))
    created: list[BudgetLine] = []
    for index, (position, line) in enumerate(unmatched):
        values = {
            "position": position,
            "category": line.category,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount": line.quantity * line.unit_price,
        }
        if index < len(spare):
            row = spare[index]
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
        else:
            created.append(BudgetLine(application_id=application_id, **values))
    removed = [row.pk for row in spare[len(unmatched) :]]
    if removed:
        BudgetLine.objects.filter(pk__in=removed).delete()
    if changed:
        BudgetLine.objects.bulk_update(
            changed, ["position", "category", "description", "quantity", "unit_price", "amount"]
        )
    if created:
        BudgetLine.objects.bulk_create(created)


# --- answers to a call's application form (issue 16; applications/answers.py) ----------------------


@dataclass
class AnswersOutcome:
    """``saved``: the section's answers were stored (``version``: the application's version now);
    else ``refused`` keeps what was typed (another member saved first, the call closed, no longer
    a draft: ``reason`` and ``message`` say which) or, when it is None, ``form`` carries the errors.
    Nothing is written but the kept text. ``attached``: the files a save uploaded into file slots
    (``answers_attach_file``)."""

    saved: bool
    form: SchemaSectionForm | None
    version: int = 0
    reason: str = ""
    message: str = ""
    refused: RefusedSave | None = None
    attached: tuple[Attachment, ...] = ()


def _lock_draft_of_member(application: Application, user: User | None, now: dt.datetime | None) -> Application:
    """The permission first (a member of the organisation; ``None``: the system), then the row
    lock and the refusals of ``application_save_draft`` (no longer a draft, the call closed)."""
    if user is not None and not is_member(user, application):
        raise Refused(_("You are not a member of this organisation."), code="forbidden")
    locked = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application.pk)
    refusal = draft_refusal(locked, now or timezone.now())  # the clock after the lock, as for a draft save
    if refusal is not None:
        raise refusal
    return locked


@transaction.atomic
def answers_save(
    application: Application,
    section: FormSection,
    data: dict[str, Any],
    *,
    by: User | None,
    base_version: int | None = None,
    raw: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AnswersOutcome:
    """Validate and store the answers of one section of the call's form (posted ``data``, the form's
    prefix ``schema``). Only this section's shown fields are written: other sections' answers, and
    the stored answer of a field hidden by its condition, stay as they are. A section of another
    version than the application's is refused. The first save fixes the application's version.

    As a draft save (``application_save_draft``): ``base_version`` is the application's version
    the page was opened on (None: the system, which checks none). A save that changes an answer
    raises the application's version; one based on an older version (another member saved since),
    or made when the call has closed or the application is no longer a draft, is not written:
    ``raw`` (what was typed) is kept as a ``RefusedSave`` to compare and copy from. Not being a
    member is refused outright."""
    if by is not None and not is_member(by, application):
        raise Refused(_("You are not a member of this organisation."), code="forbidden")
    locked = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application.pk)
    refusal = draft_refusal(locked, now or timezone.now())  # the clock after the lock, as for a draft save
    if refusal is not None or (base_version is not None and locked.version != base_version):
        if base_version is None:
            raise refusal
        reason = RefusedSaveReason(refusal.code) if refusal is not None else RefusedSaveReason.CONFLICT
        message = refusal.message if refusal is not None else _conflict_message()
        kept = _keep_refused(locked, by, reason, base_version, {**(raw or {}), "schema_section": [section.key]})
        return AnswersOutcome(False, None, locked.version, reason, message, kept)
    version = answer_store.version_for(locked)
    if version is None or section.version_id != version.pk:
        raise Refused(_("This part of the form belongs to another version of the form."), code="other_version")
    stored = {answer.field_key: answer for answer in answer_store.answers_of(locked)}
    form = answer_store.section_form_for(locked, version, section, data=data, answers=stored.values(), drafting=True)
    if not form.is_valid():
        return AnswersOutcome(False, form, locked.version)
    kinds = {item.key: item.kind for item in form.items}
    created, changed = [], []
    for key, value in form.answers_to_save().items():
        answer = stored.get(key)
        if answer is None:
            if value in (None, "", [], ()):
                continue
            answer = Answer(application=locked, field_key=key, form_version=version, updated_by=by)
            answer_store.write_value(answer, kinds[key], value)
            created.append(answer)
            continue
        before = (answer.text, answer.number, answer.date, answer.choices, answer.attachment_id, answer.form_version_id)
        answer_store.write_value(answer, kinds[key], value)
        answer.form_version = version
        after = (answer.text, answer.number, answer.date, answer.choices, answer.attachment_id, answer.form_version_id)
        if before != after:
            answer.updated_by = by
            answer.updated_at = timezone.now()
            changed.append(answer)
    if created:
        Answer.objects.bulk_create(created)
    if changed:
        Answer.objects.bulk_update(
            changed, ["text", "number", "date", "choices", "attachment", "form_version", "updated_by", "updated_at"]
        )
    if locked.form_version_id is None or created or changed:
        locked.form_version = version
        locked.updated_by = by
        fields = ["form_version", "updated_by", "updated_at"]
        if created or changed:
            locked.version += 1
            fields.append("version")
        locked.save(update_fields=fields)
    return AnswersOutcome(True, form, locked.version)


def project_answers_save(
    application: Application, texts: dict[str, str], *, by: User | None, now: dt.datetime | None = None
) -> AnswersOutcome:
    """Answer the project questions (事業の内容, calls/standard_form.py) of the application's form
    version at once, key → text (the demo data, imports, tests); validated and stored by
    ``answers_save``. Refused when the version has no such section."""
    version = answer_store.version_for(application)
    section = version.sections.filter(key=PROJECT_SECTION_KEY).first() if version is not None else None
    if section is None:
        raise Refused(_("This call's form does not ask the project questions."), code="no_form")
    data = {f"schema-{key}": text for key, text in texts.items()}
    return answers_save(application, section, data, by=by, now=now)


def _uploads_of(files: Any, name: str) -> list:
    return files.getlist(name) if hasattr(files, "getlist") else [files[name]]


@transaction.atomic
def answers_attach_file(
    application: Application,
    section: FormSection,
    data: Any,
    files: Any,
    *,
    by: User | None,
    base_version: int,
    raw: dict[str, Any],
    now: dt.datetime | None = None,
) -> AnswersOutcome:
    """Save one section of the call's form with files uploaded into its file slots, in one
    transaction. ``files`` are the request's files (a slot's upload is ``schema-<key>-upload``,
    ``calls.form_builder.FileSlotField``); ``data``, ``by``, ``base_version`` and ``raw`` are as
    for ``answers_save``.

    Each upload into a slot shown in this section passes the attachments page's checks (its type
    judged by content, the size limit: ``filetypes.validate_attachment``) and is stored as that
    page stores it (``attachment_add``, kind "other": its virus scan is queued); the slot's answer
    then points at it, and the section's other answers are saved by ``answers_save`` with it.
    Refused as ``answers_save`` refuses: not a member raises; the call closed, no longer a draft,
    or another member saved since ``base_version`` keeps what was typed (with the names of the
    files) as a ``RefusedSave``. A file refused by the checks, or an error in another field,
    stores nothing: no file and no answer (``form`` carries the errors)."""
    if by is not None and not is_member(by, application):
        raise Refused(_("You are not a member of this organisation."), code="forbidden")
    locked = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application.pk)
    refusal = draft_refusal(locked, now or timezone.now())  # the clock after the lock, as for a draft save
    if refusal is not None or locked.version != base_version:
        reason = RefusedSaveReason(refusal.code) if refusal is not None else RefusedSaveReason.CONFLICT
        message = refusal.message if refusal is not None else _conflict_message()
        names = {name: [upload.name for upload in _uploads_of(files, name)] for name in files}
        kept = _keep_refused(locked, by, reason, base_version, {**raw, **names, "schema_section": [section.key]})
        return AnswersOutcome(False, None, locked.version, reason, message, kept)
    version = answer_store.version_for(locked)
    if version is None or section.version_id != version.pk:
        raise Refused(_("This part of the form belongs to another version of the form."), code="other_version")
    stored = answer_store.answers_of(locked)
    form = section_form(
        version,
        section,
        values=answer_store.stored_values(version, stored),
        data=data,
        files=files,
        file_choices=answer_store.file_choices(locked),
        drafting=True,
    )
    if not form.is_valid():
        return AnswersOutcome(False, form, locked.version)
    uploads = {key: value for key, value in form.answers_to_save().items() if isinstance(value, UploadedFile)}
    file_types = {}
    for key, upload in uploads.items():
        try:
            file_types[key] = validate_attachment(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES)
        except ValidationError as error:
            form.add_error(key, error)
    if not form.is_valid():
        return AnswersOutcome(False, form, locked.version)
    posted = data.copy()  # a QueryDict's copy may be changed; the slot now names the stored file
    attached = []
    for key, upload in uploads.items():
        attachment = attachment_add(
            application=locked, kind=AttachmentKind.OTHER, upload=upload, file_type=file_types[key], user=by
        )
        attached.append(attachment)
        posted[form.add_prefix(key)] = str(attachment.pk)
    outcome = answers_save(locked, section, posted, by=by, base_version=base_version, raw=raw, now=now)
    if not outcome.saved:  # not expected: the same checks passed above, under the same lock
        transaction.set_rollback(True)
        for attachment in attached:
            attachment.file.delete(save=False)
        return outcome
    outcome.attached = tuple(attached)
    return outcome


@transaction.atomic
def form_version_move(
    application: Application, *, by: User | None, now: dt.datetime | None = None
) -> answer_store.VersionChange:
    """Move a draft to the call's newest published form version and say what changed (fields
    added, removed, changed). No answer is deleted or rewritten: an answer the new version cannot
    show (its field removed, or changed beyond it) is kept and listed in ``earlier``."""
    locked = _lock_draft_of_member(application, by, now)
    newest = published_version(locked.call)
    if newest is None:
        raise Refused(_("This call has no published application form."), code="no_form")
    old = answer_store.version_with_fields(locked.form_version_id) if locked.form_version_id else None
    new = answer_store.version_with_fields(newest.pk)
    change = answer_store.version_changes(old, new)
    if old is not None and old.pk == new.pk:
        return change
    locked.form_version = new
    locked.updated_by = by
    locked.save(update_fields=["form_version", "updated_by", "updated_at"])
    record(
        locked,
        by=by,
        action="form_version_moved",
        before={"form_version": old.number if old else None},
        after={
            "form_version": new.number,
            "added": [item.key for item in change.added],
            "removed": [item.key for item in change.removed],
            "changed": [item.key for item in change.changed],
        },
        call_id=locked.call_id,
    )
    change.earlier = answer_store.earlier_answers(new, answer_store.answers_of(locked))
    return change


@transaction.atomic
def refused_save_dismiss(*, refused: RefusedSave) -> None:
    refused.dismissed_at = timezone.now()
    refused.save(update_fields=["dismissed_at"])


def _lock_draft(application_id: int) -> Application:
    """The application, row-locked, if its draft may still be changed now; else the refusal."""
    locked = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application_id)
    refusal = draft_refusal(locked, timezone.now())
    if refusal is not None:
        raise refusal
    return locked


@transaction.atomic
def attachment_add(
    *, application: Application, kind: str, upload: UploadedFile, file_type: str, user: User
) -> Attachment:
    """Attach a file whose type was checked by content (see applications/filetypes.py)."""
    locked = _lock_draft(application.pk)
    attachment = Attachment(
        application=locked,
        kind=kind,
        original_name=upload.name[:200],
        file_type=file_type,
        size=upload.size,
        uploaded_by=user,
        scan_status=scans.initial_status(),
    )
    attachment.file.save("upload", upload, save=False)
    attachment.save()
    scans.schedule(attachment)  # the virus scan, run by a worker after commit (applications/scans.py)
    record(
        locked,
        by=user,
        action="attachment_added",
        after={"original_name": attachment.original_name},
        call_id=locked.call_id,
    )
    return attachment


@transaction.atomic
def attachment_remove(*, attachment: Attachment, by: User | None) -> None:
    """Remove a draft's attachment (the file goes once the transaction has committed)."""
    locked = _lock_draft(attachment.application_id)
    stored = attachment.file
    name = attachment.original_name
    attachment.delete()
    record(locked, by=by, action="attachment_removed", before={"original_name": name}, call_id=locked.call_id)
    transaction.on_commit(lambda: stored.delete(save=False))


def _next_receipt_number(call: Call) -> str:
    """PREFIX-0001, PREFIX-0002, … per call; the counter row is locked until commit."""
    counter = ReceiptCounter.objects.select_for_update().filter(call=call).first()
    if counter is None:  # the call's first submission
        counter, _created = ReceiptCounter.objects.get_or_create(call=call)
        counter = ReceiptCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{call.receipt_prefix}-{counter.last:04d}"


def _receipt_mails(application: Application, user: User | None) -> list[Mail]:
    """One receipt mail per address (the outbox sends each once; see mails.py for its content)."""
    submitter_email = (getattr(user, "email", "") or "").lower()
    return [
        Mail(RECEIPT_MAIL, application, address, recipient=user if address == submitter_email else None)
        for address in application_mail_recipients(application)
    ]


@transaction.atomic
def application_submit(*, application_id: int, user: User, now: dt.datetime | None = None) -> Application:
    """Submit inside the call's window by the server clock; give a receipt number; queue the
    receipt mails (the PDF is rendered when they are sent).

    A second submission of the same application (a double click) returns the first one unchanged.
    """
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("call", "organisation__applicant_type", "theme")
        .get(pk=application_id)
    )
    now = now or timezone.now()
    if application.status == ApplicationStatus.SUBMITTED:
        return application
    refusal = submit_refusal(application, now)
    if refusal is not None:
        raise refusal
    application.receipt_number = _next_receipt_number(application.call)
    application.submitted_at = now
    application.submitted_by = user
    application.updated_by = user
    # A submission is shown under the form version it was submitted with, even when no answer of
    # that form was ever saved (every field optional or hidden): never under a later one.
    if application.form_version_id is None:
        application.form_version = answer_store.version_for(application)
    change_state(
        application,
        ApplicationStatus.SUBMITTED,
        by=user,
        action="application_submitted",
        update_fields=["receipt_number", "submitted_at", "submitted_by", "updated_by", "form_version"],
        after={"receipt_number": application.receipt_number},
        mails=_receipt_mails(application, user),
    )
    Receipt.objects.get_or_create(application=application)
    return application


@transaction.atomic
def application_withdraw(*, application_id: int, user: User, now: dt.datetime | None = None) -> Application:
    """Withdraw a submitted application; only before the deadline."""
    application = Application.objects.select_for_update(of=("self",)).select_related("call").get(pk=application_id)
    now = now or timezone.now()
    if application.status == ApplicationStatus.WITHDRAWN:
        return application
    refusal = withdraw_refusal(application, now)
    if refusal is not None:
        raise refusal
    application.withdrawn_at = now
    application.updated_by = user
    change_state(
        application,
        ApplicationStatus.WITHDRAWN,
        by=user,
        action="application_withdrawn",
        update_fields=["withdrawn_at", "updated_by"],
    )
    return application


@transaction.atomic
def application_import_decided(
    *,
    call: Call,
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

    It is given a receipt number like any submission and passes through the same transitions
    (draft → submitted → the outcome), each audited as done by the system.
    """
    for code in area_prefectures:
        if not is_prefecture_code(code):
            raise ValidationError(_("Unknown prefecture code: %(code)s") % {"code": code})
    application = Application(
        call=call,
        organisation=organisation,
        title=title,
        summary=summary,
        area_prefectures=area_prefectures,
        area_nationwide=area_nationwide,
        area_description=area_description,
        note=note,
        receipt_number=_next_receipt_number(call),
        submitted_at=submitted_at,
    )
    change_state(
        application,
        ApplicationStatus.SUBMITTED,
        by=None,
        action="application_imported",
        after={"receipt_number": application.receipt_number},
    )
    change_state(application, outcome, by=None, action="application_imported_outcome")
    return application


@transaction.atomic
def application_disclose_decision(*, application_id: int, at: dt.datetime) -> None:
    """The organisation has been told the decision (its notice was e-mailed at ``at``): from now
    on it sees it (rules.can_see_decision). Called by grants when the notice mail is sent; a second
    call changes nothing, so a repeated delivery is harmless."""
    application = Application.objects.select_for_update(of=("self",)).get(pk=application_id)
    if application.decision_disclosed_at is not None:
        return
    application.decision_disclosed_at = at
    application.save(update_fields=["decision_disclosed_at", "updated_at"])
    record(
        application,
        by=None,
        action="application_decision_disclosed",
        before={"decision_disclosed_at": None},
        after={"decision_disclosed_at": at.isoformat()},
    )


# --- receipts (受付票) -------------------------------------------------------------------------


def receipt_render(*, application_id: int) -> Receipt:
    """Render the receipt PDF once and keep it (the receipt page and every receipt mail use it); a
    later call finds it made and does nothing. Rendering takes a while, so it happens outside any
    transaction or lock; if another worker stored one meanwhile, that one is kept."""
    receipt = Receipt.objects.select_related("application").get(application_id=application_id)
    if receipt.pdf:
        return receipt
    pdf = receipt_pdf(receipt.application)
    with transaction.atomic():
        receipt = (
            Receipt.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(application_id=application_id)
        )
        if not receipt.pdf:
            receipt.pdf.save(f"{receipt.application.receipt_number}.pdf", ContentFile(pdf), save=False)
            receipt.generated_at = timezone.now()
            receipt.save(update_fields=["pdf", "generated_at"])
        return receipt
        pdf = receipt_pdf(receipt.application)
        receipt.pdf.save(f"{receipt.application.receipt_number}.pdf", ContentFile(pdf), save=False)
        receipt.generated_at = timezone.now()
        receipt.save(update_fields=["pdf", "generated_at"])
        return receipt
