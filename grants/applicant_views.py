"""The organisation's side after a decision: the notice PDF, the award and its reports."""

import rules
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import role_required
from applications.selectors import application_for_member
from kodoku_portal.views_support import refusals_to_messages

from . import services
from .forms import ReportForm
from .models import AwardStatus, Notice, ReportKind


@role_required(Role.APPLICANT)
def notice_download(request, pk):
    application = application_for_member(request.user, pk)
    if not rules.test_rule("can_download_notice", request.user, application):
        raise Http404
    notice = Notice.objects.get(application=application)
    try:
        handle = notice.pdf.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{notice.document_number}.pdf",
        content_type="application/pdf",
    )


@role_required(Role.APPLICANT)
@refusals_to_messages("grants:applicant_award")
def award_page(request, pk):
    application = application_for_member(request.user, pk)
    award = getattr(application, "award", None)
    # Until the decision is disclosed (its notice mailed), there is no award to be seen.
    if award is None or not rules.test_rule("can_see_decision", request.user, application):
        raise Http404
    may_file = rules.test_rule("can_file_report", request.user, award)
    forms = {
        kind: ReportForm(
            request.POST if request.POST.get("kind") == kind else None, final=kind == ReportKind.FINAL, prefix=kind
        )
        for kind in (award.reports_open() if may_file else [])
    }
    kind = request.POST.get("kind")
    if request.method == "POST" and kind in forms and forms[kind].is_valid():
        form = forms[kind]
        services.report_submit(
            award=award,
            kind=ReportKind(kind),
            activities=form.cleaned_data["activities"],
            participants=form.cleaned_data["participants"],
            results=form.cleaned_data["results"],
            issues=form.cleaned_data["issues"],
            costs=form.costs(),
            by=request.user,
        )
        messages.success(request, _("Your report was received."))
        return redirect("grants:applicant_award", pk=pk)
    return render(
        request,
        "grants/award_applicant.html",
        {
            "application": application,
            "award": award,
            "forms": forms,
            "reports": award.reports.prefetch_related("costs"),
            "Status": AwardStatus,
            "ReportKind": ReportKind,
        },
    )
