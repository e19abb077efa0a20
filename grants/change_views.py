"""Pages of 変更承認申請, 軽微な変更, 中止・廃止 and their letters.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_change.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.
"""

from django.http import HttpRequest

from .models import Award

urlpatterns: list = []


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    return {}
