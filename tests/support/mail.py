"""E-mail backends for tests of the outbox."""

import os
import signal

from django.core.mail import get_connection
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection


class SentInsideTransaction(AssertionError):
    pass


class AtomicCheckingBackend(LocmemBackend):
    """The in-memory test backend (``django.core.mail.outbox``), refusing to send while the
    default database connection is inside a transaction: a mail server must never be waited for
    while rows are locked (and a mail must never leave for a change that may still roll back)."""

    def send_messages(self, messages):
        if connection.in_atomic_block:
            raise SentInsideTransaction("an e-mail was sent inside a database transaction")
        return super().send_messages(messages)


class KillAfterSendBackend:
    """Sends through the configured backend (settings.EMAIL_BACKEND), then SIGKILLs its own
    process: a worker that dies after the mail server accepted a message and before the outbox
    could mark it sent. Used by a builder for one attempt only (tests/support/outbox.py)."""

    def __init__(self, **kwargs):
        self.inner = get_connection()

    def send_messages(self, messages):
        sent = self.inner.send_messages(messages)
        os.kill(os.getpid(), signal.SIGKILL)
        return sent  # never reached
