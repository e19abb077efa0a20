"""The house's floors: imports run downwards only, with no cycle between modules.

Every module of the portal is read with ``ast`` (imports inside functions included, since those
are the ones written to dodge a cycle). Bottom to top: ``kodoku_portal`` (shared infrastructure:
the workflow function, the audit and the outbox, which the user's role change itself goes
through), ``accounts``, ``calls``, ``applications``, ``reviews``, ``grants``. Only the wiring
modules (``kodoku_portal/urls.py``, ``settings.py``, ``celery.py``) name the apps above them.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = ["kodoku_portal", "accounts", "calls", "applications", "reviews", "grants"]
FLOOR = {app: number for number, app in enumerate(FLOORS)}
WIRING = {"kodoku_portal.urls", "kodoku_portal.settings", "kodoku_portal.celery", "kodoku_portal.wsgi"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for app in FLOORS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            for alias in node.names:
                # ``from pkg import submodule`` imports the submodule.
                candidate = f"{target}.{alias.name}"
                found.append((candidate if candidate in MODULES else target, node.lineno))
    return found


def _ours(name: str) -> str | None:
    """The portal module an import names (the longest one that exists), or None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _graph() -> dict[str, set[tuple[str, int]]]:
    graph = defaultdict(set)
    for module, path in MODULES.items():
        for name, line in _imports(module, path):
            target = _ours(name)
            if target and target != module:
                graph[module].add((target, line))
    return graph


GRAPH = _graph()


def test_the_walk_finds_the_portal():
    assert "calls.models" in MODULES and "grants.services" in MODULES
    assert ("calls.models", 9) in {(target, 9) for target, _line in GRAPH["grants.models"]}


def test_no_import_runs_upwards():
    upwards = []
    for module, targets in GRAPH.items():
        if module in WIRING:
            continue
        here = FLOOR[module.split(".")[0]]
        for target, line in targets:
            if FLOOR[target.split(".")[0]] > here:
                upwards.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}")
    assert upwards == []


def test_no_cycle_between_modules():
    """Package ``__init__`` modules are skipped: importing ``a.b`` runs ``a/__init__`` by design."""
    graph = {
        module: {target for target, _line in targets if MODULES[target].name != "__init__.py"}
        for module, targets in GRAPH.items()
    }
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" → ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert cycles == []


def test_nothing_imports_a_view_and_views_import_no_tasks():
    def is_view(name: str) -> bool:
        last = name.split(".")
        return any(part == "views" or part.endswith("_views") for part in last[1:])

    found = []
    for module, targets in GRAPH.items():
        for target, line in targets:
            if (
                is_view(target)
                and not is_view(module)
                and module not in WIRING
                and not module.endswith(("urls", "_urls"))
            ):
                found.append(f"{module}:{line} imports the view {target}")
            if is_view(module) and target.endswith(".tasks"):
                found.append(f"{module}:{line} imports the tasks {target}")
    assert found == []


def test_services_do_not_import_their_tasks():
    """Celery finds tasks by autodiscovery; a service causes work by recording it (the outbox)."""
    found = [
        f"{module}:{line} imports {target}"
        for module, targets in GRAPH.items()
        if not module.endswith(".tasks")
        for target, line in targets
        if target.endswith(".tasks") and module not in WIRING
    ]
    assert found == []


def test_each_floor_is_named_in_installed_apps_in_order():
    from django.conf import settings

    installed = [app.split(".")[0] for app in settings.INSTALLED_APPS if app.split(".")[0] in FLOOR]
    assert list(dict.fromkeys(installed)) == FLOORS
