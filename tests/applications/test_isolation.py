"""No user reaches another organisation's application, attachment, receipt or kept text — by URL or id."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from applications import services
from tests.factories import UserFactory, enable_totp

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def submitted_with_everything(complete_draft, member, django_capture_on_commit_callbacks):
    services.attachment_add(
        application=complete_draft,
        kind="articles",
        upload=SimpleUploadedFile("定款.pdf", PDF, content_type="application/pdf"),
        file_type="pdf",
        user=member,
    )
    services.application_save_draft(
        application_id=complete_draft.pk, user=member, fields={}, budget_lines=[], base_version=0, raw={"title": ["x"]}
    )
    complete_draft.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=complete_draft.pk, user=member)
    return complete_draft


def urls(application):
    attachment = application.attachments.get()
    refused = application.refused_saves.get()
    pk = application.pk
    return {
        "get": [
            f"/applications/{pk}/",
            f"/applications/{pk}/preview/",
            f"/applications/{pk}/receipt.pdf",
            f"/applications/{pk}/attachments/{attachment.pk}/",
            f"/applications/{pk}/unsaved/{refused.pk}/",
            f"/organisations/{application.organisation_id}/",
        ],
        "post": [
            f"/applications/{pk}/save/",
            f"/applications/{pk}/submit/",
            f"/applications/{pk}/withdraw/",
            f"/applications/{pk}/attachments/",
            f"/applications/{pk}/attachments/{attachment.pk}/delete/",
            f"/applications/{pk}/unsaved/{refused.pk}/",
            f"/organisations/{application.organisation_id}/invite/",
        ],
    }


def test_the_member_reaches_every_page(client, submitted_with_everything, member):
    client.force_login(member)
    for url in urls(submitted_with_everything)["get"]:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            # Consuming the stream closes the file; calling response.close() here would also
            # fire request_finished, which closes the test's database connection.
            b"".join(response.streaming_content)


def test_another_organisations_member_gets_not_found_everywhere(client, submitted_with_everything, outsider):
    client.force_login(outsider)
    for url in urls(submitted_with_everything)["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls(submitted_with_everything)["post"]:
        assert client.post(url, {"title": "乗っ取り", "email": "x@example.jp"}).status_code == 404, url
    submitted_with_everything.refresh_from_db()
    assert submitted_with_everything.status == "submitted"
    assert submitted_with_everything.title == "まちの縁側カフェ"


def test_ids_of_other_rows_do_not_combine(client, submitted_with_everything, outsider, open_call):
    """The outsider's own application id with the victim's attachment id is still not found."""
    from applications.models import Membership
    from tests.factories import ApplicationFactory

    own_org = Membership.objects.get(user=outsider).organisation
    own = ApplicationFactory(call=open_call, organisation=own_org)
    attachment = submitted_with_everything.attachments.get()
    client.force_login(outsider)
    assert client.get(f"/applications/{own.pk}/attachments/{attachment.pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.STAFF, Role.ADMINISTRATOR])
def test_other_roles_do_not_use_applicant_pages(client, submitted_with_everything, role):
    user = UserFactory(role=role)
    enable_totp(user)
    client.force_login(user)
    for url in urls(submitted_with_everything)["get"][:5]:
        assert client.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(client, submitted_with_everything):
    for url in urls(submitted_with_everything)["get"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
