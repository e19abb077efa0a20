"""Services of 変更承認申請, 軽微な変更, 中止・廃止 and their letters.

One transactional function per state change, through kodoku_portal.workflow (change_state /
record); letters through grants.letters.issue_letter.

``is_minor_change(before, after, *, percent) -> bool``
    The 軽微な変更 rule (pure; see its docstring for the reading).
``change_refusal(award) -> str | None``
    Why the organisation cannot file a change request now (None: it can).
``change_request(*, award, by, plan_before, plan_after, reason, lines, documents)``
    変更承認申請 (article 7): MINOR and in force at once within the threshold, else PENDING.
``discontinue_request(*, award, by, kind, effective_on, reason, documents)``
    中止・廃止: always PENDING.
``change_decide(*, change, by, approve, note)``
    Staff approve (the budget in force, 中止・廃止 dates) or refuse, with the letter.
``change_withdraw(*, change, by)``
    The organisation takes back its pending request.
``budget_before(change)``
    The budget version that was in force when the request was filed.
"""

import contextlib
import datetime as dt
from dataclasses import dataclass

import rules
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from applications.models import BudgetCategory
from kodoku_portal.jp import JST, format_date, format_wareki, format_yen
from kodoku_portal.workflow import Refused, change_state, record

from . import scanned_files
from .letters import issue_letter
from .models import (
    Award,
    AwardDocument,
    AwardDocumentPurpose,
    AwardStatus,
    BudgetVersion,
    BudgetVersionLine,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    LetterKind,
)

# What the audit page says of this part's actions (registered by GrantsConfig.ready).
AUDIT_SENTENCES: dict = {
    "change_minor": gettext_lazy("%(actor)s recorded %(object)s as a minor change (in force at once)"),
    "change_requested": gettext_lazy("%(actor)s filed %(object)s for approval"),
    "change_approved": gettext_lazy("%(actor)s approved %(object)s"),
    "change_refused": gettext_lazy("%(actor)s refused %(object)s"),
    "change_withdrawn": gettext_lazy("%(actor)s withdrew %(object)s"),
    "award_discontinued": gettext_lazy("%(actor)s recorded the discontinuation of %(object)s"),
}
# What the audit page's filter calls them.
AUDIT_LABELS: dict = {
    "change_minor": gettext_lazy("Minor change (軽微な変更)"),
    "change_requested": gettext_lazy("Change requested (変更承認申請)"),
    "change_approved": gettext_lazy("Change approved"),
    "change_refused": gettext_lazy("Change refused"),
    "change_withdrawn": gettext_lazy("Change withdrawn"),
    "award_discontinued": gettext_lazy("Discontinued (中止・廃止)"),
}

Line = tuple[str, str, int]  # (category, details, amount)


# --- the rule ----------------------------------------------------------------------------------


def is_minor_change(before: dict[str, int], after: dict[str, int], *, percent: int) -> bool:
    """Whether moving a budget from ``before`` to ``after`` (yen per 費目) is a 軽微な変更 that
    needs no approval, by the 交付要綱 custom "a shift between 費目 of at most ``percent``% of the
    smaller one".

    The reading (each condition must hold):

    1. The total does not increase (a decrease is allowed).
    2. No category is added: a category absent or at 0 before stays at 0.
    3. Let "the categories that change" be those whose amount differs (a missing key counts as
       0). Every one of them changes, up or down, by at most ``percent``% of the SMALLEST
       before-amount among them — the "smaller one" of a two-category shift, generalised to
       several. So a category cut to 0 is minor only when ``percent`` ≥ 100, and a lone cut of one
       category is measured against that category's own amount.

    No change at all is minor. The base is the before-amounts (the budget as decided), so the rule
    is not symmetric: 100/100 → 120/80 is minor at 20%, but 120/80 → 100/100 is not (20 > 20% of
    80). Integer arithmetic only: ``delta * 100 <= percent * min_before``.
    """
    categories = set(before) | set(after)
    if sum(after.values()) > sum(before.values()):
        return False
    if any(before.get(category, 0) == 0 and after.get(category, 0) > 0 for category in categories):
        return False
    changed = [category for category in categories if before.get(category, 0) != after.get(category, 0)]
    if not changed:
        return True
    smallest = min(before.get(category, 0) for category in changed)
    return all(
        abs(after.get(category, 0) - before.get(category, 0)) * 100 <= percent * smallest for category in changed
    )


# --- what the pages and letters show --------------------------------------------------------------


def _by_category(lines: list[Line]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for category, _details, amount in lines:
        totals[category] = totals.get(category, 0) + amount
    return totals


def _lines_of(version: BudgetVersion | None) -> list[Line]:
    if version is None:
        return []
    return [(line.category, line.description, line.amount) for line in version.lines.all()]


def category_label(category: str) -> str:
    try:
        return str(BudgetCategory(category).label)
    except ValueError:
        return category


def budget_pairs(version: BudgetVersion | None) -> list[list]:
    """[category label, amount] per 費目 in the order they first appear (the letters' form)."""
    if version is None:
        return []
    return [[category_label(category), amount] for category, amount in version.by_category().items()]


def budget_before(change: ChangeRequest) -> BudgetVersion | None:
    """The version in force when ``change`` was filed (no other version can be put in force while
    a request is pending, so this is also the one its approval replaces)."""
    return (
        change.award.budget_versions.filter(in_force_from__isnull=False, in_force_from__lte=change.requested_at)
        .exclude(pk=change.budget_id)
        .order_by("-in_force_from", "-number")
        .first()
    )


@dataclass(frozen=True)
class CategoryDiff:
    category: str
    label: str
    before: int
    after: int

    @property
    def difference(self) -> int:
        return self.after - self.before


def budget_diff(before: BudgetVersion | None, after: BudgetVersion | None) -> list[CategoryDiff]:
    """Before, after and difference per 費目 (categories of both versions, in BudgetCategory order)."""
    old = before.by_category() if before else {}
    new = after.by_category() if after else {}
    order = [choice.value for choice in BudgetCategory]
    categories = sorted(set(old) | set(new), key=lambda c: order.index(c) if c in order else len(order))
    return [CategoryDiff(c, category_label(c), old.get(c, 0), new.get(c, 0)) for c in categories]


# --- checks -------------------------------------------------------------------------------------


def _jst_day(now: dt.datetime) -> dt.date:
    return now.astimezone(JST).date()


def change_refusal(award: Award) -> str | None:
    """Why a change request cannot be filed on ``award`` now, or None."""
    if award.status != AwardStatus.GRANTED:
        return _(
            "Changes can be requested while the grant is decided and before the final report is "
            "filed; this award is at: %(status)s."
        ) % {"status": award.get_status_display()}
    if award.abolished_on is not None:
        return _("The project was discontinued on %(date)s; no further change can be requested.") % {
            "date": format_date(award.abolished_on)
        }
    pending = award.changes.filter(status=ChangeStatus.PENDING).first()
    if pending is not None:
        return _(
            "Change request %(number)s is awaiting a decision; only one request can wait at a time "
            "(withdraw it to file another)."
        ) % {"number": pending.number}
    return None


def _check_member(user: User, award: Award) -> None:
    if not rules.test_rule("can_act_for_award", user, award):
        raise Refused(_("Only members of the organisation can request changes to its award."), code="forbidden")


def _check_staff(user: User) -> None:
    if not rules.test_rule("can_manage_awards", user):
        raise Refused(_("Only programme staff decide on change requests."), code="forbidden")


def _lock_award(award: Award) -> Award:
    return (
        Award.objects.select_for_update(of=("self",))
        .select_related("application__call", "application__organisation")
        .get(pk=award.pk)
    )


def _open_refusal(locked: Award) -> None:
    refusal = change_refusal(locked)
    if refusal is not None:
        raise Refused(refusal, code="not_open")


def _next_number(queryset) -> int:
    return (queryset.aggregate(last=Max("number"))["last"] or 0) + 1


def _store_documents(award: Award, change: ChangeRequest, documents, user: User, stored: list) -> None:
    for upload, file_type in documents:
        document = AwardDocument(
            award=award,
            purpose=AwardDocumentPurpose.CHANGE,
            change=change,
            title=upload.name[:100],
            original_name=upload.name[:200],
            file_type=file_type,
            size=upload.size,
            uploaded_by=user,
            **scanned_files.stored_scan_fields(),
        )
        document.file.save("upload", upload, save=False)
        stored.append(document.file)
        document.save()
        scanned_files.schedule(document)  # the virus check, run by a worker after commit


def _forget_files(stored: list) -> None:
    for file in stored:
        with contextlib.suppress(OSError):  # the storage is gone: nothing more to undo
            file.delete(save=False)


Documents = list[tuple[UploadedFile, str]]  # (upload, file type checked by content)


# --- 変更承認申請 ----------------------------------------------------------------------------------


def change_request(
    *,
    award: Award,
    by: User,
    plan_before: str = "",
    plan_after: str = "",
    reason: str,
    lines: list[Line],
    documents: Documents = (),
    now: dt.datetime | None = None,
) -> ChangeRequest:
    """File a 変更承認申請 (article 7): the plan before/after (a plan change when ``plan_after``
    is not empty) and the budget lines after. A budget that differs from the one in force becomes a
    new version. Without a plan change, a budget change within the call's threshold
    (``is_minor_change``) is recorded as MINOR and in force at once; anything else waits for staff
    (PENDING). Refused: not a member; not while the grant is decided; another request pending; no
    reason; nothing changes; a total above the granted amount."""
    stored: list = []
    try:
        return _change_request(award, by, plan_before, plan_after, reason, lines, documents, now, stored)
    except BaseException:
        _forget_files(stored)
        raise


@transaction.atomic
def _change_request(award, by, plan_before, plan_after, reason, lines, documents, now, stored) -> ChangeRequest:
    _check_member(by, award)
    award = _lock_award(award)
    _open_refusal(award)
    now = now or timezone.now()
    reason = reason.strip()
    plan_before, plan_after = plan_before.strip(), plan_after.strip()
    if not reason:
        raise Refused(_("Give the reason for the change."), code="reason")
    lines = [(category, details.strip(), int(amount)) for category, details, amount in lines]
    if any(amount < 0 for _c, _d, amount in lines):
        raise Refused(_("An amount cannot be negative."), code="amount")
    in_force = award.budget_in_force()
    current = _lines_of(in_force)
    kept = {category for category, _d, _a in current}  # a category in force stays usable
    unknown = [c for c, _d, _a in lines if c not in BudgetCategory.values and c not in kept]
    if unknown:
        raise Refused(_("Unknown expense category: %(category)s.") % {"category": unknown[0]}, code="category")
    budget_changes = bool(lines) and lines != current
    plan_changes = bool(plan_after)
    if not budget_changes and not plan_changes:
        raise Refused(
            _("Nothing changes: give the plan after the change or budget lines that differ from the budget in force."),
            code="unchanged",
        )
    total = sum(amount for _c, _d, amount in lines)
    if budget_changes and award.granted_amount is not None and total > award.granted_amount:
        raise Refused(
            _("The budget after the change (%(total)s) cannot exceed the granted amount (%(granted)s).")
            % {"total": format_yen(total), "granted": format_yen(award.granted_amount)},
            code="amount",
        )
    call = award.application.call
    minor = (
        budget_changes
        and not plan_changes
        and is_minor_change(_by_category(current), _by_category(lines), percent=call.minor_change_percent)
    )
    version = None
    if budget_changes:
        version = BudgetVersion.objects.create(
            award=award,
            number=_next_number(award.budget_versions.all()),
            in_force_from=now if minor else None,
        )
        BudgetVersionLine.objects.bulk_create(
            BudgetVersionLine(version=version, position=position, category=category, description=details, amount=amount)
            for position, (category, details, amount) in enumerate(lines)
        )
    change = ChangeRequest.objects.create(
        award=award,
        number=_next_number(award.changes.all()),
        kind=ChangeKind.CHANGE,
        status=ChangeStatus.MINOR if minor else ChangeStatus.PENDING,
        plan_before=plan_before,
        plan_after=plan_after,
        reason=reason,
        budget=version,
        requested_by=by,
        requested_at=now,
    )
    _store_documents(award, change, documents, by, stored)
    after = {"status": change.status, "kind": change.kind, "reason": reason}
    if version is not None:
        after |= {"budget_version": version.number, "budget_total": total}
    if plan_changes:
        after["plan_after"] = plan_after
    before = {
        "budget_version": in_force.number if in_force else None,
        "budget_total": in_force.total if in_force else 0,
    }
    if minor:
        after["in_force_from"] = now.isoformat()
    record(
        change,
        by=by,
        action="change_minor" if minor else "change_requested",
        before=before,
        after=after,
        call_id=call.pk,
    )
    return change


def discontinue_request(
    *,
    award: Award,
    by: User,
    kind: ChangeKind,
    effective_on: dt.date | None,
    reason: str,
    documents: Documents = (),
    now: dt.datetime | None = None,
) -> ChangeRequest:
    """中止・廃止: ask to suspend or abolish the project from ``effective_on``; always PENDING."""
    stored: list = []
    try:
        return _discontinue_request(award, by, kind, effective_on, reason, documents, now, stored)
    except BaseException:
        _forget_files(stored)
        raise


@transaction.atomic
def _discontinue_request(award, by, kind, effective_on, reason, documents, now, stored) -> ChangeRequest:
    _check_member(by, award)
    award = _lock_award(award)
    _open_refusal(award)
    now = now or timezone.now()
    if kind not in (ChangeKind.SUSPEND, ChangeKind.ABOLISH):
        raise Refused(_("Choose suspension (中止) or discontinuation (廃止)."), code="kind")
    reason = reason.strip()
    if not reason:
        raise Refused(_("Give the reason for the change."), code="reason")
    if effective_on is None:
        raise Refused(_("Give the date the project stops."), code="effective_on")
    if award.project_start and effective_on < award.project_start:
        raise Refused(
            _("The project cannot stop (%(date)s) before it starts (%(start)s).")
            % {"date": format_date(effective_on), "start": format_date(award.project_start)},
            code="effective_on",
        )
    if award.project_end and effective_on > award.project_end:
        raise Refused(
            _("The project cannot stop (%(date)s) after it ends (%(end)s).")
            % {"date": format_date(effective_on), "end": format_date(award.project_end)},
            code="effective_on",
        )
    change = ChangeRequest.objects.create(
        award=award,
        number=_next_number(award.changes.all()),
        kind=kind,
        status=ChangeStatus.PENDING,
        reason=reason,
        effective_on=effective_on,
        requested_by=by,
        requested_at=now,
    )
    _store_documents(award, change, documents, by, stored)
    record(
        change,
        by=by,
        action="change_requested",
        before={},
        after={"status": change.status, "kind": change.kind, "effective_on": effective_on, "reason": reason},
        call_id=award.application.call_id,
    )
    return change


# --- decisions ----------------------------------------------------------------------------------


def _lock_change(award: Award, change: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.select_for_update(of=("self",)).get(pk=change.pk, award=award)


def _already(change: ChangeRequest) -> Refused:
    """What the second of two people acting at once is told."""
    who = change.decided_by.email if change.decided_by_id else change.requested_by.email
    when = change.decided_at
    if when is not None:
        message = _("Change request %(number)s was already %(status)s by %(who)s at %(when)s.") % {
            "number": change.number,
            "status": change.get_status_display(),
            "who": who,
            "when": when.astimezone(JST).strftime("%Y-%m-%d %H:%M"),
        }
    else:
        message = _("Change request %(number)s is no longer awaiting a decision (now: %(status)s).") % {
            "number": change.number,
            "status": change.get_status_display(),
        }
    return Refused(message, code="decided")


@transaction.atomic
def change_decide(
    *, change: ChangeRequest, by: User, approve: bool, note: str = "", now: dt.datetime | None = None
) -> ChangeRequest:
    """Approve or refuse a pending request (staff). Approval puts its budget version in force now
    and, for 中止・廃止, sets the award's ``abolished_on`` (廃止 also brings the final report due
    date forward to min(current due date, the stop date + the call's final_report_due_days)); a
    refusal needs a note. Each issues its letter (変更承認通知書 / 変更不承認通知書; none for a
    contract call). The award and the request are locked: of two staff deciding at once, the
    second is refused with what the first did."""
    _check_staff(by)
    award = _lock_award(change.award)
    change = _lock_change(award, change)
    if change.status != ChangeStatus.PENDING:
        raise _already(change)
    note = note.strip()
    if not approve and not note:
        raise Refused(_("Give the reason for refusing the change in the note."), code="note")
    if approve and award.status != AwardStatus.GRANTED:
        raise Refused(
            _("A change can be approved only while the grant is decided; this award is at: %(status)s.")
            % {"status": award.get_status_display()},
            code="not_open",
        )
    if approve:
        scanned_files.refuse_unopenable(
            change.documents.order_by("pk"),
            _(
                "The change request cannot be approved while a file the virus check has not cleared is attached: "
                "%(files)s. Wait for the check, or refuse the request so that the organisation files it again."
            ),
        )
    now = now or timezone.now()
    call = award.application.call
    before_version = budget_before(change)
    change.decided_by = by
    change.decided_at = now
    change.decision_note = note
    after: dict = {"decision_note": note}
    letter_note = note
    if approve and change.budget_id is not None:
        version = change.budget
        version.in_force_from = now
        version.save(update_fields=["in_force_from"])
        after |= {"budget_version": version.number, "in_force_from": now.isoformat()}
    if approve and change.kind in (ChangeKind.SUSPEND, ChangeKind.ABOLISH):
        moved = _discontinue(award, change, by=by, call=call)
        if moved is not None:
            with translation.override("ja"):
                sentence = _("The final report is now due on %(date)s.") % {"date": format_wareki(moved)}
            letter_note = f"{note}\n{sentence}" if note else sentence
    change_state(
        change,
        ChangeStatus.APPROVED if approve else ChangeStatus.REFUSED,
        by=by,
        action="change_approved" if approve else "change_refused",
        update_fields=["decided_by", "decided_at", "decision_note"],
        after=after,
        call_id=call.pk,
    )
    with translation.override("ja"):
        details = {
            "change_number": change.number,
            "change_kind": str(ChangeKind(change.kind).label),
            "requested_on": _jst_day(change.requested_at).isoformat(),
            "note": letter_note,
            "budget_before": budget_pairs(before_version) if change.budget_id else [],
            "budget_after": budget_pairs(change.budget) if change.budget_id else [],
        }
    issue_letter(
        LetterKind.CHANGE_APPROVED if approve else LetterKind.CHANGE_REFUSED,
        application=award.application,
        award=award,
        change=change,
        details=details,
        by=by,
    )
    return change


def _discontinue(award: Award, change: ChangeRequest, *, by: User, call) -> dt.date | None:
    """Record 中止・廃止 on the award; return the new final report due date when 廃止 moved it."""
    before = {"abolished_on": award.abolished_on, "final_report_due": award.final_report_due}
    award.abolished_on = change.effective_on
    fields = ["abolished_on"]
    moved = None
    if change.kind == ChangeKind.ABOLISH:
        due = change.effective_on + dt.timedelta(days=call.final_report_due_days)
        if award.final_report_due is None or due < award.final_report_due:
            award.final_report_due = moved = due
            fields.append("final_report_due")
    award.save(update_fields=fields)
    record(
        award,
        by=by,
        action="award_discontinued",
        before=before,
        after={
            "abolished_on": award.abolished_on,
            "final_report_due": award.final_report_due,
            "kind": change.kind,
            "change": change.number,
        },
        call_id=call.pk,
    )
    return moved


@transaction.atomic
def change_withdraw(*, change: ChangeRequest, by: User) -> ChangeRequest:
    """The organisation takes back its pending request (its budget version is kept, never in force)."""
    _check_member(by, change.award)
    award = _lock_award(change.award)
    change = _lock_change(award, change)
    if change.status != ChangeStatus.PENDING:
        raise _already(change)
    change_state(change, ChangeStatus.WITHDRAWN, by=by, action="change_withdrawn", call_id=award.application.call_id)
    return change
