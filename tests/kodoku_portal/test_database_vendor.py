"""CI must prove the suite ran on PostgreSQL: this test fails if DATABASE_URL asks for it and it is not so."""

import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_database_vendor_matches_database_url():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
    print(f"database vendor: {connection.vendor}")
