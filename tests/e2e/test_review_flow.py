"""The review, in the browser, in Japanese.

Staff open the review of a closed call and assign reviewers automatically; one reviewer declares
no conflict of interest, reads the application and submits scores; another declares a conflict and
loses the application (its pages answer 404); staff fill the gap, read the ranking (filter, CSV with
a BOM) and share the scores, after which the first reviewer sees the other reviewer's scores.
Reviewers and staff log in with a password and a TOTP code (allauth.mfa).
"""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import ApplicationStatus
from calls.models import Call
from grants.demo.loader import seed_demo
from kodoku_portal.jp import JST, format_date, format_datetime
from reviews import services
from reviews.models import Assignment, AssignmentStatus, ReviewPhase
from tests.e2e.axe import assert_accessible
from tests.e2e.helpers import answer_project_questions, ask_project_questions, totp_secret
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, ThemeFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db(transaction=True)

DEMO_PASSWORD = "kodoku-demo-2025"
STAFF = "staff@example.jp"
DEMO_REVIEWER_NAMES = ["審査 一郎", "審査 二郎", "審査 三子"]  # seed_demo's reviewers, not used on our call
SLUG = "review-e2e"
DUE = dt.datetime(2030, 1, 31, 17, 0, tzinfo=JST)
CRITERIA = [
    "先駆性",
    "地域の多様な主体との連携",
    "実現可能性・実施体制",
    "継続性・波及性（全国展開）",
    "予算の妥当性",
]  # services.DEFAULT_RUBRIC, the rubric a new review round starts with
# (organisation, prefecture code, prefecture, project name, summary)
APPLICATIONS = [
    (
        "特定非営利活動法人 みなとの縁側",
        "13",
        "東京都",
        "港町の縁側カフェ事業",
        "商店街の空き店舗に誰でも立ち寄れる縁側をつくる。",
    ),
    (
        "特定非営利活動法人 なにわ長屋の会",
        "27",
        "大阪府",
        "長屋の夕ごはん食堂",
        "一人暮らしの高齢者と若者が夕食を囲む食堂を開く。",
    ),
    (
        "一般社団法人 北のひだまり",
        "01",
        "北海道",
        "冬のひだまりサロン",
        "雪で外出しにくい冬に、送迎つきのサロンを開く。",
    ),
]

# Messages and labels of the Japanese catalogue (locale/ja/LC_MESSAGES/django.po).
CONFLICT_RETURNED = "申告ありがとうございました。この申請は事務局に返却され、今後は表示されません。"
RAW_BASIS = (
    "審査委員の加重合計（0〜100）の素点の平均で順位付けしています。比較のため、補正後の平均も併せて表示しています。"
)
CALIBRATED_BASIS = re.compile(r"^補正後の平均で順位付けしています。")


# --- helpers ------------------------------------------------------------------------------------


def log_in(page: Page, base: str, email: str, next_path: str, *, password: str = DEMO_PASSWORD) -> None:
    """Password, then the TOTP code of the current 30-second window (allauth.mfa)."""
    secret = totp_secret(email)
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(password)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("多要素認証")
    # allauth accepts only the current window's code: if the window turns between computing the
    # code and posting it, the code is refused and the next window's code is typed.
    for _attempt in range(2):
        code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
        page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(code)
        with page.expect_navigation():
            page.get_by_role("main").get_by_role("button", name="ログイン").click()
        if not page.url.endswith("/accounts/2fa/authenticate/"):
            break
    expect(page).to_have_url(base + next_path)
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def status_message(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


def make_reviewer(email: str, name: str):
    user = UserFactory(email=email, full_name=name, role=Role.REVIEWER)
    enable_totp(user)
    return user


def closed_call_with_submissions():
    """A closed call with three submitted applications, no assignments, the review being prepared.
    The call's form asks the project questions (事業の内容); each application's 目的 is its summary."""
    call = CallFactory(slug=SLUG, title="審査テスト公募", receipt_prefix="REV")
    ask_project_questions(call)
    theme = ThemeFactory(call=call, number=1)
    applications = []
    for i, (name, code, _prefecture, title, summary) in enumerate(APPLICATIONS, start=1):
        application = ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(name=name, prefecture=code),
            theme=theme,
            title=title,
            summary=summary,
        )
        answer_project_questions(application, now=call.opens_at, purpose=summary)  # while the call was open
        application.refresh_from_db()
        application.status = ApplicationStatus.SUBMITTED
        application.receipt_number = f"REV-{i:04d}"
        application.submitted_at = timezone.now() - dt.timedelta(days=30)
        application.save(update_fields=["status", "receipt_number", "submitted_at"])
        applications.append(application)
    services.review_round_for(call=call)  # the default rubric, phase "setup"
    return call, applications


def auto_assign(page: Page, names: list[str], *, due: str = "") -> None:
    auto = page.get_by_role("region", name="自動で割り当てる")
    choices = auto.get_by_role("group", name=re.compile(r"^\s*割り当てる審査委員\*?\s*$"))
    for name in DEMO_REVIEWER_NAMES + names:
        choices.get_by_role("checkbox", name=name, exact=True).set_checked(name in names)
    if due:
        auto.get_by_label("期限").fill(due)
    auto.get_by_role("button", name="自動で割り当てる").click()


def reviewers_cell(page: Page, receipt_number: str):
    """The list of reviewers in an application's row of the assignments table."""
    table = page.get_by_role("table", name="提出された申請と担当の審査委員")
    row = table.get_by_role("row").filter(has=page.get_by_role("cell", name=receipt_number, exact=True))
    return row.get_by_role("listitem")


def load_item(page: Page, name: str):
    return (
        page.locator("h2:text-is('審査委員ごとの担当件数') + ul")
        .get_by_role("listitem")
        .filter(has_text=re.compile(rf"^{name}: \d+$"))
    )


def submit_scores(assignment: Assignment, value: int) -> None:
    """A reviewer's review made through the services (the browser part is tested once, for A)."""
    services.assignment_declare(assignment=assignment, has_conflict=False)
    criteria = assignment.application.call.criteria.all()
    services.review_save(
        assignment=assignment,
        scores={c.pk: value for c in criteria},
        comment_to_staff="サービスから入れた所見",
        comment_to_applicant="",
        submit=True,
    )


# --- the walk -------------------------------------------------------------------------------------


def test_assign_declare_score_return_rank_and_share(page: Page, live_server, new_page, tmp_path):
    seed_demo()
    base = live_server.url
    call, applications = closed_call_with_submissions()
    a = make_reviewer("reviewer-a@example.jp", "審査 春子")
    b = make_reviewer("reviewer-b@example.jp", "審査 夏男")
    c = make_reviewer("reviewer-c@example.jp", "審査 秋子")
    names = [a.full_name, b.full_name, c.full_name]
    staff_path = f"/staff/calls/{SLUG}/review/"

    # 1. Staff start the review (phase), then assign automatically, two reviewers per application.
    log_in(page, base, STAFF, staff_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("審査の設定")
    expect(page.get_by_test_id("phase")).to_have_text("準備中（審査項目を編集可）")
    assert_accessible(page)
    page.get_by_role("button", name="「審査中」に移行する").click()
    expect(status_message(page, "審査の段階を変更しました。")).to_be_visible()
    expect(page.get_by_test_id("phase")).to_have_text("審査中")

    page.get_by_role("link", name="審査委員の割当て").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("審査委員の割当て")
    expect(page.get_by_text("各申請に審査委員を2人ずつ割り当てます。")).to_be_visible()
    assert_accessible(page)
    for i in range(1, 4):
        expect(reviewers_cell(page, f"REV-{i:04d}")).to_have_text(["—"])
    auto_assign(page, names, due="2030-01-31T17:00")
    expect(status_message(page, "6件の割当てを行いました。")).to_be_visible()
    for name in names:
        expect(load_item(page, name)).to_have_text(f"{name}: 2")
    for name in DEMO_REVIEWER_NAMES:
        expect(load_item(page, name)).to_have_text(f"{name}: 0")
    due_date = format_date(DUE, "ja")
    for i in range(1, 4):
        cell = reviewers_cell(page, f"REV-{i:04d}")
        expect(cell).to_have_count(2)
        for item in cell.all():
            expect(item).to_contain_text(f"— 利害関係の申告待ち ({due_date})")
    assert Assignment.objects.filter(application__call=call).count() == 6
    assert all(x.due_at == DUE for x in Assignment.objects.filter(application__call=call))

    # With 3 reviewers, 3 applications and k = 2, A and B share exactly one application.
    shared = next(
        app for app in applications if set(app.assignments.values_list("reviewer_id", flat=True)) == {a.pk, b.pk}
    )
    a_assignment = Assignment.objects.get(application=shared, reviewer=a)
    b_assignment = Assignment.objects.get(application=shared, reviewer=b)

    # 2. Reviewer A: the list with due dates; declares no conflict, reads, scores, submits.
    reviewer_a = new_page()
    log_in(reviewer_a, base, a.email, "/reviews/", password=FACTORY_PASSWORD)
    expect(reviewer_a.get_by_role("heading", level=1)).to_have_text("担当する審査")
    mine = reviewer_a.get_by_role("table", name="担当する申請")
    expect(mine.get_by_role("columnheader")).to_have_text(["公募", "団体", "事業名", "期限", "状態", "操作"])
    rows = mine.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_contain_text(format_datetime(DUE, "ja"))
        expect(row).to_contain_text("利害関係の申告が必要")
        expect(row).to_contain_text("審査テスト公募")
    assert_accessible(reviewer_a)
    reviewer_a.get_by_role("link", name=f"申告する {shared.title}").click()
    expect(reviewer_a).to_have_url(f"{base}/reviews/assignments/{a_assignment.pk}/declare/")
    expect(reviewer_a.get_by_role("heading", level=1)).to_have_text("利害関係の有無を申告してください")
    expect(reviewer_a.get_by_test_id("organisation")).to_have_text(
        f"{shared.organisation.name}（{APPLICATIONS[applications.index(shared)][2]}）"
    )
    expect(reviewer_a.get_by_text(shared.summary)).to_have_count(0)  # not shown before the declaration
    assert_accessible(reviewer_a)
    question = reviewer_a.get_by_role("group", name=re.compile("この団体または事業との間に利害関係がありますか。"))
    question.get_by_role("radio", name="いいえ、利害関係はありません").check()
    reviewer_a.get_by_role("button", name="申告する").click()

    expect(reviewer_a).to_have_url(f"{base}/reviews/assignments/{a_assignment.pk}/")
    expect(reviewer_a.get_by_role("heading", level=1)).to_have_text(shared.title)
    expect(reviewer_a.get_by_role("heading", name="申請内容")).to_be_visible()
    expect(reviewer_a.get_by_text(shared.summary).first).to_be_visible()
    project = reviewer_a.get_by_role("region", name="事業の内容")  # the call's project questions
    expect(project.get_by_role("term").first).to_have_text("目的")
    expect(project.get_by_role("definition").first).to_have_text(shared.summary)
    expect(reviewer_a.get_by_role("main")).to_contain_text(f"期限: {format_datetime(DUE, 'ja')}")
    expect(reviewer_a.get_by_test_id("review-status")).to_have_text("未着手")
    assert_accessible(reviewer_a)
    scores = reviewer_a.get_by_role("form", name="あなたの採点")
    for criterion in CRITERIA:
        scores.get_by_role("combobox", name=criterion, exact=True).select_option("4")
    scores.get_by_label("事務局への所見").fill("連携先が具体的で、実現可能性が高い。")
    scores.get_by_role("button", name="審査結果を提出する").click()
    expect(status_message(reviewer_a, "審査結果を提出しました。")).to_be_visible()
    expect(reviewer_a.get_by_test_id("review-status")).to_have_text("提出済")
    expect(reviewer_a.get_by_role("button", name="審査結果を提出する")).to_have_count(0)
    expect(reviewer_a.get_by_role("button", name="審査を再開する")).to_be_visible()
    assert_accessible(reviewer_a)
    given = reviewer_a.locator("dl").filter(has=reviewer_a.get_by_role("term").filter(has_text=CRITERIA[0]))
    expect(given.get_by_role("term")).to_have_text(CRITERIA)
    expect(given.get_by_role("definition")).to_have_text(["4"] * len(CRITERIA))
    reviewer_a.get_by_role("navigation", name="パンくずリスト").get_by_role("link", name="担当する審査").click()
    done = rows.filter(has_text=shared.title)
    expect(done).to_contain_text("提出済")
    expect(done.get_by_role("link", name=f"開く {shared.title}")).to_be_visible()

    # 3. Reviewer B declares a conflict on the same application: it is gone, its pages are 404.
    reviewer_b = new_page()
    log_in(reviewer_b, base, b.email, "/reviews/", password=FACTORY_PASSWORD)
    b_rows = reviewer_b.get_by_role("table", name="担当する申請").locator("tbody").get_by_role("row")
    expect(b_rows).to_have_count(2)
    reviewer_b.get_by_role("link", name=f"申告する {shared.title}").click()
    expect(reviewer_b.get_by_role("heading", level=1)).to_have_text("利害関係の有無を申告してください")
    question = reviewer_b.get_by_role("group", name=re.compile("この団体または事業との間に利害関係がありますか。"))
    question.get_by_role("radio", name="はい、利害関係があります").check()
    reviewer_b.get_by_label("利害関係の内容（ある場合）").fill("この団体の理事を務めているため")
    reviewer_b.get_by_role("button", name="申告する").click()
    expect(reviewer_b).to_have_url(f"{base}/reviews/")
    expect(status_message(reviewer_b, CONFLICT_RETURNED)).to_be_visible()
    assert_accessible(reviewer_b)
    expect(b_rows).to_have_count(1)
    expect(reviewer_b.get_by_role("table", name="担当する申請")).not_to_contain_text(shared.title)
    for path in (f"/reviews/assignments/{b_assignment.pk}/", f"/reviews/assignments/{b_assignment.pk}/declare/"):
        response = reviewer_b.goto(base + path)
        assert response is not None and response.status == 404, path
        expect(reviewer_b.get_by_text(shared.title)).to_have_count(0)
    b_assignment.refresh_from_db()
    assert b_assignment.status == AssignmentStatus.CONFLICT
    assert b_assignment.conflict_reason == "この団体の理事を務めているため"

    # 4. Staff see the returned assignment and assign again: C fills the gap, B is never chosen.
    page.reload()
    shared_cell = reviewers_cell(page, shared.receipt_number)
    expect(shared_cell.filter(has_text=b.full_name)).to_contain_text("— 返却（利害関係あり）")
    expect(shared_cell.filter(has_text=a.full_name)).to_contain_text("— 利害関係なし（申告済） ✓")
    expect(load_item(page, b.full_name)).to_have_text(f"{b.full_name}: 1")
    auto_assign(page, names)
    expect(status_message(page, "1件の割当てを行いました。")).to_be_visible()
    expect(shared_cell).to_have_count(3)
    assert_accessible(page)
    expect(shared_cell.filter(has_text=c.full_name)).to_contain_text("— 利害関係の申告待ち")
    expect(load_item(page, a.full_name)).to_have_text(f"{a.full_name}: 2")
    expect(load_item(page, b.full_name)).to_have_text(f"{b.full_name}: 1")
    expect(load_item(page, c.full_name)).to_have_text(f"{c.full_name}: 3")

    # C scores all three: 2 (40.0) on the shared one, 5 and 1 on the two others.
    others = [app for app in applications if app != shared]
    c_scores = {shared.pk: 2, others[0].pk: 5, others[1].pk: 1}
    for assignment in Assignment.objects.filter(reviewer=c).select_related("application__call"):
        submit_scores(assignment, c_scores[assignment.application_id])

    # 5. The ranking: raw mean in use, scores, a prefecture filter, the CSV with its BOM.
    page.get_by_role("link", name="順位表").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("順位表")
    expect(page.get_by_test_id("ranking-basis")).to_have_text(RAW_BASIS)
    ranking = page.get_by_role("table", name="点数順の申請一覧")
    expect(ranking.get_by_role("columnheader")).to_have_text(
        ["順位", "受付番号", "団体", "テーマ", "素点の平均 ★順位の基準", "補正後の平均", "ばらつき", "審査済み"]
    )
    ranking_rows = ranking.get_by_test_id("ranking-row")
    expect(ranking_rows).to_have_count(3)
    assert_accessible(page)
    expected = [
        (others[0], "100.0", "0.0", "1 / 2"),
        (shared, "60.0", "20.0", "2 / 2"),
        (others[1], "20.0", "0.0", "1 / 2"),
    ]
    for position, (row, (app, raw, spread, done)) in enumerate(zip(ranking_rows.all(), expected, strict=True), 1):
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(str(position))
        expect(cells.nth(1)).to_have_text(app.receipt_number)
        expect(cells.nth(2)).to_contain_text(app.title)
        expect(cells.nth(4)).to_have_text(raw)
        expect(cells.nth(5)).to_have_text(re.compile(r"^\d{1,3}\.\d$"))
        expect(cells.nth(6)).to_have_text(spread)
        expect(cells.nth(7)).to_have_text(done)

    osaka = next(app for app in applications if app.organisation.prefecture == "27")
    page.get_by_label("都道府県").select_option(label="大阪府")
    page.get_by_role("button", name="適用する").click()
    expect(page).to_have_url(re.compile(r"[?&]prefecture=27(&|$)"))
    expect(ranking_rows).to_have_count(1)
    expect(ranking_rows.get_by_role("cell").nth(1)).to_have_text(osaka.receipt_number)
    expect(ranking_rows.get_by_role("cell").nth(2)).to_contain_text(f"{osaka.organisation.name}（大阪府）")
    expect(page.get_by_label("都道府県")).to_have_value("27")
    assert_accessible(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="採点結果（CSV）をダウンロード").click()
    download = download_info.value
    assert download.suggested_filename == f"scores-{SLUG}.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    header, *lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert header == ["受付番号", "団体", "事業名", "審査委員", *CRITERIA, "加重合計（0〜100）", "事務局への所見"]
    assert len(lines) == 4  # A's review, C's three; B returned the application
    assert [
        shared.receipt_number,
        shared.organisation.name,
        shared.title,
        a.email,
        "4",
        "4",
        "4",
        "4",
        "4",
        "80.0",
    ] == (lines[[line[3] for line in lines].index(a.email)][:10])

    # 6. Staff share the scores; A now sees C's scores on the shared application.
    page.get_by_role("link", name="審査の設定").click()
    page.get_by_role("button", name="「審査中（審査委員間で点数を共有）」に移行する").click()
    expect(status_message(page, "審査の段階を変更しました。")).to_be_visible()
    expect(page.get_by_test_id("phase")).to_have_text("審査中（審査委員間で点数を共有）")

    reviewer_a.get_by_role("link", name=f"開く {shared.title}").click()
    expect(reviewer_a.get_by_role("heading", level=1)).to_have_text(shared.title)
    expect(reviewer_a.get_by_role("heading", name="他の審査委員の採点")).to_be_visible()
    other = reviewer_a.locator(".card").filter(has_text=c.full_name)
    expect(other.get_by_role("listitem")).to_have_text([f"{criterion}: 2" for criterion in CRITERIA])
    expect(reviewer_a.get_by_role("main")).not_to_contain_text(b.full_name)
    assert_accessible(reviewer_a)


# --- small ones ---------------------------------------------------------------------------------------


def test_scores_are_hidden_from_other_reviewers_until_shared(page: Page, live_server):
    """On the practice call (phase "reviewing"), reviewer2 sees no one else's scores."""
    seed_demo()
    base = live_server.url
    reviewer2 = get_user_model().objects.get(email="reviewer2@example.jp")
    assignment = Assignment.objects.filter(reviewer=reviewer2, review__status="submitted").first()
    log_in(page, base, reviewer2.email, f"/reviews/assignments/{assignment.pk}/")
    expect(page.get_by_test_id("review-status")).to_have_text("提出済")
    expect(page.get_by_role("heading", name="他の審査委員の採点")).to_have_count(0)
    expect(page.get_by_role("main")).not_to_contain_text("審査 三子")
    assert_accessible(page)


def test_staff_switch_the_ranking_to_calibrated_scores(page: Page, live_server):
    """The practice call's seeded reviews: the ranking says which score it uses, and follows the switch."""
    seed_demo()
    base = live_server.url
    log_in(page, base, STAFF, "/staff/calls/practice/review/ranking/")
    expect(page.get_by_test_id("ranking-basis")).to_have_text(RAW_BASIS)
    ranking = page.get_by_role("table", name="点数順の申請一覧")
    expect(ranking.get_by_test_id("ranking-row")).to_have_count(6)
    expect(ranking.get_by_role("columnheader", name="素点の平均 ★")).to_be_visible()

    page.get_by_role("link", name="審査の設定").click()
    settings = page.get_by_role("region", name="審査ラウンド")
    settings.get_by_role("checkbox", name="補正後の点数で順位付けする").check()
    settings.get_by_role("button", name="保存する").click()
    expect(status_message(page, "審査の設定を保存しました。")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="順位表").click()
    expect(page.get_by_test_id("ranking-basis")).to_have_text(CALIBRATED_BASIS)
    expect(ranking.get_by_role("columnheader", name="補正後の平均 ★")).to_be_visible()
    calibrated = [float(t) for t in ranking.get_by_test_id("ranking-row").locator("td:nth-child(6)").all_inner_texts()]
    assert calibrated == sorted(calibrated, reverse=True)
    review_round = services.review_round_for(call=Call.objects.get(slug="practice"))
    assert review_round.use_calibration
    assert review_round.phase == ReviewPhase.REVIEWING
