"""python manage.py seed_demo — the seed's calls and demo accounts; running it again changes nothing."""

from django.core.management.base import BaseCommand

from grants.demo import data
from grants.demo.loader import seed_demo
from kodoku_portal.links import absolute_url


class Command(BaseCommand):
    help = "Load the seed document's programmes, calls and adoption list, and demo accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-accounts", action="store_true", help="Do not print the demo accounts.")

    def handle(self, *args, **options):
        report = seed_demo()
        if report.created:
            self.stdout.write(self.style.SUCCESS(f"Created: {', '.join(report.created)}"))
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        if options["quiet_accounts"]:
            return
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {data.DEMO_PASSWORD})")
        self.stdout.write(f"Log in at {absolute_url('account_login')}")
        for account in report.accounts:
            line = f"  {account.role:<14} {account.email}"
            if account.recovery_code:
                line += f"  TOTP secret {account.totp_secret}  unused recovery code {account.recovery_code}"
            self.stdout.write(line)
        self.stdout.write(
            "Reviewers, staff and administrators have two-factor authentication on: at the code prompt, "
            "type the recovery code above (each works once) or add the TOTP secret to an authenticator app."
        )
