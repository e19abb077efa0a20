"""python manage.py refresh_rankings — recompute every stored ranking (reviews/ranking_store.py).

The services keep the stored ranking up to date in the transaction of every change; this rebuilds
it after a change made around them (rows edited in the database by hand, a restored backup), in
one transaction; running it twice changes nothing.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from reviews import ranking_store


class Command(BaseCommand):
    help = "Recompute every review's weighted total and every round's stored ranking."

    def handle(self, *args, **options):
        with transaction.atomic():
            rounds = ranking_store.refresh_all()
        self.stdout.write(f"{rounds} review round(s) refreshed.")
