"""決定の取消 (article 17(1)) and what it orders back (article 18(1)): 加算金 (article 19(1)) only on
such a return, 延滞金 (article 19(2)) on both kinds; the lower ceiling after a partial cancellation;
the 交付決定取消通知書 and the 返還命令書 it issues; a contract; who may cancel; the audit; and two
staff cancelling at once."""

import datetime as dt
import subprocess
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.utils import translation

from grants import money_steps
from grants.letters import letter_email, letter_pdf, letter_render
from grants.models import (
    AwardStatus,
    Letter,
    LetterKind,
    Payment,
    PaymentKind,
    PaymentStatus,
    Refund,
    RefundCause,
)
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.workflow import Refused
from tests.grants.lifecycle import award_at
from tests.grants.test_money_pages import reviewer, stranger_member
from tests.grants.test_money_services import ALL_ELIGIBLE, entries, final_report, other_staff, paid

pytestmark = pytest.mark.django_db

TODAY = money_steps.today
REASON = "補助金を交付目的以外の用途（法人の運営費）に使用したため（法第17条第1項）"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PORTAL_BASE_URL = "https://portal.example.jp"


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


def cancel(case, amount, *, by=None, reason=REASON, due_on=None, cancelled_before=None):
    return money_steps.grant_cancel(
        award=case.award,
        amount=amount,
        reason=reason,
        due_on=due_on,
        cancelled_before=cancelled_before,
        by=by or case.staff,
    )


def backdate(refund, *, ordered_on, due_on):
    """The services order today; the charges are checked for given past days."""
    Refund.objects.filter(pk=refund.pk).update(ordered_on=ordered_on, due_on=due_on)
    refund.refresh_from_db()
    return refund


# --- 18(2) vs 18(1): the charges ---------------------------------------------------------------


def test_an_overpayment_refund_paid_late_bears_late_charge_only_to_the_yen():
    """Article 18(2) (after 額の確定): no 加算金, 延滞金 from the day after the due date."""
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=1_000_000)
    paid(case, 1_234_567, dt.date(2025, 9, 1))
    refund = money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    assert (refund.cause, refund.amount) == (RefundCause.OVERPAYMENT, 234_567)
    refund = backdate(refund, ordered_on=dt.date(2026, 3, 2), due_on=dt.date(2026, 3, 23))
    # 延滞金: 24 March to 30 April 2026 = 8 + 30 = 38 days;
    # 234,567 × 10.95 × 38 / (100 × 365) = 97,604,333.7 / 36,500 = 2,674.09… → 2,674.
    due = money_steps.refund_due(refund, on=dt.date(2026, 4, 30))
    assert (due.additional_charge, due.late_charge, due.total) == (0, 2_674, 237_241)


def test_a_whole_cancellation_after_an_advance_bears_additional_and_late_charges_to_the_yen():
    case = award_at(AwardStatus.GRANTED)  # 1,500,000 granted
    paid(case, 1_000_000, dt.date(2026, 4, 1))  # the advance, received on 1 April 2026
    award = cancel(case, 1_500_000)
    assert award.status == AwardStatus.REFUND_ORDERED
    assert (award.cancelled_amount, award.cancelled_on, award.cancel_reason) == (1_500_000, TODAY(), REASON)
    refund = Refund.objects.get(award=case.award)
    assert (refund.cause, refund.amount, refund.due_on) == (
        RefundCause.CANCELLATION,
        1_000_000,
        TODAY() + dt.timedelta(days=20),
    )
    refund = backdate(refund, ordered_on=dt.date(2026, 6, 1), due_on=dt.date(2026, 6, 21))
    paid_back = dt.date(2026, 7, 1)
    # 加算金 (article 19(1)): from the day of receipt to the day paid back, both counted:
    #   1 April → 1 July 2026 = 30 (April) + 31 (May) + 30 (June) + 1 = 92 days;
    #   1,000,000 × 10.95 × 92 / (100 × 365) = 1,007,400,000 / 36,500 = 27,600.
    # 延滞金 (article 19(2)): from the day after the due date (22 June) to 1 July = 10 days;
    #   1,000,000 × 10.95 × 10 / (100 × 365) = 109,500,000 / 36,500 = 3,000.
    due = money_steps.refund_due(refund, on=paid_back)
    assert (due.amount, due.additional_charge, due.late_charge, due.total) == (1_000_000, 27_600, 3_000, 1_030_600)
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.refund_receive(award=case.award, received_on=paid_back, received_amount=1_000_000, by=case.staff)
    assert "¥1,000,000 to return + 加算金 ¥27,600 + 延滞金 ¥3,000 = ¥1,030,600" in refused.value.message
    refund = money_steps.refund_receive(
        award=case.award, received_on=paid_back, received_amount=1_030_600, by=case.staff
    )
    assert (refund.additional_charge, refund.late_charge) == (27_600, 3_000)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.CLOSED
    [entry] = entries(case.award, "refund_received")
    assert entry.after["cause"] == "cancellation" and entry.after["additional_charge"] == 27_600


def test_a_cancellation_refund_paid_by_the_due_date_bears_additional_charge_only():
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_000_000, dt.date(2026, 4, 1))
    cancel(case, 1_500_000)
    refund = backdate(Refund.objects.get(award=case.award), ordered_on=dt.date(2026, 6, 1), due_on=dt.date(2026, 6, 21))
    # 1 April → 21 June = 30 + 31 + 21 = 82 days: 1,000,000 × 0.0003 × 82 = 24,600
    due = money_steps.refund_due(refund, on=dt.date(2026, 6, 21))
    assert (due.additional_charge, due.late_charge) == (24_600, 0)


def test_the_additional_charge_takes_the_latest_receipts_first():
    """Two advances; the whole grant cancelled: each part counts its own days (the Order)."""
    case = award_at(AwardStatus.GRANTED)
    paid(case, 600_000, dt.date(2026, 3, 2))
    paid(case, 400_000, dt.date(2026, 5, 1))
    cancel(case, 1_500_000)
    refund = Refund.objects.get(award=case.award)
    assert refund.amount == 1_000_000
    refund = backdate(refund, ordered_on=dt.date(2026, 6, 1), due_on=dt.date(2026, 6, 30))
    # 400,000 from 1 May to 30 June = 31 + 30 = 61 days; 600,000 from 2 March to 30 June
    # = 30 + 30 + 31 + 30 = 121 days. (400,000 × 61 + 600,000 × 121) × 10.95 / 36,500
    # = (24,400,000 + 72,600,000) × 0.0003 = 29,100.
    assert money_steps.refund_due(refund, on=dt.date(2026, 6, 30)).additional_charge == 29_100


# --- the steps ---------------------------------------------------------------------------------


def test_a_whole_cancellation_with_nothing_paid_closes_the_award():
    case = award_at(AwardStatus.REPORTED)
    award = cancel(case, 1_500_000)
    assert award.status == AwardStatus.CLOSED
    assert not Refund.objects.filter(award=case.award).exists()
    [letter] = Letter.objects.filter(award=case.award, kind=LetterKind.CANCELLATION)
    assert letter.details["whole"] is True and letter.details["to_return"] == 0
    assert not Letter.objects.filter(award=case.award, kind=LetterKind.REFUND_ORDER).exists()
    [closed] = entries(case.award, "award_closed")
    assert closed.before == {"status": "reported"} and closed.after["cause"] == "grant_cancelled"


def test_a_partial_cancellation_lowers_the_confirmation_ceiling_and_the_advance_room():
    case = award_at(AwardStatus.REPORT_ACCEPTED)  # 1,500,000 granted
    final_report(case, ALL_ELIGIBLE)  # 1,500,000 eligible at 100%
    assert money_steps.terms_for(case.award).proposal == 1_500_000
    assert money_steps.advance_room(case.award) == 1_500_000
    award = cancel(case, 500_000)
    assert award.status == AwardStatus.REPORT_ACCEPTED  # the award keeps its step
    assert money_steps.granted_left(award) == 1_000_000
    terms = money_steps.terms_for(award)
    assert (terms.granted, terms.by_rate, terms.proposal, terms.binding) == (1_000_000, 1_500_000, 1_000_000, "granted")
    assert money_steps.advance_room(award) == 1_000_000
    with pytest.raises(Refused) as refused, translation.override("en"):
        money_steps.advance_request(award=award, amount=1_000_001, reason="前払", by=case.member)
    assert refused.value.code == "over_granted" and "¥1,000,000 granted" in refused.value.message
    with pytest.raises(Refused) as refused:
        money_steps.amount_confirm(award=award, amount=1_000_001, scheduled_on=None, by=case.staff)
    assert refused.value.code == "above_proposal"
    award = money_steps.amount_confirm(award=award, amount=None, scheduled_on=None, by=case.staff)
    assert award.confirmed_amount == 1_000_000
    confirmation = Letter.objects.get(award=case.award, kind=LetterKind.CONFIRMATION)
    assert confirmation.details["granted_amount"] == 1_000_000


def test_a_partial_cancellation_before_confirmation_orders_back_what_was_paid_above_the_rest():
    case = award_at(AwardStatus.GRANTED)  # 1,500,000 granted
    paid(case, 1_200_000, dt.date(2026, 4, 1))
    award = cancel(case, 500_000, due_on=TODAY() + dt.timedelta(days=30))
    assert award.status == AwardStatus.GRANTED  # the project goes on with 1,000,000
    refund = Refund.objects.get(award=case.award)
    assert (refund.cause, refund.amount, refund.due_on) == (
        RefundCause.CANCELLATION,
        200_000,
        TODAY() + dt.timedelta(days=30),
    )
    assert money_steps.advance_room(award) == 0  # 1,000,000 − (1,200,000 − 200,000)
    assert money_steps.kept_so_far(award) == 1_000_000
    order = Letter.objects.get(award=case.award, kind=LetterKind.REFUND_ORDER)
    assert order.details["cause"] == "cancellation" and order.details["additional_charge"] is True
    assert order.details["entitled_amount"] == 1_000_000
    # the money comes back; the award stays at its step
    refund = backdate(refund, ordered_on=dt.date(2026, 6, 1), due_on=dt.date(2026, 7, 1))
    # 1 April → 1 July = 92 days: 200,000 × 0.0003 × 92 = 5,520
    money_steps.refund_receive(award=award, received_on=dt.date(2026, 7, 1), received_amount=205_520, by=case.staff)
    award.refresh_from_db()
    assert award.status == AwardStatus.GRANTED
    [entry] = entries(award, "refund_received")
    assert "status" not in entry.after and entry.after["additional_charge"] == 5_520


def test_after_confirmation_a_partial_cancellation_reduces_the_scheduled_settlement():
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    paid(case, 500_000, dt.date(2026, 4, 1))
    settlement = Payment.objects.create(
        award=case.award, kind=PaymentKind.SETTLEMENT, status=PaymentStatus.APPROVED, amount=700_000
    )
    award = cancel(case, 500_000)  # 1,000,000 left: 500,000 still due
    assert award.status == AwardStatus.CONFIRMED
    settlement.refresh_from_db()
    assert (settlement.status, settlement.amount) == (PaymentStatus.APPROVED, 500_000)
    [reduced] = entries(settlement, "settlement_reduced")
    assert (reduced.before, reduced.after) == ({"amount": 700_000}, {"amount": 500_000})
    letter = Letter.objects.get(award=case.award, kind=LetterKind.CANCELLATION)
    assert letter.details["confirmed_amount"] == 1_200_000
    # a second cancellation, of 700,000: 300,000 left, 200,000 of the 500,000 paid to return
    award = cancel(case, 700_000, cancelled_before=500_000)
    assert award.status == AwardStatus.REFUND_ORDERED
    settlement.refresh_from_db()
    assert settlement.status == PaymentStatus.REFUSED
    assert len(entries(settlement, "settlement_withdrawn")) == 1
    refund = Refund.objects.get(award=case.award)
    assert (refund.cause, refund.amount) == (RefundCause.CANCELLATION, 200_000)
    assert Letter.objects.filter(award=case.award, kind=LetterKind.CANCELLATION).count() == 2


def test_after_confirmation_a_cancellation_down_to_what_was_paid_closes_the_award():
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    paid(case, 500_000, dt.date(2026, 4, 1))
    Payment.objects.create(award=case.award, kind=PaymentKind.SETTLEMENT, status=PaymentStatus.APPROVED, amount=700_000)
    award = cancel(case, 1_000_000)  # 500,000 left = paid
    assert award.status == AwardStatus.CLOSED
    assert not Refund.objects.filter(award=case.award).exists()


def test_an_overpayment_to_be_ordered_is_not_mixed_with_a_cancellation():
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=900_000)
    paid(case, 1_200_000, dt.date(2026, 4, 1))
    with pytest.raises(Refused) as refused, translation.override("en"):
        cancel(case, 700_000)  # 800,000 left: below the 900,000 confirmed
    assert refused.value.code == "overpayment"
    assert "¥1,200,000 paid, ¥900,000 confirmed" in refused.value.message
    award = cancel(case, 500_000)  # 1,000,000 left: above the confirmed amount, nothing to return by it
    assert award.status == AwardStatus.CONFIRMED and not Refund.objects.filter(award=award).exists()
    refund = money_steps.refund_order(award=award, due_on=None, by=case.staff)
    assert (refund.cause, refund.amount) == (RefundCause.OVERPAYMENT, 300_000)


# --- refusals at the boundaries -----------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, 1_500_001, None])
def test_the_amount_is_from_one_yen_to_what_remains_granted(amount):
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused, translation.override("en"):
        cancel(case, amount)
    assert refused.value.code == "amount"
    assert "¥1,500,000 granted, ¥0 already cancelled, so at most ¥1,500,000" in refused.value.message


def test_the_bounds_count_what_was_already_cancelled():
    case = award_at(AwardStatus.GRANTED)
    cancel(case, 1)
    with pytest.raises(Refused) as refused, translation.override("en"):
        cancel(case, 1_500_000)
    assert "¥1 already cancelled, so at most ¥1,499,999" in refused.value.message
    award = cancel(case, 1_499_999)
    assert award.status == AwardStatus.CLOSED and award.cancelled_amount == 1_500_000


def test_a_reason_is_required():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        cancel(case, 1, reason="  ")
    assert refused.value.code == "reason"
    case.award.refresh_from_db()
    assert case.award.cancelled_amount == 0 and not AuditEntry.objects.filter(action="grant_cancelled").exists()


@pytest.mark.parametrize("status", [AwardStatus.ADOPTED, AwardStatus.ACCEPTED, AwardStatus.REFUND_ORDERED])
def test_only_a_decided_award_not_yet_settled_is_cancelled(status):
    case = award_at(status)
    with pytest.raises(Refused) as refused:
        cancel(case, 1)
    assert refused.value.code == "step"


def test_an_open_advance_must_be_decided_first():
    case = award_at(AwardStatus.GRANTED)
    money_steps.advance_request(award=case.award, amount=100_000, reason="前払", by=case.member)
    with pytest.raises(Refused) as refused:
        cancel(case, 1_500_000)
    assert refused.value.code == "open_advance"


def test_cancelling_again_after_a_whole_cancellation_is_refused_with_what_happened():
    case = award_at(AwardStatus.GRANTED)
    cancel(case, 1_500_000)
    with pytest.raises(Refused) as refused, translation.override("en"):
        cancel(case, 1, by=other_staff())
    assert refused.value.code == "transition" and "already cancelled in whole" in refused.value.message


def test_stale_figures_are_refused():
    case = award_at(AwardStatus.GRANTED)
    cancel(case, 100_000, cancelled_before=0)
    with pytest.raises(Refused) as refused, translation.override("en"):
        cancel(case, 100_000, cancelled_before=0, by=other_staff())
    assert refused.value.code == "transition" and "¥100,000 in all" in refused.value.message
    case.award.refresh_from_db()
    assert case.award.cancelled_amount == 100_000


def test_only_staff_cancel():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        cancel(case, 1, by=case.member)
    assert refused.value.code == "forbidden"


# --- audit ------------------------------------------------------------------------------------


def test_the_cancellation_and_its_refund_are_audited():
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_000_000, dt.date(2026, 4, 1))
    cancel(case, 1_500_000)
    [cancelled] = entries(case.award, "grant_cancelled")
    assert cancelled.before == {"cancelled_amount": 0, "cancelled_on": None}
    assert cancelled.after["amount"] == 1_500_000 and cancelled.after["whole"] is True
    assert cancelled.after["reason"] == REASON and cancelled.after["to_return"] == 1_000_000
    assert cancelled.actor_id == case.staff.pk
    [ordered] = entries(case.award, "refund_ordered")
    assert ordered.before == {"status": "granted"} and ordered.after["status"] == "refund_ordered"
    assert ordered.after["cause"] == "cancellation"
    with translation.override("en"):
        sentence = str(describe(cancelled))
    assert "cancelled the grant decision" in sentence and "¥1,500,000" in sentence


# --- the letters --------------------------------------------------------------------------------


def test_the_cancellation_letter_states_the_articles_the_amount_the_reason_and_what_is_left(tmp_path):
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_200_000, dt.date(2026, 4, 1))
    cancel(case, 500_000)
    letter = Letter.objects.get(award=case.award, kind=LetterKind.CANCELLATION)
    text = pdf_text(letter_pdf(letter), tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        f"{title}に係る補助金の交付決定の取消しについて（通知）",
        "第17条第1項の規定に基づき、下記の理由により、その交付の決定の一部を取り消したので、",
        "同条第4項において準用する法第8条の規定により通知します。",
        "取り消す額金500,000円（交付決定額の一部）",
        "取消しの理由" + REASON.replace(" ", ""),
        "取消し後の交付決定額金1,000,000円",
        "既交付額金1,200,000円",
        "既に交付した補助金のうち金200,000円については、法第18条第1項の規定により、別途返還命令書により返還を命ずる。",
        "法第19条第1項",
        "以上",
    ):
        assert expected in text, expected
    order = Letter.objects.get(award=case.award, kind=LetterKind.REFUND_ORDER)
    order_text = pdf_text(letter_pdf(order), tmp_path)
    assert f"{letter.document_number}により交付決定を取り消した" in order_text
    assert "第18条第1項の規定に基づき" in order_text and "第18条第2項" not in order_text
    assert "加算金を納付しなければならない" in order_text
    assert "既交付額金1,200,000円−取消し後の交付すべき額金1,000,000円" in order_text


def test_a_cancellation_after_confirmation_cites_article_17_3(tmp_path):
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    Payment.objects.create(
        award=case.award, kind=PaymentKind.SETTLEMENT, status=PaymentStatus.APPROVED, amount=1_200_000
    )
    cancel(case, 1_500_000)
    letter = Letter.objects.get(award=case.award, kind=LetterKind.CANCELLATION)
    text = pdf_text(letter_pdf(letter), tmp_path)
    assert "その交付の決定の全部を取り消した" in text
    assert "法第17条第3項の規定により、額の確定（確定額" in text and "があった後において行うもの" in text
    assert "1,200,000円" in text
    assert "この取消しにより返還を要する補助金はない。" in text


def test_the_letters_are_mailed_through_the_outbox():
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_000_000, dt.date(2026, 4, 1))
    cancel(case, 1_500_000)
    letters = list(Letter.objects.filter(award=case.award).order_by("id"))
    assert [letter.kind for letter in letters] == [LetterKind.CANCELLATION, LetterKind.REFUND_ORDER]
    for letter in letters:
        assert OutboxMessage.objects.filter(kind="letter", subject_id=letter.pk).exists()


def test_a_contract_has_no_letters_and_no_additional_charge():
    case = award_at(AwardStatus.GRANTED, funding_kind="contract")
    paid(case, 1_000_000, dt.date(2026, 4, 1))
    award = cancel(case, 1_500_000)
    assert award.status == AwardStatus.REFUND_ORDERED
    assert not Letter.objects.filter(award=case.award).exists()
    refund = backdate(Refund.objects.get(award=case.award), ordered_on=dt.date(2026, 6, 1), due_on=dt.date(2026, 6, 21))
    due = money_steps.refund_due(refund, on=dt.date(2026, 7, 1))
    assert (due.additional_charge, due.late_charge, due.total) == (0, 3_000, 1_003_000)


# --- the page -----------------------------------------------------------------------------------


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def form_data(**overrides):
    data = {"amount": "1,500,000", "reason": REASON, "due_on": "", "cancelled_before": "0", "confirm": "on"}
    data.update(overrides)
    return data


def test_staff_see_the_form_and_cancel_from_the_page(client):
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_000_000, dt.date(2026, 4, 1))
    client.force_login(case.staff)
    page = client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    assert 'data-testid="cancel-form"' in page and 'name="confirm"' in page
    response = client.post(f"/staff/awards/{case.award.pk}/cancel/", form_data())
    assert response.status_code == 302 and response.url == f"/staff/awards/{case.award.pk}/"
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REFUND_ORDERED and case.award.cancelled_amount == 1_500_000
    page = client.get(f"/staff/awards/{case.award.pk}/").content.decode()
    assert 'data-testid="cancellation"' in page and 'data-testid="cancel-form"' not in page
    assert 'data-testid="additional-today"' in page


def test_the_member_sees_the_cancellation_but_no_form(client):
    case = award_at(AwardStatus.GRANTED)
    cancel(case, 500_000)
    client.force_login(case.member)
    page = client.get(f"/applications/{case.application.pk}/award/").content.decode()
    assert 'data-testid="cancellation"' in page and 'data-testid="cancel-form"' not in page


def test_without_the_confirmation_box_nothing_is_cancelled(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.staff)
    data = form_data()
    del data["confirm"]
    response = client.post(f"/staff/awards/{case.award.pk}/cancel/", data)
    assert response.status_code == 302 and texts(response)
    case.award.refresh_from_db()
    assert case.award.cancelled_amount == 0


def test_a_refusal_is_a_message(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.staff)
    response = client.post(f"/staff/awards/{case.award.pk}/cancel/", form_data(amount="1,500,001"))
    assert response.status_code == 302 and len(texts(response)) == 1
    case.award.refresh_from_db()
    assert case.award.cancelled_amount == 0


@pytest.mark.parametrize("who", ["anonymous", "member", "other_member", "reviewer"])
def test_only_staff_reach_the_cancel_view(client, who):
    case = award_at(AwardStatus.GRANTED)
    user = {"anonymous": None, "member": case.member, "other_member": stranger_member(), "reviewer": reviewer()}[who]
    if user is not None:
        client.force_login(user)
    response = client.post(f"/staff/awards/{case.award.pk}/cancel/", form_data())
    if user is None:
        assert response.status_code == 302 and "/login/" in response.url
    else:
        assert response.status_code == 403
    case.award.refresh_from_db()
    assert case.award.cancelled_amount == 0 and case.award.status == AwardStatus.GRANTED


def test_the_cancel_view_takes_no_get(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.staff)
    assert client.get(f"/staff/awards/{case.award.pk}/cancel/").status_code == 405


# --- two staff at once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_staff_cancelling_at_the_same_moment_give_one_result():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_000_000, dt.date(2026, 4, 1))
    staff = [case.staff, other_staff()]
    barrier = threading.Barrier(2)
    done, refusals, errors = [], [], []

    def act(user):
        try:
            barrier.wait()
            money_steps.grant_cancel(
                award=case.award, amount=1_500_000, reason=REASON, due_on=None, cancelled_before=0, by=user
            )
            done.append(user)
        except Refused as refused:
            refusals.append(refused)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=(user,)) for user in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(done) == 1 and len(refusals) == 1
    assert refusals[0].code == "transition"
    assert Refund.objects.filter(award=case.award).count() == 1
    assert Letter.objects.filter(award=case.award, kind=LetterKind.CANCELLATION).count() == 1
    assert len(entries(case.award, "grant_cancelled")) == 1


def test_the_mails_say_what_was_cancelled_and_which_article_orders_the_return():
    case = award_at(AwardStatus.GRANTED)
    paid(case, 1_200_000, dt.date(2026, 4, 1))
    cancel(case, 500_000)
    cancellation = letter_render(letter_id=Letter.objects.get(award=case.award, kind=LetterKind.CANCELLATION).pk)
    mail = letter_email(cancellation, to=["office@example.jp"])
    assert "交付決定取消通知書の送付について" in mail.subject
    assert "交付決定の一部を取り消しました（補助金等に係る予算の執行の適正化に関する法律第17条第1項）" in mail.body
    assert "取り消す額：金500,000円" in mail.body and "取消し後の交付決定額：金1,000,000円" in mail.body
    assert "金200,000円については、別途お送りする返還命令書により返還を命じます。" in mail.body
    order = letter_render(letter_id=Letter.objects.get(award=case.award, kind=LetterKind.REFUND_ORDER).pk)
    body = letter_email(order, to=["office@example.jp"]).body
    assert "第18条第1項" in body and "加算金" in body


def test_an_overpayment_order_mail_mentions_no_additional_charge():
    case = award_at(AwardStatus.CONFIRMED, confirmed_amount=1_000_000)
    paid(case, 1_200_000, dt.date(2026, 4, 1))
    money_steps.refund_order(award=case.award, due_on=None, by=case.staff)
    order = letter_render(letter_id=Letter.objects.get(award=case.award, kind=LetterKind.REFUND_ORDER).pk)
    body = letter_email(order, to=["office@example.jp"]).body
    assert "第18条第2項" in body and "加算金" not in body and "延滞金" in body
