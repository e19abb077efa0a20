"""The outbox builder of allauth's mails (kind "account"): the mail as rendered in the request."""

from django.core.mail import EmailMessage, EmailMultiAlternatives

from kodoku_portal.models import OutboxMessage


def build_account_mail(message: OutboxMessage) -> EmailMessage:
    data = message.context
    email = EmailMultiAlternatives(data["subject"], data["body"], data.get("from_email") or None, [message.to_email])
    if data.get("html"):
        email.attach_alternative(data["html"], "text/html")
    return email
