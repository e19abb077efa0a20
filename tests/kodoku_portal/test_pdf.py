"""kodoku_portal.pdf: Japanese PDFs with embedded IPAex fonts, and a fetcher that reads static files only."""

import builtins
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils.html import escape

from kodoku_portal import pdf
from kodoku_portal.pdf import FONT_FACE_CSS, URL_FETCHER, ResourceRefused, render_pdf, static_base_url

JAPANESE_TEXT = "令和7年5月30日 受付票 特定非営利活動法人 つながりデモの会"
FONT_DIR = Path(django_settings.BASE_DIR) / "static" / "fonts"


def _receipt_html(body: str = "", head: str = "") -> str:
    return f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>受付票</title>
<style>
@page {{ size: A4; margin: 20mm; }}
h1 {{ font-family: IPAexGothic; }}
p {{ font-family: IPAexMincho; }}
</style>
{head}
</head>
<body>
<h1>受付票</h1>
<p>{JAPANESE_TEXT}</p>
{body}
</body>
</html>"""


def _poppler(tool: str, data: bytes, *args: str) -> str:
    result = subprocess.run([tool, *args, "-", "-"], input=data, capture_output=True, check=True, timeout=60)
    return result.stdout.decode()


def _pdf_text(data: bytes) -> str:
    return " ".join(_poppler("pdftotext", data, "-enc", "UTF-8").split())


def _pdf_fonts(data: bytes) -> list[tuple[str, str]]:
    """(font name, emb column) for each font that pdffonts lists."""
    result = subprocess.run(["pdffonts", "-"], input=data, capture_output=True, check=True, timeout=60)
    lines = result.stdout.decode().splitlines()[2:]  # skip the header and the dashes
    # The type column has spaces ("CID TrueType"); the last five columns do not.
    return [(line.split()[0], line.split()[-5]) for line in lines if line.strip()]


def _pdf_page_size(data: bytes) -> str:
    result = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True, timeout=60)
    return next(line for line in result.stdout.decode().splitlines() if line.startswith("Page size:"))


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        pytest.fail(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def opened_paths(monkeypatch):
    """Every path opened through builtins.open while the test runs (urllib's file: handler uses it)."""
    paths: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        paths.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return paths


@pytest.fixture
def fetched_urls(monkeypatch):
    """Every URL that WeasyPrint hands to the portal's fetcher, and what came of it."""
    calls: list[tuple[str, str]] = []
    real_fetch = URL_FETCHER.fetch

    def spy(url, headers=None):
        try:
            response = real_fetch(url, headers)
        except Exception as exc:
            calls.append((url, type(exc).__name__))
            raise
        calls.append((url, "ok"))
        return response

    monkeypatch.setattr(URL_FETCHER, "fetch", spy)
    return calls


# 1. Japanese text and embedded fonts ---------------------------------------------------------------


def test_japanese_a4_document_has_its_text_and_only_embedded_ipaex_fonts():
    data = render_pdf(_receipt_html())

    assert data.startswith(b"%PDF-")
    assert JAPANESE_TEXT in _pdf_text(data)
    assert "(A4)" in _pdf_page_size(data)

    fonts = _pdf_fonts(data)
    families = {name.split("+", 1)[-1] for name, _ in fonts}  # "ABCDEF+IPAexMincho" is a subset
    assert any(family.startswith("IPAexMincho") for family in families), fonts
    assert any(family.startswith("IPAexGothic") for family in families), fonts
    assert all(family.startswith("IPAex") for family in families), fonts
    assert all(emb == "yes" for _, emb in fonts), fonts
    assert all("+" in name for name, _ in fonts), f"fonts should be embedded as subsets: {fonts}"
    # A subset of two ~4 MB fonts keeps a one-page receipt small.
    assert len(data) < 200_000


def test_ipaex_mincho_is_the_default_family():
    data = render_pdf(f'<html lang="ja"><body><p>{JAPANESE_TEXT}</p></body></html>')
    assert JAPANESE_TEXT in _pdf_text(data)
    assert [name.split("+", 1)[-1] for name, _ in _pdf_fonts(data)] == ["IPAexMincho"]


def test_font_face_css_is_template_friendly():
    assert "font-family: IPAexMincho" in FONT_FACE_CSS
    assert "font-family: IPAexGothic" in FONT_FACE_CSS
    assert f"url({static_base_url()}fonts/ipaexm.ttf)" in FONT_FACE_CSS
    assert f"url({static_base_url()}fonts/ipaexg.ttf)" in FONT_FACE_CSS
    # Nothing for autoescaping to change: {{ font_face_css }} can go straight into <style>.
    assert escape(FONT_FACE_CSS) == FONT_FACE_CSS


def test_template_with_its_own_font_faces_and_static_urls_renders(fetched_urls):
    html = _receipt_html(
        head=(
            f"<style>{FONT_FACE_CSS}\n"
            "@font-face { font-family: Gothic2; src: url('/static/fonts/ipaexg.ttf'); }\n"
            ".g2 { font-family: Gothic2; }</style>"
        ),
        body='<p class="g2">ゴシック体</p>',
    )
    data = render_pdf(html)
    assert "ゴシック体" in _pdf_text(data)
    assert all(emb == "yes" for _, emb in _pdf_fonts(data))
    assert all(outcome == "ok" for _, outcome in fetched_urls), fetched_urls


def test_font_configuration_is_reused_within_a_thread_but_not_shared_across_threads():
    render_pdf(_receipt_html())
    kit = pdf._kit()
    render_pdf(_receipt_html())
    assert pdf._kit() is kit

    other: list = []
    thread = threading.Thread(target=lambda: other.append((pdf._kit(), render_pdf(_receipt_html()))))
    thread.start()
    thread.join()
    other_kit, other_pdf = other[0]
    assert other_kit is not kit
    assert other_kit.font_config is not kit.font_config
    assert JAPANESE_TEXT in _pdf_text(other_pdf)


# 2. Nothing outside static is read ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "file://localhost/etc/passwd", "FILE:///etc/passwd", "file:/etc/passwd"],
)
def test_fetcher_refuses_file_urls(url, opened_paths):
    with pytest.raises(ResourceRefused):
        URL_FETCHER(url)
    with pytest.raises(ResourceRefused):
        URL_FETCHER.fetch(url)
    assert not any("passwd" in path for path in opened_paths)


def test_document_cannot_read_local_files(tmp_path, opened_paths, fetched_urls, no_network):
    marker = "LEAKED-FILE-MARKER-7f3a"
    secret = tmp_path / "secret.txt"
    secret.write_text(marker, encoding="utf-8")
    evil_css = tmp_path / "evil.css"
    evil_css.write_text(
        f'body::after {{ content: "CSS-INJECTED-{marker}"; font-family: IPAexGothic; }}', encoding="utf-8"
    )
    svg = tmp_path / "image.svg"
    svg.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><text y="20">{marker}</text></svg>',
        encoding="utf-8",
    )
    opened_paths.clear()  # the fixture files above were written through open()

    evil_uri = evil_css.as_uri()
    html = _receipt_html(
        head=(
            f'<link rel="stylesheet" href="{evil_uri}">\n'
            '<link rel="stylesheet" href="file:///etc/passwd">\n'
            f'<link rel="attachment" href="{secret.as_uri()}">\n'
            f"<style>@import url({evil_uri});\n"
            f"body {{ background: url({svg.as_uri()}); }}\n"
            f"@font-face {{ font-family: Leak; src: url({secret.as_uri()}), local(DejaVu Sans); }}\n"
            ".leak { font-family: Leak; }</style>"
        ),
        body=(
            '<img src="file:///etc/passwd" alt="">\n'
            f'<img src="{svg.as_uri()}" alt="">\n'
            f'<object data="{svg.as_uri()}"></object>\n'
            f'<embed src="{svg.as_uri()}">\n'
            f'<p class="leak">漏洩なし</p>\n'
            f'<a rel="attachment" href="{secret.as_uri()}">添付</a>\n'
            f'<div style="background-image: url(file://{tmp_path}/secret.txt)">背景</div>'
        ),
    )

    data = render_pdf(html)

    text = _pdf_text(data)
    assert JAPANESE_TEXT in text, "the document still renders"
    assert marker not in text
    assert marker.encode() not in data
    assert not any(str(tmp_path) in path or "passwd" in path for path in opened_paths), opened_paths
    # Every local URL reached the portal's fetcher and was refused there.
    refused = {url for url, outcome in fetched_urls if outcome == "ResourceRefused"}
    assert {evil_uri, svg.as_uri(), secret.as_uri(), "file:///etc/passwd"} <= refused, fetched_urls
    assert not any(outcome == "ok" and not url.startswith(static_base_url()) for url, outcome in fetched_urls)
    # No attachment was embedded.
    attachments = subprocess.run(["pdfdetach", "-list", "-"], input=data, capture_output=True, timeout=60)
    assert "secret" not in attachments.stdout.decode()


def test_base_element_and_relative_urls_cannot_escape_to_the_filesystem(tmp_path, fetched_urls):
    (tmp_path / "evil.css").write_text('body::after { content: "BASE-ESCAPE-MARKER"; }', encoding="utf-8")
    html = _receipt_html(head=f'<base href="{tmp_path.as_uri()}/"><link rel="stylesheet" href="evil.css">')
    data = render_pdf(html)
    assert "BASE-ESCAPE-MARKER" not in _pdf_text(data)
    assert (f"{tmp_path.as_uri()}/evil.css", "ResourceRefused") in fetched_urls


def test_a_static_stylesheet_is_served_but_the_same_file_outside_static_is_not(tmp_path, settings, fetched_urls):
    static_dir = tmp_path / "static"
    (static_dir / "css").mkdir(parents=True)
    (static_dir / "css" / "receipt.css").write_text('body::after { content: "STATIC-CSS-APPLIED"; }', encoding="utf-8")
    outside = tmp_path / "outside.css"
    outside.write_text('body::before { content: "OUTSIDE-CSS-APPLIED"; }', encoding="utf-8")
    settings.STATICFILES_DIRS = [*django_settings.STATICFILES_DIRS, static_dir]

    html = _receipt_html(
        head=(
            '<link rel="stylesheet" href="/static/css/receipt.css">'  # what {% static %} gives
            f'<link rel="stylesheet" href="{outside.as_uri()}">'
            '<link rel="stylesheet" href="/static/../outside.css">'
        )
    )
    text = _pdf_text(render_pdf(html))
    assert "STATIC-CSS-APPLIED" in text
    assert "OUTSIDE-CSS-APPLIED" not in text
    assert (f"{static_base_url()}css/receipt.css", "ok") in fetched_urls


# 3. No network ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/static/fonts/ipaexm.ttf",
        "https://127.0.0.1:1/static/fonts/ipaexm.ttf",
        "http://[::1]:1/x.png",
        "http://portal.invalid/static/fonts/ipaexm.ttf",  # right host, wrong scheme
        "https://portal.invalid:8443/static/fonts/ipaexm.ttf",  # right host, other port
        "https://portal.invalid.example.com/static/fonts/ipaexm.ttf",
        "https://portal.invalid@example.com/static/fonts/ipaexm.ttf",
        "//example.com/static/fonts/ipaexm.ttf",
        "ftp://example.com/x.png",
        "data:text/css,body::after{content:'DATA'}",
        "data:image/png;base64,iVBORw0KGgo=",
        "fonts/ipaexm.ttf",  # relative, without the static base
        "",
    ],
)
def test_fetcher_refuses_every_other_url_without_touching_the_network(url, no_network):
    with pytest.raises(ResourceRefused):
        URL_FETCHER(url)


def test_remote_resources_are_skipped_and_the_document_still_renders(no_network, fetched_urls):
    html = _receipt_html(
        head='<link rel="stylesheet" href="https://example.com/evil.css">',
        body='<img src="http://example.com/x.png" alt=""><img src="https://127.0.0.1:1/y.png" alt="">',
    )
    assert JAPANESE_TEXT in _pdf_text(render_pdf(html))
    assert ("http://example.com/x.png", "ResourceRefused") in fetched_urls
    assert ("https://127.0.0.1:1/y.png", "ResourceRefused") in fetched_urls


# 4. Path traversal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/static/../settings.py",
        "/static/../../kodoku_portal/settings.py",
        "/static/%2e%2e/kodoku_portal/settings.py",
        "/static/%2E%2E/%2E%2E/etc/passwd",
        "/static/fonts/..%2f..%2fkodoku_portal%2fsettings.py",
        "/static/%252e%252e/kodoku_portal/settings.py",  # double-encoded
        "/static/./fonts/ipaexm.ttf",
        "/static//etc/passwd",
        "/static/%2fetc/passwd",
        "/static/fonts\\..\\..\\manage.py",
        "/static/fonts/%5c..%5c..%5cmanage.py",
        "/static/fonts/ipaexm.ttf%00.css",
        "/static/%ff%fe",
        "https://portal.invalid/static/%2e%2e/manage.py",
        "https://portal.invalid/static/../manage.py",
        "/static/",
        "/staticfonts/ipaexm.ttf",
    ],
)
def test_path_traversal_is_refused(url, opened_paths):
    with pytest.raises(ResourceRefused):
        URL_FETCHER(url)
    assert not any(path.endswith(("settings.py", "manage.py", "passwd")) for path in opened_paths)


def test_missing_static_file_is_not_found():
    with pytest.raises(FileNotFoundError):
        URL_FETCHER("/static/fonts/no-such-font.ttf")


# 5. Static files resolve ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/static/", "https://portal.invalid/static/"])
def test_static_font_resolves(prefix):
    response = URL_FETCHER(f"{prefix}fonts/ipaexm.ttf")
    try:
        body = response.read()
    finally:
        response.close()
    assert body.startswith(b"\x00\x01\x00\x00")  # TrueType
    assert body == (FONT_DIR / "ipaexm.ttf").read_bytes()
    assert response.url == "https://portal.invalid/static/fonts/ipaexm.ttf"
    assert response.path is None  # not a file: URL, so WeasyPrint never re-reads it from disk


def test_static_base_follows_static_url():
    assert django_settings.STATIC_URL == "/static/"
    assert static_base_url() == "https://portal.invalid/static/"
