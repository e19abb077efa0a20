"""Integrity checks (issue 11, item 5): possible duplicate applications and possible conflicts of
interest suggested from data. Pure Python over plain rows, so that each rule can be tested alone;
``reviews.services.integrity_refresh`` feeds it from the database and stores what it finds as
``IntegrityFlag`` rows, and the staff page explains each one from its ``matched`` list.

Comparison keys (never stored, never shown: the values are shown as typed)
    name     NFKC, case-folded, every space removed (ASCII, U+3000 and the rest).
    org      ``name`` without the common legal-form words (特定非営利活動法人, NPO法人, 一般社団法人,
             株式会社, (株) …), so 「NPO法人 みらい」 and 「特定非営利活動法人みらい」 meet.
    address  ``name``, then every hyphen look-alike (‐ − – — ― ー 〜 and their full-width forms,
             through ``kodoku_portal.normalise.normalise_code``) removed: 「東京都千代田区１－２－３」 and
             「東京都 千代田区 1-2-3」 meet.
    phone    ``normalise_code`` and only the digits kept: 「０３（１２３４）５６７８」 is 0312345678.
    corporate number  the 13 digits (stored normalised already; ``normalise_code`` again here).

Duplicate applications (kind ``duplicate``), between two applications of one call or of calls of
the same programme and fiscal year, each rule naming the fields that matched:
    same_organisation      the same organisation of the portal;
    corporate_number       the same 法人番号;
    representative_address the same representative's name and the same address;
    representative_phone   the same representative's name and the same phone number.
A key with an empty part never matches (two blank addresses are not the same address).

Possible conflicts of interest (kind ``conflict``), between a reviewer and an application, from the
reviewer's affiliations that count (ended no earlier than ``AFFILIATION_YEARS`` years before this
year, or still current):
    organisation_corporate_number  the affiliation's 法人番号 is the applicant organisation's;
    organisation_name              the affiliation's name is the organisation's (``org`` key);
    partner_corporate_number       the affiliation's 法人番号 appears in the application's partners;
    partner_name                   the affiliation's name appears in the partners (``org`` key,
                                   at least ``MIN_PARTNER_NAME`` characters, so 「東京」 alone does not).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from kodoku_portal.normalise import normalise_code

__all__ = [
    "AFFILIATION_YEARS",
    "AffiliationRow",
    "ApplicationRow",
    "Finding",
    "address_key",
    "affiliation_counts",
    "conflict_findings",
    "duplicate_findings",
    "explain_matched",
    "name_key",
    "organisation_key",
    "phone_key",
]

AFFILIATION_YEARS = 3
MIN_PARTNER_NAME = 3

# Legal-form words removed from organisation names before they are compared (after ``name_key``,
# so full-width and spaced forms are covered; longest first so 認定特定非営利活動法人 goes whole).
_LEGAL_FORMS = sorted(
    {
        "認定特定非営利活動法人",
        "特定非営利活動法人",
        "認定npo法人",
        "npo法人",
        "社会福祉法人",
        "一般社団法人",
        "公益社団法人",
        "一般財団法人",
        "公益財団法人",
        "学校法人",
        "医療法人",
        "株式会社",
        "有限会社",
        "合同会社",
        "(株)",
        "(有)",
        "(福)",
        "(社)",
        "(財)",
        "(特非)",
        "(一社)",
        "(公社)",
        "(一財)",
        "(公財)",
    },
    key=len,
    reverse=True,
)
_SPACE = re.compile(r"\s+")
_CORPORATE_NUMBER = re.compile(r"(?<![0-9])[0-9]{13}(?![0-9])")


def name_key(value: str) -> str:
    """A person's or organisation's name for comparison: NFKC, case-folded, no spaces."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", value or "")).casefold()


def organisation_key(value: str) -> str:
    """``name_key`` without the legal-form words (NPO法人, 株式会社, (株) …)."""
    key = name_key(value)
    for form in _LEGAL_FORMS:
        key = key.replace(form, "")
    return key


def address_key(value: str) -> str:
    """An address for comparison: ``name_key`` with every hyphen look-alike removed."""
    return name_key(normalise_code(value or "")).replace("-", "")


def phone_key(value: str) -> str:
    """A phone number for comparison: its digits only (full-width digits become ASCII)."""
    return "".join(ch for ch in normalise_code(value or "") if ch.isdigit())


def corporate_number_key(value: str) -> str:
    digits = "".join(ch for ch in normalise_code(value or "") if ch.isdigit())
    return digits if len(digits) == 13 else ""


@dataclass(frozen=True)
class ApplicationRow:
    """What the checks read of one application and its organisation (as typed)."""

    id: int
    call_id: int
    organisation_id: int
    organisation_name: str = ""
    corporate_number: str = ""
    representative_name: str = ""
    address: str = ""
    phone: str = ""
    partners: str = ""


@dataclass(frozen=True)
class AffiliationRow:
    """A reviewer's affiliation: an organisation, its 法人番号 and the years (``year_to`` None: current)."""

    id: int
    reviewer_id: int
    organisation_name: str
    corporate_number: str
    year_from: int
    year_to: int | None


@dataclass
class Finding:
    """One flag to hold: ``kind`` duplicate (``application_id`` < ``other_application_id``) or
    conflict (``reviewer_id``); ``matched`` says why, one dict per rule that fired."""

    kind: str
    application_id: int
    other_application_id: int | None = None
    reviewer_id: int | None = None
    matched: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.kind, self.application_id, self.other_application_id, self.reviewer_id)


def _duplicate_keys(row: ApplicationRow) -> list[tuple[str, tuple]]:
    keys: list[tuple[str, tuple]] = [("same_organisation", (row.organisation_id,))]
    number = corporate_number_key(row.corporate_number)
    if number:
        keys.append(("corporate_number", (number,)))
    name = name_key(row.representative_name)
    if name:
        address = address_key(row.address)
        if address:
            keys.append(("representative_address", (name, address)))
        phone = phone_key(row.phone)
        if phone:
            keys.append(("representative_phone", (name, phone)))
    return keys


_RULE_FIELDS = {
    "same_organisation": ("organisation_name",),
    "corporate_number": ("corporate_number",),
    "representative_address": ("representative_name", "address"),
    "representative_phone": ("representative_name", "phone"),
}


def duplicate_findings(rows: list[ApplicationRow], *, concerning: set[int] | None = None) -> list[Finding]:
    """Pairs of applications among ``rows`` that share a key (see the module docstring), each with
    the rules that matched and both sides' values as typed. With ``concerning``, only pairs with at
    least one application in it. Sorted by (application id, other application id)."""
    groups: dict[tuple[str, tuple], list[ApplicationRow]] = defaultdict(list)
    for row in rows:
        for rule, key in _duplicate_keys(row):
            groups[(rule, key)].append(row)
    found: dict[tuple[int, int], Finding] = {}
    for (rule, _key), members in sorted(groups.items(), key=lambda item: item[0][0]):
        members = sorted(members, key=lambda r: r.id)
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                if concerning is not None and first.id not in concerning and second.id not in concerning:
                    continue
                finding = found.setdefault(
                    (first.id, second.id),
                    Finding("duplicate", first.id, other_application_id=second.id),
                )
                fields = _RULE_FIELDS[rule]
                finding.matched.append(
                    {
                        "rule": rule,
                        "values": [[getattr(first, f) for f in fields], [getattr(second, f) for f in fields]],
                    }
                )
    for finding in found.values():
        finding.matched.sort(key=lambda m: list(_RULE_FIELDS).index(m["rule"]))
    return [found[key] for key in sorted(found)]


def affiliation_counts(affiliation: AffiliationRow, this_year: int) -> bool:
    """Whether an affiliation counts: current, or ended no earlier than ``AFFILIATION_YEARS`` years
    before ``this_year`` (in 2026: ended in 2023 or later)."""
    return affiliation.year_to is None or affiliation.year_to >= this_year - AFFILIATION_YEARS


def _years(affiliation: AffiliationRow) -> list[int | None]:
    return [affiliation.year_from, affiliation.year_to]


def conflict_findings(
    applications: list[ApplicationRow], affiliations: list[AffiliationRow], *, this_year: int
) -> list[Finding]:
    """(application, reviewer) pairs where an affiliation that counts matches the applicant
    organisation or the partners written in the application (module docstring), each rule with
    the affiliation and the value it matched, as typed. Sorted by (application id, reviewer id)."""
    counting = [a for a in affiliations if affiliation_counts(a, this_year)]
    by_number: dict[str, list[AffiliationRow]] = defaultdict(list)
    by_name: dict[str, list[AffiliationRow]] = defaultdict(list)
    partner_names: list[tuple[str, AffiliationRow]] = []
    for affiliation in counting:
        number = corporate_number_key(affiliation.corporate_number)
        if number:
            by_number[number].append(affiliation)
        key = organisation_key(affiliation.organisation_name)
        if key:
            by_name[key].append(affiliation)
            if len(key) >= MIN_PARTNER_NAME:
                partner_names.append((key, affiliation))
    found: dict[tuple[int, int], Finding] = {}

    def add(application: ApplicationRow, affiliation: AffiliationRow, rule: str, value: str) -> None:
        finding = found.setdefault(
            (application.id, affiliation.reviewer_id),
            Finding("conflict", application.id, reviewer_id=affiliation.reviewer_id),
        )
        entry = {
            "rule": rule,
            "affiliation": affiliation.organisation_name,
            "affiliation_number": affiliation.corporate_number,
            "years": _years(affiliation),
            "value": value,
        }
        if entry not in finding.matched:
            finding.matched.append(entry)

    for application in applications:
        number = corporate_number_key(application.corporate_number)
        for affiliation in by_number.get(number, []) if number else []:
            add(application, affiliation, "organisation_corporate_number", application.corporate_number)
        for affiliation in by_name.get(organisation_key(application.organisation_name), []):
            add(application, affiliation, "organisation_name", application.organisation_name)
        if not application.partners.strip():
            continue
        partners_digits = normalise_code(application.partners).replace("-", "").replace(" ", "")
        for partner_number in set(_CORPORATE_NUMBER.findall(partners_digits)):
            for affiliation in by_number.get(partner_number, []):
                add(application, affiliation, "partner_corporate_number", partner_number)
        partners_key = organisation_key(application.partners)
        for key, affiliation in partner_names:
            if key in partners_key:
                add(application, affiliation, "partner_name", _line_with(application.partners, key))
    return [found[key] for key in sorted(found)]


def _line_with(text: str, key: str) -> str:
    """The line of ``text`` (as typed) in which the compared name occurs, for the explanation."""
    for line in text.splitlines():
        if key in organisation_key(line):
            return line.strip()[:200]
    return text.strip()[:200]


# --- explanations (what the staff pages say about a flag) ---------------------------------------


def explain_matched(matched: list[dict]) -> list[str]:
    """Each rule that fired, as a sentence naming the fields and their values as typed."""
    return [_explain(m) for m in matched]


def years_text(years: list) -> str:
    start, end = [*list(years), None, None][:2]
    if end is None:
        return _("%(start)s–present") % {"start": start}
    return f"{start}–{end}"


def _explain(m: dict) -> str:
    rule = m.get("rule")
    values = m.get("values") or [[], []]
    here, there = (" / ".join(str(v) for v in side) for side in values) if len(values) == 2 else ("", "")
    affiliation = {
        "affiliation": m.get("affiliation", ""),
        "number": m.get("affiliation_number", ""),
        "years": years_text(m.get("years") or []),
        "value": m.get("value", ""),
    }
    sentences = {
        "same_organisation": _("The same organisation: %(here)s") % {"here": here},
        "corporate_number": _("The same corporate number (法人番号): %(here)s") % {"here": here},
        "representative_address": _("The same representative and address: “%(here)s” and “%(there)s”")
        % {"here": here, "there": there},
        "representative_phone": _("The same representative and phone number: “%(here)s” and “%(there)s”")
        % {"here": here, "there": there},
        "organisation_corporate_number": _(
            "The applicant's corporate number %(value)s is that of the reviewer's affiliation "
            "“%(affiliation)s” (%(years)s)"
        )
        % affiliation,
        "organisation_name": _(
            "The applicant “%(value)s” has the name of the reviewer's affiliation “%(affiliation)s” (%(years)s)"
        )
        % affiliation,
        "partner_corporate_number": _(
            "The partners listed include corporate number %(value)s, that of the reviewer's affiliation "
            "“%(affiliation)s” (%(years)s)"
        )
        % affiliation,
        "partner_name": _(
            "The partners listed include “%(value)s”, matching the reviewer's affiliation “%(affiliation)s” (%(years)s)"
        )
        % affiliation,
    }
    return sentences.get(rule, str(rule))
