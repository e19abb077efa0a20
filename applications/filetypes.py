"""What an uploaded attachment really is, judged by its content rather than its name.

An NPO grant application may attach PDF, Word (.docx, legacy .doc) and Excel (.xlsx, legacy .xls) files.
Anything else — images, executables, macro-enabled Office files (.docm, .xlsm), password-protected
Office files, archives that expand to far more than they weigh — is refused.

This module is deliberately self-contained (the standard library and Django only) so that forms,
services and management commands can all use it without import cycles.

- ``sniff(fileobj)`` names the kind of a file (a key of ``ALLOWED_KINDS``) or returns ``None``.
- ``validate_attachment(upload, max_bytes=...)`` raises ``ValidationError`` with a message meant for the
  applicant, or returns the kind.
- ``safe_download_name(original_name, kind)`` makes a stored name safe to offer for download.

Sizes in messages are binary megabytes (1 MB = 1,048,576 bytes), as Windows and most browsers show them.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import IO
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ALLOWED_KINDS",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_UNCOMPRESSED_BYTES",
    "safe_download_name",
    "sniff",
    "validate_attachment",
]

# kind → (label shown to people, canonical extension, MIME type)
ALLOWED_KINDS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "pdf": (_("PDF"), ".pdf", "application/pdf"),
        "docx": (
            _("Word (.docx)"),
            ".docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "doc": (_("Word 97-2003 (.doc)"), ".doc", "application/msword"),
        "xlsx": (
            _("Excel (.xlsx)"),
            ".xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "xls": (_("Excel 97-2003 (.xls)"), ".xls", "application/vnd.ms-excel"),
    }
)

# .docx and .xlsx are ZIP archives. Read at call time, so tests (or settings code) may lower them.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_UNCOMPRESSED_BYTES = 200 * 1024 * 1024

_MB = 1024 * 1024

# Problems that deserve their own message rather than "this type is not accepted".
_MACRO = "macro"
_ENCRYPTED = "encrypted"
_ARCHIVE_TOO_LARGE = "archive_too_large"
_ACTIVE_PDF = "active_pdf"
_HTML_IN_PDF = "html_in_pdf"


# --------------------------------------------------------------------------------------------------
# PDF

# Names that make a PDF act when it is opened or clicked (scripts, launching programs, embedded
# files and media, XML forms), looked for in the file and in its compressed streams (object
# streams hide dictionaries there). Names may be spelt with #xx escapes (/J#61vaScript).
_PDF_ACTIVE_NAMES = frozenset(
    {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia", b"XFA", b"ImportData"}
)
_PDF_NAME = re.compile(rb"/([^\x00\t\n\f\r ()<>\[\]{}/%]+)")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"stream\r?\n")
# Markup a web browser would run, in a file that also starts as a PDF (a polyglot).
_HTML_MARKERS = re.compile(rb"<\s*(?:script|html|body|iframe|svg|!doctype\s+html)\b", re.IGNORECASE)
# Read at call time. Each stream is inflated up to its first MAX_PDF_STREAM_SCAN_BYTES (dictionaries
# and scripts are small; large streams are images), all of them up to MAX_PDF_INFLATED_BYTES: past
# that the file is refused as too much to check, so a bomb stops the check, not the server.
MAX_PDF_STREAM_SCAN_BYTES = 8 * 1024 * 1024
MAX_PDF_INFLATED_BYTES = 256 * 1024 * 1024


def _has_active_names(data: bytes) -> bool:
    for match in _PDF_NAME.finditer(data):
        name = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        if name in _PDF_ACTIVE_NAMES:
            return True
    return False


def _inspect_pdf(fileobj: IO[bytes]) -> str | None:
    """A problem of a PDF's content (active content, markup, too much to inflate), or None.

    The raw file is searched, then every stream that inflates (FlateDecode, the common case),
    within MAX_PDF_INFLATED_BYTES in all."""
    fileobj.seek(0)
    data = fileobj.read()
    if _HTML_MARKERS.search(data):
        return _HTML_IN_PDF
    if _has_active_names(data):
        return _ACTIVE_PDF
    budget = MAX_PDF_INFLATED_BYTES
    view = memoryview(data)
    for match in _PDF_STREAM.finditer(data):
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(view[match.end() :], MAX_PDF_STREAM_SCAN_BYTES)
        except zlib.error:
            continue  # not Flate-encoded (images, other filters): nothing to read as names
        budget -= len(inflated)
        if budget < 0:
            return _ARCHIVE_TOO_LARGE
        if _HTML_MARKERS.search(inflated) or _has_active_names(inflated):
            return _ACTIVE_PDF
    return None


_PDF_HEADER_WINDOW = 1024  # the header must start within the first 1024 bytes (as PDF readers allow)
_PDF_HEADER = re.compile(rb"%PDF-[0-9]\.[0-9]")
_PDF_LEADING = b" \t\r\n\f\x00"


def _is_pdf(head: bytes) -> bool:
    """``%PDF-n.n`` near the start, preceded by nothing but whitespace (and perhaps a UTF-8 BOM).

    Readers tolerate arbitrary bytes before the header; we do not, because "anything, then %PDF-"
    is exactly what a polyglot file (an executable that is also a PDF) looks like."""
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip(_PDF_LEADING)
    offset = len(head) - len(body)
    return offset < _PDF_HEADER_WINDOW and _PDF_HEADER.match(body) is not None


# --------------------------------------------------------------------------------------------------
# Office Open XML (.docx, .xlsx): ZIP archives of XML parts


_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_MAX_BYTES = 1024 * 1024
_CT_NAMESPACE = "http://schemas.openxmlformats.org/package/2006/content-types"

# main part → (kind, the content type that part must have)
_OOXML_MAIN_PARTS = {
    "word/document.xml": (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    "xl/workbook.xml": (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
}


class _UnsafeXml(Exception):
    """[Content_Types].xml declares a DTD or entities: no genuine Office file does."""


def _content_types(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """Parse [Content_Types].xml into ({extension: type}, {/part/name: type}), both keys lower-case.

    Uses expat directly and refuses any DOCTYPE or entity declaration (no entity expansion tricks)."""
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}

    def refuse(*_args):
        raise _UnsafeXml

    def start(name: str, attrs: dict[str, str]) -> None:
        namespace, _sep, local = name.rpartition(" ")
        if namespace != _CT_NAMESPACE:
            return
        content_type = attrs.get("ContentType", "")
        if local == "Default" and "Extension" in attrs:
            defaults[attrs["Extension"].lower()] = content_type
        elif local == "Override" and "PartName" in attrs:
            overrides[attrs["PartName"].lower()] = content_type

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.Parse(data, True)
    return defaults, overrides


def _inspect_ooxml(fileobj: IO[bytes]) -> tuple[str | None, str | None]:
    fileobj.seek(0)
    if not zipfile.is_zipfile(fileobj):
        return None, None
    fileobj.seek(0)
    with zipfile.ZipFile(fileobj) as archive:
        infos = archive.infolist()
        # Cheap zip-bomb check on the sizes the archive declares; nothing is decompressed yet except
        # [Content_Types].xml, and that read is bounded below whatever its entry claims.
        if len(infos) > MAX_ZIP_ENTRIES or sum(info.file_size for info in infos) > MAX_ZIP_UNCOMPRESSED_BYTES:
            return None, _ARCHIVE_TOO_LARGE
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            return None, None  # duplicate entries: different programs would read different parts
        if _CONTENT_TYPES not in names:
            return None, None
        with archive.open(_CONTENT_TYPES) as part:
            data = part.read(_CONTENT_TYPES_MAX_BYTES + 1)
        if len(data) > _CONTENT_TYPES_MAX_BYTES:
            return None, None
    defaults, overrides = _content_types(data)

    declared = [*defaults.values(), *overrides.values()]
    if any("macroenabled" in t.lower() or "vbaproject" in t.lower() for t in declared) or any(
        "vbaproject" in name.lower() for name in names
    ):
        return None, _MACRO

    present = [part for part in _OOXML_MAIN_PARTS if part in names]
    if len(present) != 1:
        return None, None  # neither, or both a document and a workbook
    kind, expected_type = _OOXML_MAIN_PARTS[present[0]]
    actual_type = overrides.get("/" + present[0], defaults.get("xml", ""))
    if actual_type.lower() != expected_type:
        return None, None  # e.g. a template (.dotx, .xltx)
    return kind, None


# --------------------------------------------------------------------------------------------------
# Legacy Office (.doc, .xls): OLE2 / Compound File Binary containers


_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_OLE_SCAN_BYTES = 64 * 1024
_OLE_MAX_DIRECTORY_SECTORS = 256
_OLE_MAX_DIFAT_SECTORS = 1024
_MAXREGSECT = 0xFFFFFFFA
_NOSTREAM = 0xFFFFFFFF
_ENTRY = 128  # bytes per directory entry

_WORD_STREAMS = frozenset({"WordDocument"})
_EXCEL_STREAMS = frozenset({"Workbook", "Book"})  # "Book": Excel 5.0/95 workbooks
_ENCRYPTED_OOXML_STREAMS = frozenset({"EncryptionInfo", "EncryptedPackage"})  # password-protected .docx/.xlsx


class _Malformed(Exception):
    pass


class _CompoundFile:
    """Just enough of [MS-CFB] to list the streams at the top level of the root storage."""

    def __init__(self, fileobj: IO[bytes]):
        self.f = fileobj
        fileobj.seek(0)
        header = fileobj.read(512)
        if len(header) < 512 or header[:8] != _OLE_MAGIC or header[28:30] != b"\xfe\xff":
            raise _Malformed
        (self.shift,) = struct.unpack_from("<H", header, 30)
        if self.shift not in (9, 12):
            raise _Malformed
        self.sector_size = 1 << self.shift
        (self.first_directory,) = struct.unpack_from("<I", header, 48)
        self.first_difat, self.difat_count = struct.unpack_from("<II", header, 68)
        self.header_difat = struct.unpack_from("<109I", header, 76)
        fileobj.seek(0, 2)
        self.size = fileobj.tell()

    def _read(self, sector: int, offset: int = 0, length: int | None = None) -> bytes:
        if sector > _MAXREGSECT:
            raise _Malformed
        start = ((sector + 1) << self.shift) + offset
        length = self.sector_size - offset if length is None else length
        if start + length > self.size:
            raise _Malformed
        self.f.seek(start)
        return self.f.read(length)

    def _fat_sector(self, index: int) -> int:
        """The sector holding the index-th sector of the allocation table (DIFAT lookup)."""
        if index < len(self.header_difat):
            return self.header_difat[index]
        index -= len(self.header_difat)
        per_sector = self.sector_size // 4 - 1  # the last slot points to the next DIFAT sector
        sector = self.first_difat
        for _step in range(min(self.difat_count, _OLE_MAX_DIFAT_SECTORS)):
            if index < per_sector:
                return struct.unpack("<I", self._read(sector, index * 4, 4))[0]
            index -= per_sector
            sector = struct.unpack("<I", self._read(sector, per_sector * 4, 4))[0]
        raise _Malformed

    def _next(self, sector: int) -> int:
        per_sector = self.sector_size // 4
        fat_sector = self._fat_sector(sector // per_sector)
        return struct.unpack("<I", self._read(fat_sector, (sector % per_sector) * 4, 4))[0]

    def top_level_names(self) -> set[str]:
        directory = bytearray()
        sector, seen = self.first_directory, set()
        while sector <= _MAXREGSECT:
            if sector in seen or len(seen) >= _OLE_MAX_DIRECTORY_SECTORS:
                raise _Malformed
            seen.add(sector)
            directory += self._read(sector)
            sector = self._next(sector)
        count = len(directory) // _ENTRY
        if count == 0 or directory[66] != 5:  # entry 0 must be the root storage
            raise _Malformed

        names: set[str] = set()
        stack, visited = [struct.unpack_from("<I", directory, 76)[0]], set()
        while stack:
            sid = stack.pop()
            if sid == _NOSTREAM:
                continue
            if sid >= count or sid in visited:
                raise _Malformed
            visited.add(sid)
            entry = directory[sid * _ENTRY : (sid + 1) * _ENTRY]
            (name_length,) = struct.unpack_from("<H", entry, 64)
            if 2 <= name_length <= 64 and name_length % 2 == 0:
                names.add(entry[: name_length - 2].decode("utf-16-le", errors="replace"))
            left, right = struct.unpack_from("<II", entry, 68)
            stack += [left, right]  # siblings only: children of sub-storages are embedded objects
        return names


def _scan_directory_names(fileobj: IO[bytes], wanted: frozenset[str]) -> set[str]:
    """Fallback when the container cannot be walked: look in the first 64 KB for directory entries
    named like ``wanted``. Entries are 128-byte aligned and start with the UTF-16LE name, its NUL
    terminator, and (at byte 64) the name's length in bytes.

    This is a heuristic: the directory may lie beyond the first 64 KB, and this scan cannot tell a
    top-level stream from one inside an embedded object."""
    fileobj.seek(0)
    data = fileobj.read(_OLE_SCAN_BYTES)
    found = set()
    for name in wanted:
        needle = name.encode("utf-16-le") + b"\x00\x00"
        start = data.find(needle)
        while start != -1:
            length = data[start + 64 : start + 66]
            if start % _ENTRY == 0 and len(length) == 2 and struct.unpack("<H", length)[0] == len(needle):
                found.add(name)
                break
            start = data.find(needle, start + 1)
    return found


def _inspect_ole(fileobj: IO[bytes]) -> tuple[str | None, str | None]:
    wanted = _WORD_STREAMS | _EXCEL_STREAMS | _ENCRYPTED_OOXML_STREAMS
    try:
        names = _CompoundFile(fileobj).top_level_names() & wanted
    except (_Malformed, struct.error, OSError):
        names = _scan_directory_names(fileobj, wanted)
    if names & _ENCRYPTED_OOXML_STREAMS:
        return None, _ENCRYPTED
    word, excel = bool(names & _WORD_STREAMS), bool(names & _EXCEL_STREAMS)
    if word and not excel:
        return "doc", None
    if excel and not word:
        return "xls", None
    return None, None  # PowerPoint, Outlook messages, installers, or ambiguous


# --------------------------------------------------------------------------------------------------
# Public API


def _inspect(fileobj: IO[bytes]) -> tuple[str | None, str | None]:
    """(kind or None, problem or None). Always leaves the file at position 0."""
    try:
        fileobj.seek(0)
        head = fileobj.read(_PDF_HEADER_WINDOW + 16)
        if _is_pdf(head):
            problem = _inspect_pdf(fileobj)
            return ("pdf", None) if problem is None else (None, problem)
        if head.startswith(_ZIP_LOCAL_HEADER):  # not merely is_zipfile(): that accepts self-extracting .exe
            try:
                return _inspect_ooxml(fileobj)
            except (
                zipfile.BadZipFile,  # damaged
                zipfile.LargeZipFile,
                RuntimeError,  # encrypted entries
                NotImplementedError,  # unsupported compression method
                EOFError,
                zlib.error,
                expat.ExpatError,
                _UnsafeXml,
                ValueError,
                OSError,
            ):
                return None, None
        if head.startswith(_OLE_MAGIC):
            return _inspect_ole(fileobj)
        return None, None
    finally:
        fileobj.seek(0)


def sniff(fileobj: IO[bytes]) -> str | None:
    """The kind of file (a key of ``ALLOWED_KINDS``) judged by content alone, or None.

    Reads from the start of ``fileobj`` (which must be seekable) and seeks back to 0 afterwards.
    Macro-enabled, password-protected and suspiciously large-when-unpacked Office files give None."""
    return _inspect(fileobj)[0]


_TYPE_NOT_ALLOWED = _(
    "This type of file cannot be attached. Please attach a PDF, Word (.docx or .doc) or Excel (.xlsx or .xls) file."
)


def _megabytes(size: int, *, rounding) -> str:
    """One decimal, trailing ".0" dropped: 10 MB, 10.5 MB."""
    tenths = rounding(size * 10 / _MB)
    return str(tenths // 10) if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def _base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


def _declared_extension(name: str) -> str | None:
    """The extension a file name claims (lower-case, with the dot), if it looks like one.

    ``報告書.PDF`` → ``.pdf``; ``報告書`` and ``決算書 ver.2`` claim none (a bare number is not a type)."""
    stem, dot, suffix = _base_name(name).rpartition(".")
    if dot and stem and re.fullmatch(r"[A-Za-z0-9]{1,5}", suffix) and not suffix.isdigit():
        return "." + suffix.lower()
    return None


def validate_attachment(upload, *, max_bytes: int) -> str:
    """Check an uploaded file (Django ``UploadedFile`` or any seekable file with ``name`` and ``size``)
    and return its kind, or raise ``ValidationError`` explaining the problem to the applicant.

    The size is checked (from ``upload.size``) before any content is read. A file whose name claims one
    type while its content is another is refused: that nearly always means the wrong file was chosen.
    A name without a recognisable extension is accepted on its content alone."""
    size = upload.size
    if not size:
        raise ValidationError(_("The file is empty."), code="empty")
    if size > max_bytes:
        raise ValidationError(
            _("The file is too large (%(size)s MB). Files of up to %(limit)s MB can be attached."),
            code="too_large",
            params={
                "size": _megabytes(size, rounding=math.ceil),
                "limit": _megabytes(max_bytes, rounding=math.floor),
            },
        )

    kind, problem = _inspect(upload)
    if problem == _MACRO:
        raise ValidationError(
            _(
                "Files containing macros (such as .docm or .xlsm) cannot be attached. "
                "Please save the file as a Word (.docx) or Excel (.xlsx) file without macros and attach it again."
            ),
            code="macro",
        )
    if problem == _ENCRYPTED:
        raise ValidationError(
            _("Password-protected files cannot be attached. Please remove the password and attach the file again."),
            code="encrypted",
        )
    if problem == _ACTIVE_PDF:
        raise ValidationError(
            _(
                "This PDF contains active content (scripts, actions that launch programs, or embedded files), "
                "which cannot be attached. Please print it to a new PDF (for example with “Microsoft Print to "
                "PDF” or your viewer's print-to-PDF) and attach that file."
            ),
            code="active_pdf",
        )
    if problem == _HTML_IN_PDF:
        raise ValidationError(
            _(
                "This file begins as a PDF but also contains web page code, so it cannot be attached. "
                "Please print the document to a new PDF and attach that file."
            ),
            code="html_in_pdf",
        )
    if problem == _ARCHIVE_TOO_LARGE:
        raise ValidationError(
            _(
                "This file unpacks to too much data to be checked. "
                "Please make it smaller (for example, by compressing or removing large images) and attach it again."
            ),
            code="archive_too_large",
        )
    if kind is None:
        raise ValidationError(_TYPE_NOT_ALLOWED, code="type_not_allowed")

    label, extension, _mime = ALLOWED_KINDS[kind]
    declared = _declared_extension(getattr(upload, "name", "") or "")
    if declared is not None and declared != extension:
        claimed = next((k for k, (_l, ext, _m) in ALLOWED_KINDS.items() if ext == declared), None)
        if claimed is not None:
            raise ValidationError(
                _(
                    "The file name ends in %(extension)s, but the file's content is %(actual)s, not %(expected)s. "
                    "Please check that you attached the right file."
                ),
                code="mismatch",
                params={"extension": declared, "expected": ALLOWED_KINDS[claimed][0], "actual": label},
            )
        raise ValidationError(
            _(
                "The file name ends in %(extension)s, but its content is %(actual)s. "
                "Please check that you attached the right file, or correct the file name."
            ),
            code="mismatch",
            params={"extension": declared, "actual": label},
        )
    return kind


_FORBIDDEN_IN_NAMES = frozenset('<>:"/\\|?*')
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
_MAX_STEM_BYTES = 200  # UTF-8; most file systems allow 255 bytes per name


def safe_download_name(original_name: str, kind: str) -> str:
    """A file name safe to offer for download: Japanese (any printable Unicode) is kept; directories,
    control and invisible formatting characters (e.g. right-to-left overrides) are removed; characters
    Windows forbids become "_"; the name ends in the canonical extension of ``kind``.

    ``"../../etc/passwd"`` → ``"passwd.pdf"``; ``"報告書"`` → ``"報告書.pdf"``; ``"定款.PDF"`` → ``"定款.pdf"``."""
    try:
        extension = ALLOWED_KINDS[kind][1]
    except KeyError:
        raise ValueError(f"unknown attachment kind: {kind!r}") from None

    name = unicodedata.normalize("NFC", original_name or "")  # macOS sends decomposed kana (が → か + ゙)
    name = _base_name(name)
    name = "".join(
        "_" if ch in _FORBIDDEN_IN_NAMES else ch
        for ch in name
        if not unicodedata.category(ch).startswith("C") and unicodedata.category(ch) not in ("Zl", "Zp")
    )
    stem = name[: -len(extension)] if name.lower().endswith(extension) else name
    stem = stem.strip(" .\u3000")  # no leading dot (hidden file), no trailing dot or space (Windows)
    encoded = stem.encode("utf-8")
    if len(encoded) > _MAX_STEM_BYTES:
        stem = encoded[:_MAX_STEM_BYTES].decode("utf-8", errors="ignore").rstrip(" .\u3000")
    if stem.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return (stem or "attachment") + extension
