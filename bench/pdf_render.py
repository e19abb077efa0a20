"""Benchmark kodoku_portal.pdf.render_pdf: first render (fonts loaded) and 20 renders after it.

Run from the project root: .venv/bin/python bench/pdf_render.py
Prints figures only; asserts nothing (it is not a test).
"""

import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "kodoku_portal.settings"

django.setup()

from kodoku_portal.pdf import render_pdf  # noqa: E402

RUNS = 20

RECEIPT = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>受付票</title>
<style>
@page { size: A4; margin: 20mm; }
body { font-family: IPAexMincho; font-size: 10.5pt; line-height: 1.7; }
h1 { font-family: IPAexGothic; font-size: 18pt; text-align: center; letter-spacing: 0.5em; }
table { width: 100%; border-collapse: collapse; margin-top: 8mm; }
th, td { border: 0.5pt solid #333; padding: 2mm 3mm; text-align: left; }
th { font-family: IPAexGothic; width: 35%; background: #f2f2f2; }
.date { text-align: right; }
</style>
</head>
<body>
<p class="date">令和7年5月30日</p>
<h1>受付票</h1>
<p>特定非営利活動法人 つながりデモの会 御中</p>
<p>下記のとおり、孤独・孤立対策活動支援助成金の申請を受け付けました。</p>
<table>
<tr><th>受付番号</th><td>KP-2025-000123</td></tr>
<tr><th>申請団体</th><td>特定非営利活動法人 つながりデモの会</td></tr>
<tr><th>事業名</th><td>地域の居場所づくりと見守り訪問事業</td></tr>
<tr><th>申請額</th><td>2,000,000円</td></tr>
<tr><th>受付日時</th><td>2025年5月30日（金）12:00</td></tr>
</table>
<p>本票は申請内容の審査結果を示すものではありません。</p>
</body>
</html>
"""


def main() -> None:
    start = time.perf_counter()
    first = render_pdf(RECEIPT)
    first_seconds = time.perf_counter() - start

    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        data = render_pdf(RECEIPT)
        timings.append(time.perf_counter() - start)

    print(f"first render:       {first_seconds * 1000:8.1f} ms  ({len(first):,} bytes)")
    print(f"{RUNS} more renders:    {sum(timings) * 1000:8.1f} ms total")
    print(
        f"  per render:       {statistics.mean(timings) * 1000:8.1f} ms mean, "
        f"{statistics.median(timings) * 1000:.1f} ms median, "
        f"{min(timings) * 1000:.1f}-{max(timings) * 1000:.1f} ms range"
    )
    print(f"PDF size:           {len(data):,} bytes")


if __name__ == "__main__":
    main()
