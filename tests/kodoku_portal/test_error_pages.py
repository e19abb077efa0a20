"""nc-nav (issue 12, item 6): 400, 403, 404, 500 and the CSRF failure in the portal's layout, in
the user's language, with a way back — with DEBUG off, as in production. The 500 page reads
nothing from the database and needs no request."""

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.views.defaults import server_error

from accounts.models import Role
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.error_urls")]

PAGES = {
    400: ("/test-errors/400/", "The request could not be understood", "リクエストを読み取れませんでした"),
    403: ("/test-errors/403/", "You cannot open this page", "このページは開けません"),
    404: ("/no-such-page/", "Page not found", "ページが見つかりません"),
    500: ("/test-errors/500/", "Something went wrong on our side", "システムでエラーが発生しました"),
}


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def fetch(path: str, language: str) -> tuple[int, str]:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
    response = client.get(path)
    return response.status_code, response.content.decode()


def assert_portal_error_page(html: str, language: str) -> None:
    assert f'<html lang="{language}">' in html
    assert 'data-testid="error-page"' in html
    assert 'data-testid="ways-back"' in html and 'href="/"' in html and 'href="/calls/"' in html
    assert "data-history-back" in html  # the previous page, where the browser has one
    assert "Server Error (500)" not in html and "<h1>Not Found</h1>" not in html
    assert "/static/css/portal.css" in html and 'rel="icon"' in html
    assert "<style" not in html and "style=" not in html and "<script>" not in html


@pytest.mark.parametrize("status", sorted(PAGES))
def test_each_error_page_in_english(status):
    path, english, _japanese = PAGES[status]
    code, html = fetch(path, "en")
    assert code == status
    assert english in html
    assert "Go to the top page" in html
    assert_portal_error_page(html, "en")


@pytest.mark.parametrize("status", sorted(PAGES))
def test_each_error_page_in_japanese(status):
    path, _english, japanese = PAGES[status]
    code, html = fetch(path, "ja")
    assert code == status
    assert japanese in html
    assert "トップページへ" in html
    assert_portal_error_page(html, "ja")


def test_a_signed_in_user_without_access_gets_the_portals_403(settings):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(role=Role.APPLICANT))
    response = client.get("/staff/")
    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "text"), [("en", "The form has expired"), ("ja", "フォームの有効期限が切れました")]
)
def test_a_failed_csrf_check_gets_the_portals_page(language, text):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    response = client.post("/accounts/login/", {"login": "someone@example.jp", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert text in html
    assert_portal_error_page(html, language)


def test_the_500_page_reads_nothing_from_the_database_and_needs_no_request():
    with CaptureQueriesContext(connection) as queries:
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert len(queries) == 0
    assert 'data-testid="error-page"' in response.content.decode()


@pytest.mark.parametrize("role", [None, Role.APPLICANT, Role.STAFF])
def test_favicon_ico_is_the_portals_icon_for_everyone(client, role):
    """/favicon.ico (asked for by pages that name no icon, e.g. the admin) leads to the static icon,
    whoever asks; the page layouts link it themselves."""
    if role:
        client.force_login(UserFactory(role=role))
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.ico"
    assert 'rel="icon" href="/static/favicon.ico"' in client.get("/").content.decode()
