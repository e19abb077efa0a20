from django.urls import path

from . import staff_views, stage_views
from .models import ReviewStage

app_name = "review_staff"

urlpatterns = [
    path("", staff_views.settings_page, name="settings"),
    path("phase/", staff_views.phase, name="phase"),
    path("assignments/", staff_views.assignments_page, name="assignments"),
    path("assignments/manual/", staff_views.assign_manual, name="assign_manual"),
    path("assignments/search/<str:kind>/", staff_views.search, name="search"),
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
    # rv-stages: the shortlist and the interview (ヒアリング) of a two-stage call
    path("interview/", stage_views.interview_page, name="interview"),
    path(
        "interview/settings/",
        staff_views.settings_page,
        {"stage": ReviewStage.INTERVIEW},
        name="interview_settings",
    ),
    path("interview/phase/", staff_views.phase, {"stage": ReviewStage.INTERVIEW}, name="interview_phase"),
    path("interview/shortlist/top/", stage_views.shortlist_top, name="shortlist_top"),
    path("interview/shortlist/", stage_views.shortlist_set, name="shortlist_set"),
    path("interview/slots/<int:pk>/", stage_views.slot, name="interview_slot"),
    path("interview/assignments/auto/", stage_views.assign_auto, name="interview_assign_auto"),
    path("interview/assignments/manual/", stage_views.assign_manual, name="interview_assign_manual"),
]
