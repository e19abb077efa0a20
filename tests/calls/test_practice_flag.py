"""A call's practice flag stays as it is once the call has numbered something: a receipt number
given to an application, or a notice or letter with a document number. Practice calls number their
letters 練習用第N号 and /verify/ reads the flag to say such a letter has no effect, so switching it
then would mix the series and make a practice letter look real (or the reverse). The admin's change
form refuses the switch with a message; a call that has numbered nothing may still switch, and a
numbered call's other fields stay editable."""

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from applications.models import ApplicationStatus
from calls.models import Call
from grants.models import Letter, LetterKind, Notice, NoticeKind
from tests.factories import ApplicationFactory, CallFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUSAL_EN = "whether it is a practice call can no longer be changed"
REFUSAL_JA = "練習用の公募かどうかは変更できません"


class FormData(HTMLParser):
    """What a browser would post from the admin's change form (id "call_form"): its inputs,
    checked boxes, selected options and text areas, as they are shown."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == "call_form":
            self._in_form = True
        if not self._in_form or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self._add(name, attributes.get("value", "on"))
                return
            self._add(name, attributes.get("value") or "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self._add(self._select, attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:  # a browser drops the newline right after <textarea>
                value = self.data[self._textarea][-1]
                self.data[self._textarea][-1] = value[1:] if value.startswith("\n") else value
            self._textarea = None


def change_form(client, call: Call) -> dict[str, list[str]]:
    page = client.get(f"/admin/calls/call/{call.pk}/change/")
    assert page.status_code == 200
    parser = FormData()
    parser.feed(page.content.decode())
    assert ("is_practice" in parser.data) is call.is_practice  # the box is read as it is shown
    return parser.data


def post_change(client, call: Call, data: dict[str, list[str]], language="en"):
    return client.post(f"/admin/calls/call/{call.pk}/change/", data, HTTP_ACCEPT_LANGUAGE=language)


def with_receipt_number(call: Call):
    return ApplicationFactory(
        call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"{call.receipt_prefix}-0001"
    )


def switched(data: dict[str, list[str]], *, to_practice: bool) -> dict[str, list[str]]:
    data = dict(data)
    if to_practice:
        data["is_practice"] = ["on"]
    else:
        data.pop("is_practice", None)
    return data


@pytest.mark.parametrize("practice", [False, True], ids=["official-to-practice", "practice-to-official"])
def test_the_admin_refuses_to_switch_the_flag_of_a_call_with_a_receipt_number(admin_client, practice):
    call = CallFactory(is_practice=practice)
    with_receipt_number(call)
    data = switched(change_form(admin_client, call), to_practice=not practice)

    response = post_change(admin_client, call, data)

    assert response.status_code == 200  # the form again, not the redirect of a saved change
    errors = response.context["adminform"].form.errors
    assert REFUSAL_EN in errors["is_practice"][0]
    assert REFUSAL_EN in response.content.decode()
    call.refresh_from_db()
    assert call.is_practice is practice


def test_the_refusal_reads_in_japanese(admin_client):
    call = CallFactory(is_practice=True)
    with_receipt_number(call)
    data = switched(change_form(admin_client, call), to_practice=False)

    with translation.override("ja"):
        response = post_change(admin_client, call, data, language="ja")

    assert response.status_code == 200
    assert REFUSAL_JA in response.content.decode()
    call.refresh_from_db()
    assert call.is_practice is True


@pytest.mark.parametrize("practice", [False, True], ids=["official-to-practice", "practice-to-official"])
def test_a_call_that_has_numbered_nothing_may_still_switch(admin_client, practice):
    call = CallFactory(is_practice=practice)
    ApplicationFactory(call=call)  # a draft: no receipt number yet
    data = switched(change_form(admin_client, call), to_practice=not practice)

    response = post_change(admin_client, call, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    call.refresh_from_db()
    assert call.is_practice is (not practice)


def test_the_other_fields_of_a_numbered_call_stay_editable(admin_client):
    call = CallFactory(is_practice=True, title="元の題名")
    with_receipt_number(call)
    data = change_form(admin_client, call)
    assert data["is_practice"] == ["on"]  # the flag is posted as it is
    data["title"] = ["新しい題名"]
    data["contact_office"] = ["事務局"]

    response = post_change(admin_client, call, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    call.refresh_from_db()
    assert (call.title, call.contact_office, call.is_practice) == ("新しい題名", "事務局", True)


@pytest.mark.parametrize("document", ["notice", "letter"])
def test_a_numbered_notice_or_letter_alone_keeps_the_flag(document):
    """The documents count on their own (a call imported with its letters, say), not only through
    the receipt number every submitted application has."""
    call = CallFactory(is_practice=False)
    application = ApplicationFactory(call=call, status=ApplicationStatus.ADOPTED)
    assert application.receipt_number is None
    if document == "notice":
        Notice.objects.create(
            application=application, kind=NoticeKind.ADOPTED, document_number="府孤第1号", issued_on=dt.date(2025, 7, 1)
        )
    else:
        Letter.objects.create(
            application=application,
            kind=LetterKind.GRANT_DECISION,
            document_number="府孤第2号",
            issued_on=dt.date(2025, 8, 1),
            issued_by=UserFactory(role="staff"),
        )
    assert call.has_started_numbering()

    call.is_practice = True
    with translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            call.full_clean()
        assert REFUSAL_EN in refused.value.message_dict["is_practice"][0]


def test_a_new_call_may_be_a_practice_call():
    call = CallFactory.build(is_practice=True, programme=ProgrammeFactory())
    assert not call.has_started_numbering()
    call.full_clean()


PREFIX_REFUSAL_EN = (
    "This call has already given receipt numbers with its prefix, so the prefix can no longer be changed"
)


def test_the_admin_refuses_to_change_the_receipt_prefix_once_numbers_are_given(admin_client):
    call = CallFactory(receipt_prefix="R7A")
    with_receipt_number(call)
    data = change_form(admin_client, call)
    data["receipt_prefix"] = ["R7B"]

    response = post_change(admin_client, call, data)

    assert response.status_code == 200
    assert PREFIX_REFUSAL_EN in response.context["adminform"].form.errors["receipt_prefix"][0]
    call.refresh_from_db()
    assert call.receipt_prefix == "R7A"
    with translation.override("ja"):
        japanese = post_change(admin_client, call, data, language="ja").content.decode()
    assert "受付番号を付番済みのため、受付番号の接頭辞は変更できません" in japanese


def test_a_call_without_receipt_numbers_may_change_its_prefix(admin_client):
    call = CallFactory(receipt_prefix="R7A")
    ApplicationFactory(call=call)  # a draft: no receipt number yet
    data = change_form(admin_client, call)
    data["receipt_prefix"] = ["R7B"]

    response = post_change(admin_client, call, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    call.refresh_from_db()
    assert call.receipt_prefix == "R7B"
