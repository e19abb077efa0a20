"""Retention (公文書管理法): how long a record is kept, and the anonymisation of the personal data
in the records whose period has passed (``manage.py retention``).

When a project ended (``project_ended_on``), per application:

- with an award: when the award is closed (``closed``: the latest of the project's end or its
  中止・廃止, 額の確定, the cancellation, the refund received and the last payment) or declined
  (辞退: the day it was declined); an award at any other step has not ended;
- without an award: withdrawn (取下げ) → the day withdrawn; not adopted → the day the decision
  was disclosed; on the reserve list → the day the reserve list was closed (補欠解除通知書);
  a draft never submitted → the day the call closed; submitted and undecided → not ended.

The period (``kept_until``): the programme's ``retention_years`` counted from 1 April after the
fiscal year (4/1–3/31) in which the project ended, e.g. ended 2026-02-28 (FY2025), 5 years →
kept until 2031-03-31; from 2031-04-01 it is past.

What anonymisation changes (``ANONYMISED_FIELDS``, nothing else): in past records, the
responsible person and bank account of the grant application (交付申請) (name, phone, e-mail,
account number, account holder), unsaved input (``RefusedSave.data``), and the mails' addresses
and contexts; an organisation's representative, contact person, phone, e-mail and address once
*all* its applications are past (its name, prefecture, corporate number and the public record —
titles, amounts, the published adopted list — stay); its invitations' e-mail addresses; applicant
accounts whose every membership is in such organisations (deactivated, name and e-mail replaced,
password made unusable; never deleted); and in the audit entries about those records only the
personal columns: the IP address, personal keys and erased values inside before/after, and the
object's label where it holds an erased value (the entries, their actors, actions and times stay).

Kept as they are: reviewers' and staff's names (records of the office's own work), review
comments and scores, project descriptions and reports, and the stored files (letters, notices,
receipts, attachments, evidence): they are the documents themselves, whose disposal (廃棄) or
transfer to the National Archives (移管) at the end of the period is the records manager's
decision, not automated here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from applications.models import Application, ApplicationStatus, Invitation, Membership, Organisation, RefusedSave
from kodoku_portal.append_only import PERSONAL_COLUMNS, retention
from kodoku_portal.jp import JST
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.workflow import record

from .dossier import dossier_applications, owners_of
from .models import AwardStatus, GrantApplication, LetterKind

REDACTED = "[anonymised]"
ANONYMISED_FIELDS: dict[str, tuple[str, ...]] = {
    "grants.GrantApplication": (
        "responsible_name",
        "responsible_phone",
        "responsible_email",
        "account_number",
        "account_holder_kana",
    ),
    "applications.RefusedSave": ("data",),
    "applications.Organisation": ("representative_name", "contact_name", "phone", "email", "address", "postal_code"),
    "applications.Invitation": ("email",),
    "accounts.User": ("email", "full_name", "is_active", "password"),
    "account.EmailAddress": ("email", "verified"),
    "kodoku_portal.OutboxMessage": ("to_email", "context"),
    "kodoku_portal.AuditEntry": PERSONAL_COLUMNS,  # the only columns the audit's triggers let change
}
# Keys inside an audit entry's before/after whose values are personal.
PERSONAL_KEYS = frozenset(
    {
        *ANONYMISED_FIELDS["grants.GrantApplication"],
        *ANONYMISED_FIELDS["applications.Organisation"],
        "full_name",
        "to_email",
        "contact",
        "name",
    }
)
MIN_ERASED_LENGTH = 3  # shorter values are not searched for inside other text


def kept_until(ended_on: dt.date, years: int) -> dt.date:
    """The last day a record is kept: 31 March, ``years`` after the fiscal year it ended in."""
    fiscal_year_ends = ended_on.year + (1 if ended_on.month >= 4 else 0)
    return dt.date(fiscal_year_ends + years, 3, 31)


def _day(moment) -> dt.date | None:
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        return moment.astimezone(JST).date()
    return moment


def project_ended_on(application: Application) -> dt.date | None:
    """When the project (or the application, for one never adopted) ended; None while it runs."""
    award = getattr(application, "award", None)
    if award is not None:
        if award.status == AwardStatus.DECLINED:
            return _day(award.declined_at) or award.cancelled_on or award.project_end
        if award.status != AwardStatus.CLOSED:
            return None
        refund = getattr(award, "refund", None)
        days = [
            award.project_end,
            award.abolished_on,
            award.confirmed_on,
            award.cancelled_on,
            refund.received_on if refund is not None else None,
            *(payment.paid_on for payment in award.payments.all()),
        ]
        days = [day for day in days if day is not None]
        return max(days) if days else None
    status = application.status
    if status == ApplicationStatus.WITHDRAWN:
        return _day(application.withdrawn_at)
    if status == ApplicationStatus.NOT_ADOPTED:
        return _day(application.decision_disclosed_at)
    if status == ApplicationStatus.RESERVE:
        closed = [letter.issued_on for letter in application.letters.all() if letter.kind == LetterKind.RESERVE_CLOSED]
        return max(closed) if closed else None
    if status == ApplicationStatus.DRAFT:
        return _day(application.call.closes_at)
    return None


@dataclass
class Standing:
    application: Application
    ended_on: dt.date | None
    kept_until: dt.date | None

    def past(self, today: dt.date) -> bool:
        return self.kept_until is not None and today > self.kept_until


def standings() -> list[Standing]:
    """Every application with when its project ended and until when it is kept."""
    rows = []
    for application in dossier_applications(submitted_only=False).order_by("call_id", "receipt_number", "pk"):
        ended = project_ended_on(application)
        years = application.call.programme.retention_years
        rows.append(Standing(application, ended, kept_until(ended, years) if ended else None))
    return rows


def past(today: dt.date | None = None) -> list[Standing]:
    today = today or timezone.now().astimezone(JST).date()
    return [standing for standing in standings() if standing.past(today)]


# --- anonymisation -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a run changed: rows per model label, per call."""

    by_call: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, call_id: int, label: str, n: int = 1) -> None:
        if n:
            self.by_call[call_id][label] += n

    @property
    def total(self) -> Counter:
        total: Counter = Counter()
        for counts in self.by_call.values():
            total.update(counts)
        return total


def _set(obj, values: dict, erased: set[str]) -> bool:
    """Give ``obj`` these values; save only what differs; remember the old strings as erased."""
    changed = []
    for name, value in values.items():
        old = getattr(obj, name)
        if old != value:
            if isinstance(old, str) and len(old) >= MIN_ERASED_LENGTH:
                erased.add(old)
            setattr(obj, name, value)
            changed.append(name)
    if changed:
        type(obj).objects.filter(pk=obj.pk).update(**{name: getattr(obj, name) for name in changed})
    return bool(changed)


def _redact(value, erased: list[str], key: str | None = None):
    if isinstance(value, dict):
        return {k: _redact(v, erased, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, erased) for v in value]
    if isinstance(value, str):
        if key in PERSONAL_KEYS and value not in ("", REDACTED):
            return REDACTED
        for old in erased:
            if old in value:
                value = value.replace(old, REDACTED)
    return value


def anonymise(today: dt.date | None = None) -> Outcome:
    """Anonymise the personal data of every record past its period (see the module docstring).

    One transaction; running it again changes nothing more. Each call whose records changed gets
    an audit entry ``retention_anonymised`` with the number of rows changed per model."""
    outcome = Outcome()
    with transaction.atomic(), retention(connection):
        records = [standing.application for standing in past(today)]
        if not records:
            return outcome
        erased: set[str] = set()
        ids = {application.pk for application in records}
        awards = [application.award for application in records if getattr(application, "award", None) is not None]
        call_of_award = {award.pk: award.application.call_id for award in awards}
        for filing in GrantApplication.objects.filter(award__in=awards):
            blank = dict.fromkeys(ANONYMISED_FIELDS["grants.GrantApplication"], "")
            if _set(filing, blank, erased):
                outcome.add(call_of_award[filing.award_id], "grants.GrantApplication")
        for saved in RefusedSave.objects.filter(application_id__in=ids).select_related("application"):
            if _set(saved, {"data": {}}, erased):
                outcome.add(saved.application.call_id, "applications.RefusedSave")
        # Organisations all of whose applications are past.
        call_of_organisation = {application.organisation_id: application.call_id for application in records}
        live = set(
            Application.objects.filter(organisation_id__in=call_of_organisation)
            .exclude(pk__in=ids)
            .values_list("organisation_id", flat=True)
        )
        organisations = [pk for pk in call_of_organisation if pk not in live]
        for organisation in Organisation.objects.filter(pk__in=organisations):
            blank = dict.fromkeys(ANONYMISED_FIELDS["applications.Organisation"], "")
            if _set(organisation, blank, erased):
                outcome.add(call_of_organisation[organisation.pk], "applications.Organisation")
        invitations = list(Invitation.objects.filter(organisation_id__in=organisations))
        for invitation in invitations:
            if _set(invitation, {"email": f"invitation{invitation.pk}@anonymised.invalid"}, erased):
                outcome.add(call_of_organisation[invitation.organisation_id], "applications.Invitation")
        # Applicant accounts that belong only to those organisations.
        users = list(
            User.objects.filter(role=Role.APPLICANT, memberships__organisation_id__in=organisations)
            .exclude(memberships__in=_memberships_elsewhere(organisations))
            .prefetch_related("memberships")
            .distinct()
        )
        for user in users:
            call_id = call_of_organisation[user.memberships.all()[0].organisation_id]
            values = {"email": f"user{user.pk}@anonymised.invalid", "full_name": "", "is_active": False}
            if user.has_usable_password():
                values["password"] = "!anonymised"
            if _set(user, values, erased):
                outcome.add(call_id, "accounts.User")
            # Each address row its own value: (user, email) is unique in allauth's table.
            for address in EmailAddress.objects.filter(user=user).order_by("pk"):
                email = user.email if address.primary else f"address{address.pk}@anonymised.invalid"
                if _set(address, {"email": email, "verified": False}, erased):
                    outcome.add(call_id, "account.EmailAddress")
        # Mails and audit entries about those records.
        owners = owners_of(records)
        call_of_application = {application.pk: application.call_id for application in records}
        about: dict[tuple[str, str], int] = {key: call_of_application[pk] for key, pk in owners.items()}
        for pk in organisations:
            about[("applications.Organisation", str(pk))] = call_of_organisation[pk]
        for invitation in invitations:
            about[("applications.Invitation", str(invitation.pk))] = call_of_organisation[invitation.organisation_id]
        call_of_user = {user.pk: call_of_organisation[user.memberships.all()[0].organisation_id] for user in users}
        for user in users:
            about[("accounts.User", str(user.pk))] = call_of_user[user.pk]
        subjects = _about_query(about)
        for message in OutboxMessage.objects.filter(subjects.mails | Q(recipient__in=users)):
            key = (message.subject_type, str(message.subject_id))
            call_id = about.get(key) or call_of_user.get(message.recipient_id) or message.call_id
            values = {"to_email": f"message{message.pk}@anonymised.invalid", "context": {}}
            if _set(message, values, erased) and call_id is not None:
                outcome.add(call_id, "kodoku_portal.OutboxMessage")
        search = sorted(erased, key=len, reverse=True)
        for entry in AuditEntry.objects.filter(subjects.audit).exclude(action="retention_anonymised"):
            values = {
                "ip": None,
                "before": _redact(entry.before, search),
                "after": _redact(entry.after, search),
                "object_repr": _redact(entry.object_repr, search),
            }
            changed = [name for name, value in values.items() if getattr(entry, name) != value]
            if changed:
                AuditEntry.objects.filter(pk=entry.pk).update(**{name: values[name] for name in changed})
                outcome.add(about[(entry.object_type, entry.object_id)], "kodoku_portal.AuditEntry")
        calls = {application.call_id: application.call for application in records}
        for call_id, counts in sorted(outcome.by_call.items()):
            record(
                calls[call_id],
                by=None,
                action="retention_anonymised",
                after={"rows": dict(sorted(counts.items())), "rows_total": sum(counts.values())},
                call_id=call_id,
            )
    return outcome


def _memberships_elsewhere(organisations: list[int]):
    return Membership.objects.exclude(organisation_id__in=organisations)


@dataclass
class _Subjects:
    mails: Q
    audit: Q


def _about_query(about: dict[tuple[str, str], int]) -> _Subjects:
    by_type: dict[str, list[str]] = defaultdict(list)
    for label, pk in about:
        by_type[label].append(pk)
    mails, audit = Q(pk__in=[]), Q(pk__in=[])
    for label, pks in by_type.items():
        mails |= Q(subject_type=label, subject_id__in=[int(pk) for pk in pks])
        audit |= Q(object_type=label, object_id__in=pks)
    return _Subjects(mails, audit)
