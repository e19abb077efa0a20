from django.urls import path

from .views import drafts, organisations, submission

app_name = "applications"

urlpatterns = [
    path("applications/", drafts.dashboard, name="dashboard"),
    path("calls/<slug:slug>/apply/", drafts.application_start, name="start"),
    path("applications/<int:pk>/", drafts.application_detail, name="detail"),
    path("applications/<int:pk>/section/<slug:key>/", drafts.application_section, name="section"),
    path("applications/<int:pk>/form/move/", drafts.form_move, name="form_move"),
    path("applications/<int:pk>/save/", drafts.application_save, name="save"),
    path("applications/<int:pk>/unsaved/<int:refused_pk>/", drafts.refused_save, name="refused_save"),
    path("applications/<int:pk>/attachments/", drafts.attachment_upload, name="attachment_upload"),
    path("applications/<int:pk>/attachments/<int:attachment_pk>/", drafts.attachment_download, name="attachment"),
    path(
        "applications/<int:pk>/attachments/<int:attachment_pk>/delete/",
        drafts.attachment_delete,
        name="attachment_delete",
    ),
    path("applications/<int:pk>/preview/", submission.preview, name="preview"),
    path("applications/<int:pk>/submit/", submission.submit, name="submit"),
    path("applications/<int:pk>/withdraw/", submission.withdraw, name="withdraw"),
    path("applications/<int:pk>/receipt.pdf", submission.receipt_download, name="receipt"),
    path("organisations/new/", organisations.organisation_create, name="organisation_create"),
    path("organisations/<int:pk>/", organisations.organisation_detail, name="organisation"),
    path("organisations/<int:pk>/invite/", organisations.organisation_invite, name="organisation_invite"),
    path("invitations/<str:token>/", organisations.invitation_accept, name="invitation_accept"),
]
