"""Deployment: the production settings pass `check --deploy`, and docker-compose.yml holds together.

The settings are read once per process, so each configuration runs `manage.py` in a subprocess
with the environment that docker-compose.yml gives the portal's containers.
"""

import importlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "worker", "beat")


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The compose file's environment, with no DJANGO_* variable leaking in from the caller."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="kodoku_portal.settings",
        DJANGO_HTTPS="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="portal.example.jp",
        DATABASE_URL=os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
        REDIS_URL=os.environ.get("REDIS_URL", ""),
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_the_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "WARNING" not in output
    assert "?: (security" not in output
    assert "System check identified no issues" in output


def test_https_without_a_secret_key_is_refused(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]

    result = manage(env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set in production (DJANGO_HTTPS=1)." in result.stderr


def service_blocks(text: str) -> dict[str, str]:
    """The text of each service under `services:`, keyed by name (two-space indented keys)."""
    services = re.search(r"^services:\n(.*?)(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    assert services, "docker-compose.yml has no top-level services:"
    parts = re.split(r"^  ([\w-]+):[ \t]*\n", services.group(1), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_compose_file_runs_the_stack_with_one_shared_environment():
    text = COMPOSE_FILE.read_text(encoding="utf-8")

    # Plain-text checks (PyYAML is not a dependency of the project).
    blocks = service_blocks(text)
    assert {"postgres", "redis", *APP_SERVICES} <= blocks.keys()
    assert re.search(r"^x-app-env: &app-env$", text, re.MULTILINE)
    for name in APP_SERVICES:
        assert re.search(r"^    environment: \*app-env$", blocks[name], re.MULTILINE), name
    assert re.search(r'^  DJANGO_HTTPS: "1"$', text, re.MULTILINE)
    for required in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
        assert re.search(rf"^  {required}: \$\{{{required}:\?[^}}]+\}}$", text, re.MULTILINE), required
    assert "condition: service_completed_successfully" in blocks["web"]
    assert "/healthz" in blocks["web"]

    # Structural checks when PyYAML happens to be installed.
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        return
    compose = yaml.safe_load(text)
    services = compose["services"]
    shared_env = compose["x-app-env"]
    for name in APP_SERVICES:
        assert services[name]["environment"] is shared_env, name
    assert shared_env["DJANGO_HTTPS"] == "1"
    assert shared_env["DATABASE_URL"].startswith("postgres://kodoku:")
    assert shared_env["DATABASE_URL"].endswith("@postgres:5432/kodoku")
    assert shared_env["REDIS_URL"] == "redis://redis:6379/0"
    assert shared_env["DJANGO_PRIVATE_ROOT"] == "/app/var/private"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis"):
        assert services["web"]["depends_on"][name]["condition"] == "service_healthy"
        assert "healthcheck" in services[name]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "kodoku_portal", "worker"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in services["beat"]["command"]
    private = "private-files:/app/var/private"
    assert private in services["web"]["volumes"]
    assert private in services["worker"]["volumes"]
