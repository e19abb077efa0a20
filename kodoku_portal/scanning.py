"""The virus-scan hook: run ATTACHMENT_SCAN_COMMAND on one stored file and say what it found.

The setting is a command line with ``{path}`` where the file's path goes, e.g.
``clamdscan --no-summary --fdpass {path}`` (ClamAV's daemon client). Its exit code decides, as
clamdscan's does: 0 clean, 1 infected, anything else (2, a timeout, a command that cannot be run)
an error, which the caller retries. Empty setting: scanning is disabled (:func:`enabled`).

The command is split with ``shlex`` and run without a shell; the path is one argument, whatever
it contains. Apps call :func:`scan` from a background job (kodoku_portal/jobs.py), never in a
request: a scan may take seconds.
"""

from __future__ import annotations

import enum
import shlex
import subprocess
from dataclasses import dataclass

from django.conf import settings

OUTPUT_MAX = 1000


class Verdict(enum.Enum):
    CLEAN = "clean"
    INFECTED = "infected"
    ERROR = "error"


@dataclass(frozen=True)
class ScanResult:
    verdict: Verdict
    detail: str  # the scanner's output (or why it could not run), shortened


def enabled() -> bool:
    """Whether uploaded files are scanned (ATTACHMENT_SCAN_COMMAND is set)."""
    return bool((getattr(settings, "ATTACHMENT_SCAN_COMMAND", "") or "").strip())


def command_for(path: str) -> list[str]:
    template = settings.ATTACHMENT_SCAN_COMMAND
    parts = shlex.split(template)
    if not any("{path}" in part for part in parts):
        parts.append("{path}")
    return [part.replace("{path}", path) for part in parts]


def scan(path: str) -> ScanResult:
    """Scan the file at ``path`` with the configured command."""
    if not enabled():
        raise RuntimeError("ATTACHMENT_SCAN_COMMAND is not set: scanning is disabled")
    try:
        done = subprocess.run(
            command_for(path),
            capture_output=True,
            timeout=settings.ATTACHMENT_SCAN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ScanResult(Verdict.ERROR, f"no answer within {settings.ATTACHMENT_SCAN_TIMEOUT_SECONDS} s")
    except OSError as exc:
        return ScanResult(Verdict.ERROR, f"the scan command could not be run: {exc}")
    output = (done.stdout + done.stderr).decode("utf-8", errors="replace").strip()[:OUTPUT_MAX]
    if done.returncode == 0:
        return ScanResult(Verdict.CLEAN, output)
    if done.returncode == 1:
        return ScanResult(Verdict.INFECTED, output)
    return ScanResult(Verdict.ERROR, f"exit code {done.returncode}: {output}")
