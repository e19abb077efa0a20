"""The public verification page's answers (/verify/, grants/verify_views.py): a document number
with its verification code, or an uploaded PDF, against the notices and letters the portal issued.
Read-only; what the answer shows is what the letter itself prints (number, date, kind, the
organisation's name) and whether it was later replaced or withdrawn. See grants/signed.py for what
the code is and why the file's SHA-256 is kept rather than printed.

``lookup(number, code) -> Answer`` / ``check_file(data) -> Answer`` / ``rate_limited(ip) -> bool``
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from kodoku_portal.jp import JST
from kodoku_portal.signing import check_signatures, normalise_code

from .letters import LETTER_TITLES
from .models import Letter, LetterKind, LetterStatus, Notice, NoticeKind

logger = logging.getLogger(__name__)

NOTICE_TITLES = {
    NoticeKind.ADOPTED: "採択通知書",
    NoticeKind.NOT_ADOPTED: "不採択通知書",
    NoticeKind.RESERVE: "補欠通知書",
}


class Outcome:
    ISSUED = "issued"  # number + code match a signed letter / the file is exactly the one issued
    NOT_FOUND = "not_found"  # no letter with this number and code (a forged or mistyped number)
    BEFORE_SIGNING = "before_signing"  # the number is of a letter issued before signing began
    ALTERED = "altered"  # the file holds a signature that no longer matches its contents
    CHANGED_AFTER_SIGNING = "changed"  # signature intact, but something was added after it
    NOT_ISSUED = "not_issued"  # a readable PDF the portal did not issue
    UNREADABLE = "unreadable"  # not a PDF that can be read


@dataclass(frozen=True)
class Answer:
    outcome: str
    number: str = ""
    title: str = ""  # the letter's kind as printed (採択通知書, 交付決定通知書, …)
    issued_on: object = None
    organisation: str = ""
    replaced_by_number: str = ""
    replaced_on: object = None
    withdrawn_on: object = None
    test_certificate: bool = False
    practice: bool = False  # a practice call's letter (練習用第N号): marked 練習用, never of effect
    exact_file: bool = False  # the answer is about this very file (an upload), not number + code

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.ISSUED


def normalise_number(text: str) -> str:
    """Full-width digits and spaces forgiven: 「府孤第１２号」 → 「府孤第12号」."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def _answer(document: Notice | Letter, *, exact_file: bool) -> Answer:
    organisation = document.application.organisation.name
    if isinstance(document, Notice):
        return Answer(
            Outcome.ISSUED,
            number=document.document_number,
            title=NOTICE_TITLES.get(document.kind, ""),
            issued_on=document.issued_on,
            organisation=organisation,
            test_certificate=document.signed_with_test_certificate,
            practice=document.application.call.is_practice,
            exact_file=exact_file,
        )
    replaced = document.replaced_by if document.status == LetterStatus.REPLACED else None
    return Answer(
        Outcome.ISSUED,
        number=document.document_number,
        title=LETTER_TITLES[LetterKind(document.kind)],
        issued_on=document.issued_on,
        organisation=organisation,
        replaced_by_number=replaced.document_number if replaced else "",
        replaced_on=replaced.issued_on if replaced else None,
        withdrawn_on=document.status_changed_at.astimezone(JST).date()
        if document.status == LetterStatus.WITHDRAWN and document.status_changed_at
        else None,
        test_certificate=document.signed_with_test_certificate,
        practice=document.application.call.is_practice,
        exact_file=exact_file,
    )


def _notices():
    return Notice.objects.select_related("application__organisation", "application__call")


def _letters():
    return Letter.objects.select_related("application__organisation", "application__call", "replaced_by")


def lookup(number: str, code: str) -> Answer:
    """The letter with this number, if ``code`` is its verification code."""
    number, code = normalise_number(number), normalise_code(code)
    document = _notices().filter(document_number=number).first() or _letters().filter(document_number=number).first()
    if document is None:
        return Answer(Outcome.NOT_FOUND, number=number)
    if not document.verification_code:
        # No code was ever printed on it: say only that, nothing of what it states.
        return Answer(Outcome.BEFORE_SIGNING, number=number)
    if not code or not hmac.compare_digest(document.verification_code, code):
        return Answer(Outcome.NOT_FOUND, number=number)
    return _answer(document, exact_file=False)


def check_file(data: bytes) -> Answer:
    """Whether the portal issued exactly this file; if not, why not, as plainly as can be said."""
    digest = hashlib.sha256(data).hexdigest()
    document = _notices().filter(signed_sha256=digest).first() or _letters().filter(signed_sha256=digest).first()
    if document is not None:
        return _answer(document, exact_file=True)
    check = check_signatures(data)
    if not check.readable:
        return Answer(Outcome.UNREADABLE)
    if check.signed and not check.intact:
        return Answer(Outcome.ALTERED)
    if check.signed and not check.whole_file:
        return Answer(Outcome.CHANGED_AFTER_SIGNING)
    return Answer(Outcome.NOT_ISSUED)


def rate_limited(ip: str | None) -> bool:
    """Count one lookup for ``ip``; True once it has made more than VERIFY_RATE_LIMIT in the
    current window (a fixed window in the cache, shared by every worker through Redis)."""
    key = f"verify-rate:{ip or 'unknown'}"
    window = settings.VERIFY_RATE_WINDOW_SECONDS
    try:
        if cache.add(key, 1, timeout=window):
            return False
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)
            return False
    except Exception:
        logger.warning("verify: the rate limit's cache is unreachable; the lookup is let through", exc_info=True)
        return False
    return count > settings.VERIFY_RATE_LIMIT
