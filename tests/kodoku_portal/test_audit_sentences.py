"""Every action code the portal records has a sentence and a short label, in Japanese and in
English, and the sentence names things in words: no action code, no model label, no stored dict."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from kodoku_portal import audit
from kodoku_portal.models import AuditEntry

ROOT = Path(__file__).resolve().parents[2]
APPS = ("kodoku_portal", "accounts", "calls", "applications", "reviews", "grants")
WRITERS = {"change_state", "record", "audit"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
RAW = re.compile(r"[a-z]+_[a-z_]+|\{'|[a-z_]+\.[A-Z][A-Za-z]+")


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _codes(value: ast.expr) -> tuple[set[str], set[str]]:
    """(codes, prefixes of f-string codes) an ``action=`` argument can take."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return {value.value}, set()
    if isinstance(value, ast.IfExp):
        body, body_prefixes = _codes(value.body)
        other, other_prefixes = _codes(value.orelse)
        return body | other, body_prefixes | other_prefixes
    if isinstance(value, ast.JoinedStr) and value.values and isinstance(value.values[0], ast.Constant):
        return set(), {value.values[0].value}
    return set(), set()


def used_codes() -> tuple[set[str], set[str]]:
    """The action codes written by any change_state / record / audit call in the apps' code."""
    codes: set[str] = set()
    prefixes: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and _called(node) in WRITERS:
                    for keyword in node.keywords:
                        if keyword.arg == "action":
                            found, found_prefixes = _codes(keyword.value)
                            codes |= found
                            prefixes |= found_prefixes
    return codes, prefixes


def test_the_scan_finds_the_codes_it_should():
    codes, prefixes = used_codes()
    assert {"decision", "application_submitted", "grant_decided", "review_submitted", "role_changed"} <= codes
    assert "attachment_scan_" in prefixes


def test_every_code_any_code_path_records_has_a_sentence_and_a_label():
    codes, prefixes = used_codes()
    registered = audit.registered_actions()
    labels = audit.registered_labels()
    assert sorted(codes - set(registered)) == []
    assert sorted(codes - set(labels)) == []
    for prefix in prefixes:  # an f-string code: every registered code of that family
        assert [code for code in registered if code.startswith(prefix)], prefix
    assert set(registered) == set(labels)


def _entry(code: str) -> AuditEntry:
    return AuditEntry(
        action=code,
        object_type="applications.Application",
        object_id="1",
        object_repr="R7-0001",
        before={"status": "submitted", "decision_disclosed_at": None},
        after={"status": "adopted", "amount": 1_200_000, "decision_disclosed_at": "2025-05-30T03:00:00+00:00"},
    )


@pytest.mark.parametrize("code", sorted(audit.registered_actions()) or ["none"])
def test_each_sentence_renders_in_words_in_japanese_and_english(code):
    entry = _entry(code)
    with translation.override("ja"):
        japanese, label_ja = audit.describe(entry), audit.action_label(code)
        changes_ja = audit.describe_changes(entry)
    with translation.override("en"):
        english, label_en = audit.describe(entry), audit.action_label(code)
    for text in (japanese, label_ja):
        assert code not in text
    for text in (japanese, english, label_ja, label_en):
        assert not RAW.search(text), text
        assert "%(" not in text
    assert JAPANESE.search(label_ja) and label_ja != label_en
    assert "R7-0001" in japanese and "R7-0001" in english
    assert japanese != english and JAPANESE.search(japanese.replace("R7-0001", ""))
    # The values as on screens: the state's label, yen, the date and time in JST.
    assert [(c.label, c.before, c.after) for c in changes_ja] == [
        ("状態", "提出済", "採択"),
        ("金額", "—", "1,200,000円"),
        ("採否の通知日時", "—", "2025年5月30日（金）12:00"),
    ]
