"""python manage.py retention [--dry-run] [--today YYYY-MM-DD] — 公文書管理法: the records past their
retention period (grants/retention.py), and without --dry-run the anonymisation of the personal
data in them. Idempotent: a second run changes nothing more."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from grants import retention
from kodoku_portal.jp import JST


class Command(BaseCommand):
    help = "List the records past their retention period; without --dry-run, anonymise the personal data in them."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list only; change nothing")
        parser.add_argument("--today", help="judge as of this day (YYYY-MM-DD; default: today in Japan)")

    def handle(self, *args, dry_run=False, today=None, **options):
        try:
            day = dt.date.fromisoformat(today) if today else timezone.now().astimezone(JST).date()
        except ValueError as error:
            raise CommandError(f"--today: {error}") from error
        rows = retention.past(day)
        self.stdout.write(f"As of {day.isoformat()}: {len(rows)} application(s) past their retention period.")
        call = None
        for standing in rows:
            application = standing.application
            if application.call_id != call:
                call = application.call_id
                programme = application.call.programme
                self.stdout.write(
                    f"{application.call.title} ({application.call.slug}) — {programme.name}: "
                    f"kept {programme.retention_years} year(s)"
                )
            self.stdout.write(
                f"  {application.receipt_number or f'draft #{application.pk}'}  {application.organisation.name}  "
                f"ended {standing.ended_on.isoformat()}  kept until {standing.kept_until.isoformat()}"
            )
        if dry_run:
            self.stdout.write("Dry run: nothing changed.")
            return
        outcome = retention.anonymise(day)
        total = outcome.total
        if not total:
            self.stdout.write("Nothing left to anonymise.")
            return
        for label, count in sorted(total.items()):
            self.stdout.write(f"Anonymised {label}: {count} row(s)")
