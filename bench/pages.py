"""Benchmark of the list pages at 100 and at 10,000 applications (issue 14, the page bench).

Creates a throwaway database (``test_<name>``, dropped afterwards; PostgreSQL when DATABASE_URL
says so), seeds a call with N applications (submitted, each in its own organisation, every
organisation shared by one applicant: the "member of many organisations" case), two reviews
per application (submitted, scored on three criteria: 2 × N reviews; one reviewer holds the
first review of every application, so their list has N rows), then requests every staff,
reviewer and applicant list page through Django's test client (the whole middleware stack,
DEBUG off) and prints, per page: server time (median of ``--repeat`` requests after one warm-up),
response size and query count. Then it grows the call to the next size and measures again.

Run:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku_perf_lists \\
      .venv/bin/python bench/pages.py [--sizes 100 10000] [--repeat 5]
"""

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_DEBUG", "0")

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--only", default="", help="measure only pages whose name contains one of these (a,b,…)")
parser.add_argument(
    "--explain",
    action="store_true",
    help="at the largest size, print each page's slowest queries and PostgreSQL's plan of the slowest one",
)
ARGS = parser.parse_args()

import _setup  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from applications.models import (  # noqa: E402
    Answer,
    Application,
    ApplicationStatus,
    MemberRole,
    Membership,
    Organisation,
)
from calls.models import ApplicantType, Call, Programme, Theme  # noqa: E402
from calls.standard_form import project_form_publish  # noqa: E402
from kodoku_portal.jp import JST  # noqa: E402
from reviews.models import (  # noqa: E402
    Assignment,
    AssignmentStatus,
    Criterion,
    Review,
    ReviewPhase,
    ReviewRound,
    ReviewStatus,
    Score,
)
from tests.factories import enable_totp  # noqa: E402

PREFECTURES = [f"{code:02d}" for code in range(1, 48)]


def seed_base():
    npo = ApplicantType.objects.create(code="npo", name="NPO法人")
    now = timezone.now().astimezone(JST)
    call = Call.objects.create(
        programme=Programme.objects.create(name="bench"),
        slug="pages",
        title="一覧の計測",
        opens_at=now - dt.timedelta(days=40),
        closes_at=now - dt.timedelta(days=10),
        cap_amount=2_000_000,
        budget_total=10_000_000_000,
        receipt_prefix="PG",
    )
    call.eligible_types.set([npo])
    version = project_form_publish(call)  # the project questions, answered below (as every call asks them)
    themes = [Theme.objects.create(call=call, number=n, title=f"テーマ{n}") for n in range(1, 5)]
    ReviewRound.objects.create(call=call, phase=ReviewPhase.SHARED, reviewers_per_application=2)
    criteria = [
        Criterion.objects.create(call=call, order=n, name=f"項目{n}", max_score=5, weight=Decimal(1)) for n in range(3)
    ]
    users = {}
    for role in (Role.STAFF, Role.REVIEWER, Role.APPLICANT):
        users[role] = User.objects.create(email=f"{role}@example.jp", full_name=f"{role}", role=role)
        if role != Role.APPLICANT:
            enable_totp(users[role])
    others = [
        User.objects.create(email=f"reviewer{n}@example.jp", full_name=f"審査員{n}", role=Role.REVIEWER)
        for n in range(1, 10)
    ]
    return {
        "npo": npo,
        "call": call,
        "version": version,
        "themes": themes,
        "criteria": criteria,
        "users": users,
        "others": others,
    }


def grow(base, start: int, stop: int) -> None:
    """Add applications start..stop-1, each with two submitted reviews (bulk inserts)."""
    call, users = base["call"], base["users"]
    now = timezone.now()
    for chunk in range(start, stop, 1000):
        numbers = range(chunk, min(chunk + 1000, stop))
        organisations = Organisation.objects.bulk_create(
            Organisation(
                name=f"特定非営利活動法人 計測団体{n}",
                name_kana="ケイソクダンタイ",
                applicant_type=base["npo"],
                prefecture=PREFECTURES[n % 47],
                corporate_number=f"9{n:012d}",
                email=f"o{n}@example.jp",
            )
            for n in numbers
        )
        Membership.objects.bulk_create(
            Membership(organisation=o, user=users[Role.APPLICANT], role=MemberRole.OWNER) for o in organisations
        )
        applications = Application.objects.bulk_create(
            Application(
                call=call,
                organisation=organisation,
                theme=base["themes"][n % 4],
                title=f"地域のつながりづくり事業 {n}",
                summary="概要。" * 200,
                area_prefectures=[PREFECTURES[n % 47], PREFECTURES[(n + 1) % 47]],
                requested_amount=1_000_000 + (n % 100) * 10_000,
                status=ApplicationStatus.SUBMITTED,
                receipt_number=f"PG-{n + 1:05d}",
                submitted_at=now,
            )
            for n, organisation in zip(numbers, organisations, strict=True)
        )
        Answer.objects.bulk_create(
            Answer(application=application, field_key=key, form_version=base["version"], text=text)
            for application in applications
            for key, text in (("purpose", "目的。" * 300), ("activities", "活動。" * 300))
        )
        assignments = []
        for n, application in zip(numbers, applications, strict=True):
            for reviewer in (users[Role.REVIEWER], base["others"][n % 9]):
                assignments.append(
                    Assignment(
                        application=application,
                        reviewer=reviewer,
                        status=AssignmentStatus.ACCEPTED,
                        due_at=now + dt.timedelta(days=n % 30),
                    )
                )
        assignments = Assignment.objects.bulk_create(assignments)
        reviews = Review.objects.bulk_create(
            Review(assignment=a, status=ReviewStatus.SUBMITTED, submitted_at=now, comment_to_staff="所見。" * 100)
            for a in assignments
        )
        Score.objects.bulk_create(
            Score(review=review, criterion=criterion, value=1 + (index + position) % 5)
            for index, review in enumerate(reviews)
            for position, criterion in enumerate(base["criteria"])
        )


def pages(call: Call) -> list[tuple[str, Role, str]]:
    slug = call.slug
    by_amount = "sort=-amount&page=3"
    return [
        ("staff dashboard", Role.STAFF, "/staff/"),
        ("staff call applications", Role.STAFF, f"/staff/calls/{slug}/applications/"),
        ("staff call applications p.3, by amount", Role.STAFF, f"/staff/calls/{slug}/applications/?{by_amount}"),
        ("assignments", Role.STAFF, f"/staff/calls/{slug}/review/assignments/"),
        ("ranking", Role.STAFF, f"/staff/calls/{slug}/review/ranking/"),
        ("calibration", Role.STAFF, f"/staff/calls/{slug}/review/calibration/"),
        ("integrity", Role.STAFF, f"/staff/calls/{slug}/review/integrity/"),
        ("decisions", Role.STAFF, f"/staff/calls/{slug}/decisions/"),
        ("reserve", Role.STAFF, f"/staff/calls/{slug}/reserve/"),
        ("notices", Role.STAFF, f"/staff/calls/{slug}/notices/"),
        ("audit", Role.STAFF, f"/staff/calls/{slug}/audit/"),
        ("awards", Role.STAFF, "/staff/awards/"),
        ("payments", Role.STAFF, "/staff/payments/"),
        ("outbox", Role.STAFF, "/staff/outbox/"),
        ("reminders", Role.STAFF, "/staff/reminders/"),
        ("autocomplete: applications", Role.STAFF, f"/staff/calls/{slug}/review/assignments/search/applications/?q=01"),
        ("reviewer's list", Role.REVIEWER, "/reviews/"),
        ("applicant dashboard", Role.APPLICANT, "/applications/"),
    ]


LAST_QUERIES: list[dict] = []


def measure(client: Client, url: str, repeat: int) -> tuple[float, int, int, int, float, float]:
    """Median server time (wall clock), size, queries, status, and the medians of the Python CPU
    time of the request and of its SQL time (wall, as Django saw it): on a shared machine the wall
    time carries the queue for a core; the CPU time does not."""
    client.get(url)  # warm-up (templates, caches)
    times, cpu, sql = [], [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        sql.append(sum(float(q["time"]) for q in captured.captured_queries))
    LAST_QUERIES[:] = captured.captured_queries
    return (
        statistics.median(times) * 1000,
        len(response.content),
        len(captured),
        response.status_code,
        statistics.median(cpu) * 1000,
        statistics.median(sql) * 1000,
    )


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
    flags = [
        " ".join(line.split("(cost")[0].split())
        for line in plan
        if "Seq Scan" in line or "Sort Method" in line or "external" in line or "Index" in line
    ]
    return "; ".join(flags or ["no scan named"]) + f" — {plan[-1].strip()}"


def explain() -> None:
    """The page's three slowest queries, and PostgreSQL's plan of the slowest and of the page's row
    query (the one sliced by the pager): Seq Scan, Index Scan, Sort Method."""
    slowest = sorted(LAST_QUERIES, key=lambda q: -float(q["time"]))[:3]
    for query in slowest:
        print(f"      {float(query['time']) * 1000:7.1f} ms  {query['sql'][:160]}")
    if connection.vendor != "postgresql":
        return
    # The page's rows: the one query sliced by the pager (LIMIT 50, or 20 for a search).
    rows = [q for q in LAST_QUERIES if re.search(r" LIMIT (50|20)( OFFSET \d+)?$", q["sql"])]
    for label, query in (("slowest", slowest[0] if slowest else None), ("rows", rows[0] if rows else None)):
        if query and query["sql"].lstrip().upper().startswith("SELECT"):
            print(f"      plan of the {label} query: {plan_of(query['sql'])}")


def main() -> None:
    teardown = _setup.test_database()
    try:
        print(_setup.machine())
        base = seed_base()
        clients = {}
        for role, user in base["users"].items():
            clients[role] = Client()
            clients[role].force_login(user)
        results: dict[str, dict[int, tuple]] = {}
        have = 0
        for size in sorted(ARGS.sizes):
            started = time.perf_counter()
            grow(base, have, size)
            have = size
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")  # the planner's statistics, as autovacuum would leave them
            took = time.perf_counter() - started
            print(f"seeded {size} applications, {2 * size} reviews in {took:.0f} s", flush=True)
            for name, role, url in pages(base["call"]):
                if ARGS.only and not any(part in name for part in ARGS.only.split(",")):
                    continue
                try:
                    results.setdefault(name, {})[size] = measure(clients[role], url, ARGS.repeat)
                except Exception as error:  # noqa: BLE001 - report the page and go on with the others
                    print(f"  {name}: FAILED {error!r}", flush=True)
                    continue
                ms, size_b, queries, status, cpu, sql = results[name][size]
                print(
                    f"  {name}: {ms:.0f} ms (Python CPU {cpu:.0f} ms, SQL {sql:.0f} ms), {size_b / 1024:.0f} KB, "
                    f"{queries} queries, HTTP {status}, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
                if ARGS.explain and size == max(ARGS.sizes):
                    explain()
        sizes = sorted(ARGS.sizes)
        print()
        header = " | ".join(f"{s:,}: ms (CPU, SQL) / KB / queries" for s in sizes)
        print(f"| page | {header} | same queries |")
        print("| --- | " + " | ".join("---" for _ in sizes) + " | --- |")
        for name, by_size in results.items():
            cells = " | ".join(
                f"{by_size[s][0]:,.0f} ({by_size[s][4]:,.0f}, {by_size[s][5]:,.0f}) / {by_size[s][1] / 1024:,.0f} / "
                f"{by_size[s][2]}"
                if s in by_size
                else "failed"
                for s in sizes
            )
            same = len({by_size[s][2] for s in sizes if s in by_size}) == 1
            print(f"| {name} | {cells} | {'yes' if same else 'NO'} |")
    finally:
        teardown()


if __name__ == "__main__":
    main()
