"""Helpers for views: turning a ``Refused`` into messages and a redirect.

::

    @login_required
    @require_POST
    @refusals_to_messages("applications:detail")      # reversed with the view's kwargs (pk=…)
    def submit(request, pk):
        services.application_submit(application_id=pk, user=request.user)
        ...
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse

from .workflow import Refused

__all__ = ["confirmed", "refusals_to_messages"]

RedirectTarget = Callable[..., str] | str | None


def _reverse_with_view_kwargs(name: str, kwargs: dict[str, Any]) -> str:
    """Reverse ``name`` with the largest subset of the view's kwargs the URL accepts (all of them
    first, then fewer: a page of one item redirects to its parent's page without the item's id)."""
    keys = list(kwargs)
    for size in range(len(keys), -1, -1):
        for subset in itertools.combinations(keys, size):
            try:
                return reverse(name, kwargs={key: kwargs[key] for key in subset})
            except NoReverseMatch:
                continue
    raise NoReverseMatch(f"refusals_to_messages: {name!r} cannot be reversed with any of {keys}")


def _target(redirect_to: RedirectTarget, request: HttpRequest, kwargs: dict[str, Any]) -> str:
    if redirect_to is None:
        return request.get_full_path()
    if callable(redirect_to):
        return redirect_to(request, **kwargs)
    if redirect_to.startswith(("/", "http://", "https://")):
        return redirect_to
    return _reverse_with_view_kwargs(redirect_to, kwargs)


def refusals_to_messages(
    redirect_to: RedirectTarget = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view: a ``Refused`` it raises becomes one error message per ``refused.messages``
    (``django.contrib.messages.error``) and a redirect to:

    - ``redirect_to(request, **view_kwargs)`` when it is a callable;
    - the URL named ``redirect_to``, reversed with the view's keyword arguments (the largest subset
      of them the pattern accepts), or the path itself when it starts with "/";
    - the request's own path (with its query string) when None — after a POST this shows the page
      again with the messages. A refusal of a GET or HEAD with None re-raises instead, since
      redirecting a page to itself would loop.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except Refused as refused:
                if redirect_to is None and request.method in ("GET", "HEAD"):
                    raise
                for message in refused.messages:
                    messages.error(request, message)
                return HttpResponseRedirect(_target(redirect_to, request, kwargs))

        return wrapper

    return decorator


def confirmed(request: HttpRequest) -> bool:
    """An irreversible action runs only when its form says so: the ``confirm`` checkbox of
    ``templates/_confirm_checkbox.html`` (which names the consequence) was ticked. Checked by the
    server: a POST without it changes nothing."""
    return request.POST.get("confirm") == "1"
