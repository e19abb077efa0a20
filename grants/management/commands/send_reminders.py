"""python manage.py send_reminders [--now ISO] [--dry-run] — the reminder schedule, run by hand.

Celery beat runs the same thing every few minutes in production. With --dry-run it lists what is
due at that moment and records nothing; without it, it records and sends (to the console under
`make run`), and a second run at the same moment sends nothing.
"""

import datetime as dt

from celery import current_app
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from grants import reminders
from kodoku_portal.jp import format_datetime


class Command(BaseCommand):
    help = "Send the reminders due at a moment (default: now), each exactly once."

    def add_arguments(self, parser):
        parser.add_argument("--now", help='the moment, e.g. "2025-05-29T12:00+09:00" (default: the clock)')
        parser.add_argument("--dry-run", action="store_true", help="only list what is due")

    def handle(self, *args, now=None, dry_run=False, **options):
        moment = timezone.now()
        if now:
            try:
                moment = dt.datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now must be an ISO date and time with its offset, not {now!r}") from exc
            if timezone.is_naive(moment):
                raise CommandError("--now needs a time-zone offset, e.g. +09:00")
        self.stdout.write(f"Reminders due at {format_datetime(moment, 'en')}:")
        if dry_run:
            due = reminders.due_reminders(moment)
            for item in due:
                self.stdout.write(f"  {item.kind:<9} {item.recipient_email:<28} {item.slot}  {item.label}")
            self.stdout.write(f"{len(due)} reminder(s) due; nothing recorded or sent (dry run).")
            return
        ids = reminders.record_due_reminders(moment)
        how = "sent" if current_app.conf.task_always_eager else "queued for the worker"
        self.stdout.write(f"{len(ids)} reminder(s) recorded and {how}.")
