"""The audit trail: write an entry (inside the transaction of the change it records) and say in
words what an entry records, in the active language.

Writing: :func:`audit` (used by ``kodoku_portal.workflow.change_state`` and ``record``). The entry
keeps the object's label, id and ``str(obj)``, the call it belongs to (``obj.call_id`` unless
given), the actor, the values before and after, and the IP address of the request
(``kodoku_portal.middleware.AuditContextMiddleware``; NULL outside a request). The database
refuses to change or delete entries (kodoku_portal/append_only.py).

Reading: :func:`describe` turns an entry into a sentence, e.g.
「staff@example.jp が PRACTICE-0004 を提出済から採択（1,200,000円）に変更しました」 /
"staff@example.jp changed PRACTICE-0004 from Submitted to Adopted (¥1,200,000)". Apps register a
sentence of their own for an action with :func:`register_action` in their ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .append_only import maintenance
from .jp import format_yen, join_list
from .middleware import current_ip
from .models import AuditEntry

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = ["audit", "describe", "maintenance", "register_action", "registered_actions"]

OBJECT_REPR_MAX = 200

# Sentences used when an action has none registered. Placeholders: %(actor)s %(object)s
# %(before)s %(after)s %(amount)s (and %(action)s, the action's code).
CHANGED = _("%(actor)s changed %(object)s from %(before)s to %(after)s")
CHANGED_WITH_AMOUNT = _("%(actor)s changed %(object)s from %(before)s to %(after)s (%(amount)s)")
SET = _("%(actor)s changed %(object)s to %(after)s")
SET_WITH_AMOUNT = _("%(actor)s changed %(object)s to %(after)s (%(amount)s)")
RECORDED = _("%(actor)s recorded “%(action)s” on %(object)s")

_ACTIONS: dict[str, str | Promise] = {}


def _call_id_of(obj: models.Model) -> int | None:
    value = getattr(obj, "call_id", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def audit(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model,
    before: dict | None,
    after: dict | None,
    call_id: int | None = None,
) -> AuditEntry:
    """Write one audit entry about ``obj`` (saved: it must have a primary key).

    ``actor`` is the user who acted, or None for the system (an anonymous user counts as None).
    ``call_id`` defaults to ``obj.call_id`` when the object has one. ``before``/``after`` are
    JSON (dates and decimals are stored as strings). The IP address is the current request's.
    """
    if obj.pk is None:
        raise ValueError("audit(): save the object first; an entry names it by its primary key")
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        object_repr=(getattr(obj, "audit_label", None) or str(obj))[:OBJECT_REPR_MAX],
        call_id=call_id if call_id is not None else _call_id_of(obj),
        ip=current_ip(),
        before=before,
        after=after,
    )


# --- describing an entry ---------------------------------------------------------------------


def register_action(code: str, template: str | Promise) -> None:
    """Give the action ``code`` its own sentence (a lazy translation, marked with gettext_lazy).

    Placeholders: ``%(actor)s`` (e-mail address, or "the system"), ``%(object)s`` (``str(obj)`` as
    it was), ``%(before)s`` / ``%(after)s`` (the state's labels, or "field: value" pairs when the
    entry is not a state change), ``%(amount)s`` (the first amount in ``after``, in yen; "" if
    none). Call it from ``AppConfig.ready``; registering a code again replaces its sentence.
    """
    _ACTIONS[code] = template


def registered_actions() -> dict[str, str | Promise]:
    """A copy of the registered sentences, by action code."""
    return dict(_ACTIONS)


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def _is_amount(key: str, value: Any) -> bool:
    return (key == "amount" or key.endswith("_amount")) and isinstance(value, int) and not isinstance(value, bool)


def _value_text(model: type[models.Model] | None, key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    field = _field(model, key)
    if field is not None and field.choices:
        labels = {str(choice): label for choice, label in field.flatchoices}
        return str(labels.get(str(value), value))
    if _is_amount(key, value):
        return format_yen(value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple):
        return join_list(value)
    return str(value)


def _field_name(model: type[models.Model] | None, key: str) -> str:
    field = _field(model, key)
    return str(field.verbose_name) if field is not None else key


def _state_field(model: type[models.Model] | None, before: Mapping, after: Mapping) -> str | None:
    """The key that holds the object's state: 'status', else the first key of a field with choices."""
    if "status" in after or "status" in before:
        return "status"
    for key in (*after, *before):
        field = _field(model, key)
        if field is not None and field.choices:
            return key
    return None


def _pairs(model: type[models.Model] | None, keys: list[str], values: Mapping) -> str:
    return join_list(
        gettext("%(field)s: %(value)s")
        % {"field": _field_name(model, key), "value": _value_text(model, key, values[key])}
        for key in keys
        if key in values
    )


def _actor_text(actor: AbstractBaseUser | None) -> str:
    if actor is None:
        return gettext("the system")
    email = getattr(actor, actor.get_email_field_name(), "") if hasattr(actor, "get_email_field_name") else ""
    return email or str(actor)


def describe(entry: AuditEntry) -> str:
    """One sentence, in the active language, saying what ``entry`` records (see the module docstring).

    A state change (``status``, or another field with choices, among the keys of before/after)
    is shown by the state's labels — the model is found from ``entry.object_type``; other changes
    as "field: value" pairs of the keys whose values differ. Amounts (``amount`` / ``*_amount``)
    are written in yen. The sentence is the action's registered one, else a generic one.
    """
    model = _model(entry.object_type)
    before: Mapping = entry.before if isinstance(entry.before, Mapping) else {}
    after: Mapping = entry.after if isinstance(entry.after, Mapping) else {}
    amount = next((value for key, value in after.items() if _is_amount(key, value)), None)
    state = _state_field(model, before, after)
    if state is not None:
        before_text = _value_text(model, state, before[state]) if state in before else ""
        after_text = _value_text(model, state, after.get(state))
        with_amount = amount is not None
    else:
        keys = [key for key in dict.fromkeys((*after, *before)) if before.get(key) != after.get(key)]
        before_text, after_text = _pairs(model, keys, before), _pairs(model, keys, after)
        with_amount = False  # any amount is among the pairs already
    values = {
        "actor": _actor_text(entry.actor),
        "object": entry.object_repr or f"{entry.object_type} {entry.object_id}",
        "before": before_text,
        "after": after_text,
        "amount": format_yen(amount) if amount is not None else "",
        "action": entry.action,
    }
    template = _ACTIONS.get(entry.action)
    if template is None:
        if before_text and after_text:
            template = CHANGED_WITH_AMOUNT if with_amount else CHANGED
        elif after_text:
            template = SET_WITH_AMOUNT if with_amount else SET
        else:
            template = RECORDED
    return str(template) % values
