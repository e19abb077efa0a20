"""allauth's mails (address confirmation, password reset, security notices) go through the outbox
like every other mail of the portal: rendered here, in the request that causes them (their links
are made from it), recorded in the outbox, and sent by the worker after the commit."""

import uuid

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.utils import translation

from kodoku_portal.outbox import Mail, enqueue

ACCOUNT_MAIL = "account"  # the outbox kind of allauth's mails (built by accounts.mails)


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": get_current_site(request), **context},
        )
        html = next((body for body, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), "")
        user = context.get("user")
        # Every account mail is a message of its own (allauth limits how often they are asked for):
        # the slot carries the template and a fresh token, so no two requests share a key.
        slot = f"{template_prefix.rsplit('/', 1)[-1]}:{uuid.uuid4().hex}"[:60]
        with transaction.atomic():
            enqueue(
                Mail(
                    ACCOUNT_MAIL,
                    user if getattr(user, "pk", None) else ("accounts.User", 0),
                    email,
                    recipient=user if getattr(user, "pk", None) else None,
                    language=translation.get_language() or "ja",
                    slot=slot,
                    context={
                        "subject": message.subject,
                        "body": message.body,
                        "html": html,
                        "from_email": message.from_email,
                    },
                )
            )
