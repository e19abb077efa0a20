"""An e-mail that knows when the mail server has accepted it, for the outbox builders of the
notices (grants/mails.py) and the letters (grants/letters.py).

The outbox (kodoku_portal/outbox.py) calls ``send()`` on what a builder returns, outside any
transaction; only there is "the mail was sent" known. A builder that must record it (the notice
or letter counts as e-mailed) returns a ``MailWithAfterSend`` with ``after_send`` set.
"""

import logging
from collections.abc import Callable

from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)


class MailWithAfterSend(EmailMessage):
    """An e-mail that runs ``after_send`` once the mail server has accepted it.

    A failure of ``after_send`` is logged, never raised: raising would count as a failed attempt
    and send the mail again."""

    after_send: Callable[[], None] | None = None

    def send(self, fail_silently: bool = False) -> int:
        sent = super().send(fail_silently=fail_silently)
        if sent and self.after_send is not None:
            try:
                self.after_send()
            except Exception:
                logger.exception("the mail was sent, but recording it failed")
        return sent
