"""Public pages of calls and the top page: what anyone may read before signing up."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from . import selectors
from .models import CallState


def _with_state(calls, now):
    return [(call, call.state_at(now)) for call in calls]


def home(request):
    now = timezone.now()
    calls = _with_state(selectors.calls_for_public_list(), now)
    open_calls = [(call, state) for call, state in calls if state == CallState.OPEN]
    return render(request, "home.html", {"open_calls": open_calls, "now": now, "CallState": CallState})


def call_list(request):
    now = timezone.now()
    calls = _with_state(selectors.calls_for_public_list(), now)
    return render(request, "calls/call_list.html", {"calls": calls, "now": now, "CallState": CallState})


def call_detail(request, slug):
    """The call as published; the form that starts an application is drawn by the applications
    layer's template tag (this floor knows nothing of organisations)."""
    call = get_object_or_404(selectors.call_for_public_page(slug))
    now = timezone.now()
    return render(
        request,
        "calls/call_detail.html",
        {"call": call, "state": call.state_at(now), "now": now, "CallState": CallState},
    )
