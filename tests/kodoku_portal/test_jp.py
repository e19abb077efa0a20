import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from kodoku_portal import jp
from kodoku_portal.prefectures import PREFECTURES, prefecture_code, prefecture_name

UTC = dt.UTC


def test_screen_date_in_japanese_with_weekday():
    # 2025-05-30 03:00 UTC is 12:00 JST on Friday 30 May.
    value = dt.datetime(2025, 5, 30, 3, 0, tzinfo=UTC)
    assert jp.format_date(value, "ja") == "2025年5月30日（金）"
    assert jp.format_datetime(value, "ja") == "2025年5月30日（金）12:00"
    assert jp.format_datetime(value, "en") == "Fri 30 May 2025 12:00 JST"


def test_the_date_is_taken_in_jst_not_utc():
    # 2025-05-29 15:30 UTC is already 30 May in Japan.
    assert jp.format_date(dt.datetime(2025, 5, 29, 15, 30, tzinfo=UTC), "ja") == "2025年5月30日（金）"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        jp.format_datetime(dt.datetime(2025, 5, 30, 12, 0))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2025, 5, 30), "令和7年5月30日"),
        (dt.date(2019, 5, 1), "令和元年5月1日"),
        (dt.date(2019, 12, 31), "令和元年12月31日"),
        (dt.date(2020, 1, 1), "令和2年1月1日"),
    ],
)
def test_wareki(day, expected):
    assert jp.format_wareki(day) == expected


def test_wareki_refuses_dates_before_reiwa():
    with pytest.raises(ValueError):
        jp.format_wareki(dt.date(2019, 4, 30))


def test_yen_has_thousands_separators():
    assert jp.format_yen(2_000_000, "ja") == "2,000,000円"
    assert jp.format_yen(2_000_000, "en") == "¥2,000,000"
    assert jp.format_yen(0, "ja") == "0円"
    assert jp.format_yen(None) == ""


def test_budget_in_oku_yen():
    assert jp.format_oku_yen(240_000_000) == "2.4億円"
    assert jp.format_oku_yen(140_000_000) == "1.4億円"
    assert jp.format_oku_yen(2_000_000) == "2,000,000円"


def test_time_left():
    deadline = dt.datetime(2025, 5, 30, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    with translation.override("ja"):
        assert jp.format_time_left(deadline, deadline - dt.timedelta(days=3, hours=4)) == "締切まであと3日4時間"
        assert jp.format_time_left(deadline, deadline - dt.timedelta(minutes=5, seconds=30)) == "締切まであと5分"
        assert jp.format_time_left(deadline, deadline - dt.timedelta(seconds=20)) == "締切まであと1分"
        assert jp.format_time_left(deadline, deadline) == "締切済"
    with translation.override("en"):
        assert jp.format_time_left(deadline, deadline - dt.timedelta(days=1, hours=1)) == "1 day 1 hour left"


def test_prefectures_are_the_47_in_jis_order():
    assert len(PREFECTURES) == 47
    assert [code for code, _ja, _en in PREFECTURES] == [f"{n:02d}" for n in range(1, 48)]
    assert prefecture_name("01") == "北海道"
    assert prefecture_name("13") == "東京都"
    assert prefecture_name("27") == "大阪府"
    assert prefecture_name("47") == "沖縄県"
    assert prefecture_name("13", "en") == "Tokyo"
    assert prefecture_code("兵庫県") == "28"


def test_regions():
    from kodoku_portal.prefectures import region_of

    assert [region_of(c) for c in ("01", "04", "13", "23", "27", "34", "37", "47")] == [
        "北海道",
        "東北",
        "関東",
        "中部",
        "近畿",
        "中国",
        "四国",
        "九州・沖縄",
    ]
