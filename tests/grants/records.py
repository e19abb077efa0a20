"""A record with the lifecycle far along, with a row (and a stored file) of every kind the dossier
and retention read: attachments, unsaved input, a review with scores, a conflict, the notice's
PDF, letters (one of them with its PDF file gone), a grant application with bank details, a
report with a cost line and its evidence, an award document, a payment and audit entries."""

import datetime as dt

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from applications.models import Attachment, Invitation, RefusedSave
from grants.models import (
    AwardDocument,
    AwardStatus,
    Evidence,
    GrantApplication,
    Letter,
    LetterKind,
    Payment,
    Report,
    ReportCost,
)
from kodoku_portal.workflow import record
from reviews.models import Assignment, ConflictDeclaration, Criterion, Review, Score
from tests.factories import UserFactory
from tests.grants.lifecycle import award_at


def full_record(status=AwardStatus.CONFIRMED, **kwargs):
    case = award_at(status, **kwargs)
    application, award, member, staff = case.application, case.award, case.member, case.staff
    now = timezone.now()
    attachment = Attachment(
        application=application, kind="articles", original_name="定款.pdf", file_type="pdf", size=9, uploaded_by=member
    )
    attachment.file.save("x", ContentFile("%PDF-定款".encode()), save=False)
    attachment.save()
    RefusedSave.objects.create(
        application=application, user=member, reason="conflict", based_on_version=1, data={"title": "古い題名"}
    )
    Invitation.objects.create(
        organisation=application.organisation,
        email=f"invitee{application.pk}@example.jp",
        token=f"tok{application.pk}",
        invited_by=member,
        expires_at=now,
    )
    reviewer = UserFactory(role=Role.REVIEWER, full_name="審査 太郎")
    criterion = Criterion.objects.create(call=application.call, name="必要性")
    assignment = Assignment.objects.create(application=application, reviewer=reviewer, status="accepted")
    review = Review.objects.create(
        assignment=assignment, status="submitted", comment_to_staff="山田さんの説明は明快", comment_to_applicant="良い"
    )
    Score.objects.create(review=review, criterion=criterion, value=4)
    other = UserFactory(role=Role.REVIEWER, full_name="利益 相反")
    ConflictDeclaration.objects.create(reviewer=other, organisation=application.organisation, reason="元職員")
    notice = application.notice
    notice.pdf.save("notice.pdf", ContentFile(b"%PDF-notice"), save=True)
    letter = Letter.objects.create(
        application=application,
        award=award,
        kind=LetterKind.GRANT_DECISION,
        document_number=f"府孤第{application.pk}1号",
        issued_on=now.date(),
        issued_by=staff,
    )
    letter.pdf.save("letter.pdf", ContentFile(b"%PDF-letter"), save=True)
    gone = Letter.objects.create(
        application=application,
        award=award,
        kind=LetterKind.CONFIRMATION,
        document_number=f"府孤第{application.pk}2号",
        issued_on=now.date(),
        issued_by=staff,
        pdf="letters/never-written.pdf",
    )
    filing = GrantApplication.objects.create(
        award=award,
        number=1,
        status="accepted",
        budget=award.budget_versions.get(),
        amount=1_500_000,
        project_start=dt.date(2025, 7, 1),
        project_end=dt.date(2026, 2, 28),
        responsible_title="事務局長",
        responsible_name="鈴木 一郎",
        responsible_phone="03-1234-5678",
        responsible_email="suzuki@example.jp",
        bank_name="みずほ銀行",
        bank_code="0001",
        branch_name="東京営業部",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        account_holder_kana="ﾄｸﾋ) ﾃｽﾄ",
        submitted_by=member,
        submitted_at=now - dt.timedelta(days=15),
        reviewed_by=staff,
        reviewed_at=now - dt.timedelta(days=12),
    )
    report = Report.objects.create(
        award=award,
        status="accepted",
        kind="final",
        activities="活動",
        participants=30,
        results="成果",
        submitted_by=member,
        submitted_at=now - dt.timedelta(days=3),
    )
    cost = ReportCost.objects.create(report=report, category="travel", description="交通費", amount=200_000)
    evidence = Evidence(
        cost=cost, kind="receipt", original_name="領収書.pdf", file_type="pdf", size=11, uploaded_by=member
    )
    evidence.file.save("e", ContentFile(b"%PDF-receipt"), save=False)
    evidence.save()
    document = AwardDocument(
        award=award,
        purpose="grant_application",
        grant_application=filing,
        title="事業計画書",
        original_name="計画書.pdf",
        file_type="pdf",
        size=8,
        uploaded_by=member,
    )
    document.file.save("d", ContentFile(b"%PDF-plan"), save=False)
    document.save()
    Payment.objects.create(award=award, kind="settlement", status="paid", amount=1_500_000, paid_on=now.date())
    with transaction.atomic():
        record(application, by=staff, action="amount_corrected", before={"amount": 1}, after={"amount": 2})
        record(award, by=member, action="note", after={"contact": member.email})
    return case, {"letter": letter, "gone": gone, "attachment": attachment, "evidence": evidence, "filing": filing}
