"""The receipt (受付票) as PDF and e-mail, and the invitation e-mail."""

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from kodoku_portal.links import absolute_url
from kodoku_portal.pdf import render_pdf

from .answers import answers_for_display
from .models import Application, Invitation, Receipt


def receipt_pdf(application: Application) -> bytes:
    """A4 receipt in Japanese (official documents are issued in Japanese)."""
    application = (
        Application.objects.select_related("call__programme", "organisation", "theme", "submitted_by")
        .prefetch_related("budget_lines", "attachments")
        .get(pk=application.pk)
    )
    with translation.override("ja"):
        html = render_to_string(
            "pdf/receipt.html", {"application": application, "schema_answers": answers_for_display(application)}
        )
    return render_pdf(html)


def receipt_email(receipt: Receipt, *, to: str) -> EmailMessage:
    """The receipt mail to one address, with the rendered receipt PDF attached."""
    application = receipt.application
    context = {"application": application, "url": absolute_url("applications:detail", application.pk)}
    with translation.override("ja"):
        subject = render_to_string("applications/email/receipt_subject.txt", context).strip()
        body = render_to_string("applications/email/receipt_body.txt", context)
    message = EmailMessage(subject=subject, body=body, to=[to])
    receipt.pdf.open("rb")
    try:
        message.attach(f"{application.receipt_number}.pdf", receipt.pdf.read(), "application/pdf")
    finally:
        receipt.pdf.close()
    return message


def invitation_email(invitation: Invitation) -> EmailMessage:
    context = {
        "invitation": invitation,
        "url": absolute_url("applications:invitation_accept", invitation.token),
    }
    with translation.override("ja"):
        subject = render_to_string("applications/email/invitation_subject.txt", context).strip()
        body = render_to_string("applications/email/invitation_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[invitation.email])
