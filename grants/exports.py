"""採択一覧: a call's adopted applications as CSV or XLSX for staff who open them in Excel.

The columns are those of the Cabinet Office's published adoption list (団体名（所在都道府県）,
事業名, 概要, 事業区域), then the award amount and the theme. The headers stay in Japanese: they
are data of an official list, not interface text, and the cells are written in Japanese whatever
the language of the request (事業区域 「全国」, the theme's Japanese title).

Both formats stream: rows come from the database in chunks (``.iterator(chunk_size=…)``), the CSV
is produced chunk by chunk for a ``StreamingHttpResponse``, and the XLSX is written by openpyxl's
write-only mode, so memory does not grow with the number of rows (see bench/export_adoptions.py).

Every CSV text cell goes through ``spreadsheet_safe`` (CSV/formula injection); XLSX text cells
are typed as text, which Excel never evaluates.
"""

import csv
from collections.abc import Iterator
from typing import BinaryIO

from django.db.models import F
from django.db.models.functions import Length
from django.utils import translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from applications.models import Application, ApplicationStatus
from kodoku_portal.exports import Echo, spreadsheet_safe

ADOPTION_COLUMNS = ("団体名（所在都道府県）", "事業名", "概要", "事業区域", "採択額（円）", "テーマ")

AMOUNT_COLUMN = ADOPTION_COLUMNS.index("採択額（円）")
SUMMARY_COLUMN = ADOPTION_COLUMNS.index("概要")

SHEET_TITLE = "採択一覧"
# Excel column widths (roughly half-width characters; a Japanese character counts about two).
COLUMN_WIDTHS = (48, 56, 90, 26, 16, 48)
AMOUNT_FORMAT = "#,##0"
TEXT_FORMAT = "@"

CHUNK_SIZE = 1000  # rows fetched from the database at a time
CSV_ROWS_PER_CHUNK = 200  # rows per piece of the streamed CSV

# Only what the columns need: an application's long texts (purpose, activities, …) stay in the database.
_FIELDS = (
    "receipt_number",
    "title",
    "summary",
    "area_prefectures",
    "area_nationwide",
    "area_description",
    "organisation__name",
    "organisation__prefecture",
    "theme__number",
    "theme__title",
    "theme__title_en",
)


def adopted_applications(call):
    """The call's ADOPTED applications in receipt-number order, with what the columns need.

    Receipt numbers are PREFIX-0001 …; a call with more than 9,999 has PREFIX-10000, which a plain
    text sort would put before PREFIX-9999, hence the length first (the prefix is the same within
    a call)."""
    return (
        Application.objects.filter(call=call, status=ApplicationStatus.ADOPTED)
        .select_related("organisation", "theme")
        .only(*_FIELDS)
        # The amount through the same query (LEFT JOIN; None without a Decision), not as a
        # select_related Decision: that one points back at its application, and 100,000 such
        # reference cycles wait for the garbage collector instead of being freed row by row.
        .annotate(export_award_amount=F("decision__award_amount"))
        .order_by(Length("receipt_number"), "receipt_number", "id")
    )


def _row(application) -> list:
    # The list is Japanese whatever the request's language (「全国」, the Japanese theme title).
    # Overridden per row, never across a ``yield``: a suspended generator must not leave the
    # thread's language switched.
    with translation.override("ja"):
        return [
            application.organisation.name_with_prefecture,
            application.title,
            application.summary,
            application.area_display,
            # None without a Decision row: e.g. r6-ninaite, recorded from the published list.
            application.export_award_amount,
            str(application.theme) if application.theme is not None else "",
        ]


def adoption_rows(call, *, chunk_size: int = CHUNK_SIZE) -> Iterator[list]:
    """One list per adopted application, in ADOPTION_COLUMNS order: texts as stored (line breaks
    kept), the amount as an int or None when no amount is recorded."""
    for application in adopted_applications(call).iterator(chunk_size=chunk_size):
        yield _row(application)


def _plain_text(value) -> str:
    """A text cell's text: line breaks as LF (Excel's in-cell break)."""
    text = "" if value is None else str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _text(value) -> str:
    """A CSV text cell, made safe from formulas (a CSV cannot say "this is text")."""
    return spreadsheet_safe(_plain_text(value))


def _csv_cells(row: list) -> list:
    return [value if index == AMOUNT_COLUMN else _text(value) for index, value in enumerate(row)]


def stream_csv(call, *, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """The list as CSV for Excel: UTF-8 with a BOM (the first piece is "\\ufeff"), CRLF line ends,
    fields quoted when needed (概要 keeps its line breaks inside quotes).

    Yields text; a ``StreamingHttpResponse`` with ``charset=utf-8`` encodes it. Written to a file,
    open it with ``encoding="utf-8", newline=""``."""
    yield "\ufeff"
    writer = csv.writer(Echo(), lineterminator="\r\n")
    yield writer.writerow([_text(header) for header in ADOPTION_COLUMNS])
    lines: list[str] = []
    for row in adoption_rows(call, chunk_size=chunk_size):
        lines.append(writer.writerow(_csv_cells(row)))
        if len(lines) >= CSV_ROWS_PER_CHUNK:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)


def _xlsx_text(value) -> str:
    """An XLSX text cell as typed: its type is text (``data_type "s"``), which Excel never runs as
    a formula, so no apostrophe is put in front (it would show). Control characters other than tab
    and line breaks cannot be stored in an XLSX file."""
    return ILLEGAL_CHARACTERS_RE.sub("", _plain_text(value))


def write_xlsx(call, fileobj: BinaryIO | str, *, chunk_size: int = CHUNK_SIZE) -> int:
    """Write the list as an XLSX workbook (one sheet, 採択一覧) to ``fileobj`` (a path or a binary
    file object); returns the number of applications written.

    Write-only mode: rows go to a temporary file as they come, so memory stays flat. Text cells are
    strings with the text format (@); amounts are integers shown as 2,000,000; 概要 wraps."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    # Column widths, panes and page set-up must be given before the first row in write-only mode.
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True

    bold = Font(bold=True)
    top = Alignment(vertical="top")
    top_wrapped = Alignment(vertical="top", wrap_text=True)

    def text_cell(value, *, alignment=top, font=None) -> Cell:
        cell = WriteOnlyCell(sheet, value=_xlsx_text(value))
        cell.data_type = "s"  # never a formula or an error value (#N/A), whatever the text
        cell.number_format = TEXT_FORMAT
        cell.alignment = alignment
        if font is not None:
            cell.font = font
        return cell

    def amount_cell(value) -> Cell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(sheet, value=int(value))
        cell.number_format = AMOUNT_FORMAT
        cell.alignment = top
        return cell

    sheet.append([text_cell(header, font=bold) for header in ADOPTION_COLUMNS])
    count = 0
    for row in adoption_rows(call, chunk_size=chunk_size):
        sheet.append(
            [
                amount_cell(value)
                if index == AMOUNT_COLUMN
                else text_cell(value, alignment=top_wrapped if index == SUMMARY_COLUMN else top)
                for index, value in enumerate(row)
            ]
        )
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(ADOPTION_COLUMNS))}{count + 1}"
    workbook.save(fileobj)
    return count
