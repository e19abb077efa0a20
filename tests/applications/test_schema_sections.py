"""The sections of a call's own form in the applicant's task list (issue 16): listed after 申請内容,
their pages render and save (with and without JavaScript), a field hidden by its condition is
neither required nor lost, a section whose every field is hidden is 対象外 and skipped, the
submission check asks for the shown required answers, the answers are shown on the preview, the
read-only page, the receipt and the staff page, the version move, and the query count."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from applications import answers as answer_store
from applications import sections
from applications.checks import application_problems
from applications.documents import receipt_pdf
from applications.models import Answer, ApplicationStatus
from applications.services import answers_save, application_submit
from calls.models import FormField
from kodoku_portal.jp import join_list
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory, enable_totp
from tests.support.forms import build_version

from .conftest import save_complete

pytestmark = pytest.mark.django_db

# A form like the 交付金's: a menu, then a plan per chosen item (c has no plan: choosing only c
# leaves every field of the plan hidden, 対象外).
MENU_FORM = [
    (
        "menu",
        "実施するメニュー",
        [
            {
                "key": "menu",
                "kind": "multi_choice",
                "label": "メニュー",
                "required": True,
                "choices": "a|居場所づくり\nb|相談支援\nc|広報",
            },
        ],
    ),
    (
        "plan",
        "メニューごとの計画",
        [
            {
                "key": "a_plan",
                "kind": "long_text",
                "label": "居場所づくりの計画",
                "max_length": 400,
                "required": True,
                "condition_field": "menu",
                "condition_operator": "includes",
                "condition_value": "a",
            },
            {
                "key": "a_total",
                "kind": "yen",
                "label": "居場所づくりの総事業費",
                "required": True,
                "condition_field": "menu",
                "condition_operator": "includes",
                "condition_value": "a",
            },
            {
                "key": "a_requested",
                "kind": "yen",
                "label": "居場所づくりの申請額",
                "share_of": "a_total",
                "condition_field": "menu",
                "condition_operator": "includes",
                "condition_value": "a",
            },
            {
                "key": "b_plan",
                "kind": "long_text",
                "label": "相談支援の計画",
                "max_length": 400,
                "required": True,
                "condition_field": "menu",
                "condition_operator": "includes",
                "condition_value": "b",
            },
        ],
    ),
]


@pytest.fixture
def version(open_call):
    open_call.subsidy_rate_percent = 50
    open_call.save(update_fields=["subsidy_rate_percent"])
    return build_version(open_call, MENU_FORM)


@pytest.fixture
def app_client(client, member):
    client.force_login(member)
    return client


def url(application, key=""):
    return f"/applications/{application.pk}/section/{key}/" if key else f"/applications/{application.pk}/"


def post_section(client, application, key, data, **kwargs):
    """POST a section's page as its form does: with the application's version it was opened on."""
    application.refresh_from_db(fields=["version"])
    return client.post(url(application, key), {"version": str(application.version), **data}, **kwargs)


def states(client, application):
    html = client.get(url(application)).content.decode()
    found = re.findall(r'data-testid="task-([\w-]+)">.*?data-testid="task-state">([^<]+)<', html, flags=re.S)
    return dict(found), html


def stored(application):
    return {answer.field_key: answer for answer in Answer.objects.filter(application=application)}


def test_schema_sections_are_listed_after_the_content_and_before_the_budget(app_client, draft, version):
    found, html = states(app_client, draft)
    keys = list(found)
    assert keys.index("content") < keys.index("form-menu") < keys.index("form-plan") < keys.index("budget")
    assert found["form-menu"] == "未着手"
    # Nothing chosen yet: every field of the plan is hidden by its condition.
    assert found["form-plan"] == "対象外"
    assert f'href="{url(draft, "form-menu")}"' in html
    assert f'href="{url(draft, "form-plan")}"' not in html


def test_a_schema_section_says_in_the_task_list_what_it_asks(app_client, draft, version):
    """As the fixed sections do: the labels of the fields asked whatever the answers; a section
    whose every field depends on an answer (the plan) says nothing it might not ask."""
    html = app_client.get(url(draft)).content.decode()
    menu = re.search(r'data-testid="task-form-menu">(.*?)</li>', html, flags=re.S).group(1)
    plan = re.search(r'data-testid="task-form-plan">(.*?)</li>', html, flags=re.S).group(1)
    assert '<div class="small text-secondary">メニューです。</div>' in menu
    assert '<div class="small text-secondary"></div>' in plan


def test_the_hint_of_a_long_section_names_its_first_fields_in_the_users_language():
    labels = [f"項目{n}" for n in range(1, 10)]
    with translation.override("ja"):
        assert sections.schema_hint(labels) == "項目1、項目2、項目3、項目4、項目5、項目6、項目7などです。"
        assert sections.schema_hint(labels[:2]) == "項目1、項目2です。"
    with translation.override("en"):
        assert sections.schema_hint(["Purpose", "Schedule"]) == "Purpose, Schedule."
    assert sections.schema_hint([]) == ""


def test_a_schema_section_page_renders_its_fields_inside_the_section_layout(app_client, draft, version):
    response = app_client.get(url(draft, "form-menu"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'action="{url(draft, "form-menu")}"' in html  # saves on its own page
    assert 'name="schema-menu"' in html and "居場所づくり" in html
    assert "js/schema-form.js" in html and "js/application-form.js" in html
    assert 'name="go" value="next"' in html and 'name="go" value="previous"' in html
    # The plan is 対象外 now but may be needed after this save: 次へ names no section.
    assert 'name="go" value="next" class="btn btn-outline-primary">次へ</button>' in html


def test_saving_without_javascript_stores_the_answers_and_moves_on(app_client, draft, version):
    response = post_section(app_client, draft, "form-menu", {"schema-menu": ["a", "b"], "go": "next"})
    assert response.status_code == 302
    assert response["Location"] == url(draft, "form-plan")  # now needed
    assert stored(draft)["menu"].choices == ["a", "b"]
    found, _html = states(app_client, draft)
    assert found["form-menu"] == "完了" and found["form-plan"] == "未着手"


def test_a_section_whose_every_field_is_hidden_is_skipped_by_previous_and_next(app_client, draft, version):
    response = post_section(app_client, draft, "form-menu", {"schema-menu": ["c"], "go": "next"})
    assert response["Location"] == url(draft, "budget")
    response = app_client.get(url(draft, "budget"))
    assert response.context["previous"].key == "form-menu"
    # Its page sends the applicant back to the task list.
    response = app_client.get(url(draft, "form-plan"))
    assert response.status_code == 302 and response["Location"] == url(draft)


def test_autosave_of_a_schema_section_answers_json(app_client, draft, version):
    headers = {"X-Autosave": "1", "Accept": "application/json"}
    response = post_section(app_client, draft, "form-menu", {"schema-menu": ["a"]}, headers=headers)
    assert response.status_code == 200 and response.json()["saved"] is True
    response = post_section(
        app_client,
        draft,
        "form-plan",
        {"schema-a_plan": "週2回", "schema-a_total": "１，０００，０００円"},
        headers=headers,
    )
    assert response.json()["saved"] is True
    assert stored(draft)["a_total"].number == 1_000_000
    response = post_section(
        app_client,
        draft,
        "form-plan",
        {"schema-a_plan": "週2回", "schema-a_total": "1000000", "schema-a_requested": "600000"},
        headers=headers,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["saved"] is False and "schema-a_requested" in body["errors"]  # over the 50 % 補助率
    assert "a_requested" not in stored(draft)


def test_a_partly_answered_section_is_saved_and_stays_in_progress(app_client, draft, version):
    post_section(app_client, draft, "form-menu", {"schema-menu": ["a"]})
    # Only the plan, not its required total cost: saved (nothing typed is lost), and still 入力中.
    response = post_section(app_client, draft, "form-plan", {"schema-a_plan": "居場所の計画", "go": "list"})
    assert response.status_code == 302
    assert stored(draft)["a_plan"].text == "居場所の計画"
    found, _html = states(app_client, draft)
    assert found["form-plan"] == "入力中"
    assert [p for p in application_problems(draft) if p.field == "form-plan"]


def test_an_invalid_plain_save_shows_the_page_again_with_the_errors(app_client, draft, version):
    response = post_section(app_client, draft, "form-menu", {"schema-menu": ["zzz"], "go": "next"})
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert not stored(draft)


def test_a_hidden_field_is_neither_required_nor_lost(app_client, draft, version):
    post_section(app_client, draft, "form-menu", {"schema-menu": ["a"]})
    post_section(app_client, draft, "form-plan", {"schema-a_plan": "居場所の計画", "schema-a_total": "800000"})
    # The applicant now chooses only b: the plan of a is hidden, its answers kept.
    post_section(app_client, draft, "form-menu", {"schema-menu": ["b"]})
    response = post_section(app_client, draft, "form-plan", {"schema-b_plan": "相談の計画", "go": "list"})
    assert response.status_code == 302, response.content.decode()
    rows = stored(draft)
    assert rows["a_plan"].text == "居場所の計画" and rows["a_total"].number == 800_000
    assert rows["b_plan"].text == "相談の計画"
    assert not [p for p in application_problems(draft) if p.field.startswith("form-")]


def test_submission_is_refused_while_a_shown_required_answer_is_missing(complete_draft, member, version):
    menu, plan = (version.sections.get(key=key) for key in ("menu", "plan"))
    problems = [p for p in application_problems(complete_draft) if p.field.startswith("form-")]
    assert [p.field for p in problems] == ["form-menu"]
    with pytest.raises(Refused):
        application_submit(application_id=complete_draft.pk, user=member)
    assert answers_save(complete_draft, menu, {"schema-menu": ["a"]}, by=member).saved
    problems = [p for p in application_problems(complete_draft) if p.field.startswith("form-")]
    assert [p.field for p in problems] == ["form-plan"]
    assert "居場所づくりの計画" in problems[0].message and "相談支援の計画" not in problems[0].message
    with pytest.raises(Refused):
        application_submit(application_id=complete_draft.pk, user=member)
    data = {"schema-a_plan": "計画", "schema-a_total": "1000000", "schema-a_requested": "500000"}
    assert answers_save(complete_draft, plan, data, by=member).saved
    assert not [p for p in application_problems(complete_draft) if p.field.startswith("form-")]
    # The form asks for 500,000円 (the amounts limited to the 補助率); the budget says 1,000,000円.
    [mismatch] = [p for p in application_problems(complete_draft) if p.field == "budget"]
    assert "予算の合計（1,000,000円）" in mismatch.message and "申請額の合計（500,000円）" in mismatch.message
    with pytest.raises(Refused):
        application_submit(application_id=complete_draft.pk, user=member)
    complete_draft.refresh_from_db()
    save_complete(complete_draft, member, amount=500_000)
    submitted = application_submit(application_id=complete_draft.pk, user=member)
    assert submitted.status == ApplicationStatus.SUBMITTED


def test_an_amount_over_the_subsidy_rate_is_a_problem_of_the_submission(complete_draft, member, version):
    menu, plan = (version.sections.get(key=key) for key in ("menu", "plan"))
    answers_save(complete_draft, menu, {"schema-menu": ["a"]}, by=member)
    data = {"schema-a_plan": "計画", "schema-a_total": "1000000", "schema-a_requested": "500000"}
    assert answers_save(complete_draft, plan, data, by=member).saved
    call = complete_draft.call
    call.subsidy_rate_percent = 40  # lowered after the answer was saved
    call.save(update_fields=["subsidy_rate_percent"])
    complete_draft.refresh_from_db()
    problems = [p for p in application_problems(complete_draft) if p.field == "form-plan"]
    assert len(problems) == 1 and "400,000" in problems[0].message


def _complete_with_answers(draft, member, version):
    application = save_complete(draft, member, amount=600_000)  # the budget of the amount requested below
    menu, plan = (version.sections.get(key=key) for key in ("menu", "plan"))
    answers_save(application, menu, {"schema-menu": ["a", "c"]}, by=member)
    data = {"schema-a_plan": "週2回の居場所", "schema-a_total": "1200000", "schema-a_requested": "600000"}
    assert answers_save(application, plan, data, by=member).saved
    return application


def test_the_budget_page_says_what_the_form_requests_once_an_amount_is_answered(app_client, draft, member, version):
    budget_page = url(draft, "budget")
    assert 'data-testid="form-requested-total"' not in app_client.get(budget_page).content.decode()
    menu, plan = (version.sections.get(key=key) for key in ("menu", "plan"))
    answers_save(draft, menu, {"schema-menu": ["a", "b"]}, by=member)
    data = {"schema-a_plan": "計画", "schema-a_total": "1,200,000", "schema-a_requested": "６００，０００"}
    assert answers_save(draft, plan, data, by=member).saved
    html = app_client.get(budget_page).content.decode()
    assert "申請様式で入力した申請額の合計は600,000円です。予算の合計を同じ額にしてください。" in html
    # An amount of an item no longer chosen is kept but no longer asked for.
    answers_save(draft, menu, {"schema-menu": ["b"]}, by=member)
    assert 'data-testid="form-requested-total"' not in app_client.get(budget_page).content.decode()
    assert stored(draft)["a_requested"].number == 600_000


def test_preview_read_only_page_and_receipt_show_the_answers(app_client, draft, member, version, monkeypatch):
    application = _complete_with_answers(draft, member, version)
    html = app_client.get(f"/applications/{application.pk}/preview/").content.decode()
    assert "居場所づくり、広報" in html and "週2回の居場所" in html and "1,200,000円" in html
    assert 'data-testid="schema-answers"' in html

    rendered = {}

    def fake_pdf(html_text, *args, **kwargs):
        rendered["html"] = html_text
        return b"%PDF-1.7 fake"

    application = application_submit(application_id=application.pk, user=member)
    monkeypatch.setattr("applications.documents.render_pdf", fake_pdf)
    receipt_pdf(application)
    assert "週2回の居場所" in rendered["html"] and "居場所づくり、広報" in rendered["html"]
    assert "相談支援の計画" not in rendered["html"]  # hidden: not on the receipt
    html = app_client.get(url(application)).content.decode()
    assert "週2回の居場所" in html and "600,000円" in html


def test_the_staff_page_shows_every_answer_under_the_applications_version(client, draft, member, version):
    application = _complete_with_answers(draft, member, version)
    application = application_submit(application_id=application.pk, user=member)
    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    html = client.get(f"/staff/applications/{application.pk}/").content.decode()
    assert "実施するメニュー" in html and "居場所づくり、広報" in html and "週2回の居場所" in html
    assert "相談支援の計画" in html  # hidden ones are listed too, marked as not used


def test_a_draft_on_an_older_version_is_offered_the_move_and_sees_its_earlier_answers(
    app_client, draft, member, version
):
    menu = version.sections.get(key="menu")
    answers_save(draft, menu, {"schema-menu": ["a", "b"]}, by=member)
    from calls.services import form_version_draft, form_version_publish

    newer = form_version_draft(draft.call, by=None)
    FormField.objects.filter(version=newer, key="menu").update(choices="a|居場所づくり\nc|広報")
    FormField.objects.filter(version=newer, key="b_plan").delete()
    form_version_publish(newer, by=None)

    html = app_client.get(url(draft)).content.decode()
    assert 'data-testid="form-move"' in html and "相談支援の計画" in html  # removed, listed
    response = app_client.post(f"/applications/{draft.pk}/form/move/")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.form_version_id == newer.pk
    assert 'data-testid="form-move"' not in app_client.get(url(draft)).content.decode()
    html = app_client.get(url(draft, "form-menu")).content.decode()
    assert 'data-testid="earlier-answers"' in html and "居場所づくり、相談支援" in html


def test_the_move_is_refused_to_another_organisation(client, outsider, draft, version):
    client.force_login(outsider)
    assert client.post(f"/applications/{draft.pk}/form/move/").status_code == 404


def test_the_task_list_query_count_does_not_grow_with_the_fields(app_client, draft, member, open_call):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert app_client.get(url(draft)).status_code == 200
        return len(queries)

    version = build_version(open_call, MENU_FORM)
    answers_save(draft, version.sections.get(key="menu"), {"schema-menu": ["a", "b"]}, by=member)
    small = count()
    # Forty more fields in the plan section.
    from calls.services import form_version_draft, form_version_publish

    newer = form_version_draft(open_call, by=None)
    plan = newer.sections.get(key="plan")
    for number in range(40):
        FormField.objects.create(
            version=newer,
            section=plan,
            key=f"extra_{number}",
            kind="short_text",
            label=f"追加{number}",
            order=10 + number,
        )
    form_version_publish(newer, by=None)
    from applications.services import form_version_move

    form_version_move(draft, by=member)
    assert count() <= small


def test_sections_registry_without_a_form_is_unchanged(draft):
    assert sections.sections_for(draft) == sections.SECTIONS
    assert answer_store.form_status(draft).states == []


def test_a_local_government_is_not_asked_for_a_representative_but_for_its_department(open_call):
    from applications.checks import application_problems as problems_of
    from calls.models import ApplicantType
    from tests.factories import ApplicationFactory

    from .conftest import complete_organisation

    local = ApplicantType.objects.get_or_create(
        code="local-government", defaults={"name": "地方公共団体", "is_local_government": True}
    )[0]
    open_call.eligible_types.add(local)
    city = complete_organisation(
        applicant_type=local,
        local_government_code="011002",
        corporate_number="9000020011002",
        representative_title="",
        representative_name="",
        department="",
    )
    application = ApplicationFactory(call=open_call, organisation=city)
    [problem] = [p for p in problems_of(application) if p.field == "organisation"]
    assert "担当部署" in problem.message or "department" in problem.message
    assert "代表者" not in problem.message and "representative" not in problem.message
    city.department = "福祉課"
    city.save(update_fields=["department"])
    application.organisation.refresh_from_db()
    assert not [p for p in problems_of(application) if p.field == "organisation"]


def test_a_submission_keeps_the_form_version_even_without_an_answer(complete_draft, member, open_call):
    """A form of optional fields only: submitted without one answer saved, the application still
    records the version it was submitted under, and a later version does not take its place."""
    from tests.support.forms import build_version

    first = build_version(open_call, [("extra", "補足", [{"key": "note", "kind": "short_text", "label": "備考"}])])
    assert complete_draft.form_version_id is None
    submitted = application_submit(application_id=complete_draft.pk, user=member)
    assert submitted.form_version_id == first.pk
    build_version(open_call, [("extra", "補足", [{"key": "memo", "kind": "short_text", "label": "メモ"}])])
    submitted.refresh_from_db()
    assert submitted.form_version_id == first.pk


# --- two members, one section: the later save never overwrites the earlier one ---------------------


@pytest.fixture
def colleague(organisation):
    from applications.models import MemberRole, Membership
    # (imported here: the module's own imports serve the tests above)

    user = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=user, role=MemberRole.EDITOR)
    return user


AUTOSAVE = {"X-Autosave": "1", "Accept": "application/json"}


def test_an_autosave_answers_the_new_version_and_the_next_save_builds_on_it(app_client, draft, version):
    opened = draft.version
    response = app_client.post(
        url(draft, "form-menu"), {"version": str(opened), "schema-menu": ["a"]}, headers=AUTOSAVE
    )
    assert response.status_code == 200 and response.json()["version"] == opened + 1
    draft.refresh_from_db()
    assert draft.version == opened + 1
    response = app_client.post(
        url(draft, "form-menu"), {"version": str(opened + 1), "schema-menu": ["a", "b"]}, headers=AUTOSAVE
    )
    assert response.json()["saved"] is True and response.json()["version"] == opened + 2
    # A save that changes nothing keeps the version (nothing new for another member to overwrite).
    response = app_client.post(
        url(draft, "form-menu"), {"version": str(opened + 2), "schema-menu": ["a", "b"]}, headers=AUTOSAVE
    )
    assert response.json()["version"] == opened + 2


def test_a_save_based_on_an_older_version_is_kept_aside_not_written(client, app_client, draft, version, colleague):
    from applications.models import RefusedSave, RefusedSaveReason

    opened = draft.version  # both members open the menu section on this version
    mine = app_client.post(url(draft, "form-menu"), {"version": str(opened), "schema-menu": ["a"]}, headers=AUTOSAVE)
    assert mine.json()["saved"] is True
    other = Client()
    other.force_login(colleague)
    theirs = other.post(url(draft, "form-menu"), {"version": str(opened), "schema-menu": ["b", "c"]}, headers=AUTOSAVE)
    assert theirs.status_code == 409
    body = theirs.json()
    assert body["saved"] is False and body["reason"] == "conflict" and body["version"] == opened + 1
    assert stored(draft)["menu"].choices == ["a"]  # the first save stands
    kept = RefusedSave.objects.get(application=draft, user=colleague)
    assert kept.reason == RefusedSaveReason.CONFLICT and kept.based_on_version == opened
    assert kept.data["schema-menu"] == ["b", "c"] and kept.data["schema_section"] == ["menu"]
    # The colleague compares both: the stored answer and what they chose, by the choices' labels.
    page = other.get(body["compare_url"])
    assert page.status_code == 200
    html = page.content.decode()
    saved, typed = re.search(
        r'<tr class="differs"><th scope="row">メニュー.*?<td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>', html, flags=re.S
    ).groups()
    assert (saved, typed) == ("居場所づくり", join_list(["相談支援", "広報"]))
    # Without JavaScript the same refusal leads to the comparison page.
    plain = other.post(url(draft, "form-menu"), {"version": str(opened), "schema-menu": ["c"]})
    assert plain.status_code == 302 and plain["Location"] == body["compare_url"]
    assert stored(draft)["menu"].choices == ["a"]


def test_a_save_after_the_call_closed_keeps_what_was_typed(app_client, draft, version):
    import datetime as dt

    from django.utils import timezone

    from applications.models import RefusedSave, RefusedSaveReason

    opened = draft.version
    draft.call.closes_at = timezone.now() - dt.timedelta(minutes=1)
    draft.call.save(update_fields=["closes_at"])
    response = app_client.post(
        url(draft, "form-menu"), {"version": str(opened), "schema-menu": ["a"]}, headers=AUTOSAVE
    )
    assert response.status_code == 409 and response.json()["reason"] == "closed"
    kept = RefusedSave.objects.get(application=draft)
    assert kept.reason == RefusedSaveReason.CLOSED and kept.data["schema-menu"] == ["a"]
    assert not stored(draft)


def test_a_save_without_the_pages_version_is_not_written(app_client, draft, version):
    response = app_client.post(url(draft, "form-menu"), {"schema-menu": ["a"]}, headers=AUTOSAVE)
    assert response.status_code == 400 and response.json()["saved"] is False
    response = app_client.post(url(draft, "form-menu"), {"version": "x", "schema-menu": ["a"], "go": "next"})
    assert response.status_code == 302 and response["Location"] == url(draft, "form-menu")
    assert not stored(draft)
