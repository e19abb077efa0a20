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
]
