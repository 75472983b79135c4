"""`soporte reindex_problems`: rewrite every problem's search document (the similar known
errors on a ticket page are found through them)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from soporte.problems.indexing import reindex_problems


class Command(BaseCommand):
    help = "Rewrite the search documents of every problem."

    def handle(self, *args, **options):
        count = reindex_problems()
        self.stdout.write(f"Indexed {count:,} problems.")
