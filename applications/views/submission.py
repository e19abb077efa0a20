"""Preview, submission, withdrawal and the receipt (受付票)."""

import rules
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from calls.models import CallState
from kodoku_portal.views_support import confirmed, refusals_to_messages

from .. import selectors, services
from ..answers import answers_for_display
from ..checks import application_problems
from ..models import ApplicationStatus


@role_required(Role.APPLICANT)
def preview(request, pk):
    application = selectors.application_for_member(request.user, pk)
    now = timezone.now()
    return render(
        request,
        "applications/preview.html",
        {
            "application": application,
            "call": application.call,
            "state": application.call.state_at(now),
            "problems": application_problems(application),
            "schema_answers": answers_for_display(application),
            "can_submit": rules.test_rule("can_submit", request.user, application),
            "CallState": CallState,
            "Status": ApplicationStatus,
        },
    )


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages("applications:preview")
def submit(request, pk):
    application = selectors.application_to_save(request.user, pk)  # the membership check; the service reads the rest
    application = services.application_submit(application_id=application.pk, user=request.user)
    messages.success(
        request,
        _("Your application was received. Receipt number: %(number)s.") % {"number": application.receipt_number},
    )
    return redirect("applications:detail", pk=pk)


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages("applications:detail")
def withdraw(request, pk):
    application = selectors.application_for_member(request.user, pk)
    if not confirmed(request):
        messages.error(
            request, _("Tick the box to confirm the withdrawal: a withdrawn application cannot be submitted again.")
        )
        return redirect("applications:detail", pk=pk)
    services.application_withdraw(application_id=application.pk, user=request.user)
    messages.success(request, _("Your application has been withdrawn."))
    return redirect("applications:detail", pk=pk)


@role_required(Role.APPLICANT)
def receipt_download(request, pk):
    application = selectors.application_for_member(request.user, pk)
    receipt = getattr(application, "receipt", None)
    if receipt is None or not receipt.pdf:
        raise Http404
    try:
        handle = receipt.pdf.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"受付票_{application.receipt_number}.pdf",
        content_type="application/pdf",
    )
