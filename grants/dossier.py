"""The dossier (記録一式): one ZIP per application, or per call, for an auditor (会計検査院).

``application_parts(applications)`` yields, application by application, every file of the record
(see ``README_TEXT`` for the folders); ``zip_stream(parts)`` writes them into a ZIP as they come
and yields the ZIP's bytes chunk by chunk (Python's ``zipfile`` on a non-seekable sink: entries
carry data descriptors), then ``MANIFEST.csv`` (path, size, SHA-256 of every file; a stored file
that cannot be read is listed as ``missing``). Memory stays flat: one stored file is copied 64 KiB
at a time and each application's rows are dropped once written.

Queries: applications are read in chunks of ``CHUNK`` with everything the files need prefetched
(a fixed number of queries per chunk, plus the stored PDFs' renders: the summary PDF is rendered
per application with no query of its own). Folder names are ASCII (every unzip tool reads them);
file names keep the originals (Japanese: the ZIP's UTF-8 flag is set by ``zipfile``).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Prefetch, Q
from django.db.models.fields.files import FieldFile
from django.template.loader import render_to_string
from django.utils import timezone, translation

from applications import answers as answer_store
from applications.models import Application
from calls.standard_form import PROJECT_KEYS, PROJECT_SECTION_KEY
from kodoku_portal.audit import describe
from kodoku_portal.jp import JST
from kodoku_portal.models import AuditEntry
from kodoku_portal.pdf import render_pdf
from reviews.models import Assignment, ConflictDeclaration

from .award_support import timeline
from .models import Report

CHUNK = 20
COPY_BUFFER = 64 * 1024
MANIFEST = "MANIFEST.csv"
README = "README.txt"

README_TEXT = """\
記録一式（申請ごとの記録）

このZIPファイルは、孤独・孤立対策推進ポータルが保存している申請の記録一式です。
フォルダ名は受付番号です。各フォルダの内容は次のとおりです。

  application/       申請書の内容（提出時点）
                     summary.pdf（申請内容の一覧）、application.json（全項目・予算明細・事業区域）、
                     receipt.pdf（受付票、発行済みの場合）、unsaved_inputs.json（保存できなかった入力の記録）
  attachments/       申請書の添付書類（提出されたファイルそのもの）
  reviews/           審査：reviews.json（審査員の氏名、評点、コメント、利益相反の申告）、
                     conflicts.json（団体についての利益相反の申告）
  decision/          採否：decision.json（採否、交付予定額、決定者）、通知書（採択・不採択・補欠）のPDF
  letters/           交付決定通知書、変更承認通知書、額の確定通知書、返還命令書などの文書（文書番号.pdf）
  award/             採択後の記録：award.json（交付申請、変更、報告、支払、返還、予算の版）、
                     timeline.json / timeline.csv（経過）
  award_documents/   交付申請・変更・報告に添付された書類
  evidence/          実績報告の証拠書類（領収書等）
  audit/             監査記録：audit.json / audit.csv（誰が、いつ、何を変更したか）

MANIFEST.csv には、このZIPに含まれるすべてのファイルの名前、大きさ（バイト）、SHA-256 を記載しています。
保存されているはずのファイルが読み出せなかった場合は、状態欄に missing と記載しています。
ウイルス検査で問題がないと確認されていない添付書類・書類・証拠書類（検査中・検査失敗・隔離）はZIPに含めず、
状態欄に withheld（検査の状態）と記載しています。
"""


# --- the parts of a dossier --------------------------------------------------------------------


@dataclass
class Part:
    """One file of the dossier: bytes made here, a stored file, or bytes made when written."""

    path: str
    data: bytes | None = None
    stored: FieldFile | None = None
    make: Callable[[], bytes] | None = None
    # Set when the file is not put in the ZIP, only named in the manifest with this status
    # (an attachment the virus check has not cleared: being checked, failed or quarantined).
    withheld: str = ""


def _safe(name: str) -> str:
    """A file name without path separators or control characters (the original's words kept)."""
    name = re.sub(r"[\\/\x00-\x1f]", "_", name).strip(". ") or "file"
    return name[:150]


def _value(value):
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def row(obj: models.Model, **extra) -> dict:
    """Every concrete column of a row (foreign keys as ids, stored files by their name), plus extras."""
    data = {field.attname: _value(getattr(obj, field.attname)) for field in obj._meta.concrete_fields}
    data.update(extra)
    return data


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name, "email": user.email}


def _json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel reads it as UTF-8


def folder_name(application: Application) -> str:
    return _safe(application.receipt_number or f"application-{application.pk}")


def dossier_applications(*, submitted_only: bool = True):
    """Applications with everything their dossier prints (applied per chunk by ``application_parts``);
    the submitted ones (with a receipt number) unless ``submitted_only`` is False."""
    queryset = Application.objects.exclude(receipt_number=None) if submitted_only else Application.objects.all()
    return (
        queryset.select_related(
            "call__programme",
            "organisation__applicant_type",
            "theme",
            "submitted_by",
            "decision__decided_by",
            "notice",
            "receipt",
            "award__refund",
        )
        .prefetch_related(
            "budget_lines",
            "answers",
            "attachments__uploaded_by",
            "refused_saves",
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("reviewer", "review").prefetch_related(
                    "review__scores__criterion"
                ),
            ),
            "letters__issued_by",
            "award__grant_applications",
            "award__changes",
            Prefetch("award__reports", queryset=Report.objects.prefetch_related("costs__evidence")),
            "award__payments",
            "award__documents",
            "award__budget_versions__lines",
            "award__letters",
        )
        .order_by("receipt_number", "pk")
    )


def _chunks(queryset, size: int) -> Iterator[list[Application]]:
    """The queryset in chunks of ``size`` rows, each with its prefetches (one set per chunk)."""
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), size):
        chunk_ids = ids[start : start + size]
        by_pk = {a.pk: a for a in queryset.filter(pk__in=chunk_ids)}
        yield [by_pk[pk] for pk in chunk_ids if pk in by_pk]


def _audit_query(applications: list[Application]) -> Q:
    """The audit entries about these applications and everything of theirs."""
    ids: dict[str, set] = defaultdict(set)
    for application in applications:
        ids["applications.Application"].add(application.pk)
        ids["applications.Attachment"].update(a.pk for a in application.attachments.all())
        ids["grants.Letter"].update(letter.pk for letter in application.letters.all())
        ids["reviews.Assignment"].update(a.pk for a in application.assignments.all())
        ids["reviews.Review"].update(
            a.review.pk for a in application.assignments.all() if getattr(a, "review", None) is not None
        )
        if getattr(application, "decision", None) is not None:
            ids["grants.Decision"].add(application.decision.pk)
        if getattr(application, "notice", None) is not None:
            ids["grants.Notice"].add(application.notice.pk)
        award = getattr(application, "award", None)
        if award is not None:
            ids["grants.Award"].add(award.pk)
            ids["grants.GrantApplication"].update(g.pk for g in award.grant_applications.all())
            ids["grants.ChangeRequest"].update(c.pk for c in award.changes.all())
            ids["grants.Report"].update(r.pk for r in award.reports.all())
            ids["grants.Payment"].update(p.pk for p in award.payments.all())
            if getattr(award, "refund", None) is not None:
                ids["grants.Refund"].add(award.refund.pk)
    query = Q(pk__in=[])
    for label, pks in ids.items():
        if pks:
            query |= Q(object_type=label, object_id__in=[str(pk) for pk in pks])
    return query


def _owner_key(entry: AuditEntry, owners: dict[tuple[str, str], int]) -> int | None:
    return owners.get((entry.object_type, entry.object_id))


def owners_of(applications: list[Application]) -> dict[tuple[str, str], int]:
    """(object type, id) → the application it belongs to (its audit entries and mails are about these)."""
    owners: dict[tuple[str, str], int] = {}

    def own(label: str, obj, application: Application) -> None:
        if obj is not None:
            owners[(label, str(obj.pk))] = application.pk

    for application in applications:
        own("applications.Application", application, application)
        for attachment in application.attachments.all():
            own("applications.Attachment", attachment, application)
        for letter in application.letters.all():
            own("grants.Letter", letter, application)
        for assignment in application.assignments.all():
            own("reviews.Assignment", assignment, application)
            own("reviews.Review", getattr(assignment, "review", None), application)
        own("grants.Decision", getattr(application, "decision", None), application)
        own("grants.Notice", getattr(application, "notice", None), application)
        award = getattr(application, "award", None)
        if award is not None:
            own("grants.Award", award, application)
            for label, related in (
                ("grants.GrantApplication", award.grant_applications.all()),
                ("grants.ChangeRequest", award.changes.all()),
                ("grants.Report", award.reports.all()),
                ("grants.Payment", award.payments.all()),
            ):
                for obj in related:
                    own(label, obj, application)
            own("grants.Refund", getattr(award, "refund", None), application)
    return owners


def application_parts(queryset, *, chunk: int = CHUNK) -> Iterator[Part]:
    """Every file of the dossiers of ``queryset``'s applications (from ``dossier_applications()``)."""
    versions = answer_store.VersionCache()  # each call's form read once, whatever the number of applications
    for applications in _chunks(queryset, chunk):
        owners = owners_of(applications)
        entries: dict[int, list[AuditEntry]] = defaultdict(list)
        for entry in (
            AuditEntry.objects.filter(_audit_query(applications)).select_related("actor").order_by("created_at", "pk")
        ):
            owner = _owner_key(entry, owners)
            if owner is not None:
                entries[owner].append(entry)
        conflicts: dict[int, list[ConflictDeclaration]] = defaultdict(list)
        for declaration in ConflictDeclaration.objects.filter(
            organisation_id__in={a.organisation_id for a in applications}
        ).select_related("reviewer"):
            conflicts[declaration.organisation_id].append(declaration)
        for application in applications:
            yield from _parts_of(application, entries[application.pk], conflicts[application.organisation_id], versions)


def _project_answers(application: Application) -> dict:
    """The answers to the project questions (事業の内容, calls/standard_form.py) as stored: "" for none."""
    stored = answer_store.stored_by_key(application.answers.all())
    return {key: stored.get(key, "") for key in PROJECT_KEYS}


def _summary_pdf(application: Application, versions: answer_store.VersionCache | None = None) -> Callable[[], bytes]:
    versions = versions or answer_store.VersionCache()

    def make() -> bytes:
        with translation.override("ja"):
            display = answer_store.answers_for_display(
                application, versions=versions, answers=list(application.answers.all())
            )
            html = render_to_string(
                "pdf/dossier_summary.html",
                {
                    "application": application,
                    "project": _project_answers(application),
                    # The call's own sections besides the project questions (e.g. the 交付金's menu).
                    "other_sections": [part for part in display.sections if part.section.key != PROJECT_SECTION_KEY],
                },
            )
        return render_pdf(html)

    return make


def _parts_of(
    application: Application,
    entries: list[AuditEntry],
    conflicts: list,
    versions: answer_store.VersionCache | None = None,
) -> Iterator[Part]:
    root = folder_name(application) + "/"
    organisation = application.organisation
    # The application as submitted.
    yield Part(root + "application/summary.pdf", make=_summary_pdf(application, versions))
    yield Part(
        root + "application/application.json",
        _json(
            {
                # The project questions with the application, as when they were its columns ("" for none).
                "application": row(application, area_display=application.area_display, **_project_answers(application)),
                # Every answer to the call's form, by its key.
                "answers": answer_store.stored_by_key(application.answers.all()),
                "call": {"id": application.call_id, "title": application.call.title, "slug": application.call.slug},
                "theme": str(application.theme) if application.theme else None,
                "organisation": row(organisation, applicant_type_name=organisation.applicant_type.name),
                "submitted_by": _person(application.submitted_by),
                "budget_lines": [row(line) for line in application.budget_lines.all()],
                "area": {
                    "prefectures": application.area_prefectures,
                    "nationwide": application.area_nationwide,
                    "as_written": application.area_description,
                    "reason": application.area_reason,
                },
                "attachments": [row(a, uploaded_by=_person(a.uploaded_by)) for a in application.attachments.all()],
            }
        ),
    )
    receipt = getattr(application, "receipt", None)
    if receipt is not None and receipt.pdf:
        yield Part(root + "application/receipt.pdf", stored=receipt.pdf)
    yield Part(
        root + "application/unsaved_inputs.json", _json([row(saved) for saved in application.refused_saves.all()])
    )
    for attachment in application.attachments.all():
        yield _scanned_part(root + f"attachments/{attachment.pk}_{_safe(attachment.original_name)}", attachment)
    # Reviews, with names (for the file), and conflicts declared.
    reviews = []
    for assignment in application.assignments.all():
        review = getattr(assignment, "review", None)
        reviews.append(
            {
                "assignment": row(assignment),
                "reviewer": _person(assignment.reviewer),
                "review": row(review) if review is not None else None,
                "scores": [{"criterion": score.criterion.name, "value": score.value} for score in review.scores.all()]
                if review is not None
                else [],
            }
        )
    yield Part(root + "reviews/reviews.json", _json(reviews))
    yield Part(
        root + "reviews/conflicts.json",
        _json([row(declaration, reviewer=_person(declaration.reviewer)) for declaration in conflicts]),
    )
    # The decision and its notice.
    decision = getattr(application, "decision", None)
    yield Part(
        root + "decision/decision.json",
        _json(
            {
                "status": application.status,
                "status_label": str(application.get_status_display()),
                "decision": row(decision, decided_by=_person(decision.decided_by)) if decision else None,
                "decision_disclosed_at": application.decision_disclosed_at,
            }
        ),
    )
    notice = getattr(application, "notice", None)
    if notice is not None:
        yield Part(root + "decision/notice.json", _json(row(notice)))
        if notice.pdf:
            yield Part(root + f"decision/{_safe(notice.document_number)}.pdf", stored=notice.pdf)
    # Letters.
    letters = list(application.letters.all())
    yield Part(
        root + "letters/letters.json", _json([row(letter, issued_by=_person(letter.issued_by)) for letter in letters])
    )
    for letter in letters:
        if letter.pdf:
            yield Part(root + f"letters/{_safe(letter.document_number)}.pdf", stored=letter.pdf)
    # The award.
    award = getattr(application, "award", None)
    if award is not None:
        yield from _award_parts(root, application, award)
    # The audit.
    yield Part(
        root + "audit/audit.json",
        _json([row(entry, actor=_person(entry.actor), sentence=describe(entry)) for entry in entries]),
    )
    yield Part(
        root + "audit/audit.csv",
        _csv(
            ["id", "when", "actor", "action", "object_type", "object_id", "object", "ip", "sentence"],
            (
                [
                    entry.pk,
                    entry.created_at.astimezone(JST).isoformat(),
                    entry.actor.email if entry.actor else "",
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.object_repr,
                    entry.ip or "",
                    describe(entry),
                ]
                for entry in entries
            ),
        ),
    )


def _award_parts(root: str, application: Application, award) -> Iterator[Part]:
    reports = list(award.reports.all())
    refund = getattr(award, "refund", None)
    yield Part(
        root + "award/award.json",
        _json(
            {
                "award": row(award),
                "grant_applications": [row(filing) for filing in award.grant_applications.all()],
                "changes": [row(change) for change in award.changes.all()],
                "reports": [
                    row(
                        report,
                        costs=[
                            row(cost, evidence=[row(evidence) for evidence in cost.evidence.all()])
                            for cost in report.costs.all()
                        ],
                    )
                    for report in reports
                ],
                "payments": [row(payment) for payment in award.payments.all()],
                "refund": row(refund) if refund is not None else None,
                "budget_versions": [
                    row(version, lines=[row(line) for line in version.lines.all()])
                    for version in award.budget_versions.all()
                ],
                "documents": [row(document) for document in award.documents.all()],
            }
        ),
    )
    with translation.override("ja"):
        events = [
            {
                "when": event.when.astimezone(JST).isoformat()
                if isinstance(event.when, dt.datetime)
                else event.when.isoformat(),
                "title": str(event.title),
                "detail": str(event.detail or ""),
            }
            for event in timeline(award)
        ]
    yield Part(root + "award/timeline.json", _json(events))
    yield Part(
        root + "award/timeline.csv",
        _csv(["when", "title", "detail"], ([e["when"], e["title"], e["detail"]] for e in events)),
    )
    for document in award.documents.all():
        yield _scanned_part(root + f"award_documents/{document.pk}_{_safe(document.original_name)}", document)
    for report in reports:
        for cost in report.costs.all():
            for evidence in cost.evidence.all():
                yield _scanned_part(root + f"evidence/{evidence.pk}_{_safe(evidence.original_name)}", evidence)


def _scanned_part(path: str, stored) -> Part:
    """An uploaded file (an attachment, an award document, evidence): its content only when the
    virus check cleared it (or scanning is off); else listed as withheld with its state."""
    if stored.may_be_opened:
        return Part(path, stored=stored.file)
    return Part(path, withheld=f"withheld ({stored.scan_status})")


# --- writing the ZIP as a stream ---------------------------------------------------------------


class _Sink(io.RawIOBase):
    """What zipfile writes into: keeps the bytes until the stream takes them (not seekable)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.size = 0
        return data


@dataclass
class ManifestRow:
    path: str
    size: int
    sha256: str
    status: str = "ok"


def _info(path: str, now: dt.datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=now.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def zip_stream(parts: Iterable[Part], *, manifest: list[ManifestRow] | None = None) -> Iterator[bytes]:
    """The ZIP of ``README.txt``, ``parts`` and ``MANIFEST.csv``, as chunks of bytes.

    ``manifest`` (a list) receives the manifest's rows as they are written (for tests and audit)."""
    rows = manifest if manifest is not None else []
    now = timezone.now().astimezone(JST)
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:

        def put(path: str, chunks: Iterable[bytes], expected_size: int, status: str = "ok") -> Iterator[bytes]:
            # The size known beforehand lets zipfile leave out the ZIP64 fields below 2 GiB (some
            # unzip tools, older Windows Explorer among them, stumble on them).
            info = _info(path, now)
            info.file_size = expected_size
            digest, size = hashlib.sha256(), 0
            with archive.open(info, mode="w") as target:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
                    if sink.size >= COPY_BUFFER:
                        yield sink.take()
            rows.append(ManifestRow(path, size, digest.hexdigest(), status))
            yield sink.take()

        readme = README_TEXT.encode("utf-8")
        yield from put(README, [readme], len(readme))
        for part in parts:
            if part.withheld:
                rows.append(ManifestRow(part.path, 0, "", part.withheld))
                continue
            if part.stored is not None:
                try:
                    expected = part.stored.storage.size(part.stored.name)
                    handle = part.stored.open("rb")
                except (FileNotFoundError, OSError, ValueError):
                    rows.append(ManifestRow(part.path, 0, "", "missing"))
                    continue
                try:
                    yield from put(part.path, iter(functools.partial(handle.read, COPY_BUFFER), b""), expected)
                finally:
                    handle.close()
            else:
                data = part.data if part.data is not None else part.make()
                yield from put(part.path, [data], len(data))
        listing = _csv(["path", "size", "sha256", "status"], ([r.path, r.size, r.sha256, r.status] for r in rows))
        archive.writestr(_info(MANIFEST, now), listing)
    yield sink.take()
