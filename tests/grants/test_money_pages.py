"""The money pages: the section of the award page for each side, the forms' views (who may post,
what a refusal shows), and the finance office's payments list with its CSV and XLSX."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from applications.models import MemberRole, Membership
from grants import money_steps
from grants.models import (
    AccountType,
    AwardStatus,
    BudgetVersion,
    CostVerdict,
    GrantApplication,
    GrantApplicationStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
)
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import award_at
from tests.grants.test_money_services import ALL_ELIGIBLE, confirmed_with_overpayment, final_report, paid

pytestmark = pytest.mark.django_db

TODAY = money_steps.today


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def accepted_filing(case, *, number=1, bank_code="0005", branch_code="012", account_number="0012345"):
    version = BudgetVersion.objects.create(award=case.award, number=10 + number)
    return GrantApplication.objects.create(
        award=case.award,
        number=number,
        status=GrantApplicationStatus.ACCEPTED,
        budget=version,
        amount=1_500_000,
        project_start=dt.date(2025, 7, 1),
        project_end=dt.date(2026, 2, 28),
        responsible_name="山田 花子",
        bank_name="三菱ＵＦＪ銀行",
        bank_code=bank_code,
        branch_name="本店",
        branch_code=branch_code,
        account_type=AccountType.ORDINARY,
        account_number=account_number,
        account_holder_kana="ﾄｸﾋ) ｻﾝﾌﾟﾙ",
        submitted_by=case.member,
        submitted_at=timezone.now(),
    )


def reviewer():
    user = UserFactory(role=Role.REVIEWER)
    enable_totp(user)
    return user


def stranger_member():
    """A member of another organisation (with an award of its own)."""
    return award_at(AwardStatus.GRANTED).member


# --- the section on the award page ----------------------------------------------------------------


def test_the_organisation_sees_the_room_left_and_the_request_form(client):
    case = award_at(AwardStatus.GRANTED)
    money_steps.advance_request(award=case.award, amount=400_000, reason="前払", by=case.member)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/")
    section = response.context["sections"]["money"]
    assert section["advance_room"] == 1_100_000 and "advance_form" in section
    assert 'data-testid="advance-form"' in response.content.decode()
    assert 'data-testid="approve-form"' not in response.content.decode()


def test_no_request_form_where_the_call_makes_no_advances(client):
    case = award_at(AwardStatus.GRANTED, advance_payments=False)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/")
    assert "advance_form" not in response.context["sections"]["money"]


def test_the_section_stays_hidden_before_the_grant_decision(client):
    case = award_at(AwardStatus.ADOPTED)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/")
    assert response.context["sections"]["money"] == {"visible": False}
    assert 'data-testid="money-section"' not in response.content.decode()


def test_the_member_requests_an_advance_and_staff_approve_and_pay_it(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.post(
        f"/applications/{case.application.pk}/award/advances/", {"amount": "３００，０００", "reason": "講師謝金"}
    )
    assert response.status_code == 302 and response.url == f"/applications/{case.application.pk}/award/"
    payment = Payment.objects.get(award=case.award)
    assert (payment.amount, payment.status) == (300_000, PaymentStatus.REQUESTED)

    client.force_login(case.staff)
    page = client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    assert 'data-testid="approve-form"' in page and 'data-testid="refuse-form"' in page
    day = TODAY() + dt.timedelta(days=5)
    response = client.post(
        f"/staff/awards/{case.award.pk}/payments/{payment.pk}/approve/", {f"p{payment.pk}-scheduled_on": day}
    )
    assert response.status_code == 302 and response.url == f"/staff/awards/{case.award.pk}/"
    payment.refresh_from_db()
    assert (payment.status, payment.scheduled_on) == (PaymentStatus.APPROVED, day)
    response = client.post(
        f"/staff/awards/{case.award.pk}/payments/{payment.pk}/paid/", {f"p{payment.pk}-paid_on": TODAY()}
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


def test_one_yen_over_is_a_message_not_a_500(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    with translation.override("en"):
        response = client.post(
            f"/applications/{case.application.pk}/award/advances/",
            {"amount": "1,500,001", "reason": "全額"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 302
    assert not Payment.objects.filter(award=case.award).exists()
    [message] = texts(response)
    assert "1,500,001" in message and "1,500,000" in message


def test_a_second_decision_by_another_staff_member_is_a_message(client):
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    money_steps.advance_approve(payment=payment, scheduled_on=TODAY(), by=case.staff)
    second = UserFactory(role=Role.STAFF)
    enable_totp(second)
    client.force_login(second)
    response = client.post(
        f"/staff/awards/{case.award.pk}/payments/{payment.pk}/refuse/", {f"p{payment.pk}-reason": "遅れて"}
    )
    assert response.status_code == 302
    assert len(texts(response)) == 1 and case.staff.email in texts(response)[0]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.APPROVED


def test_the_confirmation_form_shows_the_three_terms_and_confirms(client):
    case = award_at(AwardStatus.REPORT_ACCEPTED, confirm_by_line=True, subsidy_rate_percent=80)
    final_report(case, ALL_ELIGIBLE)
    client.force_login(case.staff)
    response = client.get(f"/staff/awards/{case.award.pk}/")
    terms = response.context["sections"]["money"]["terms"]
    assert (terms.granted, terms.by_rate, terms.by_line, terms.proposal) == (1_500_000, 1_200_000, 1_200_000, 1_200_000)
    page = response.content.decode()
    assert 'data-testid="confirm-terms"' in page and 'data-testid="confirm-form"' in page
    assert "1,200,000" in page and "1,500,000" in page
    url = f"/staff/awards/{case.award.pk}/confirm/"
    response = client.post(url, {"amount": "1,200,001", "scheduled_on": "", "confirm": "1"})
    assert response.status_code == 302
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORT_ACCEPTED
    refusal = " ".join(texts(response))
    assert "1,200,001" in refusal and "1,500,000" in refusal and "1,200,000" in refusal
    response = client.post(url, {"amount": "", "scheduled_on": "", "confirm": "1"})
    case.award.refresh_from_db()
    assert (case.award.status, case.award.confirmed_amount) == (AwardStatus.CONFIRMED, 1_200_000)
    page = client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    assert 'data-testid="paid-form"' in page  # the settlement to record as paid


def test_the_member_sees_no_staff_forms_at_confirmation(client):
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    client.force_login(case.member)
    section = client.get(f"/applications/{case.application.pk}/award/").context["sections"]["money"]
    assert "confirm_form" not in section


def test_an_open_advance_blocks_the_confirmation_form(client):
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(case, ALL_ELIGIBLE)
    money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    client.force_login(case.staff)
    page = client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    assert 'data-testid="open-advances"' in page and 'data-testid="confirm-form"' not in page


def test_refund_order_and_receipt_through_the_page(client):
    case = confirmed_with_overpayment()
    client.force_login(case.staff)
    page = client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    assert 'data-testid="refund-order-form"' in page
    response = client.post(f"/staff/awards/{case.award.pk}/refund/", {"due_on": TODAY() + dt.timedelta(days=20)})
    assert response.status_code == 302
    refund = Refund.objects.get(award=case.award)
    Refund.objects.filter(pk=refund.pk).update(ordered_on=dt.date(2026, 4, 1), due_on=dt.date(2026, 4, 21))
    # the member sees the due date and the charges as of today
    client.force_login(case.member)
    page = client.get(f"/applications/{case.application.pk}/award/").content.decode()
    assert 'data-testid="refund-due"' in page and 'data-testid="total-today"' in page
    assert 'data-testid="receipt-form"' not in page
    # staff compute the charges for a given day, then record the money
    client.force_login(case.staff)
    response = client.get(f"/staff/awards/{case.award.pk}/?money_on=2026-05-01")
    preview = response.context["sections"]["money"]["refund_preview"]
    # an overpayment after 額の確定 (article 18(2)): 延滞金 only (10 days × 90 yen), no 加算金
    assert (preview.on, preview.additional_charge, preview.total) == (dt.date(2026, 5, 1), 0, 300_900)
    page = response.content.decode()
    assert "300,900" in page
    assert 'data-testid="refund-cause"' in page
    response = client.post(
        f"/staff/awards/{case.award.pk}/refund/receipt/",
        {"received_on": "2026-05-01", "received_amount": "300,900", "note": ""},
    )
    assert response.status_code == 302
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.CLOSED


# --- who may post -------------------------------------------------------------------------------


def _staff_posts(case, payment):
    return [
        (f"/staff/awards/{case.award.pk}/payments/{payment.pk}/approve/", {f"p{payment.pk}-scheduled_on": TODAY()}),
        (f"/staff/awards/{case.award.pk}/payments/{payment.pk}/refuse/", {f"p{payment.pk}-reason": "理由"}),
        (f"/staff/awards/{case.award.pk}/payments/{payment.pk}/paid/", {f"p{payment.pk}-paid_on": TODAY()}),
        (f"/staff/awards/{case.award.pk}/confirm/", {"amount": "", "confirm": "1"}),
        (f"/staff/awards/{case.award.pk}/refund/", {"due_on": ""}),
        (f"/staff/awards/{case.award.pk}/refund/receipt/", {"received_on": TODAY(), "received_amount": "1"}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "member", "other_member", "reviewer"])
def test_only_staff_reach_the_staff_views(client, who):
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    user = {"anonymous": None, "member": case.member, "other_member": stranger_member(), "reviewer": reviewer()}[who]
    if user is not None:
        client.force_login(user)
    for url, data in [*_staff_posts(case, payment), ("/staff/payments/", None), ("/staff/payments.csv", None)]:
        response = client.post(url, data) if data is not None else client.get(url)
        if user is None:
            assert response.status_code == 302 and "/login/" in response.url, url
        else:
            assert response.status_code == 403, url
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUESTED


def test_staff_views_take_no_get(client):
    case = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=case.award, amount=1, reason="前払", by=case.member)
    client.force_login(case.staff)
    for url, _data in _staff_posts(case, payment):
        assert client.get(url).status_code == 405, url


def test_a_payment_of_another_award_is_not_found(client):
    case = award_at(AwardStatus.GRANTED)
    other = award_at(AwardStatus.GRANTED)
    payment = money_steps.advance_request(award=other.award, amount=1, reason="前払", by=other.member)
    client.force_login(case.staff)
    response = client.post(
        f"/staff/awards/{case.award.pk}/payments/{payment.pk}/approve/", {f"p{payment.pk}-scheduled_on": TODAY()}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "other_member", "reviewer", "staff"])
def test_only_the_organisation_requests_an_advance(client, who):
    case = award_at(AwardStatus.GRANTED)
    user = {"anonymous": None, "other_member": stranger_member(), "reviewer": reviewer(), "staff": case.staff}[who]
    if user is not None:
        client.force_login(user)
    response = client.post(f"/applications/{case.application.pk}/award/advances/", {"amount": "1", "reason": "前払"})
    expected = {"anonymous": 302, "other_member": 404, "reviewer": 403, "staff": 403}[who]
    assert response.status_code == expected
    assert not Payment.objects.filter(award=case.award).exists()


def test_a_member_without_the_disclosure_cannot_request(client):
    case = award_at(AwardStatus.GRANTED)
    case.application.decision_disclosed_at = None
    case.application.save(update_fields=["decision_disclosed_at"])
    client.force_login(case.member)
    response = client.post(f"/applications/{case.application.pk}/award/advances/", {"amount": "1", "reason": "前払"})
    assert response.status_code == 404


def test_a_second_member_of_the_organisation_may_request(client):
    case = award_at(AwardStatus.GRANTED)
    colleague = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=case.application.organisation, user=colleague, role=MemberRole.EDITOR)
    client.force_login(colleague)
    client.post(f"/applications/{case.application.pk}/award/advances/", {"amount": "1", "reason": "前払"})
    assert Payment.objects.filter(award=case.award, requested_by=colleague).exists()


# --- the payments list ------------------------------------------------------------------------------


@pytest.fixture
def listed():
    """Two awards: one with an accepted 交付申請 (bank codes with leading zeros), an advance paid and
    a settlement scheduled; one without a 交付申請 (no account: "—") with a refund ordered."""
    first = award_at(AwardStatus.GRANTED)
    first.application.organisation.name = "=HYPERLINK(1)"
    first.application.organisation.save(update_fields=["name"])
    accepted_filing(first)
    paid(first, 500_000, dt.date(2025, 8, 1))
    Payment.objects.create(
        award=first.award,
        kind=PaymentKind.SETTLEMENT,
        status=PaymentStatus.APPROVED,
        amount=1_000_000,
        scheduled_on=dt.date(2026, 5, 31),
    )
    second = confirmed_with_overpayment(grant_application_step=False)
    money_steps.refund_order(award=second.award, due_on=TODAY() + dt.timedelta(days=30), by=second.staff)
    return first, second


def test_the_payments_page_lists_payments_and_refunds(client, listed):
    first, second = listed
    client.force_login(first.staff)
    response = client.get("/staff/payments/")
    assert response.status_code == 200
    rows = [row for row, _kind, _status in response.context["rows"]]
    assert {(row.receipt_number, row.kind, row.amount) for row in rows} == {
        (first.application.receipt_number, "advance", 500_000),
        (first.application.receipt_number, "settlement", 1_000_000),
        (second.application.receipt_number, "advance", 700_000),
        (second.application.receipt_number, "advance", 500_000),
        (second.application.receipt_number, "refund", 300_000),
    }
    page = response.content.decode()
    assert "三菱ＵＦＪ銀行（0005）" in page and "0012345" in page
    refund_row = next(row for row in rows if row.kind == "refund")
    assert (refund_row.scheduled_on, refund_row.bank_code) == (TODAY() + dt.timedelta(days=30), "")


def test_the_payments_page_filters(client, listed):
    first, second = listed
    client.force_login(first.staff)
    rows = client.get("/staff/payments/?kind=refund").context["rows"]
    assert [row.kind for row, _k, _s in rows] == ["refund"]
    rows = client.get("/staff/payments/?status=approved").context["rows"]
    assert [(row.kind, row.amount) for row, _k, _s in rows] == [("settlement", 1_000_000)]
    rows = client.get(f"/staff/payments/?call={second.call.pk}").context["rows"]
    assert {row.receipt_number for row, _k, _s in rows} == {second.application.receipt_number}


def test_the_payments_csv_has_a_bom_text_codes_and_the_formula_guard(client, listed):
    first, _second = listed
    client.force_login(first.staff)
    response = client.get("/staff/payments.csv?kind=advance")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff公募,受付番号,支払先（団体名）,金融機関名,金融機関コード")
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    header, rows = table[0], table[1:]
    assert len(rows) == 3
    mine = next(row for row in rows if row[1] == first.application.receipt_number)
    assert mine[2] == "'=HYPERLINK(1)"
    assert (mine[4], mine[6], mine[8], mine[7]) == ("0005", "012", "0012345", "普通")
    assert (mine[header.index("金額（円）")], mine[header.index("種別")]) == ("500000", "概算")
    assert mine[header.index("支払日・受領日")] == "2025-08-01"
    other = next(row for row in rows if row[1] != first.application.receipt_number)
    assert other[3] == other[4] == other[9] == "—"


def test_the_payments_xlsx_keeps_codes_as_text_and_amounts_as_numbers(client, listed):
    first, _second = listed
    client.force_login(first.staff)
    response = client.get("/staff/payments.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook["支払一覧"]
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["公募", "受付番号", "支払先（団体名）", "金融機関名", "金融機関コード"]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 5
    mine = next(row for row in rows if row[1].value == first.application.receipt_number and row[12].value == "概算")
    for index, value in ((4, "0005"), (6, "012"), (8, "0012345")):
        assert (mine[index].value, mine[index].data_type) == (value, "s")
    assert mine[2].value == "=HYPERLINK(1)" and mine[2].data_type == "s"  # text, never a formula
    amount = mine[header.index("金額（円）")]
    assert (amount.value, amount.data_type) == (500_000, "n")
    refund = next(row for row in rows if row[12].value == "返還")
    assert refund[13].value == "返還命令済" and refund[14].value.date() == TODAY() + dt.timedelta(days=30)


def test_an_unknown_export_format_is_not_found(client, listed):
    client.force_login(listed[0].staff)
    assert client.get("/staff/payments.pdf").status_code == 404


def test_cost_lines_left_pending_count_nothing(client):
    case = award_at(AwardStatus.REPORT_ACCEPTED)
    final_report(
        case, [("rental", 400_000, CostVerdict.PENDING, None), ("travel", 100_000, CostVerdict.ACCEPTED, None)]
    )
    assert money_steps.terms_for(case.award).eligible_total == 100_000
