"""Named permissions of the grants layer (the ``rules`` package), used by views, templates and
services alike so that each rule is written once. Registered when GrantsConfig.ready imports this.

- ``can_manage_awards``: programme staff and administrators (``is_staff_member``, the reviews
  layer's predicate).
- ``can_download_notice`` (user, application): the decision may be seen (``can_see_decision``, the
  applications layer's rule: a member, once the notice was e-mailed) and the notice PDF exists.
- ``can_file_report`` (user, award): a member of the organisation, while a report is open
  (``Award.reports_open``: the grant is decided and that report not yet filed).
- ``can_act_for_award`` (user, award): a member of the organisation once the adoption is disclosed
  (the organisation's side of every step after 採択).
- ``can_view_award`` (user, award): programme staff, or ``can_act_for_award``.
"""

import rules
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from applications.models import Application
from applications.rules import can_see_decision, is_member
from reviews.rules import is_staff_member

from .models import Award, Notice

Viewer = User | AnonymousUser


@rules.predicate
def is_member_of_awarded_organisation(user: Viewer, award: Award) -> bool:
    # The applications layer's membership rule, asked about the award's application.
    return award is not None and is_member.test(user, award.application)


@rules.predicate
def report_open(user: Viewer, award: Award) -> bool:
    return award is not None and bool(award.reports_open())


@rules.predicate
def notice_pdf_ready(user: Viewer, application: Application) -> bool:
    return Notice.objects.filter(application=application).exclude(pdf="").exists()


rules.add_rule("can_manage_awards", is_staff_member)
rules.add_rule("can_download_notice", can_see_decision & notice_pdf_ready)
rules.add_rule("can_file_report", is_member_of_awarded_organisation & report_open)


@rules.predicate
def award_decision_disclosed(user: Viewer, award: Award) -> bool:
    # The organisation sees its award once the adoption (or 繰上げ採択) has been disclosed to it.
    return award is not None and award.application.decision_is_disclosed


# The organisation's side of an award: a member, once the decision is disclosed. Each step's own
# conditions (the award's state, the call's steps) are the services' to check.
rules.add_rule("can_act_for_award", is_member_of_awarded_organisation & award_decision_disclosed)
rules.add_rule("can_view_award", is_staff_member | (is_member_of_awarded_organisation & award_decision_disclosed))
