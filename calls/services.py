"""State changes of a call's application form versions (issue 16). Each function is one
transaction, checks its permission predicate first and changes state only through
``kodoku_portal.workflow.change_state``.

- ``form_version_draft(call, by=…)``: a new draft version, a copy of the newest version (or empty).
- ``form_version_publish(version, by=…)``: validates the draft (calls/form_schema.py), publishes it
  and retires the version published before it. A published version is never edited again.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from kodoku_portal.workflow import Refused, change_state, record

from .form_schema import Problem, schema_of, validate
from .models import Call, FormField, FormSection, FormVersion, FormVersionStatus
from .rules import can_edit_forms


def _require_staff(user: User | None) -> None:
    if user is not None and not can_edit_forms(user):
        raise Refused(_("Only staff may change application forms."), code="forbidden")


def form_version_problems(version: FormVersion) -> list[Problem]:
    """What stops ``version`` from being published (nothing: an empty list)."""
    return validate(schema_of(version))


def published_version(call: Call) -> FormVersion | None:
    """The call's form in use: its newest published version, or None."""
    return call.form_versions.filter(status=FormVersionStatus.PUBLISHED).order_by("-number").first()


@transaction.atomic
def form_version_draft(call: Call, *, by: User | None) -> FormVersion:
    """A new draft version numbered after the call's newest, with a copy of that version's
    sections and fields (so staff change only what changes)."""
    _require_staff(by)
    Call.objects.select_for_update().filter(pk=call.pk).first()  # numbers are taken one at a time
    if call.form_versions.filter(status=FormVersionStatus.DRAFT).exists():
        raise Refused(_("This call already has a draft form version: edit that one."), code="draft_exists")
    newest = call.form_versions.order_by("-number").first()
    number = (call.form_versions.aggregate(top=Max("number"))["top"] or 0) + 1
    draft = FormVersion.objects.create(call=call, number=number)
    if newest is not None:
        sections = {}
        for section in newest.sections.all():
            sections[section.pk] = FormSection.objects.create(
                version=draft, key=section.key, title=section.title, title_en=section.title_en, order=section.order
            )
        copied = [
            FormField(
                version=draft,
                section=sections[item.section_id],
                **{
                    name: getattr(item, name)
                    for name in (
                        "key",
                        "label",
                        "label_en",
                        "help_text",
                        "help_text_en",
                        "kind",
                        "required",
                        "max_length",
                        "choices",
                        "order",
                        "condition_field",
                        "condition_operator",
                        "condition_value",
                        "share_of",
                        "in_summaries",
                    )
                },
            )
            for item in newest.fields.all()
        ]
        FormField.objects.bulk_create(copied)
    record(draft, by=by, action="form_version_drafted", after={"number": number}, call_id=call.pk)
    return draft


@transaction.atomic
def form_version_publish(version: FormVersion, *, by: User | None) -> FormVersion:
    """Publish a draft version once it has no problem; the version published before is retired."""
    _require_staff(by)
    version = FormVersion.objects.select_for_update().select_related("call").get(pk=version.pk)
    if version.status == FormVersionStatus.DRAFT:
        problems = form_version_problems(version)
        if problems:
            raise Refused(*[problem.message for problem in problems], code="invalid_form")
    previous = list(
        FormVersion.objects.select_for_update().filter(call_id=version.call_id, status=FormVersionStatus.PUBLISHED)
    )
    version.published_at = timezone.now()
    change_state(
        version,
        FormVersionStatus.PUBLISHED,
        by=by,
        action="form_version_published",
        update_fields=["published_at"],
        call_id=version.call_id,
    )
    for old in previous:
        change_state(old, FormVersionStatus.RETIRED, by=by, action="form_version_retired", call_id=version.call_id)
    return version
