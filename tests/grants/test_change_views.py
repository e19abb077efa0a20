"""The pages of 変更承認申請 and 中止・廃止: the award page section, the forms, the decisions, and
who may use each view (member, another organisation's member, reviewer, staff, anonymous)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from grants import change_steps
from grants.models import AwardDocument, AwardStatus, ChangeKind, ChangeRequest, ChangeStatus, Letter
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import LINES, award_at

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


def form_data(amounts=None, **fields) -> dict:
    """The change form as a browser posts it: the lines in force, some amounts replaced."""
    amounts = amounts or {}
    data = {
        "lines-TOTAL_FORMS": str(len(LINES) + 2),
        "lines-INITIAL_FORMS": str(len(LINES)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "plan_before": "",
        "plan_after": "",
        "reason": "講師の交代のため",
    }
    for index, (category, description, amount) in enumerate(LINES):
        data[f"lines-{index}-category"] = category
        data[f"lines-{index}-description"] = description
        data[f"lines-{index}-amount"] = str(amounts.get(category, amount))
    for index in range(len(LINES), len(LINES) + 2):
        data |= {f"lines-{index}-category": "", f"lines-{index}-description": "", f"lines-{index}-amount": ""}
    data.update(fields)
    return data


def page(case):
    return f"/applications/{case.application.pk}/award/"


def staff_page(case):
    return f"/staff/awards/{case.award.pk}/"


def pending(case):
    return change_steps.change_request(
        award=case.award,
        by=case.member,
        reason="講師の交代",
        lines=[(c, d, {"travel": 100_000, "supplies": 700_000}.get(c, a)) for c, d, a in LINES],
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- the organisation's forms ---------------------------------------------------------------------


def test_the_section_offers_the_form_with_the_threshold_and_the_lines_in_force(client):
    case = award_at(AwardStatus.GRANTED, minor_change_percent=15)
    client.force_login(case.member)
    response = client.get(page(case))
    section = response.context["sections"]["change"]
    assert section["can_request"] is True
    assert "15%" in section["threshold_note"]
    assert [form.initial["amount"] for form in section["formset"].forms[: len(LINES)]] == [a for _c, _d, a in LINES]
    body = response.content.decode()
    assert 'data-testid="change-form"' in body and 'data-testid="discontinue-form"' in body
    assert "15%" in body
    assert body.count('data-testid="budget-version"') == 1


def test_a_minor_change_through_the_form_is_in_force_at_once(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.post(
        reverse("grants:change_new", args=[case.application.pk]),
        form_data({"travel": "１６０，０００", "supplies": "640,000円"}),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == page(case)
    change = ChangeRequest.objects.get(award=case.award)
    assert change.status == ChangeStatus.MINOR
    assert case.award.budget_in_force().by_category()["travel"] == 160_000
    body = response.content.decode()
    assert body.count('data-testid="budget-version"') == 2
    assert 'data-testid="change-diff"' in body and "-40,000" in body and "+40,000" in body


def test_a_larger_change_through_the_form_waits_and_can_be_withdrawn(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    upload = SimpleUploadedFile("見積書.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("grants:change_new", args=[case.application.pk]),
        {**form_data({"travel": "100000", "supplies": "700000"}), "documents": [upload]},
        follow=True,
    )
    change = ChangeRequest.objects.get(award=case.award)
    assert change.status == ChangeStatus.PENDING
    assert AwardDocument.objects.filter(change=change).count() == 1
    body = response.content.decode()
    assert reverse("grants:change_withdraw", args=[case.application.pk, change.pk]) in body
    assert response.context["sections"]["change"]["can_request"] is False
    assert 'data-testid="change-refusal"' in body
    response = client.post(reverse("grants:change_withdraw", args=[case.application.pk, change.pk]), follow=True)
    change.refresh_from_db()
    assert change.status == ChangeStatus.WITHDRAWN
    assert response.context["sections"]["change"]["can_request"] is True


def test_a_total_above_the_granted_amount_is_a_message_with_the_figures(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.post(
        reverse("grants:change_new", args=[case.application.pk]), form_data({"supplies": "700000"}), follow=True
    )
    assert not ChangeRequest.objects.exists()
    [message] = messages_of(response)
    assert "1,600,000" in message and "1,500,000" in message


def test_a_second_request_while_one_is_pending_is_a_message(client):
    case = award_at(AwardStatus.GRANTED)
    pending(case)
    client.force_login(case.member)
    response = client.post(
        reverse("grants:change_new", args=[case.application.pk]),
        form_data({"travel": "190000", "supplies": "610000"}),
        follow=True,
    )
    assert ChangeRequest.objects.count() == 1
    assert messages_of(response)


def test_a_form_with_errors_is_shown_again_with_them(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.post(
        reverse("grants:change_new", args=[case.application.pk]), form_data({"travel": "たくさん"}, reason="")
    )
    assert response.status_code == 200
    assert response.templates[0].name == "grants/award/change_form.html"
    assert response.context["form"].errors["reason"]
    assert response.context["formset"].forms[1].errors["amount"]
    assert not ChangeRequest.objects.exists()


def test_an_attachment_of_the_wrong_type_is_an_error_on_the_form(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    upload = SimpleUploadedFile("写真.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    response = client.post(
        reverse("grants:change_new", args=[case.application.pk]),
        {**form_data({"travel": "100000", "supplies": "700000"}), "documents": [upload]},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["documents"]
    assert not ChangeRequest.objects.exists()


def test_abolition_through_the_form(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.post(
        reverse("grants:change_discontinue", args=[case.application.pk]),
        {"kind": "abolish", "effective_on": "2025-12-31", "reason": "代表者の急病"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == page(case)
    change = ChangeRequest.objects.get(award=case.award)
    assert (change.kind, change.status, change.effective_on) == (
        ChangeKind.ABOLISH,
        ChangeStatus.PENDING,
        dt.date(2025, 12, 31),
    )


def test_a_stop_date_outside_the_project_is_a_message(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    response = client.post(
        reverse("grants:change_discontinue", args=[case.application.pk]),
        {"kind": "suspend", "effective_on": "2026-04-01", "reason": "理由"},
        follow=True,
    )
    assert not ChangeRequest.objects.exists()
    assert messages_of(response)


def test_no_form_before_the_grant_decision(client):
    case = award_at(AwardStatus.ACCEPTED)
    client.force_login(case.member)
    response = client.get(page(case))
    assert response.context["sections"]["change"]["can_request"] is False
    response = client.get(reverse("grants:change_new", args=[case.application.pk]))
    assert response.status_code == 302 and response.url == page(case)


# --- staff -----------------------------------------------------------------------------------------


def test_staff_see_the_decision_form_and_approve(client):
    case = award_at(AwardStatus.GRANTED)
    change = pending(case)
    client.force_login(case.staff)
    body = client.get(staff_page(case)).content.decode()
    decide = reverse("grants:change_decide", args=[case.award.pk, change.pk])
    assert decide in body and 'data-testid="change-form"' not in body
    response = client.post(decide, {"decision": "approve", "note": "承認します"}, follow=True)
    assert response.redirect_chain[-1][0] == staff_page(case)
    change.refresh_from_db()
    assert change.status == ChangeStatus.APPROVED
    letter = Letter.objects.get(change=change)
    body = response.content.decode()
    assert reverse("grants:staff_letter", args=[letter.pk]) in body
    assert "承認します" in body
    # the organisation's page links the letter by its own address
    client.force_login(case.member)
    body = client.get(page(case)).content.decode()
    assert reverse("grants:applicant_letter", args=[case.application.pk, letter.pk]) in body


def test_a_refusal_without_a_note_is_a_message(client):
    case = award_at(AwardStatus.GRANTED)
    change = pending(case)
    client.force_login(case.staff)
    response = client.post(
        reverse("grants:change_decide", args=[case.award.pk, change.pk]),
        {"decision": "refuse", "note": ""},
        follow=True,
    )
    assert messages_of(response)
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING


def test_a_second_decision_is_a_message_saying_what_happened(client):
    case = award_at(AwardStatus.GRANTED)
    change = pending(case)
    client.force_login(case.staff)
    url = reverse("grants:change_decide", args=[case.award.pk, change.pk])
    client.post(url, {"decision": "refuse", "note": "不可"})
    response = client.post(url, {"decision": "approve", "note": ""}, follow=True)
    *_first, message = messages_of(response)  # the first decision's success message comes first
    with translation.override("ja"):
        refused = str(ChangeStatus.REFUSED.label)
    assert case.staff.email in message and refused in message
    change.refresh_from_db()
    assert change.status == ChangeStatus.REFUSED
    assert Letter.objects.filter(change=change).count() == 1


# --- who may use each view --------------------------------------------------------------------------


def people(case):
    reviewer = UserFactory(role=Role.REVIEWER)
    enable_totp(reviewer)
    return {
        "member": case.member,
        "other": award_at(AwardStatus.GRANTED).member,
        "reviewer": reviewer,
        "staff": case.staff,
        "anonymous": None,
    }


def status_of(client, user, method, url, data=None):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.post(url, data or {}) if method == "post" else client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)  # read to the end: the client then closes the file
    if response.status_code == 302 and "/accounts/login/" in response.url:
        return "login"
    return response.status_code


def test_who_may_use_the_organisation_views(client):
    case = award_at(AwardStatus.GRANTED)
    change = pending(case)
    document = AwardDocument.objects.create(
        award=case.award,
        purpose="change",
        change=change,
        title="見積書",
        file=SimpleUploadedFile("x", PDF),
        original_name="見積書.pdf",
        file_type="pdf",
        size=len(PDF),
        uploaded_by=case.member,
    )
    who = people(case)
    app = case.application.pk
    views = {
        "new": ("get", reverse("grants:change_new", args=[app])),
        "discontinue": ("get", reverse("grants:change_discontinue", args=[app])),
        "document": ("get", reverse("grants:change_document", args=[app, document.pk])),
    }
    for name, (method, url) in views.items():
        got = {person: status_of(client, user, method, url) for person, user in who.items()}
        # new/discontinue redirect the member to the page (a request is pending); the file downloads
        expected_member = 200 if name == "document" else 302
        assert got == {"member": expected_member, "other": 404, "reviewer": 403, "staff": 403, "anonymous": "login"}, (
            name
        )
    withdraw = reverse("grants:change_withdraw", args=[app, change.pk])
    got = {person: status_of(client, user, "post", withdraw) for person, user in who.items() if person != "member"}
    assert got == {"other": 404, "reviewer": 403, "staff": 403, "anonymous": "login"}
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeStatus.PENDING
    client.force_login(case.member)
    assert client.get(withdraw).status_code == 405
    assert client.post(withdraw).status_code == 302
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeStatus.WITHDRAWN


def test_the_forms_open_for_the_member_when_nothing_is_pending(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    assert client.get(reverse("grants:change_new", args=[case.application.pk])).status_code == 200
    assert client.get(reverse("grants:change_discontinue", args=[case.application.pk])).status_code == 200


def test_who_may_use_the_staff_views(client):
    case = award_at(AwardStatus.GRANTED)
    change = pending(case)
    document = AwardDocument.objects.create(
        award=case.award,
        purpose="change",
        change=change,
        title="見積書",
        file=SimpleUploadedFile("x", PDF),
        original_name="見積書.pdf",
        file_type="pdf",
        size=len(PDF),
        uploaded_by=case.member,
    )
    who = people(case)
    decide = reverse("grants:change_decide", args=[case.award.pk, change.pk])
    got = {
        person: status_of(client, user, "post", decide, {"decision": "approve"})
        for person, user in who.items()
        if person != "staff"
    }
    assert got == {"member": 403, "other": 403, "reviewer": 403, "anonymous": "login"}
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeStatus.PENDING
    download = reverse("grants:staff_change_document", args=[case.award.pk, document.pk])
    got = {person: status_of(client, user, "get", download) for person, user in who.items()}
    assert got == {"member": 403, "other": 403, "reviewer": 403, "staff": 200, "anonymous": "login"}
    client.force_login(case.staff)
    assert client.get(decide).status_code == 405
    assert client.post(decide, {"decision": "approve"}).status_code == 302
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeStatus.APPROVED


def test_a_document_of_another_award_is_not_found(client):
    case = award_at(AwardStatus.GRANTED)
    other = award_at(AwardStatus.GRANTED)
    change = pending(other)
    document = AwardDocument.objects.create(
        award=other.award,
        purpose="change",
        change=change,
        title="見積書",
        file=SimpleUploadedFile("x", PDF),
        original_name="見積書.pdf",
        file_type="pdf",
        size=len(PDF),
        uploaded_by=other.member,
    )
    client.force_login(case.member)
    assert client.get(reverse("grants:change_document", args=[case.application.pk, document.pk])).status_code == 404
    client.force_login(case.staff)
    url = reverse("grants:staff_change_document", args=[case.award.pk, document.pk])
    assert client.get(url).status_code == 404


def test_more_than_ten_attachments_are_an_error(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    uploads = [SimpleUploadedFile(f"見積書{n}.pdf", PDF, content_type="application/pdf") for n in range(11)]
    response = client.post(
        reverse("grants:change_discontinue", args=[case.application.pk]),
        {"kind": "suspend", "effective_on": "2025-12-01", "reason": "理由", "documents": uploads},
    )
    assert response.status_code == 200
    assert response.context["discontinue_form"].errors["documents"]
    assert not ChangeRequest.objects.exists()


def test_a_discontinuation_keeps_its_attachment(client):
    case = award_at(AwardStatus.GRANTED)
    client.force_login(case.member)
    upload = SimpleUploadedFile("理事会議事録.pdf", PDF, content_type="application/pdf")
    client.post(
        reverse("grants:change_discontinue", args=[case.application.pk]),
        {"kind": "suspend", "effective_on": "2025-12-01", "reason": "理由", "documents": [upload]},
    )
    change = ChangeRequest.objects.get(award=case.award)
    assert [d.original_name for d in change.documents.all()] == ["理事会議事録.pdf"]
