"""The Content-Security-Policy header (django-csp), on every response but a PDF's.

Chrome shows a PDF through its built-in viewer, which the pages' policy on the PDF response itself
blocks (``object-src 'none'`` and ``style-src 'self'`` apply to the viewer's page:
crbug.com/271452), so staff could not read a PDF in the browser. A PDF response therefore carries
``PDF_POLICY`` instead (unless the view set a policy of its own): no script, no connection, no
form, no framing; the viewer's embedded object and its inline styles allowed. It keeps
``X-Content-Type-Options: nosniff`` and its explicit content type, and PDFs that act (JavaScript,
launch actions) are refused at upload (applications/filetypes.py). Every other response — every
HTML page above all — gets CONTENT_SECURITY_POLICY.
"""

from csp.middleware import CSPMiddleware

PDF_TYPES = ("application/pdf",)

# The policy of a file served to be read in the browser (a PDF) or downloaded.
PDF_POLICY = (
    "default-src 'none'; object-src 'self'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


class PortalCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        content_type = (response.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type in PDF_TYPES:
            response.headers.setdefault("Content-Security-Policy", PDF_POLICY)
            return response
        return super().process_response(request, response)
