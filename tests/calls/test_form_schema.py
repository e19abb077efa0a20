"""The validator of a call's application form (calls/form_schema.py), over random schemas:
every valid schema passes, and each kind of mistake, put into a valid schema, is found with its
own code and a message naming the field."""

from dataclasses import replace

import pytest
from django.utils import translation
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from calls.form_schema import Condition, FieldSpec, Schema, SectionSpec, validate, visible_keys
from calls.models import FieldKind

KINDS = [kind.value for kind in FieldKind]
TEXTS = {FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT}


def _condition_for(target: FieldSpec, draw) -> Condition | None:
    """A condition that may refer to ``target`` (None when its kind cannot be referred to)."""
    kind = target.kind
    if kind == FieldKind.CHOICE:
        return Condition(target.key, "equals", draw(st.sampled_from(target.choices)))
    if kind == FieldKind.MULTI_CHOICE:
        return Condition(target.key, "includes", draw(st.sampled_from(target.choices)))
    if kind == FieldKind.PREFECTURES:
        return Condition(target.key, "includes", f"{draw(st.integers(1, 47)):02d}")
    if kind == FieldKind.SHORT_TEXT:
        return Condition(target.key, "equals", draw(st.text(min_size=1, max_size=10)))
    if kind in (FieldKind.WHOLE_NUMBER, FieldKind.YEN):
        return Condition(target.key, "equals", str(draw(st.integers(0, 10**9))))
    return None


@st.composite
def valid_schemas(draw) -> Schema:
    section_count = draw(st.integers(1, 3))
    sections = tuple(SectionSpec(f"s{index}", f"区分{index}") for index in range(section_count))
    count = draw(st.integers(1, 8))
    placed = sorted(draw(st.lists(st.integers(0, section_count - 1), min_size=count, max_size=count)))
    fields: list[FieldSpec] = []
    for index, section_index in enumerate(placed):
        kind = draw(st.sampled_from(KINDS))
        choices: tuple[str, ...] = ()
        if kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE):
            choices = tuple(f"c{n}" for n in range(draw(st.integers(1, 4))))
        max_length = draw(st.none() | st.integers(1, 10_000)) if kind in TEXTS else None
        condition = None
        if fields and draw(st.booleans()):
            condition = _condition_for(draw(st.sampled_from(fields)), draw)
        fields.append(
            FieldSpec(
                key=f"f{index}",
                kind=kind,
                section=f"s{section_index}",
                label=f"項目{index}",
                required=draw(st.booleans()),
                max_length=max_length,
                choices=choices,
                condition=condition,
            )
        )
    return Schema(sections, tuple(fields))


def codes(schema: Schema) -> set[str]:
    return {problem.code for problem in validate(schema)}


def with_field(schema: Schema, index: int, **changes) -> Schema:
    fields = list(schema.fields)
    fields[index] = replace(fields[index], **changes)
    return replace(schema, fields=tuple(fields))


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(valid_schemas())
def test_every_valid_schema_passes(schema):
    assert validate(schema) == []


@SETTINGS
@given(valid_schemas(), st.data())
def test_a_repeated_key_is_found(schema, data):
    assume(len(schema.fields) >= 2)
    first, second = sorted(
        data.draw(st.lists(st.integers(0, len(schema.fields) - 1), min_size=2, max_size=2, unique=True))
    )
    duplicated = with_field(schema, second, key=schema.fields[first].key, condition=None)
    problems = [problem for problem in validate(duplicated) if problem.code == "duplicate_key"]
    assert problems and problems[0].key == schema.fields[first].key


@SETTINGS
@given(valid_schemas(), st.data())
def test_a_condition_on_an_unknown_field_is_found(schema, data):
    index = data.draw(st.integers(0, len(schema.fields) - 1))
    broken = with_field(schema, index, condition=Condition("nowhere", "equals", "x"))
    problems = [problem for problem in validate(broken) if problem.code == "condition_unknown"]
    assert [problem.key for problem in problems] == [schema.fields[index].key]
    assert "nowhere" in problems[0].message


@SETTINGS
@given(valid_schemas(), st.data())
def test_a_condition_on_the_field_itself_is_a_cycle(schema, data):
    index = data.draw(st.integers(0, len(schema.fields) - 1))
    key = schema.fields[index].key
    assert "condition_cycle" in codes(with_field(schema, index, condition=Condition(key, "equals", "x")))


@SETTINGS
@given(valid_schemas(), st.data())
def test_two_fields_referring_to_each_other_are_a_cycle(schema, data):
    assume(len(schema.fields) >= 2)
    first, second = sorted(
        data.draw(st.lists(st.integers(0, len(schema.fields) - 1), min_size=2, max_size=2, unique=True))
    )
    a, b = schema.fields[first], schema.fields[second]
    circle = with_field(schema, first, condition=Condition(b.key, "equals", "x"))
    circle = with_field(circle, second, condition=Condition(a.key, "equals", "x"))
    cycles = {problem.key for problem in validate(circle) if problem.code == "condition_cycle"}
    assert {a.key, b.key} <= cycles


@SETTINGS
@given(valid_schemas(), st.data())
def test_a_condition_on_a_later_field_is_found(schema, data):
    assume(len(schema.fields) >= 2)
    first, later = sorted(
        data.draw(st.lists(st.integers(0, len(schema.fields) - 1), min_size=2, max_size=2, unique=True))
    )
    target = schema.fields[later]
    condition = _condition_for(target, data.draw)
    assume(condition is not None)
    # The later field refers to nothing, so the only fault is the order.
    broken = with_field(with_field(schema, later, condition=None), first, condition=condition)
    problems = [problem for problem in validate(broken) if problem.code == "condition_order"]
    assert [problem.key for problem in problems] == [schema.fields[first].key]
    assert "condition_cycle" not in codes(broken)


@SETTINGS
@given(valid_schemas(), st.data())
def test_a_value_the_field_cannot_hold_is_found(schema, data):
    candidates = [
        index
        for index, spec in enumerate(schema.fields)
        if spec.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE, FieldKind.PREFECTURES, FieldKind.YEN)
        and index < len(schema.fields) - 1
    ]
    assume(candidates)
    target_index = data.draw(st.sampled_from(candidates))
    target = schema.fields[target_index]
    dependent = data.draw(st.integers(target_index + 1, len(schema.fields) - 1))
    operator = "includes" if target.kind in (FieldKind.MULTI_CHOICE, FieldKind.PREFECTURES) else "equals"
    broken = with_field(schema, dependent, condition=Condition(target.key, operator, "not-a-value"))
    problems = [problem for problem in validate(broken) if problem.code == "condition_value"]
    assert [problem.key for problem in problems] == [schema.fields[dependent].key]
    assert "not-a-value" in problems[0].message


@SETTINGS
@given(valid_schemas(), st.data())
def test_an_operator_the_kind_does_not_take_is_found(schema, data):
    assume(len(schema.fields) >= 2)
    target_index = data.draw(st.integers(0, len(schema.fields) - 2))
    target = schema.fields[target_index]
    # "includes" only for sets; "equals" never for sets, dates, long texts or files.
    operator = "equals" if target.kind in (FieldKind.MULTI_CHOICE, FieldKind.PREFECTURES) else "includes"
    dependent = data.draw(st.integers(target_index + 1, len(schema.fields) - 1))
    broken = with_field(schema, dependent, condition=Condition(target.key, operator, "x"))
    assert "condition_operator" in codes(broken)


@SETTINGS
@given(valid_schemas(), st.data(), st.sampled_from([0, -5, 10_001]))
def test_a_maximum_length_out_of_range_is_found(schema, data, length):
    index = data.draw(st.integers(0, len(schema.fields) - 1))
    kind = schema.fields[index].kind
    broken = with_field(schema, index, max_length=length)
    problems = [problem for problem in validate(broken) if problem.code == "max_length"]
    assert [problem.key for problem in problems] == [schema.fields[index].key], kind


@SETTINGS
@given(valid_schemas(), st.data())
def test_a_choice_without_choices_and_choices_where_none_belong_are_found(schema, data):
    index = data.draw(st.integers(0, len(schema.fields) - 1))
    spec = schema.fields[index]
    if spec.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE):
        broken = with_field(schema, index, choices=())
        expected = "no_choices"
    else:
        broken = with_field(schema, index, choices=("a",))
        expected = "unexpected_choices"
    assert expected in codes(broken)


@SETTINGS
@given(valid_schemas(), st.data(), st.sampled_from(["", "1abc", "Abc", "a-b", "あ"]))
def test_a_badly_formed_key_is_found(schema, data, key):
    index = data.draw(st.integers(0, len(schema.fields) - 1))
    assert "key_format" in codes(with_field(schema, index, key=key, condition=None))


def test_messages_are_in_japanese():
    schema = Schema(
        (SectionSpec("s"),),
        (
            FieldSpec("a", FieldKind.CHOICE, "s", choices=("x", "y")),
            FieldSpec("b", FieldKind.SHORT_TEXT, "s", condition=Condition("a", "equals", "z")),
        ),
    )
    with translation.override("ja"):
        (problem,) = validate(schema)
    assert problem.code == "condition_value"
    assert problem.message == "「b」の表示条件：「z」は「a」の選択肢（x、y）にありません。"


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ({}, {"a", "c"}),
        ({"a": "yes"}, {"a", "b", "c"}),
        ({"a": "yes", "b": ["01", "13"]}, {"a", "b", "c", "d"}),
        ({"a": "no", "b": ["13"]}, {"a", "c"}),  # d depends on b, which is hidden
    ],
)
def test_a_field_is_shown_when_its_condition_holds_and_its_target_is_shown(values, shown):
    fields = (
        FieldSpec("a", FieldKind.CHOICE, "s", choices=("yes", "no")),
        FieldSpec("b", FieldKind.PREFECTURES, "s", condition=Condition("a", "equals", "yes")),
        FieldSpec("c", FieldKind.YEN, "s"),
        FieldSpec("d", FieldKind.SHORT_TEXT, "s", condition=Condition("b", "includes", "13")),
    )
    assert visible_keys(fields, values) == shown
