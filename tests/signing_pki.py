"""An in-process PKI for the signing tests: a root CA, the portal's signing certificate (PKCS#12)
issued by it, and an RFC 3161 time-stamping service (pyHanko's DummyTimeStamper behind a
loopback HTTP server, so the portal's own TSA client is exercised). Nothing leaves the machine."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PASSPHRASE = "test-passphrase"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not sign_certs,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(subject, key, issuer_name, issuer_key, *, ca=False, eku=None):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(sign_certs=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass
class TestPKI:
    root: asn1_x509.Certificate
    pkcs12_path: Path
    passphrase: str
    tsa_url: str
    tsa_requests: list


def build_pki(folder: Path) -> tuple[asn1_x509.Certificate, Path, object]:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("kodoku-portal Test Root CA")
    root = _issue(root_name, root_key, root_name, root_key, ca=True)
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = _issue(_name("内閣府孤独・孤立対策推進室（試験）"), signer_key, root_name, root_key)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # DummyTimeStamper is RSA-only
    tsa = _issue(_name("kodoku-portal Test TSA"), tsa_key, root_name, root_key, eku=ExtendedKeyUsageOID.TIME_STAMPING)
    path = folder / "portal.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"portal", signer_key, signer, [root], serialization.BestAvailableEncryption(PASSPHRASE.encode())
        )
    )
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    stamper = DummyTimeStamper(
        tsa_cert=asn1_cert(tsa),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        certs_to_embed=[asn1_cert(root)],
    )
    return asn1_cert(root), path, stamper


def serve_tsa(stamper, requests: list) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(self.headers.get("Content-Type"))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/tsa"


@pytest.fixture(scope="session")
def _pki_parts(tmp_path_factory):
    root, path, stamper = build_pki(tmp_path_factory.mktemp("pki"))
    requests: list = []
    server, url = serve_tsa(stamper, requests)
    yield root, path, url, requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def pki(settings, _pki_parts) -> TestPKI:
    """The portal configured with the test CA's certificate and the loopback TSA."""
    root, path, url, requests = _pki_parts
    settings.SIGNING_PKCS12_PATH = str(path)
    settings.SIGNING_PKCS12_PASSPHRASE = PASSPHRASE
    settings.SIGNING_TSA_URL = url
    return TestPKI(root=root, pkcs12_path=path, passphrase=PASSPHRASE, tsa_url=url, tsa_requests=requests)


def validate(pdf: bytes, root: asn1_x509.Certificate):
    """pyHanko's validator, trusting only ``root``; the status of the (one) signature."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from kodoku_portal.signing import outside_any_event_loop

    reader = PdfFileReader(BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    # pyHanko runs an event loop of its own; the browser tests leave one running in this thread.
    return signature, outside_any_event_loop(validate_pdf_signature)(
        signature, signer_validation_context=context, ts_validation_context=context
    )
