"""grants 0006/0007 move the four-step award tracking into the lifecycle, keeping every row: a
database holding the demo data is taken back to 0005, given awards at each old step, a returned
report and document counters there (through the historical models), and migrated forwards again."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from calls.standard_form import PROJECT_KEYS
from grants.demo.loader import seed_demo
from grants.models import Award, AwardStatus, DocumentCounter, DocumentSeries, Payment, PaymentKind, Report
from tests.support.migrations import migrate_to_latest, migrated_back

BEFORE = [("grants", "0005_mails_through_the_outbox"), ("calls", "0001_move_calls_from_grants")]


def _counts() -> dict[str, int]:
    """Rows per table, by SQL (the models of either side of the migration need not match)."""
    with connection.cursor() as cursor:
        tables = [t for t in connection.introspection.table_names(cursor) if t.split("_")[0] in PREFIXES]
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


PREFIXES = {"applications", "calls", "reviews", "grants", "accounts", "kodoku"}


@pytest.mark.django_db(transaction=True)
def test_the_award_rows_move_into_the_lifecycle_on_a_database_with_the_demo_data():
    seed_demo(now=timezone.now())
    with migrated_back(BEFORE) as old:
        OldApplication = old.get_model("applications", "Application")
        OldAward, OldReport, OldCounter = (old.get_model("grants", n) for n in ("Award", "Report", "DocumentCounter"))
        OldUser = old.get_model("accounts", "User")
        member = OldUser.objects.order_by("pk").first()
        steps = ["adopted", "granted", "confirmed", "paid"]
        applications = list(
            OldApplication.objects.filter(receipt_number__isnull=False, award__isnull=True).order_by("pk")[:4]
        )
        made = {}
        for application, status in zip(applications, steps, strict=True):
            made[status] = OldAward.objects.create(
                application=application,
                status=status,
                granted_amount=1_000_000 if status != "adopted" else None,
                confirmed_amount=900_000 if status in ("confirmed", "paid") else None,
                paid_on=dt.date(2026, 5, 15) if status == "paid" else None,
            )
        granted = made["granted"]
        submitted = timezone.now()
        OldReport.objects.create(
            award=granted,
            kind="final",
            activities="-",
            participants=1,
            results="-",
            submitted_by=member,
            submitted_at=submitted,
            returned_at=submitted,
        )
        OldReport.objects.create(
            award=granted,
            kind="final",
            activities="-",
            participants=2,
            results="-",
            submitted_by=member,
            submitted_at=submitted,
        )
        OldCounter.objects.create(fiscal_year=2019, last=12)
        before = _counts()
        calls = old.get_model("calls", "Call").objects.count()
        texts = sum(bool(text) for row in OldApplication.objects.values_list(*PROJECT_KEYS) for text in row)
        paid_before = OldAward.objects.filter(status="paid").count()  # ours and the demo's closed one
        migrate_to_latest()

    # Nothing lost: every table the old code knew still has its rows; the new tables are empty but
    # for the settlement made of the paid award, the stored ranking, which reviews 0008 fills from
    # the demo's reviews (tests/reviews/test_ranking_store.py checks its figures), and the form the
    # project texts move into (applications 0012: a version of seven questions per call, one answer
    # per text; tests/applications/test_npo_form_migration.py checks what they show).
    after = _counts()
    assert {table: n for table, n in after.items() if table in before} == before
    ranking = {"reviews_rankedapplication", "reviews_rankingpanel", "reviews_reviewerstanding"}
    new_rows = {table: n for table, n in after.items() if table not in before and n and table not in ranking}
    assert new_rows == {
        "grants_payment": paid_before,
        "calls_formversion": calls,
        "calls_formsection": calls,
        "calls_formfield": len(PROJECT_KEYS) * calls,
        "applications_answer": texts,
    }
    statuses = [Award.objects.get(pk=made[step].pk).status for step in steps]
    assert statuses == [AwardStatus.ADOPTED, AwardStatus.GRANTED, AwardStatus.CONFIRMED, AwardStatus.CLOSED]
    [settlement] = Payment.objects.filter(award_id=made["paid"].pk)
    assert (settlement.kind, settlement.status, settlement.amount, settlement.paid_on) == (
        PaymentKind.SETTLEMENT,
        "paid",
        900_000,
        dt.date(2026, 5, 15),
    )
    reports = Report.objects.filter(award_id=made["granted"].pk).order_by("participants")
    assert [report.status for report in reports] == ["returned", "submitted"]
    counter = DocumentCounter.objects.get(fiscal_year=2019)
    assert (counter.series, counter.last) == (DocumentSeries.OFFICIAL, 12)
