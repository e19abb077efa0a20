"""What is missing or wrong in an application before it may be submitted (shown on the preview).

One list, used by the preview page and by ``application_submit``, so both always agree. The rules
that forms and services also apply while drafting (法人番号 against the legal form, the project
period, the request against the cap) are written here once, as small functions.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from calls.models import ApplicantType, Call, FormSection
from kodoku_portal.jp import format_yen, join_list

from . import answers as answer_store
from .models import Application, Organisation, ScanStatus

CORPORATE_NUMBER_MISSING = "missing"
CORPORATE_NUMBER_UNEXPECTED = "unexpected"

# Text fields every submission must fill in, with the label shown in the list of problems.
REQUIRED_TEXT = (
    ("title", gettext_noop("Project name")),
    ("summary", gettext_noop("Summary")),
)

REQUIRED_ORGANISATION = (
    ("name_kana", gettext_noop("name in katakana")),
    ("postal_code", gettext_noop("postal code")),
    ("address", gettext_noop("address")),
    ("representative_title", gettext_noop("representative's title")),
    ("representative_name", gettext_noop("representative's name")),
    ("contact_name", gettext_noop("contact person")),
    ("phone", gettext_noop("phone")),
    ("email", gettext_noop("e-mail")),
)


# A local government names the department in charge instead of a representative (its profile form
# does not ask for one: applications/forms.py, static/js/organisation-form.js).
LOCAL_GOVERNMENT_ONLY = (
    ("local_government_code", gettext_noop("local government code (団体コード)")),
    ("department", gettext_noop("department in charge")),
)
NOT_ASKED_OF_LOCAL_GOVERNMENTS = frozenset({"representative_title", "representative_name"})


def required_organisation_fields(organisation: Organisation) -> tuple[tuple[str, str], ...]:
    if organisation.applicant_type.is_local_government:
        kept = tuple(item for item in REQUIRED_ORGANISATION if item[0] not in NOT_ASKED_OF_LOCAL_GOVERNMENTS)
        return kept + LOCAL_GOVERNMENT_ONLY
    return REQUIRED_ORGANISATION


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def corporate_number_problem(applicant_type: ApplicantType, number: str) -> str | None:
    """法人番号 against the legal form: ``"missing"`` when a corporation has none, ``"unexpected"``
    when a body without legal personality (任意団体) gives one, else None. The registration form
    refuses both; the service stores a profile without a number (adoption lists of past rounds do
    not print one) and the submission check asks for it."""
    if applicant_type.has_corporate_number and not number:
        return CORPORATE_NUMBER_MISSING
    if not applicant_type.has_corporate_number and number:
        return CORPORATE_NUMBER_UNEXPECTED
    return None


def unexpected_corporate_number_message() -> str:
    return _("An unincorporated association has no corporate number; leave it empty.")


def project_period_problem(start: dt.date | None, end: dt.date | None) -> str | None:
    """The project period as far as it is given: it may not end before it starts."""
    if start is not None and end is not None and end < start:
        return _("The project cannot end before it starts.")
    return None


def is_eligible(call: Call, organisation: Organisation) -> bool:
    """The call admits the organisation's legal form (checked on starting and on submitting)."""
    return call.eligible_types.filter(pk=organisation.applicant_type_id).exists()


def amount_over_cap(call: Call, amount: int) -> int:
    """By how many yen ``amount`` exceeds the call's cap per application (0: within the cap, or no cap)."""
    if call.cap_amount is None:
        return 0
    return max(0, amount - call.cap_amount)


def application_problems(application: Application) -> list[Problem]:
    call = application.call
    organisation = application.organisation
    problems: list[Problem] = []

    if application.theme_id is None and call.themes.exists():  # a chosen theme needs no query
        problems.append(Problem("theme", _("Choose a theme.")))
    for field, label in REQUIRED_TEXT:
        if not getattr(application, field).strip():
            problems.append(Problem(field, _("%(field)s is empty.") % {"field": _(label)}))
    if len(application.summary) > call.summary_max_length:
        problems.append(
            Problem(
                "summary",
                _("The summary has %(count)d characters; the limit is %(limit)d.")
                % {"count": len(application.summary), "limit": call.summary_max_length},
            )
        )
    if not application.area_prefectures and not application.area_nationwide:
        problems.append(Problem("area_prefectures", _("Choose the project area (prefectures or nationwide).")))
    if application.below_area_rule and not application.area_reason.strip():
        problems.append(
            Problem(
                "area_reason",
                _(
                    "This call is in principle for projects wider than one prefecture. Explain why your "
                    "project covers one prefecture."
                ),
            )
        )
    if application.period_start is None or application.period_end is None:
        problems.append(Problem("period_start", _("Give the project period.")))
    elif period := project_period_problem(application.period_start, application.period_end):
        problems.append(Problem("period_end", period))

    lines = list(application.budget_lines.all())
    if not lines:
        problems.append(Problem("budget", _("Add at least one budget line.")))
    elif application.requested_amount <= 0:
        problems.append(Problem("budget", _("The requested amount must be more than 0 yen.")))
    if over := amount_over_cap(call, application.requested_amount):
        problems.append(
            Problem(
                "budget",
                _("The requested amount %(amount)s exceeds the cap of %(cap)s by %(over)s.")
                % {
                    "amount": format_yen(application.requested_amount),
                    "cap": format_yen(call.cap_amount),
                    "over": format_yen(over),
                },
            )
        )

    if not is_eligible(call, organisation):
        problems.append(
            Problem("organisation", _("This call is not open to %(type)s.") % {"type": organisation.applicant_type})
        )
    number_problem = corporate_number_problem(organisation.applicant_type, organisation.corporate_number)
    if number_problem == CORPORATE_NUMBER_MISSING:
        problems.append(Problem("organisation", _("Enter your organisation's corporate number (法人番号).")))
    elif number_problem == CORPORATE_NUMBER_UNEXPECTED:
        problems.append(Problem("organisation", unexpected_corporate_number_message()))
    missing = [
        _(label) for field, label in required_organisation_fields(organisation) if not getattr(organisation, field)
    ]
    if missing:
        problems.append(
            Problem(
                "organisation",
                _("Complete your organisation's profile: %(fields)s.") % {"fields": join_list(missing)},
            )
        )
    for attachment in application.attachments.all():
        if attachment.scan_status == ScanStatus.QUARANTINED:
            problems.append(
                Problem(
                    "attachments",
                    _("The virus check quarantined %(name)s: remove it and attach a clean copy.")
                    % {"name": attachment.original_name},
                )
            )
    problems += schema_problems(application)
    return problems


SCHEMA_KEY_PREFIX = "form-"


def schema_key(section: FormSection) -> str:
    """The task-list key (and ``Problem.field``) of a section of the call's own form."""
    return f"{SCHEMA_KEY_PREFIX}{section.key}"


def schema_problems(application: Application) -> list[Problem]:
    """The call's own form (issue 16): required answers missing among the fields shown with the
    stored answers, and amounts over the 補助率. The status is kept on the application for the task
    list of the same request (``sections.tasks``)."""
    status = answer_store.form_status(application)
    application._form_status = status
    problems = [
        Problem(
            schema_key(state.section),
            _("%(section)s: answer %(fields)s.") % {"section": str(state.section), "fields": join_list(state.missing)},
        )
        for state in status.states
        if state.missing
    ]
    problems += [Problem(schema_key(share.section), share.message) for share in status.shares]
    if status.requested_total is not None and status.requested_total != application.requested_amount:
        problems.append(
            Problem(
                "budget",
                _(
                    "The budget's total (%(budget)s) differs from the amounts requested in the application form "
                    "(%(requested)s in all): the budget sets out the amount requested, so make its total the same."
                )
                % {"budget": format_yen(application.requested_amount), "requested": format_yen(status.requested_total)},
            )
        )
    return problems
