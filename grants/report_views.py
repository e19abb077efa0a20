"""Pages of 遂行状況報告 and 実績報告 with evidence, the line-by-line review, 差戻し and acceptance.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_report.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.
"""

from django.http import HttpRequest

from .models import Award

urlpatterns: list = []


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    return {}
