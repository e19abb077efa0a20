"""allauth's mails (address confirmation, password reset, security notices) go through the outbox
like every other mail of the portal: rendered here, in the request that causes them (their links
are made from it), recorded in the outbox, and sent by the worker after the commit."""

import uuid

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from kodoku_portal.outbox import Mail, enqueue

ACCOUNT_MAIL = "account"  # the outbox kind of allauth's mails (built by accounts.mails)

# Where each role lands after logging in (without a ?next=): its own home page.
ROLE_HOME = {
    "applicant": "applications:dashboard",
    "reviewer": "reviews:home",
    "staff": "grants:staff_dashboard",
    "administrator": "grants:staff_dashboard",
}


class PortalSite:
    """What allauth's mail templates call the site (``current_site``): the portal's name and the
    host of ``PORTAL_BASE_URL`` — never the host the request came in on."""

    def __init__(self):
        self.name = str(settings.PORTAL_NAME)
        self.domain = settings.PORTAL_BASE_URL.split("://", 1)[-1].rstrip("/")

    def __str__(self) -> str:
        return self.name


def rebase_links(context: dict, request) -> dict:
    """allauth builds its links (confirmation, password reset, sign-up) from the request; every
    mail's links start with ``PORTAL_BASE_URL`` instead."""
    if request is None:
        return context
    here = request.build_absolute_uri("/")
    base = settings.PORTAL_BASE_URL.rstrip("/") + "/"
    return {
        key: base + value[len(here) :] if isinstance(value, str) and value.startswith(here) else value
        for key, value in context.items()
    }


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request) -> str:
        user = request.user
        home = ROLE_HOME.get(getattr(user, "role", ""))
        return reverse(home) if home else super().get_login_redirect_url(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, **rebase_links(context, request), "current_site": PortalSite()},
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
