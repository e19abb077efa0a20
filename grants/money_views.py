"""Pages of 額の確定 and its letter, 概算払 and 精算払, 返還命令, 加算金 and 延滞金, the payments list.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_money.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.
"""

from django.http import HttpRequest

from .models import Award

urlpatterns: list = []


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    return {}
