"""The task list and the section pages (issue 12, item 1): states computed from the draft, a save
of one section never touching another's fields, 前へ / 次へ / タスク一覧へ戻る without JavaScript."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from applications import sections, services
from applications.checks import application_problems
from applications.models import ApplicationStatus, BudgetCategory, BudgetLine, RefusedSave
from applications.services import DRAFT_FIELDS, BudgetLineInput
from tests.factories import UserFactory, enable_totp

from .conftest import COMPLETE_FIELDS
from .test_save_queries import LINES, page_data, store

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def states(client, application) -> dict[str, str]:
    response = client.get(f"/applications/{application.pk}/")
    assert response.status_code == 200
    return {task.section.key: task.state for task in response.context["tasks"]}


def section_data(application, key: str) -> dict:
    """What the page of section ``key`` posts for the stored application, unchanged."""
    section = sections.get(key)
    full = page_data(application)
    data = {"version": full["version"], "section": key}
    for name, value in full.items():
        if name in section.fields or (section.budget and name.startswith("budget-")):
            data[name] = value
    return data


def section_save(client, application, data, **extra):
    return client.post(f"/applications/{application.pk}/save/", data, **extra)


@pytest.fixture
def filled(draft, member):
    from .conftest import save_complete

    return store(save_complete(draft, member), member, LINES)


# --- the registry -----------------------------------------------------------------------------------


def test_every_draft_field_belongs_to_exactly_one_section():
    owners = [name for section in sections.SECTIONS for name in section.fields]
    assert sorted(owners) == sorted(DRAFT_FIELDS)


def test_every_problem_of_an_empty_draft_belongs_to_a_section(draft, npo_type):
    organisation = draft.organisation
    organisation.phone = ""
    organisation.save()
    draft.organisation.applicant_type = npo_type
    problems = application_problems(draft)
    claimed = {name for section in sections.SECTIONS for name in section.problems}
    assert problems and {p.field for p in problems} <= claimed


def test_the_order_is_the_one_the_issue_names():
    assert [s.key for s in sections.SECTIONS] == ["organisation", "content", "budget", "attachments", "check", "submit"]
    assert [s.key for s in sections.pages()] == ["organisation", "content", "budget", "attachments"]


# --- states ---------------------------------------------------------------------------------------


def test_a_new_draft_has_nothing_started_and_cannot_be_checked_yet(client, draft, member):
    client.force_login(member)
    assert states(client, draft) == {
        "organisation": sections.COMPLETED,
        "content": sections.NOT_STARTED,
        "budget": sections.NOT_STARTED,
        "attachments": sections.NOT_STARTED,
        "check": sections.CANNOT_START,
        "submit": sections.CANNOT_START,
    }
    page = client.get(f"/applications/{draft.pk}/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert f'href="/applications/{draft.pk}/section/content/"' in page
    assert f'href="/applications/{draft.pk}/preview/"' not in page  # cannot start yet: no link
    assert "まだ開始できません" in page and "未着手" in page and "完了" in page


def test_a_begun_section_is_in_progress_with_what_is_missing(client, draft, member):
    client.force_login(member)
    store(draft, member, [], title="事業名だけ")
    assert states(client, draft)["content"] == sections.IN_PROGRESS
    page = client.get(f"/applications/{draft.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Summary is empty." in page


def test_a_complete_draft_is_completed_and_may_be_checked_and_submitted(client, filled, member):
    client.force_login(member)
    assert states(client, filled) == {
        "organisation": sections.COMPLETED,
        "content": sections.COMPLETED,
        "budget": sections.COMPLETED,
        "attachments": sections.NOT_STARTED,  # optional: it does not hold the check back
        "check": sections.NOT_STARTED,
        "submit": sections.NOT_STARTED,
    }
    response = client.get(f"/applications/{filled.pk}/", HTTP_ACCEPT_LANGUAGE="ja")
    assert (response.context["completed"], response.context["countable"]) == (3, 4)
    page = response.content.decode()
    assert "4 項目中 3 項目が完了しています。" in page
    assert f'href="/applications/{filled.pk}/preview/"' in page
    assert f'href="/applications/{filled.pk}/preview/#submit"' in page


def test_an_incomplete_profile_puts_the_organisation_in_progress(client, filled, member):
    organisation = filled.organisation
    organisation.phone = ""
    organisation.save()
    client.force_login(member)
    result = states(client, filled)
    assert result["organisation"] == sections.IN_PROGRESS
    assert result["check"] == result["submit"] == sections.CANNOT_START


def test_over_the_cap_the_budget_is_in_progress(client, filled, member):
    store(filled, member, [BudgetLineInput(BudgetCategory.HONORARIA, "謝金", 1, filled.call.cap_amount + 1)])
    client.force_login(member)
    assert states(client, filled)["budget"] == sections.IN_PROGRESS


def test_attachments_are_completed_once_one_is_attached(client, filled, member, django_capture_on_commit_callbacks):
    services.attachment_add(
        application=filled,
        kind="articles",
        upload=SimpleUploadedFile("定款.pdf", PDF, content_type="application/pdf"),
        file_type="pdf",
        user=member,
    )
    client.force_login(member)
    assert states(client, filled)["attachments"] == sections.COMPLETED


def test_the_task_list_query_count_does_not_grow_with_lines(client, filled, member):
    client.force_login(member)
    client.get(f"/applications/{filled.pk}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/applications/{filled.pk}/")
    store(filled, member, LINES * 5)
    with CaptureQueriesContext(connection) as many:
        client.get(f"/applications/{filled.pk}/")
    assert len(many) == len(few)


# --- a save touches only its section -----------------------------------------------------------------


def test_a_budget_section_save_never_blanks_the_other_sections(client, filled, member):
    client.force_login(member)
    data = section_data(filled, "budget")
    assert "title" not in data and "area_prefectures" not in data
    data["budget-0-quantity"] = "３"
    response = section_save(client, filled, data, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 200, response.content
    filled.refresh_from_db()
    for name, value in COMPLETE_FIELDS.items():
        assert getattr(filled, name) == value, name
    assert filled.theme_id is not None
    assert filled.requested_amount == 30_000 + 5_000 + 3_000


def test_a_content_section_save_never_touches_the_budget(client, filled, member):
    client.force_login(member)
    before = list(BudgetLine.objects.filter(application=filled).values_list("pk", "quantity"))
    data = section_data(filled, "content")
    assert not [name for name in data if name.startswith("budget-")]
    data["title"] = "新しい事業名"
    with CaptureQueriesContext(connection) as captured:
        response = section_save(client, filled, data, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 200, response.content
    assert response.json()["requested_amount"] == 20_000 + 5_000 + 3_000
    assert not [q for q in captured.captured_queries if "applications_budgetline" in q["sql"]]
    filled.refresh_from_db()
    assert filled.title == "新しい事業名"
    assert list(BudgetLine.objects.filter(application=filled).values_list("pk", "quantity")) == before


def test_a_section_save_with_only_the_version_changes_nothing_but_the_version(client, filled, member):
    client.force_login(member)
    for key in ("content", "budget"):
        version = filled.version
        data = {"version": str(version), "section": key}
        if key == "budget":
            data |= {"budget-TOTAL_FORMS": "0", "budget-INITIAL_FORMS": "0"}
        response = section_save(client, filled, data, HTTP_X_AUTOSAVE="1")
        assert response.status_code == 200
        filled.refresh_from_db()
        assert filled.version == version + 1
    # The content section's own fields, posted empty, are emptied (the page always posts them
    # all); the budget section, posted with no lines, removed them. Nothing else moved:
    assert filled.title == "" and filled.area_prefectures == []
    assert filled.budget_lines.count() == 0


@pytest.mark.parametrize("key", ["content", "budget"])
def test_a_section_save_runs_at_most_8_queries(client, filled, member, key, django_assert_max_num_queries):
    client.force_login(member)
    data = section_data(filled, key)
    if key == "content":
        data["title"] = "新しい事業名"
    else:
        data["budget-1-quantity"] = "７"
    with django_assert_max_num_queries(8):
        response = section_save(client, filled, data, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 200 and response.json()["saved"] is True


@pytest.mark.parametrize("key", ["attachments", "organisation", "check", "nonsense"])
def test_a_save_naming_a_section_without_fields_is_refused_and_changes_nothing(client, filled, member, key):
    client.force_login(member)
    version = filled.version
    data = page_data(filled) | {"section": key, "title": "乗っ取り"}
    response = section_save(client, filled, data, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 400 and response.json()["saved"] is False
    filled.refresh_from_db()
    assert (filled.version, filled.title) == (version, COMPLETE_FIELDS["title"])


def test_an_invalid_section_save_without_javascript_shows_the_section_again(client, filled, member):
    client.force_login(member)
    data = section_data(filled, "budget") | {"budget-0-unit_price": "abc", "budget-0-description": "直した内容"}
    response = section_save(client, filled, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'name="section" value="budget"' in page
    assert 'value="直した内容"' in page  # what was typed is still on the page
    assert 'name="title"' not in page


def test_a_refused_section_save_compares_that_section_only(client, filled, member):
    client.force_login(member)
    data = section_data(filled, "content") | {"title": "古い版", "version": "0"}
    body = section_save(client, filled, data, HTTP_X_AUTOSAVE="1").json()
    assert body["reason"] == "conflict"
    refused = RefusedSave.objects.get(application=filled)
    assert refused.data["section"] == ["content"]
    page = client.get(body["compare_url"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "古い版" in page
    assert 'data-testid="typed-budget"' not in page  # the content section has no budget lines


# --- moving between sections without JavaScript -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "go", "target"),
    [
        ("content", "next", "section/budget/"),
        ("content", "previous", "section/organisation/"),
        ("content", "list", ""),
        ("content", None, "section/content/"),
        ("budget", "next", "section/attachments/"),
        ("budget", "previous", "section/content/"),
    ],
)
def test_the_navigation_buttons_save_first_then_go(client, filled, member, key, go, target):
    client.force_login(member)
    data = section_data(filled, key)
    if key == "content":
        data["summary"] = "移動の前に保存される概要"
    else:
        data["budget-0-quantity"] = "4"
    if go:
        data["go"] = go
    response = section_save(client, filled, data)
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{filled.pk}/{target}"
    filled.refresh_from_db()
    if key == "content":
        assert filled.summary == "移動の前に保存される概要"
    else:
        assert filled.requested_amount == 40_000 + 5_000 + 3_000


def test_each_section_page_names_its_neighbours(client, filled, member):
    client.force_login(member)
    pk = filled.pk
    organisation = client.get(f"/applications/{pk}/section/organisation/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/applications/{pk}/section/content/"' in organisation
    attachments = client.get(f"/applications/{pk}/section/attachments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/applications/{pk}/section/budget/"' in attachments
    assert f'href="/applications/{pk}/preview/"' in attachments  # after the last page: 確認
    content = client.get(f"/applications/{pk}/section/content/").content.decode()
    assert 'name="go" value="next"' in content and 'name="go" value="previous"' in content
    assert 'name="go" value="list"' in content


# --- 団体情報 --------------------------------------------------------------------------------------------


def test_the_organisation_section_summarises_the_profile_and_links_to_its_page(client, filled, member):
    client.force_login(member)
    url = f"/applications/{filled.pk}/section/organisation/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    organisation = filled.organisation
    assert organisation.name in page and organisation.representative_name in page
    edit = f"/organisations/{organisation.pk}/?next=/applications/{filled.pk}/section/organisation/"
    assert f'href="{edit}"' in page
    assert 'name="address"' not in page  # summarised here, edited on the organisation's page


def test_the_organisation_page_returns_to_the_section_after_saving(client, filled, member):
    client.force_login(member)
    back = f"/applications/{filled.pk}/section/organisation/"
    organisation = filled.organisation
    data = profile_data(organisation) | {"phone": "03-9999-0000"}
    response = client.post(f"/organisations/{organisation.pk}/?next={back}", data)
    assert response.status_code == 302 and response["Location"] == back
    response = client.post(f"/organisations/{organisation.pk}/?next=https://evil.example/", data)
    assert response["Location"] == f"/organisations/{organisation.pk}/"


def profile_data(organisation) -> dict:
    from applications.forms import OrganisationForm

    form = OrganisationForm(instance=organisation)
    return {name: "" if form.initial.get(name) is None else form.initial[name] for name in form.fields}


# --- who sees what --------------------------------------------------------------------------------------


def test_unknown_sections_are_not_found_and_the_check_steps_lead_to_the_preview(client, filled, member):
    client.force_login(member)
    assert client.get(f"/applications/{filled.pk}/section/nonsense/").status_code == 404
    assert client.get(f"/applications/{filled.pk}/section/check/")["Location"] == f"/applications/{filled.pk}/preview/"


def test_a_submitted_application_keeps_its_read_only_page(client, filled, member):
    services.application_submit(application_id=filled.pk, user=member)
    client.force_login(member)
    page = client.get(f"/applications/{filled.pk}/")
    assert page.templates[0].name == "applications/application_readonly.html"
    assert "tasks" not in page.context
    for key in ("organisation", "content", "budget", "attachments"):
        response = client.get(f"/applications/{filled.pk}/section/{key}/")
        assert response.status_code == 302 and response["Location"] == f"/applications/{filled.pk}/"
    filled.refresh_from_db()
    assert filled.status == ApplicationStatus.SUBMITTED


@pytest.mark.parametrize("key", ["organisation", "content", "budget", "attachments"])
def test_section_pages_are_for_the_organisations_members_only(client, filled, outsider, key):
    url = f"/applications/{filled.pk}/section/{key}/"
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    for role in (Role.REVIEWER, Role.STAFF, Role.ADMINISTRATOR):
        user = UserFactory(role=role)
        enable_totp(user)
        client.force_login(user)
        assert client.get(url).status_code == 403
