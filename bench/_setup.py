"""Shared set-up for the benchmarks: Django with a throwaway test database (never the real one)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kodoku_portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def test_database():
    """Create a fresh test database (test_<name>) and return a function that drops it."""
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def teardown():
        connection.creation.destroy_test_db(old_name, verbosity=0)

    return teardown


def machine() -> str:
    import platform

    cpus = os.cpu_count()
    return f"{platform.platform()}, Python {platform.python_version()}, {cpus} CPUs, database {connection.vendor}"


def project_texts() -> dict[str, str]:
    """Answers to the NPO model survey's project questions (事業の内容), as long as a real draft's."""
    from calls.standard_form import PROJECT_KEYS

    return dict.fromkeys(PROJECT_KEYS, "地域の居場所づくりと見守りについての記述です。" * 20)
