"""Benchmark: the last minutes before 12:00 JST — many organisations submitting at once.

Each worker thread submits complete drafts through ``application_submit`` (row lock, receipt
number from the per-call counter, receipt task on commit run in-process). Prints throughput and
latency percentiles, and checks that every receipt number is unique.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku .venv/bin/python bench/deadline_rush.py [N] [THREADS]
(SQLite serialises writers; the figures that matter are PostgreSQL's.)
"""

import statistics
import sys
import threading
import time

from _setup import machine, project_texts, test_database

teardown = test_database()

import datetime as dt  # noqa: E402

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from stdnum.jp import cn  # noqa: E402

from accounts.models import Role  # noqa: E402
from accounts.services import user_create  # noqa: E402
from applications import services  # noqa: E402
from applications.models import Application, BudgetCategory  # noqa: E402
from calls.models import (  # noqa: E402
    ApplicantType,
    Call,
    Programme,
    Theme,
)
from calls.standard_form import project_form_publish  # noqa: E402
from kodoku_portal.celery import app as celery_app  # noqa: E402
from kodoku_portal.jp import JST  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
celery_app.conf.task_always_eager = True
RENDER_RECEIPTS = "--with-receipts" in sys.argv


def build():
    npo = ApplicantType.objects.create(code="npo", name="NPO法人")
    now = timezone.now().astimezone(JST)
    call = Call.objects.create(
        programme=Programme.objects.create(name="bench"),
        slug="rush",
        title="締切直前",
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(hours=1),
        cap_amount=2_000_000,
        receipt_prefix="RUSH",
    )
    call.eligible_types.set([npo])
    theme = Theme.objects.create(call=call, number=1, title="テーマ")
    project_form_publish(call)  # the project questions, which every draft answers (as every call asks them)
    user = user_create(email="rush@example.jp", password="x" * 12, role=Role.APPLICANT, email_verified=True)
    ids = []
    for i in range(N):
        base = f"{100000000000 + i:012d}"
        organisation = services.organisation_create(
            name=f"団体{i}",
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
            email="o@example.jp",
            owner=user,
        )
        application = services.application_start(call=call, organisation=organisation, user=user)
        services.application_save_draft(
            application_id=application.pk,
            user=user,
            base_version=application.version,
            raw={},
            fields={
                "theme": theme,
                "title": "事業",
                "summary": "概要",
                "area_prefectures": ["13"],
                "period_start": dt.date(2025, 7, 1),
                "period_end": dt.date(2026, 2, 1),
            },
            budget_lines=[services.BudgetLineInput(BudgetCategory.HONORARIA, "謝金", 1, 1_000_000)],
        )
        services.project_answers_save(application, project_texts(), by=user)
        ids.append(application.pk)
    return user, ids


def run(user, ids):
    if not RENDER_RECEIPTS:
        from kodoku_portal import outbox

        outbox.dispatch = lambda message_id: None  # measure the submission alone: receipt mails stay queued
    chunks = [ids[i::THREADS] for i in range(THREADS)]
    latencies, errors = [], []
    lock = threading.Lock()

    def worker(chunk):
        for pk in chunk:
            started = time.perf_counter()
            try:
                services.application_submit(application_id=pk, user=user)
            except Exception as exc:  # noqa: BLE001 - counted below
                errors.append(exc)
            with lock:
                latencies.append(time.perf_counter() - started)
        connection.close()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors


try:
    user, ids = build()
    elapsed, latencies, errors = run(user, ids)
    numbers = list(Application.objects.filter(pk__in=ids).values_list("receipt_number", flat=True))
    latencies.sort()
    print(f"machine: {machine()}")
    print(f"submissions: {N}, threads: {THREADS}, receipts rendered: {RENDER_RECEIPTS}")
    print(f"total: {elapsed:.2f} s, throughput: {N / elapsed:.1f} submissions/s")
    print(
        f"latency ms: median {statistics.median(latencies) * 1000:.1f}, "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))] * 1000:.1f}, max {latencies[-1] * 1000:.1f}"
    )
    print(f"errors: {len(errors)}; unique receipt numbers: {len(set(numbers))} of {len(numbers)}")
finally:
    teardown()
