"""Every state change of organisations and applications. Each function is one transaction."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kodoku_portal.prefectures import is_prefecture_code

from .models import Application, ApplicationStatus, Organisation, ReceiptCounter, can_transition


def _next_receipt_number(call) -> str:
    """PREFIX-0001, PREFIX-0002, … per call; the counter row is locked until commit."""
    counter, _created = ReceiptCounter.objects.get_or_create(call=call)
    counter = ReceiptCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{call.receipt_prefix}-{counter.last:04d}"


def _check_areas(prefectures: list[str]) -> None:
    for code in prefectures:
        if not is_prefecture_code(code):
            raise ValidationError(_("Unknown prefecture code: %(code)s") % {"code": code})


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
    _check_areas(area_prefectures)
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
    for target in (ApplicationStatus.SUBMITTED, outcome):
        if not can_transition(application.status, target):
            raise ValidationError(f"{application.status} → {target} is not a valid transition")
        application.status = target
    application.receipt_number = _next_receipt_number(call)
    application.submitted_at = submitted_at
    application.save()
    return application


@transaction.atomic
def organisation_create(
    *,
    name: str,
    applicant_type,
    prefecture: str,
    corporate_number: str = "",
    name_kana: str = "",
    owner=None,
) -> Organisation:
    """Create an organisation; its creator (if given) becomes its owner."""
    from .models import MemberRole, Membership

    if not is_prefecture_code(prefecture):
        raise ValidationError(_("Unknown prefecture code: %(code)s") % {"code": prefecture})
    organisation = Organisation.objects.create(
        name=name,
        name_kana=name_kana,
        applicant_type=applicant_type,
        prefecture=prefecture,
        corporate_number=corporate_number,
    )
    if owner is not None:
        Membership.objects.create(organisation=organisation, user=owner, role=MemberRole.OWNER)
    return organisation
