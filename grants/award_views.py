"""One page per award, for staff and for the organisation: the whole life as a timeline, what is
due next, and each step's section (grant, change, report, money: their own views modules)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, role_required
from kodoku_portal.jp import JST

from . import change_views, grant_views, letter_views, money_views, report_views
from .award_support import member_award_or_404, next_due, staff_award_or_404, timeline
from .models import Award, AwardStatus

SECTIONS = (
    ("grant", grant_views.award_section),
    ("change", change_views.award_section),
    ("report", report_views.award_section),
    ("money", money_views.award_section),
)


def _page(request: HttpRequest, award: Award, *, staff: bool) -> HttpResponse:
    sections = {name: section(request, award, staff=staff) for name, section in SECTIONS}

    def letter_url(letter):
        if staff:
            return reverse("grants:staff_letter", args=[letter.pk])
        return reverse("grants:applicant_letter", args=[award.application_id, letter.pk])

    today = timezone.now().astimezone(JST).date()
    due = next_due(award)
    return render(
        request,
        "grants/award/page.html",
        {
            "award": award,
            "application": award.application,
            "staff": staff,
            "sections": sections,
            "events": timeline(award, letter_url=letter_url),
            "due": [(item, item.overdue(today)) for item in due],
            "Status": AwardStatus,
            "letter_rows": letter_views.letters_section(award) if staff else [],
        },
    )


@role_required(*STAFF_ROLES)
def staff_award(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, staff_award_or_404(pk), staff=True)


@role_required(Role.APPLICANT)
def applicant_award(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, member_award_or_404(request.user, pk), staff=False)
