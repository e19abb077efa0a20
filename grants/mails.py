"""The outbox builder of the notices' mails (kind "notice"), registered in GrantsConfig.ready.

The builder runs in the worker at send time (kodoku_portal/outbox.py): it takes the notice's
stored PDF, or renders and stores it the first time, and returns the mail to the one address of
the outbox row. When the mail server has accepted it, the notice counts as e-mailed and the
organisation may see the decision (``services.notice_mail_sent``).
"""

from django.core.mail import EmailMessage
from django.utils import timezone

from kodoku_portal.models import OutboxMessage

from . import services
from .documents import notice_email
from .models import Notice
from .sent_mail import MailWithAfterSend


def notice_sent(message: OutboxMessage) -> None:
    """What follows a sent notice mail (the outbox's ``on_sent`` once the core offers one)."""
    services.notice_mail_sent(notice_id=message.subject_id, at=message.sent_at or timezone.now())


def build_notice_mail(message: OutboxMessage) -> EmailMessage | None:
    """The mail of one notice to one address, with its PDF; None if the notice is gone."""
    if not Notice.objects.filter(pk=message.subject_id).exists():
        return None
    notice = services.notice_render(notice_id=message.subject_id)
    email = notice_email(notice, to=[message.to_email], message_class=MailWithAfterSend)
    email.after_send = lambda: notice_sent(message)
    return email
