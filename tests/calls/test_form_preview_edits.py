"""The live preview of a draft form version's unsaved changes (issue 16): the admin's change page
posts its form as it stands to calls:form_preview_edits, which binds the admin's own formsets,
draws the form as applicants would see it with the changes, lists the validator's problems and the
admin's errors, and saves nothing."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.models import Role
from calls.form_builder import FormDefinition, section_form
from calls.models import FormField, FormSection, FormVersion
from kodoku_portal.models import AuditEntry
from tests.factories import CallFactory, UserFactory, enable_totp
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db

SECTION_FIELDS = ("order", "key", "title", "title_en")
FIELD_FIELDS = (
    "section",
    "order",
    "key",
    "kind",
    "required",
    "in_summaries",
    "label",
    "label_en",
    "help_text",
    "help_text_en",
    "max_length",
    "choices",
    "share_of",
    "condition_field",
    "condition_operator",
    "condition_value",
)


def _value(instance, name):
    if name == "section":
        return instance.section_id
    value = getattr(instance, name)
    if isinstance(value, bool):
        return "on" if value else ""
    return "" if value is None else value


def admin_data(version: FormVersion) -> dict:
    """What the admin's change page of ``version`` posts when nothing is changed."""
    data = {"note": version.note, "_continue": "1"}
    for prefix, rows, names in (
        ("sections", version.ordered_sections(), SECTION_FIELDS),
        ("fields", version.ordered_fields(), FIELD_FIELDS),
    ):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            f"{prefix}-INITIAL_FORMS": str(len(rows)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for index, row in enumerate(rows):
            data[f"{prefix}-{index}-id"] = row.pk
            data[f"{prefix}-{index}-version"] = version.pk
            for name in names:
                data[f"{prefix}-{index}-{name}"] = _value(row, name)
    return {key: value for key, value in data.items() if value != ""}


def field_index(data: dict, key: str) -> int:
    return next(int(name.split("-")[1]) for name, value in data.items() if name.endswith("-key") and value == key)


def add_field(data: dict, version: FormVersion, section_key: str, **values) -> None:
    index = int(data["fields-TOTAL_FORMS"])
    data["fields-TOTAL_FORMS"] = str(index + 1)
    data[f"fields-{index}-version"] = version.pk
    data[f"fields-{index}-section"] = version.sections.get(key=section_key).pk
    data |= {f"fields-{index}-{name}": value for name, value in values.items()}


def snapshot(version: FormVersion):
    """Every stored row of the version, the admin's history and the audit trail."""
    return (
        FormVersion.objects.filter(pk=version.pk).values().get(),
        list(FormSection.objects.filter(version=version).order_by("pk").values()),
        list(FormField.objects.filter(version=version).order_by("pk").values()),
        LogEntry.objects.count(),
        AuditEntry.objects.count(),
    )


def preview_url(version: FormVersion) -> str:
    return reverse("calls:form_preview_edits", args=[version.pk])


@pytest.fixture
def draft():
    return build_version(CallFactory(), publish=False)


def test_the_preview_shows_unsaved_changes_and_saves_nothing(admin_client, draft):
    data = admin_data(draft)
    data[f"fields-{field_index(data, 'plan')}-label"] = "事業の計画（改）"
    add_field(data, draft, "basic", order="9", key="budget_note", kind="long_text", label="予算についての補足")
    before = snapshot(draft)
    response = admin_client.post(preview_url(draft), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "事業の計画（改）" in body and "事業計画" not in body
    assert "予算についての補足" in body and 'name="answer0-basic-budget_note"' in body
    assert response.context["problems"] == [] and response.context["edit_errors"] == []
    assert "js/schema-form.js" in body
    assert snapshot(draft) == before
    assert draft.fields.get(key="plan").label == "事業計画" and not draft.fields.filter(key="budget_note").exists()


def test_the_validator_reports_a_condition_on_a_missing_key_in_the_users_language(admin_client, draft):
    data = admin_data(draft)
    plan = field_index(data, "plan")
    data |= {
        f"fields-{plan}-condition_field": "nowhere",
        f"fields-{plan}-condition_operator": "equals",
        f"fields-{plan}-condition_value": "1",
    }
    before = snapshot(draft)
    japanese = admin_client.post(preview_url(draft), data, HTTP_ACCEPT_LANGUAGE="ja")
    assert japanese.status_code == 200
    assert [problem.code for problem in japanese.context["problems"]] == ["condition_unknown"]
    assert "「plan」の表示条件が参照する「nowhere」は、この様式の項目ではありません。" in japanese.content.decode()
    english = admin_client.post(preview_url(draft), data, HTTP_ACCEPT_LANGUAGE="en")
    assert "The condition of “plan” refers to “nowhere”, which is not a field of this form." in (
        english.content.decode()
    )
    assert snapshot(draft) == before


def test_the_admins_errors_are_listed_and_their_row_left_out(admin_client, draft):
    data = admin_data(draft)
    add_field(data, draft, "basic", order="9", key="no_label", kind="short_text")  # the label is required
    data[f"fields-{field_index(data, 'people')}-kind"] = "colour"
    response = admin_client.post(preview_url(draft), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["edit_errors"]
    assert "Form field 12 (no_label), Label (Japanese): This field is required." in errors
    assert any(error.startswith("Form field 10 (people), Kind: Select a valid choice.") for error in errors)
    body = response.content.decode()
    assert "The administration would not save these changes" in body
    drawn = [row["item"].key for _section, form in response.context["sections"] for row in form.rows()]
    assert "no_label" not in drawn and "people" not in drawn  # rows in error are left out, not drawn as saved
    assert "plan" in drawn and 'for="id_answer1-activity-plan"' in body  # the rest is drawn


def test_a_post_without_the_admins_forms_is_told_not_failed(admin_client, draft):
    """No management forms, a note too long: the errors are listed (no 500) and nothing is drawn."""
    before = snapshot(draft)
    response = admin_client.post(preview_url(draft), {"note": "x" * 201}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    errors = response.context["edit_errors"]
    assert any(error.startswith("What changed: Ensure this value has at most 200 characters") for error in errors)
    assert any(error.startswith("Form sections: ManagementForm data is missing") for error in errors)
    assert any(error.startswith("Form fields: ManagementForm data is missing") for error in errors)
    assert response.context["sections"] == []
    assert [problem.code for problem in response.context["problems"]] == ["empty"]
    assert snapshot(draft) == before


def test_conditions_of_the_unsaved_form_decide_the_check_of_the_entries(admin_client, draft):
    data = admin_data(draft)
    plan = field_index(data, "plan")
    data |= {
        f"fields-{plan}-condition_field": "venue",
        f"fields-{plan}-condition_operator": "equals",
        f"fields-{plan}-condition_value": "other",
    }
    shown = admin_client.post(preview_url(draft), data).content.decode()
    assert 'id="schema-field-plan"' in shown
    assert 'data-condition-field="venue" data-condition-operator="equals" data-condition-value="other"' in shown
    assert 'name="fields-0-key"' in shown  # the admin's data is carried for the check
    before = snapshot(draft)
    entries = {"_check": "1", "answer0-basic-project_name": "居場所事業", "answer1-activity-venue": "own"}
    checked = admin_client.post(preview_url(draft), data | entries)
    assert checked.status_code == 200
    assert checked.context["checked"] is True  # plan, required, is hidden by its new condition
    refused = admin_client.post(preview_url(draft), data | entries | {"answer1-activity-venue": "other"})
    forms = {section.key: form for section, form in refused.context["sections"]}
    assert refused.context["checked"] is False and "plan" in forms["activity"].errors
    saved = admin_client.post(reverse("calls:form_preview", args=[draft.pk]), {"s1-activity-venue": "own"})
    assert "plan" in {section.key: form for section, form in saved.context["sections"]}["activity"].errors
    assert snapshot(draft) == before


def test_deleted_rows_are_left_out_with_the_fields_of_a_deleted_section(admin_client, draft):
    data = admin_data(draft)
    data[f"fields-{field_index(data, 'plan')}-DELETE"] = "on"
    data["sections-0-DELETE"] = "on"  # basic, with its three fields
    before = snapshot(draft)
    response = admin_client.post(preview_url(draft), data)
    drawn = [row["item"].key for _section, form in response.context["sections"] for row in form.rows()]
    assert drawn == ["venue", "venue_other", "menu", "areas", "tokyo_note", "people", "plan_file"]
    assert [section.key for section, _form in response.context["sections"]] == ["activity"]
    assert snapshot(draft) == before


def test_the_draft_admin_page_has_the_preview_button_and_a_published_one_has_not(admin_client, draft):
    page = admin_client.get(f"/admin/calls/formversion/{draft.pk}/change/").content.decode()
    assert f'formaction="{preview_url(draft)}"' in page and f'formtarget="form-preview-{draft.pk}"' in page
    assert "js/admin-form-preview.js" in page
    # After the save buttons: Enter in a box still saves.
    assert page.index('name="_save"') < page.index(f'formaction="{preview_url(draft)}"')
    published = build_version(CallFactory())
    frozen = admin_client.get(f"/admin/calls/formversion/{published.pk}/change/").content.decode()
    assert "formaction=" not in frozen and "admin-form-preview.js" not in frozen
    assert f"/staff/forms/{published.pk}/preview/" in frozen  # the saved version is previewed as before


def test_a_published_version_is_previewed_as_saved(admin_client):
    published = build_version(CallFactory())
    data = admin_data(published)
    data[f"fields-{field_index(data, 'plan')}-label"] = "書き換え"
    before = snapshot(published)
    response = admin_client.post(preview_url(published), data)
    assert response.status_code == 302 and response.url == reverse("calls:form_preview", args=[published.pk])
    saved = admin_client.get(response.url)
    assert saved.status_code == 200 and "事業計画" in saved.content.decode()
    assert snapshot(published) == before


def test_a_get_goes_to_the_saved_preview(admin_client, draft):
    response = admin_client.get(preview_url(draft))
    assert response.status_code == 302 and response.url == reverse("calls:form_preview", args=[draft.pk])


def test_the_preview_may_be_framed_by_the_admin_page_only(admin_client, draft):
    response = admin_client.post(preview_url(draft), admin_data(draft))
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";") if part.strip()
    )
    assert policy["frame-ancestors"] == "'self'"
    assert policy["script-src"] == "'self'"  # the rest of the policy is the portal's
    saved = admin_client.get(reverse("calls:form_preview", args=[draft.pk]))
    assert saved.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), (Role.APPLICANT, 403), (Role.REVIEWER, 403), (Role.STAFF, 200), (Role.ADMINISTRATOR, 200)],
)
def test_only_staff_may_preview_changes(client, draft, role, expected):
    if role is not None:
        user = UserFactory(role=role)
        if role != Role.APPLICANT:
            enable_totp(user)
        client.force_login(user)
    data = admin_data(draft)
    data[f"fields-{field_index(data, 'plan')}-label"] = "職員の書き換え"
    response = client.post(preview_url(draft), data)
    assert response.status_code == expected
    if role is None:
        assert response.url.startswith(reverse("account_login"))
    if expected == 200:
        assert "職員の書き換え" in response.content.decode()  # staff's changes are drawn as an administrator's


def test_the_builder_reads_a_definition_as_a_version(draft):
    """section_form draws the same form from a FormDefinition of the saved rows as from the version."""
    sections, fields = list(draft.sections.all()), list(draft.fields.all())
    definition = FormDefinition(draft, reversed(sections), reversed(fields))
    assert [s.key for s in definition.ordered_sections()] == [s.key for s in draft.ordered_sections()]
    assert [f.key for f in definition.ordered_fields()] == [f.key for f in draft.ordered_fields()]
    for section in draft.ordered_sections():
        from_version = section_form(draft, section)
        from_definition = section_form(definition, section)
        assert list(from_definition.fields) == list(from_version.fields)
        assert str(from_definition) == str(from_version)
