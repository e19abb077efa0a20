"""The NPO model survey's project questions move from columns of the application into its call's
form (issue 16, item 2): 目的, 対象者, 事業内容, 実施体制, 連携先, 期待される成果と評価指標 and 実施スケジュール
become the first section (事業の内容, key ``project``) of every form version of every call, and each
application's texts become its answers to them.

- A call without a form in use (none, or only a draft or retired versions) gets one more version
  with these questions only, published now.
- A submitted application without a version is given the one in use, with which its texts are
  shown as before; a draft without one answers the version in use, as drafts do.
- Nothing is lost: a text whose key another field of the version already answers stops the
  migration with a message instead.

Backwards, the answers go back into the columns and the section leaves the versions (a version
made by this move and left with no section is removed).

The definition is a frozen copy of ``calls/standard_form.py`` as it was when this was written.
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

SECTION = {"key": "project", "title": "事業の内容", "title_en": "About the project"}
FIELDS = (
    {"key": "purpose", "label": "目的", "label_en": "Purpose", "required": True},
    {"key": "target_people", "label": "対象者", "label_en": "Target people", "required": True},
    {"key": "activities", "label": "事業内容", "label_en": "Activities", "required": True},
    {"key": "structure", "label": "実施体制", "label_en": "Project structure", "required": True},
    {"key": "partners", "label": "連携先", "label_en": "Partners", "required": False},
    {
        "key": "expected_results",
        "label": "期待される成果と評価指標",
        "label_en": "Expected results and indicators",
        "required": True,
    },
    {"key": "schedule", "label": "実施スケジュール", "label_en": "Schedule", "required": True},
)
KEYS = tuple(item["key"] for item in FIELDS)
MOVED_NOTE = "事業の内容を申請様式に移行"
BATCH = 1000


def _add_section(apps, version) -> None:
    FormSection = apps.get_model("calls", "FormSection")
    FormField = apps.get_model("calls", "FormField")
    if FormSection.objects.filter(version=version, key=SECTION["key"]).exists():
        return
    taken = set(FormField.objects.filter(version=version, key__in=KEYS).values_list("key", flat=True))
    FormSection.objects.filter(version=version).update(order=F("order") + 1)
    section = FormSection.objects.create(version=version, order=0, **SECTION)
    FormField.objects.bulk_create(
        FormField(version=version, section=section, order=order, kind="long_text", in_summaries=False, **item)
        for order, item in enumerate(FIELDS)
        if item["key"] not in taken
    )


def forwards(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    FormVersion = apps.get_model("calls", "FormVersion")
    Application = apps.get_model("applications", "Application")
    Answer = apps.get_model("applications", "Answer")
    now = timezone.now()
    in_use = {}
    for call in Call.objects.order_by("pk"):
        versions = list(FormVersion.objects.filter(call=call).order_by("number"))
        if not any(version.status == "published" for version in versions):
            # No form in use (none at all, or only a draft being written or retired ones): the
            # questions every application was asked become one, published now.
            number = max((version.number for version in versions), default=0) + 1
            versions.append(
                FormVersion.objects.create(
                    call=call, number=number, status="published", published_at=now, note=MOVED_NOTE
                )
            )
        for version in versions:
            _add_section(apps, version)
        in_use[call.pk] = next(version.pk for version in versions if version.status == "published")
    # A submitted application is shown with the version it was submitted under.
    for call_id, version_id in in_use.items():
        Application.objects.filter(call_id=call_id, form_version__isnull=True).exclude(status="draft").update(
            form_version_id=version_id
        )
    answered = set(Answer.objects.filter(field_key__in=KEYS).values_list("application_id", "field_key"))
    applications = Application.objects.order_by("pk").values_list("pk", "call_id", "form_version_id", *KEYS)
    batch = []
    for pk, call_id, form_version_id, *texts in applications.iterator(chunk_size=BATCH):
        given = {key: text for key, text in zip(KEYS, texts, strict=True) if text}
        if not given:
            continue
        clashing = {key for key in given if (pk, key) in answered}
        if clashing:
            raise RuntimeError(
                f"Application {pk} already answers {sorted(clashing)} in its form: its texts of the same name "
                "cannot move there. Rename those fields of the form first."
            )
        version_id = form_version_id or in_use[call_id]
        batch += [
            Answer(application_id=pk, field_key=key, form_version_id=version_id, text=text)
            for key, text in given.items()
        ]
        if len(batch) >= BATCH:
            Answer.objects.bulk_create(batch)
            batch = []
    Answer.objects.bulk_create(batch)


def backwards(apps, schema_editor):
    FormSection = apps.get_model("calls", "FormSection")
    FormField = apps.get_model("calls", "FormField")
    Application = apps.get_model("applications", "Application")
    Answer = apps.get_model("applications", "Answer")
    moved = Answer.objects.filter(field_key__in=KEYS, form_version__sections__key=SECTION["key"])
    texts: dict[int, dict[str, str]] = {}
    for application_id, key, text in moved.values_list("application_id", "field_key", "text").iterator(
        chunk_size=BATCH
    ):
        texts.setdefault(application_id, {})[key] = text
    for application_id, values in texts.items():
        Application.objects.filter(pk=application_id).update(**values)
    Answer.objects.filter(pk__in=moved.values("pk")).delete()
    for section in FormSection.objects.filter(key=SECTION["key"]).select_related("version"):
        version = section.version
        FormField.objects.filter(section=section).delete()
        section.delete()
        FormSection.objects.filter(version=version, order__gt=0).update(order=F("order") - 1)
        if version.note == MOVED_NOTE and not FormSection.objects.filter(version=version).exists():
            Application.objects.filter(form_version=version).update(form_version=None)
            if not Answer.objects.filter(form_version=version).exists():
                version.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0011_list_indexes"),
        ("calls", "0012_form_field_in_summaries"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
