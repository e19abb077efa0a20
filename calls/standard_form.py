"""The NPO model survey's project questions as a section of a call's form (issue 16, item 2).

Until forms were data, every call asked the same seven long texts about the project (目的, 対象者,
事業内容, 実施体制, 連携先, 期待される成果と評価指標, 実施スケジュール) as columns of the application.
They are now the section ``project`` (事業の内容) of each call's form, answered per application
(``applications.Answer``). What lists, rankings, budgets, exports and the award lifecycle need —
the theme, 事業名, 概要, the project period and area, the requested amount — stay columns of the
application and its fixed 申請内容 section.

``PROJECT_FIELDS`` is the definition; ``applications/migrations/0012_project_questions_as_form``
carries a frozen copy (a migration must not change when this module does), and
``add_project_section`` puts the section into a draft version (the demo, the admin action
"add the NPO model survey's project questions", tests).

The questions are long texts, shown on screens, the preview and the reviewers' pages, but neither
on the receipt nor in the adoption list (``in_summaries=False``): those never carried them.
"""

from __future__ import annotations

from django.db import transaction

from .models import Call, FormField, FormSection, FormVersion

PROJECT_SECTION_KEY = "project"
PROJECT_SECTION = {"key": PROJECT_SECTION_KEY, "title": "事業の内容", "title_en": "About the project"}

# The key the reviewer-conflict checks read the partners from (reviews/integrity.py).
PARTNERS_KEY = "partners"

PROJECT_FIELDS: tuple[dict, ...] = (
    {"key": "purpose", "label": "目的", "label_en": "Purpose", "required": True},
    {"key": "target_people", "label": "対象者", "label_en": "Target people", "required": True},
    {"key": "activities", "label": "事業内容", "label_en": "Activities", "required": True},
    {"key": "structure", "label": "実施体制", "label_en": "Project structure", "required": True},
    {"key": PARTNERS_KEY, "label": "連携先", "label_en": "Partners", "required": False},
    {
        "key": "expected_results",
        "label": "期待される成果と評価指標",
        "label_en": "Expected results and indicators",
        "required": True,
    },
    {"key": "schedule", "label": "実施スケジュール", "label_en": "Schedule", "required": True},
)
PROJECT_KEYS = tuple(item["key"] for item in PROJECT_FIELDS)


def project_field_values(item: dict) -> dict:
    """A ``FormField``'s values (besides version, section and order) for one of ``PROJECT_FIELDS``."""
    return {"kind": "long_text", "in_summaries": False, **item}


@transaction.atomic
def add_project_section(version: FormVersion) -> FormSection:
    """Put the project questions first in a draft ``version`` (its other sections move down one).
    A published version cannot change (``FrozenVersion``); a version that has the section already,
    or one of its keys, is left as it is and its section returned."""
    existing = version.sections.filter(key=PROJECT_SECTION_KEY).first()
    if existing is not None:
        return existing
    clashing = set(version.fields.filter(key__in=PROJECT_KEYS).values_list("key", flat=True))
    for section in version.sections.order_by("-order"):
        section.order += 1
        section.save(update_fields=["order"])
    section = FormSection.objects.create(version=version, order=0, **PROJECT_SECTION)
    for order, item in enumerate(PROJECT_FIELDS):
        if item["key"] not in clashing:
            FormField.objects.create(version=version, section=section, order=order, **project_field_values(item))
    return section


@transaction.atomic
def project_form_publish(call: Call, *, by=None, note: str = "") -> FormVersion:
    """Publish the call's next form version, asking the project questions only (and retire the
    one in use): a call's plain NPO model survey form (benchmarks, tests)."""
    from .services import form_version_publish

    version = FormVersion.objects.create(call=call, number=call.form_versions.count() + 1, note=note)
    add_project_section(version)
    form_version_publish(version, by=by)
    version.refresh_from_db()
    return version
