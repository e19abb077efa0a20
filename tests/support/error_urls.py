"""nc-nav: the portal's URLs plus views that fail on purpose, for the error-page tests."""

from django.core.exceptions import BadRequest, PermissionDenied
from django.urls import path

from kodoku_portal.urls import urlpatterns as portal_urlpatterns


def bad_request(request):
    raise BadRequest("unreadable")


def forbidden(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-errors/400/", bad_request),
    path("test-errors/403/", forbidden),
    path("test-errors/500/", broken),
    *portal_urlpatterns,
]
