"""rv-stages: the services of a two-stage review (書類審査 → ヒアリング): the shortlist and the interview
slots. The interview round itself (its rubric, phase and assignments) is a ReviewRound of stage
``interview`` and goes through reviews/services.py like the document round.

Each function is one transaction, checks the permission first and audits what it changes
(kodoku_portal.workflow.record); a slot's mail goes through the outbox, one per slot version.
"""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from applications.models import Application, ApplicationStatus
from applications.selectors import application_mail_recipients
from calls.models import Call
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail, enqueue
from kodoku_portal.workflow import Refused, record

from . import rules as permissions
from . import selectors
from .models import InterviewSlot, ReviewPhase, ReviewRound, ReviewStage, Shortlisting

INTERVIEW_SLOT_MAIL = "interview_slot"
INTERVIEW_CANCELLED_MAIL = "interview_cancelled"


def _refuse_unless_staff(user: User | None) -> None:
    if not permissions.can_manage_review_round.test(user):
        raise Refused(_("Only programme staff may do this."), code="forbidden")


def _phases(call: Call) -> dict[str, str]:
    """Each stage's phase, the rounds locked for the rest of the transaction."""
    rounds = ReviewRound.objects.select_for_update().filter(call=call)
    return {r.stage: r.phase for r in rounds}


def shortlist_is_open(call: Call) -> bool:
    """The shortlist may be changed: a two-stage call whose document review is locked and whose
    interview has not opened yet."""
    phases = dict(ReviewRound.objects.filter(call=call).values_list("stage", "phase"))
    return _shortlist_open(call, phases)


def _shortlist_open(call: Call, phases: dict[str, str]) -> bool:
    return (
        call.two_stage_review
        and phases.get(ReviewStage.DOCUMENT) == ReviewPhase.LOCKED
        and phases.get(ReviewStage.INTERVIEW, ReviewPhase.SETUP) == ReviewPhase.SETUP
    )


def _refuse_unless_shortlist_open(call: Call) -> None:
    if not call.two_stage_review:
        raise Refused(_("This call is reviewed in one stage."), code="one_stage")
    phases = _phases(call)
    if phases.get(ReviewStage.DOCUMENT) != ReviewPhase.LOCKED:
        raise Refused(_("Lock the document review before shortlisting."), code="order")
    if not _shortlist_open(call, phases):
        raise Refused(_("The interview has opened; the shortlist can no longer change."), code="locked")


def _apply(call: Call, wanted: dict[int, int | None], by: User) -> list[Shortlisting]:
    """Make the shortlist exactly ``wanted`` (application id → rank at shortlisting), auditing
    each application added or removed. A removed application loses its interview slot."""
    current = {s.application_id: s for s in Shortlisting.objects.filter(application__call=call)}
    applications = Application.objects.in_bulk(set(wanted) | set(current))
    for application_id, shortlisting in current.items():
        if application_id not in wanted:
            record(shortlisting, by=by, action="shortlist_removed", call_id=call.pk)
            slot = InterviewSlot.objects.filter(application_id=application_id).first()
            if slot is not None:
                _tell_of_cancellation(slot, applications[application_id])
                slot.delete()
            shortlisting.delete()
    for application_id, position in wanted.items():
        if application_id in current:
            continue
        shortlisting = Shortlisting.objects.create(
            application=applications[application_id], position=position, added_by=by
        )
        record(shortlisting, by=by, action="shortlist_added", after={"position": position}, call_id=call.pk)
    return list(Shortlisting.objects.filter(application__call=call).select_related("application"))


def _document_positions(call: Call) -> dict[int, int]:
    """Each submitted application's place in the document ranking (ranked ones only)."""
    review_round = selectors.review_round(call, ReviewStage.DOCUMENT)
    rows = selectors.ranking_rows(call, selectors.submitted_applications(call), calibrate=review_round.use_calibration)
    return {row.application.pk: row.position for row in rows if row.position}


@transaction.atomic
def shortlist_top(*, call: Call, n: int, by: User) -> list[Shortlisting]:
    """Shortlist the top ``n`` of the document ranking (replacing the shortlist), once the
    document review is locked and until the interview opens."""
    _refuse_unless_staff(by)
    _refuse_unless_shortlist_open(call)
    if n < 1:
        raise Refused(_("Shortlist at least one application."), code="invalid")
    positions = _document_positions(call)
    wanted = {pk: position for pk, position in positions.items() if position <= n}
    return _apply(call, wanted, by)


@transaction.atomic
def shortlist_set(*, call: Call, application_ids: list[int], by: User) -> list[Shortlisting]:
    """Shortlist exactly the applications ticked by hand (replacing the shortlist); each must be a
    submitted application of the call."""
    _refuse_unless_staff(by)
    _refuse_unless_shortlist_open(call)
    valid = set(
        Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED, pk__in=application_ids).values_list(
            "pk", flat=True
        )
    )
    if valid != set(application_ids):
        raise Refused(_("Only submitted applications of this call can be shortlisted."), code="invalid")
    positions = _document_positions(call)
    return _apply(call, {pk: positions.get(pk) for pk in application_ids}, by)


# --- interview slots --------------------------------------------------------------------------


def _tell_of_cancellation(slot: InterviewSlot, application: Application) -> None:
    """An application leaves the shortlist after its organisation was told of a slot (a slot mail
    was sent): tell it the interview will not take place (one mail per address and slot version;
    the slot's time travels in the mail's context, since the slot itself is removed). A slot whose
    mail never went out needs no word: its mail is cancelled at send time."""
    told = OutboxMessage.objects.filter(
        kind=INTERVIEW_SLOT_MAIL,
        subject_type=InterviewSlot._meta.label,
        subject_id=slot.pk,
        status=OutboxStatus.SENT,
    ).exists()
    if not told:
        return
    for address in application_mail_recipients(application):
        enqueue(
            Mail(
                INTERVIEW_CANCELLED_MAIL,
                application,
                address,
                slot=f"slot{slot.pk}-v{slot.version}",
                context={"starts_at": slot.starts_at.isoformat()},
                call_id=application.call_id,
            )
        )


def _slot_mails(slot: InterviewSlot) -> list[Mail]:
    """One mail per address of the organisation, keyed on the slot's version: a changed slot is a
    new mail, a repeat of the same version never a second one."""
    return [
        Mail(
            INTERVIEW_SLOT_MAIL,
            slot,
            address,
            slot=f"v{slot.version}",
            context={"version": slot.version},
            call_id=slot.application.call_id,
        )
        for address in application_mail_recipients(slot.application)
    ]


@transaction.atomic
def slot_schedule(
    *,
    application: Application,
    starts_at: dt.datetime,
    duration_minutes: int,
    place: str = "",
    online_url: str = "",
    by: User,
) -> InterviewSlot:
    """Schedule (or change) the interview slot of a shortlisted application and tell the
    organisation by mail. Saving the same slot again changes nothing and sends nothing."""
    _refuse_unless_staff(by)
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("organisation", "submitted_by", "call")
        .get(pk=application.pk)
    )
    if not Shortlisting.objects.filter(application=application).exists():
        raise Refused(_("Only a shortlisted application has an interview slot."), code="not_shortlisted")
    if _phases(application.call).get(ReviewStage.INTERVIEW) == ReviewPhase.LOCKED:
        raise Refused(_("The interview is locked."), code="locked")
    if not (place.strip() or online_url.strip()):
        raise Refused(_("Give the place or the online meeting URL."), code="invalid")
    if duration_minutes < 5:
        raise Refused(_("An interview lasts at least 5 minutes."), code="invalid")
    values = {
        "starts_at": starts_at,
        "duration_minutes": duration_minutes,
        "place": place.strip(),
        "online_url": online_url.strip(),
    }
    slot = InterviewSlot.objects.select_for_update().filter(application=application).first()
    if slot is None:
        slot = InterviewSlot.objects.create(application=application, updated_by=by, **values)
        record(slot, by=by, action="interview_slot_scheduled", after=values, call_id=application.call_id)
    else:
        before = {name: getattr(slot, name) for name in values}
        if before == values:
            return slot
        for name, value in values.items():
            setattr(slot, name, value)
        slot.version += 1
        slot.updated_by = by
        slot.save()
        record(slot, by=by, action="interview_slot_changed", before=before, after=values, call_id=application.call_id)
    slot.application = application
    for mail in _slot_mails(slot):
        enqueue(mail)
    return slot


# --- the call's review configuration ----------------------------------------------------------


@transaction.atomic
def stages_configure(
    *, call: Call, two_stage_review: bool, final_ranking: str, document_weight_percent: int, by: User
) -> Call:
    """How the call is reviewed (also editable in the admin): one stage or two, and what the final
    ranking of two uses. A call with a shortlist stays two-stage (empty the shortlist first)."""
    _refuse_unless_staff(by)
    call = Call.objects.select_for_update().get(pk=call.pk)
    if not 0 <= document_weight_percent <= 100:
        raise Refused(_("The weight is a percentage from 0 to 100."), code="invalid")
    if call.two_stage_review and not two_stage_review and Shortlisting.objects.filter(application__call=call).exists():
        raise Refused(_("Applications are shortlisted: empty the shortlist first."), code="shortlisted")
    fields = ("two_stage_review", "final_ranking", "document_weight_percent")
    before = {name: getattr(call, name) for name in fields}
    after = {
        "two_stage_review": two_stage_review,
        "final_ranking": final_ranking,
        "document_weight_percent": document_weight_percent,
    }
    if before == after:
        return call
    for name, value in after.items():
        setattr(call, name, value)
    call.save(update_fields=list(fields))
    record(call, by=by, action="review_stages_configured", before=before, after=after, call_id=call.pk)
    return call
