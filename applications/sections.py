"""The applicant's task list: the sections of an application, in order (issue 12, item 1).

``SECTIONS`` is the one ordered list. Each entry is one step of the task list on the application's
home page (``applications:detail``); the steps with a page of their own are reached at
``/applications/<pk>/section/<key>/`` (``applications:section``). A later change adds a section by
adding an entry here (the call-defined forms of forms-core will be extra ``FORM`` sections placed
before ``attachments``): its ``fields`` are draft fields the section's page edits and saves, its
``problems`` the ``Problem.field`` values of ``checks.application_problems`` that belong to it
(they decide its state), its ``template`` the body of its page.

A section's state is computed from the draft as stored, with the same checks the preview and the
submission use (``checks.application_problems``), so the list, the preview and the submit button
always agree: 未着手 (nothing of it filled in yet), 入力中 (begun, something still missing or
wrong), 完了 (nothing missing). 確認 and 提出 cannot start until nothing is missing anywhere.

A call with its own application form (issue 16) adds one ``SCHEMA`` entry per section of the
application's form version after 申請内容 (``sections_for(application)``); such a section saves on
its own page (``services.answers_save``) and is 対象外 (``NOT_NEEDED``, skipped by 前へ / 次へ)
when every field of it is hidden by its condition.

A save names its section (the hidden ``section`` field of the page) and touches only that
section's fields (``ApplicationForm(fields=…)``) and, only when the section has them, the budget
lines; a field of another section is never blanked by a missing POST key.
"""

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kodoku_portal.jp import join_list

from . import answers as answer_store
from .checks import Problem, schema_key
from .models import Application

# What a step is.
ORGANISATION = "organisation"  # a summary of the organisation's profile (edited on its own page)
FORM = "form"  # draft fields and/or the budget, autosaved (applications:save)
ATTACHMENTS = "attachments"  # uploads (applications:attachment_upload)
CHECK = "check"  # the preview (applications:preview)
SUBMIT = "submit"  # the submit button at the foot of the preview
SCHEMA = "schema"  # a section of the call's own form (calls.FormSection), saved by its own page

# States of a step.
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CANNOT_START = "cannot_start"
NOT_NEEDED = "not_needed"  # a schema section whose every field is hidden by its condition (対象外)

STATE_LABELS = {
    NOT_STARTED: _("Not started"),
    IN_PROGRESS: _("In progress"),
    COMPLETED: _("Completed"),
    CANNOT_START: _("Cannot start yet"),
    NOT_NEEDED: _("Not needed"),
}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: str
    fields: tuple[str, ...] = ()
    budget: bool = False
    problems: tuple[str, ...] = ()
    template: str = ""
    optional: bool = False
    hint: str = ""
    form_section: Any = field(default=None, compare=False)  # SCHEMA: the calls.FormSection
    not_needed: bool = False  # SCHEMA: every field hidden by its condition (skipped by 前へ / 次へ)

    @property
    def has_page(self) -> bool:
        return self.kind in (ORGANISATION, FORM, ATTACHMENTS, SCHEMA) and not self.not_needed

    @property
    def saves(self) -> bool:
        """Its page posts to the autosave endpoint (applications:save)."""
        return self.kind == FORM

    def url(self, application: Application) -> str:
        if self.kind == CHECK:
            return reverse("applications:preview", args=[application.pk])
        if self.kind == SUBMIT:
            return reverse("applications:preview", args=[application.pk]) + "#submit"
        return reverse("applications:section", args=[application.pk, self.key])


CONTENT_FIELDS = (
    "theme",
    "title",
    "summary",
    "period_start",
    "period_end",
    "area_nationwide",
    "area_prefectures",
    "area_reason",
)

SECTIONS: list[Section] = [
    Section(
        "organisation",
        _("Organisation details"),
        ORGANISATION,
        problems=("organisation",),
        template="applications/sections/_organisation.html",
        hint=_("Your organisation's profile, shared by all its applications."),
    ),
    Section(
        "content",
        _("Application details"),
        FORM,
        fields=CONTENT_FIELDS,
        problems=CONTENT_FIELDS,
        template="applications/sections/_content.html",
        hint=_("Theme, project name, summary, period and area."),
    ),
    Section(
        "budget",
        _("Project budget"),
        FORM,
        budget=True,
        problems=("budget",),
        template="applications/sections/_budget.html",
        hint=_("Budget lines; their total is the requested amount."),
    ),
    Section(
        "attachments",
        _("Supporting documents"),
        ATTACHMENTS,
        problems=("attachments",),
        template="applications/sections/_attachments.html",
        optional=True,
        hint=_("Articles of association, list of officers and other documents."),
    ),
    Section(
        "check",
        _("Check your answers"),
        CHECK,
        hint=_("Check the whole application before you submit it."),
    ),
    Section(
        "submit",
        _("Submission"),
        SUBMIT,
        hint=_("Submit by the deadline and receive your receipt number."),
    ),
]


def schema_entries(status: answer_store.FormStatus) -> list[Section]:
    """One entry per section of the application's own form version (none when the call has no form)."""
    return [
        Section(
            schema_key(state.section),
            str(state.section),
            SCHEMA,
            problems=(schema_key(state.section),),
            template="applications/sections/_schema.html",
            form_section=state.section,
            not_needed=state.not_needed,
            hint=schema_hint(state.asks),
        )
        for state in status.states
    ]


HINT_LABELS = 7


def schema_hint(labels: list[str]) -> str:
    """A form section's line in the task list, as the fixed sections have one: what it asks
    whatever the answers (「目的、対象者、…です。」); none when every field depends on an answer."""
    if not labels:
        return ""
    if len(labels) > HINT_LABELS:
        return gettext("%(fields)s, and more.") % {"fields": join_list(labels[:HINT_LABELS])}
    return gettext("%(fields)s.") % {"fields": join_list(labels)}


def form_status_of(application: Application) -> answer_store.FormStatus:
    """The form status read by ``checks.application_problems`` in this request, else read now."""
    status = getattr(application, "_form_status", None)
    if status is None:
        status = answer_store.form_status(application)
        application._form_status = status
    return status


def sections_for(application: Application | None = None) -> list[Section]:
    """The steps of ``application``: the fixed ones, with its call's own form sections after 申請内容."""
    if application is None:
        return list(SECTIONS)
    extra = schema_entries(form_status_of(application))
    if not extra:
        return list(SECTIONS)
    index = next(i for i, section in enumerate(SECTIONS) if section.key == "content") + 1
    return [*SECTIONS[:index], *extra, *SECTIONS[index:]]


def get(key: str, entries: list[Section] | None = None) -> Section | None:
    return next((section for section in (entries or SECTIONS) if section.key == key), None)


def form_section(key: str) -> Section | None:
    """The section a save names, if it is one whose page saves (else None: the save is refused)."""
    section = get(key)
    return section if section is not None and section.saves else None


def pages(entries: list[Section] | None = None) -> list[Section]:
    """The sections with a page of their own, in order (前へ / 次へ move along these)."""
    return [section for section in (entries or SECTIONS) if section.has_page]


def neighbours(section: Section, entries: list[Section] | None = None) -> tuple[Section | None, Section | None]:
    """The step before and the step after ``section`` (the one after the last page is 確認); a
    section not needed (対象外) is skipped."""
    entries = entries or SECTIONS
    index = entries.index(section)
    previous = next((s for s in reversed(entries[:index]) if s.has_page), None)
    following = next((s for s in entries[index + 1 :] if s.has_page or s.kind == CHECK), None)
    return previous, following


def _filled(application: Application, name: str) -> bool:
    if name == "theme":
        return application.theme_id is not None
    value = getattr(application, name)
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _started(section: Section, application: Application) -> bool:
    if section.kind == ORGANISATION:
        return True  # the profile exists (the draft was started for it)
    if section.kind == ATTACHMENTS:
        return bool(application.attachments.all())
    if section.kind == SCHEMA:
        status = form_status_of(application)
        return any(state.started for state in status.states if state.section.pk == section.form_section.pk)
    if any(_filled(application, name) for name in section.fields):
        return True
    return section.budget and bool(application.budget_lines.all())


@dataclass
class Task:
    section: Section
    number: int
    state: str
    url: str | None  # None: cannot start yet (shown without a link)
    problems: list[Problem] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def tasks(application: Application, problems: list[Problem], entries: list[Section] | None = None) -> list[Task]:
    """Each step with its state, from the stored draft and ``checks.application_problems``."""
    result = []
    for number, section in enumerate(entries or sections_for(application), start=1):
        own = [p for p in problems if p.field in section.problems]
        if section.kind in (CHECK, SUBMIT):
            state = CANNOT_START if problems else NOT_STARTED
        elif section.not_needed:
            state = NOT_NEEDED
        elif not _started(section, application):
            state = NOT_STARTED  # an optional step says so beside its title
        elif own:
            state = IN_PROGRESS
        else:
            state = COMPLETED
        url = None if state in (CANNOT_START, NOT_NEEDED) else section.url(application)
        result.append(Task(section, number, state, url, own))
    return result
