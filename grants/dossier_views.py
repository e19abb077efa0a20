"""Staff download the dossier (記録一式) of an application or of a whole call, as a streamed ZIP.

Each download is audited (``dossier_downloaded`` on the application, ``call_dossier_downloaded``
on the call) before the first byte is sent."""

from urllib.parse import quote

from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from accounts.permissions import STAFF_ROLES, role_required
from applications.models import Application
from calls.models import Call
from kodoku_portal.workflow import record

from . import dossier

staff_only = role_required(*STAFF_ROLES)


def _zip_response(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f"attachment; filename=\"dossier.zip\"; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store"
    return response


@staff_only
def application_dossier(request, pk):
    application = get_object_or_404(Application.objects.exclude(receipt_number=None), pk=pk)
    with transaction.atomic():
        record(application, by=request.user, action="dossier_downloaded", after={"files": "zip"})
    queryset = dossier.dossier_applications().filter(pk=application.pk)
    return _zip_response(
        dossier.zip_stream(dossier.application_parts(queryset)), f"{dossier.folder_name(application)}.zip"
    )


@staff_only
def call_dossier(request, slug):
    call = get_object_or_404(Call, slug=slug)
    queryset = dossier.dossier_applications().filter(call=call)
    with transaction.atomic():
        record(
            call,
            by=request.user,
            action="call_dossier_downloaded",
            after={"applications": queryset.count()},
            call_id=call.pk,
        )
    return _zip_response(dossier.zip_stream(dossier.application_parts(queryset)), f"{call.slug}-dossier.zip")


urlpatterns = [
    path("staff/applications/<int:pk>/dossier.zip", application_dossier, name="application_dossier"),
    path("staff/calls/<slug:slug>/dossier.zip", call_dossier, name="call_dossier"),
]
