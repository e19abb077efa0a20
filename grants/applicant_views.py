"""Downloads of official documents: the notice PDF and the letters after 採択 (for the organisation
once its award is its to see, and for staff). The award page itself is award_views."""

import rules
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, role_required
from applications.selectors import application_for_member

from . import letters
from .award_support import member_award_or_404
from .models import Letter, Notice


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


def _letter_response(letter: Letter) -> FileResponse:
    if not letter.pdf:
        letter = letters.letter_render(letter_id=letter.pk)  # not mailed yet: rendered now, kept
    try:
        handle = letter.pdf.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(
        handle, as_attachment=True, filename=f"{letter.document_number}.pdf", content_type="application/pdf"
    )


@role_required(Role.APPLICANT)
def letter_download(request, pk, letter):
    """A letter of the organisation's award (交付決定通知書 …), once the award is its to see."""
    award = member_award_or_404(request.user, pk)
    return _letter_response(get_object_or_404(Letter, pk=letter, application_id=award.application_id))


@role_required(*STAFF_ROLES)
def staff_letter_download(request, pk):
    return _letter_response(get_object_or_404(Letter, pk=pk))
