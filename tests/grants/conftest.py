"""The in-process signing PKI (tests/signing_pki.py) for the signed-letter tests."""

from tests.signing_pki import _pki_parts, pki  # noqa: F401 — fixtures
