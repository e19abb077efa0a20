"""The report pages: filing (with the cost lines formset), uploads, staff's review, the files, and
who may do each (member, another organisation's member, reviewer, staff, anonymous)."""

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

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
from tests.factories import OrganisationFactory, UserFactory, enable_totp
from tests.grants.lifecycle import award_at
from tests.grants.test_report_steps import PDF, entries, exe, file_report, pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def outsider():
    user = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=OrganisationFactory(), user=user, role=MemberRole.OWNER)
    return user


@pytest.fixture
def reviewer():
    user = UserFactory(role=Role.REVIEWER)
    enable_totp(user)
    return user


def texts(client, response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def formset_data(lines, prefix="costs"):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(lines)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "60",
    }
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"{prefix}-{index}-{name}"] = value
    return data


REPORT_TEXTS = {"activities": "講習会を12回", "participants": "２４０", "results": "満足度92%", "issues": ""}


def member_url(case, tail=""):
    return f"/applications/{case.application.pk}/award/{tail}"


def staff_url(case, tail=""):
    return f"/staff/awards/{case.award.pk}/{tail}"


# --- filing --------------------------------------------------------------------------------------


def test_the_final_report_form_starts_from_the_budget_in_force(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.get(member_url(case, "reports/final/new/"))
    assert response.status_code == 200
    costs = response.context["costs"]
    prefilled = [(form.initial.get("category"), form.initial.get("description")) for form in costs.forms[:4]]
    assert prefilled == [
        ("honoraria", "講師謝金"),
        ("travel", "交通費"),
        ("rental", "会場借料"),
        ("supplies", "消耗品"),
    ]
    assert len(costs.forms) == 6  # two empty lines follow
    assert 'name="costs-0-amount"' in response.content.decode()


def test_filing_the_final_report_through_the_form(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    lines = [
        {"category": "honoraria", "description": "講師謝金", "amount": "300,000"},
        {"category": "travel", "description": "交通費", "amount": "１８０，０００"},
        {"category": "rental", "description": "会場借料", "amount": ""},  # left as prefilled: no line
    ]
    response = client.post(member_url(case, "reports/final/new/"), {**REPORT_TEXTS, **formset_data(lines)})
    assert response.status_code == 302 and response["Location"].endswith("/award/#reports")
    report = Report.objects.get()
    assert report.participants == 240
    assert [(line.category, line.amount) for line in report.costs.all()] == [
        ("honoraria", 300_000),
        ("travel", 180_000),
    ]
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.REPORTED


def test_a_refused_filing_shows_the_form_again_as_typed(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    lines = [{"category": "honoraria", "description": "講師謝金", "amount": "30万"}]
    data = {**REPORT_TEXTS, "activities": "あ" * 10_001, **formset_data(lines)}
    response = client.post(member_url(case, "reports/final/new/"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["activities"]
    assert response.context["costs"].forms[0].errors["amount"]
    assert "あ" * 100 in response.content.decode()
    assert not Report.objects.exists()
    empty = client.post(member_url(case, "reports/final/new/"), {**REPORT_TEXTS, **formset_data([])})
    assert empty.status_code == 200 and empty.context["costs"].non_form_errors()


def test_the_progress_report_form_only_where_the_call_asks(client):
    asked = award_at(AwardStatus.GRANTED, progress_report_step=True)
    client.force_login(asked.member)
    assert client.get(member_url(asked, "reports/progress/new/")).status_code == 200
    response = client.post(member_url(asked, "reports/progress/new/"), REPORT_TEXTS)
    assert response.status_code == 302
    assert Report.objects.get().kind == ReportKind.PROGRESS
    not_asked = award_at(AwardStatus.GRANTED, progress_report_step=False)
    client.force_login(not_asked.member)
    response = client.get(member_url(not_asked, "reports/progress/new/"))
    assert response.status_code == 302
    assert any("提出できません" in text for text in texts(client, response))  # “cannot be filed now”
    assert client.get(member_url(not_asked, "reports/nonsense/new/")).status_code == 404


def test_filing_again_starts_from_the_returned_report(client):
    case = award_at(AwardStatus.GRANTED)
    first = file_report(case)
    travel = first.costs.get(position=1)
    report_steps.evidence_add(cost=travel, kind="receipt", upload=pdf(), by=case.member)
    report_steps.report_line_review(cost=travel, verdict=CostVerdict.MORE_NEEDED, comment="区間を", by=case.staff)
    report_steps.report_return(report=first, reason="交通費の明細", by=case.staff)
    client.force_login(case.member)
    response = client.get(member_url(case, "reports/final/new/"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "交通費の明細" in body and "区間を" in body
    assert response.context["form"].initial["activities"] == first.activities
    sources = [form.initial.get("source") for form in response.context["costs"].forms[:3]]
    assert sources == [line.pk for line in first.costs.all()]
    lines = [
        {"category": line.category, "description": line.description, "amount": str(line.amount), "source": line.pk}
        for line in first.costs.all()
    ]
    lines[2]["DELETE"] = "on"  # a kept line is a line unless deleted
    response = client.post(member_url(case, "reports/final/new/"), {**REPORT_TEXTS, **formset_data(lines)})
    assert response.status_code == 302
    second = Report.objects.exclude(pk=first.pk).get()
    assert [line.category for line in second.costs.all()] == ["honoraria", "travel"]
    assert second.costs.get(position=1).evidence.count() == 1
    assert Report.objects.get(pk=first.pk).status == ReportStatus.RETURNED


# --- evidence and documents ------------------------------------------------------------------------


def evidence_post(client, case, line, **fields):
    prefix = f"evidence-{line.pk}"
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    return client.post(member_url(case, f"reports/{line.report_id}/lines/{line.pk}/evidence/"), data)


def test_evidence_upload_refuses_a_bad_file_and_a_bad_number_and_takes_a_good_one(client):
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    client.force_login(case.member)
    response = evidence_post(client, case, line, kind="receipt", invoice_number="", file=exe())
    assert response.status_code == 302 and response["Location"].endswith("#reports")
    assert texts(client, response) and not Evidence.objects.exists()
    response = evidence_post(client, case, line, kind="invoice", invoice_number="T4011001098994", file=pdf())
    assert "チェックデジット" in texts(client, response)[-1]  # the check digit
    assert not Evidence.objects.exists()
    response = evidence_post(client, case, line, kind="invoice", invoice_number="T-4011-0010-98993", file=pdf())
    [evidence] = Evidence.objects.all()
    assert (evidence.cost, evidence.invoice_number) == (line, "T4011001098993")
    assert any("領収書.pdf" in text for text in texts(client, response))
    response = evidence_post(client, case, line, kind="receipt")
    assert texts(client, response) and Evidence.objects.count() == 1  # no file: a message, nothing stored


def test_a_document_is_attached_to_the_report(client):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    client.force_login(case.member)
    prefix = f"document-{report.pk}"
    response = client.post(
        member_url(case, f"reports/{report.pk}/documents/"), {f"{prefix}-title": "成果物", f"{prefix}-file": pdf()}
    )
    assert response.status_code == 302
    assert AwardDocument.objects.get().report == report


def test_uploads_are_csrf_protected(client):
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(case.member)
    response = evidence_post(csrf_client, case, line, kind="receipt", invoice_number="", file=pdf())
    assert response.status_code == 403
    assert not Evidence.objects.exists()


# --- staff's review ----------------------------------------------------------------------------------


def verdict_post(client, case, line, **fields):
    prefix = f"line-{line.pk}"
    data = {f"{prefix}-{name}": value for name, value in fields.items()}
    return client.post(staff_url(case, f"reports/{line.report_id}/lines/{line.pk}/verdict/"), data)


def test_staff_review_lines_then_accept(client):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    honoraria, travel, supplies = report.costs.all()
    client.force_login(case.staff)
    accept_url = staff_url(case, f"reports/{report.pk}/accept/")
    verdict_post(client, case, honoraria, verdict="accepted", eligible_amount="", comment="")
    response = client.post(accept_url)
    assert response["Location"].endswith(f"/staff/awards/{case.award.pk}/#reports")
    message = texts(client, response)[-1]
    assert "180,000" in message and "550,000" in message  # the lines still open, named
    response = verdict_post(client, case, travel, verdict="not_eligible", eligible_amount="", comment="")
    assert any("対象外である理由" in text for text in texts(client, response))  # a reason is required
    verdict_post(client, case, travel, verdict="not_eligible", eligible_amount="10,000", comment="一部対象外")
    verdict_post(client, case, supplies, verdict="accepted", eligible_amount="", comment="")
    assert [line.eligible_amount for line in report.costs.all()] == [300_000, 10_000, 550_000]
    assert len(entries(report, "report_line_reviewed")) == 3
    client.post(accept_url)
    report.refresh_from_db()
    case.award.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED and case.award.status == AwardStatus.REPORT_ACCEPTED
    response = client.post(accept_url)  # a second click
    assert any("受理済み" in text for text in texts(client, response))  # already accepted
    assert len(entries(report, "report_accepted")) == 1


def test_staff_return_a_report_with_its_reason(client):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    client.force_login(case.staff)
    url = staff_url(case, f"reports/{report.pk}/return/")
    response = client.post(url, {f"return-{report.pk}-reason": ""})
    assert texts(client, response)
    client.post(url, {f"return-{report.pk}-reason": "証拠書類が不足しています"})
    report.refresh_from_db()
    case.award.refresh_from_db()
    assert (report.status, report.return_reason) == (ReportStatus.RETURNED, "証拠書類が不足しています")
    assert case.award.status == AwardStatus.GRANTED
    client.force_login(case.member)
    body = client.get(member_url(case)).content.decode()
    assert "証拠書類が不足しています" in body and "reports/final/new/" in body


# --- the award page's section --------------------------------------------------------------------------


def test_the_section_shows_each_side_its_forms(client):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.first()
    report_steps.evidence_add(cost=line, kind="invoice", upload=pdf(), invoice_number="T4011001098993", by=case.member)
    client.force_login(case.member)
    response = client.get(member_url(case))
    section = response.context["sections"]["report"]
    [item] = section["reports"]
    assert all(entry["evidence_form"] is not None for entry in item["lines"])
    assert item["document_form"] is not None and item["return_form"] is None
    body = response.content.decode()
    assert f"/reports/{report.pk}/lines/{line.pk}/evidence/" in body and "T4011001098993" in body
    assert "/verdict/" not in body and 'class="table-responsive"' in body and "<caption>" in body
    client.force_login(case.staff)
    response = client.get(staff_url(case))
    [item] = response.context["sections"]["report"]["reports"]
    assert all(entry["verdict_form"] is not None and entry["evidence_form"] is None for entry in item["lines"])
    body = response.content.decode()
    assert f"/reports/{report.pk}/lines/{line.pk}/verdict/" in body and f"/reports/{report.pk}/accept/" in body
    assert f"/reports/{report.pk}/lines/{line.pk}/evidence/" not in body
    assert f"/awards/evidence/{line.evidence.get().pk}/" in body


def test_the_section_offers_filing_while_open_and_nothing_before(client):
    case = award_at(AwardStatus.GRANTED, progress_report_step=True)
    client.force_login(case.member)
    section = client.get(member_url(case)).context["sections"]["report"]
    assert [open_kind["kind"] for open_kind in section["open_kinds"]] == [ReportKind.PROGRESS, ReportKind.FINAL]
    early = award_at(AwardStatus.ADOPTED)
    client.force_login(early.member)
    response = client.get(member_url(early))
    assert response.context["sections"]["report"] == {"reports": [], "open_kinds": [], "page_url": member_url(early)}
    assert 'id="reports"' not in response.content.decode()


# --- who may do what ------------------------------------------------------------------------------------


def _people(case, outsider, reviewer):
    return {"member": case.member, "outsider": outsider, "reviewer": reviewer, "staff": case.staff, "anonymous": None}


@pytest.mark.parametrize(
    ("who", "expected"),
    [("member", 200), ("outsider", 404), ("reviewer", 403), ("staff", 403), ("anonymous", 302)],
)
def test_who_may_open_the_report_form(client, outsider, reviewer, who, expected):
    case = award_at(AwardStatus.GRANTED)
    user = _people(case, outsider, reviewer)[who]
    if user:
        client.force_login(user)
    response = client.get(member_url(case, "reports/final/new/"))
    assert response.status_code == expected
    if who == "anonymous":
        assert "/accounts/login/" in response["Location"]
    assert client.post(member_url(case, "reports/final/new/"), REPORT_TEXTS).status_code == expected
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("outsider", 404), ("reviewer", 403), ("staff", 403), ("anonymous", 302)],
)
def test_no_one_else_uploads(client, outsider, reviewer, who, expected):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.first()
    user = _people(case, outsider, reviewer)[who]
    if user:
        client.force_login(user)
    assert evidence_post(client, case, line, kind="receipt", invoice_number="", file=pdf()).status_code == expected
    prefix = f"document-{report.pk}"
    response = client.post(
        member_url(case, f"reports/{report.pk}/documents/"), {f"{prefix}-title": "x", f"{prefix}-file": pdf()}
    )
    assert response.status_code == expected
    assert not Evidence.objects.exists() and not AwardDocument.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("member", 403), ("outsider", 403), ("reviewer", 403), ("anonymous", 302)],
)
def test_only_staff_review_return_and_accept(client, outsider, reviewer, who, expected):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    line = report.costs.first()
    user = _people(case, outsider, reviewer)[who]
    if user:
        client.force_login(user)
    assert verdict_post(client, case, line, verdict="accepted").status_code == expected
    response = client.post(staff_url(case, f"reports/{report.pk}/return/"), {f"return-{report.pk}-reason": "x"})
    assert response.status_code == expected
    assert client.post(staff_url(case, f"reports/{report.pk}/accept/")).status_code == expected
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED and report.costs.first().verdict == CostVerdict.PENDING


def test_staff_act_only_on_a_report_of_the_award_in_the_address(client):
    case = award_at(AwardStatus.GRANTED)
    other = award_at(AwardStatus.GRANTED, staff=case.staff)
    report = file_report(other)
    client.force_login(case.staff)
    assert client.post(staff_url(case, f"reports/{report.pk}/accept/")).status_code == 404
    line = report.costs.first()
    assert client.post(staff_url(case, f"reports/{report.pk}/lines/{line.pk}/verdict/")).status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("member", 200), ("outsider", 404), ("reviewer", 404), ("staff", 200), ("anonymous", 302)],
)
def test_who_may_download_evidence_and_documents(client, outsider, reviewer, who, expected):
    case = award_at(AwardStatus.GRANTED)
    report = file_report(case)
    evidence = report_steps.evidence_add(
        cost=report.costs.first(), kind="receipt", upload=pdf("../../領収書\u202e.pdf"), by=case.member
    )
    document = report_steps.report_document_add(report=report, title="成果物", upload=pdf("成果物.pdf"), by=case.member)
    user = _people(case, outsider, reviewer)[who]
    if user:
        client.force_login(user)
    for url in (f"/awards/evidence/{evidence.pk}/", f"/awards/report-documents/{document.pk}/"):
        response = client.get(url)
        assert response.status_code == expected
        if expected == 200:
            assert response["Content-Type"] == "application/pdf"
            assert response["Content-Disposition"].startswith("attachment;")
            assert response["X-Content-Type-Options"] == "nosniff"
            # Consuming the stream closes the file (response.close() would close the test's connection).
            assert b"".join(response.streaming_content) == PDF
    if expected == 200:
        response = client.get(f"/awards/evidence/{evidence.pk}/")
        assert "%E9%A0%98%E5%8F%8E%E6%9B%B8.pdf" in response["Content-Disposition"]  # 領収書.pdf, no path
        b"".join(response.streaming_content)


def test_a_document_of_another_step_is_not_served_here(client):
    case = award_at(AwardStatus.GRANTED)
    document = AwardDocument.objects.create(
        award=case.award,
        purpose="change",
        title="変更理由書",
        file=SimpleUploadedFile("x.pdf", PDF),
        original_name="x.pdf",
        file_type="pdf",
        size=len(PDF),
    )
    client.force_login(case.member)
    assert client.get(f"/awards/report-documents/{document.pk}/").status_code == 404
