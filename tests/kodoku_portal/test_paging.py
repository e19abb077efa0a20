"""The shared pager (kodoku_portal/paging.py): pages, sort and filters keep each other."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from kodoku_portal.models import OutboxMessage
from kodoku_portal.paging import paginate

pytestmark = pytest.mark.django_db

SORTS = {"when": ("created_at", "id"), "to": ("to_email", "id")}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def messages(n: int) -> None:
    OutboxMessage.objects.bulk_create(
        OutboxMessage(kind="k", subject_type="t", subject_id=i, to_email=f"p{i:03d}@example.jp") for i in range(n)
    )


def page(url: str, **kwargs):
    return paginate(RequestFactory().get(url), OutboxMessage.objects.all(), sorts=SORTS, **kwargs)


def test_fifty_rows_a_page_counted_in_the_database(django_assert_num_queries):
    messages(120)
    with django_assert_num_queries(2):  # one COUNT, one slice
        paging = page("/x/?page=3")
    assert paging.total == 120 and len(paging.rows) == 20 and paging.page.number == 3


def test_a_page_link_keeps_the_sort_and_the_filters():
    messages(120)
    paging = page("/x/?status=failed&kind=reminder&sort=-to&page=2")
    for link in paging.links:
        if link.number:
            query = query_of(link.url)
            assert query["status"] == ["failed"] and query["kind"] == ["reminder"] and query["sort"] == ["-to"]
            assert query.get("page", ["1"]) == [str(link.number)]
    assert query_of(paging.next_url)["page"] == ["3"] and query_of(paging.next_url)["sort"] == ["-to"]
    assert "page" not in query_of(paging.previous_url)  # page 1 needs no number


def test_a_sort_link_keeps_the_filters_and_goes_back_to_page_one():
    messages(120)
    paging = page("/x/?status=failed&sort=to&page=2")
    assert query_of(paging.sort_urls["when"]) == {"status": ["failed"], "sort": ["when"]}
    # The active column's link turns the order round.
    assert query_of(paging.sort_urls["to"]) == {"status": ["failed"], "sort": ["-to"]}


def test_the_filter_form_keeps_the_sort_and_a_new_filter_starts_at_page_one():
    messages(120)
    paging = page("/x/?status=failed&sort=-to&page=2")
    hidden = render_to_string("includes/_paging_hidden.html", {"paging": paging})
    assert 'name="sort" value="-to"' in hidden and "page" not in hidden


def test_the_sort_orders_the_rows_and_a_minus_reverses_it():
    messages(60)
    first = page("/x/?sort=to").rows[0].to_email
    last = page("/x/?sort=-to").rows[0].to_email
    assert (first, last) == ("p000@example.jp", "p059@example.jp")


@pytest.mark.parametrize("sort", ["nonsense", "-", "created_at", "to;drop"])
def test_an_unknown_sort_falls_back_to_the_default(sort):
    messages(3)
    paging = page(f"/x/?sort={sort}")
    assert paging.sort == "when" and not paging.descending


@pytest.mark.parametrize("number", ["999", "abc", "-1", "0"])
def test_a_page_out_of_range_or_not_a_number_shows_a_page(number):
    messages(120)
    assert page(f"/x/?page={number}").page.number in (1, 3)


def test_the_pager_is_a_labelled_nav_with_the_current_page_marked():
    messages(500)
    html = render_to_string("includes/_pagination.html", {"paging": page("/x/?page=5")})
    assert '<nav aria-label="' in html
    assert html.count('aria-current="page"') == 1
    assert 'href="?page=4"' in html and 'href="?page=6"' in html and "…" in html
    assert 'data-testid="paging-total"' in html and "500" in html


def test_one_page_shows_no_pager_but_the_total():
    messages(3)
    html = render_to_string("includes/_pagination.html", {"paging": page("/x/")})
    assert "<nav" not in html and "3" in html


def test_a_list_computed_in_python_is_paged_the_same_way():
    paging = paginate(RequestFactory().get("/x/?page=2&theme=1"), list(range(75)))
    assert paging.rows == list(range(50, 75)) and query_of(paging.previous_url) == {"theme": ["1"]}


def test_an_empty_list_shows_no_pager_at_all():
    assert render_to_string("includes/_pagination.html", {"paging": page("/x/")}).strip() == ""
