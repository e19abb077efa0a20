"""A builder for outbox messages of kind "test", steered by the message's context:

- ``{"cancel": true}``: returns None (the message is no longer needed → cancelled);
- ``{"fail_attempts": n}``: the first n attempts raise;
- ``{"kill_on_attempt": k}``: attempt k is sent and then the sending process is SIGKILLed;
- ``{"die_on_attempt": k}``: the sending process is SIGKILLed during attempt k, before sending.

Every mail carries ``X-Outbox-Message`` (the row's id) and ``X-Outbox-Attempt`` headers, so a test
can count what reached the mail backend, also from another process (the file-based backend).
"""

import os
import signal

from django.core.mail import EmailMessage
from django.utils.translation import gettext

from kodoku_portal.models import OutboxMessage

from .mail import KillAfterSendBackend

KIND = "test"


class BuildFailed(RuntimeError):
    pass


def build_test_mail(message: OutboxMessage) -> EmailMessage | None:
    context = message.context or {}
    if context.get("cancel"):
        return None
    if context.get("die_on_attempt") == message.attempts:
        os.kill(os.getpid(), signal.SIGKILL)
    if message.attempts <= int(context.get("fail_attempts", 0)):
        raise BuildFailed(f"attempt {message.attempts} fails on purpose")
    email = EmailMessage(
        subject=f"outbox test {message.pk}",
        # Translated with the message's language active: "Japanese" is 日本語 in ja.
        body=f"message {message.pk}, attempt {message.attempts}, {gettext('Japanese')}",
        headers={"X-Outbox-Message": str(message.pk), "X-Outbox-Attempt": str(message.attempts)},
    )
    if context.get("kill_on_attempt") == message.attempts:
        email.connection = KillAfterSendBackend()
    return email
