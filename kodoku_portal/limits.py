"""How long a text may be, in one place (issue 13: no field takes a million characters).

Forms check these limits (``kodoku_portal.formfields.CleanInputFormMixin`` gives every text field
one) and so do the models: a ``CharField`` has its ``max_length`` (a column limit on PostgreSQL),
and a long text is a :class:`LimitedTextField`, a ``TextField`` whose ``max_length`` is required,
checked by model validation and model forms, and kept by a CHECK constraint
(``LENGTH(column) <= max_length``, added by the model's ``@with_length_checks``), so no path (a
service, a shell, a future API) can store more.
The count is in characters (``LENGTH`` counts characters on PostgreSQL and SQLite), as the person
typing sees it.

==================  =======  ==========================================================
limit               chars    for
==================  =======  ==========================================================
``NAME_MAX``        200      a name, a title, a one-line detail (a budget line)
``NOTE_MAX``        2,000    a note, a short reason, a call's description
``REASON_MAX``      4,000    a reason given to the organisation (returning, declining)
``LONG_TEXT_MAX``   10,000   a section of an application, a report, a plan, conditions
==================  =======  ==========================================================

The application's 概要 has, besides, the call's own limit (``Call.summary_max_length``, 400 by
default), checked when the application is submitted.
"""

from typing import Any

from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

NAME_MAX = 200
NOTE_MAX = 2_000
REASON_MAX = 4_000
LONG_TEXT_MAX = 10_000


class LimitedTextField(models.TextField):
    """A ``TextField`` with a required ``max_length``, validated (model validation, model forms,
    the admin). Its model carries ``@with_length_checks``, which puts the database CHECK."""

    def __init__(self, *args: Any, max_length: int, **kwargs: Any) -> None:
        super().__init__(*args, max_length=max_length, **kwargs)
        self.validators.append(MaxLengthValidator(max_length))


def with_length_checks(model: type[models.Model]) -> type[models.Model]:
    """Class decorator of a model with ``LimitedTextField`` columns: one CHECK constraint per such
    column, ``LENGTH(column) <= max_length``, added to the model's ``Meta.constraints`` (so
    ``makemigrations`` writes it like any constraint declared there)."""
    meta = model._meta
    checks = [
        models.CheckConstraint(
            condition=LessThanOrEqual(Length(field.name), field.max_length),
            name=f"{meta.db_table}_{field.column}_max_length",
        )
        for field in meta.local_fields
        if isinstance(field, LimitedTextField)
    ]
    meta.constraints = [*meta.constraints, *checks]
    meta.original_attrs["constraints"] = meta.constraints
    return model
