"""`soporte reindex_articles`: rewrite every article's search document (run it after
`soporte reindex`, which rebuilds the index from tickets and drops the articles)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from soporte.kb.indexing import reindex_articles


class Command(BaseCommand):
    help = "Rewrite the search documents of every knowledge-base article."

    def handle(self, *args, **options):
        count = reindex_articles()
        self.stdout.write(f"Indexed {count:,} articles.")
