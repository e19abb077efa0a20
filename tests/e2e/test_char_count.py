"""The remaining count under a text field (static/js/char-count.js): 「残り N 文字」 while typing,
in a polite live region the field points at, and nothing in the page's inline code (CSP)."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import MemberRole, Membership
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_remaining_count_follows_what_is_typed(page: Page, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = UserFactory(role=Role.APPLICANT, password="count-me-in-2025")
    organisation = OrganisationFactory()
    Membership.objects.create(organisation=organisation, user=user, role=MemberRole.OWNER)
    page.goto(f"{live_server.url}/accounts/login/?next=/organisations/{organisation.pk}/")
    page.get_by_label("メールアドレス").fill(user.email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill("count-me-in-2025")
    page.get_by_role("button", name="ログイン").click()
    field = page.locator("#id_address")
    expect(field).to_be_visible()
    limit = int(field.get_attribute("maxlength"))
    counter = page.locator("#id_address-char-count")
    expect(counter).to_have_attribute("aria-live", "polite")
    assert "id_address-char-count" in (field.get_attribute("aria-describedby") or "")
    field.fill("")
    field.press_sequentially("東京都千代田区")
    expect(counter).to_have_text(f"残り {limit - 7} 文字")
    field.fill("𠮷野家")  # a character outside the BMP counts as one, as the server counts it
    field.dispatch_event("input")
    expect(counter).to_have_text(f"残り {limit - 3} 文字")
    # A one-line field far from its limit says nothing once the focus leaves it, and keeps its
    # line (nothing below moves).
    height = counter.evaluate("e => e.offsetHeight")
    field.blur()
    expect(counter).to_be_hidden()
    assert counter.evaluate("e => e.offsetHeight") == height > 0
    field.focus()
    expect(counter).to_be_visible()
    expect(counter).to_have_text(f"残り {limit - 3} 文字")
