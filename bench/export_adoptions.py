"""Benchmark grants.exports: time and peak memory of the 採択一覧 CSV and XLSX, small vs large call.

Builds a throwaway test database, a call with 100 adopted applications and one with 100,000 (each
with its organisation and a Decision with an amount), then streams each export to a sink that only
counts bytes. Each export runs twice: once for the time, once under tracemalloc for the peak of
Python allocations made during the export (the set-up is not counted). If memory does not grow with
rows, the two peaks are of the same order.

Run from the project root:
    .venv/bin/python bench/export_adoptions.py              # 100 and 100,000 rows
    .venv/bin/python bench/export_adoptions.py 100 20000    # other sizes
    DATABASE_URL=postgres://… .venv/bin/python bench/export_adoptions.py
Prints figures only; asserts nothing (it is not a test).
"""

import gc
import sys
import time
import tracemalloc

from _setup import machine, test_database

teardown = test_database()

from django.utils import timezone  # noqa: E402

from accounts.models import Role  # noqa: E402
from accounts.services import user_create  # noqa: E402
from applications.models import Application, ApplicationStatus, Organisation  # noqa: E402
from calls.models import (  # noqa: E402
    ApplicantType,
    Call,
    Programme,
    Theme,
)
from grants import exports  # noqa: E402
from grants.models import Decision  # noqa: E402

SIZES = [int(arg) for arg in sys.argv[1:]] or [100, 100_000]
BATCH = 2000

SUMMARY = (
    "積雪寒冷地域における孤独・孤立の実態を調査し、回避プロセスを可視化する。また、地域の各種団体が運営能力を"
    "向上させるためのノウハウ化及びデザイン支援を行う。\n"
    "十勝管内、北海道内におけるノウハウ移転先の公募及び導入に向けた伴走型支援を実施する。"
)


def build(size: int, programme, applicant_type, staff) -> Call:
    call = Call.objects.create(
        programme=programme, slug=f"bench-{size}", title=f"ベンチマーク {size}", receipt_prefix=f"B{size}"
    )
    theme = Theme.objects.create(call=call, number=2, title="自然に足が向く地域の居場所の提供")
    now = timezone.now()
    for start in range(0, size, BATCH):
        stop = min(start + BATCH, size)
        organisations = Organisation.objects.bulk_create(
            Organisation(
                name=f"特定非営利活動法人 ベンチ団体{size}-{i}", applicant_type=applicant_type, prefecture="13"
            )
            for i in range(start, stop)
        )
        applications = Application.objects.bulk_create(
            Application(
                call=call,
                organisation=organisation,
                theme=theme,
                title=f"地域のゆるやかなつながりの場づくり事業 その{i}",
                summary=SUMMARY,
                area_prefectures=["13", "14", "11"],
                status=ApplicationStatus.ADOPTED,
                receipt_number=f"B{size}-{i + 1:04d}",
            )
            for i, organisation in zip(range(start, stop), organisations, strict=True)
        )
        Decision.objects.bulk_create(
            Decision(application=application, award_amount=1_000_000 + i, decided_by=staff, decided_at=now)
            for i, application in zip(range(start, stop), applications, strict=True)
        )
    return call


class CountingSink:
    """Takes the bytes and keeps only their number (like /dev/null; not seekable, like a socket)."""

    def __init__(self):
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)

    def flush(self):
        pass


def export_csv(call) -> int:
    sink = CountingSink()
    for piece in exports.stream_csv(call):
        sink.write(piece.encode("utf-8"))  # what a StreamingHttpResponse does with each piece
    return sink.size


def export_xlsx(call) -> int:
    sink = CountingSink()
    exports.write_xlsx(call, sink)
    return sink.size


def measure(export, call) -> tuple[float, float, int]:
    """(seconds, peak MiB traced during the export, bytes written)."""
    gc.collect()
    started = time.perf_counter()
    size = export(call)
    elapsed = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    export(call)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2**20, size


try:
    programme = Programme.objects.create(name="bench")
    applicant_type = ApplicantType.objects.create(code="npo", name="特定非営利活動法人（NPO法人）")
    staff = user_create(email="staff@example.jp", password="x" * 12, role=Role.STAFF, email_verified=True)
    results = []
    for size in SIZES:
        started = time.perf_counter()
        call = build(size, programme, applicant_type, staff)
        setup = time.perf_counter() - started
        for name, export in (("csv", export_csv), ("xlsx", export_xlsx)):
            elapsed, peak, written = measure(export, call)
            results.append((size, name, elapsed, peak, written, setup))
    print(f"machine: {machine()}")
    print(f"chunk size: {exports.CHUNK_SIZE} rows; peak = tracemalloc peak of Python allocations during the export")
    print(f"{'rows':>8} {'format':<6} {'time s':>8} {'rows/s':>9} {'peak MiB':>9} {'output MiB':>11} {'set-up s':>9}")
    for size, name, elapsed, peak, written, setup in results:
        print(
            f"{size:>8,} {name:<6} {elapsed:>8.2f} {size / elapsed:>9,.0f} {peak:>9.2f} {written / 2**20:>11.2f} "
            f"{setup:>9.1f}"
        )
finally:
    teardown()
