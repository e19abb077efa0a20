"""Japanese formatting: dates in JST (Western and 令和), yen amounts, time left.

Screens: 2025年5月30日（金）12:00. Official letters: 令和7年5月30日. Yen: ¥2,000,000 / 2,000,000円.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext

JST = ZoneInfo("Asia/Tokyo")
_WEEKDAYS_JA = "月火水木金土日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
REIWA_START = dt.date(2019, 5, 1)


def _is_english(language: str | None) -> bool:
    return (language or get_language() or "ja").startswith("en")


def to_jst(value: dt.datetime) -> dt.datetime:
    """An aware datetime in JST (naive values are refused: every stored time is aware)."""
    if timezone.is_naive(value):
        raise ValueError("naive datetime: every time in the portal is timezone-aware")
    return value.astimezone(JST)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return to_jst(value).date()
    return value


def format_date(value: dt.date | dt.datetime, language: str | None = None) -> str:
    """2025年5月30日（金） — or 'Fri 30 May 2025' in English."""
    day = _as_date(value)
    if _is_english(language):
        return f"{_WEEKDAYS_EN[day.weekday()]} {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日（{_WEEKDAYS_JA[day.weekday()]}）"


def format_datetime(value: dt.datetime, language: str | None = None) -> str:
    """2025年5月30日（金）12:00 in JST — or 'Fri 30 May 2025 12:00 JST' in English."""
    local = to_jst(value)
    text = f"{format_date(local, language)}{' ' if _is_english(language) else ''}{local:%H:%M}"
    return f"{text} JST" if _is_english(language) else text


def format_wareki(value: dt.date | dt.datetime) -> str:
    """令和7年5月30日 (official letters). Year 1 of 令和 is written 元年."""
    day = _as_date(value)
    if day < REIWA_START:
        raise ValueError("dates before 令和 (2019-05-01) are not used in the portal's letters")
    year = day.year - 2018
    year_text = "元" if year == 1 else str(year)
    return f"令和{year_text}年{day.month}月{day.day}日"


def format_yen(amount: int | None, language: str | None = None) -> str:
    """¥2,000,000 in English, 2,000,000円 in Japanese; '' for None."""
    if amount is None:
        return ""
    if _is_english(language):
        return f"¥{amount:,}"
    return f"{amount:,}円"


def format_oku_yen(amount: int) -> str:
    """Budget figures as the Cabinet Office writes them: 240,000,000 → 2.4億円."""
    if amount % 10_000_000 == 0 and amount >= 100_000_000:
        oku = amount / 100_000_000
        return f"{oku:g}億円"
    return f"{amount:,}円"


def format_time_left(deadline: dt.datetime, now: dt.datetime | None = None) -> str:
    """'あと3日4時間' / '3 days 4 hours left'; minutes only in the last hour."""
    now = now or timezone.now()
    remaining = deadline - now
    if remaining.total_seconds() <= 0:
        return gettext("Closed")
    days = remaining.days
    hours, rest = divmod(remaining.seconds, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not days and (minutes or not parts):
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", max(minutes, 1)) % {"n": max(minutes, 1)})
    separator = " " if _is_english(None) else ""
    return gettext("%(duration)s left") % {"duration": separator.join(parts)}


def join_list(items) -> str:
    """Items joined as the page's language writes a list: 「A、B、C」 or "A, B, C"."""
    return (", " if _is_english(None) else "、").join(str(item) for item in items)
