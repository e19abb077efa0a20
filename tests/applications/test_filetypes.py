"""Attachment type detection by content (applications.filetypes), with real small files built here."""

import io
import struct
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from applications import filetypes
from applications.filetypes import ALLOWED_KINDS, safe_download_name, sniff, validate_attachment

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _english():
    """Assertions below read the English source strings."""
    with translation.override("en"):
        yield


# --- building real files -------------------------------------------------------------------------


def make_pdf() -> bytes:
    """A minimal valid one-page PDF, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "事業費"
    workbook.active["B1"] = 120000
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


def make_docx(main_content_type: str = DOCX_MAIN, extra: dict[str, bytes] | None = None) -> bytes:
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main_content_type}"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="word/document.xml"/>'
        "</Relationships>"
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>事業計画書</w:t></w:r></w:p></w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("word/document.xml", document)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


FREESECT, ENDOFCHAIN, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, entry_type: int, left=NOSTREAM, right=NOSTREAM, child=NOSTREAM) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    entry = encoded.ljust(64, b"\x00") + struct.pack("<HBB3I", len(encoded), entry_type, 1, left, right, child)
    return entry.ljust(128, b"\x00")


def make_cfb(tree: list[tuple[str, int, int | None]], first_directory: int = 0) -> bytes:
    """A version-3 Compound File (the container of .doc and .xls) holding empty streams.

    ``tree`` lists (name, type, parent index) after the root entry (index 0); type 1 is a storage, 2 a
    stream. Siblings are chained through their right-sibling pointers."""
    entries = [("Root Entry", 5, None), *tree]
    links = {i: {"right": NOSTREAM, "child": NOSTREAM} for i in range(len(entries))}
    last_child: dict[int, int] = {}
    for index, (_name, _type, parent) in enumerate(entries[1:], start=1):
        if parent in last_child:
            links[last_child[parent]]["right"] = index
        else:
            links[parent]["child"] = index
        last_child[parent] = index
    directory = b"".join(
        _dir_entry(name, entry_type, right=links[i]["right"], child=links[i]["child"])
        for i, (name, entry_type, _parent) in enumerate(entries)
    )
    directory = directory.ljust(-(-len(directory) // 512) * 512, b"\x00")
    directory_sectors = len(directory) // 512
    fat_sector = directory_sectors
    fat = [*range(1, directory_sectors), ENDOFCHAIN, FATSECT]
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")
    header = (
        filetypes._OLE_MAGIC
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, first_directory, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
        + struct.pack("<109I", fat_sector, *([FREESECT] * 108))
    )
    assert len(header) == 512
    return header + directory + fat_bytes


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def error_of(upload_file, max_bytes: int = 10 * MB) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_attachment(upload_file, max_bytes=max_bytes)
    return caught.value


# --- ALLOWED_KINDS ---------------------------------------------------------------------------------


def test_allowed_kinds_have_label_extension_and_mime():
    assert set(ALLOWED_KINDS) == {"pdf", "docx", "doc", "xlsx", "xls"}
    assert ALLOWED_KINDS["pdf"] == ("PDF", ".pdf", "application/pdf")
    assert ALLOWED_KINDS["doc"][1:] == (".doc", "application/msword")
    assert ALLOWED_KINDS["xls"][1:] == (".xls", "application/vnd.ms-excel")
    assert ALLOWED_KINDS["xlsx"][2] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ALLOWED_KINDS["docx"][2] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- sniff -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (make_pdf(), "pdf"),
        (b"\xef\xbb\xbf\r\n  " + make_pdf(), "pdf"),  # BOM and whitespace before the header
        (make_xlsx(), "xlsx"),
        (make_docx(), "docx"),
        (make_cfb([("1Table", 2, 0), ("WordDocument", 2, 0), ("\x05SummaryInformation", 2, 0)]), "doc"),
        (make_cfb([("Workbook", 2, 0), ("\x05SummaryInformation", 2, 0)]), "xls"),
        (make_cfb([("Book", 2, 0)]), "xls"),  # Excel 5.0/95
    ],
)
def test_sniff_recognises_allowed_kinds_and_rewinds(content, kind):
    fileobj = io.BytesIO(content)
    fileobj.seek(7)
    assert sniff(fileobj) == kind
    assert fileobj.tell() == 0


def test_sniff_follows_a_multi_sector_directory():
    streams = [(f"Stream{i}", 2, 0) for i in range(9)] + [("WordDocument", 2, 0)]
    assert sniff(io.BytesIO(make_cfb(streams))) == "doc"


def test_sniff_ignores_streams_of_embedded_objects():
    """An Excel workbook with an embedded Word document is still an Excel workbook."""
    content = make_cfb([("Workbook", 2, 0), ("MBD0001", 1, 0), ("WordDocument", 2, 2)])
    assert sniff(io.BytesIO(content)) == "xls"


def test_sniff_falls_back_to_scanning_for_directory_entries():
    """OLE2 magic and a UTF-16LE "WordDocument" directory entry, but no usable header to walk."""
    header = filetypes._OLE_MAGIC.ljust(512, b"\x00")
    assert sniff(io.BytesIO(header + _dir_entry("WordDocument", 2) + bytes(384))) == "doc"
    assert sniff(io.BytesIO(header + _dir_entry("Workbook", 2) + bytes(384))) == "xls"
    # The marker must look like a directory entry (128-byte aligned), not merely occur somewhere.
    assert sniff(io.BytesIO(header + b"xx" + _dir_entry("WordDocument", 2) + bytes(382))) is None


def test_sniff_refuses_other_ole_files():
    assert sniff(io.BytesIO(make_cfb([("PowerPoint Document", 2, 0)]))) is None
    assert sniff(io.BytesIO(make_cfb([("WordDocument", 2, 0), ("Workbook", 2, 0)]))) is None  # ambiguous
    assert sniff(io.BytesIO(make_cfb([("EncryptionInfo", 2, 0), ("EncryptedPackage", 2, 0)]))) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200),  # Windows executable
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        b"MZ" + bytes(100) + make_pdf(),  # executable with a PDF header further in
        b"MZ" + bytes(100) + make_docx(),  # self-extracting archive: is_zipfile() says yes
        b"GIF89a%PDF-1.4",
        b"%PDF-",  # no version
        bytes(1100) + make_pdf(),  # header beyond the first 1024 bytes
        b"PK\x03\x04 not really a zip",
        filetypes._OLE_MAGIC + bytes(600),  # OLE2 but neither Word nor Excel
        make_docx(DOCM_MAIN),  # .docm
        make_docx(DOCX_MAIN, {"word/vbaProject.bin": b"\x00" * 10}),  # macros smuggled into a .docx
        make_docx("application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"),  # .dotx
    ],
)
def test_sniff_refuses_other_content(content):
    assert sniff(io.BytesIO(content)) is None


def test_sniff_refuses_zip_without_office_parts():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert sniff(buffer) is None


def test_sniff_refuses_content_types_with_a_dtd():
    content_types = (
        '<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "aaaaaaaaaa">]>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Override PartName="/word/document.xml" ContentType="{DOCX_MAIN}"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("word/document.xml", "<w:document/>")
    assert sniff(buffer) is None


# --- validate_attachment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("定款.pdf", make_pdf(), "pdf"),
        ("REPORT.PDF", make_pdf(), "pdf"),
        ("予算書.xlsx", make_xlsx(), "xlsx"),
        ("事業計画書.docx", make_docx(), "docx"),
        ("旧様式.doc", make_cfb([("WordDocument", 2, 0)]), "doc"),
        ("旧収支.xls", make_cfb([("Workbook", 2, 0)]), "xls"),
        ("報告書", make_pdf(), "pdf"),  # no extension: content decides
        ("決算書 ver.2", make_xlsx(), "xlsx"),  # a bare number is not an extension
    ],
)
def test_validate_accepts_allowed_files(name, content, kind):
    assert validate_attachment(upload(name, content), max_bytes=10 * MB) == kind


def test_validate_refuses_empty_file():
    error = error_of(upload("空.pdf", b""))
    assert error.code == "empty"
    assert error.messages == ["The file is empty."]


def test_validate_refuses_too_large_file_before_reading_it():
    class Unreadable:
        name = "大きい.pdf"
        size = 12 * MB + 1

        def read(self, *args):
            raise AssertionError("content was read")

        seek = read

    error = error_of(Unreadable(), max_bytes=10 * MB)
    assert error.code == "too_large"
    assert error.messages == ["The file is too large (12.1 MB). Files of up to 10 MB can be attached."]


def test_validate_too_large_real_upload():
    error = error_of(upload("a.pdf", make_pdf()), max_bytes=100)
    assert error.code == "too_large"
    # The size rounds up and the limit down, so the file never looks as if it were within the limit.
    assert error.messages == ["The file is too large (0.1 MB). Files of up to 0 MB can be attached."]


def test_validate_refuses_executable_named_pdf():
    error = error_of(upload("report.pdf", b"MZ\x90\x00" + bytes(500)))
    assert error.code == "type_not_allowed"
    message = error.messages[0]
    assert "PDF" in message
    assert "Word" in message
    assert "Excel" in message


def test_validate_refuses_png():
    error = error_of(upload("写真.png", b"\x89PNG\r\n\x1a\n" + bytes(64)))
    assert error.code == "type_not_allowed"


def test_validate_refuses_macro_enabled_document():
    error = error_of(upload("申請書.docm", make_docx(DOCM_MAIN)))
    assert error.code == "macro"
    assert "macros" in error.messages[0]


def test_validate_refuses_password_protected_office_file():
    error = error_of(upload("予算.xlsx", make_cfb([("EncryptionInfo", 2, 0), ("EncryptedPackage", 2, 0)])))
    assert error.code == "encrypted"


def test_validate_refuses_archive_declaring_too_much_data(monkeypatch):
    monkeypatch.setattr(filetypes, "MAX_ZIP_UNCOMPRESSED_BYTES", 1000)
    content = make_xlsx()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sum(info.file_size for info in archive.infolist()) > 1000
    error = error_of(upload("予算書.xlsx", content))
    assert error.code == "archive_too_large"
    assert sniff(io.BytesIO(content)) is None


def test_validate_refuses_archive_with_too_many_entries(monkeypatch):
    monkeypatch.setattr(filetypes, "MAX_ZIP_ENTRIES", 3)
    error = error_of(upload("計画.docx", make_docx(extra={"word/a.xml": b"<a/>", "word/b.xml": b"<b/>"})))
    assert error.code == "archive_too_large"


def test_validate_refuses_name_content_mismatch():
    error = error_of(upload("report.pdf", make_xlsx()))
    assert error.code == "mismatch"
    assert error.messages == [
        "The file name ends in .pdf, but the file's content is Excel (.xlsx), not PDF. "
        "Please check that you attached the right file."
    ]


def test_validate_refuses_docx_named_doc():
    assert error_of(upload("計画.doc", make_docx())).code == "mismatch"


def test_validate_refuses_allowed_content_with_a_foreign_extension():
    error = error_of(upload("scan.jpg", make_pdf()))
    assert error.code == "mismatch"
    assert ".jpg" in error.messages[0]
    assert "correct the file name" in error.messages[0]


def test_validate_leaves_upload_rewound():
    uploaded = upload("定款.pdf", make_pdf())
    validate_attachment(uploaded, max_bytes=MB)
    assert uploaded.tell() == 0
    assert uploaded.read(5) == b"%PDF-"


def test_validate_messages_translate_lazily():
    """Messages are lazy: rendering them under Japanese must not fail (the catalogue may lack them)."""
    error = error_of(upload("x.pdf", b""))
    with translation.override("ja"):
        assert error.messages[0]


# --- safe_download_name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "kind", "expected"),
    [
        ("定款.pdf", "pdf", "定款.pdf"),
        ("報告書", "pdf", "報告書.pdf"),
        ("報告書.PDF", "pdf", "報告書.pdf"),
        ("../../etc/passwd", "pdf", "passwd.pdf"),
        ("C:\\Users\\山田\\Desktop\\収支予算書.xlsx", "xlsx", "収支予算書.xlsx"),
        ("..", "docx", "attachment.docx"),
        ("", "doc", "attachment.doc"),
        (".hidden.pdf", "pdf", "hidden.pdf"),
        ("申請書\r\n\x00\t.docx", "docx", "申請書.docx"),
        ("invoice\u202efdp.exe", "pdf", "invoicefdp.exe.pdf"),  # right-to-left override removed
        ('a<b>:c"|?*.xls', "xls", "a_b__c____.xls"),
        ("CON.pdf", "pdf", "_CON.pdf"),
        ("\u3000事業報告書\u3000.pdf", "pdf", "事業報告書.pdf"),
        ("report.xlsx", "pdf", "report.xlsx.pdf"),
        ("カ\u3099イト\u3099.pdf", "pdf", "ガイド.pdf"),  # decomposed (macOS) kana composed
    ],
)
def test_safe_download_name(original, kind, expected):
    assert safe_download_name(original, kind) == expected


def test_safe_download_name_has_no_path_separators():
    name = safe_download_name("../../etc/passwd", "pdf")
    assert "/" not in name
    assert "\\" not in name
    assert ".." not in name


def test_safe_download_name_limits_length_without_splitting_characters():
    name = safe_download_name("あ" * 300 + ".pdf", "pdf")
    assert name.endswith(".pdf")
    assert len(name.encode("utf-8")) <= 255
    assert set(name.removesuffix(".pdf")) == {"あ"}


def test_safe_download_name_unknown_kind():
    with pytest.raises(ValueError, match="unknown attachment kind"):
        safe_download_name("a.png", "png")


# --- hostile PDFs --------------------------------------------------------------------------------


def pdf_with(*objects: bytes) -> bytes:
    """A one-page PDF whose catalog also carries ``objects`` (appended as objects 4, 5, …)."""
    base = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        *objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    for number, body in enumerate(base, start=1):
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n%%%%EOF\n" % (len(base) + 1)
    return bytes(out)


def flate_stream(content: bytes) -> bytes:
    import zlib

    packed = zlib.compress(content)
    return b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (
        len(packed),
        packed,
    )


def refused_code(data: bytes, name: str = "計画書.pdf") -> str:
    with pytest.raises(ValidationError) as refused:
        validate_attachment(SimpleUploadedFile(name, data), max_bytes=10 * MB)
    return refused.value.code


def test_a_pdf_that_opens_to_a_page_is_accepted():
    # /OpenAction to a page view is ordinary (many writers add it); only what acts is refused.
    assert validate_attachment(SimpleUploadedFile("計画書.pdf", pdf_with(b"[3 0 R /Fit]")), max_bytes=10 * MB) == "pdf"


@pytest.mark.parametrize(
    "action",
    [
        b"<< /S /JavaScript /JS (app.alert('x')) >>",  # what the issue saw: /OpenAction + /JavaScript
        b"<< /S /J#61vaScript /J#53 (app.alert('x')) >>",  # the same, its names spelt with #xx escapes
        b"<< /S /Launch /F (cmd.exe) >>",
        b"<< /Type /Filespec /EF << /F 6 0 R >> /Type /EmbeddedFile >>",
    ],
)
def test_a_pdf_with_active_content_is_refused_with_its_message(action):
    assert refused_code(pdf_with(action)) == "active_pdf"
    with pytest.raises(ValidationError) as refused:
        validate_attachment(SimpleUploadedFile("計画書.pdf", pdf_with(action)), max_bytes=10 * MB)
    assert "active content" in refused.value.messages[0]


def test_a_script_hidden_in_a_compressed_object_stream_is_found():
    hidden = flate_stream(b"5 0 << /S /JavaScript /JS (app.alert('x')) >>")
    assert b"JavaScript" not in pdf_with(b"[3 0 R /Fit]", hidden)
    assert refused_code(pdf_with(b"[3 0 R /Fit]", hidden)) == "active_pdf"


@pytest.mark.parametrize(
    "markup", [b"<html><script>alert(1)</script></html>", b"<!DOCTYPE html><body>", b"<svg onload=x>"]
)
def test_a_file_that_starts_as_a_pdf_and_holds_a_web_page_is_refused(markup):
    assert refused_code(b"%PDF-1.4\n" + markup) == "html_in_pdf"
    assert sniff(io.BytesIO(b"%PDF-1.4\n" + markup)) is None


def test_a_compression_bomb_in_a_pdf_stops_the_check_not_the_server(monkeypatch):
    monkeypatch.setattr(filetypes, "MAX_PDF_INFLATED_BYTES", 1024 * 1024)
    monkeypatch.setattr(filetypes, "MAX_PDF_STREAM_SCAN_BYTES", 1024 * 1024)
    bomb = flate_stream(b"\0" * (2 * 1024 * 1024))
    assert refused_code(pdf_with(b"[3 0 R /Fit]", bomb, bomb)) == "archive_too_large"
