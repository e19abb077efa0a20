"""After the review, in the browser, in Japanese: decisions, notices, the award and its reports.

On the practice call of the demo data (six submitted, reviewed applications; a budget of
5,000,000円 set for the test): staff ask for the adoption proposal and accept it, mark one
application 不採択 and see a further adoption refused for the budget; make and send the notices
(through the outbox: one mail with its PDF per decided application and address); the adopted
organisation downloads its notice;
both sides then find the award at 採択 (交付申請待ち) — test_award_lifecycle.py walks the rest of
its life; staff publish the list of adopted projects, which a visitor then reads; the
audit trail tells the decisions in words. The adoption list (採択一覧) is exported with export_adoptions.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import Page, expect

from applications.models import Application, ApplicationStatus, MemberRole, Membership
from calls.models import Call
from grants.demo.loader import seed_demo
from grants.models import Award, AwardStatus, Notice, NoticeKind
from grants.selectors import decidable_applications
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from reviews.selectors import ranking_rows
from tests.e2e.axe import assert_accessible
from tests.e2e.helpers import totp_secret

pytestmark = pytest.mark.django_db(transaction=True)


PASSWORD = "kodoku-demo-2025"
STAFF = "staff@example.jp"
STAFF_NAME = "事務局 三郎"
APPLICANT = "applicant@example.jp"
SLUG = "practice"
BUDGET = 5_000_000
ADOPTED_STEP = "採択（交付申請待ち）"


# --- helpers ------------------------------------------------------------------------------------


def log_in(page: Page, base: str, email: str, next_path: str) -> None:
    """Password, then (for staff) the TOTP code of the current 30-second window (allauth.mfa)."""
    user = get_user_model().objects.get(email=email)
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    if user.requires_mfa:
        expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
        secret = totp_secret(email)
        # allauth accepts only the current window's code: if the window turns between computing
        # the code and posting it, the code is refused and the next window's code is typed.
        for _attempt in range(2):
            code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
            page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(code)
            with page.expect_navigation():
                page.get_by_role("main").get_by_role("button", name="ログイン").click()
            if not page.url.endswith("/accounts/2fa/authenticate/"):
                break
    expect(page).to_have_url(base + next_path)
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def status_message(page: Page, text):
    return page.get_by_role("status").filter(has_text=text)


def yen(amount: int) -> str:
    return f"{amount:,}円"


def decision_row(page: Page, application: Application):
    return page.get_by_test_id("decision-row").filter(has_text=application.receipt_number)


def budget_text(committed: int) -> str:
    """The budget summary: "Budget %(budget)s: %(committed)s committed, %(left)s left." """
    return f"予算額{yen(BUDGET)}：採択済額{yen(committed)}、残額{yen(BUDGET - committed)}"


def expected_proposal(call: Call) -> list[Application]:
    """Highest score first, each at its requested amount, skipping what no longer fits the budget."""
    chosen, total = [], 0
    for row in ranking_rows(call, decidable_applications(call), calibrate=False):
        assert row.rank is not None  # every demo application has at least one submitted review
        if total + row.application.requested_amount <= BUDGET:
            chosen.append(row.application)
            total += row.application.requested_amount
    return chosen


# --- the walk -------------------------------------------------------------------------------------


def test_decide_notify_open_award_publish_and_audit(page: Page, live_server, new_page, tmp_path):
    seed_demo()
    base = live_server.url
    call = Call.objects.get(slug=SLUG)
    call.budget_total = BUDGET
    call.save(update_fields=["budget_total"])
    applications = list(Application.objects.filter(call=call).order_by("receipt_number"))
    assert len(applications) == 6
    assert all(a.status == ApplicationStatus.SUBMITTED for a in applications)
    proposal = expected_proposal(call)
    proposed_total = sum(a.requested_amount for a in proposal)
    rest = [a for a in applications if a not in proposal]
    # 900,000 + 1,200,000 + 1,500,000 + 1,650,000 > 5,000,000: at most three fit, three are left,
    # and each of them is more than what the proposal leaves of the budget.
    assert 1 <= len(proposal) <= 3 and len(rest) >= 3
    assert all(a.requested_amount > BUDGET - proposed_total for a in rest)
    refused_one, left_out = rest[0], rest[1]
    decisions_path = f"/staff/calls/{SLUG}/decisions/"

    # 1. Decisions: the budget, the proposal, accepting it, one 不採択, one adoption refused.
    log_in(page, base, STAFF, decisions_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("採否の決定")
    summary = page.get_by_test_id("budget-summary")
    expect(summary).to_have_text(budget_text(0))
    expect(page.get_by_role("progressbar", name="予算額に対する採択済額")).to_have_attribute("aria-valuenow", "0")
    rows = page.get_by_test_id("decision-row")
    expect(rows).to_have_count(6)
    assert_accessible(page)

    # The practice call is still open: decisions wait until it closes unless staff allow them
    # earlier, with a reason and a ticked confirmation (nc-record, issue 12 item 9; audited).
    window = page.get_by_test_id("decision-window")
    expect(window).to_contain_text("採否の決定は締切後に行います")
    expect(page.get_by_test_id("practice-note")).to_contain_text("練習用第N号")
    window.locator("summary").click()
    window.get_by_label(re.compile(r"^\s*締切前に採否を決定する理由\*?\s*$")).fill("練習用の公募で流れを確かめるため")
    window.get_by_label(re.compile("団体がまだ申請できる間に採否が記録されること")).check()
    window.get_by_role("button", name="締切前の採否の決定を許可する").click()
    expect(status_message(page, "この公募では、締切前でも採否を記録できるようになりました。")).to_be_visible()
    expect(page.get_by_test_id("decision-window")).to_contain_text("練習用の公募で流れを確かめるため")
    assert AuditEntry.objects.filter(action="decisions_allowed_before_close", call_id=call.pk).count() == 1

    section = page.get_by_role("region", name="採択案")
    section.get_by_role("button", name="採択案を作成する").click()
    expect(page).to_have_url(re.compile(r"[?&]propose=1(&|$)"))
    expect(section).to_contain_text(
        f"採択案では、{len(proposal)}件・計{yen(proposed_total)}を採択します（点数の高い順、予算の範囲内）。"
    )
    items = section.get_by_role("listitem")
    expect(items).to_have_count(len(proposal))
    expect(items).to_have_text(
        [f"{a.receipt_number} {a.organisation.name} — {yen(a.requested_amount)}" for a in proposal]
    )
    for item in items.all():
        expect(item.get_by_role("checkbox")).to_be_checked()
    assert_accessible(page)
    section.get_by_role("button", name="チェックした申請を採択する").click()
    expect(page).to_have_url(base + decisions_path)
    expect(status_message(page, f"{len(proposal)}件の申請を採択しました。")).to_be_visible()
    expect(summary).to_have_text(budget_text(proposed_total))
    expect(page.get_by_role("progressbar", name="予算額に対する採択済額")).to_have_attribute(
        "aria-valuenow", str(round(100 * proposed_total / BUDGET))
    )
    for application in proposal:
        expect(decision_row(page, application).get_by_label("採否")).to_have_value("adopted")

    # 不採択 by hand.
    row = decision_row(page, refused_one)
    row.get_by_label("採否").select_option(label="不採択とする")
    row.get_by_role("button", name=f"記録する {refused_one.receipt_number}").click()
    expect(status_message(page, f"{refused_one.receipt_number}：採否を記録しました。")).to_be_visible()
    expect(decision_row(page, refused_one).get_by_label("採否")).to_have_value("not_adopted")
    expect(summary).to_have_text(budget_text(proposed_total))

    # One more adoption, at its requested amount, would go beyond the budget: refused.
    row = decision_row(page, left_out)
    row.get_by_label("採否").select_option(label="採択とする")
    expect(row.get_by_label("採択額（円）")).to_have_value(str(left_out.requested_amount))
    row.get_by_role("button", name=f"記録する {left_out.receipt_number}").click()
    refusal = (
        f"この採択額では予算額を超えます（予算額{yen(BUDGET)}、"
        f"採択済額{yen(proposed_total)}、残額{yen(BUDGET - proposed_total)}）。"
    )
    expect(status_message(page, f"{left_out.receipt_number}：{refusal}")).to_be_visible()
    expect(decision_row(page, left_out).get_by_label("採否")).to_have_value("submitted")
    assert_accessible(page)
    expect(summary).to_have_text(budget_text(proposed_total))

    adopted = list(Application.objects.filter(call=call, status=ApplicationStatus.ADOPTED).order_by("receipt_number"))
    assert adopted == sorted(proposal, key=lambda a: a.receipt_number)
    assert [a.decision.award_amount for a in adopted] == [a.requested_amount for a in adopted]
    decided = sorted([*adopted, refused_one], key=lambda a: a.receipt_number)
    assert Application.objects.get(pk=left_out.pk).status == ApplicationStatus.SUBMITTED

    # The adoption list (採択一覧), as the export_adoptions command writes it.
    export = tmp_path / "adoptions.csv"
    call_command("export_adoptions", SLUG, output=str(export))
    content = export.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    header, *lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert header == ["団体名（所在都道府県）", "事業名", "概要", "事業区域", "採択額（円）", "テーマ"]
    assert [(line[0], line[1], line[4]) for line in lines] == [
        (a.organisation.name_with_prefecture, a.title, str(a.requested_amount)) for a in adopted
    ]

    # 2. Notices: made and sent through the outbox (Celery runs eagerly), one mail with its PDF per
    # decided application and address (the organisation's, the submitter's).
    page.get_by_role("link", name="通知書", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知書")
    expect(page.get_by_test_id("notice-row")).to_have_count(0)
    mail.outbox.clear()
    page.get_by_test_id("confirm-checkbox").get_by_role("checkbox").check()
    page.get_by_role("button", name="通知書を作成・送付する").click()
    expect(page).to_have_url(f"{base}/staff/calls/{SLUG}/notices/")
    expect(status_message(page, f"{len(decided)}件の通知書を作成・送信しています。")).to_be_visible()
    n = OutboxMessage.objects.filter(kind="notice", call_id=call.pk).count()
    assert n >= len(decided)
    expect(page.get_by_test_id("notice-progress")).to_have_text(f"送信済：{n}件／{n}件（失敗：0件）")
    expect(page.get_by_role("progressbar", name="通知書の送信状況")).to_have_attribute("aria-valuenow", "100")
    assert_accessible(page)
    polled = page.request.get(f"{base}/staff/calls/{SLUG}/notices/progress/")
    assert polled.json() == {"total": n, "sent": n, "failed": 0, "percent": 100}
    notice_rows = page.get_by_test_id("notice-row")
    expect(notice_rows).to_have_count(len(decided))
    for application in decided:
        notice_row = notice_rows.filter(has_text=application.receipt_number)
        expect(notice_row.get_by_role("cell").nth(3)).to_have_text(
            "採択通知書" if application in adopted else "不採択通知書"
        )
        expect(notice_row.get_by_role("cell").last).to_have_text(re.compile(r"^送信済 \d{4}年"))

    notices = {n.application_id: n for n in Notice.objects.filter(application__call=call)}
    assert set(notices) == {a.pk for a in decided}
    assert len(mail.outbox) == n
    assert set(OutboxMessage.objects.filter(kind="notice").values_list("status", flat=True)) == {OutboxStatus.SENT}
    for application in decided:
        notice = notices[application.pk]
        assert notice.kind == (NoticeKind.ADOPTED if application in adopted else NoticeKind.NOT_ADOPTED)
        messages = [m for m in mail.outbox if application.receipt_number in m.subject]
        assert application.organisation.email.lower() in [address for m in messages for address in m.to]
        assert all(len(message.to) == 1 for message in messages)  # one address per mail
        for message in messages:
            [(name, pdf, mimetype)] = message.attachments
            assert (name, mimetype) == (f"{notice.document_number}.pdf", "application/pdf")
            assert pdf.startswith(b"%PDF-")

    # 3. The adopted organisation: the notice on the dashboard and the application page.
    winner = adopted[0]
    notice = notices[winner.pk]
    Membership.objects.get_or_create(
        organisation=winner.organisation,
        user=get_user_model().objects.get(email=APPLICANT),
        defaults={"role": MemberRole.EDITOR},
    )
    applicant = new_page()
    log_in(applicant, base, APPLICANT, "/applications/")
    mine = applicant.get_by_role("row").filter(has=applicant.get_by_role("link", name=winner.title))
    expect(mine.get_by_role("cell").nth(2)).to_have_text("採択")
    assert_accessible(applicant)
    with applicant.expect_download() as download_info:
        mine.get_by_role("link", name="通知書（PDF）").click()
    download = download_info.value
    assert download.suggested_filename == f"{notice.document_number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")

    mine.get_by_role("link", name=winner.title).click()
    expect(applicant).to_have_url(f"{base}/applications/{winner.pk}/")
    expect(status_message(applicant, "この申請の審査結果が通知されています。")).to_be_visible()
    assert_accessible(applicant)
    with applicant.expect_download() as download_info:
        applicant.get_by_role("link", name="通知書（PDF）をダウンロード").click()
    assert Path(download_info.value.path()).read_bytes().startswith(b"%PDF-")
    # Another organisation's notice is not theirs to read.
    other = applicant.request.get(f"{base}/applications/{refused_one.pk}/notice.pdf")
    assert other.status == 404

    # 4. The award exists at 採択 (交付申請待ち) on both sides; the rest of its life is walked in
    # test_award_lifecycle.py.
    award = Award.objects.get(application=winner)
    assert award.status == AwardStatus.ADOPTED
    assert set(Award.objects.filter(application__call=call).values_list("application_id", flat=True)) == {
        a.pk for a in adopted
    }
    page.goto(f"{base}/staff/awards/?call={SLUG}")
    expect(page.get_by_role("heading", level=1)).to_have_text("採択事業の管理")
    board = page.get_by_test_id("award-row")
    expect(board).to_have_count(len(adopted))
    assert_accessible(page)
    board_row = board.filter(has_text=winner.receipt_number)
    expect(board_row.get_by_role("cell").nth(3)).to_have_text(ADOPTED_STEP)
    board_row.get_by_role("link", name=ADOPTED_STEP).click()
    expect(page).to_have_url(f"{base}/staff/awards/{award.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(winner.title)
    expect(page.get_by_test_id("award-status")).to_have_text(ADOPTED_STEP)
    assert_accessible(page)
    applicant.get_by_role("link", name="採択後の手続（交付申請・変更・報告・支払）").click()
    expect(applicant).to_have_url(f"{base}/applications/{winner.pk}/award/")
    expect(applicant.get_by_test_id("award-status")).to_have_text(ADOPTED_STEP)
    expect(applicant.get_by_test_id("due-list")).to_contain_text("交付申請")
    assert_accessible(applicant)

    # 5. The public list: not there before staff publish it, then read by a visitor.
    visitor = new_page()
    response = visitor.goto(f"{base}/calls/{SLUG}/adopted/")
    assert response is not None and response.status == 404
    page.goto(base + decisions_path)
    publish = page.get_by_role("region", name="採択事業一覧の公表")
    publish.get_by_role("checkbox").check()
    publish.get_by_role("button", name="採択事業一覧を公表する").click()
    expect(status_message(page, "採択事業一覧の公表状況を更新しました。")).to_be_visible()
    expect(publish).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日（.）\d{2}:\d{2}に公表しました。"))
    expect(publish.get_by_role("button", name="公表を取り下げる")).to_be_visible()
    assert_accessible(page)
    with page.expect_navigation():
        publish.get_by_role("link", name="公表ページを見る").click()
    expect(page).to_have_url(f"{base}/calls/{SLUG}/adopted/")

    visitor.goto(f"{base}/calls/{SLUG}/adopted/")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("採択事業一覧")
    expect(visitor.get_by_role("button", name="ログアウト")).to_have_count(0)
    expect(visitor.get_by_role("table", name=f"採択事業：{len(adopted)}件")).to_be_visible()
    public_rows = visitor.get_by_test_id("adopted-row")
    expect(public_rows).to_have_count(len(adopted))
    for public_row, application in zip(public_rows.all(), adopted, strict=True):
        expect(public_row).to_contain_text(application.organisation.name_with_prefecture)
        expect(public_row).to_contain_text(application.title)
    for application in [refused_one, left_out]:
        expect(visitor.get_by_role("main")).not_to_contain_text(application.title)
    assert_accessible(visitor)

    # 6. The audit trail: every decision in words, by whom, with the outcome; filtered by kind.
    page.goto(base + decisions_path)
    page.get_by_role("link", name="操作履歴").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("操作履歴")
    page.get_by_label("種類").select_option("decision")
    page.get_by_role("button", name="表示する", exact=True).click()
    entries = page.get_by_test_id("audit-row")
    expect(entries).to_have_count(len(decided))
    assert_accessible(page)
    for application in decided:
        # The object is named as the audit trail recorded it (str(application)).
        entry = entries.filter(
            has_text=re.compile(f"{re.escape(application.receipt_number)}|{re.escape(application.title)}")
        )
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(STAFF)
        expect(entry).to_contain_text("採択" if application in adopted else "不採択")
    for action in ("notices_prepared", "adoptions_published"):
        page.goto(f"{base}/staff/calls/{SLUG}/audit/?action={action}")
        expect(page.get_by_test_id("audit-row")).to_have_count(1)
    # (The demo's practice-awards call has decisions of its own: this call's are counted.)
    decisions = AuditEntry.objects.filter(action="decision", object_type="applications.Application", call_id=call.pk)
    assert decisions.count() == len(decided)
    csv_response = page.request.get(f"{base}/staff/calls/{SLUG}/audit/?format=csv&action=decision")
    assert csv_response.body().startswith("\ufeff".encode())
    assert len(list(csv.reader(io.StringIO(csv_response.text().removeprefix("\ufeff"))))) == len(decided) + 1
