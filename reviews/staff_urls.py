from django.urls import path

from . import staff_views

app_name = "review_staff"

urlpatterns = [
    path("", staff_views.settings_page, name="settings"),
    path("phase/", staff_views.phase, name="phase"),
    path("assignments/", staff_views.assignments_page, name="assignments"),
    path("assignments/manual/", staff_views.assign_manual, name="assign_manual"),
    path("assignments/auto/", staff_views.assign_auto, name="assign_auto"),
    path("assignments/<int:pk>/remove/", staff_views.unassign, name="unassign"),
    path("conflicts/", staff_views.record_conflict, name="record_conflict"),
    path("ranking/", staff_views.ranking_page, name="ranking"),
    path("ranking/scores.csv", staff_views.scores_csv, name="scores_csv"),
    path("calibration/", staff_views.calibration_page, name="calibration"),
    path("integrity/", staff_views.integrity_page, name="integrity"),
    path("integrity/recheck/", staff_views.integrity_recheck, name="integrity_recheck"),
    path("integrity/<int:pk>/dismiss/", staff_views.integrity_dismiss, name="integrity_dismiss"),
    path("integrity/<int:pk>/assign/", staff_views.integrity_override, name="integrity_override"),
]
