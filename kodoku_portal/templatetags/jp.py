"""Template filters for Japanese dates and yen: {{ call.closes_at|jp_datetime }} …"""

from django import template

from kodoku_portal import jp
from kodoku_portal.prefectures import prefecture_name

register = template.Library()


@register.filter
def jp_date(value):
    return jp.format_date(value) if value else ""


@register.filter
def jp_datetime(value):
    return jp.format_datetime(value) if value else ""


@register.filter
def wareki(value):
    return jp.format_wareki(value) if value else ""


@register.filter
def yen(value):
    return jp.format_yen(value)


@register.filter
def oku_yen(value):
    return jp.format_oku_yen(value) if value is not None else ""


@register.filter
def time_left(value):
    return jp.format_time_left(value) if value else ""


@register.filter
def prefecture(code):
    from django.utils.translation import get_language

    return prefecture_name(code, get_language() or "ja") if code else ""


@register.filter
def width_class(value) -> str:
    """A percentage as the CSS class that sets that width ("w-pct-0" … "w-pct-100" in
    static/css/portal.css), for bars and progress bars: the Content-Security-Policy allows no
    style="" attribute. Rounded to a whole percent, clamped to 0…100."""
    try:
        percent = round(float(value))
    except (TypeError, ValueError):
        percent = 0
    return f"w-pct-{max(0, min(100, percent))}"
