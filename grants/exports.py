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

A call with its own application form (issue 16) adds one column per field of its form version (the
published one, else the newest retired one), after the fixed columns: the header is the field's
Japanese label, a multiple choice is its labels joined with 「、」, prefectures by name, a date as
2025年5月30日（金）, yen and whole numbers as integers. A field hidden by its condition is empty.
Each application's answers are read by key (``applications.answers.stored_values``): an answer
that does not fit the column's field (given under another version) is left out.
"""

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.db.models import F, Prefetch
from django.db.models.functions import Length
from django.utils import translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from applications import answers as answer_store
from applications.models import Answer, Application, ApplicationStatus
from calls.form_schema import schema_of, visible_keys
from calls.models import FormVersion, FormVersionStatus
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

# Only what the columns need (the answers to the call's form that are in summaries come with ``with_answers``).
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


def adopted_applications(call, *, with_answers: bool = False):
    """The call's ADOPTED applications in receipt-number order, with what the columns need.

    Receipt numbers are PREFIX-0001 …; a call with more than 9,999 has PREFIX-10000, which a plain
    text sort would put before PREFIX-9999, hence the length first (the prefix is the same within
    a call)."""
    queryset = (
        Application.objects.filter(call=call, status=ApplicationStatus.ADOPTED)
        .select_related("organisation", "theme")
        .only(*_FIELDS)
        # The amount through the same query (LEFT JOIN; None without a Decision), not as a
        # select_related Decision: that one points back at its application, and 100,000 such
        # reference cycles wait for the garbage collector instead of being freed row by row.
        .annotate(export_award_amount=F("decision__award_amount"))
        .order_by(Length("receipt_number"), "receipt_number", "id")
    )
    if with_answers:  # one more query per chunk of rows
        queryset = queryset.prefetch_related(
            Prefetch("answers", queryset=Answer.objects.select_related("attachment").order_by("id"))
        )
    return queryset


@dataclass
class FormColumns:
    """The columns of a call's own form: its version and the fields in form order."""

    version: FormVersion
    fields: list
    specs: tuple

    @property
    def headers(self) -> list[str]:
        return [item.label for item in self.fields]

    def numeric(self, offset: int) -> set[int]:
        return {offset + index for index, item in enumerate(self.fields) if item.kind in answer_store.NUMBER_KINDS}

    def cells(self, application) -> list:
        answers = list(application.answers.all())
        values = answer_store.stored_values(self.version, answers)
        shown = visible_keys(self.specs, values)
        files = {answer.attachment_id: answer.attachment.original_name for answer in answers if answer.attachment_id}
        row = []
        for item in self.fields:
            value = values.get(item.key) if item.key in shown else None
            if value in (None, "", [], ()):
                row.append(None if item.kind in answer_store.NUMBER_KINDS else "")
            elif item.kind in answer_store.NUMBER_KINDS:
                row.append(int(value))
            else:
                row.append(answer_store.display_value(item, value, files))
        return row


def form_columns(call) -> FormColumns | None:
    """The call's form version and its fields in summaries, the extra columns (None: no form, or none of
    its fields is in summaries)."""
    versions = FormVersion.objects.filter(call=call)
    version = (
        versions.filter(status=FormVersionStatus.PUBLISHED).first()
        or versions.filter(status=FormVersionStatus.RETIRED).order_by("-number").first()
    )
    if version is None:
        return None
    version = answer_store.version_with_fields(version.pk)
    fields = [item for item in version.ordered_fields() if item.in_summaries]
    if not fields:
        return None
    return FormColumns(version, fields, schema_of(version).fields)


def _row(application, form: FormColumns | None = None) -> list:
    # The list is Japanese whatever the request's language (「全国」, the Japanese theme title).
    # Overridden per row, never across a ``yield``: a suspended generator must not leave the
    # thread's language switched.
    with translation.override("ja"):
        row = [
            application.organisation.name_with_prefecture,
            application.title,
            application.summary,
            application.area_display,
            # None without a Decision row: e.g. r6-ninaite, recorded from the published list.
            application.export_award_amount,
            str(application.theme) if application.theme is not None else "",
        ]
        if form is not None:
            row += form.cells(application)
        return row


def adoption_rows(call, *, chunk_size: int = CHUNK_SIZE, form: FormColumns | None = None) -> Iterator[list]:
    """One list per adopted application, in ADOPTION_COLUMNS order (then the form's columns, given
    ``form``): texts as stored (line breaks kept), amounts as int or None when none is recorded."""
    for application in adopted_applications(call, with_answers=form is not None).iterator(chunk_size=chunk_size):
        yield _row(application, form)


def columns_of(call) -> tuple[list[str], set[int], FormColumns | None]:
    """The headers, the indices of the amount (integer) columns and the form's columns of a call's list."""
    form = form_columns(call)
    headers = list(ADOPTION_COLUMNS)
    numeric = {AMOUNT_COLUMN}
    if form is not None:
        numeric |= form.numeric(len(headers))
        headers += form.headers
    return headers, numeric, form


def _plain_text(value) -> str:
    """A text cell's text: line breaks as LF (Excel's in-cell break)."""
    text = "" if value is None else str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _text(value) -> str:
    """A CSV text cell, made safe from formulas (a CSV cannot say "this is text")."""
    return spreadsheet_safe(_plain_text(value))


def _csv_cells(row: list, numeric: frozenset[int] | set[int] = frozenset({AMOUNT_COLUMN})) -> list:
    return [value if index in numeric else _text(value) for index, value in enumerate(row)]


def stream_csv(call, *, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    """The list as CSV for Excel: UTF-8 with a BOM (the first piece is "\\ufeff"), CRLF line ends,
    fields quoted when needed (概要 keeps its line breaks inside quotes).

    Yields text; a ``StreamingHttpResponse`` with ``charset=utf-8`` encodes it. Written to a file,
    open it with ``encoding="utf-8", newline=""``."""
    yield "\ufeff"
    writer = csv.writer(Echo(), lineterminator="\r\n")
    headers, numeric, form = columns_of(call)
    yield writer.writerow([_text(header) for header in headers])
    lines: list[str] = []
    for row in adoption_rows(call, chunk_size=chunk_size, form=form):
        lines.append(writer.writerow(_csv_cells(row, numeric)))
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
    headers, numeric, form = columns_of(call)
    widths = list(COLUMN_WIDTHS) + [16 if index in numeric else 40 for index in range(len(COLUMN_WIDTHS), len(headers))]
    # Column widths, panes and page set-up must be given before the first row in write-only mode.
    for index, width in enumerate(widths, start=1):
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

    sheet.append([text_cell(header, font=bold) for header in headers])
    count = 0
    for row in adoption_rows(call, chunk_size=chunk_size, form=form):
        sheet.append(
            [
                amount_cell(value)
                if index in numeric
                else text_cell(value, alignment=top_wrapped if index == SUMMARY_COLUMN else top)
                for index, value in enumerate(row)
            ]
        )
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    workbook.save(fileobj)
    return count


# --- 支払一覧: payments and refunds for the finance office ----------------------------------------
#
# One list: every 概算払 and 精算払, and every 返還 (refund ordered back) as a row of its own kind,
# its due date in the "scheduled" column and the day received in the "paid" column. The payee and
# the bank account are the organisation's as given in the award's last accepted 交付申請 (none where
# the call has no grant application: "—"). Bank, branch and account numbers stay text (leading
# zeros); amounts are numbers. Headers and cells are Japanese whatever the request's language.

PAYMENT_COLUMNS = (
    "公募",
    "受付番号",
    "支払先（団体名）",
    "金融機関名",
    "金融機関コード",
    "支店名",
    "支店コード",
    "預金種目",
    "口座番号",
    "口座名義（カナ）",
    "金額（円）",
    "加算金・延滞金（円）",
    "種別",
    "状態",
    "支払予定日・納期限",
    "支払日・受領日",
)
PAYMENT_AMOUNT_COLUMNS = frozenset({PAYMENT_COLUMNS.index("金額（円）"), PAYMENT_COLUMNS.index("加算金・延滞金（円）")})
PAYMENT_DATE_COLUMNS = frozenset({PAYMENT_COLUMNS.index("支払予定日・納期限"), PAYMENT_COLUMNS.index("支払日・受領日")})
PAYMENT_SHEET_TITLE = "支払一覧"
PAYMENT_COLUMN_WIDTHS = (36, 16, 40, 24, 10, 20, 8, 8, 10, 30, 14, 14, 8, 16, 14, 14)
DATE_FORMAT = "yyyy-mm-dd"
MISSING = "—"

REFUND_KIND = "refund"
REFUND_ORDERED = "refund_ordered"
REFUND_RECEIVED = "refund_received"
PAYMENT_KIND_JA = {"advance": "概算", "settlement": "精算", REFUND_KIND: "返還"}
PAYMENT_STATUS_JA = {
    "requested": "申請中",
    "approved": "支払予定",
    "refused": "不承認",
    "paid": "支払済",
    REFUND_ORDERED: "返還命令済",
    REFUND_RECEIVED: "返還受領済",
}
ACCOUNT_TYPE_JA = {"ordinary": "普通", "current": "当座"}


@dataclass(frozen=True)
class PaymentRow:
    award_id: int
    call: str
    application_id: int
    receipt_number: str
    payee: str
    bank_name: str
    bank_code: str
    branch_name: str
    branch_code: str
    account_type: str  # "ordinary" / "current" / ""
    account_number: str
    account_holder_kana: str
    amount: int
    charges: int | None  # 加算金 + 延滞金 of a refund received
    kind: str  # "advance" / "settlement" / "refund"
    status: str  # a PaymentStatus value, "refund_ordered" or "refund_received"
    scheduled_on: dt.date | None
    paid_on: dt.date | None

    def cells(self) -> list:
        """The row in PAYMENT_COLUMNS order: texts (— where no account is known), amounts as int,
        dates as dates."""
        return [
            self.call,
            self.receipt_number,
            self.payee,
            self.bank_name or MISSING,
            self.bank_code or MISSING,
            self.branch_name or MISSING,
            self.branch_code or MISSING,
            ACCOUNT_TYPE_JA.get(self.account_type, MISSING),
            self.account_number or MISSING,
            self.account_holder_kana or MISSING,
            self.amount,
            self.charges,
            PAYMENT_KIND_JA.get(self.kind, self.kind),
            PAYMENT_STATUS_JA.get(self.status, self.status),
            self.scheduled_on,
            self.paid_on,
        ]


def _accounts(award_ids: set[int]) -> dict:
    """The last accepted 交付申請 of each award (its bank account)."""
    from .models import GrantApplication, GrantApplicationStatus

    accounts = {}
    filings = GrantApplication.objects.filter(award_id__in=award_ids, status=GrantApplicationStatus.ACCEPTED).order_by(
        "award_id", "number"
    )
    for filing in filings:
        accounts[filing.award_id] = filing  # the later number wins
    return accounts


def payment_rows(*, call=None, kind: str = "", status: str = "") -> list[PaymentRow]:
    """Every payment and refund (filtered by call, kind and status), by call, receipt number, date."""
    from .models import Payment, Refund

    related = ("award__application__call", "award__application__organisation")
    payments = Payment.objects.select_related(*related)
    refunds = Refund.objects.select_related(*related)
    if call is not None:
        payments = payments.filter(award__application__call=call)
        refunds = refunds.filter(award__application__call=call)
    if kind and kind != REFUND_KIND:
        payments = payments.filter(kind=kind)
        refunds = refunds.none()
    elif kind == REFUND_KIND:
        payments = payments.none()
    if status in (REFUND_ORDERED, REFUND_RECEIVED):
        payments = payments.none()
        refunds = refunds.filter(received_on__isnull=status == REFUND_ORDERED)
    elif status:
        payments = payments.filter(status=status)
        refunds = refunds.none()
    payments, refunds = list(payments), list(refunds)
    accounts = _accounts({item.award_id for item in [*payments, *refunds]})

    def row(award, **values) -> PaymentRow:
        filing = accounts.get(award.pk)
        application = award.application
        with translation.override("ja"):
            call_title = str(application.call)
        return PaymentRow(
            award_id=award.pk,
            call=call_title,
            application_id=application.pk,
            receipt_number=application.receipt_number,
            payee=application.organisation.name,
            bank_name=filing.bank_name if filing else "",
            bank_code=filing.bank_code if filing else "",
            branch_name=filing.branch_name if filing else "",
            branch_code=filing.branch_code if filing else "",
            account_type=filing.account_type if filing else "",
            account_number=filing.account_number if filing else "",
            account_holder_kana=filing.account_holder_kana if filing else "",
            **values,
        )

    rows = [
        row(
            payment.award,
            amount=payment.amount,
            charges=None,
            kind=payment.kind,
            status=payment.status,
            scheduled_on=payment.scheduled_on,
            paid_on=payment.paid_on,
        )
        for payment in payments
    ]
    rows += [
        row(
            refund.award,
            amount=refund.amount,
            charges=None if refund.received_on is None else (refund.additional_charge or 0) + (refund.late_charge or 0),
            kind=REFUND_KIND,
            status=REFUND_ORDERED if refund.received_on is None else REFUND_RECEIVED,
            scheduled_on=refund.due_on,
            paid_on=refund.received_on,
        )
        for refund in refunds
    ]
    far = dt.date.max
    return sorted(
        rows,
        key=lambda r: (r.call, len(r.receipt_number), r.receipt_number, r.scheduled_on or r.paid_on or far, r.kind),
    )


def _payment_csv_cell(index: int, value):
    if index in PAYMENT_AMOUNT_COLUMNS:
        return "" if value is None else value
    if index in PAYMENT_DATE_COLUMNS:
        return value.isoformat() if value else ""
    return _text(value)


def payments_csv(rows: list[PaymentRow]) -> Iterator[str]:
    """The payments list as CSV for Excel: UTF-8 with a BOM, CRLF, text cells formula-safe.
    (A CSV cannot keep a leading zero from Excel's eye: the XLSX can, and is the one to open.)"""
    yield "\ufeff"
    writer = csv.writer(Echo(), lineterminator="\r\n")
    yield writer.writerow([_text(header) for header in PAYMENT_COLUMNS])
    for payment_row in rows:
        yield writer.writerow([_payment_csv_cell(i, value) for i, value in enumerate(payment_row.cells())])


def payments_xlsx(rows: list[PaymentRow], fileobj: BinaryIO | str) -> int:
    """The payments list as an XLSX workbook (one sheet, 支払一覧): codes and account numbers as
    text cells (leading zeros kept), amounts as numbers, dates as dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(PAYMENT_SHEET_TITLE)
    for index, width in enumerate(PAYMENT_COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def text_cell(value, font=None) -> Cell:
        cell = WriteOnlyCell(sheet, value=_xlsx_text(value))
        cell.data_type = "s"
        cell.number_format = TEXT_FORMAT
        if font is not None:
            cell.font = font
        return cell

    def cell(index: int, value):
        if index in PAYMENT_AMOUNT_COLUMNS:
            if value is None:
                return None
            amount = WriteOnlyCell(sheet, value=int(value))
            amount.number_format = AMOUNT_FORMAT
            return amount
        if index in PAYMENT_DATE_COLUMNS:
            if value is None:
                return None
            day = WriteOnlyCell(sheet, value=value)
            day.number_format = DATE_FORMAT
            return day
        return text_cell(value)

    sheet.append([text_cell(header, bold) for header in PAYMENT_COLUMNS])
    for payment_row in rows:
        sheet.append([cell(index, value) for index, value in enumerate(payment_row.cells())])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(PAYMENT_COLUMNS))}{len(rows) + 1}"
    workbook.save(fileobj)
    return len(rows)
