"""`soporte reindex_assets`: rewrite every asset's search document (after a bulk load
that bypassed the services, or to repair the index)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from soporte.assets.indexing import reindex_assets


class Command(BaseCommand):
    help = "Rewrite the search documents of every asset."

    def handle(self, *args, **options):
        count = reindex_assets()
        self.stdout.write(f"Indexed {count:,} assets.")
