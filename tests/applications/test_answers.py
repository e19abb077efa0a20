"""Answers to a call's application form: rendered from the schema, validated and stored per field
kind, saved one section at a time, conditional fields neither required nor lost when hidden, and
a version change in the middle of the round that keeps every answer."""

import datetime as dt

import pytest
from django.template.loader import render_to_string

from applications import answers as answer_store
from applications.models import Answer, ApplicationStatus
from applications.services import answers_save, form_version_move
from calls.models import FormField, FormVersionStatus
from calls.services import form_version_draft, form_version_publish
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, AttachmentFactory, UserFactory
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(open_call):
    return build_version(open_call)


def section(version, key):
    return version.sections.get(key=key)


def stored(application):
    return {answer.field_key: answer for answer in Answer.objects.filter(application=application)}


def render(application, version, key, data=None):
    form = answer_store.section_form_for(application, version, section(version, key), data=data)
    return form, render_to_string("calls/_schema_section.html", {"form": form})


ACTIVITY = {"schema-venue": "own", "schema-plan": "週2回の居場所を開きます。"}


def test_a_section_renders_with_labels_help_and_conditions(draft, version):
    _form, html = render(draft, version, "activity")
    assert '<label class="form-label" for="id_schema-plan">事業計画' in html
    assert 'maxlength="400"' in html
    assert 'data-condition-field="venue" data-condition-operator="equals" data-condition-value="other"' in html
    assert "<legend" in html and "東京都" in html  # prefectures as a fieldset of checkboxes
    assert "style=" not in html and "<script" not in html  # CSP: no inline style or script


def test_answers_are_stored_in_the_column_of_their_kind(draft, member, version):
    outcome = answers_save(
        draft,
        section(version, "basic"),
        {
            "schema-project_name": "まちの縁側",
            "schema-total_cost": "￥１，２００，０００円",
            "schema-start_date": "2025-07-01",
        },
        by=member,
    )
    assert outcome.saved, outcome.form.errors
    answers_save(
        draft,
        section(version, "activity"),
        {**ACTIVITY, "schema-menu": ["a", "c"], "schema-areas": ["01", "47"], "schema-people": "１２人"},
        by=member,
    )
    rows = stored(draft)
    assert rows["project_name"].text == "まちの縁側"
    assert rows["total_cost"].number == 1_200_000
    assert rows["start_date"].date == dt.date(2025, 7, 1)
    assert rows["menu"].choices == ["a", "c"] and rows["areas"].choices == ["01", "47"]
    assert rows["people"].number == 12
    assert {row.form_version_id for row in rows.values()} == {version.pk}
    draft.refresh_from_db()
    assert draft.form_version == version
    # Shown again as typed values.
    form, _html = render(draft, version, "basic")
    assert form.initial["total_cost"] == "1,200,000"


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"schema-total_cost": "200万円"}, "total_cost", "kanji_numerals"),
        ({"schema-total_cost": "-5"}, "total_cost", "negative"),
    ],
)
def test_invalid_answers_are_refused_with_nothing_written(draft, member, version, data, field, code):
    outcome = answers_save(draft, section(version, "basic"), {"schema-project_name": "名称", **data}, by=member)
    assert not outcome.saved
    assert outcome.form.errors.as_data()[field][0].code == code
    assert stored(draft) == {}


def test_a_prefecture_must_be_one_of_the_47(draft, member, version):
    outcome = answers_save(draft, section(version, "activity"), {**ACTIVITY, "schema-areas": ["48"]}, by=member)
    assert not outcome.saved and "areas" in outcome.form.errors


def test_a_file_slot_takes_only_a_file_of_the_application(draft, member, version, open_call):
    mine = AttachmentFactory(application=draft, original_name="計画書.pdf")
    other = AttachmentFactory(application=ApplicationFactory(call=open_call))
    refused = answers_save(
        draft, section(version, "activity"), {**ACTIVITY, "schema-plan_file": str(other.pk)}, by=member
    )
    assert not refused.saved and "plan_file" in refused.form.errors
    assert answers_save(
        draft, section(version, "activity"), {**ACTIVITY, "schema-plan_file": str(mine.pk)}, by=member
    ).saved
    assert stored(draft)["plan_file"].attachment == mine


def test_saving_a_section_never_blanks_another(draft, member, version):
    answers_save(
        draft, section(version, "basic"), {"schema-project_name": "まちの縁側", "schema-total_cost": "100"}, by=member
    )
    answers_save(draft, section(version, "activity"), ACTIVITY, by=member)
    rows = stored(draft)
    assert rows["project_name"].text == "まちの縁側" and rows["total_cost"].number == 100
    assert rows["venue"].text == "own"


def test_a_shown_conditional_field_is_required(draft, member, version):
    # A draft saves without it (nothing typed is lost); the section stays incomplete until it is answered.
    outcome = answers_save(draft, section(version, "activity"), {**ACTIVITY, "schema-venue": "other"}, by=member)
    assert outcome.saved
    [state] = [s for s in answer_store.section_states(draft) if s.section.key == "activity"]
    assert "その他の実施場所" in state.missing
    outcome = answers_save(
        draft, section(version, "activity"), {**ACTIVITY, "schema-areas": ["13"]}, by=member
    )  # tokyo_note is shown (and required) when the areas include 13
    [state] = [s for s in answer_store.section_states(draft) if s.section.key == "activity"]
    assert outcome.saved and "東京都での実施について" in state.missing
    # The form that checks the entries (not a draft's save) still asks for it.
    form = answer_store.section_form_for(
        draft, version, section(version, "activity"), data={**ACTIVITY, "schema-areas": ["13"]}
    )
    assert not form.is_valid() and form.errors.as_data()["tokyo_note"][0].code == "required"


def test_a_hidden_conditional_field_is_neither_required_nor_lost(draft, member, version):
    activity = section(version, "activity")
    first = answers_save(
        draft, activity, {**ACTIVITY, "schema-venue": "other", "schema-venue_other": "公民館"}, by=member
    )
    assert first.saved
    # The venue changes: venue_other is hidden; its input is ignored (even invalid), its answer kept.
    second = answers_save(
        draft, activity, {**ACTIVITY, "schema-venue": "own", "schema-venue_other": "x" * 500}, by=member
    )
    assert second.saved, second.form.errors
    assert "venue_other" in second.form.hidden_keys
    assert stored(draft)["venue_other"].text == "公民館"
    # Shown as hidden, with its kept answer and a note.
    form, html = render(draft, version, "activity")
    assert "venue_other" in form.hidden_keys
    assert 'value="公民館"' in html and "schema-field-hidden" in html
    # Chosen again, the kept answer is back.
    answers_save(draft, activity, {**ACTIVITY, "schema-venue": "other", "schema-venue_other": "公民館"}, by=member)
    assert stored(draft)["venue_other"].text == "公民館"


def test_saving_is_refused_like_a_draft_save(draft, member, version, outsider):
    basic = section(version, "basic")
    with pytest.raises(Refused) as refused:
        answers_save(draft, basic, {"schema-project_name": "x"}, by=outsider)
    assert refused.value.code == "forbidden"
    after_close = draft.call.closes_at + dt.timedelta(minutes=1)
    with pytest.raises(Refused) as refused:
        answers_save(draft, basic, {"schema-project_name": "x"}, by=member, now=after_close)
    assert refused.value.code == "closed"
    submitted = ApplicationFactory(call=draft.call, status=ApplicationStatus.SUBMITTED)
    with pytest.raises(Refused) as refused:
        answers_save(submitted, basic, {"schema-project_name": "x"}, by=None)
    assert refused.value.code == "not_draft"
    assert stored(draft) == {}


def _next_version(call, staff, *, remove=(), change_kind=None, add=None):
    draft = form_version_draft(call, by=staff)
    draft.fields.filter(key__in=remove).delete()
    if change_kind:
        key, kind = change_kind
        FormField.objects.filter(version=draft, key=key).update(kind=kind)
    if add:
        FormField.objects.create(version=draft, section=draft.sections.get(key="basic"), **add)
    form_version_publish(draft, by=staff)
    draft.refresh_from_db()
    return draft


def test_a_version_change_mid_round_keeps_every_answer(draft, member, version, open_call):
    staff = UserFactory(role="staff")
    answers_save(
        draft,
        section(version, "basic"),
        {"schema-project_name": "まちの縁側", "schema-total_cost": "500,000"},
        by=member,
    )
    answers_save(
        draft,
        section(version, "activity"),
        {
            **ACTIVITY,
            "schema-venue": "other",
            "schema-venue_other": "公民館",
            "schema-menu": ["b"],
            "schema-people": "30",
        },
        by=member,
    )
    before = {key: (row.text, row.number, row.date, row.choices) for key, row in stored(draft).items()}
    # The round goes on: version 2 drops venue_other, turns people into a text and adds a field.
    newer = _next_version(
        open_call,
        staff,
        remove=["venue_other"],
        change_kind=("people", "short_text"),
        add={"key": "contact", "kind": "short_text", "label": "担当者", "order": 9},
    )
    version.refresh_from_db()
    assert version.status == FormVersionStatus.RETIRED
    draft.refresh_from_db()
    assert draft.form_version == version  # the draft keeps the version it began with until it moves
    with pytest.raises(Refused) as refused:  # a section of the newer version is not for this draft yet
        answers_save(draft, newer.sections.get(key="basic"), {"schema-project_name": "x"}, by=member)
    assert refused.value.code == "other_version"
    change = form_version_move(draft, by=member)
    assert [item.key for item in change.added] == ["contact"]
    assert [item.key for item in change.removed] == ["venue_other"]
    assert [(item.key, item.what) for item in change.changed] == [("people", ("kind",))]
    assert {(item.key, item.label, item.value, item.version_number) for item in change.earlier} == {
        ("venue_other", "その他の実施場所", "公民館", 1),
        ("people", "想定参加人数", "30", 1),
    }
    draft.refresh_from_db()
    assert draft.form_version == newer
    after = {key: (row.text, row.number, row.date, row.choices) for key, row in stored(draft).items()}
    assert after == before  # not one answer lost or rewritten
    values = answer_store.stored_values(answer_store.version_with_fields(newer.pk), stored(draft).values())
    assert values["project_name"] == "まちの縁側" and values["total_cost"] == 500_000 and values["menu"] == ["b"]
    assert "venue_other" not in values and "people" not in values
    assert AuditEntry.objects.filter(action="form_version_moved", object_id=str(draft.pk)).count() == 1


def test_a_submitted_application_is_shown_with_its_own_version(version, open_call):
    submitted = ApplicationFactory(call=open_call, status=ApplicationStatus.SUBMITTED, form_version=version)
    _next_version(open_call, UserFactory(role="staff"), remove=["project_name"])
    assert answer_store.version_for(submitted).pk == version.pk
    with pytest.raises(Refused):
        form_version_move(submitted, by=None)


TOKYO = {"schema-areas": ["13", "01"], "schema-tokyo_note": "区内3か所"}


def test_answers_are_shown_under_the_applications_own_version(draft, member, version, open_call):
    answers_save(
        draft,
        section(version, "basic"),
        {"schema-project_name": "まちの縁側", "schema-total_cost": "1200000"},
        by=member,
    )
    assert answers_save(
        draft,
        section(version, "activity"),
        {**ACTIVITY, "schema-venue": "other", "schema-venue_other": "公民館", **TOKYO},
        by=member,
    ).saved
    assert answers_save(draft, section(version, "activity"), {**ACTIVITY, **TOKYO}, by=member).saved
    # A newer version drops a field; the draft has not moved, so it reads with its own version.
    _next_version(open_call, UserFactory(role="staff"), remove=["venue_other"])
    draft.refresh_from_db()
    shown = answer_store.answers_for_display(draft)
    assert shown.version == version
    rows = {row.key: row for part in shown.sections for row in part.rows}
    assert rows["total_cost"].value == "1,200,000円"
    assert rows["areas"].value == "東京都、北海道"
    assert rows["venue"].value == "自団体の施設"
    assert rows["venue_other"].value == "公民館" and rows["venue_other"].hidden
    html = render_to_string("applications/_schema_answers.html", {"answers": shown})
    assert "その他の実施場所" in html and "この回答では使われません" in html
    # Moved, the removed field's answer is listed as from the earlier version.
    form_version_move(draft, by=member)
    draft.refresh_from_db()
    moved = answer_store.answers_for_display(draft)
    assert [(row.key, row.value) for row in moved.earlier] == [("venue_other", "公民館")]
    html = render_to_string("applications/_schema_answers.html", {"answers": moved})
    assert "以前の版の申請様式での回答" in html and "（第1版）" in html


def test_a_section_is_complete_when_its_shown_required_fields_are_answered(draft, member, version):
    states = {state.section.key: state for state in answer_store.section_states(draft)}
    assert states["basic"].missing == ["事業名"] and states["activity"].missing == ["事業計画"]
    answers_save(draft, section(version, "basic"), {"schema-project_name": "まちの縁側"}, by=member)
    assert answers_save(draft, section(version, "activity"), ACTIVITY, by=member).saved
    assert all(state.complete for state in answer_store.section_states(draft))
    # venue_other is required only while shown; a stored "other" venue without it is incomplete.
    Answer.objects.filter(application=draft, field_key="venue").update(text="other")
    states = {state.section.key: state for state in answer_store.section_states(draft)}
    assert states["activity"].missing == ["その他の実施場所"] and states["basic"].complete


def test_keys_that_name_form_attributes_are_plain_fields(draft, member, open_call):
    spec = [
        (
            "s",
            "区分",
            [{"key": key, "kind": "short_text", "label": key} for key in ("clean", "items", "version", "rows")],
        )
    ]
    version = build_version(open_call, spec)
    outcome = answers_save(
        draft, version.sections.get(), {"schema-clean": "a", "schema-items": "b", "schema-rows": "c"}, by=member
    )
    assert outcome.saved
    assert {key: row.text for key, row in stored(draft).items()} == {"clean": "a", "items": "b", "rows": "c"}
