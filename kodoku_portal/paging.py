"""One way to page, sort and filter every list (issue 14): in the database, 50 rows by default.

::

    paging = paginate(
        request,
        selectors.applications_for_staff(call),            # filtered, only() the shown columns
        sorts={"receipt": ("receipt_number",), "amount": ("requested_amount", "receipt_number")},
    )
    return render(request, "…", {"paging": paging, "applications": paging.page})

and in the template ``{% include "includes/_pagination.html" %}`` under the table (it reads
``paging``), ``{% include "includes/_paging_hidden.html" %}`` inside a GET filter form (keeps
the sort; the page is left out, so a new filter starts at page 1), and sortable headers link to
``paging.sort_urls.KEY`` (``paging.sort`` is the active key, ``paging.descending`` its direction).

The query string keeps everything the request had (filters, sort) and only the page changes:
page N's link keeps sort and filters; a sort link keeps the filters and goes back to page 1.
``?sort=-KEY`` reverses KEY's ordering. An unknown sort falls back to the first key; a page
number out of range or not a number shows the nearest page (never an error).
A plain list (rows computed in Python) is paged the same way, without ``sorts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

PER_PAGE = 50
PAGE_PARAM = "page"
SORT_PARAM = "sort"


def _reversed(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


@dataclass
class PageLink:
    number: int | None  # None: an ellipsis
    url: str = ""
    current: bool = False


@dataclass
class Paging:
    page: Page
    query: QueryDict  # the request's query without the page
    sort: str = ""
    descending: bool = False
    sort_urls: dict[str, str] = field(default_factory=dict)
    param: str = PAGE_PARAM

    @property
    def total(self) -> int:
        return self.page.paginator.count

    @property
    def rows(self):
        return self.page.object_list

    def url_for(self, number: int) -> str:
        query = self.query.copy()
        if number > 1:
            query[self.param] = str(number)
        encoded = query.urlencode()
        return f"?{encoded}" if encoded else "?"

    @property
    def previous_url(self) -> str:
        return self.url_for(self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.url_for(self.page.next_page_number()) if self.page.has_next() else ""

    @property
    def links(self) -> list[PageLink]:
        """The page numbers to show: the ends and one either side of the current one."""
        paginator = self.page.paginator
        found = []
        for number in paginator.get_elided_page_range(self.page.number, on_each_side=1, on_ends=1):
            if number == paginator.ELLIPSIS:
                found.append(PageLink(None))
            else:
                found.append(PageLink(number, self.url_for(number), number == self.page.number))
        return found

    @property
    def sort_value(self) -> str:
        """What ``?sort=`` holds now (for a hidden input of a filter form)."""
        if not self.sort:
            return ""
        return f"-{self.sort}" if self.descending else self.sort


def paginate(
    request: HttpRequest,
    rows: QuerySet | Sequence,
    *,
    per_page: int = PER_PAGE,
    sorts: dict[str, Sequence[str]] | None = None,
    default_sort: str = "",
    param: str = PAGE_PARAM,
) -> Paging:
    """Page ``rows`` (a queryset: sliced in the database, counted with one COUNT) for ``request``.

    ``sorts`` maps the keys allowed in ``?sort=`` to ``order_by`` terms (end each with a unique
    column so that pages never overlap); ``default_sort`` (or the first key) when none is asked for.
    """
    query = request.GET.copy()
    query.pop(param, None)
    sort, descending, sort_urls = "", False, {}
    if sorts:
        asked = request.GET.get(SORT_PARAM, "") or default_sort or next(iter(sorts))
        descending = asked.startswith("-")
        sort = asked.lstrip("-")
        if sort not in sorts:
            sort, descending = default_sort.lstrip("-") or next(iter(sorts)), default_sort.startswith("-")
        terms = list(sorts[sort])
        rows = rows.order_by(*([_reversed(term) for term in terms] if descending else terms))
        for key in sorts:
            sorted_query = query.copy()
            # The active key's link turns it round; another key starts ascending.
            sorted_query[SORT_PARAM] = f"-{key}" if key == sort and not descending else key
            sort_urls[key] = f"?{sorted_query.urlencode()}"
    page = Paginator(rows, per_page).get_page(request.GET.get(param))
    if isinstance(rows, QuerySet):
        page.object_list = list(page.object_list)
    return Paging(page=page, query=query, sort=sort, descending=descending, sort_urls=sort_urls, param=param)
