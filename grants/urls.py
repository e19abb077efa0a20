from django.urls import path

from . import (
    applicant_views,
    application_views,
    award_views,
    change_views,
    dossier_views,
    grant_views,
    letter_views,
    money_views,
    report_views,
    staff_views,
    views,
)

app_name = "grants"

urlpatterns = [
    path("staff/", views.staff_dashboard, name="staff_dashboard"),
    path("staff/reminders/", views.staff_reminders, name="staff_reminders"),
    path("staff/outbox/", views.staff_outbox, name="staff_outbox"),
    path("staff/outbox/<int:pk>/retry/", views.staff_outbox_retry, name="staff_outbox_retry"),
    path("staff/jobs/<int:pk>/retry/", views.staff_job_retry, name="staff_job_retry"),
    path("calls/<slug:slug>/adopted/", views.adopted_projects, name="adopted"),
    path("staff/calls/<slug:slug>/decisions/", staff_views.decisions_page, name="decisions"),
    path("staff/calls/<slug:slug>/decisions/decide/", staff_views.decide, name="decide"),
    path("staff/calls/<slug:slug>/decisions/proposal/", staff_views.accept_proposal, name="accept_proposal"),
    path("staff/calls/<slug:slug>/decisions/publish/", staff_views.publish, name="publish"),
    path("staff/calls/<slug:slug>/notices/", staff_views.notices_page, name="notices"),
    path("staff/calls/<slug:slug>/notices/send/", staff_views.send_notices, name="send_notices"),
    path("staff/calls/<slug:slug>/notices/progress/", staff_views.notice_progress, name="notice_progress"),
    path("staff/calls/<slug:slug>/audit/", staff_views.audit_trail, name="audit"),
    path("staff/calls/<slug:slug>/adoptions.<str:fmt>", staff_views.export_adoptions, name="export_adoptions"),
    path("staff/awards/", staff_views.awards_board, name="awards"),
    path("staff/awards/<int:pk>/", award_views.staff_award, name="award"),
    path("staff/letters/<int:pk>.pdf", applicant_views.staff_letter_download, name="staff_letter"),
    path("applications/<int:pk>/notice.pdf", applicant_views.notice_download, name="notice"),
    path("applications/<int:pk>/award/", award_views.applicant_award, name="applicant_award"),
    path("applications/<int:pk>/letters/<int:letter>.pdf", applicant_views.letter_download, name="applicant_letter"),
    path("staff/calls/<slug:slug>/applications/", views.staff_call_applications, name="staff_call_applications"),
    *application_views.urlpatterns,
    *grant_views.urlpatterns,
    *change_views.urlpatterns,
    *letter_views.urlpatterns,
    *report_views.urlpatterns,
    *money_views.urlpatterns,
    *dossier_views.urlpatterns,
]
