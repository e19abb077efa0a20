"""Serving an attachment's file: the one place that turns an ``Attachment`` into a response, for
the organisation's members (a download), and for reviewers and staff (PDF shown in the browser).

The stored type (sniffed at upload, ``filetypes.ALLOWED_KINDS``) decides the Content-Type, never the
name. Every response carries ``X-Content-Type-Options: nosniff`` and a restrictive
Content-Security-Policy of its own: no script, no connection, no form, no framing by another page.
Chrome draws its PDF viewer as a small generated page with inline styles, so styles stay allowed
(a ``sandbox`` directive would block the viewer altogether)."""

from django.http import FileResponse, Http404

from kodoku_portal.csp import PDF_POLICY

from .filetypes import ALLOWED_KINDS, safe_download_name
from .models import Attachment

FILE_CSP = PDF_POLICY

# What may be shown in the browser; Word and Excel files are always downloaded.
INLINE_KINDS = frozenset({"pdf"})


def file_response(handle, *, filename: str, content_type: str, inline: bool) -> FileResponse:
    """A file response with the headers every served document carries."""
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cache-Control"] = "private, no-store"
    return response


def attachment_response(attachment: Attachment, *, inline: bool = False) -> FileResponse:
    """The attachment's file; with ``inline`` a PDF opens in the browser (Office files are still
    downloaded). A file missing from storage is "not found"."""
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    _label, _extension, mime = ALLOWED_KINDS[attachment.file_type]
    return file_response(
        handle,
        filename=safe_download_name(attachment.original_name, attachment.file_type),
        content_type=mime,
        inline=inline and attachment.file_type in INLINE_KINDS,
    )
