from django.urls import path

from . import views

app_name = "grants"

urlpatterns = [
    path("calls/", views.call_list, name="call_list"),
    path("calls/<slug:slug>/", views.call_detail, name="call_detail"),
    path("staff/", views.staff_dashboard, name="staff_dashboard"),
    path("staff/reminders/", views.staff_reminders, name="staff_reminders"),
    path("staff/calls/<slug:slug>/applications/", views.staff_call_applications, name="staff_call_applications"),
]
