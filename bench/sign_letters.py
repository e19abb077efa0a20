"""Benchmark signed letters (kodoku_portal/signing.py, grants/signed.py): the cost per letter of each
step — the plain PDF as before, the tagged PDF/A with the verification block and QR code, the PAdES
signature — and a batch of N signed letters (default 1,000) with 1 and 2 worker processes.

Run from the project root: .venv/bin/python bench/sign_letters.py [--count 1000] [--workers 1 2]
Uses the real 交付決定通知書 template with a made-up letter (no database) and the configured signing
certificate, or the local test certificate (var/signing/), without a time-stamping service unless
SIGNING_TSA_URL is set. Prints figures only; asserts nothing (it is not a test).
"""

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kodoku_portal.settings")

import django

django.setup()

from django.template.loader import render_to_string  # noqa: E402
from django.utils import translation  # noqa: E402

from grants.signed import render_signed, verification_block  # noqa: E402
from kodoku_portal.pdf import render_pdf  # noqa: E402
from kodoku_portal.signing import render_official_pdf, sign_pdf, signing_key  # noqa: E402

TEMPLATE = "pdf/letters/grant_decision.html"
DETAILS = {
    "amount": 1_500_000,
    "applied_on": dt.date(2025, 6, 10),
    "project_start": dt.date(2025, 7, 1),
    "project_end": dt.date(2026, 2, 28),
    "decline_by": dt.date(2025, 8, 1),
    "conditions": [
        "補助事業の内容を変更する場合は、あらかじめ承認を受けること。",
        "帳簿及び証拠書類を5年間保存すること。",
    ],
    "budget": [("謝金", 300_000), ("旅費", 200_000), ("借料及び損料", 400_000), ("消耗品費", 600_000)],
    "budget_total": 1_500_000,
}
OWNER = "内閣府孤独・孤立対策推進室"


def context(n: int) -> dict:
    number = f"府孤第{n}号"
    organisation = SimpleNamespace(
        name=f"特定非営利活動法人 つながりデモの会{n}", representative_name="山田 花子", representative_title="理事長"
    )
    call = SimpleNamespace(title="令和7年度孤独・孤立対策活動支援助成金", is_practice=False)
    return {
        "document_number": number,
        "issued_on": dt.date(2025, 7, 15),
        "details": DETAILS,
        "title": "交付決定通知書",
        "organisation": organisation,
        "call": call,
        "programme": SimpleNamespace(owner=OWNER),
        "application": SimpleNamespace(receipt_number=f"KP-2025-{n:06d}", title="地域の居場所づくりと見守り訪問事業"),
        "practice": False,
    }


def record(n: int) -> dict:
    return {"number": f"府孤第{n}号", "date": "2025-07-15", "kind": "grant_decision", "details": {"amount": 1_500_000}}


def one_letter(n: int) -> int:
    """Render and sign letter ``n`` the way grants.letters.letter_render does; its size in bytes."""
    rendered = render_signed(
        TEMPLATE, context(n), number=f"府孤第{n}号", record=record(n), signer_name=OWNER, reason="交付決定通知書の発行"
    )
    return len(rendered.data)


def _warm(_: int) -> None:
    one_letter(0)  # fonts, the certificate and the stamp font loaded once per worker


def timed(function, runs: int) -> list[float]:
    timings = []
    for n in range(runs):
        start = time.perf_counter()
        function(n)
        timings.append(time.perf_counter() - start)
    return timings


def describe(label: str, timings: list[float]) -> None:
    print(
        f"{label:<40} {statistics.mean(timings) * 1000:7.1f} ms mean, "
        f"{statistics.median(timings) * 1000:7.1f} ms median ({len(timings)} runs)"
    )


def batch(count: int, workers: int) -> float:
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_warm, range(workers), chunksize=1)
        start = time.perf_counter()
        sizes = pool.map(one_letter, range(1, count + 1), chunksize=10)
        seconds = time.perf_counter() - start
    assert len(sizes) == count
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    key = signing_key()
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"certificate: {key.subject}{' (local TEST certificate)' if key.test else ''}")
    print(f"timestamps: {django.conf.settings.SIGNING_TSA_URL or 'none (SIGNING_TSA_URL not set)'}")

    with translation.override("ja"):
        html_plain = render_to_string(TEMPLATE, context(1))
        html = render_to_string(TEMPLATE, {**context(1), "verification": verification_block("府孤第1号", "0" * 16)})
    start = time.perf_counter()
    one_letter(0)
    print(f"{'first letter (fonts, key loaded)':<40} {(time.perf_counter() - start) * 1000:7.1f} ms")

    describe("plain PDF (as before)", timed(lambda n: render_pdf(html_plain), args.runs))
    describe("tagged PDF/A + code + QR", timed(lambda n: render_official_pdf(html), args.runs))
    pdfa = render_official_pdf(html)
    describe("PAdES signature only", timed(lambda n: sign_pdf(pdfa, signer_name=OWNER, reason="発行"), args.runs))
    describe("whole letter (render + sign)", timed(one_letter, args.runs))
    print(f"{'signed letter size':<40} {one_letter(1):,} bytes (plain PDF {len(render_pdf(html_plain)):,} bytes)")

    for workers in args.workers:
        seconds = batch(args.count, workers)
        print(
            f"batch of {args.count:,} signed letters, {workers} worker process{'es' if workers > 1 else ''}: "
            f"{seconds:7.1f} s  ({args.count / seconds:5.1f} letters/s, {seconds / args.count * 1000:6.1f} ms/letter)"
        )


if __name__ == "__main__":
    main()
