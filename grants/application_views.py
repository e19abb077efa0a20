"""The staff page of one application (事務局: the whole file), its attachments and its notice.

``/staff/applications/<pk>/`` shows the application as submitted (every field, budget lines, the
area-rule reason), its attachments, its reviews with scores and comments per reviewer (and which
comments are disclosed to the organisation), the conflicts of interest declared, the decision, the
notice, the receipt and letters, the award and the draft history kept. Every staff list links its receipt
numbers here (``{% staff_receipt_link application %}``, grants/templatetags/staff_links.py).

Pages about one object answer 404 to every other signed-in role (``role_required_or_404``).
"""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path

from accounts.permissions import STAFF_ROLES, role_required_or_404
from applications.answers import answers_for_display
from applications.attachment_files import attachment_response, file_response
from applications.models import Application, ApplicationStatus, Receipt
from reviews import ranking
from reviews import services as review_services
from reviews.models import AssignmentStatus, ReviewStatus
from reviews.selectors import attachment_for_reader, criteria_of

from . import selectors, services
from .models import Notice

staff_or_404 = role_required_or_404(*STAFF_ROLES)


def _review_rows(application: Application, criteria) -> list[dict]:
    """One row per assignment still live: the reviewer, the review's state, the scores in rubric
    order (alone, and paired with their criterion as "scored"), the weighted total (0–100) of a
    complete review and the comments."""
    weights = [ranking.Criterion(c.pk, c.max_score, c.weight) for c in criteria]
    rows = []
    for assignment in application.assignments.all():
        if assignment.status == AssignmentStatus.CONFLICT:
            continue
        review = getattr(assignment, "review", None)
        scores = {s.criterion_id: s.value for s in review.scores.all()} if review else {}
        submitted = review is not None and review.status == ReviewStatus.SUBMITTED
        counted = submitted and assignment.status == AssignmentStatus.ACCEPTED
        complete = bool(criteria) and len(scores) == len(criteria)
        in_order = [scores.get(c.pk) for c in criteria]
        rows.append(
            {
                "assignment": assignment,
                "review": review,
                "submitted": submitted,
                "scores": in_order,
                "scored": list(zip(criteria, in_order, strict=True)),
                "total": ranking.weighted_total(weights, scores) if complete else None,
                "disclosed": counted and review.disclose_to_applicant and bool(review.comment_to_applicant.strip()),
            }
        )
    return rows


@staff_or_404
def staff_application(request, pk):
    application = selectors.application_for_staff(pk)
    criteria = criteria_of(application.call)
    return render(
        request,
        "grants/staff/application.html",
        {
            "application": application,
            "call": application.call,
            "criteria": criteria,
            "review_rows": _review_rows(application, criteria),
            "returned": [a for a in application.assignments.all() if a.status == AssignmentStatus.CONFLICT],
            "conflicts": selectors.conflicts_declared(application),
            "schema_answers": answers_for_display(application),
            "Status": ApplicationStatus,
        },
    )


@staff_or_404
def staff_attachment(request, pk, attachment_pk):
    """An attachment opened by staff (a PDF in the browser, Office files downloaded), audited."""
    application = get_object_or_404(
        Application.objects.exclude(status=ApplicationStatus.DRAFT).select_related("call"), pk=pk
    )
    attachment = attachment_for_reader(request.user, application, attachment_pk)
    review_services.attachment_opened(attachment=attachment, by=request.user)
    return attachment_response(attachment, inline=True)


@staff_or_404
def staff_notice(request, pk):
    """The notice (採択・不採択・補欠通知書) of an application, for staff, in the browser; rendered
    now and kept if its mail has not been built yet."""
    notice = get_object_or_404(Notice, application_id=pk)
    if not notice.pdf:
        notice = services.notice_render(notice_id=notice.pk)
    try:
        handle = notice.pdf.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return file_response(handle, filename=f"{notice.document_number}.pdf", content_type="application/pdf", inline=True)


@staff_or_404
def staff_receipt(request, pk):
    """The receipt (受付票) of a submitted application, for staff, in the browser (as kept: it is
    made with the receipt's first mail)."""
    receipt = get_object_or_404(Receipt.objects.select_related("application"), application_id=pk)
    if not receipt.pdf:
        raise Http404
    try:
        handle = receipt.pdf.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    filename = f"受付票_{receipt.application.receipt_number}.pdf"
    return file_response(handle, filename=filename, content_type="application/pdf", inline=True)


urlpatterns = [
    path("staff/applications/<int:pk>/", staff_application, name="staff_application"),
    path("staff/applications/<int:pk>/attachments/<int:attachment_pk>/", staff_attachment, name="staff_attachment"),
    path("staff/applications/<int:pk>/notice.pdf", staff_notice, name="staff_notice"),
    path("staff/applications/<int:pk>/receipt.pdf", staff_receipt, name="staff_receipt"),
]
