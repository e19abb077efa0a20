"""nc-nav: what every portal mail must hold — links on the configured base URL only, the site's
name — checked the same way for each kind of mail."""

import re

from django.core.mail import EmailMessage

BASE_URL = "https://kodoku-grants.example.go.jp:8443"
SITE_NAME = "孤独・孤立対策 助成ポータル"
_URL = re.compile(r"https?://[^\s<>\"'）」]+")


def texts(message: EmailMessage) -> list[str]:
    """The plain body and every HTML alternative."""
    return [message.body] + [body for body, _type in getattr(message, "alternatives", [])]


def assert_portal_mail(message: EmailMessage, *paths: str) -> None:
    """Every link in the mail starts with BASE_URL, each of ``paths`` is linked on it, and the
    mail names the portal."""
    for text in texts(message):
        links = _URL.findall(text)
        assert links, f"no link in {message.subject!r}"
        strays = [link for link in links if not link.startswith(BASE_URL + "/")]
        assert strays == [], f"links off the base URL in {message.subject!r}: {strays}"
        for path in paths:
            assert BASE_URL + path in text
        assert SITE_NAME in text, f"the site name is missing from {message.subject!r}"
    assert "127.0.0.1" not in message.body and "testserver" not in message.body
