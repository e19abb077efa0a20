"""Benchmark over HTTP: the deadline rush as an NPO meets it (issue 14, item 5).

Starts gunicorn with the Dockerfile's worker settings (WEB_CONCURRENCY workers, sync, the same
timeouts and max-requests) on a throwaway PostgreSQL database it creates and seeds (an open call,
one applicant per client with a signed-in session, one draft per client for autosave and a pool of
complete drafts per client for submission, each in its own organisation), then runs N clients
(threads, each with its own keep-alive connection, http.client) in short rounds that cycle
through the endpoints, so a noisy machine hits them all alike (a request counts for the round it
was sent in; the first ``--settle`` seconds of a round are not recorded, while the previous
round's queue drains):

- ``bare``: /bench/bare/ (routed only with DJANGO_BENCH_VIEWS=1): the same middleware, the session
  and the user read, nothing else: the yardstick;
- ``autosave``: POST /applications/<pk>/save/ changing one field, as static/js/application-form.js;
- ``submit``: POST /applications/<pk>/submit/ of a complete draft.

Prints throughput, p50/p95/p99 and errors per endpoint and their ratios to the bare view's;
afterwards checks that every accepted submission is in the database, submitted, with a unique
receipt number. Receipt mails are queued to Redis as in production (no worker runs; the queue
keys the run filled are deleted at the end).

Run (``make bench`` runs the short default):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku REDIS_URL=redis://127.0.0.1:6379/3 \\
      .venv/bin/python bench/http_rush.py [--clients 20] [--seconds 36] [--round 3] [--settle 1]
"""

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = ("bare", "autosave", "submit")

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--clients", type=int, default=20)
parser.add_argument("--seconds", type=float, default=36.0, help="run time, all endpoints together")
parser.add_argument("--round", type=float, default=3.0, help="seconds per endpoint before the next one")
parser.add_argument(
    "--settle",
    type=float,
    default=1.0,
    help="seconds at a round's start not recorded (the queue of the last one drains)",
)
parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unrecorded requests first")
parser.add_argument("--drafts", type=int, default=0, help="complete drafts per client to submit (0: enough)")
parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: the Dockerfile's 3)")
parser.add_argument("--port", type=int, default=0)
ARGS = parser.parse_args()

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("bench/http_rush.py measures the production stack: set DATABASE_URL=postgres://… and REDIS_URL")

from _setup import machine, project_texts, test_database  # noqa: E402

teardown = test_database()

import datetime as dt  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum.jp import cn  # noqa: E402

from accounts.models import Role  # noqa: E402
from accounts.services import user_create  # noqa: E402
from applications import services  # noqa: E402
from applications.models import Application, ApplicationStatus, BudgetCategory  # noqa: E402
from calls.models import ApplicantType, Call, Programme, Theme  # noqa: E402
from calls.standard_form import project_form_publish  # noqa: E402
from kodoku_portal.jp import JST  # noqa: E402


def dockerfile_settings() -> tuple[int, list[str]]:
    """WEB_CONCURRENCY and the gunicorn flags of the Dockerfile's CMD (bind and log left out)."""
    text = (ROOT / "Dockerfile").read_text()
    workers = 3
    for line in text.splitlines():
        if "WEB_CONCURRENCY=" in line:
            workers = int(line.split("WEB_CONCURRENCY=")[1].split()[0].strip("\\"))
    cmd = text[text.index('CMD ["gunicorn"') + 4 :]
    parts = json.loads(cmd[: cmd.index("]") + 1].replace("\\\n", ""))
    flags, skip = [], {"--bind", "--access-logfile"}
    args = parts[2:]
    index = 0
    while index < len(args):
        if args[index] in skip:
            index += 2
            continue
        flags.append(args[index])
        index += 1
    return workers, flags


COMPLETE = {
    "title": "事業",
    "summary": "概要",
    "area_prefectures": ["13"],
    "period_start": dt.date(2025, 7, 1),
    "period_end": dt.date(2026, 2, 1),
}


def seed(clients: int, drafts: int):
    npo = ApplicantType.objects.create(code="npo", name="NPO法人")
    now = timezone.now().astimezone(JST)
    call = Call.objects.create(
        programme=Programme.objects.create(name="bench"),
        slug="http-rush",
        title="締切直前（HTTP）",
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(hours=2),
        cap_amount=2_000_000,
        receipt_prefix="HTTP",
    )
    call.eligible_types.set([npo])
    theme = Theme.objects.create(call=call, number=1, title="テーマ")
    project_form_publish(call)  # the project questions, which every draft answers (as every call asks them)
    people = []
    serial = 0
    for client in range(clients):
        user = user_create(
            email=f"rush{client}@example.jp", password=secrets.token_hex(12), role=Role.APPLICANT, email_verified=True
        )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        applications = []
        for _ in range(drafts + 1):
            base = f"{200000000000 + serial:012d}"
            serial += 1
            organisation = services.organisation_create(
                name=f"団体{serial}",
                name_kana="ダンタイ",
                applicant_type=npo,
                prefecture="13",
                corporate_number=cn.calc_check_digit(base) + base,
                postal_code="100-0001",
                address="東京都",
                representative_title="理事長",
                representative_name="代表",
                contact_name="担当",
                phone="03-1234-5678",
                email=f"o{serial}@example.jp",
                owner=user,
            )
            application = services.application_start(call=call, organisation=organisation, user=user)
            services.application_save_draft(
                application_id=application.pk,
                user=user,
                base_version=application.version,
                raw={},
                fields={**COMPLETE, "theme": theme},
                budget_lines=[services.BudgetLineInput(BudgetCategory.HONORARIA, "謝金", 1, 1_000_000)],
            )
            services.project_answers_save(application, project_texts(), by=user)
            applications.append(application.pk)
        people.append({"session": session.session_key, "autosave": applications[0], "submit": applications[1:]})
    return theme, people


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int, flags: list[str]) -> subprocess.Popen:
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    database_url = urllib.parse.urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_BENCH_VIEWS": "1",
        "DJANGO_DEBUG": "0",
        "WEB_CONCURRENCY": str(workers),
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "kodoku_portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *flags,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/bench/bare/")
            status = probe.getresponse().status
            probe.close()
            if status == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None:
            sys.exit("gunicorn did not start:\n" + process.stderr.read().decode(errors="replace")[-3000:])
        time.sleep(0.3)
    process.terminate()
    sys.exit("gunicorn did not answer within 60 s")


def autosave_body(theme_id: int, version: int, title: str, csrf: str) -> str:
    fields = [
        ("csrfmiddlewaretoken", csrf),
        ("version", str(version)),
        ("theme", str(theme_id)),
        ("title", title),
        *[(name, value) for name, value in COMPLETE.items() if isinstance(value, str) and name != "title"],
        ("area_prefectures", "13"),
        ("period_start", "2025-07-01"),
        ("period_end", "2026-02-01"),
        ("budget-TOTAL_FORMS", "2"),
        ("budget-INITIAL_FORMS", "0"),
        ("budget-MIN_NUM_FORMS", "0"),
        ("budget-MAX_NUM_FORMS", "60"),
        ("budget-0-category", "honoraria"),
        ("budget-0-description", "謝金"),
        ("budget-0-quantity", "1"),
        ("budget-0-unit_price", "1000000"),
    ]
    return urllib.parse.urlencode(fields)


def run(port: int, theme_id: int, people: list[dict]):
    results = {name: [] for name in ENDPOINTS}  # (latency seconds, ok)
    errors = {name: {} for name in ENDPOINTS}
    submitted: list[int] = []
    lock = threading.Lock()
    begin = time.monotonic() + 1.0  # every client starts on the same clock
    start = begin + ARGS.warmup  # requests before this (every worker's first ones) are not recorded
    stop = start + ARGS.seconds

    def phase(moment: float) -> str:
        return ENDPOINTS[int((moment - start) / ARGS.round) % len(ENDPOINTS)]

    def client(person: dict) -> None:
        csrf = secrets.token_hex(16)  # a 32-character secret: cookie and header carry the same
        headers = {
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={person['session']}; {settings.CSRF_COOKIE_NAME}={csrf}",
            "X-CSRFToken": csrf,
            "Accept-Language": "ja",
        }
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        version, edits, pool = 2, 0, list(person["submit"])
        time.sleep(max(0.0, begin - time.monotonic()))
        while (now := time.monotonic()) < stop:
            endpoint = phase(now)
            if endpoint == "submit" and not pool:
                time.sleep(0.01)  # this client has submitted all its drafts
                continue
            if endpoint == "bare":
                method, path, body, extra = "GET", "/bench/bare/", None, {}
            elif endpoint == "autosave":
                edits += 1
                method, path = "POST", f"/applications/{person['autosave']}/save/"
                body = autosave_body(theme_id, version, f"事業 {edits}", csrf)
                extra = {"Content-Type": "application/x-www-form-urlencoded", "X-Autosave": "1"}
            else:
                pk = pool[0]
                method, path, body, extra = "POST", f"/applications/{pk}/submit/", f"csrfmiddlewaretoken={csrf}", {}
                extra = {"Content-Type": "application/x-www-form-urlencoded"}
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers={**headers, **extra})
                response = conn.getresponse()
                payload = response.read()
                ok = response.status == 200
                if endpoint == "autosave" and ok:
                    version = int(json.loads(payload)["version"])
                elif endpoint == "submit":
                    ok = response.status == 302 and response.getheader("Location", "").endswith(f"/applications/{pk}/")
                    pool.pop(0)
                    if ok:
                        with lock:
                            submitted.append(pk)
                problem = None if ok else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                ok, problem = False, type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            latency = time.perf_counter() - began
            if now < start or (now - start) % ARGS.round < ARGS.settle:
                continue
            with lock:
                results[endpoint].append((latency, ok))
                if problem:
                    errors[endpoint][problem] = errors[endpoint].get(problem, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors, submitted


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def report(results, errors) -> None:
    # Each endpoint's recorded time: its rounds' length less the settling time of each.
    rounds = ARGS.seconds / ARGS.round
    share = rounds / len(ENDPOINTS) * (ARGS.round - ARGS.settle)
    rows = {}
    for name in ENDPOINTS:
        latencies = sorted(latency for latency, _ok in results[name])
        rows[name] = {
            "n": len(latencies),
            "rps": len(latencies) / share,
            "p50": percentile(latencies, 0.50) * 1000,
            "p95": percentile(latencies, 0.95) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "mean": (statistics.fmean(latencies) * 1000) if latencies else float("nan"),
            "errors": sum(errors[name].values()),
        }
    bare = rows["bare"]
    print(
        f"{'endpoint':<10}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'×bare req/s':>13}{'×bare p50':>11}{'×bare p99':>11}"
    )
    for name, row in rows.items():
        print(
            f"{name:<10}{row['n']:>9}{row['rps']:>9.1f}{row['p50']:>9.1f}{row['p95']:>9.1f}{row['p99']:>9.1f}"
            f"{row['errors']:>8}{row['rps'] / bare['rps']:>13.2f}{row['p50'] / bare['p50']:>11.2f}"
            f"{row['p99'] / bare['p99']:>11.2f}"
        )
    for name in ENDPOINTS:
        if errors[name]:
            print(f"  {name} errors: {errors[name]}")


def check(submitted: list[int], people: list[dict]) -> bool:
    pool = [pk for person in people for pk in person["submit"]]
    stored = dict(
        Application.objects.filter(pk__in=pool, status=ApplicationStatus.SUBMITTED).values_list("pk", "receipt_number")
    )
    missing = [pk for pk in submitted if pk not in stored]
    numbers = list(stored.values())
    unique = len(set(numbers)) == len(numbers) and None not in numbers
    print(
        f"submissions accepted: {len(submitted)}; in the database as submitted: {len(stored)}; "
        f"missing: {len(missing)}; receipt numbers unique: {unique}"
    )
    return not missing and unique and len(stored) == len(submitted)


def purge_queue() -> None:
    """Delete the receipt-mail tasks the run queued (no worker ran to take them)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url)
        client.delete("celery", "_kombu.binding.celery")


def load() -> str:
    try:
        one, five, _fifteen = os.getloadavg()
        return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"
    except OSError:
        return "load average unknown"


gunicorn = None
ok = False
try:
    workers, flags = dockerfile_settings()
    workers = ARGS.workers or workers
    drafts = ARGS.drafts or max(5, int((ARGS.seconds + ARGS.warmup) / len(ENDPOINTS) * 40 / ARGS.clients) + 5)
    began = time.perf_counter()
    theme, people = seed(ARGS.clients, drafts)
    print(f"seeded {ARGS.clients} applicants × {drafts + 1} drafts in {time.perf_counter() - began:.1f} s")
    port = ARGS.port or free_port()
    gunicorn = start_gunicorn(port, workers, flags)
    print(f"machine: {machine()}")
    print(f"gunicorn: {workers} sync workers, {' '.join(flags)}")
    print(
        f"clients: {ARGS.clients}, {ARGS.seconds:.0f} s in rounds of {ARGS.round} s per endpoint, the first "
        f"{ARGS.settle} s of each not recorded; "
        f"before: {load()}"
    )
    results, errors, submitted = run(port, theme.pk, people)
    print(f"after: {load()}")
    report(results, errors)
    ok = check(submitted, people) and not any(errors[name] for name in ENDPOINTS)
finally:
    if gunicorn is not None:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=40)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
    connection.close()
    try:
        purge_queue()
    finally:
        teardown()
sys.exit(0 if ok else 1)
