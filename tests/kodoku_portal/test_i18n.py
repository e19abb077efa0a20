"""The Japanese catalogue is complete: every source string has a translation, none fuzzy."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po"
SOURCES = [
    *("kodoku_portal", "accounts", "calls", "applications", "reviews", "grants"),
    *("templates", "locale", "manage.py"),
]


def untranslated(po: polib.POFile) -> list[str]:
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            missing.append(f"fuzzy: {entry.msgid}")
        elif entry.msgid_plural:
            if not all(entry.msgstr_plural.values()):
                missing.append(entry.msgid)
        elif not entry.msgstr:
            missing.append(entry.msgid)
    return missing


def test_committed_catalogue_has_no_empty_or_fuzzy_msgstr():
    assert untranslated(polib.pofile(str(CATALOGUE))) == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed (.ci/run installs it)")
def test_every_string_in_the_source_is_in_the_catalogue(tmp_path):
    """Re-extract the strings from a copy of the source: nothing may be new or untranslated."""
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(src, tmp_path / name)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ja", "--no-location", "--no-obsolete"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    fresh = polib.pofile(str(tmp_path / "locale" / "ja" / "LC_MESSAGES" / "django.po"))
    assert untranslated(fresh) == []
    committed = {e.msgid for e in polib.pofile(str(CATALOGUE)) if not e.obsolete}
    assert {e.msgid for e in fresh} == committed


def test_pages_are_japanese_by_default_and_english_on_request(client, db):
    response = client.get("/calls/")
    assert response["Content-Language"] == "ja"
    assert "公募一覧" in response.content.decode()
    response = client.get("/calls/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Calls for applications" in response.content.decode()


def test_language_switch_sets_english(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/calls/"})
    assert response.status_code == 302
    assert "Calls for applications" in client.get("/calls/").content.decode()
