"""Running a real Celery worker in a test: PostgreSQL for the data (the worker is another
process, so the test database must be shared and the data committed), Redis for the broker.

The same approach as tests/grants/test_reminders_services.py (whose helpers these follow), with
one difference: tasks travel on a queue of the test's own (a unique name on the REDIS_URL
database), so nothing is flushed and tests of other people on the same Redis are not disturbed.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from kodoku_portal.celery import app as celery_app

BASE_DIR = Path(settings.BASE_DIR)
# The file-based mail backend ends every message with this line.
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def missing_services() -> str:
    """Why a real worker cannot run here ("" when it can)."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        return (
            f"needs PostgreSQL: DATABASE_URL is not a PostgreSQL URL (database engine {engine}); "
            "set DATABASE_URL=postgres://… and REDIS_URL=redis://… (.ci/run sets both)"
        )
    if not settings.REDIS_URL:
        return "needs Redis: REDIS_URL is not set; set REDIS_URL=redis://… (.ci/run sets it)"
    return ""


def test_database_url() -> str:
    """A DATABASE_URL for the test database this process uses (test_kodoku, test_kodoku_gw0, …)."""
    db = connection.settings_dict
    user = urllib.parse.quote(db.get("USER") or "", safe="")
    password = urllib.parse.quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


test_database_url.__test__ = False  # not a test, whatever its name says


def child_env(mail_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker: the test database, mail into files, the parent's Redis."""
    env = dict(os.environ)
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "kodoku_portal.settings"),
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
        DJANGO_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def read_mails(*dirs: Path) -> list[email.message.EmailMessage]:
    """The complete messages the file-based backend wrote into ``dirs`` (a file may hold several)."""
    messages = []
    for directory in dirs:
        if not directory.exists():
            continue
        for path in sorted(directory.iterdir()):
            # The piece after the last separator is empty, or a message still being written.
            for chunk in path.read_bytes().split(MAIL_SEPARATOR)[:-1]:
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages


def new_queue(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def worker_command(*, app: str, queue: str, pidfile: Path, concurrency: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "-Q",
        queue,
        "-l",
        "info",
        "--pidfile",
        str(pidfile),
        "--hostname",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def start(command: list[str], env: dict[str, str], log: Path, *, ready_within: float = 30) -> subprocess.Popen:
    """Start a worker, logging into ``log``, and wait until it says it is ready."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    give_up = time.monotonic() + ready_within
    while " ready." not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise AssertionError(f"the worker exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if time.monotonic() > give_up:
            stop(process, None)
            raise AssertionError(f"the worker was not ready within {ready_within} s")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen, pidfile: Path | None = None) -> None:
    """Stop a process we started: SIGTERM, then SIGKILL after 10 s. Only its own pid is signalled
    (never one read back from a pidfile, which another process may have written)."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def processes_mentioning(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker`` (our unique queue name)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _reset_celery_client() -> None:
    """Forget the app's broker connection pool, producer pool and result backend, so the next
    `.delay` builds them from the current configuration (Celery caches all three)."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    producers = celery_app.amqp._producer_pool
    if producers is not None:
        producers.force_close_all()
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None
    vars(celery_app._local).pop("backend", None)
    kombu_pools.reset()


@contextlib.contextmanager
def tasks_go_to(queue: str, *, broker_url: str | None = None) -> Iterator[None]:
    """`.delay` in this process publishes to ``queue`` on the Redis broker (or ``broker_url``)
    instead of running the task in-process (tests/conftest.py makes every test eager). No result
    backend."""
    conf = celery_app.conf
    names = ("task_always_eager", "broker_url", "result_backend", "task_default_queue")
    saved = {name: conf[name] for name in names}
    conf.task_always_eager = False
    conf.broker_url = broker_url or settings.REDIS_URL
    conf.result_backend = None
    conf.task_default_queue = queue
    _reset_celery_client()
    try:
        yield
    finally:
        _reset_celery_client()
        for name, value in saved.items():
            conf[name] = value


def delete_queue(queue: str) -> None:
    """Remove what the test's queue left in Redis (the list and kombu's binding set)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.delete(queue, f"_kombu.binding.{queue}")
    finally:
        client.close()
