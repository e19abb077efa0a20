"""Drafts never lose work: autosave, concurrent edits refused (never overwritten) and kept."""

import pytest

from applications.models import Application, RefusedSave
from applications.services import application_save_draft
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def form_data(application, **overrides):
    data = {
        "version": str(application.version),
        "theme": str(application.call.themes.first().pk),
        "title": "まちの縁側カフェ",
        "summary": "概要",
        "budget-TOTAL_FORMS": "2",
        "budget-INITIAL_FORMS": "0",
        "budget-MIN_NUM_FORMS": "0",
        "budget-MAX_NUM_FORMS": "1000",
        "budget-0-category": "honoraria",
        "budget-0-description": "講師謝金",
        "budget-0-quantity": "１０",
        "budget-0-unit_price": "１０，０００",
        "budget-1-category": "",
        "budget-1-description": "",
        "budget-1-quantity": "",
        "budget-1-unit_price": "",
    }
    data.update(overrides)
    return data


def autosave(client, application, **overrides):
    return client.post(
        f"/applications/{application.pk}/save/", form_data(application, **overrides), HTTP_X_AUTOSAVE="1"
    )


def test_autosave_stores_the_draft_and_normalises_full_width_amounts(client, draft, member):
    client.force_login(member)
    response = autosave(client, draft)
    assert response.status_code == 200
    body = response.json()
    assert body["saved"] is True
    assert body["version"] == draft.version + 1
    assert body["requested_amount"] == 100_000
    draft.refresh_from_db()
    assert draft.title == "まちの縁側カフェ"
    line = draft.budget_lines.get()
    assert (line.quantity, line.unit_price, line.amount) == (10, 10_000, 100_000)
    assert draft.requested_amount == 100_000


@pytest.mark.parametrize(
    ("unit_price", "expected_error"),
    [("-5000", "budget-0-unit_price"), ("abc", "budget-0-unit_price"), ("200万円", "budget-0-unit_price")],
)
def test_invalid_amounts_are_refused_with_a_message_and_nothing_half_saved(
    client, draft, member, unit_price, expected_error
):
    client.force_login(member)
    response = autosave(client, draft, **{"budget-0-unit_price": unit_price, "title": "新しい事業名"})
    assert response.status_code == 400
    body = response.json()
    assert body["saved"] is False
    assert expected_error in body["errors"]
    assert body["errors"][expected_error][0]  # a message, not a code
    draft.refresh_from_db()
    assert draft.title == ""  # nothing of the refused save was stored
    assert draft.budget_lines.count() == 0


def test_a_save_over_a_newer_version_is_refused_and_kept_for_comparison(client, draft, member):
    colleague = UserFactory()
    draft.organisation.memberships.create(user=colleague, role="editor")
    opened_version = draft.version
    # The colleague saves first …
    client.force_login(colleague)
    assert autosave(client, draft, title="同僚の事業名").status_code == 200
    # … then the member saves from the page opened before: refused, not overwritten.
    client.force_login(member)
    stale = form_data(draft, title="わたしの事業名")
    stale["version"] = str(opened_version)
    response = client.post(f"/applications/{draft.pk}/save/", stale, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 409
    body = response.json()
    assert body["reason"] == "conflict"
    draft.refresh_from_db()
    assert draft.title == "同僚の事業名"
    refused = RefusedSave.objects.get(application=draft)
    assert refused.data["title"] == ["わたしの事業名"]
    assert refused.user == member
    # The comparison page shows both.
    page = client.get(body["compare_url"]).content.decode()
    assert "同僚の事業名" in page and "わたしの事業名" in page
    assert "講師謝金: １０，０００ × １０" in page  # the typed budget line, as typed
    # The edit page tells about the kept text.
    assert body["compare_url"] in client.get(f"/applications/{draft.pk}/").content.decode()


def test_dismissing_kept_text_hides_it_but_keeps_the_record(client, draft, member):
    client.force_login(member)
    stale = form_data(draft, title="古い版")
    stale["version"] = "0"
    compare_url = client.post(f"/applications/{draft.pk}/save/", stale, HTTP_X_AUTOSAVE="1").json()["compare_url"]
    assert client.post(compare_url).status_code == 302
    refused = RefusedSave.objects.get(application=draft)
    assert refused.dismissed_at is not None
    assert compare_url not in client.get(f"/applications/{draft.pk}/").content.decode()


def test_the_save_button_without_javascript_redirects_with_a_message(client, draft, member):
    client.force_login(member)
    response = client.post(f"/applications/{draft.pk}/save/", form_data(draft), follow=True)
    assert response.status_code == 200
    assert Application.objects.get(pk=draft.pk).title == "まちの縁側カフェ"


def test_summary_limit_is_shown_on_the_form(client, draft, member):
    client.force_login(member)
    page = client.get(f"/applications/{draft.pk}/section/content/").content.decode()
    assert f'data-max-length="{draft.call.summary_max_length}"' in page
    assert 'id="summary-counter"' in page


def test_the_service_keeps_every_refused_input(draft, member):
    outcome = application_save_draft(
        application_id=draft.pk,
        user=member,
        fields={"title": "x"},
        budget_lines=[],
        base_version=draft.version + 5,
        raw={"title": ["x"]},
    )
    assert not outcome.saved
    assert RefusedSave.objects.filter(application=draft, reason="conflict").count() == 1


def test_absurd_quantities_are_refused_not_a_server_error(client, draft, member):
    client.force_login(member)
    response = autosave(client, draft, **{"budget-0-quantity": "9999999999", "budget-0-unit_price": "9999999999999"})
    assert response.status_code == 400
    assert "budget-0-quantity" in response.json()["errors"]


@pytest.mark.parametrize("version", ["-1", "2147483648", "99999999999999999999", "abc", ""])
def test_a_tampered_version_is_a_refused_save_not_a_server_error(client, draft, member, version):
    client.force_login(member)
    response = autosave(client, draft, version=version, title="新しい事業名")
    assert response.status_code == 400
    assert response.json()["saved"] is False
    draft.refresh_from_db()
    assert draft.title == ""
    assert not RefusedSave.objects.exists()
    # The page's own save button (no JavaScript) is refused the same way.
    plain = client.post(f"/applications/{draft.pk}/save/", form_data(draft, version=version))
    assert plain.status_code == 400


def test_an_oversized_text_is_refused_with_a_message_and_nothing_saved(client, draft, member):
    client.force_login(member)
    response = autosave(client, draft, title="新しい事業名", area_reason="あ" * 10_001)
    assert response.status_code == 400
    assert response.json()["errors"]["area_reason"][0]
    draft.refresh_from_db()
    assert (draft.title, draft.area_reason) == ("", "")
    assert autosave(client, draft, area_reason="あ" * 10_000).status_code == 200


def test_control_characters_and_bidi_overrides_are_not_stored(client, draft, member):
    client.force_login(member)
    typed = "見守り\u202e活動\x07です\n二行目\tタブ"
    assert autosave(client, draft, area_reason=typed, title="事業\u2066名\u2069").status_code == 200
    draft.refresh_from_db()
    assert draft.area_reason == "見守り活動です\n二行目\tタブ"
    assert draft.title == "事業名"
