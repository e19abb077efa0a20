"""The virus check of grants' uploaded files (a report's ``Evidence``, an award's ``AwardDocument``:
the files of 交付申請, change requests and reports), done exactly as an application's attachment
is: ``applications.models.ScannedFile`` holds the state and its transitions, and
``applications/scans.py`` schedules the job and records the verdict through the workflow (one job
kind, one handler for every model with a scanned file).

- ``stored_scan_fields()``: the fields a new file is created with (pending when scanning is on);
  ``schedule(stored)`` records its job in the upload's transaction.
- ``carried_scan_fields(source)``: a new row pointing at the same stored file (a returned report's
  evidence carried into the new report) keeps the source's verdict; one not judged yet is checked
  again for the new row.
- ``refuse_unopenable(files, …)``: a filing that holds a file the check has not cleared cannot be
  filed or accepted; the message names each file and its state.
- ``say_when_being_checked(request, files)``: the upload's message when the check is on.
- ``stored_file_response(request, stored, back_url=…)``: serve a file, or the page that says why
  it cannot be opened (403) — the same page and words as an application's attachment.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.shortcuts import render
from django.utils.translation import gettext as _

from applications import scans
from applications.attachment_files import file_response
from applications.filetypes import ALLOWED_KINDS, safe_download_name
from applications.models import ScannedFile, ScanStatus
from kodoku_portal.jp import join_list
from kodoku_portal.workflow import Refused

schedule = scans.schedule


def stored_scan_fields() -> dict:
    """The scan fields of a newly uploaded file."""
    return {"scan_status": scans.initial_status()}


def carried_scan_fields(source: ScannedFile) -> dict:
    """The scan fields of a new row for the same stored file as ``source``."""
    if source.scan_status in (ScanStatus.PENDING, ScanStatus.ERROR):
        return {"scan_status": scans.initial_status()}  # not judged yet: checked again for this row
    return {"scan_status": source.scan_status, "scan_detail": source.scan_detail, "scanned_at": source.scanned_at}


def refuse_unopenable(files: Iterable[ScannedFile], message: str, *, statuses=None, code: str = "scan") -> None:
    """Refused when any of ``files`` is in one of ``statuses`` (default: every state in which the
    file cannot be opened). ``message`` has a ``%(files)s`` placeholder: 「name（隔離）」, …"""
    statuses = frozenset(statuses) if statuses is not None else None
    blocked = [
        stored
        for stored in files
        if (stored.scan_status in statuses if statuses is not None else not stored.may_be_opened)
    ]
    if blocked:
        names = join_list(
            _("“%(name)s” (%(status)s)") % {"name": stored.original_name, "status": stored.get_scan_status_display()}
            for stored in blocked
        )
        raise Refused(message % {"files": names}, code=code)


def say_when_being_checked(request, files: Iterable[ScannedFile]) -> None:
    """After an upload: tell the member that the files are being checked (the words of an
    application's attachment), when scanning is on."""
    from django.contrib import messages

    pending = [stored for stored in files if stored.scan_status == ScanStatus.PENDING]
    if len(pending) == 1:
        messages.info(
            request, _("It is being checked for viruses; it can be opened once the check has found no problem.")
        )
    elif pending:
        messages.info(
            request,
            _("The files are being checked for viruses; each can be opened once the check has found no problem."),
        )


def stored_file_response(request, stored: ScannedFile, *, back_url: str, inline: bool = False):
    """The stored file as a download, or — when the virus check has not cleared it — the page that
    says so (403). A file missing from storage is a 404."""
    from django.http import Http404

    if not stored.may_be_opened:
        return render(
            request, "grants/award/file_unavailable.html", {"stored": stored, "back_url": back_url}, status=403
        )
    try:
        handle = stored.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    _label, _extension, mime = ALLOWED_KINDS.get(stored.file_type, ("", "", "application/octet-stream"))
    return file_response(
        handle,
        filename=safe_download_name(stored.original_name, stored.file_type),
        content_type=mime,
        inline=inline and stored.file_type == "pdf",
    )
