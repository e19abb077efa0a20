"""Playwright against live_server in Debian's Chromium (never a downloaded browser)."""

import os
import shutil

import pytest
from playwright.sync_api import Page

CHROMIUM = os.environ.get("CHROMIUM_PATH") or next(
    (p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), ""
)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (see .ci/run)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "ja-JP", "timezone_id": "Asia/Tokyo"}


@pytest.fixture(autouse=True)
def _e2e_timeouts(page):
    page.set_default_timeout(15_000)
    yield


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _portal(settings, tmp_path, live_server):
    """Files go to a temporary private root; links in e-mails point at the live server. Every
    mail of every walk (account, receipt, invitation, notice) is sent by a backend that refuses
    to send inside a database transaction; the outbox records such a refusal as the message's
    error, so none may be found after the walk."""
    settings.MEDIA_ROOT = str(tmp_path / "private")
    settings.PORTAL_BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "tests.support.mail.AtomicCheckingBackend"
    yield
    from kodoku_portal.models import OutboxMessage

    inside = OutboxMessage.objects.filter(last_error__contains="SentInsideTransaction")
    assert list(inside.values_list("kind", "to_email")) == []


@pytest.fixture
def new_page(browser, browser_context_args):
    """A page in a browser context of its own (another person at another computer)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        other = context.new_page()
        other.set_default_timeout(15_000)
        return other

    yield make
    for context in contexts:
        context.close()
