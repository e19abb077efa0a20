"""python manage.py export_adoptions <call-slug> [--format csv|xlsx] [--output FILE] — 採択一覧.

Writes the call's adopted applications as CSV (UTF-8 with BOM, for Excel) or XLSX, the same
files staff download from the portal. The file is written beside its destination and moved into
place at the end, so a failed export never leaves half a file under the requested name.
"""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from calls.models import Call
from grants import exports

FORMATS = ("csv", "xlsx")


class Command(BaseCommand):
    help = "Write a call's adopted applications (採択一覧) as CSV (UTF-8 with BOM) or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the call's slug, e.g. r6-ninaite")
        parser.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or xlsx")
        parser.add_argument("--output", "-o", help="the file to write (default: <slug>-adoptions.<format>)")

    def handle(self, *args, slug, format="csv", output=None, **options):
        # call_command(format=…) skips argparse's choices: check here too.
        if format not in FORMATS:
            raise CommandError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.")
        try:
            call = Call.objects.get(slug=slug)
        except Call.DoesNotExist as exc:
            raise CommandError(f"No call with the slug {slug!r}.") from exc
        target = Path(output or f"{slug}-adoptions.{format}")
        if target.is_dir():
            raise CommandError(f"{target} is a directory: give a file name.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")

        count = exports.adopted_applications(call).count()
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            if format == "csv":
                with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
                    for piece in exports.stream_csv(call):
                        stream.write(piece)
            else:
                with os.fdopen(descriptor, "wb") as stream:
                    count = exports.write_xlsx(call, stream)
            # mkstemp makes the file private (0600); give it the permissions a new file would have.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.stdout.write(f"{count} adopted application(s) of {call.slug} written to {target} ({format}).")
