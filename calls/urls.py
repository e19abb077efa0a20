from django.urls import path

from . import preview_views, views

app_name = "calls"

urlpatterns = [
    path("calls/", views.call_list, name="call_list"),
    path("calls/<slug:slug>/", views.call_detail, name="call_detail"),
    path("staff/forms/<int:pk>/preview/", views.form_preview, name="form_preview"),
    path("staff/forms/<int:pk>/preview/changes/", preview_views.form_preview_edits, name="form_preview_edits"),
]
