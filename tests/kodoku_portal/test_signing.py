"""kodoku_portal/signing.py: tagged PDF/A, PAdES signatures validated by pyHanko against an
in-process CA and time-stamping service (tests/signing_pki.py), the local test certificate, the
verification code and the QR code."""

import hashlib
import io
import subprocess
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.validation.status import SignatureCoverageLevel

from kodoku_portal import signing
from tests.signing_pki import validate

HTML = """<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>交付決定通知書</title>
<style>@page { size: A4 }</style></head><body>
<h1>補助金の交付決定について（通知）</h1><p>下記のとおり交付することに決定したので通知します。</p>
<ol><li>条件一</li><li>条件二</li></ol>
<table><tr><th scope="col">費目</th><th scope="col">金額</th></tr><tr><td>謝金</td><td>300,000</td></tr></table>
</body></html>"""


def _flip(data: bytes, marker: bytes) -> bytes:
    """``data`` with one byte changed inside the signed part (the first ``marker``)."""
    at = data.index(marker)
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def test_signed_letter_validates_intact_trusted_and_timestamped(pki):
    signed = signing.sign_pdf(
        signing.render_official_pdf(HTML), signer_name="内閣府孤独・孤立対策推進室", reason="発行"
    )
    signature, status = validate(signed.data, pki.root)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid and status.timestamp_validity.trusted
    assert pki.tsa_requests and pki.tsa_requests[-1] == "application/timestamp-query"
    assert signature.sig_object["/Name"] == "内閣府孤独・孤立対策推進室"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signed.sha256 == hashlib.sha256(signed.data).hexdigest()
    assert not signed.test_certificate


def test_one_byte_changed_fails_in_the_validator(pki):
    signed = signing.sign_pdf(
        signing.render_official_pdf(HTML), signer_name="内閣府孤独・孤立対策推進室", reason="発行"
    )
    altered = _flip(signed.data, b"WeasyPrint")
    _signature, status = validate(altered, pki.root)
    assert not status.intact
    assert not status.bottom_line
    check = signing.check_signatures(altered)
    assert check.signed and not check.intact


def test_a_signature_from_another_ca_is_not_trusted(pki, settings):
    settings.SIGNING_PKCS12_PATH = ""  # the local test certificate, which pki.root did not issue
    signed = signing.sign_pdf(
        signing.render_official_pdf(HTML), signer_name="内閣府孤独・孤立対策推進室", reason="発行"
    )
    _signature, status = validate(signed.data, pki.root)
    assert status.intact and not status.trusted


def test_the_letter_is_pdfa_with_tags_and_language_ja():
    with pikepdf.open(io.BytesIO(signing.render_official_pdf(HTML))) as pdf:
        assert str(pdf.Root.Lang) == "ja"
        assert pdf.Root.MarkInfo.Marked
        kinds = set()

        def walk(node):
            if isinstance(node, pikepdf.Dictionary) and "/S" in node:
                kinds.add(str(node.S))
            kids = node.get("/K") if isinstance(node, pikepdf.Dictionary) else None
            if isinstance(kids, pikepdf.Array):
                for kid in kids:
                    walk(kid)
            elif isinstance(kids, pikepdf.Dictionary):
                walk(kids)

        walk(pdf.Root.StructTreeRoot)
        assert {"/H1", "/P", "/L", "/LI", "/Table", "/TR", "/TH", "/TD"} <= kinds
        with pdf.open_metadata() as meta:
            assert meta.get("pdfaid:part") == "2"
            assert meta.get("pdfaid:conformance") == "B"


def test_without_configuration_a_marked_test_certificate_is_generated_on_first_use(settings, tmp_path):
    settings.SIGNING_DIR = tmp_path / "signing"
    path = tmp_path / "signing" / signing.TEST_PKCS12_NAME
    assert not path.exists()
    signed = signing.sign_pdf(
        signing.render_official_pdf(HTML), signer_name="内閣府孤独・孤立対策推進室", reason="発行"
    )
    assert path.exists() and signed.test_certificate
    _key, cert, _more = pkcs12.load_key_and_certificates(path.read_bytes(), signing.TEST_PKCS12_PASSPHRASE)
    assert cert.subject.rfc4514_string().startswith(f"CN={signing.TEST_CERTIFICATE_CN}")
    assert signing.signing_key().subject.startswith("Common Name: テスト用署名証明書（本番では使用不可）")
    stat = path.stat()
    signing.sign_pdf(signing.render_official_pdf(HTML), signer_name="x", reason="y")
    assert path.stat().st_mtime_ns == stat.st_mtime_ns  # reused, not generated again
    assert signing.check_signatures(signed.data).intact


def test_verification_code_is_the_canonical_records_hash_prefix():
    record = {"number": "府孤第3号", "date": "2026-05-01", "kind": "grant_decision", "details": {"amount": 1500000}}
    code = signing.verification_code(record, "salt")
    canonical = (
        '{"date":"2026-05-01","details":{"amount":1500000},"kind":"grant_decision","number":"府孤第3号","salt":"salt"}'
    )
    assert code == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert signing.verification_code({**record, "details": {"amount": 1500001}}, "salt") != code
    assert signing.normalise_code(signing.format_code(code)) == code
    assert signing.normalise_code("１Ａ２Ｂ－３Ｃ４Ｄ－５Ｅ６Ｆ－７Ａ８Ｂ") == "1a2b3c4d5e6f7a8b"
    assert signing.normalise_code("not a code") == ""


def test_check_signatures_of_junk_and_of_an_unsigned_pdf():
    assert signing.check_signatures(b"%PDF-1.7 garbage") == signing.SignatureCheck(False, False, False, False)
    check = signing.check_signatures(signing.render_official_pdf(HTML))
    assert check.readable and not check.signed


def decode_qr_in_pdf(pdf: bytes, folder: Path) -> list[str]:
    """Every QR code on the PDF's pages, read by zbarimg from a 300 dpi rendering (pdftoppm)."""
    source = folder / "qr.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(source), str(folder / "page")], check=True)
    found = []
    for image in sorted(folder.glob("page*.png")):
        out = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)], capture_output=True, text=True
        )
        found += [line for line in out.stdout.splitlines() if line]
    return found


@pytest.mark.skipif(subprocess.run(["which", "zbarimg"], capture_output=True).returncode != 0, reason="needs zbarimg")
def test_qr_svg_decodes_to_the_url(tmp_path):
    url = "https://portal.example.jp/verify/?no=%E5%BA%9C%E5%AD%A4%E7%AC%AC12%E5%8F%B7&code=1a2b3c4d5e6f7a8b"
    html = HTML.replace("</body>", f"<div>{signing.qr_svg(url)}</div></body>")
    assert decode_qr_in_pdf(signing.render_official_pdf(html), tmp_path) == [url]


def test_signing_works_from_a_thread_that_runs_an_event_loop():
    """pyHanko runs its own event loop: called where one already runs (an in-process task started
    from async code, a browser test's thread) the signature is made in a thread of its own."""
    import asyncio
    import concurrent.futures

    from kodoku_portal import signing

    pdf = signing.render_official_pdf("<html lang='ja'><body><p>テスト</p></body></html>")

    async def inside_a_loop():
        return signing.sign_pdf(pdf, signer_name="内閣府孤独・孤立対策推進室", reason="test")

    # In a thread of its own, with its own running loop (the test's thread may already run one).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        signed = pool.submit(asyncio.run, inside_a_loop()).result()
    assert signed.data.startswith(b"%PDF") and len(signed.sha256) == 64
    assert signing.check_signatures(signed.data).intact
