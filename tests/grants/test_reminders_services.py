"""Reminders against the real services: exactly once when two processes race on PostgreSQL, and a
real Celery worker and beat, through Redis, delivering the mail once however often beat fires.

Reminders are outbox messages (kodoku_portal/outbox.py): recorded under the outbox's unique key,
dispatched by the run that created the row, sent by ``kodoku_portal.tasks.deliver_message``.

Both tests start other processes that talk to the test database, so the data is committed
(``transaction=True``). They need PostgreSQL (row locks, a unique index shared between processes)
and Redis (the broker); `.ci/run` sets DATABASE_URL and REDIS_URL, so CI runs them. Locally:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python -m pytest tests/grants/test_reminders_services.py -s
"""

import collections
import datetime as dt
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import reminders
from grants.models import ReminderKind
from kodoku_portal.jp import JST, format_datetime
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory
from tests.support import worker


def _missing_services() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        return (
            f"needs PostgreSQL: DATABASE_URL is not a PostgreSQL URL (database engine {engine}); "
            "set DATABASE_URL=postgres://… and REDIS_URL=redis://… (.ci/run sets both)"
        )
    if not settings.REDIS_URL:
        return "needs Redis: REDIS_URL is not set; set REDIS_URL=redis://… (.ci/run sets it)"
    return ""


pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(_missing_services()), reason=_missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)
# In the future: a reminder is built against the real clock, and one past its deadline is cancelled.
CLOSE = dt.datetime(2099, 5, 29, 12, 0, tzinfo=JST)
# The file-based mail backend ends every message with this line.
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


# --- helpers ------------------------------------------------------------------------------------


def _test_database_url() -> str:
    """A DATABASE_URL for the test database this process uses (test_kodoku, test_kodoku_gw0, …)."""
    db = connection.settings_dict
    user = urllib.parse.quote(db.get("USER") or "", safe="")
    password = urllib.parse.quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def _child_env(mail_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process: the test database, mail into files, no broker unless given."""
    env = dict(os.environ)
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "kodoku_portal.settings"),
        DATABASE_URL=_test_database_url(),
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _read_mails(*dirs: Path) -> tuple[list[email.message.EmailMessage], int]:
    """The complete messages written by the file-based backend into ``dirs`` (a file may hold
    several), and the number of Message-ID headers in those files as a cross-check."""
    messages, message_ids = [], 0
    for directory in dirs:
        if not directory.exists():
            continue
        for path in sorted(directory.iterdir()):
            raw = path.read_bytes()
            message_ids += sum(1 for line in raw.splitlines() if line.lower().startswith(b"message-id:"))
            # The piece after the last separator is empty, or a message still being written.
            for chunk in raw.split(MAIL_SEPARATOR)[:-1]:
                messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages, message_ids


def _text(message: email.message.EmailMessage) -> str:
    return str(message["Subject"]) + "\n" + message.get_body(preferencelist=("plain",)).get_content()


def _application_in(message: email.message.EmailMessage) -> int:
    """The id of the draft the mail is about, from its link (…/applications/<pk>/)."""
    body = _text(message)
    marker = "/applications/"
    start = body.index(marker) + len(marker)
    return int(body[start:].split("/", 1)[0])


# --- 1. two processes race on PostgreSQL ----------------------------------------------------------


@pytest.fixture
def race_data(db):
    """A call closing 2025-05-30 12:00 JST; five organisations with a draft and two members each
    (ten reminders per moment); one member who opted out and a submitted application (none)."""
    call = CallFactory(opens_at=dt.datetime(2025, 4, 21, tzinfo=JST), closes_at=CLOSE)
    for index in range(5):
        organisation = OrganisationFactory()
        for member in range(2):
            user = UserFactory(role=Role.APPLICANT, email=f"race-{index}-{member}@example.jp")
            Membership.objects.create(organisation=organisation, user=user, role=MemberRole.OWNER)
        ApplicationFactory(call=call, organisation=organisation, title=f"競争の事業 {index}")
    opted_out = UserFactory(role=Role.APPLICANT, email="race-opted-out@example.jp")
    opted_out.wants_deadline_reminders = False
    opted_out.save()
    Membership.objects.create(organisation=organisation, user=opted_out, role=MemberRole.EDITOR)
    submitted = OrganisationFactory()
    Membership.objects.create(
        organisation=submitted,
        user=UserFactory(role=Role.APPLICANT, email="race-submitted@example.jp"),
        role=MemberRole.OWNER,
    )
    ApplicationFactory(
        call=call, organisation=submitted, status=ApplicationStatus.SUBMITTED, receipt_number="RACE-0001"
    )
    return call


@dataclass
class Racer:
    """One of the two racing processes, as seen afterwards."""

    inserted: int  # outbox rows it created
    lost: int  # inserts refused by the unique constraint: the other process had that row
    first: float  # first and last insert attempt (epoch seconds)
    last: float
    mail_dir: Path


def _race(moment: dt.datetime, workdir: Path) -> tuple[list[Racer], float]:
    """Run `send_reminders --now moment` in two processes started together (tests/grants/
    _reminder_racer.py waits for a start file); returns both racers and how long the race took."""
    workdir.mkdir()
    go = workdir / "go"
    command = ["send_reminders", "--now", moment.isoformat()]
    children, names = [], ("a", "b")
    try:
        for name in names:
            # A mail directory each: the backend names files by second and object id, which can
            # coincide in two processes, and interleaved appends could then mix two messages.
            argv = [workdir / f"ready-{name}", go, workdir / f"trace-{name}.jsonl", *command]
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.grants._reminder_racer", *map(str, argv)],
                    cwd=BASE_DIR,
                    env=_child_env(workdir / f"mail-{name}"),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        give_up = time.monotonic() + 30
        while not all((workdir / f"ready-{name}").exists() for name in names):
            for child in children:
                if child.poll() is not None:
                    out, err = child.communicate()
                    pytest.fail(f"a racer stopped before the start ({child.returncode}):\n{out}\n{err}")
            assert time.monotonic() < give_up, "the racers did not get ready in 30 s"
            time.sleep(0.01)
        started = time.monotonic()
        go.touch()
        outputs = [child.communicate(timeout=30) for child in children]
        took = time.monotonic() - started
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    racers = []
    for name, child, (out, err) in zip(names, children, outputs, strict=True):
        assert child.returncode == 0, f"send_reminders failed ({child.returncode}):\n{out}\n{err}"
        assert [line for line in out.splitlines() if "reminder(s) recorded and sent" in line], out
        trace = [json.loads(line) for line in (workdir / f"trace-{name}.jsonl").read_text().splitlines()]
        inserts = [entry for entry in trace if entry["op"] == "insert"]
        racers.append(
            Racer(
                inserted=sum(1 for entry in inserts if entry["outcome"] == "ok"),
                lost=sum(1 for entry in inserts if entry["outcome"] == "conflict"),
                first=min((entry["t"] for entry in inserts), default=0.0),
                last=max((entry["t"] for entry in inserts), default=0.0),
                mail_dir=workdir / f"mail-{name}",
            )
        )
    return racers, took


def test_two_processes_racing_send_each_reminder_exactly_once(race_data, tmp_path):
    report, competed = [], False
    for hours in (72, 24, 3):
        moment = CLOSE - dt.timedelta(hours=hours)
        slot = f"{hours}h before 2099-05-29T12:00:00+09:00"
        due = reminders.due_reminders(moment)
        expected = collections.Counter((item.recipient_email, item.subject_id) for item in due)
        assert len(due) == 10 and len(expected) == 10
        assert all(item.slot == slot for item in due)
        assert "race-opted-out@example.jp" not in {address for address, _ in expected}
        assert "race-submitted@example.jp" not in {address for address, _ in expected}

        racers, took = _race(moment, tmp_path / f"race-{hours}h")
        a, b = racers
        overlap = max(a.first, b.first) <= min(a.last, b.last) if a.inserted + a.lost and b.inserted + b.lost else False
        report.append(
            f"{hours}h: a recorded {a.inserted} (lost {a.lost}), b recorded {b.inserted} (lost {b.lost}), "
            f"insert windows {'overlapped' if overlap else 'did not overlap'}, {took:.2f}s"
        )

        # One outbox row per due reminder, each sent once; each process sent exactly the rows it created.
        rows = OutboxMessage.objects.filter(slot=slot)
        assert collections.Counter((row.to_email, row.subject_id) for row in rows) == expected
        assert {(row.kind, row.status, row.attempts) for row in rows} == {(ReminderKind.DEADLINE, OutboxStatus.SENT, 1)}
        assert a.inserted + b.inserted == 10
        competed = competed or bool(a.lost or b.lost)
        # A lost insert is a row the other process created, never a second one.
        assert a.lost <= b.inserted and b.lost <= a.inserted
        # One mail per due reminder: none twice, none missed.
        messages, message_ids = _read_mails(a.mail_dir, b.mail_dir)
        assert len(messages) == message_ids == 10, (len(messages), message_ids)
        sent = collections.Counter((str(message["To"]), _application_in(message)) for message in messages)
        assert sent == expected
        assert len(_read_mails(a.mail_dir)[0]) == a.inserted and len(_read_mails(b.mail_dir)[0]) == b.inserted
        assert all(format_datetime(CLOSE, "ja") in str(message["Subject"]) for message in messages)
        # Nothing is left to send at that moment.
        assert reminders.due_reminders(moment) == []
    assert OutboxMessage.objects.count() == 30
    print("\nraces: " + "; ".join(report))
    # The test proves something only if the processes really competed for the same rows at least
    # once (an insert refused by the unique constraint); with the start barrier they nearly always do.
    assert competed, "in three races no process ever tried to insert a row the other had: no race happened"


# --- 2. a real Celery worker and beat, through Redis ------------------------------------------------


def _broker_url() -> str:
    """The parent's Redis, on a database of its own (13), flushed before and after."""
    parts = urllib.parse.urlsplit(settings.REDIS_URL)
    return urllib.parse.urlunsplit(parts._replace(path="/13"))


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def test_celery_worker_and_beat_send_a_due_reminder_once(tmp_path):
    now = timezone.now()
    closes_at = (now + dt.timedelta(hours=2)).replace(second=0, microsecond=0)  # so the 3-hour one is due
    call = CallFactory(opens_at=now - dt.timedelta(days=7), closes_at=closes_at)
    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT, email="worker-member@example.jp")
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    draft = ApplicationFactory(call=call, organisation=organisation, title="ワーカーの事業")
    [due] = reminders.due_reminders(timezone.now())
    assert due.recipient_email == member.email and due.slot.startswith("3h before ")
    deadline_text = format_datetime(closes_at, "ja")  # 2026年11月26日（木）16:00

    broker = _broker_url()
    mail_dir = tmp_path / "mail"
    env = _child_env(
        mail_dir,
        REDIS_URL=broker,
        REMINDER_INTERVAL_SECONDS="2",
        DJANGO_LOG_LEVEL="INFO",
    )
    worker_pid, beat_pid = tmp_path / "worker.pid", tmp_path / "beat.pid"
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    celery = [sys.executable, "-m", "celery", "-A", "kodoku_portal"]
    worker_cmd = [
        *celery,
        "worker",
        "--pool=solo",
        "-l",
        "info",
        "--pidfile",
        str(worker_pid),
        "--hostname",
        f"reminders-test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    # The plain PersistentScheduler (a shelve file in tmp_path) reads CELERY_BEAT_SCHEDULE and needs
    # no django_celery_beat tables; production runs beat with the DatabaseScheduler from settings.
    beat_cmd = [
        *celery,
        "beat",
        "-l",
        "info",
        "--pidfile",
        str(beat_pid),
        "--schedule",
        str(tmp_path / "beat-schedule"),
        "--scheduler",
        "celery.beat:PersistentScheduler",
    ]

    def log_lines(path: Path, text: str) -> int:
        return sum(1 for line in path.read_text(errors="replace").splitlines() if text in line)

    _flush(broker)
    processes: list[tuple[subprocess.Popen, Path, Path]] = []
    passed = False
    started = time.monotonic()
    try:
        for command, pidfile, log in ((worker_cmd, worker_pid, worker_log), (beat_cmd, beat_pid, beat_log)):
            with log.open("wb") as out:
                process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
            processes.append((process, pidfile, log))

        # Wait until the mail is there (beat fires every 2 s; the worker records it and sends it).
        give_up = time.monotonic() + 60
        while True:
            for process, _pidfile, log in processes:
                assert process.poll() is None, f"{log.name}: exited with {process.returncode}"
            messages, _ = _read_mails(mail_dir)
            if any(member.email in str(m["To"]) and deadline_text in _text(m) for m in messages):
                break
            assert time.monotonic() < give_up, "no reminder mail within 60 s"
            time.sleep(0.25)
        arrived = time.monotonic() - started

        [message] = messages
        assert str(message["To"]) == member.email
        assert deadline_text in str(message["Subject"])
        assert deadline_text in _text(message) and "ワーカーの事業" in _text(message)
        assert _application_in(message) == draft.pk
        reminder = OutboxMessage.objects.get()
        assert (reminder.recipient, reminder.slot) == (member, due.slot)
        assert reminder.status == OutboxStatus.SENT and reminder.attempts == 1

        # Beat keeps firing: after a few more ticks, still one mail and one row.
        fired = log_lines(beat_log, "Sending due task")
        ran = log_lines(worker_log, "grants.tasks.enqueue_reminders")
        time.sleep(6)
        assert log_lines(beat_log, "Sending due task") >= fired + 2, "beat did not fire again"
        assert log_lines(worker_log, "grants.tasks.enqueue_reminders") > ran, "the worker ran no later schedule"
        messages, message_ids = _read_mails(mail_dir)
        assert len(messages) == message_ids == 1
        assert OutboxMessage.objects.count() == 1
        reminder.refresh_from_db()
        assert reminder.status == OutboxStatus.SENT and reminder.attempts == 1
        print(f"\nworker + beat: mail arrived {arrived:.1f}s after start; still one after {fired + 2}+ beat ticks")
        passed = True
    finally:
        for process, pidfile, _log in processes:
            worker.stop(process, pidfile)
        _flush(broker)
        if not passed:
            for _process, _pidfile, log in processes:
                print(f"\n===== {log.name} =====\n{log.read_text(errors='replace')}")
        leftovers = worker.processes_mentioning(str(tmp_path))
        for pid in leftovers:  # only processes started by this test carry tmp_path on their command line
            os.kill(pid, signal.SIGKILL)
    assert all(process.poll() is not None for process, _pidfile, _log in processes)
    assert leftovers == [], f"processes left running: {leftovers}"
