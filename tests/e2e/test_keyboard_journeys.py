"""Keyboard only (issue 12, item 11): no mouse, no click, no fill — Tab, Shift+Tab, Enter, Space,
the arrow keys and typing, through Playwright's page.keyboard.

- A reviewer logs in (password and second factor), declares a conflict of interest on one
  assignment, declares none on another and scores it: every criterion, both comments, the
  disclosure box, then submits.
- A staff member logs in, goes from the dashboard to the call's decisions page and records a
  decision (採択 with an amount) for one application.

Every element the Tab key reaches on the way shows where the focus is (a visible outline or box
shadow, WCAG 2.4.7), and axe finds nothing serious or critical on the pages walked.
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from playwright.sync_api import Locator, Page, expect

from grants.demo.data import DEMO_PASSWORD
from tests.e2e.axe import assert_accessible
from tests.e2e.helpers import totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

MAX_TABS = 120

# The focused element's own indicator: an outline (portal.css draws one on :focus-visible) or a
# box shadow (Bootstrap's ring on form controls).
FOCUS_INDICATOR = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: "nothing has the focus"};
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  const shown = box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  const what = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " +
    (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 60);
  return {ok: (outline || shadow) && shown, what: what, outline: style.outline, shadow: style.boxShadow};
}"""


@pytest.fixture
def demo(live_server):
    from grants.demo.loader import seed_demo

    seed_demo()
    return live_server.url


def focus_is_visible(page: Page) -> str:
    """Assert the focused element shows its focus; return what it is (for messages)."""
    state = page.evaluate(FOCUS_INDICATOR)
    assert state["ok"], f"no visible focus on {state}"
    return state["what"]


def is_focused(target: Locator) -> bool:
    return target.evaluate("el => el === document.activeElement")


def tab_to(page: Page, target: Locator, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``target`` has the focus, checking at each stop that the
    focus is visible."""
    expect(target).to_have_count(1)
    passed = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        passed.append(focus_is_visible(page))
        if is_focused(target):
            return
    raise AssertionError(f"Tab never reached {target}; it went through: {passed}")


def press_until_value(page: Page, select: Locator, value: str, key: str = "ArrowDown") -> None:
    """A closed <select> with the focus: the arrow keys change its option, one at a time."""
    for _ in range(20):
        if select.input_value() == value:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{select} never took the value {value!r}")


def type_into(page: Page, field: Locator, text: str) -> None:
    tab_to(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    expect(field).to_have_value(text)


def log_in_by_keyboard(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    type_into(page, page.get_by_label("メールアドレス"), email)
    page.keyboard.press("Tab")
    focus_is_visible(page)
    assert is_focused(page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")))
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    if get_user_model().objects.get(email=email).requires_mfa:
        expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
        for _attempt in range(2):  # the 30-second window may turn between the code and the post
            code = format_hotp_value(hotp_value(totp_secret(email), next(yield_hotp_counters_from_time())))
            type_into(page, page.get_by_label(re.compile(r"^\s*コード\*?\s*$")), code)
            with page.expect_navigation():
                page.keyboard.press("Enter")
            if not page.url.endswith("/accounts/2fa/authenticate/"):
                break
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def status_message(page: Page, text: str) -> Locator:
    return page.get_by_role("status").filter(has_text=text)


def test_a_reviewer_declares_a_conflict_and_scores_another_by_keyboard(page: Page, demo):
    from reviews.models import Assignment, AssignmentStatus, Review, ReviewStatus

    base = demo
    mine = list(
        Assignment.objects.filter(reviewer__email="reviewer@example.jp", status=AssignmentStatus.PENDING)
        .select_related("application")
        .order_by("pk")
    )
    assert len(mine) >= 2
    conflicted, scored = mine[0], mine[1]

    log_in_by_keyboard(page, base, "reviewer@example.jp")
    expect(page).to_have_url(f"{base}/reviews/")
    assert_accessible(page)

    # 1. A conflict on the first: the declaration page, "yes" by the arrow keys, the reason typed.
    tab_to(page, page.get_by_role("link", name=f"申告する {conflicted.application.title}"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/reviews/assignments/{conflicted.pk}/declare/")
    assert_accessible(page)
    question = page.get_by_role("group", name=re.compile("この団体または事業との間に利害関係がありますか。"))
    no = question.get_by_role("radio", name="いいえ、利害関係はありません")
    yes = question.get_by_role("radio", name="はい、利害関係があります")
    tab_to(page, no)  # the group's first radio, nothing checked yet
    page.keyboard.press("Space")
    expect(no).to_be_checked()
    page.keyboard.press("ArrowDown")  # the arrow keys move the choice within the group
    expect(yes).to_be_checked()
    expect(yes).to_be_focused()
    focus_is_visible(page)
    type_into(page, page.get_by_label("利害関係の内容（ある場合）"), "代表理事が私の元同僚です。")
    tab_to(page, page.get_by_role("main").get_by_role("button", name="申告する"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/reviews/")
    expect(status_message(page, "この申請は事務局に返却され")).to_be_visible()
    conflicted.refresh_from_db()
    assert conflicted.status == AssignmentStatus.CONFLICT
    assert conflicted.conflict_reason == "代表理事が私の元同僚です。"
    expect(page.get_by_role("link", name=f"申告する {conflicted.application.title}")).to_have_count(0)

    # 2. No conflict on the second, by Space on the "no" radio; then its score sheet.
    tab_to(page, page.get_by_role("link", name=f"申告する {scored.application.title}"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/reviews/assignments/{scored.pk}/declare/")
    tab_to(page, page.get_by_role("radio", name="いいえ、利害関係はありません"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("main").get_by_role("button", name="申告する"))
    page.keyboard.press("Space")
    expect(page).to_have_url(f"{base}/reviews/assignments/{scored.pk}/")
    assert_accessible(page)

    # 3. Every criterion scored with the arrow keys, both comments typed, the disclosure ticked.
    form = page.get_by_role("form", name="あなたの採点")
    criteria = list(scored.application.call.criteria.order_by("order"))
    assert criteria
    chosen = {}
    for index, criterion in enumerate(criteria):
        select = form.get_by_role("combobox", name=str(criterion), exact=True)
        tab_to(page, select)
        value = str(min(criterion.max_score, 3 + index % 3))
        press_until_value(page, select, value)
        focus_is_visible(page)
        chosen[criterion.pk] = int(value)
    type_into(page, form.get_by_label("事務局への所見"), "地域の連携先が具体的で、実現性が高いと考えます。")
    type_into(page, form.get_by_label("申請者への所見"), "参加者の声を集める方法を工夫してください。")
    disclose = form.get_by_role("checkbox", name=re.compile("申請者に開示可"))
    tab_to(page, disclose)
    page.keyboard.press("Space")
    expect(disclose).to_be_checked()
    # Back one stop and forward again: Shift+Tab goes the other way, the focus stays visible.
    page.keyboard.press("Shift+Tab")
    focus_is_visible(page)
    assert is_focused(form.get_by_label("申請者への所見"))
    tab_to(page, form.get_by_role("button", name="審査結果を提出する"))
    page.keyboard.press("Enter")
    expect(status_message(page, "審査結果を提出しました。")).to_be_visible()
    assert_accessible(page)

    review = Review.objects.get(assignment=scored)
    assert review.status == ReviewStatus.SUBMITTED
    assert {s.criterion_id: s.value for s in review.scores.all()} == chosen
    assert review.comment_to_staff == "地域の連携先が具体的で、実現性が高いと考えます。"
    assert review.comment_to_applicant == "参加者の声を集める方法を工夫してください。"
    assert review.disclose_to_applicant is True


def test_staff_record_a_decision_by_keyboard(page: Page, demo):
    from applications.models import Application, ApplicationStatus
    from calls.models import Call
    from grants.models import Decision

    base = demo
    call = Call.objects.get(slug="practice")
    call.closed_manually = True  # decisions come once the call has closed
    call.save(update_fields=["closed_manually"])
    application = Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED).order_by("pk").first()
    amount = application.requested_amount - 100_000

    log_in_by_keyboard(page, base, "staff@example.jp")
    expect(page).to_have_url(f"{base}/staff/")
    tab_to(page, page.get_by_role("main").get_by_role("link", name=str(call), exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/staff/calls/{call.slug}/applications/")
    tab_to(page, page.get_by_role("main").get_by_role("link", name="採否の決定", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/staff/calls/{call.slug}/decisions/")
    assert_accessible(page)

    row = page.get_by_test_id("decision-row").filter(has_text=application.receipt_number)
    outcome = row.get_by_role("combobox", name="採否")
    tab_to(page, outcome)
    press_until_value(page, outcome, ApplicationStatus.ADOPTED.value, key="ArrowUp")
    focus_is_visible(page)
    type_into(page, row.get_by_label("採択額（円）"), f"{amount:,}")
    tab_to(page, row.get_by_role("button", name=re.compile("記録する")))
    page.keyboard.press("Enter")
    expect(status_message(page, f"{application.receipt_number}：採否を記録しました。")).to_be_visible()
    assert_accessible(page)

    application.refresh_from_db()
    assert application.status == ApplicationStatus.ADOPTED
    assert Decision.objects.get(application=application).award_amount == amount
