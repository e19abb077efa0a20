"""Mail backends for the grants tests (set with settings.EMAIL_BACKEND)."""

from django.core.mail.backends.base import BaseEmailBackend


class UnreachableBackend(BaseEmailBackend):
    """A mail server that cannot be reached: every send fails as SMTP would."""

    def send_messages(self, email_messages):
        raise ConnectionError("SMTP server unreachable")
