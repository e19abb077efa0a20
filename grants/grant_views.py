"""Pages of 交付申請 (its filing, 差戻し, acceptance), 交付決定 and its letter, 辞退, 補欠 and 繰上げ採択.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_grant.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.
"""

from django.http import HttpRequest

from .models import Award

urlpatterns: list = []


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    return {}
