"""Named permissions of the grants layer (the ``rules`` package), used by views, templates and
services alike so that each rule is written once. Registered when GrantsConfig.ready imports this.

- ``can_manage_awards``: programme staff and administrators (``is_staff_member``).
- ``can_download_notice`` (user, application): a member of the organisation, once the decision may
  be seen (``can_see_decision``, the applications layer's rule) and the notice PDF exists.
- ``can_file_report`` (user, award): a member of the organisation, while a report is open
  (``Award.reports_open``: the grant is decided and that report not yet filed).
"""

import rules

from accounts.permissions import STAFF_ROLES
from applications.models import Application, Membership

from .models import Award, Notice


@rules.predicate
def is_staff_member(user) -> bool:
    return bool(user and user.is_authenticated and user.role in STAFF_ROLES)


def _is_member(user, application: Application) -> bool:
    if not (user and user.is_authenticated):
        return False
    return Membership.objects.filter(user=user, organisation_id=application.organisation_id).exists()


@rules.predicate
def is_member_of_application(user, application: Application) -> bool:
    return application is not None and _is_member(user, application)


@rules.predicate
def is_member_of_awarded_organisation(user, award: Award) -> bool:
    return award is not None and _is_member(user, award.application)


@rules.predicate
def report_open(user, award: Award) -> bool:
    return award is not None and bool(award.reports_open())


@rules.predicate
def decision_visible(user, application: Application) -> bool:
    if rules.rule_exists("can_see_decision"):
        return rules.test_rule("can_see_decision", user, application)
    # TODO(issue 9 merge): until applications.rules.can_see_decision is in main, the rule as it
    # stood: the decision is seen once its notice has been e-mailed.
    return Notice.objects.filter(application=application, emailed_at__isnull=False).exists()


@rules.predicate
def notice_pdf_ready(user, application: Application) -> bool:
    return Notice.objects.filter(application=application).exclude(pdf="").exists()


rules.add_rule("can_manage_awards", is_staff_member)
rules.add_rule("can_download_notice", is_member_of_application & decision_visible & notice_pdf_ready)
rules.add_rule("can_file_report", is_member_of_awarded_organisation & report_open)
