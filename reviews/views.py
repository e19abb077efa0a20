from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required


@role_required(Role.REVIEWER)
def home(request):
    """The reviewer's start page. Assignments are listed here once the review issue lands."""
    return render(request, "reviews/home.html", {})
