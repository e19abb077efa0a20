"""Official letters as signed, tagged PDF/A: one path for the 採択・不採択 notices and the letters
after 採択 (grants/documents.py, grants/letters.py).

``render_official_pdf(html) -> bytes``
    WeasyPrint's PDF/A-2b with tags (``pdf_tags``: headings, paragraphs, lists, tables, the
    document language from ``<html lang="ja">``), fonts embedded as subsets (kodoku_portal/pdf.py).
``sign_pdf(pdf, *, signer_name, reason) -> SignedPdf``
    A PAdES signature (pyHanko, SubFilter ETSI.CAdES.detached, SHA-256) with the portal's
    certificate, a visible appearance on the last page naming ``signer_name`` (e.g.
    「内閣府孤独・孤立対策推進室」), and an RFC 3161 timestamp when ``SIGNING_TSA_URL`` is set. The
    signature is an incremental update: the PDF/A part is left as rendered.
``signing_key() -> SigningKey``
    The certificate and key: ``SIGNING_PKCS12_PATH`` / ``SIGNING_PKCS12_PASSPHRASE`` from the
    environment; without them a local test certificate (CN 「テスト用署名証明書（本番では使用不可）」,
    self-signed) is generated on first use under ``SIGNING_DIR`` (``var/signing/``) and reused.
``verification_code(record, salt) -> str`` / ``new_salt()`` / ``normalise_code(text)``
    The code printed on a letter: the first 16 hex digits of the SHA-256 of a canonical JSON of
    what the letter states (number, date, kind, organisation, amounts) and a random salt kept with
    the letter. The SHA-256 of the signed file cannot be printed on the file it is a hash of, so
    the letter prints this code and the portal keeps the file's SHA-256 beside it (see
    docs/ARCHITECTURE.md, "Signed letters").
``qr_svg(url) -> str``
    The QR code of ``url`` (segno) as inline SVG for a PDF template (no fetch needed).
``check_signatures(pdf) -> SignatureCheck``
    For a file shown to the verification page: whether it holds signatures and whether each is
    intact (the signed bytes unchanged) and covers the whole file. Trust is not judged here: the
    page compares the whole file's SHA-256 with the one kept.

Imports: no project app.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.contrib.staticfiles import finders

from .pdf import render_pdf

logger = logging.getLogger(__name__)

__all__ = [
    "TEST_CERTIFICATE_CN",
    "SignatureCheck",
    "SignedPdf",
    "SigningKey",
    "check_signatures",
    "new_salt",
    "normalise_code",
    "qr_svg",
    "render_official_pdf",
    "sign_pdf",
    "signing_key",
    "verification_code",
]

#: The subject of the local test certificate: it says what it is wherever a reader shows it.
TEST_CERTIFICATE_CN = "テスト用署名証明書（本番では使用不可）"
TEST_CERTIFICATE_ORG = "kodoku-portal ローカル試験用（効力なし）"
TEST_PKCS12_NAME = "test-signing.p12"
#: The local test certificate's passphrase: it protects nothing of value (the certificate is
#: trusted by no one); it is here so the file is a normal PKCS#12 with a passphrase.
TEST_PKCS12_PASSPHRASE = b"kodoku-portal-local-test-only"

#: PDF/A part 2, level B, with tags (WeasyPrint's ``pdf_tags``).
PDF_VARIANT = "pdf/a-2b"
FIELD_NAME = "PortalSignature"
#: The visible signature on the last page, in PDF points (A4 is 595 × 842): in the bottom margin,
#: under the left of the text block (the template keeps this band free).
STAMP_BOX = (71, 14, 311, 56)
STAMP_FONT = "fonts/ipaexg.ttf"


# --- rendering ------------------------------------------------------------------------------


def render_official_pdf(html: str) -> bytes:
    """The letter as PDF/A-2b with a structure tree (tags), fonts embedded."""
    return render_pdf(html, pdf_variant=PDF_VARIANT, pdf_tags=True)


def qr_svg(url: str) -> str:
    """Inline ``<svg>`` of the QR code of ``url`` (error correction M), 0.5 mm a module."""
    import segno

    code = segno.make(url, error="m", micro=False)
    return code.svg_inline(scale=0.5, unit="mm", border=2, omitsize=False, dark="#000", light=None).replace(
        "<svg ", '<svg role="img" ', 1
    )


# --- the verification code ------------------------------------------------------------------


def new_salt() -> str:
    return secrets.token_hex(16)


def canonical_record(record: dict, salt: str) -> bytes:
    """The canonical JSON of what a letter states, with its salt (sorted keys, no spaces, UTF-8)."""
    return json.dumps({**record, "salt": salt}, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def verification_code(record: dict, salt: str) -> str:
    """First 16 hex digits of SHA-256 of the canonical record (lower case, no separators)."""
    return hashlib.sha256(canonical_record(record, salt)).hexdigest()[:16]


def format_code(code: str) -> str:
    """``1a2b3c4d5e6f7a8b`` → ``1A2B-3C4D-5E6F-7A8B`` (as printed)."""
    code = code.upper()
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """What a reader typed → 16 lower-case hex digits, or "" if it is not one (spaces, hyphens and
    full-width characters are forgiven)."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text or "").lower()
    text = "".join(ch for ch in text if ch not in " -‐－ー_")
    return text if len(text) == 16 and all(ch in "0123456789abcdef" for ch in text) else ""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the key --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    signer: object  # pyhanko.sign.signers.SimpleSigner
    test: bool  # the local test certificate
    subject: str  # the certificate's subject, as text


_lock = threading.Lock()
_keys: dict[tuple, SigningKey] = {}


def _test_pkcs12_path() -> Path:
    return Path(settings.SIGNING_DIR) / TEST_PKCS12_NAME


def _generate_test_pkcs12(path: Path) -> None:
    """A self-signed RSA-2048 certificate for signing, marked as a test certificate, valid 10 years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_CERTIFICATE_ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, TEST_CERTIFICATE_CN),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"kodoku-portal test signing", key, cert, None, serialization.BestAvailableEncryption(TEST_PKCS12_PASSPHRASE)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    # If another process generated one meanwhile, keep that one: every letter then names one key.
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    logger.warning("Generated the local TEST signing certificate %s (not for production).", path)


def _kept_key_signer(signer):
    """pyHanko's SimpleSigner parses its private key again for every raw signature, twice a letter
    (a dry run sizes the signature first); with RSA, cryptography's key check makes that ~0.1 s
    each. This signer parses the key once and keeps it (RSA PKCS#1 v1.5 and ECDSA; any other
    mechanism goes to pyHanko's own code)."""
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class KeptKeySigner(SimpleSigner):
        _pyca_key = None

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                name = mechanism.signature_algo
            except ValueError:
                name = mechanism["algorithm"].native
            if name not in ("rsassa_pkcs1v15", "ecdsa"):
                return super().sign_raw(data, digest_algorithm)
            if self._pyca_key is None:
                self._pyca_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
            hash_algo = get_pyca_cryptography_hash(digest_algorithm)
            if name == "ecdsa":
                return self._pyca_key.sign(data, signature_algorithm=ECDSA(hash_algo))
            return self._pyca_key.sign(data, PKCS1v15(), hash_algo)

    return KeptKeySigner(
        signing_key=signer.signing_key, signing_cert=signer.signing_cert, cert_registry=signer.cert_registry
    )


def signing_key() -> SigningKey:
    """The configured PKCS#12, or the local test certificate (generated the first time)."""
    from pyhanko.sign.signers import SimpleSigner

    configured = settings.SIGNING_PKCS12_PATH
    if configured:
        path, passphrase, test = Path(configured), settings.SIGNING_PKCS12_PASSPHRASE.encode() or None, False
    else:
        path, passphrase, test = _test_pkcs12_path(), TEST_PKCS12_PASSPHRASE, True
    with _lock:
        if test and not path.exists():
            _generate_test_pkcs12(path)
        stat = path.stat()
        cache_key = (str(path), stat.st_mtime_ns, stat.st_size, passphrase)
        key = _keys.get(cache_key)
        if key is None:
            signer = _kept_key_signer(
                SimpleSigner.load_pkcs12_data(path.read_bytes(), other_certs=[], passphrase=passphrase)
            )
            key = SigningKey(signer=signer, test=test, subject=signer.signing_cert.subject.human_friendly)
            _keys.clear()
            _keys[cache_key] = key
    return key


# --- timestamps -----------------------------------------------------------------------------


def _timestamper():
    """An RFC 3161 client for ``SIGNING_TSA_URL`` (plain urllib: no extra HTTP library), or None."""
    url = settings.SIGNING_TSA_URL
    if not url:
        return None
    from pyhanko.sign.timestamps.api import TimeStamper
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError, set_tsp_headers

    class UrllibTimeStamper(TimeStamper):
        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            def task():
                request = urllib.request.Request(url, data=req.dump(), headers=set_tsp_headers({}), method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=settings.SIGNING_TSA_TIMEOUT) as response:
                        if response.headers.get("Content-Type") != "application/timestamp-reply":
                            raise TimestampRequestError("Timestamp server response is malformed.")
                        return tsp.TimeStampResp.load(response.read())
                except (OSError, urllib.error.URLError) as exc:
                    raise TimestampRequestError("Error in communication with timestamp server") from exc

            return await asyncio.to_thread(task)

    return UrllibTimeStamper()


# --- signing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    sha256: str
    test_certificate: bool


STAMP_TEXT = "電子署名　%(sender)s\n署名日時　%(ts)s"
_stamp_fonts: dict[str, bytes] = {}


def _stamp_font(signer_name: str) -> bytes:
    """IPAexGothic cut down to the glyphs a stamp for ``signer_name`` can use (its text, printable
    ASCII for the date): pyHanko parses and subsets the font at every signature, and the whole
    4 MB font made that the slowest step of a letter. Kept per signer name, per process."""
    font = _stamp_fonts.get(signer_name)
    if font is None:
        from fontTools import subset, ttLib
        from fontTools.ttLib.scaleUpem import scale_upem

        text = STAMP_TEXT + signer_name + "".join(chr(code) for code in range(0x20, 0x7F)) + "％"
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.layout_features = ["*"]
        with ttLib.TTFont(finders.find(STAMP_FONT)) as ttfont:
            subsetter = subset.Subsetter(options)
            subsetter.populate(text=text)
            subsetter.subset(ttfont)
            # pyHanko writes the glyph widths as if the font had 1,000 units to the em; IPAex has
            # 2,048, which spread the stamp's text to twice its width and cut it off.
            scale_upem(ttfont, 1000)
            out = BytesIO()
            ttfont.save(out)
        font = _stamp_fonts[signer_name] = out.getvalue()
    return font


def _stamp_style(signer_name: str):
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    font = _stamp_font(signer_name)

    class FontFromMemory(GlyphAccumulatorFactory):
        """pyHanko's factory opens the font file and never closes it; this one reads from memory."""

        def create_font_engine(self, writer, obj_stream=None):
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return GlyphAccumulator(
                writer=writer, font_handle=BytesIO(font), font_size=self.font_size, obj_stream=obj_stream
            )

    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(font=FontFromMemory(STAMP_FONT, font_size=8), leading=11),
        timestamp_format="%Y-%m-%d %H:%M:%S %Z",
        border_width=0,
    )


def outside_any_event_loop(function):
    """pyHanko's synchronous calls run their own event loop (``asyncio.run``), which fails in a
    thread that already runs one (an in-process task started from async code, a browser test's
    thread): there the call goes to a short-lived thread of its own."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return function(*args, **kwargs)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(function, *args, **kwargs).result()

    return wrapper


@outside_any_event_loop
def sign_pdf(pdf: bytes, *, signer_name: str, reason: str, location: str = "") -> SignedPdf:
    """Sign ``pdf`` (see the module docstring); the signed bytes and their SHA-256."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    key = signing_key()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or None,
        name=signer_name,
    )
    signer = signers.PdfSigner(
        meta,
        key.signer,
        timestamper=_timestamper(),
        stamp_style=_stamp_style(signer_name),
        new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=-1, box=STAMP_BOX),
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    out = BytesIO()
    signer.sign_pdf(writer, output=out, appearance_text_params={"sender": signer_name.replace("%", "％")})
    data = out.getvalue()
    return SignedPdf(data=data, sha256=sha256_hex(data), test_certificate=key.test)


# --- checking a file shown to the verification page ------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    readable: bool  # a PDF pyHanko could read
    signed: bool  # holds at least one signature
    intact: bool  # every signature's signed bytes unchanged and cryptographically valid
    whole_file: bool  # the last signature covers the whole file (nothing added after it)


@outside_any_event_loop
def check_signatures(pdf: bytes) -> SignatureCheck:
    """Integrity of the signatures in ``pdf``; never raises for a malformed file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception:  # noqa: BLE001 — any parse failure is "not a readable PDF"
        return SignatureCheck(readable=False, signed=False, intact=False, whole_file=False)
    if not embedded:
        return SignatureCheck(readable=True, signed=False, intact=False, whole_file=False)
    context = ValidationContext(trust_roots=[], allow_fetching=False)
    intact, whole = True, False
    for signature in embedded:
        try:
            status = validate_pdf_signature(signature, signer_validation_context=context)
        except Exception:  # noqa: BLE001 — a broken signature dictionary is a broken signature
            intact = False
            continue
        intact = intact and status.intact and status.valid
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    return SignatureCheck(readable=True, signed=True, intact=intact, whole_file=whole)
