from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.home, name="home"),
    path("assignments/<int:pk>/declare/", views.declare, name="declare"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("assignments/<int:pk>/attachments/<int:attachment_pk>/", views.assignment_attachment, name="attachment"),
    path("affiliations/", views.affiliations, name="affiliations"),
    path("affiliations/<int:pk>/remove/", views.affiliation_remove, name="affiliation_remove"),
]
