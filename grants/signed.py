"""Signed official letters, the grants' side (the renderer and signer are kodoku_portal/signing.py):
the verification block every letter prints, the record its code is computed from, and the one
render-and-sign step shared by the notices (documents.py) and the letters after 採択 (letters.py).

The code and the file's SHA-256
-------------------------------
A file cannot print the SHA-256 of itself (printing it changes the file, so the hash). Each letter
therefore prints its document number and a *verification code*: the first 16 hex digits of the
SHA-256 of the canonical record of what it states (number, date, kind, organisation, amounts and
the other figures) with a random salt kept in the row (the salt keeps the code from being computed
from public facts such as the adopted list). The portal keeps, beside the code, the SHA-256 of the
signed file exactly as stored and mailed. So:

- number + code (typed, or read from the QR code) → the letter the portal issued with that
  number, and proof the reader holds a copy of it (the code is on no other document);
- an uploaded file → "exactly this file" only when its SHA-256 equals the kept one; otherwise the
  file was changed (its PAdES signature, if any, is checked to say whether it was broken) or is
  not the portal's.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from kodoku_portal.links import absolute_url
from kodoku_portal.signing import format_code, new_salt, qr_svg, render_official_pdf, sign_pdf, verification_code


def verify_url(number: str, code: str) -> str:
    """``<PORTAL_BASE_URL>/verify/?no=<number>&code=<code>`` (what the QR code holds)."""
    return absolute_url("verify:verify") + "?" + urlencode({"no": number, "code": code})


def verification_block(number: str, code: str) -> dict:
    url = verify_url(number, code)
    return {
        "code": format_code(code),
        "url": url,
        "page": absolute_url("verify:verify"),
        "qr_svg": mark_safe(qr_svg(url)),
    }


@dataclass(frozen=True)
class SignedRender:
    data: bytes
    sha256: str
    salt: str
    code: str
    test_certificate: bool


def render_signed(
    template: str, context: dict, *, number: str, record: dict, signer_name: str, reason: str
) -> SignedRender:
    """Render ``template`` as tagged PDF/A with the verification block, and sign it."""
    salt = new_salt()
    code = verification_code(record, salt)
    with translation.override("ja"):
        html = render_to_string(template, {**context, "verification": verification_block(number, code)})
    signed = sign_pdf(render_official_pdf(html), signer_name=signer_name, reason=reason)
    return SignedRender(
        data=signed.data, sha256=signed.sha256, salt=salt, code=code, test_certificate=signed.test_certificate
    )


def signed_mail_context(document) -> dict | None:
    """For a mail carrying a signed letter: its code as printed, the SHA-256 of the attached file
    (the mail is written after signing, so it can state what the letter cannot), and the page."""
    if not getattr(document, "signed_sha256", ""):
        return None
    return {
        "code": format_code(document.verification_code),
        "sha256": document.signed_sha256,
        "page": absolute_url("verify:verify"),
    }


def store_signed(document, rendered: SignedRender) -> list[str]:
    """Set the signed file's fields on ``document`` (a Notice or Letter); the fields to save."""
    document.verification_salt = rendered.salt
    document.verification_code = rendered.code
    document.signed_sha256 = rendered.sha256
    document.signed_with_test_certificate = rendered.test_certificate
    return ["verification_salt", "verification_code", "signed_sha256", "signed_with_test_certificate"]
