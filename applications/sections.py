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

A save names its section (the hidden ``section`` field of the page) and touches only that
section's fields (``ApplicationForm(fields=…)``) and, only when the section has them, the budget
lines; a field of another section is never blanked by a missing POST key.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .checks import Problem
from .models import Application

# What a step is.
ORGANISATION = "organisation"  # a summary of the organisation's profile (edited on its own page)
FORM = "form"  # draft fields and/or the budget, autosaved (applications:save)
ATTACHMENTS = "attachments"  # uploads (applications:attachment_upload)
CHECK = "check"  # the preview (applications:preview)
SUBMIT = "submit"  # the submit button at the foot of the preview

# States of a step.
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CANNOT_START = "cannot_start"

STATE_LABELS = {
    NOT_STARTED: _("Not started"),
    IN_PROGRESS: _("In progress"),
    COMPLETED: _("Completed"),
    CANNOT_START: _("Cannot start yet"),
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

    @property
    def has_page(self) -> bool:
        return self.kind in (ORGANISATION, FORM, ATTACHMENTS)

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
    "purpose",
    "target_people",
    "activities",
    "structure",
    "partners",
    "expected_results",
    "schedule",
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
        hint=_("Theme, project plan, period and area."),
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


def get(key: str) -> Section | None:
    return next((section for section in SECTIONS if section.key == key), None)


def form_section(key: str) -> Section | None:
    """The section a save names, if it is one whose page saves (else None: the save is refused)."""
    section = get(key)
    return section if section is not None and section.saves else None


def pages() -> list[Section]:
    """The sections with a page of their own, in order (前へ / 次へ move along these)."""
    return [section for section in SECTIONS if section.has_page]


def neighbours(section: Section) -> tuple[Section | None, Section | None]:
    """The step before and the step after ``section`` (the one after the last page is 確認)."""
    index = SECTIONS.index(section)
    previous = next((s for s in reversed(SECTIONS[:index]) if s.has_page), None)
    following = next((s for s in SECTIONS[index + 1 :] if s.has_page or s.kind == CHECK), None)
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


def tasks(application: Application, problems: list[Problem]) -> list[Task]:
    """Each step with its state, from the stored draft and ``checks.application_problems``."""
    result = []
    for number, section in enumerate(SECTIONS, start=1):
        own = [p for p in problems if p.field in section.problems]
        if section.kind in (CHECK, SUBMIT):
            state = CANNOT_START if problems else NOT_STARTED
        elif not _started(section, application):
            state = NOT_STARTED  # an optional step says so beside its title
        elif own:
            state = IN_PROGRESS
        else:
            state = COMPLETED
        url = None if state == CANNOT_START else section.url(application)
        result.append(Task(section, number, state, url, own))
    return result
