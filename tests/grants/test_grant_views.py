"""The pages of the grant part: who may use each (member, another organisation's member, reviewer,
staff, anonymous), the 交付申請 form (prefilled, normalised, refused with what was typed kept),
the award page's section on both sides, the staff forms, and the reserve list."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import grant_steps
from grants.models import AwardDocument, AwardStatus, GrantApplication, GrantApplicationStatus
from kodoku_portal.jp import format_yen
from tests.factories import OrganisationFactory, UserFactory, enable_totp
from tests.grants.lifecycle import award_at
from tests.grants.test_grant_filing import LINES, PDF, file
from tests.grants.test_grant_reserve import reserve

pytestmark = pytest.mark.django_db


def form_data(lines=LINES, **overrides) -> dict:
    data = {
        "project_start": "2025-07-01",
        "project_end": "2026-02-28",
        "responsible_title": "事務局長",
        "responsible_name": "山田 花子",
        "responsible_phone": "０３－１２３４－５６７８",
        "responsible_email": "yamada@example.jp",
        "bank_name": "みずほ銀行",
        "bank_code": "０００１",
        "branch_name": "本店",
        "branch_code": "１００",
        "account_type": "ordinary",
        "account_number": "１２３４５",
        "account_holder_kana": "とくていひえいり　ガッコウ",
        "budget-TOTAL_FORMS": str(len(lines)),
        "budget-INITIAL_FORMS": "0",
        "budget-MIN_NUM_FORMS": "0",
        "budget-MAX_NUM_FORMS": "1000",
        "documents-TOTAL_FORMS": "1",
        "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
        "documents-0-title": "",
    }
    for i, (category, description, amount) in enumerate(lines):
        data[f"budget-{i}-category"] = category
        data[f"budget-{i}-description"] = description
        data[f"budget-{i}-amount"] = amount
    data.update(overrides)
    return data


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def people(db):
    outsider = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=OrganisationFactory(), user=outsider, role=MemberRole.OWNER)
    reviewer = UserFactory(role=Role.REVIEWER)
    enable_totp(reviewer)
    return {"outsider": outsider, "reviewer": reviewer}


# --- who may use each page -------------------------------------------------------------------


def test_member_pages_are_the_organisations_only(client, people):
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case, documents=[grant_steps.DocumentInput("計画書", SimpleUploadedFile("計画書.pdf", PDF), "pdf")])
    document = AwardDocument.objects.get(grant_application=filing)
    pk = case.application.pk
    pages = [
        ("get", f"/applications/{pk}/award/grant-application/"),
        ("post", f"/applications/{pk}/award/decline/"),
        ("get", f"/applications/{pk}/award/documents/{document.pk}/"),
    ]
    for method, url in pages:
        client.logout()
        assert getattr(client, method)(url).status_code == 302  # to the login page
        assert "/accounts/login/" in getattr(client, method)(url)["Location"]
        client.force_login(people["outsider"])
        assert getattr(client, method)(url).status_code == 404
        for user in (people["reviewer"], case.staff):
            client.force_login(user)
            assert getattr(client, method)(url).status_code == 403
    client.force_login(case.member)
    download = client.get(f"/applications/{pk}/award/documents/{document.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == PDF
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.APPLIED  # the refused decline POSTs changed nothing


def test_staff_pages_are_staffs_only(client, people):
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case, documents=[grant_steps.DocumentInput("計画書", SimpleUploadedFile("計画書.pdf", PDF), "pdf")])
    document = AwardDocument.objects.get(grant_application=filing)
    slug, pk = case.call.slug, case.award.pk
    pages = [
        ("post", f"/staff/awards/{pk}/grant-applications/{filing.pk}/return/"),
        ("post", f"/staff/awards/{pk}/grant-applications/{filing.pk}/accept/"),
        ("post", f"/staff/awards/{pk}/grant-decision/"),
        ("get", f"/staff/awards/{pk}/documents/{document.pk}/"),
        ("get", f"/staff/calls/{slug}/reserve/"),
        ("post", f"/staff/calls/{slug}/reserve/promote/"),
        ("post", f"/staff/calls/{slug}/reserve/close/"),
    ]
    for method, url in pages:
        client.logout()
        assert getattr(client, method)(url).status_code == 302
        for user in (case.member, people["outsider"], people["reviewer"]):
            client.force_login(user)
            assert getattr(client, method)(url).status_code == 403, url
    filing.refresh_from_db()
    assert filing.status == GrantApplicationStatus.SUBMITTED
    client.force_login(case.staff)
    download = client.get(f"/staff/awards/{pk}/documents/{document.pk}/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == PDF
    assert client.get(f"/staff/calls/{slug}/reserve/").status_code == 200
    # Another award's document is not served under this award.
    other = award_at(AwardStatus.ADOPTED, staff=case.staff)
    assert client.get(f"/staff/awards/{other.award.pk}/documents/{document.pk}/").status_code == 404


def test_post_views_need_csrf(people):
    from django.test import Client

    case = award_at(AwardStatus.ADOPTED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(case.member)
    response = client.post(f"/applications/{case.application.pk}/award/decline/", {"decline-reason": "x"})
    assert response.status_code == 403


# --- the 交付申請 form -----------------------------------------------------------------------


def test_the_form_starts_from_the_application(client):
    case = award_at(AwardStatus.ADOPTED)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/grant-application/")
    assert response.status_code == 200
    assert response.context["form"].initial["project_start"] == dt.date(2025, 7, 1)
    initial = response.context["budget"].initial
    assert [line["amount"] for line in initial] == list(case.application.budget_lines.values_list("amount", flat=True))


def test_filing_through_the_form_normalises_and_moves_the_award(client):
    case = award_at(AwardStatus.ADOPTED)
    client.force_login(case.member)
    data = form_data(**{"documents-0-title": "事業計画書", "documents-0-file": SimpleUploadedFile("plan.pdf", PDF)})
    response = client.post(f"/applications/{case.application.pk}/award/grant-application/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/applications/{case.application.pk}/award/"
    filing = GrantApplication.objects.get()
    assert (filing.bank_code, filing.branch_code, filing.account_number) == ("0001", "100", "0012345")
    assert filing.account_holder_kana == "ﾄｸﾃｲﾋｴｲﾘ ｶﾞﾂｺｳ"
    assert filing.responsible_phone == "03-1234-5678"
    assert filing.documents.get().title == "事業計画書"
    page = client.get(f"/applications/{case.application.pk}/award/")
    assert "ﾄｸﾃｲﾋｴｲﾘ ｶﾞﾂｺｳ" in page.content.decode()
    assert page.context["sections"]["grant"]["may_file"] is False


def test_a_total_above_the_award_is_shown_again_with_both_figures(client):
    case = award_at(AwardStatus.ADOPTED, award_amount=1_500_000)
    client.force_login(case.member)
    lines = [*LINES[:-1], ("supplies", "消耗品", "６００，００１")]
    response = client.post(f"/applications/{case.application.pk}/award/grant-application/", form_data(lines))
    assert response.status_code == 200
    errors = " ".join(response.context["budget"].non_form_errors())
    assert format_yen(1_500_001) in errors and format_yen(1_500_000) in errors
    assert response.context["form"]["bank_name"].value() == "みずほ銀行"  # what was typed is kept
    assert not GrantApplication.objects.exists()


def test_a_kanji_account_holder_is_refused_on_the_form(client):
    case = award_at(AwardStatus.ADOPTED)
    client.force_login(case.member)
    response = client.post(
        f"/applications/{case.application.pk}/award/grant-application/",
        form_data(account_holder_kana="特定非営利"),
    )
    assert response.status_code == 200
    assert "「特」" in " ".join(response.context["form"].errors["account_holder_kana"])
    assert not GrantApplication.objects.exists()


def test_the_form_is_closed_while_a_filing_is_checked(client):
    case = award_at(AwardStatus.ADOPTED)
    file(case)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/grant-application/")
    assert response.status_code == 302
    response = client.post(f"/applications/{case.application.pk}/award/grant-application/", form_data())
    assert response.status_code == 302
    assert GrantApplication.objects.count() == 1


def test_return_through_the_page_and_the_organisation_sees_why_and_files_again(client):
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case, total=1_400_000)
    client.force_login(case.staff)
    page = client.get(f"/staff/awards/{case.award.pk}/")
    assert page.context["sections"]["grant"]["pending"] == filing
    url = f"/staff/awards/{case.award.pk}/grant-applications/{filing.pk}/return/"
    response = client.post(url, {"return-reason": ""})
    filing.refresh_from_db()
    assert filing.status == GrantApplicationStatus.SUBMITTED
    client.post(url, {"return-reason": "支店コードをご確認ください"})
    filing.refresh_from_db()
    assert filing.status == GrantApplicationStatus.RETURNED
    client.force_login(case.member)
    page = client.get(f"/applications/{case.application.pk}/award/")
    assert "支店コードをご確認ください" in page.content.decode()
    form = client.get(f"/applications/{case.application.pk}/award/grant-application/")
    assert form.context["form"].initial["account_holder_kana"] == filing.account_holder_kana
    assert sum(line["amount"] for line in form.context["budget"].initial) == 1_400_000
    response = client.post(f"/applications/{case.application.pk}/award/grant-application/", form_data())
    assert response.status_code == 302
    assert list(GrantApplication.objects.order_by("number").values_list("number", "status")) == [
        (1, "returned"),
        (2, "submitted"),
    ]


def test_accept_and_decide_through_the_pages(client):
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case, total=1_400_000)
    client.force_login(case.staff)
    response = client.post(f"/staff/awards/{case.award.pk}/grant-applications/{filing.pk}/accept/")
    assert response["Location"] == f"/staff/awards/{case.award.pk}/"
    again = client.post(f"/staff/awards/{case.award.pk}/grant-applications/{filing.pk}/accept/")
    assert again.status_code == 302 and any("already" in text or "既に" in text for text in texts(again))
    page = client.get(f"/staff/awards/{case.award.pk}/")
    form = page.context["sections"]["grant"]["decision_form"]
    assert form.initial["amount"] == 1_400_000
    # Above the amount applied for: a message, not a 500.
    response = client.post(f"/staff/awards/{case.award.pk}/grant-decision/", {"grant-amount": "1,400,001"})
    assert response.status_code == 302
    assert any(format_yen(1_400_000) in text for text in texts(response))
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.ACCEPTED
    client.post(
        f"/staff/awards/{case.award.pk}/grant-decision/",
        {"grant-amount": "１，４００，０００", "grant-conditions": "条件", "grant-progress_report_due": "2025-11-01"},
    )
    case.award.refresh_from_db()
    assert (case.award.status, case.award.granted_amount) == (AwardStatus.GRANTED, 1_400_000)
    assert case.award.progress_report_due == dt.date(2025, 11, 1)


def test_the_decline_form_needs_the_confirmation_and_closes_after_the_period(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    page = client.get(f"/applications/{case.application.pk}/award/")
    assert "decline_form" in page.context["sections"]["grant"]
    url = f"/applications/{case.application.pk}/award/decline/"
    client.post(url, {"decline-reason": "事情により"})
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.GRANTED
    client.post(url, {"decline-reason": "事情により", "decline-confirm": "on"})
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.DECLINED
    late = award_at(AwardStatus.GRANTED)
    late.award.decline_by = dt.date(2020, 1, 1)
    late.award.save(update_fields=["decline_by"])
    client.force_login(late.member)
    page = client.get(f"/applications/{late.application.pk}/award/")
    assert "decline_form" not in page.context["sections"]["grant"]
    response = client.post(
        f"/applications/{late.application.pk}/award/decline/", {"decline-reason": "x", "decline-confirm": "on"}
    )
    assert response.status_code == 302 and any("2020" in text for text in texts(response))


# --- the reserve list ------------------------------------------------------------------------


def test_the_reserve_page_shows_the_free_budget_and_promotes(client):
    case = award_at(AwardStatus.ADOPTED, award_amount=1_500_000)
    case.call.budget_total = 2_700_000
    case.call.save(update_fields=["budget_total"])
    small = reserve(case.call, case.staff, 1_000_000)
    large = reserve(case.call, case.staff, 1_500_000)
    client.force_login(case.staff)
    page = client.get(f"/staff/calls/{case.call.slug}/reserve/")
    fits = {entry["row"].application.pk: entry["fits"] for entry in page.context["entries"]}
    assert fits == {small.pk: True, large.pk: False}
    assert page.context["budget"]["left"] == 1_200_000
    response = client.post(
        f"/staff/calls/{case.call.slug}/reserve/promote/",
        {"application": large.pk, f"p{large.pk}-award_amount": "1,500,000"},
    )
    assert response.status_code == 302 and any(format_yen(1_200_000) in text for text in texts(response)), texts(
        response
    )
    response = client.post(
        f"/staff/calls/{case.call.slug}/reserve/promote/",
        {"application": small.pk, f"p{small.pk}-award_amount": "1,000,000"},
    )
    small.refresh_from_db()
    assert small.status == ApplicationStatus.ADOPTED
    assert response["Location"] == f"/staff/awards/{small.award.pk}/"
    client.post(f"/staff/calls/{case.call.slug}/reserve/close/", {})
    large.refresh_from_db()
    assert large.status == ApplicationStatus.RESERVE
    client.post(f"/staff/calls/{case.call.slug}/reserve/close/", {"close-confirm": "on"})
    large.refresh_from_db()
    assert large.status == ApplicationStatus.NOT_ADOPTED
