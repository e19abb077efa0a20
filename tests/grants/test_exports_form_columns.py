"""採択一覧 of a call with its own application form (issue 16): one column per field of its form
version after the fixed columns (header = the Japanese label), multiple choice joined with 「、」,
yen as integers, a hidden field empty; a call without a form keeps the fixed columns; the number
of queries does not grow with the rows."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from applications.models import Answer, ApplicationStatus
from calls.models import FormField
from calls.services import form_version_draft, form_version_publish
from grants.exports import ADOPTION_COLUMNS, adoption_rows, form_columns, stream_csv, write_xlsx
from tests.factories import ApplicationFactory, CallFactory
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db

FORM = [
    (
        "menu",
        "メニュー",
        [
            {"key": "menu", "kind": "multi_choice", "label": "実施するメニュー", "choices": "a|居場所\nb|相談"},
            {
                "key": "a_total",
                "kind": "yen",
                "label": "居場所の総事業費",
                "condition_field": "menu",
                "condition_operator": "includes",
                "condition_value": "a",
            },
            {"key": "note", "kind": "long_text", "label": "備考", "max_length": 200},
        ],
    )
]


def adopted(call, version, **answers):
    application = ApplicationFactory(call=call, status=ApplicationStatus.ADOPTED, form_version=version)
    for key, value in answers.items():
        column = {"menu": "choices", "a_total": "number"}.get(key, "text")
        Answer.objects.create(application=application, field_key=key, form_version=version, **{column: value})
    return application


@pytest.fixture
def call_with_form():
    call = CallFactory()
    version = build_version(call, FORM)
    adopted(call, version, menu=["a", "b"], a_total=1_200_000, note="=1+1")
    adopted(call, version, menu=["b"], a_total=500_000)  # a_total hidden (b only): empty
    return call


def test_csv_adds_one_column_per_field(call_with_form):
    text = "".join(stream_csv(call_with_form)).removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [*ADOPTION_COLUMNS, "実施するメニュー", "居場所の総事業費", "備考"]
    extra = sorted(row[len(ADOPTION_COLUMNS) :] for row in rows[1:])
    assert extra == [["居場所、相談", "1200000", "'=1+1"], ["相談", "", ""]]


def test_xlsx_amounts_are_integers(call_with_form):
    buffer = io.BytesIO()
    write_xlsx(call_with_form, buffer)
    buffer.seek(0)
    rows = [list(row) for row in load_workbook(buffer)["採択一覧"].iter_rows(values_only=True)]
    assert rows[0][len(ADOPTION_COLUMNS) :] == ["実施するメニュー", "居場所の総事業費", "備考"]
    totals = sorted(row[len(ADOPTION_COLUMNS) + 1] or 0 for row in rows[1:])
    assert totals == [0, 1_200_000] and isinstance(totals[1], int)


def test_the_columns_follow_the_published_version(call_with_form):
    newer = form_version_draft(call_with_form, by=None)
    FormField.objects.filter(version=newer, key="note").update(label="特記事項")
    form_version_publish(newer, by=None)
    assert form_columns(call_with_form).headers == ["実施するメニュー", "居場所の総事業費", "特記事項"]


def test_a_call_without_a_form_keeps_the_fixed_columns():
    call = CallFactory()
    ApplicationFactory(call=call, status=ApplicationStatus.ADOPTED)
    assert form_columns(call) is None
    rows = list(adoption_rows(call))
    assert len(rows[0]) == len(ADOPTION_COLUMNS)


def test_the_query_count_does_not_grow_with_the_rows(call_with_form):
    def count():
        with CaptureQueriesContext(connection) as queries:
            list(stream_csv(call_with_form))
        return len(queries)

    before = count()
    version = form_columns(call_with_form).version
    for _ in range(5):
        adopted(call_with_form, version, menu=["a"], a_total=100)
    assert count() == before
