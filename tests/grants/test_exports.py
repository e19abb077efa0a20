"""採択一覧 exports: the r6-ninaite CSV/XLSX equal the seed's table; amounts, formula injection, command."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from applications.models import ApplicationStatus
from calls.models import Call
from grants.demo import data
from grants.demo.loader import seed_demo
from grants.exports import ADOPTION_COLUMNS, adoption_rows, stream_csv, write_xlsx
from grants.models import Decision
from kodoku_portal.prefectures import prefecture_name
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, ThemeFactory, UserFactory

SEED = (Path(__file__).resolve().parents[2] / "docs" / "seed" / "000_1df8d554d3060946.txt").read_text()

# The seed's table 交付団体と取組概要: "N <tab> 団体名 (都道府県) 事業名 <tab> 概要 <tab> 事業区域".
SEED_TABLE = re.findall(r"^(\d+)\t([^\t]+)\t([^\t]+)\t([^\t]+?)\s*$", SEED, flags=re.M)

pytestmark = pytest.mark.django_db


def squash(text: str) -> str:
    """The seed as extracted from a PDF breaks lines inside words: compare without whitespace or tags."""
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", text))


def csv_text(call) -> str:
    pieces = list(stream_csv(call))
    assert pieces[0] == "\ufeff"
    body = "".join(pieces).encode("utf-8")  # as a StreamingHttpResponse with charset=utf-8 sends it
    assert body.startswith(b"\xef\xbb\xbf")
    return body.decode("utf-8-sig")


def csv_rows(call) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(call), newline="")))


def xlsx_sheet(call):
    buffer = io.BytesIO()
    write_xlsx(call, buffer)
    buffer.seek(0)
    workbook = load_workbook(buffer)
    assert workbook.sheetnames == ["採択一覧"]
    return workbook["採択一覧"]


def xlsx_rows(call) -> list[list]:
    return [list(row) for row in xlsx_sheet(call).iter_rows(values_only=True)]


@pytest.fixture
def ninaite():
    seed_demo()
    return Call.objects.get(slug="r6-ninaite")


def test_the_seed_table_was_read():
    assert [number for number, *_ in SEED_TABLE] == [str(n) for n in range(1, 10)]


def test_ninaite_csv_equals_the_seed_table(ninaite):
    text = csv_text(ninaite)
    assert text.startswith(",".join(ADOPTION_COLUMNS) + "\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(ADOPTION_COLUMNS)
    data_rows = rows[1:]
    assert len(data_rows) == 9
    for row, seed_row, (_number, seed_name_title, seed_summary, seed_area) in zip(
        data_rows, data.NINAITE_ADOPTED, SEED_TABLE, strict=True
    ):
        name, title, summary, area, amount, theme = row
        # 団体名（所在都道府県） as the portal prints it, e.g. 特定非営利活動法人 イシュープラスデザイン（東京都）
        assert name == f"{seed_row['organisation']}（{prefecture_name(seed_row['prefecture'])}）"
        # The seed prints 団体名 (都道府県) and 事業名 in one cell, with ※ marking a consortium's lead.
        seed_cell = squash(seed_name_title)
        if seed_row.get("note"):
            seed_cell = seed_cell.replace("※" + squash(seed_row["note"]), "").replace("※", "")
        assert seed_cell == squash(name.replace("（", "(").replace("）", ")")) + squash(title), name
        assert squash(summary) == squash(seed_summary), name
        assert area == seed_row["area_as_printed"] == seed_area.strip()
        assert amount == ""  # the published list gives no amounts; the seed records no Decision
        assert theme == ""  # the call has no themes


def test_ninaite_csv_keeps_line_breaks_and_ends_lines_with_crlf(ninaite):
    text = csv_text(ninaite)
    engaou = next(row for row in data.NINAITE_ADOPTED if row["organisation"] == "一般社団法人 えんがお")
    assert "\n" in engaou["summary"]
    assert f'"{engaou["summary"]}"' in text  # quoted, its LF kept inside the cell
    records = text.split("\r\n")
    assert records[-1] == ""  # the last record ends with CRLF too
    assert len(records) == 1 + 9 + 1


def test_ninaite_xlsx_has_the_same_rows_and_a_formatted_header(ninaite):
    expected = csv_rows(ninaite)
    sheet = xlsx_sheet(ninaite)
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(ADOPTION_COLUMNS)
    assert [["" if value is None else value for value in row] for row in rows] == expected
    header = sheet[1]
    assert all(cell.font.bold for cell in header)
    summary = sheet["C2"]
    assert summary.alignment.wrap_text
    assert "\n" in sheet["C3"].value  # えんがお: two paragraphs
    for cell in sheet[2]:
        if cell.column != 5 and cell.value is not None:
            assert cell.data_type == "s"
            assert cell.number_format == "@"
    assert sheet.column_dimensions["A"].width > 20
    assert sheet.column_dimensions["C"].width > sheet.column_dimensions["D"].width
    assert sheet.freeze_panes == "A2"


def test_the_list_is_japanese_whatever_the_request_language(ninaite):
    with translation.override("en"):
        rows = list(adoption_rows(ninaite))
        assert translation.get_language() == "en"
    assert rows[1][3] == "全国"
    assert rows[7][3] == "兵庫県 茨城県 岐阜県 全国"
    assert rows[0][0] == "特定非営利活動法人 イシュープラスデザイン（東京都）"


@pytest.fixture
def decided_call():
    """Adopted applications with Decisions, numbered out of text order (0002, 0001, 10000)."""
    call = CallFactory(receipt_prefix="T")
    theme = ThemeFactory(call=call, number=1)
    staff = UserFactory(role=Role.STAFF)

    def adopted(receipt, amount, **fields):
        fields.setdefault("theme", theme)
        application = ApplicationFactory(call=call, status=ApplicationStatus.ADOPTED, receipt_number=receipt, **fields)
        if amount is not ...:
            Decision.objects.create(
                application=application, award_amount=amount, decided_by=staff, decided_at=timezone.now()
            )
        return application

    adopted("T-0002", 1_234_567, title="二番目の事業", organisation=OrganisationFactory(prefecture="01"))
    adopted("T-10000", 2_000_000, title="一万番目の事業")
    adopted("T-0001", 2_000_000, title="一番目の事業", area_prefectures=["13", "14"])
    adopted("T-0003", None, title="金額未定の事業", theme=None)
    adopted("T-0004", ..., title="決定記録のない事業")
    # Not on the list: other outcomes, and another call's adoption.
    ApplicationFactory(call=call, status=ApplicationStatus.NOT_ADOPTED, receipt_number="T-0005", title="不採択")
    ApplicationFactory(call=call, status=ApplicationStatus.SUBMITTED, receipt_number="T-0006", title="審査中")
    ApplicationFactory(status=ApplicationStatus.ADOPTED, receipt_number="X-0001", title="他の公募")
    return call


def test_amounts_are_integers_in_xlsx_and_digits_in_csv(decided_call):
    csv_data = csv_rows(decided_call)[1:]
    assert [row[1] for row in csv_data] == [
        "一番目の事業",
        "二番目の事業",
        "金額未定の事業",
        "決定記録のない事業",
        "一万番目の事業",
    ]
    assert [row[4] for row in csv_data] == ["2000000", "1234567", "", "", "2000000"]
    assert csv_data[0][3] == "東京都 神奈川県"
    assert csv_data[1][0].endswith("（北海道）")
    assert csv_data[0][5] == "① 誰もが気軽に参加できる地域のゆるやかなつながりの場づくり"
    assert csv_data[2][5] == ""

    sheet = xlsx_sheet(decided_call)
    amounts = [row[4] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in amounts] == [2_000_000, 1_234_567, None, None, 2_000_000]
    for cell in (amounts[0], amounts[1], amounts[4]):
        assert type(cell.value) is int
        assert cell.data_type == "n"
        assert cell.number_format == "#,##0"


def test_rows_are_read_in_one_query_however_many(decided_call, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        rows = list(adoption_rows(decided_call, chunk_size=2))
    assert len(rows) == 5


def test_text_that_excel_would_run_as_a_formula_is_neutralised(decided_call):
    ApplicationFactory(
        call=decided_call,
        status=ApplicationStatus.ADOPTED,
        receipt_number="T-0007",
        title='=HYPERLINK("http://example.com","x")',
        summary="-1+2\r\n次の行\x0bと制御文字",
        area_description="@SUM(A1)",
        organisation=OrganisationFactory(name="+団体"),
    )
    ApplicationFactory(call=decided_call, status=ApplicationStatus.ADOPTED, receipt_number="T-0008", title="#N/A")
    row = csv_rows(decided_call)[5]  # after T-0001 … T-0004, before T-10000
    assert row[:4] == [
        "'+団体（東京都）",
        '\'=HYPERLINK("http://example.com","x")',
        "'-1+2\n次の行\x0bと制御文字",
        "'@SUM(A1)",
    ]

    sheet = xlsx_sheet(decided_call)
    cells = list(sheet.iter_rows(min_row=6, max_row=7))
    # Typed as text, shown as typed: no apostrophe in front (it would be visible in Excel).
    assert [cell.value for cell in cells[0][:4]] == [
        "+団体（東京都）",
        '=HYPERLINK("http://example.com","x")',
        "-1+2\n次の行と制御文字",  # a control character cannot be stored in XLSX: dropped
        "@SUM(A1)",
    ]
    assert cells[1][1].value == "#N/A"
    for cell in (*cells[0][:4], cells[1][1]):
        assert cell.data_type == "s"  # text, never a formula or an error value
    # In the file itself: strings only, no formula element anywhere.
    buffer = io.BytesIO()
    write_xlsx(decided_call, buffer)
    with zipfile.ZipFile(buffer) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    assert "=HYPERLINK(" in xml


def test_a_call_without_adoptions_gives_the_header_only():
    call = CallFactory()
    assert csv_rows(call) == [list(ADOPTION_COLUMNS)]
    assert xlsx_rows(call) == [list(ADOPTION_COLUMNS)]


def test_command_writes_csv_and_xlsx(ninaite, tmp_path):
    out = io.StringIO()
    call_command("export_adoptions", "r6-ninaite", "--format", "csv", "--output", str(tmp_path / "a.csv"), stdout=out)
    assert "9 adopted application(s)" in out.getvalue()
    content = (tmp_path / "a.csv").read_bytes()
    assert content.startswith(b"\xef\xbb\xbf" + ",".join(ADOPTION_COLUMNS).encode() + b"\r\n")
    assert content.decode("utf-8-sig") == csv_text(ninaite)

    call_command("export_adoptions", "r6-ninaite", format="xlsx", output=str(tmp_path / "a.xlsx"), stdout=out)
    sheet = load_workbook(tmp_path / "a.xlsx")["採択一覧"]
    rows = [["" if value is None else value for value in row] for row in sheet.iter_rows(values_only=True)]
    assert rows == csv_rows(ninaite)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.csv", "a.xlsx"]  # no leftover .part


def test_command_refuses_an_unknown_call_or_format(tmp_path):
    CallFactory(slug="known")
    with pytest.raises(CommandError, match="No call"):
        call_command("export_adoptions", "no-such-call", output=str(tmp_path / "x.csv"))
    with pytest.raises(CommandError):
        call_command("export_adoptions", "known", "--format", "pdf", output=str(tmp_path / "x.pdf"))
    with pytest.raises(CommandError, match="Unknown format"):
        call_command("export_adoptions", "known", format="pdf", output=str(tmp_path / "x.pdf"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_adoptions", "known", output=str(tmp_path / "missing" / "x.csv"))
    assert list(tmp_path.iterdir()) == []
