"""The application form as plain data, and the one validator of a form version (issue 16).

``schema_of(version)`` reads a :class:`calls.models.FormVersion` into a :class:`Schema` (sections
and fields in form order, conditions as :class:`Condition`); ``validate(schema)`` returns the
problems, each a :class:`Problem` with a code, the key it is about and a message for staff (English
source, Japanese in ``locale/ja``). Publishing refuses a version with any problem, and the admin's
"validate" action lists them. The rules:

=====================  ==================================================================================
code                   rule
=====================  ==================================================================================
``empty``              a version has at least one section and one field
``key_format``         keys (sections and fields) are lower-case ASCII: a letter, then letters, digits, _
``duplicate_section``  section keys are unique within the version
``duplicate_key``      field keys are unique within the version
``no_label``           every field and section has a Japanese label
``max_length``         a text's maximum length is positive and at most 10,000; other kinds have none
``no_choices``         a single or multiple choice has at least one choice
``duplicate_choice``   choice values are unique within the field
``unexpected_choices`` other kinds have no choices
``condition_partial``  a condition names a field, an operator and a value, or none of them
``condition_unknown``  the field a condition refers to exists in the version
``condition_cycle``    conditions do not refer to the field itself or round in a circle
``condition_order``    the field a condition refers to comes before it
``condition_operator`` "equals" for a single choice, short text, whole number or amount; "includes"
                       for a multiple choice or a set of prefectures
``condition_value``    the value is one the referred field can hold (one of its choices, a number, a
                       prefecture code)
``share_of``           "at most the subsidy rate of" names an earlier amount of the same section, and
                       only an amount has it
=====================  ==================================================================================

Visibility (``visible_keys``): a field without a condition is shown; a field with one is shown when
the field it refers to is shown and its value matches. This module knows nothing of answers'
storage (applications layer) and is used by the form builder (``calls/form_builder.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from kodoku_portal.limits import LONG_TEXT_MAX
from kodoku_portal.normalise import normalise_code
from kodoku_portal.prefectures import is_prefecture_code

from .models import ConditionOperator, FieldKind, FormVersion, parse_choices

_DIGITS = re.compile(r"[0-9]+")
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,59}")
TEXT_KINDS = frozenset({FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT})
CHOICE_KINDS = frozenset({FieldKind.CHOICE, FieldKind.MULTI_CHOICE})
SET_KINDS = frozenset({FieldKind.MULTI_CHOICE, FieldKind.PREFECTURES})
EQUALS_KINDS = frozenset({FieldKind.CHOICE, FieldKind.SHORT_TEXT, FieldKind.WHOLE_NUMBER, FieldKind.YEN})
NUMBER_KINDS = frozenset({FieldKind.WHOLE_NUMBER, FieldKind.YEN})


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str


@dataclass(frozen=True)
class FieldSpec:
    key: str
    kind: str
    section: str
    label: str = "項目"
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    condition: Condition | None = None
    # A condition filled in only in part (what the admin may hold before validation).
    condition_parts: tuple[str, str, str] | None = None
    # An amount that may be at most the call's subsidy rate of this earlier amount (its key).
    share_of: str = ""


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str = "区分"


@dataclass(frozen=True)
class Schema:
    """Sections and fields in form order (a field's position is its place in ``fields``)."""

    sections: tuple[SectionSpec, ...]
    fields: tuple[FieldSpec, ...] = field(default=())


@dataclass(frozen=True)
class Problem:
    code: str
    key: str
    message: str

    def __str__(self) -> str:
        return self.message


def schema_of(version: FormVersion) -> Schema:
    """The version's sections and fields as a :class:`Schema` (three queries at most)."""
    sections = version.ordered_sections()
    section_keys = {section.pk: section.key for section in sections}
    fields = []
    for item in version.ordered_fields():
        parts = (item.condition_field, item.condition_operator, item.condition_value)
        condition = Condition(*parts) if all(parts) else None
        fields.append(
            FieldSpec(
                key=item.key,
                kind=item.kind,
                section=section_keys.get(item.section_id, ""),
                label=item.label,
                required=item.required,
                max_length=item.max_length,
                choices=tuple(value for value, _ja, _en in parse_choices(item.choices)),
                condition=condition,
                condition_parts=parts if any(parts) and not all(parts) else None,
                share_of=item.share_of,
            )
        )
    return Schema(tuple(SectionSpec(section.key, section.title) for section in sections), tuple(fields))


def _condition_value_problem(target: FieldSpec, condition: Condition) -> str | None:
    """Why ``condition.value`` is not a value ``target`` can hold, or None."""
    value = condition.value
    if target.kind in CHOICE_KINDS:
        if value not in target.choices:
            return _("“%(value)s” is not one of the choices of “%(target)s” (%(choices)s).") % {
                "value": value,
                "target": target.key,
                "choices": "、".join(target.choices),
            }
    elif target.kind == FieldKind.PREFECTURES and not is_prefecture_code(value):
        return _("“%(value)s” is not a prefecture code (01 to 47).") % {"value": value}
    elif target.kind in NUMBER_KINDS and not _DIGITS.fullmatch(normalise_code(value)):
        return _("“%(value)s” is not a whole number.") % {"value": value}
    return None


def _cycle_keys(fields: Iterable[FieldSpec]) -> set[str]:
    """Keys of fields whose conditions, followed, come back to them."""
    refers = {spec.key: spec.condition.field for spec in fields if spec.condition is not None}
    in_cycle: set[str] = set()
    for start in refers:
        seen = [start]
        current = refers.get(start)
        while current is not None and current not in seen:
            seen.append(current)
            current = refers.get(current)
        if current == start:
            in_cycle.add(start)
    return in_cycle


def validate(schema: Schema) -> list[Problem]:
    """Every problem of the schema, in form order (an empty list: the version may be published)."""
    problems: list[Problem] = []

    def add(code: str, key: str, message: str) -> None:
        problems.append(Problem(code, key, message))

    if not schema.sections or not schema.fields:
        add("empty", "", _("A form needs at least one section and one field."))
    seen_sections: set[str] = set()
    for section in schema.sections:
        if not KEY_PATTERN.fullmatch(section.key):
            add(
                "key_format",
                section.key,
                _("The key “%(key)s” must start with a lower-case letter and use only a–z, 0–9 and _.")
                % {"key": section.key},
            )
        if section.key in seen_sections:
            add("duplicate_section", section.key, _("Two sections have the key “%(key)s”.") % {"key": section.key})
        seen_sections.add(section.key)
        if not section.title.strip():
            add("no_label", section.key, _("The section “%(key)s” has no title.") % {"key": section.key})

    by_key: dict[str, FieldSpec] = {}
    position: dict[str, int] = {}
    for index, spec in enumerate(schema.fields):
        key = spec.key
        if not KEY_PATTERN.fullmatch(key):
            add(
                "key_format",
                key,
                _("The key “%(key)s” must start with a lower-case letter and use only a–z, 0–9 and _.") % {"key": key},
            )
        if key in by_key:
            add("duplicate_key", key, _("Two fields have the key “%(key)s”: keys must be unique.") % {"key": key})
        else:
            by_key[key] = spec
            position[key] = index
        if not spec.label.strip():
            add("no_label", key, _("The field “%(key)s” has no label.") % {"key": key})
        if spec.kind in TEXT_KINDS:
            if spec.max_length is not None and not 0 < spec.max_length <= LONG_TEXT_MAX:
                add(
                    "max_length",
                    key,
                    _("The maximum length of “%(key)s” must be between 1 and %(limit)s characters.")
                    % {"key": key, "limit": f"{LONG_TEXT_MAX:,}"},
                )
        elif spec.max_length is not None:
            add("max_length", key, _("Only a text has a maximum length (“%(key)s”).") % {"key": key})
        if spec.kind in CHOICE_KINDS:
            if not spec.choices:
                add("no_choices", key, _("The choice field “%(key)s” has no choices.") % {"key": key})
            elif len(set(spec.choices)) != len(spec.choices):
                add("duplicate_choice", key, _("Two choices of “%(key)s” have the same value.") % {"key": key})
        elif spec.choices:
            add("unexpected_choices", key, _("Only a choice field has choices (“%(key)s”).") % {"key": key})
        if spec.condition_parts is not None:
            add(
                "condition_partial",
                key,
                _("The condition of “%(key)s” needs a field, an operator and a value (or none of them).")
                % {"key": key},
            )

    for index, spec in enumerate(schema.fields):
        if not spec.share_of:
            continue
        base = by_key.get(spec.share_of)
        if (
            spec.kind != FieldKind.YEN
            or base is None
            or base.kind != FieldKind.YEN
            or base.section != spec.section
            or position[spec.share_of] >= index
        ):
            add(
                "share_of",
                spec.key,
                _(
                    "“%(key)s” may be limited to the subsidy rate of an earlier amount of its own section only, and "
                    "only when it is an amount itself (“%(base)s”)."
                )
                % {"key": spec.key, "base": spec.share_of},
            )

    cycles = _cycle_keys(schema.fields)
    for index, spec in enumerate(schema.fields):
        condition = spec.condition
        if condition is None:
            continue
        key = spec.key
        target = by_key.get(condition.field)
        if target is None:
            add(
                "condition_unknown",
                key,
                _("The condition of “%(key)s” refers to “%(target)s”, which is not a field of this form.")
                % {"key": key, "target": condition.field},
            )
            continue
        if key in cycles:
            add(
                "condition_cycle",
                key,
                _("The conditions of “%(key)s” and “%(target)s” refer to each other in a circle.")
                % {"key": key, "target": condition.field},
            )
            continue
        if position[condition.field] >= index:
            add(
                "condition_order",
                key,
                _("The condition of “%(key)s” refers to “%(target)s”, which comes after it: move it earlier.")
                % {"key": key, "target": condition.field},
            )
        if condition.operator == ConditionOperator.EQUALS:
            allowed = target.kind in EQUALS_KINDS
        elif condition.operator == ConditionOperator.INCLUDES:
            allowed = target.kind in SET_KINDS
        else:
            allowed = False
        if not allowed:
            add(
                "condition_operator",
                key,
                _(
                    "The condition of “%(key)s” cannot use “%(operator)s” on “%(target)s”: use “equals” for a single "
                    "choice, a short text or a number, “includes” for a multiple choice or prefectures."
                )
                % {"key": key, "operator": condition.operator, "target": target.key},
            )
            continue
        reason = _condition_value_problem(target, condition)
        if reason is not None:
            add("condition_value", key, _("The condition of “%(key)s”: %(reason)s") % {"key": key, "reason": reason})
    return problems


# --- visibility ------------------------------------------------------------------------------------


def condition_holds(condition: Condition, kind: str, value: Any) -> bool:
    """Whether a stored/cleaned ``value`` of a field of ``kind`` satisfies ``condition``."""
    if value in (None, "", [], ()):
        return False
    if condition.operator == ConditionOperator.INCLUDES:
        return isinstance(value, list | tuple | set) and condition.value in {str(item) for item in value}
    if kind in NUMBER_KINDS:
        try:
            return int(value) == int(normalise_code(condition.value))
        except (TypeError, ValueError):
            return False
    return str(value) == condition.value


def visible_keys(fields: Iterable[FieldSpec], values: Mapping[str, Any]) -> set[str]:
    """Keys of the fields shown for ``values`` (key → value), in form order: a field is hidden when
    its condition fails or the field its condition refers to is itself hidden."""
    shown: set[str] = set()
    kinds: dict[str, str] = {}
    for spec in fields:
        kinds[spec.key] = spec.kind
        condition = spec.condition
        if condition is None or (
            condition.field in shown and condition_holds(condition, kinds[condition.field], values.get(condition.field))
        ):
            shown.add(spec.key)
    return shown
