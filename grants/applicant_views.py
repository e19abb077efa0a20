"""The organisation's side after a decision: the notice PDF, the award and its reports."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import role_required
from applications.selectors import application_for_member

from . import services
from .forms import ReportForm
from .models import AwardStatus, Notice, ReportKind
from .services import GrantRefused


@role_required(Role.APPLICANT)
def notice_download(request, pk):
    application = application_for_member(request.user, pk)
    notice = Notice.objects.filter(application=application).first()
    if notice is None or not notice.pdf or notice.emailed_at is None:
        raise Http404
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
def award_page(request, pk):
    application = application_for_member(request.user, pk)
    award = getattr(application, "award", None)
    if award is None:
        raise Http404
    submitted = {report.kind for report in award.reports.all()}
    forms = {
        kind: ReportForm(
            request.POST if request.POST.get("kind") == kind else None, final=kind == ReportKind.FINAL, prefix=kind
        )
        for kind in (ReportKind.PROGRESS, ReportKind.FINAL)
        if kind not in submitted and award.status == AwardStatus.GRANTED
    }
    kind = request.POST.get("kind")
    if request.method == "POST" and kind in forms and forms[kind].is_valid():
        form = forms[kind]
        try:
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
        except GrantRefused as refused:
            messages.error(request, refused.message)
        else:
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
        },
    )
