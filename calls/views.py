"""Public pages of calls and the top page: what anyone may read before signing up."""

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.permissions import STAFF_ROLES, role_required

from . import selectors
from .form_builder import section_form
from .form_schema import schema_of, validate
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


@role_required(*STAFF_ROLES)
def form_preview(request, pk):
    """Staff see a version of a call's application form as applicants will (the same partial),
    every section in order, with the problems that would stop it being published. Posting the
    preview checks the entries (conditions included) and stores nothing. It shows the version as
    saved: reload after saving it in the admin."""
    version = get_object_or_404(selectors.form_version_for_preview(pk))
    data = request.POST if request.method == "POST" else None
    sections = version.ordered_sections()
    forms = [
        section_form(version, section, data=data, prefix=f"s{section.order}-{section.key}") for section in sections
    ]
    valid = [form.is_valid() for form in forms] if data is not None else [False]  # every form, for its errors
    checked = all(valid)
    return render(
        request,
        "calls/form_preview.html",
        {
            "version": version,
            "sections": list(zip(sections, forms, strict=True)),
            "problems": validate(schema_of(version)),
            "checked": checked,
        },
    )
