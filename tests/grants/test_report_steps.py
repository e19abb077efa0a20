"""遂行状況報告 and 実績報告 as services: filing, evidence, the line review, 差戻し, acceptance."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import translation

from accounts.models import Role
from applications.models import MemberRole, Membership
from grants import report_steps
from grants.models import (
    AwardDocument,
    AwardStatus,
    CostVerdict,
    Evidence,
    Report,
    ReportKind,
    ReportStatus,
)
from grants.report_steps import CostInput, eligible_costs
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import OrganisationFactory, UserFactory, enable_totp
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The refusals are asserted by their English source text."""
    with translation.override("en"):
        yield


def make_pdf() -> bytes:
    """A minimal valid one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF = make_pdf()
COSTS = [
    CostInput("honoraria", "講師謝金", 300_000),
    CostInput("travel", "交通費", 180_000),
    CostInput("supplies", "消耗品", 550_000),
]


def pdf(name="領収書.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def exe(name="receipt.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf")


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


def file_report(case, kind=ReportKind.FINAL, costs=COSTS, **overrides):
    values = {
        "activities": "講習会を12回開催しました。",
        "participants": 240,
        "results": "参加者の満足度 92%",
        "issues": "",
        "costs": list(costs),
    }
    values.update(overrides)
    return report_steps.report_file(award=case.award, kind=kind, by=case.member, **values)


def entries(obj, action):
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk), action=action).order_by("pk")
    )


def review_all(report, staff, verdict=CostVerdict.ACCEPTED, **kwargs):
    for line in report.costs.all():
        report_steps.report_line_review(cost=line, verdict=verdict, by=staff, **kwargs)


def other_staff():
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


# --- filing --------------------------------------------------------------------------------------


def test_the_final_report_is_filed_with_its_lines_and_moves_the_award_to_reported():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORTED
    assert report.status == ReportStatus.SUBMITTED and report.kind == ReportKind.FINAL
    assert [(line.position, line.category, line.amount, line.verdict) for line in report.costs.all()] == [
        (0, "honoraria", 300_000, CostVerdict.PENDING),
        (1, "travel", 180_000, CostVerdict.PENDING),
        (2, "supplies", 550_000, CostVerdict.PENDING),
    ]
    [entry] = entries(case.award, "report_final")
    assert entry.before == {"status": "granted"}
    assert entry.after == {"status": "reported", "report": report.pk, "actual_costs": 1_030_000}
    assert entry.actor == case.member


def test_a_progress_report_is_a_record_without_a_state_change():
    case = award_at(AwardStatus.GRANTED, progress_report_step=True)
    report = file_report(case, ReportKind.PROGRESS, costs=COSTS)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.GRANTED
    assert report.costs.count() == 0  # a progress report has no cost lines
    [entry] = entries(case.award, "report_progress")
    assert entry.after == {"report": report.pk} and entry.actor == case.member
    assert case.award.reports_open() == [ReportKind.FINAL]


def test_a_progress_report_only_where_the_call_asks_for_one():
    case = award_at(AwardStatus.GRANTED, progress_report_step=False)
    with pytest.raises(Refused) as refused:
        file_report(case, ReportKind.PROGRESS)
    assert refused.value.code == "not_asked"
    assert "no progress report" in refused.value.message
    assert not Report.objects.exists()


def test_reports_are_filed_only_while_the_grant_is_decided():
    case = award_at(AwardStatus.ACCEPTED)
    with pytest.raises(Refused) as refused:
        file_report(case)
    assert refused.value.code == "state"
    assert "Grant application accepted" in refused.value.message


def test_each_kind_is_filed_once():
    case = award_at(AwardStatus.GRANTED, progress_report_step=True)
    file_report(case, ReportKind.PROGRESS)
    with pytest.raises(Refused) as refused:
        file_report(case, ReportKind.PROGRESS)
    assert refused.value.code == "filed"
    assert Report.objects.filter(kind=ReportKind.PROGRESS).count() == 1


def test_only_a_member_files():
    case = award_at(AwardStatus.GRANTED)
    outsider = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=OrganisationFactory(), user=outsider, role=MemberRole.OWNER)
    for user in (outsider, case.staff):
        with pytest.raises(Refused) as refused:
            report_steps.report_file(
                award=case.award,
                kind=ReportKind.FINAL,
                activities="a",
                participants=1,
                results="r",
                costs=COSTS,
                by=user,
            )
        assert refused.value.code == "forbidden"
        assert "can_act_for_award" in refused.value.message


def test_a_final_report_needs_cost_lines_of_known_categories():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        file_report(case, costs=[])
    assert refused.value.code == "costs"
    with pytest.raises(Refused) as refused:
        file_report(case, costs=[CostInput("caviar", "", 1)])
    assert "caviar" in refused.value.message


def test_texts_are_bounded_and_stored_without_control_characters():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        file_report(case, activities="あ" * 10_001)
    assert refused.value.code == "too_long"
    assert "10,001" in refused.value.message and "10,000" in refused.value.message
    report = file_report(case, activities="あ" * 10_000, results="成果\u202eです\x07\n以上", issues="\x00課題\t")
    assert len(report.activities) == 10_000
    assert report.results == "成果です\n以上" and report.issues == "課題"


# --- evidence and documents ---------------------------------------------------------------------


def test_several_files_are_attached_to_a_line_with_an_audit_entry():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.get(position=1)
    first = report_steps.evidence_add(cost=line, kind="receipt", upload=pdf(), invoice_number="", by=case.member)
    second = report_steps.evidence_add(
        cost=line,
        kind="invoice",
        upload=pdf("請求書.pdf"),
        invoice_number="ｔ４０１１００１０９８９９３",
        by=case.member,
    )
    assert list(line.evidence.all()) == [first, second]
    assert second.invoice_number == "T4011001098993" and second.file_type == "pdf"
    with second.file.open("rb") as stored:
        assert stored.read() == PDF
    [_first_entry, entry] = entries(report, "report_evidence_added")
    assert entry.after == {"line": 2, "evidence": second.pk, "file": "請求書.pdf", "invoice": "T4011001098993"}


def test_a_bad_file_type_is_refused():
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    with pytest.raises(Refused) as refused:
        report_steps.evidence_add(cost=line, kind="receipt", upload=exe(), by=case.member)
    assert refused.value.code == "file"
    assert not Evidence.objects.exists()


def test_a_bad_registration_number_is_refused_with_its_message():
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    with pytest.raises(Refused) as refused:
        report_steps.evidence_add(
            cost=line, kind="invoice", upload=pdf(), invoice_number="T4011001098994", by=case.member
        )
    assert refused.value.code == "invoice_number"
    assert "check digit" in refused.value.message
    assert not Evidence.objects.exists()


def test_evidence_only_from_a_member_and_only_on_a_line_not_yet_decided():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.first()
    with pytest.raises(Refused) as refused:
        report_steps.evidence_add(cost=line, kind="receipt", upload=pdf(), by=case.staff)
    assert refused.value.code == "forbidden"
    report_steps.report_line_review(cost=line, verdict=CostVerdict.MORE_NEEDED, comment="領収書の原本を", by=case.staff)
    report_steps.evidence_add(cost=line, kind="receipt", upload=pdf(), by=case.member)  # more is asked for
    report_steps.report_line_review(cost=line, verdict=CostVerdict.ACCEPTED, by=case.staff)
    with pytest.raises(Refused) as refused:
        report_steps.evidence_add(cost=line, kind="receipt", upload=pdf(), by=case.member)
    assert refused.value.code == "decided"
    assert "Line 1" in refused.value.message


def test_documents_of_a_report_are_attached_while_it_awaits_review():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    document = report_steps.report_document_add(
        report=report, title="成果物（報告書）", upload=pdf("成果報告書.pdf"), by=case.member
    )
    assert (document.report, document.purpose, document.award) == (report, "report", case.award)
    [entry] = entries(report, "report_document_added")
    assert entry.after["title"] == "成果物（報告書）"
    review_all(report, case.staff)
    report_steps.report_accept(report=report, by=case.staff)
    with pytest.raises(Refused) as refused:
        report_steps.report_document_add(report=report, title="追加", upload=pdf(), by=case.member)
    assert refused.value.code == "state"


# --- the line review -------------------------------------------------------------------------------


def test_line_verdicts_set_the_eligible_amount_and_are_audited():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    honoraria, travel, supplies = report.costs.all()
    report_steps.report_line_review(cost=honoraria, verdict=CostVerdict.ACCEPTED, eligible_amount=1, by=case.staff)
    report_steps.report_line_review(
        cost=travel, verdict=CostVerdict.NOT_ELIGIBLE, comment="タクシー代は対象外です", by=case.staff
    )
    report_steps.report_line_review(
        cost=supplies, verdict=CostVerdict.NOT_ELIGIBLE, eligible_amount=500_000, comment="一部対象外", by=case.staff
    )
    values = [(line.verdict, line.eligible_amount, line.comment) for line in report.costs.all()]
    assert values == [
        (CostVerdict.ACCEPTED, 300_000, ""),
        (CostVerdict.NOT_ELIGIBLE, 0, "タクシー代は対象外です"),
        (CostVerdict.NOT_ELIGIBLE, 500_000, "一部対象外"),
    ]
    first, second, _third = entries(report, "report_line_reviewed")
    assert first.before == {"line": 1, "verdict": "pending", "eligible_amount": None, "comment": ""}
    assert first.after == {"line": 1, "verdict": "accepted", "eligible_amount": 300_000, "comment": ""}
    assert second.after["verdict"] == "not_eligible" and second.actor == case.staff


def test_not_eligible_needs_a_reason_and_an_eligible_part_within_the_amount():
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.get(position=1)  # 180,000
    with pytest.raises(Refused) as refused:
        report_steps.report_line_review(cost=line, verdict=CostVerdict.NOT_ELIGIBLE, by=case.staff)
    assert refused.value.code == "reason"
    with pytest.raises(Refused) as refused:
        report_steps.report_line_review(
            cost=line, verdict=CostVerdict.NOT_ELIGIBLE, eligible_amount=180_001, comment="一部", by=case.staff
        )
    assert refused.value.code == "amount"
    assert "180,000" in refused.value.message and "180,001" in refused.value.message
    cost = report_steps.report_line_review(
        cost=line, verdict=CostVerdict.NOT_ELIGIBLE, eligible_amount=180_000, comment="一部", by=case.staff
    )
    assert cost.eligible_amount == 180_000


def test_more_needed_needs_a_comment_and_only_staff_review():
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    with pytest.raises(Refused) as refused:
        report_steps.report_line_review(cost=line, verdict=CostVerdict.MORE_NEEDED, by=case.staff)
    assert refused.value.code == "comment"
    with pytest.raises(Refused) as refused:
        report_steps.report_line_review(cost=line, verdict=CostVerdict.ACCEPTED, by=case.member)
    assert refused.value.code == "forbidden" and "can_manage_awards" in refused.value.message
    with pytest.raises(Refused):
        report_steps.report_line_review(cost=line, verdict=CostVerdict.PENDING, by=case.staff)


# --- accepting ---------------------------------------------------------------------------------------


def test_accept_is_refused_while_a_line_is_pending_or_needs_more_listing_the_lines():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    honoraria, travel, _ = report.costs.all()
    report_steps.report_line_review(cost=honoraria, verdict=CostVerdict.ACCEPTED, by=case.staff)
    report_steps.report_line_review(cost=travel, verdict=CostVerdict.MORE_NEEDED, comment="領収書", by=case.staff)
    with pytest.raises(Refused) as refused:
        report_steps.report_accept(report=report, by=case.staff)
    assert refused.value.code == "open_lines"
    supplies = report.costs.get(position=2)
    message = refused.value.message
    assert f"{report_steps.line_label(travel)}: {CostVerdict.MORE_NEEDED.label}" in message
    assert f"{report_steps.line_label(supplies)}: {CostVerdict.PENDING.label}" in message
    assert "180,000" in message and "550,000" in message and "300,000" not in message
    report.refresh_from_db()
    case.award.refresh_from_db()
    assert (report.status, case.award.status) == (ReportStatus.SUBMITTED, AwardStatus.REPORTED)


def test_accepting_the_final_report_moves_the_award_and_gives_the_eligible_costs():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case, costs=[*COSTS, CostInput("honoraria", "追加謝金", 20_000)])
    lines = list(report.costs.all())
    report_steps.report_line_review(cost=lines[0], verdict=CostVerdict.ACCEPTED, by=case.staff)
    report_steps.report_line_review(cost=lines[1], verdict=CostVerdict.NOT_ELIGIBLE, comment="対象外", by=case.staff)
    report_steps.report_line_review(
        cost=lines[2], verdict=CostVerdict.NOT_ELIGIBLE, eligible_amount=500_000, comment="一部", by=case.staff
    )
    report_steps.report_line_review(cost=lines[3], verdict=CostVerdict.ACCEPTED, by=case.staff)
    with pytest.raises(ValueError):
        eligible_costs(report)  # not accepted yet
    report_steps.report_accept(report=report, by=case.staff)
    report.refresh_from_db()
    case.award.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED and report.reviewed_by == case.staff
    assert case.award.status == AwardStatus.REPORT_ACCEPTED
    assert eligible_costs(report) == {"honoraria": 320_000, "travel": 0, "supplies": 500_000}
    assert report_steps.accepted_final_report(case.award) == report
    [report_entry] = entries(report, "report_accepted")
    assert report_entry.after == {"status": "accepted", "eligible_amount": 820_000}
    [award_entry] = entries(case.award, "report_accepted")
    assert award_entry.before == {"status": "reported"}
    assert award_entry.after == {"status": "report_accepted", "report": report.pk, "eligible_amount": 820_000}


def test_two_staff_accepting_at_once_give_one_result():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    review_all(report, case.staff)
    second = other_staff()
    stale = Report.objects.get(pk=report.pk)  # what the second one's page showed
    report_steps.report_accept(report=report, by=case.staff)
    with pytest.raises(Refused) as refused:
        report_steps.report_accept(report=stale, by=second)
    assert refused.value.code == "decided"
    assert f"already accepted by {case.staff.email}" in refused.value.message
    with pytest.raises(Refused):
        report_steps.report_return(report=stale, reason="遅れて差戻し", by=second)
    assert len(entries(report, "report_accepted")) == 1
    assert len(entries(case.award, "report_accepted")) == 1
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORT_ACCEPTED


def test_a_progress_report_is_accepted_or_returned_without_moving_the_award():
    case = award_at(AwardStatus.GRANTED, progress_report_step=True)
    first = file_report(case, ReportKind.PROGRESS)
    report_steps.report_return(report=first, reason="参加者数の内訳を", by=case.staff)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.GRANTED
    assert ReportKind.PROGRESS in case.award.reports_open()
    second = file_report(case, ReportKind.PROGRESS)
    report_steps.report_accept(report=second, by=case.staff)
    second.refresh_from_db()
    case.award.refresh_from_db()
    assert second.status == ReportStatus.ACCEPTED and case.award.status == AwardStatus.GRANTED
    assert entries(case.award, "report_accepted") == [] and entries(case.award, "report_returned") == []


# --- 差戻し and filing again ------------------------------------------------------------------------------


def test_return_keeps_the_report_its_comments_and_reopens_the_award():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    honoraria, travel, _supplies = report.costs.all()
    report_steps.report_line_review(cost=honoraria, verdict=CostVerdict.ACCEPTED, by=case.staff)
    report_steps.report_line_review(cost=travel, verdict=CostVerdict.MORE_NEEDED, comment="乗車区間を", by=case.staff)
    report_steps.report_return(report=report, reason="交通費の明細が不足しています", by=case.staff)
    report.refresh_from_db()
    case.award.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert report.return_reason == "交通費の明細が不足しています"
    assert report.reviewed_by == case.staff and report.returned_at and report.reviewed_at
    assert case.award.status == AwardStatus.GRANTED
    assert ReportKind.FINAL in case.award.reports_open()
    assert report.costs.get(position=1).comment == "乗車区間を"
    [report_entry] = entries(report, "report_returned")
    assert report_entry.before == {"status": "submitted"}
    assert report_entry.after == {"status": "returned", "reason": "交通費の明細が不足しています"}
    [award_entry] = entries(case.award, "report_returned")
    assert (award_entry.before, award_entry.after) == (
        {"status": "reported"},
        {"status": "granted", "report": report.pk},
    )


def test_return_needs_a_reason():
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    with pytest.raises(Refused) as refused:
        report_steps.report_return(report=report, reason=" \u3000", by=case.staff)
    assert refused.value.code == "required"


def test_filing_again_after_a_return_carries_the_evidence_and_keeps_every_version():
    case = award_at(AwardStatus.GRANTED)
    first = file_report(case)
    honoraria, travel, supplies = first.costs.all()
    kept = report_steps.evidence_add(
        cost=honoraria, kind="invoice", upload=pdf(), invoice_number="T4011001098993", by=case.member
    )
    report_steps.report_document_add(report=first, title="成果物", upload=pdf("成果物.pdf"), by=case.member)
    report_steps.report_line_review(cost=travel, verdict=CostVerdict.MORE_NEEDED, comment="乗車区間を", by=case.staff)
    report_steps.report_return(report=first, reason="交通費の明細", by=case.staff)

    second = file_report(
        case,
        costs=[
            CostInput("honoraria", "講師謝金", 300_000, source=honoraria.pk),
            CostInput("travel", "交通費（区間明細付き）", 150_000, source=travel.pk),
        ],
        carry_documents=True,
    )
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORTED
    assert second.status == ReportStatus.SUBMITTED and second.pk != first.pk
    new_honoraria, new_travel = second.costs.all()
    [copied] = new_honoraria.evidence.all()
    assert copied.pk != kept.pk and copied.file.name == kept.file.name and copied.invoice_number == "T4011001098993"
    assert new_travel.evidence.count() == 0 and new_travel.verdict == CostVerdict.PENDING
    [document] = second.documents.all()
    assert document.title == "成果物"
    # The returned report stands as it was, with its lines, comments, evidence and documents.
    first.refresh_from_db()
    assert first.status == ReportStatus.RETURNED
    assert [line.pk for line in first.costs.all()] == [honoraria.pk, travel.pk, supplies.pk]
    assert first.costs.get(pk=travel.pk).comment == "乗車区間を"
    assert list(honoraria.evidence.all()) == [kept]
    assert AwardDocument.objects.filter(report=first).count() == 1
    [entry] = entries(case.award, "report_final")[1:]
    assert entry.after["after_returned"] == first.pk


def test_a_line_cannot_bring_evidence_of_another_award():
    case = award_at(AwardStatus.GRANTED)
    other = award_at(AwardStatus.GRANTED, staff=case.staff)
    foreign = file_report(other).costs.first()
    with pytest.raises(Refused) as refused:
        file_report(case, costs=[CostInput("honoraria", "", 1, source=foreign.pk)])
    assert refused.value.code == "source"


# --- at the same moment (row locks: PostgreSQL) -----------------------------------------------------


def _race(*actions):
    """Run the actions in threads released together; (results, refusals, other errors)."""
    barrier = threading.Barrier(len(actions))
    results, refusals, errors = [], [], []

    def run(action):
        try:
            barrier.wait()
            results.append(action())
        except Refused as refused:
            refusals.append(refused)
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, refusals, errors


@pytest.mark.django_db(transaction=True)
def test_staff_accepting_and_returning_at_once_give_one_result():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    review_all(report, case.staff)
    second = other_staff()

    def in_english(action):
        # Each thread starts in the site's language (Japanese); the message is asserted in English.
        def run():
            with translation.override("en"):
                return action()

        return run

    results, refusals, errors = _race(
        in_english(lambda: report_steps.report_accept(report=report, by=case.staff)),
        in_english(lambda: report_steps.report_return(report=report, reason="差戻し", by=second)),
    )
    assert errors == [] and len(results) == 1
    [refused] = refusals
    assert refused.code == "decided" and "already" in refused.message
    report.refresh_from_db()
    case.award.refresh_from_db()
    if report.status == ReportStatus.ACCEPTED:
        assert case.award.status == AwardStatus.REPORT_ACCEPTED
    else:
        assert (report.status, case.award.status) == (ReportStatus.RETURNED, AwardStatus.GRANTED)
    decided = AuditEntry.objects.filter(action__in=["report_accepted", "report_returned"], object_type="grants.Report")
    assert decided.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_final_report_filed_twice_at_once_is_filed_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = award_at(AwardStatus.GRANTED)
    results, refusals, errors = _race(lambda: file_report(case), lambda: file_report(case))
    assert errors == [] and len(results) == 1
    [refused] = refusals
    assert refused.code == "state"  # the first filing moved the award on
    assert Report.objects.count() == 1
