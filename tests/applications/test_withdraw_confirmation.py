"""nc-nav (issue 12, item 3): 取下げ happens only when the member ticked the box that names the
consequence; the server checks it."""

import pytest
from django.contrib.messages import get_messages
from django.utils import translation

from applications import services
from applications.models import Application, ApplicationStatus
from tests.factories import ApplicationFactory

from .conftest import save_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(open_call, organisation, member):
    draft = save_complete(ApplicationFactory(call=open_call, organisation=organisation), member)
    return services.application_submit(application_id=draft.pk, user=member)


def test_the_page_names_the_consequence_of_withdrawing(client, submitted, member):
    client.force_login(member)
    with translation.override("en"):
        page = client.get(f"/applications/{submitted.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="confirm"' in page
    assert "it cannot be submitted again" in page


def test_an_application_is_not_withdrawn_without_confirmation(client, submitted, member):
    client.force_login(member)
    response = client.post(f"/applications/{submitted.pk}/withdraw/")
    assert response.status_code == 302
    assert Application.objects.get(pk=submitted.pk).status == ApplicationStatus.SUBMITTED
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["error"]
    client.post(f"/applications/{submitted.pk}/withdraw/", {"confirm": "1"})
    assert Application.objects.get(pk=submitted.pk).status == ApplicationStatus.WITHDRAWN
