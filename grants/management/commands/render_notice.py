"""python manage.py render_notice <receipt-number> [--output FILE.pdf] — reissue a notice as PDF.

Re-renders the notice (採択通知書 / 不採択通知書) of one application from the current templates and
writes it to FILE (default: "<document number>.pdf" in the current folder), e.g. to hand a copy to
an organisation that lost theirs. Nothing is sent and nothing is recorded: the stored PDF, the
notice's dates and the mail log stay as they are.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from applications.models import Application
from grants.documents import notice_pdf
from grants.models import Notice


class Command(BaseCommand):
    help = "Re-render the notice of the application with this receipt number to a PDF file (sends nothing)."

    def add_arguments(self, parser):
        parser.add_argument("receipt_number", help="the application's receipt number, e.g. R7NPO-0001")
        parser.add_argument("--output", "-o", help='where to write the PDF (default: "<document number>.pdf")')

    def handle(self, *args, receipt_number, output=None, **options):
        receipt_number = receipt_number.strip()
        application = Application.objects.filter(receipt_number=receipt_number).first()
        if application is None:
            raise CommandError(f"No application has the receipt number {receipt_number!r}.")
        notice = Notice.objects.filter(application=application).first()
        if notice is None:
            raise CommandError(
                f"The application {receipt_number} has no notice yet: notices are created when the "
                "call's decisions are sent."
            )
        path = Path(output or f"{notice.document_number}.pdf")
        if path.is_dir():
            raise CommandError(f"--output {str(path)!r} is a folder; give a file name.")
        if not path.parent.is_dir():
            raise CommandError(f"The folder {str(path.parent)!r} does not exist.")
        pdf = notice_pdf(notice)
        path.write_bytes(pdf)
        self.stdout.write(
            f"{notice.document_number} ({notice.get_kind_display()}) for {receipt_number} written to {path} "
            f"({len(pdf):,} bytes). Nothing was sent; the stored notice is unchanged."
        )
