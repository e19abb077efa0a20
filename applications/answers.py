"""Answers to a call's application form (issue 16): how an answer is stored per field kind, which
version an application answers, what changed between two versions, and the answers kept from an
earlier version. Writes are in ``applications.services`` (``answers_save``, ``form_version_move``).

Storage (``applications.models.Answer``, one row per application and field key):

=====================================  ==================  ===========================================
kind                                   column              value
=====================================  ==================  ===========================================
short text, long text, single choice   ``text``            ``str`` (a choice: its value)
whole number, amount in yen            ``number``          ``int`` (NFKC, commas, ¥ and 円 normalised)
date                                   ``date``            ``datetime.date``
multiple choice, prefectures           ``choices``         ``list[str]`` (choice values / JIS codes)
file slot                              ``attachment``      the id of one of the application's files
=====================================  ==================  ===========================================

An answer *fits* a field of a version when its column for the field's kind holds a value the field
accepts (a choice still offered, prefecture codes, …) or it holds nothing. An answer that does not
fit, or whose key the version does not have, is never deleted: ``earlier_answers`` lists it as
"from an earlier version" with its own field's label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from calls.form_builder import SchemaSectionForm, section_form
from calls.form_schema import schema_of, visible_keys
from calls.models import FieldKind, FormField, FormSection, FormVersion
from calls.services import published_version
from kodoku_portal.jp import format_date, format_yen
from kodoku_portal.prefectures import is_prefecture_code, prefecture_name

from .models import Answer, Application

TEXT_COLUMN_KINDS = frozenset({FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT, FieldKind.CHOICE})
NUMBER_KINDS = frozenset({FieldKind.WHOLE_NUMBER, FieldKind.YEN})
LIST_KINDS = frozenset({FieldKind.MULTI_CHOICE, FieldKind.PREFECTURES})

# What a field's definition is compared on when two versions are compared.
_COMPARED = ("section_key", "kind", "label", "label_en", "help_text", "required", "max_length", "choices",
             "condition_field", "condition_operator", "condition_value", "share_of", "in_summaries")  # fmt: skip


def version_with_fields(version_id: int) -> FormVersion:
    """A version with its sections and fields (three queries)."""
    return FormVersion.objects.select_related("call").prefetch_related("sections", "fields").get(pk=version_id)


def version_for(application: Application) -> FormVersion | None:
    """The version the application answers: its own once it has one (a submitted application is
    always shown with it), else the call's form in use; None when the call has no form."""
    if application.form_version_id is not None:
        return version_with_fields(application.form_version_id)
    current = published_version(application.call)
    return version_with_fields(current.pk) if current is not None else None


def has_content(answer: Answer) -> bool:
    return (
        bool(answer.text)
        or answer.number is not None
        or answer.date is not None
        or bool(answer.choices)
        or (answer.attachment_id is not None)
    )


def read_value(answer: Answer, kind: str) -> Any:
    """The answer's value as a field of ``kind`` reads it (None when that column is empty)."""
    if kind in TEXT_COLUMN_KINDS:
        return answer.text or None
    if kind in NUMBER_KINDS:
        return answer.number
    if kind == FieldKind.DATE:
        return answer.date
    if kind in LIST_KINDS:
        return list(answer.choices) if answer.choices else None
    if kind == FieldKind.FILE:
        return answer.attachment_id
    return None


def write_value(answer: Answer, kind: str, value: Any) -> None:
    """Put ``value`` (a cleaned form value) in the column of ``kind``; the other columns are emptied."""
    answer.text = ""
    answer.number = None
    answer.date = None
    answer.choices = None
    answer.attachment_id = None
    if value in (None, "", [], ()):
        return
    if kind in TEXT_COLUMN_KINDS:
        answer.text = str(value)
    elif kind in NUMBER_KINDS:
        answer.number = int(value)
    elif kind == FieldKind.DATE:
        answer.date = value
    elif kind in LIST_KINDS:
        answer.choices = [str(item) for item in value]
    elif kind == FieldKind.FILE:
        answer.attachment_id = int(value)


def _accepts(item: FormField, value: Any) -> bool:
    offered = {choice for choice, _ja, _en in item.choice_list()}
    if item.kind == FieldKind.CHOICE:
        return value in offered
    if item.kind == FieldKind.MULTI_CHOICE:
        return set(value) <= offered
    if item.kind == FieldKind.PREFECTURES:
        return all(is_prefecture_code(code) for code in value)
    if item.kind in (FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT) and item.max_length:
        return len(value) <= item.max_length
    return True


def fits(answer: Answer, item: FormField) -> bool:
    """Whether the stored answer can be shown (and kept) as an answer to ``item``."""
    if not has_content(answer):
        return True
    value = read_value(answer, item.kind)
    return value is not None and _accepts(item, value)


def answers_of(application: Application) -> list[Answer]:
    return list(Answer.objects.filter(application=application).select_related("attachment"))


def stored_values(version: FormVersion, answers: Iterable[Answer]) -> dict[str, Any]:
    """key → value of every stored answer that fits its field in ``version``."""
    fields = {item.key: item for item in version.fields.all()}
    values = {}
    for answer in answers:
        item = fields.get(answer.field_key)
        if item is not None and fits(answer, item):
            values[answer.field_key] = read_value(answer, item.kind)
    return values


def display_value(item: FormField, value: Any, attachments: Mapping[int, str] | None = None) -> str:
    """An answer as shown on a page: choices by their labels, dates as 2025年5月30日（金）, yen with separators."""
    if value in (None, "", [], ()):
        return "—"
    labels = {choice: ja for choice, ja, _en in item.choice_list()}
    if item.kind == FieldKind.CHOICE:
        return labels.get(value, value)
    if item.kind == FieldKind.MULTI_CHOICE:
        return "、".join(labels.get(choice, choice) for choice in value)
    if item.kind == FieldKind.PREFECTURES:
        return "、".join(prefecture_name(code) if is_prefecture_code(code) else code for code in value)
    if item.kind == FieldKind.YEN:
        return format_yen(value)
    if item.kind == FieldKind.WHOLE_NUMBER:
        return f"{value:,}"
    if item.kind == FieldKind.DATE and isinstance(value, dt.date):
        return format_date(value)
    if item.kind == FieldKind.FILE:
        return (attachments or {}).get(value, _("(a file no longer attached)"))
    return str(value)


@dataclass(frozen=True)
class EarlierAnswer:
    """An answer kept from an earlier version: its key, its own field's label and what it said."""

    key: str
    label: str
    value: str
    version_number: int


def earlier_answers(version: FormVersion, answers: Iterable[Answer]) -> list[EarlierAnswer]:
    """Answers with content that do not fit ``version`` (their field was removed or changed beyond
    them), each with the label of the field it answered in its own version."""
    fields = {item.key: item for item in version.fields.all()}
    kept = [
        answer
        for answer in answers
        if has_content(answer) and (answer.field_key not in fields or not fits(answer, fields[answer.field_key]))
    ]
    if not kept:
        return []
    own = {
        (item.version_id, item.key): item
        for item in FormField.objects.filter(
            version_id__in={answer.form_version_id for answer in kept}, key__in={answer.field_key for answer in kept}
        ).select_related("version")
    }
    listed = []
    for answer in kept:
        item = own.get((answer.form_version_id, answer.field_key))
        if item is None:  # defensive: the answer names a key its version never had
            listed.append(EarlierAnswer(answer.field_key, answer.field_key, "", 0))
            continue
        attachments = {answer.attachment_id: answer.attachment.original_name} if answer.attachment_id else {}
        listed.append(
            EarlierAnswer(
                answer.field_key,
                item.localized_label,
                display_value(item, read_value(answer, item.kind), attachments),
                item.version.number,
            )
        )
    return listed


def file_choices(application: Application) -> list[tuple[int, str]]:
    return [
        (pk, name)
        for pk, name in application.attachments.order_by("uploaded_at", "id").values_list("pk", "original_name")
    ]


def section_form_for(
    application: Application,
    version: FormVersion,
    section: FormSection,
    *,
    data: Mapping[str, Any] | None = None,
    answers: Iterable[Answer] | None = None,
    drafting: bool = False,
) -> SchemaSectionForm:
    """The form of one section for ``application``, with its stored answers (one more task-list
    section); ``drafting``: a draft's save, which may leave a required answer for later."""
    answers = answers_of(application) if answers is None else answers
    return section_form(
        version,
        section,
        values=stored_values(version, answers),
        data=data,
        file_choices=file_choices(application),
        drafting=drafting,
    )


# --- comparing versions --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    what: tuple[str, ...] = ()


@dataclass
class VersionChange:
    """What differs between the version an application answered and the one it moves to."""

    old_number: int | None
    new_number: int
    added: list[FieldChange] = field(default_factory=list)
    removed: list[FieldChange] = field(default_factory=list)
    changed: list[FieldChange] = field(default_factory=list)
    earlier: list[EarlierAnswer] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _definition(item: FormField, section_keys: Mapping[int, str]) -> dict[str, Any]:
    values = {name: getattr(item, name) for name in _COMPARED if name != "section_key"}
    values["section_key"] = section_keys.get(item.section_id, "")
    return values


def version_changes(old: FormVersion | None, new: FormVersion) -> VersionChange:
    """Fields added, removed and changed (with the names of what changed) from ``old`` to ``new``."""
    change = VersionChange(old.number if old else None, new.number)
    old_fields = {item.key: item for item in old.ordered_fields()} if old else {}
    new_fields = {item.key: item for item in new.ordered_fields()}
    old_sections = {section.pk: section.key for section in old.sections.all()} if old else {}
    new_sections = {section.pk: section.key for section in new.sections.all()}
    for key, item in new_fields.items():
        if key not in old_fields:
            change.added.append(FieldChange(key, item.localized_label))
            continue
        before, after = _definition(old_fields[key], old_sections), _definition(item, new_sections)
        what = tuple(name for name in _COMPARED if before[name] != after[name])
        if what:
            change.changed.append(FieldChange(key, item.localized_label, what))
    for key, item in old_fields.items():
        if key not in new_fields:
            change.removed.append(FieldChange(key, item.localized_label))
    return change


# --- reading an application's answers (the read-only view, the staff page, the receipt) -------------


@dataclass(frozen=True)
class AnswerRow:
    key: str
    label: str
    value: str
    hidden: bool  # hidden by its condition: kept, not used
    in_summaries: bool = True  # also on the receipt (FormField.in_summaries)


@dataclass(frozen=True)
class SectionAnswers:
    section: FormSection
    rows: list[AnswerRow]

    @property
    def receipt_rows(self) -> list[AnswerRow]:
        """What the receipt (受付票) shows of the section: the answers in summaries, not hidden."""
        return [row for row in self.rows if row.in_summaries and not row.hidden]


@dataclass(frozen=True)
class ApplicationAnswers:
    version: FormVersion | None
    sections: list[SectionAnswers]
    earlier: list[EarlierAnswer]


class VersionCache:
    """``version_for`` over many applications (a dossier of a whole call): each call's version in
    use and each version with its sections and fields read once."""

    def __init__(self) -> None:
        self._in_use: dict[int, int | None] = {}
        self._versions: dict[int, FormVersion] = {}

    def version_for(self, application: Application) -> FormVersion | None:
        version_id = application.form_version_id
        if version_id is None:
            if application.call_id not in self._in_use:
                current = published_version(application.call)
                self._in_use[application.call_id] = current.pk if current is not None else None
            version_id = self._in_use[application.call_id]
        if version_id is None:
            return None
        if version_id not in self._versions:
            self._versions[version_id] = version_with_fields(version_id)
        return self._versions[version_id]


def answers_for_display(
    application: Application, *, versions: VersionCache | None = None, answers: list[Answer] | None = None
) -> ApplicationAnswers:
    """Every answer of the application under its own version (``version_for``), section by
    section, with the answers kept from an earlier version (``templates/applications/_schema_answers.html``).
    ``versions`` and ``answers`` (e.g. prefetched) spare the queries when many are drawn."""
    version = versions.version_for(application) if versions is not None else version_for(application)
    if version is None:
        return ApplicationAnswers(None, [], [])
    answers = answers_of(application) if answers is None else answers
    values = stored_values(version, answers)
    attachments = {answer.attachment_id: answer.attachment.original_name for answer in answers if answer.attachment_id}
    shown = visible_keys(schema_of(version).fields, values)
    fields = version.ordered_fields()
    sections = [
        SectionAnswers(
            section,
            [
                AnswerRow(
                    item.key,
                    item.localized_label,
                    display_value(item, values.get(item.key), attachments),
                    hidden=item.key not in shown,
                    in_summaries=item.in_summaries,
                )
                for item in fields
                if item.section_id == section.pk
            ],
        )
        for section in version.ordered_sections()
    ]
    return ApplicationAnswers(version, sections, earlier_answers(version, answers))


def stored_by_key(answers: Iterable[Answer]) -> dict[str, Any]:
    """Every answer with content as stored, key → its value in the column that holds it (the
    reviewers' dossier keeps them so, whatever the version shows)."""
    values: dict[str, Any] = {}
    for answer in answers:
        if answer.text:
            values[answer.field_key] = answer.text
        elif answer.number is not None:
            values[answer.field_key] = answer.number
        elif answer.date is not None:
            values[answer.field_key] = answer.date
        elif answer.choices:
            values[answer.field_key] = list(answer.choices)
        elif answer.attachment_id is not None:
            values[answer.field_key] = answer.attachment_id
    return values


# --- for the applicant's task list: one entry per schema section --------------------------------


@dataclass(frozen=True)
class SectionState:
    """A schema section as a task-list entry: complete when every required field shown with the
    stored answers has an answer; ``missing`` names those that have none. ``started``: some field
    of it has a stored answer; ``not_needed``: every field of it is hidden by its condition (対象外)."""

    section: FormSection
    missing: list[str]
    started: bool = False
    not_needed: bool = False
    asks: list[str] = field(default_factory=list)  # the labels of its fields asked whatever the answers

    @property
    def complete(self) -> bool:
        return not self.missing


def _states(version: FormVersion, values: Mapping[str, Any], shown: set[str]) -> list[SectionState]:
    fields = version.ordered_fields()
    states = []
    for section in version.ordered_sections():
        own = [item for item in fields if item.section_id == section.pk]
        states.append(
            SectionState(
                section,
                [
                    item.localized_label
                    for item in own
                    if item.required and item.key in shown and values.get(item.key) in (None, "", [], ())
                ],
                started=any(values.get(item.key) not in (None, "", [], ()) for item in own),
                not_needed=bool(own) and not any(item.key in shown for item in own),
                asks=[item.localized_label for item in own if not item.condition_field],
            )
        )
    return states


def section_states(application: Application, version: FormVersion | None = None) -> list[SectionState]:
    """The task-list entries of the application's form, in order (also what a submission check asks)."""
    version = version or version_for(application)
    if version is None:
        return []
    values = stored_values(version, answers_of(application))
    return _states(version, values, visible_keys(schema_of(version).fields, values))


@dataclass(frozen=True)
class ShareProblem:
    """A stored amount over the call's 補助率 of its base (the rate may have changed since it was saved)."""

    section: FormSection
    message: str


@dataclass
class FormStatus:
    """All the task list, the section pages and the submission check need of an application's form,
    read once (a fixed number of queries, whatever the number of fields)."""

    version: FormVersion | None
    states: list[SectionState]
    shares: list[ShareProblem]
    answers: list[Answer]
    requested_total: int | None = None  # see ``requested_total``


def share_problems(version: FormVersion, values: Mapping[str, Any], shown: set[str]) -> list[ShareProblem]:
    items = {item.key: item for item in version.fields.all()}
    sections = {section.pk: section for section in version.sections.all()}
    rate = version.call.subsidy_rate_percent
    problems = []
    for item in version.ordered_fields():
        base = items.get(item.share_of) if item.share_of else None
        if base is None or item.key not in shown or base.key not in shown:
            continue
        amount, total = values.get(item.key), values.get(base.key)
        if amount is None or total is None or rate is None:
            continue
        limit = total * rate // 100
        if amount > limit:
            message = _("%(label)s may be at most %(rate)s%% of %(base)s, that is %(limit)s.") % {
                "label": item.localized_label,
                "rate": rate,
                "base": base.localized_label,
                "limit": format_yen(limit),
            }
            problems.append(ShareProblem(sections[item.section_id], message))
    return problems


def requested_total(version: FormVersion, values: Mapping[str, Any], shown: set[str]) -> int | None:
    """What the form asks of the programme: the sum of the amounts limited to the call's 補助率
    (``share_of``: the amount requested for a cost, e.g. the 交付申請額 of each menu item of the
    交付金) that are shown and answered. None when the form asks none, or none is answered yet.
    The budget lines set out the amount requested, so their total must be this sum
    (``checks.schema_problems``)."""
    amounts = [
        values[item.key]
        for item in version.ordered_fields()
        if item.share_of and item.key in shown and values.get(item.key) is not None
    ]
    return sum(amounts) if amounts else None


def form_status(application: Application) -> FormStatus:
    """The application's version, the state of each of its sections and the amounts over the 補助率."""
    version = version_for(application)
    if version is None:
        return FormStatus(None, [], [], [])
    answers = answers_of(application)
    values = stored_values(version, answers)
    shown = visible_keys(schema_of(version).fields, values)
    return FormStatus(
        version,
        _states(version, values, shown),
        share_problems(version, values, shown),
        answers,
        requested_total(version, values, shown),
    )
