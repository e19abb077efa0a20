"""HTML → PDF with WeasyPrint, for receipts (受付票) and official notices (採択通知書).

Public API
----------
``render_pdf(html, *, base_url=None) -> bytes``
    Render an HTML string (usually from ``render_to_string``) to PDF bytes.

``FONT_FACE_CSS``
    ``@font-face`` rules for the vendored IPAex fonts, families ``IPAexMincho`` (明朝,
    static/fonts/ipaexm.ttf) and ``IPAexGothic`` (ゴシック, static/fonts/ipaexg.ttf).
    ``render_pdf`` always registers these two faces and makes ``IPAexMincho`` the default
    family, so a template normally just writes ``font-family: IPAexGothic`` where it wants
    Gothic. A self-contained template may also embed the rules itself::

        <style>{{ font_face_css }}</style>   {# context: {"font_face_css": FONT_FACE_CSS} #}

    The text contains no ``& < > " '``, so it survives autoescaping unchanged. Templates can
    equally write their own ``src: url("{% static 'fonts/ipaexm.ttf' %}")``: ``/static/…``
    resolves against the internal base below. Fonts are embedded as subsets.

``static_base_url() -> str``, ``INTERNAL_ORIGIN``
    Every document is rendered with ``base_url = static_base_url()``, i.e. ``INTERNAL_ORIGIN``
    (``https://portal.invalid``, a reserved name that never resolves, RFC 2606) joined with
    ``settings.STATIC_URL``: ``https://portal.invalid/static/``. So ``{% static %}`` URLs
    (``/static/css/receipt.css``) and relative ones (``css/receipt.css``) both become
    ``https://portal.invalid/static/…`` and reach the fetcher. If STATIC_URL is absolute (a CDN),
    that URL is the base instead and is likewise mapped to local files, never fetched.

``StaticOnlyURLFetcher`` / ``URL_FETCHER``, ``ResourceRefused``
    The URL fetcher, a subclass of WeasyPrint 70's ``weasyprint.urls.URLFetcher`` (WeasyPrint
    calls ``fetcher(url)`` → ``fetch(url)`` and reads ``fetcher._fail_on_errors``, so a plain
    function will not do). It serves ONLY the portal's static files: a URL under the static base
    (or a root-relative ``/static/…`` path when called directly) is mapped to a file found by the
    staticfiles finders, else by the staticfiles storage (STATIC_ROOT after collectstatic).
    Anything else raises ``ResourceRefused`` (a ``ValueError``) before any I/O: ``file:``,
    ``http(s)`` to any other host or port, ``ftp:``, and ``data:`` too — a data: URL reads
    nothing, but refusing it keeps the rule "static files only" with no exception to reason
    about; draw generated graphics (a QR code, a seal) as inline ``<svg>``, which needs no
    fetch. Path traversal (``..``/``.`` segments, also percent-encoded, encoded slashes,
    backslashes, NUL, a ``%`` left after decoding) is refused. A missing static file raises
    ``FileNotFoundError``. WeasyPrint catches these, logs them (logger ``weasyprint``) and goes
    on without the resource, so a bad URL never fails the render and never reads anything.

Other routes by which WeasyPrint could read files are closed: the document is given as a
string (no filename), ``base_url`` is never left to default, our fetcher is passed to HTML and
CSS alike (WeasyPrint then uses it for stylesheets, ``@import``, images, SVG images,
``@font-face`` — including ``local()`` fonts, which it turns into ``file://`` URLs — colour
profiles and attachments), and no image ``cache`` folder is set. The one thing read outside
static is the system's font list that Fontconfig loads for glyph fallback; documents cannot
steer it to read anything else.

Speed: creating a Fontconfig configuration and loading the two fonts is the slow part of a
first render, so each thread keeps one ``FontConfiguration`` (with the fonts already
registered) and the parsed default stylesheet, and reuses them. Fontconfig/Pango objects are
not shared between threads.

Imports: no project app, only django.conf settings and django.contrib.staticfiles.
"""

from __future__ import annotations

import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import weasyprint.pdf
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from weasyprint import CSS, HTML
from weasyprint.css import ColorProfile
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

__all__ = [
    "FONT_FACE_CSS",
    "INTERNAL_ORIGIN",
    "URL_FETCHER",
    "ResourceRefused",
    "StaticOnlyURLFetcher",
    "font_face_css",
    "render_pdf",
    "static_base_url",
]

#: Host under which static files are addressed inside a PDF render; ``.invalid`` never resolves.
INTERNAL_ORIGIN = "https://portal.invalid"

#: (CSS family, file under static/) for the vendored IPAex fonts (IPA Font License, see
#: static/fonts/IPA_Font_License.txt).
FONTS = (
    ("IPAexMincho", "fonts/ipaexm.ttf"),
    ("IPAexGothic", "fonts/ipaexg.ttf"),
)

_FORBIDDEN_CHARS = frozenset("\\\x00%") | frozenset(chr(code) for code in range(0x20)) | {"\x7f"}


class ResourceRefused(ValueError):
    """A URL that the PDF renderer will not fetch: only the portal's static files are served."""


def static_base_url() -> str:
    """The base every PDF is rendered against: ``https://portal.invalid/static/`` (from STATIC_URL)."""
    base = urljoin(INTERNAL_ORIGIN + "/", settings.STATIC_URL)
    return base if base.endswith("/") else base + "/"


def font_face_css(base: str | None = None) -> str:
    """``@font-face`` rules for IPAexMincho and IPAexGothic, with absolute internal URLs.

    No quotes or other characters that HTML autoescaping would change, so the text can go
    straight into a ``<style>`` element of a Django template.
    """
    base = base or static_base_url()
    return "\n".join(
        f"@font-face {{ font-family: {family}; src: url({urljoin(base, name)}); }}" for family, name in FONTS
    )


#: ``@font-face`` rules for the IPAex fonts, computed from STATIC_URL at import (see font_face_css).
FONT_FACE_CSS = font_face_css()


def _static_name(url: str) -> tuple[str, str]:
    """Map a URL to (canonical URL, name relative to the static root), or raise ResourceRefused.

    Pure string checks: nothing is read or resolved on the network.
    """
    if not isinstance(url, str) or not url:
        raise ResourceRefused(f"not a URL: {url!r}")
    if any(char in url for char in "\\\x00"):
        raise ResourceRefused(f"refused URL (backslash or NUL): {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ResourceRefused(f"malformed URL: {url!r}") from exc
    if not parts.scheme:
        # Only a root-relative path (what {% static %} gives): "fonts/x" or "//host/x" are refused.
        if not url.startswith("/") or url.startswith("//"):
            raise ResourceRefused(f"relative URL without the static base: {url!r}")
        parts = urlsplit(INTERNAL_ORIGIN + url)

    base = urlsplit(static_base_url())
    if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        raise ResourceRefused(f"only the portal's static files can be used in a PDF, not {url!r}")
    if not parts.path.startswith(base.path):
        raise ResourceRefused(f"outside {base.path}: {url!r}")

    try:
        name = unquote(parts.path[len(base.path) :], errors="strict")
    except UnicodeDecodeError as exc:
        raise ResourceRefused(f"malformed percent-encoding in {url!r}") from exc
    segments = name.split("/")
    if (
        not name
        or any(segment in ("", ".", "..") for segment in segments)
        or any(char in _FORBIDDEN_CHARS for char in name)
    ):
        raise ResourceRefused(f"refused static path {name!r} in {url!r}")
    canonical = f"{base.scheme}://{base.netloc}{parts.path}"
    return canonical, name


def _read_static(name: str) -> bytes:
    """Bytes of static file ``name``: finders first (source tree), then the collected storage."""
    found = finders.find(name)
    if isinstance(found, str) and Path(found).is_file():
        return Path(found).read_bytes()
    if staticfiles_storage.exists(name):
        with staticfiles_storage.open(name) as file:
            return file.read()
    raise FileNotFoundError(f"no static file {name!r}")


class StaticOnlyURLFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves the portal's static files and refuses everything else.

    ``fetch(url)`` returns a ``URLFetcherResponse`` whose ``url`` is the internal static URL (so
    URLs inside a static stylesheet resolve, and are checked, the same way) and whose
    ``Content-Type`` is guessed from the file name (``text/css`` matters: WeasyPrint ignores
    linked stylesheets of another type). Stateless: one instance can serve every render.
    """

    def __init__(self) -> None:
        # No protocol is allowed to the inherited urllib machinery; fetch() below never uses it.
        super().__init__(allowed_protocols=frozenset(), allow_redirects=False, fail_on_errors=False)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        canonical, name = _static_name(url)
        body = _read_static(name)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return URLFetcherResponse(canonical, body, {"Content-Type": content_type})


class _ClosingColorProfile(ColorProfile):
    """WeasyPrint 70 opens its sRGB profile for a PDF/A output intent, hands the file to Pillow
    (which reads it whole) and never closes it: a ResourceWarning per PDF/A render, raised from
    whichever thread renders. This closes the file once the profile is read."""

    def __init__(self, file_object, *args, **kwargs):
        try:
            super().__init__(file_object, *args, **kwargs)
        finally:
            if hasattr(file_object, "close"):
                file_object.close()


weasyprint.pdf.ColorProfile = _ClosingColorProfile


#: The fetcher used by render_pdf.
URL_FETCHER = StaticOnlyURLFetcher()


@dataclass(frozen=True)
class _Kit:
    base: str
    font_config: FontConfiguration
    stylesheet: CSS


_local = threading.local()


def _kit() -> _Kit:
    """This thread's font configuration (IPAex fonts loaded) and default stylesheet."""
    base = static_base_url()
    kit = getattr(_local, "kit", None)
    if kit is None or kit.base != base:
        font_config = FontConfiguration()
        css = font_face_css(base) + "\nhtml { font-family: IPAexMincho, serif; }\n"
        stylesheet = CSS(string=css, base_url=base, url_fetcher=URL_FETCHER, font_config=font_config)
        kit = _local.kit = _Kit(base, font_config, stylesheet)
    return kit


def render_pdf(
    html: str, *, base_url: str | None = None, pdf_variant: str | None = None, pdf_tags: bool = False
) -> bytes:
    """Render ``html`` to PDF bytes (A4 if the template says ``@page { size: A4 }``).

    ``base_url`` defaults to ``static_base_url()``; whatever it is, resources are fetched only
    through ``URL_FETCHER``, so only static files are ever read. Unfetchable resources are
    logged by WeasyPrint and skipped. IPAexMincho is the default font family; templates switch
    to IPAexGothic with CSS. Fonts are embedded as subsets. ``pdf_variant`` (e.g. "pdf/a-2b") and
    ``pdf_tags`` are WeasyPrint's options (official letters: kodoku_portal/signing.py).
    """
    kit = _kit()
    document = HTML(string=html, base_url=base_url or kit.base, url_fetcher=URL_FETCHER)
    options = {"pdf_variant": pdf_variant} if pdf_variant else {}
    if pdf_tags:
        options["pdf_tags"] = True
    return document.write_pdf(stylesheets=[kit.stylesheet], font_config=kit.font_config, **options)
