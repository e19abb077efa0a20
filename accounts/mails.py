"""The outbox builder of allauth's mails (kind "account"): the mail as rendered in the request.

Such a mail carries a secret link (address confirmation, password reset), so its text is kept in
the outbox only until the mail server has taken it: then the row's context is emptied, and the row
keeps only who, when and what kind. A row found empty is not sent again (it was sent)."""

from django.core.mail import EmailMessage, EmailMultiAlternatives

from kodoku_portal.models import OutboxMessage


class _ForgetAfterSending(EmailMultiAlternatives):
    message_id: int | None = None

    def send(self, fail_silently: bool = False) -> int:
        sent = super().send(fail_silently=fail_silently)
        if sent and self.message_id is not None:
            OutboxMessage.objects.filter(pk=self.message_id).update(context={})
        return sent


def build_account_mail(message: OutboxMessage) -> EmailMessage | None:
    data = message.context
    if not data.get("body"):
        return None  # sent already, and its text forgotten
    email = _ForgetAfterSending(data["subject"], data["body"], data.get("from_email") or None, [message.to_email])
    if data.get("html"):
        email.attach_alternative(data["html"], "text/html")
    email.message_id = message.pk
    return email
