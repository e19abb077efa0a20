from django.conf import settings
from django.contrib import admin
from django.urls import include, path

import accounts.views
import calls.views
from kodoku_portal import views

urlpatterns = [
    path("", calls.views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("csp-report/", views.csp_report, name="csp_report"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/reminders/", accounts.views.reminder_settings, name="accounts_reminders"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("reviews/", include("reviews.urls")),
    path("staff/calls/<slug:slug>/review/", include("reviews.staff_urls")),
    path("", include("calls.urls")),
    path("", include("applications.urls")),
    path("", include("grants.urls")),
    # The public verification of signed letters (grants/verify_views.py).
    path("verify/", include("grants.verify_views")),
]

if settings.BENCH_VIEWS:  # bench/http_rush.py's bare view; off unless DJANGO_BENCH_VIEWS=1
    urlpatterns.append(path("bench/bare/", views.bench_bare, name="bench_bare"))

# A lost database connection outside a view is a 503 page too (kodoku_portal/middleware.py).
handler500 = "kodoku_portal.views.server_error"
