"""The audit trail: write an entry (inside the transaction of the change it records) and say in
words what an entry records, in the active language.

Writing: :func:`audit` (used by ``kodoku_portal.workflow.change_state`` and ``record``). The entry
keeps the object's label, id and ``str(obj)``, the call it belongs to (``obj.call_id`` unless
given), the actor, the values before and after, and the IP address of the request
(``kodoku_portal.middleware.AuditContextMiddleware``; NULL outside a request). The database
refuses to change or delete entries (kodoku_portal/append_only.py).

Reading: :func:`describe` turns an entry into a sentence, e.g.
「staff@example.jp が 申請 PRACTICE-0004（つながりの会） の採否を提出済から採択に変更しました（1,200,000円）」 /
"staff@example.jp changed the decision on application PRACTICE-0004 (つながりの会) from Submitted to
Adopted (¥1,200,000)"; :func:`describe_changes` lists the values before and after, each under its
label and written as on screens (choice labels, yen, dates). Apps register, in their
``AppConfig.ready``, a sentence and a short label per action code (:func:`register_action`), labels
for keys of ``before``/``after`` that are not fields of the object's model (:func:`register_field`)
and, optionally, how to name their objects in words in bulk (:func:`register_object_namer`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .append_only import maintenance
from .jp import format_date, format_datetime, format_yen, join_list
from .middleware import current_ip
from .models import AuditEntry

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = [
    "action_label",
    "audit",
    "describe",
    "describe_changes",
    "maintenance",
    "object_kind",
    "object_names",
    "object_words",
    "register_action",
    "register_field",
    "register_object_namer",
    "registered_actions",
]

OBJECT_REPR_MAX = 200

# Sentences used when an action has none registered. Placeholders: %(actor)s %(object)s
# %(before)s %(after)s %(amount)s %(amount_note)s (and %(action)s, the action's label).
CHANGED = _("%(actor)s changed %(object)s from %(before)s to %(after)s")
CHANGED_WITH_AMOUNT = _("%(actor)s changed %(object)s from %(before)s to %(after)s (%(amount)s)")
SET = _("%(actor)s changed %(object)s to %(after)s")
SET_WITH_AMOUNT = _("%(actor)s changed %(object)s to %(after)s (%(amount)s)")
RECORDED = _("%(actor)s recorded “%(action)s” on %(object)s")

_ACTIONS: dict[str, str | Promise] = {}
_LABELS: dict[str, str | Promise] = {}
_NAMERS: dict[str, Callable[[list[str]], dict[str, str]]] = {}


@dataclass(frozen=True)
class _Key:
    label: str | Promise | None = None
    model: str | None = None  # "app_label.Model" whose field of the same name gives label and choices
    yen: bool = False


# Keys of before/after that are not always fields of the object's model, in words. Apps add theirs
# with register_field (a key of the object's own model is named by its field's verbose_name).
_KEYS: dict[str, _Key] = {
    "status": _Key(_("status")),
    "amount": _Key(_("amount"), yen=True),
    "reason": _Key(_("reason")),
    "comment": _Key(_("comment")),
    "kind": _Key(_("kind")),
    "file": _Key(_("file")),
    "files": _Key(_("files")),
    "title": _Key(_("title")),
    "number": _Key(_("number")),
    "message": _Key(_("message")),
    "role": _Key(_("role")),
    "organisation": _Key(_("organisation")),
    "reviewer": _Key(_("reviewer")),
    "receipt_number": _Key(_("receipt number")),
    "corporate_number": _Key(_("corporate number")),
    "pending": _Key(_("notices waiting to be sent")),
    "rows": _Key(_("rows")),
    "rows_total": _Key(_("rows in all")),
    "years": _Key(_("years")),
    "position": _Key(_("position")),
    "stage": _Key(_("stage")),
    "phase": _Key(_("phase")),
    "due_at": _Key(_("due")),
    "due_on": _Key(_("due date")),
    "paid_so_far": _Key(_("paid so far"), yen=True),
    "balance": _Key(_("balance"), yen=True),
    "proposal": _Key(_("proposed amount"), yen=True),
    "actual_costs": _Key(_("actual costs"), yen=True),
    "granted_left": _Key(_("granted amount left"), yen=True),
}


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


def register_action(code: str, template: str | Promise, label: str | Promise | None = None) -> None:
    """Give the action ``code`` its own sentence (a lazy translation, marked with gettext_lazy)
    and, with ``label``, the short name filters and lists show for it.

    Placeholders: ``%(actor)s`` (e-mail address, or "the system"), ``%(object)s`` (the object in
    words: its kind and name, e.g. 「申請 R7-0001（団体名）」; ``%(name)s`` is the name alone, for a
    sentence that says the kind itself: "opened the attachment %(name)s"), ``%(before)s`` / ``%(after)s`` (the
    state's labels, or "field: value" pairs when the entry is not a state change), ``%(amount)s``
    (the first amount in ``after``, in yen; "" if none) and ``%(amount_note)s`` (that amount in
    brackets, or nothing). Call it from ``AppConfig.ready``; registering a code again replaces it.
    """
    _ACTIONS[code] = template
    if label is not None:
        _LABELS[code] = label


def registered_actions() -> dict[str, str | Promise]:
    """A copy of the registered sentences, by action code."""
    return dict(_ACTIONS)


def registered_labels() -> dict[str, str | Promise]:
    """A copy of the registered short labels, by action code."""
    return dict(_LABELS)


def action_label(code: str) -> str:
    """The short name of an action (filters, lists); an unregistered code is shown as such, so a
    test can find it (tests/kodoku_portal/test_audit_sentences.py)."""
    label = _LABELS.get(code)
    return str(label) if label is not None else code


def register_field(
    key: str, label: str | Promise | None = None, *, model: str | None = None, yen: bool = False
) -> None:
    """Name a key of before/after that is not a field of the entry's object: by ``label``, or by
    the field ``key`` of ``model`` ("app_label.Model", which also gives its choices' labels);
    ``yen``: its values are amounts."""
    _KEYS[key] = _Key(label, model, yen)


def register_object_namer(object_type: str, namer: Callable[[list[str]], dict[str, str]]) -> None:
    """``namer(ids)`` names, in one query, the objects of ``object_type`` ("app_label.Model") with
    those primary keys (strings), each in words (see :func:`object_words`)."""
    _NAMERS[object_type] = namer


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


def _key_field(model: type[models.Model] | None, key: str) -> models.Field | None:
    """The model field that says what ``key`` is: the object's own, else the registered model's."""
    field = _field(model, key)
    if field is None and key in _KEYS and _KEYS[key].model:
        field = _field(_model(_KEYS[key].model), key)
    return field


def _is_amount(key: str, value: Any) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return key == "amount" or key.endswith("_amount") or (key in _KEYS and _KEYS[key].yen)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _date_text(value: str) -> str | None:
    try:
        if _ISO_DATE.match(value):
            return format_date(dt.date.fromisoformat(value))
        if _ISO_DATETIME.match(value):
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return format_datetime(moment) if moment.tzinfo is not None else None
    except ValueError:
        return None
    return None


def _value_text(model: type[models.Model] | None, key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    field = _key_field(model, key)
    if field is not None and field.choices:
        labels = {str(choice): label for choice, label in field.flatchoices}
        return str(labels.get(str(value), value))
    if _is_amount(key, value):
        return format_yen(value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple):
        return join_list(_value_text(None, key, item) for item in value) or "—"
    if isinstance(value, Mapping):
        return join_list(f"{k}: {_value_text(None, str(k), v)}" for k, v in value.items()) or "—"
    if isinstance(value, str):
        return _date_text(value) or value
    if isinstance(value, int) and field is not None and field.is_relation and field.related_model is not None:
        return f"{field.related_model._meta.verbose_name} #{value}"
    return str(value)


def _field_name(model: type[models.Model] | None, key: str) -> str:
    field = _key_field(model, key)
    named = _KEYS[key].label if key in _KEYS else None
    if field is not None and not (named is not None and field.verbose_name == key.replace("_", " ")):
        return str(field.verbose_name)  # a field's own translated name (not one made from its attribute)
    if named is not None:
        return str(named)
    return key.replace("_", " ")


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


# --- naming the object --------------------------------------------------------------------------


def object_kind(object_type: str) -> str:
    """What kind of object an entry is about, in words: the model's verbose name (「申請」)."""
    model = _model(object_type)
    return str(model._meta.verbose_name) if model is not None else gettext("record")


def object_words(kind: str | Promise, name: str, organisation: str | None = None) -> str:
    """「申請 R7-0001（団体名）」 / "application R7-0001 (団体名)"; without an organisation
    「申請 R7-0001」."""
    if organisation:
        return gettext("%(kind)s %(name)s (%(organisation)s)") % {
            "kind": kind,
            "name": name,
            "organisation": organisation,
        }
    return gettext("%(kind)s %(name)s") % {"kind": kind, "name": name}


def object_names(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], str]:
    """The objects of ``entries`` in words, by (object_type, object_id): one query per kind of
    object that has a namer (:func:`register_object_namer`); others are named by kind and the
    label kept in the entry."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.object_type in _NAMERS:
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
    names: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        for object_id, text in _NAMERS[object_type](sorted(ids)).items():
            names[(object_type, str(object_id))] = text
    return names


def _object_text(entry: AuditEntry, names: Mapping[tuple[str, str], str] | None) -> str:
    named = (names or {}).get((entry.object_type, entry.object_id))
    if named:
        return named
    return object_words(object_kind(entry.object_type), entry.object_repr or f"#{entry.object_id}")


# --- the sentence and the values --------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One value an entry records: its label, and the value before and after, as on screens."""

    label: str
    before: str
    after: str


def describe_changes(entry: AuditEntry) -> list[Change]:
    """What ``entry`` recorded, key by key (the keys whose values differ, the state first)."""
    model = _model(entry.object_type)
    before: Mapping = entry.before if isinstance(entry.before, Mapping) else {}
    after: Mapping = entry.after if isinstance(entry.after, Mapping) else {}
    keys = [key for key in dict.fromkeys((*after, *before)) if before.get(key) != after.get(key)]
    state = _state_field(model, before, after)
    if state in keys:
        keys.remove(state)
        keys.insert(0, state)
    return [
        Change(
            _field_name(model, key),
            _value_text(model, key, before[key]) if key in before else "—",
            _value_text(model, key, after[key]) if key in after else "—",
        )
        for key in keys
    ]


def describe(entry: AuditEntry, names: Mapping[tuple[str, str], str] | None = None) -> str:
    """One sentence, in the active language, saying what ``entry`` records (see the module docstring).

    A state change (``status``, or another field with choices, among the keys of before/after)
    is shown by the state's labels — the model is found from ``entry.object_type``; other changes
    as "field: value" pairs of the keys whose values differ. Amounts (``amount`` / ``*_amount``)
    are written in yen. The object is named from ``names`` (:func:`object_names`) when given, else
    by its kind and the label kept in the entry. The sentence is the action's registered one,
    else a generic one.
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
    amount_text = format_yen(amount) if amount is not None else ""
    values = {
        "actor": _actor_text(entry.actor),
        "object": _object_text(entry, names),
        "name": entry.object_repr or f"#{entry.object_id}",
        "before": before_text or "—",
        "after": after_text or "—",
        "amount": amount_text,
        "amount_note": gettext(" (%(amount)s)") % {"amount": amount_text} if amount_text else "",
        "action": action_label(entry.action),
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
