"""The builders of this app's outbox mails, registered in ApplicationsConfig.ready.

The outbox calls a builder when it sends the message (after the change committed, outside any
transaction of its own): it reads the subject afresh and returns the e-mail, or None when the
message is no longer needed (kodoku_portal/outbox.py).
"""

from django.core.mail import EmailMessage

from kodoku_portal.models import OutboxMessage

from .documents import invitation_email, receipt_email
from .models import Invitation
from .services import receipt_render


def build_receipt_mail(message: OutboxMessage) -> EmailMessage:
    """The receipt (受付票) to one address; the PDF is rendered with the first mail and kept."""
    receipt = receipt_render(application_id=message.subject_id)
    return receipt_email(receipt, to=message.to_email)


def build_invitation_mail(message: OutboxMessage) -> EmailMessage | None:
    """The invitation link; not sent any more once the invitation has been accepted or deleted."""
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=message.subject_id, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:
        return None
    return invitation_email(invitation)
