"""The benchmark's bare view (bench/http_rush.py) is routed only when BENCH_VIEWS is on."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from kodoku_portal.views import bench_bare
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_bare_view_is_not_routed_in_a_deployment(client, settings):
    assert settings.BENCH_VIEWS is False
    with pytest.raises(NoReverseMatch):
        reverse("bench_bare")
    client.force_login(UserFactory())
    assert client.get("/bench/bare/").status_code == 404


@pytest.mark.django_db
def test_the_bare_view_answers_with_the_user_it_read():
    user = UserFactory()
    request = RequestFactory().get("/bench/bare/")
    request.user = user
    assert bench_bare(request).status_code == 200
    request.user = AnonymousUser()
    assert bench_bare(request).status_code == 200
