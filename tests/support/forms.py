"""A call's application form for tests: a version with sections and fields from a compact spec."""

from django.db import transaction

from calls.models import FormField, FormSection, FormVersion, FormVersionStatus
from calls.services import form_version_publish

# The form most tests use: an 基本 section with a text, a yen amount and a date; a 活動 section
# with a single choice, a field shown only when it is "other", a multiple choice, prefectures, a
# field shown only when the prefectures include Tokyo, a required long text and a file slot.
SIMPLE_FORM = [
    (
        "basic",
        "基本情報",
        [
            {"key": "project_name", "kind": "short_text", "label": "事業名", "required": True},
            {"key": "total_cost", "kind": "yen", "label": "総事業費"},
            {"key": "start_date", "kind": "date", "label": "開始日"},
        ],
    ),
    (
        "activity",
        "活動内容",
        [
            {"key": "venue", "kind": "choice", "label": "実施場所", "choices": "own|自団体の施設\nother|その他"},
            {
                "key": "venue_other",
                "kind": "short_text",
                "label": "その他の実施場所",
                "required": True,
                "condition_field": "venue",
                "condition_operator": "equals",
                "condition_value": "other",
            },
            {
                "key": "menu",
                "kind": "multi_choice",
                "label": "メニュー",
                "choices": "a|居場所づくり\nb|相談支援\nc|研修",
            },
            {"key": "areas", "kind": "prefectures", "label": "実施地域"},
            {
                "key": "tokyo_note",
                "kind": "long_text",
                "label": "東京都での実施について",
                "max_length": 100,
                "required": True,
                "condition_field": "areas",
                "condition_operator": "includes",
                "condition_value": "13",
            },
            {"key": "plan", "kind": "long_text", "label": "事業計画", "max_length": 400, "required": True},
            {"key": "people", "kind": "whole_number", "label": "想定参加人数"},
            {"key": "plan_file", "kind": "file", "label": "計画書"},
        ],
    ),
]


@transaction.atomic
def build_version(call, spec=SIMPLE_FORM, *, number=None, publish=True, by=None) -> FormVersion:
    number = number or (call.form_versions.count() + 1)
    version = FormVersion.objects.create(call=call, number=number, status=FormVersionStatus.DRAFT)
    for order, (key, title, fields) in enumerate(spec):
        section = FormSection.objects.create(version=version, key=key, title=title, order=order)
        for position, values in enumerate(fields):
            FormField.objects.create(version=version, section=section, order=position, **values)
    if publish:
        form_version_publish(version, by=by)
        version.refresh_from_db()
    return version


def project_version(call, *, by=None) -> FormVersion:
    """The call's next version with the NPO model survey's project questions (calls/standard_form.py), published."""
    from calls.standard_form import project_form_publish

    return project_form_publish(call, by=by)


def answer_project(application, version, **texts):
    """Store answers to the project questions as they stand (e.g. of an application already submitted)."""
    from applications.models import Answer

    for key, text in texts.items():
        Answer.objects.update_or_create(
            application=application, field_key=key, defaults={"form_version": version, "text": text}
        )
    type(application).objects.filter(pk=application.pk).update(form_version=version)
