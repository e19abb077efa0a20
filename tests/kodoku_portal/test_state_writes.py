"""Every state field is written by the one workflow function, and nowhere else.

The models that hold a state (a ``status``, the review round's ``phase``, the user's ``role``) are
listed from the app registry; each must have a transition table. The code of the portal is then
read with ``ast``: an assignment to such a field (``x.status = …``, ``setattr(x, "status", …)``),
a queryset ``update(status=…)`` / ``bulk_update([...], ["status"])`` or an
``update_or_create(defaults={"status": …})`` outside ``kodoku_portal/workflow.py`` fails the test.
Rows are created in their first state (creation is not a transition). The outbox's own delivery
state and the jobs' are infrastructure, written only by ``kodoku_portal/outbox.py``,
``kodoku_portal/jobs.py`` and the lease protocol they share (``kodoku_portal/leases.py``) with
conditional updates.
"""

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
APPS = ["kodoku_portal", "accounts", "calls", "applications", "reviews", "grants"]
STATE_FIELDS = {"status", "phase", "role", "scan_status"}
ALLOWED_WRITERS = {
    "kodoku_portal/workflow.py",
    "kodoku_portal/outbox.py",
    "kodoku_portal/jobs.py",
    "kodoku_portal/leases.py",
}


def _stateful_models():
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS:
            continue
        names = {field.name for field in model._meta.get_fields()} & {"status", "phase", "scan_status"}
        if model._meta.label == "accounts.User":
            names.add("role")  # a member's role in an organisation is a plain attribute, not a state
        found += [(model, name) for name in names]
    return found


def test_every_stateful_model_has_a_transition_table():
    models = _stateful_models()
    labels = {f"{model._meta.label}.{field}" for model, field in models}
    assert {"applications.Application.status", "reviews.Assignment.status", "grants.Award.status"} <= labels
    assert "accounts.User.role" in labels
    assert "applications.Attachment.scan_status" in labels
    missing = [
        f"{model._meta.label}.{field}"
        for model, field in models
        if not isinstance(getattr(model, "TRANSITIONS", None), dict)
        and model._meta.label not in ("kodoku_portal.OutboxMessage", "kodoku_portal.Job")
    ]
    assert missing == []


def _state_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in STATE_FIELDS:
                found.append(f"{node.lineno}: .{target.attr} =")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "setattr" and len(node.args) >= 2:
            # A name computed at run time comes from a field list; those lists are checked below.
            field = node.args[1]
            if isinstance(field, ast.Constant) and field.value in STATE_FIELDS:
                found.append(f"{node.lineno}: setattr")
        if name == "update" and any(keyword.arg in STATE_FIELDS for keyword in node.keywords):
            found.append(f"{node.lineno}: update(state=…)")
        if name == "bulk_update" and len(node.args) >= 2:
            fields = node.args[1]
            if isinstance(fields, ast.List | ast.Tuple) and any(
                isinstance(item, ast.Constant) and item.value in STATE_FIELDS for item in fields.elts
            ):
                found.append(f"{node.lineno}: bulk_update of a state")
        if name == "update_or_create":
            for keyword in node.keywords:
                if keyword.arg == "defaults" and isinstance(keyword.value, ast.Dict):
                    for key in keyword.value.keys:
                        if isinstance(key, ast.Constant) and key.value in STATE_FIELDS:
                            found.append(f"{node.lineno}: update_or_create(defaults={{state}})")
    return found


def test_no_state_is_written_outside_the_workflow():
    writes = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or relative in ALLOWED_WRITERS:
                continue
            writes += [f"{relative}:{where}" for where in _state_writes(path)]
    assert writes == []


def test_the_scan_sees_a_write(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(a, qs):\n"
        "    a.status = 'x'\n"
        "    qs.update(status='y')\n"
        "    setattr(a, 'role', 'z')\n"
        "    qs.update_or_create(defaults={'phase': 'p'})\n"
        "    qs.update(note='fine')\n"
    )
    assert len(_state_writes(sample)) == 4


def test_the_field_lists_written_by_setattr_hold_no_state():
    from applications.services import DRAFT_FIELDS, ORGANISATION_FIELDS

    assert not STATE_FIELDS & {*DRAFT_FIELDS, *ORGANISATION_FIELDS}
