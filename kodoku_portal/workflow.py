"""The one workflow function: every status field in the portal is written through :func:`change_state`.

Inside the caller's transaction it checks the model's transition table, sets the state, saves,
writes the audit entry and queues the e-mails the change causes (the outbox), so that either all
of it happens or none. A refusal is a :class:`Refused` (machine code + messages for the user);
views turn it into messages with ``kodoku_portal.views_support.refusals_to_messages``.

A model opts in with a class attribute ``TRANSITIONS``: current state → the states it may become
(a self-transition is allowed only where the table lists it)::

    class Application(models.Model):
        TRANSITIONS = {ApplicationStatus.DRAFT: frozenset({ApplicationStatus.SUBMITTED}), ...}

    @transaction.atomic
    def application_submit(...):
        ...
        change_state(application, ApplicationStatus.SUBMITTED, by=user, action="submitted",
                     update_fields=["receipt_number", "submitted_at"],
                     mails=[Mail("receipt", application, user.email, recipient=user)])

Changes that are not state changes but must be audited (an amount edited) use :func:`record`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.utils.translation import gettext

from .audit import audit
from .models import AuditEntry
from .outbox import Mail, enqueue
from .refusals import Refused

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = ["Refused", "change_state", "record"]


def _require_transaction(function: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            f"{function}() must run inside the caller's transaction (transaction.atomic): the change, "
            "its audit entry and its e-mails are committed together or not at all"
        )


def _plain(value: object) -> object:
    """A choices member as its plain value (what is stored and written to the audit trail)."""
    return value.value if isinstance(value, enum.Enum) else value


def _label(field: models.Field, value: object) -> str:
    labels = {str(choice): label for choice, label in field.flatchoices} if field.choices else {}
    return str(labels.get(str(value), value))


def _has_auto_now_updated_at(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("updated_at")
    except FieldDoesNotExist:
        return False
    return bool(getattr(field, "auto_now", False))


def change_state(
    obj: models.Model,
    target: str,
    *,
    by: AbstractBaseUser | None,
    action: str,
    field: str = "status",
    transitions: Mapping[str, Iterable[str]] | None = None,
    update_fields: Iterable[str] = (),
    before: dict | None = None,
    after: dict | None = None,
    mails: Iterable[Mail] = (),
    call_id: int | None = None,
) -> str:
    """Move ``obj`` to the state ``target`` and return the state it was in.

    - Must run inside the caller's transaction (``RuntimeError`` otherwise).
    - ``transitions`` defaults to ``type(obj).TRANSITIONS``. If ``target`` is not allowed from the
      current state, raises ``Refused(code="transition")`` naming both states by their labels.
    - Sets ``obj.<field>`` and saves: ``obj.save()`` for a new object, else
      ``obj.save(update_fields=[field, *update_fields])`` (plus ``updated_at`` when the model has
      such an ``auto_now`` field). Set the other changed fields on ``obj`` before calling.
    - Writes one audit entry: ``before={field: old, **before}``, ``after={field: new, **after}``,
      actor ``by`` (None: the system), ``action``, ``call_id`` (default ``obj.call_id``).
    - Enqueues every :class:`kodoku_portal.outbox.Mail` of ``mails`` in the same transaction
      (a mail without a ``call_id`` gets this change's); they are sent after commit.
    """
    _require_transaction("change_state")
    if transitions is None:
        transitions = getattr(type(obj), "TRANSITIONS", None)
        if transitions is None:
            raise TypeError(f"{type(obj).__name__} has no TRANSITIONS table; pass transitions=")
    model_field = obj._meta.get_field(field)
    current = _plain(getattr(obj, model_field.attname))
    new = _plain(target)
    allowed = {str(_plain(state)) for state in transitions.get(current, ())}
    if str(new) not in allowed:
        raise Refused(
            gettext("This cannot change from %(current)s to %(target)s.")
            % {"current": _label(model_field, current), "target": _label(model_field, new)},
            code="transition",
        )
    setattr(obj, model_field.attname, new)
    if obj.pk is None or obj._state.adding:
        obj.save()
    else:
        fields = [model_field.name, *update_fields]
        if _has_auto_now_updated_at(type(obj)):
            fields.append("updated_at")
        obj.save(update_fields=list(dict.fromkeys(fields)))
    call_id = call_id if call_id is not None else getattr(obj, "call_id", None)
    audit(
        actor=by,
        action=action,
        obj=obj,
        before={field: current, **(before or {})},
        after={field: new, **(after or {})},
        call_id=call_id if isinstance(call_id, int) else None,
    )
    for mail in mails:
        if mail.call_id is None and isinstance(call_id, int):
            mail = dataclasses.replace(mail, call_id=call_id)
        enqueue(mail)
    return current


def record(
    obj: models.Model,
    *,
    by: AbstractBaseUser | None,
    action: str,
    before: dict | None = None,
    after: dict | None = None,
    call_id: int | None = None,
) -> AuditEntry:
    """Audit a change that is not a state change (e.g. an amount edited), inside the caller's
    transaction (``RuntimeError`` otherwise). ``call_id`` defaults to ``obj.call_id``."""
    _require_transaction("record")
    return audit(actor=by, action=action, obj=obj, before=before, after=after, call_id=call_id)
