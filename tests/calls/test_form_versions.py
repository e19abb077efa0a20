"""Versions of a call's application form: published by a service that validates them, never
edited once published, copied into a new draft; edited in the admin with validate and publish
actions; previewed by staff."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from calls.models import FormField, FormSection, FormVersion, FormVersionStatus, FrozenVersion
from calls.services import form_version_draft, form_version_publish, published_version
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import CallFactory, UserFactory, enable_totp
from tests.support.forms import SIMPLE_FORM, build_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


def test_publishing_validates_audits_and_retires_the_version_before(staff):
    call = CallFactory()
    first = build_version(call, by=staff)
    assert first.status == FormVersionStatus.PUBLISHED and first.published_at is not None
    second = build_version(call, publish=False)
    form_version_publish(second, by=staff)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (FormVersionStatus.RETIRED, FormVersionStatus.PUBLISHED)
    assert published_version(call) == second
    actions = list(AuditEntry.objects.filter(call_id=call.pk).values_list("action", flat=True).order_by("id"))
    assert actions == ["form_version_published", "form_version_published", "form_version_retired"]


def test_a_version_with_problems_is_not_published(staff):
    call = CallFactory()
    broken = [("s", "区分", [{"key": "a", "kind": "short_text", "label": "A", "condition_field": "zz",
                                "condition_operator": "equals", "condition_value": "1"}])]  # fmt: skip
    version = build_version(call, broken, publish=False)
    with pytest.raises(Refused) as refused:
        form_version_publish(version, by=staff)
    assert refused.value.code == "invalid_form"
    version.refresh_from_db()
    assert version.status == FormVersionStatus.DRAFT


def test_an_applicant_cannot_publish():
    version = build_version(CallFactory(), publish=False)
    with pytest.raises(Refused) as refused:
        form_version_publish(version, by=UserFactory(role=Role.APPLICANT))
    assert refused.value.code == "forbidden"


def test_a_published_version_cannot_be_edited():
    version = build_version(CallFactory())
    field = version.fields.get(key="plan")
    field.label = "変更"
    with pytest.raises(FrozenVersion):
        field.save()
    with pytest.raises(FrozenVersion):
        version.sections.first().delete()
    with pytest.raises(FrozenVersion), transaction.atomic():
        version.fields.filter(key="plan").delete()  # a queryset's delete too
    with pytest.raises(FrozenVersion):
        FormField.objects.create(version=version, section=version.sections.first(), key="new", kind="date", label="x")
    assert version.fields.get(key="plan").label == "事業計画"


def test_a_new_draft_copies_the_newest_version(staff):
    call = CallFactory()
    published = build_version(call)
    draft = form_version_draft(call, by=staff)
    assert (draft.number, draft.status) == (2, FormVersionStatus.DRAFT)
    assert sorted(draft.fields.values_list("key", flat=True)) == sorted(published.fields.values_list("key", flat=True))
    copied = draft.fields.get(key="venue_other")
    assert (copied.section.version, copied.condition_field) == (draft, "venue")
    with pytest.raises(Refused):
        form_version_draft(call, by=staff)  # one draft at a time
    with transaction.atomic():
        copied.label = "その他の場所"
        copied.save()  # a draft is edited freely


def test_the_admin_edits_a_draft_and_publishes_it(admin_client):
    call = CallFactory()
    response = admin_client.post(
        "/admin/calls/call/", {"action": "start_form_draft", "_selected_action": [call.pk]}, follow=True
    )
    assert response.status_code == 200
    version = FormVersion.objects.get(call=call)
    section = FormSection.objects.create(version=version, key="basic", title="基本情報")
    FormField.objects.create(version=version, section=section, key="name", kind="short_text", label="名称")
    page = admin_client.get(f"/admin/calls/formversion/{version.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert f"/staff/forms/{version.pk}/preview/" in body
    assert 'name="fields-0-key"' in body  # the fields are edited inline
    admin_client.post("/admin/calls/formversion/", {"action": "validate_versions", "_selected_action": [version.pk]})
    admin_client.post("/admin/calls/formversion/", {"action": "publish_versions", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert version.status == FormVersionStatus.PUBLISHED
    frozen = admin_client.get(f"/admin/calls/formversion/{version.pk}/change/").content.decode()
    assert 'name="fields-0-key"' not in frozen  # read only once published


def test_the_admin_publish_action_reports_the_problems(admin_client):
    version = build_version(
        CallFactory(), [("s", "区分", [{"key": "c", "kind": "choice", "label": "C"}])], publish=False
    )
    response = admin_client.post(
        "/admin/calls/formversion/",
        {"action": "publish_versions", "_selected_action": [version.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "has no choices" in response.content.decode()
    version.refresh_from_db()
    assert version.status == FormVersionStatus.DRAFT


def test_the_preview_shows_every_section_and_checks_entries_without_storing(client, staff):
    version = build_version(CallFactory(), publish=False)
    client.force_login(staff)
    page = client.get(f"/staff/forms/{version.pk}/preview/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "基本情報" in body and "活動内容" in body and "js/schema-form.js" in body
    assert 'data-condition-field="venue"' in body
    checked = client.post(
        f"/staff/forms/{version.pk}/preview/",
        {"s1-activity-venue": "other", "s1-activity-plan": "計画"},
    )
    assert checked.status_code == 200
    assert checked.context["checked"] is False  # venue_other is required once venue is "other"
    forms = {section.key: form for section, form in checked.context["sections"]}
    assert "venue_other" in forms["activity"].errors
    assert version.fields.count() == sum(len(fields) for _key, _title, fields in SIMPLE_FORM)


def test_the_preview_reads_a_fixed_number_of_queries(client, staff):
    client.force_login(staff)
    small = build_version(CallFactory(), [("s", "区分", [{"key": "a", "kind": "short_text", "label": "A"}])])
    large = build_version(CallFactory())  # 11 fields in 2 sections
    counts = []
    for version in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/staff/forms/{version.pk}/preview/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_admin_saves_sections_and_fields_inline(admin_client):
    version = build_version(
        CallFactory(), [("basic", "基本", [{"key": "name", "kind": "short_text", "label": "名称"}])], publish=False
    )
    section = version.sections.get()
    field = version.fields.get()
    inline = {
        "note": "",
        "sections-TOTAL_FORMS": "1",
        "sections-INITIAL_FORMS": "1",
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "1000",
        "sections-0-id": section.pk,
        "sections-0-version": version.pk,
        "sections-0-order": "0",
        "sections-0-key": "basic",
        "sections-0-title": "基本情報",
        "fields-TOTAL_FORMS": "2",
        "fields-INITIAL_FORMS": "1",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000",
        "fields-0-id": field.pk,
        "fields-0-version": version.pk,
        "fields-0-section": section.pk,
        "fields-0-order": "0",
        "fields-0-key": "name",
        "fields-0-kind": "choice",
        "fields-0-label": "種別",
        "fields-0-choices": "npo|NPO法人|NPO\nother|その他",
        "fields-1-version": version.pk,
        "fields-1-section": section.pk,
        "fields-1-order": "1",
        "fields-1-key": "other_kind",
        "fields-1-kind": "short_text",
        "fields-1-label": "その他の種別",
        "fields-1-condition_field": "name",
        "fields-1-condition_operator": "equals",
        "fields-1-condition_value": "other",
    }
    response = admin_client.post(f"/admin/calls/formversion/{version.pk}/change/", inline)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(version.fields.order_by("order").values_list("key", "kind", "condition_field")) == [
        ("name", "choice", ""),
        ("other_kind", "short_text", "name"),
    ]
    assert version.fields.get(key="name").choice_list() == [("npo", "NPO法人", "NPO"), ("other", "その他", "")]
    form_version_publish(version, by=None)
