"""A receipt prefix belongs to one call: a second call cannot take it (refused in the admin form
with a message), so a submission can never collide with another call's receipt number."""

import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import translation

from calls.models import Call
from tests.factories import CallFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_two_calls_cannot_share_a_receipt_prefix():
    CallFactory(receipt_prefix="R7NPO")
    with pytest.raises(IntegrityError), transaction.atomic():
        CallFactory(receipt_prefix="R7NPO")


def test_the_admin_form_refuses_a_prefix_in_use_with_a_message():
    first = CallFactory(receipt_prefix="R7NPO")
    admin = site._registry[Call]
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = admin.get_form(request, obj=None)
    data = {field: value for field, value in form_class(instance=first).initial.items() if value is not None}
    data.update({"slug": "second-call", "receipt_prefix": "R7NPO", "eligible_types": []})
    with translation.override("en"):
        form = form_class(data=data)
        assert not form.is_valid()
        assert "receipt number prefix already exists" in form.errors["receipt_prefix"][0].lower()
