"""The Content-Security-Policy header (django-csp), on every response but a PDF's.

Chrome shows a PDF through its built-in viewer, which a policy on the PDF response itself blocks
(``object-src 'none'`` and ``style-src`` apply to the viewer's page: crbug.com/271452), so staff
could not read a PDF in the browser. A PDF response therefore carries no policy; it keeps
``X-Content-Type-Options: nosniff``, its explicit content type and ``X-Frame-Options: DENY``, and
PDFs that act (JavaScript, launch actions) are refused at upload (applications/filetypes.py).
Every other response — every HTML page above all — gets CONTENT_SECURITY_POLICY.
"""

from csp.middleware import CSPMiddleware

NO_POLICY_TYPES = ("application/pdf",)


class PortalCSPMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        content_type = (response.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type in NO_POLICY_TYPES:
            return response
        return super().process_response(request, response)
