"""Named permissions of the applicant's side (the ``rules`` package), and the state rules they are
made of. Views (``rules.test_rule``), templates (``{% load rules %}{% test_rule … %}``) and services
use these, so each rule is written once.

The state rules (``draft_refusal``, ``submit_refusal``, ``withdraw_refusal``) take the clock as an
argument and return the ``Refused`` to raise (its code and message say why), or None: services
apply them with the moment they were given (the deadline is judged by the server clock at the
moment of the change, after the row lock); the predicates apply them with the clock now.

Membership is checked by the predicates and, on every applicant page, by the selectors (a row of
another organisation is "not found"). Services check the state rules but not membership: the
demo loader and the import of past rounds act on behalf of organisations without being members.
"""

import datetime as dt

import rules
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from calls.models import Call, CallState
from kodoku_portal.jp import format_datetime
from kodoku_portal.workflow import Refused

from .checks import application_problems
from .models import Application, ApplicationStatus, MemberRole, Membership, Organisation

# --- state rules (with an explicit clock) ------------------------------------------------------


def closed_message(call: Call) -> str:
    if call.closes_at:
        return _("The call closed at %(deadline)s (JST). Applications can no longer be changed or submitted.") % {
            "deadline": format_datetime(call.closes_at)
        }
    return _("This call is not accepting applications.")


def call_refusal(call: Call, now: dt.datetime) -> Refused | None:
    """Applications are started, changed, submitted and withdrawn only while the call is open."""
    if call.state_at(now) != CallState.OPEN:
        return Refused(closed_message(call), code="closed")
    return None


def draft_refusal(application: Application, now: dt.datetime) -> Refused | None:
    """Why the draft cannot be changed at ``now`` (a save, an attachment added or removed), or None."""
    if application.status != ApplicationStatus.DRAFT:
        return Refused(_("This application has been submitted and is read-only."), code="not_draft")
    return call_refusal(application.call, now)


def submit_refusal(application: Application, now: dt.datetime) -> Refused | None:
    """Why the application cannot be submitted at ``now`` (the call closed, something missing), or
    None. Only a draft is submitted: an application already decided must never be taken back to
    submitted by its organisation (the table allows that step for staff undoing a decision)."""
    if application.status != ApplicationStatus.DRAFT:
        return Refused(_("This application has been submitted and is read-only."), code="not_draft")
    refusal = call_refusal(application.call, now)
    if refusal is not None:
        return refusal
    problems = application_problems(application)
    if problems:
        return Refused(*[problem.message for problem in problems], code="incomplete")
    return None


def withdraw_refusal(application: Application, now: dt.datetime) -> Refused | None:
    """A submitted application may be withdrawn until the deadline."""
    return call_refusal(application.call, now)


# --- predicates ----------------------------------------------------------------------------------

# Rows fetched through ``selectors.applications_of(user)`` carry this annotation: they were found
# through the user's memberships, so a list page asks the database once, not once per row.
FETCHED_FOR = "fetched_for_member"


@rules.predicate
def is_applicant(user: User | AnonymousUser) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == Role.APPLICANT


@rules.predicate
def is_member(user: User | AnonymousUser, target: Application | Organisation | None) -> bool:
    """The user belongs to the organisation (of the application)."""
    if target is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(target, FETCHED_FOR, None) == user.pk:
        return True
    organisation_id = target.pk if isinstance(target, Organisation) else target.organisation_id
    return Membership.objects.filter(user=user, organisation_id=organisation_id).exists()


@rules.predicate
def is_owner(user: User | AnonymousUser, organisation: Organisation | None) -> bool:
    if organisation is None or not getattr(user, "is_authenticated", False):
        return False
    return Membership.objects.filter(user=user, organisation=organisation, role=MemberRole.OWNER).exists()


@rules.predicate
def draft_is_editable(user: User | AnonymousUser, application: Application) -> bool:
    return draft_refusal(application, timezone.now()) is None


@rules.predicate
def is_draft(user: User | AnonymousUser, application: Application) -> bool:
    return application.status == ApplicationStatus.DRAFT


@rules.predicate
def is_submitted(user: User | AnonymousUser, application: Application) -> bool:
    return application.status == ApplicationStatus.SUBMITTED


@rules.predicate
def may_be_submitted_now(user: User | AnonymousUser, application: Application) -> bool:
    return submit_refusal(application, timezone.now()) is None


@rules.predicate
def may_be_withdrawn_now(user: User | AnonymousUser, application: Application) -> bool:
    return withdraw_refusal(application, timezone.now()) is None


@rules.predicate
def decision_is_disclosed(user: User | AnonymousUser, application: Application) -> bool:
    return application.decision_is_disclosed


can_view_application = is_member
can_edit_draft = is_member & draft_is_editable
can_submit = is_member & is_draft & may_be_submitted_now
can_withdraw = is_member & is_submitted & may_be_withdrawn_now
can_manage_organisation = is_owner
can_see_decision = is_member & decision_is_disclosed

rules.add_rule("is_applicant", is_applicant)
rules.add_rule("can_view_application", can_view_application)
rules.add_rule("can_edit_draft", can_edit_draft)
rules.add_rule("can_submit", can_submit)
rules.add_rule("can_withdraw", can_withdraw)
rules.add_rule("can_manage_organisation", can_manage_organisation)
rules.add_rule("can_see_decision", can_see_decision)
