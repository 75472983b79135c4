"""`soporte triage_embed`: store the sentence vectors (soporte[semantic]) of every ticket
that has none yet, newest first: once after installing the extra, or after a model
change. New and edited tickets get theirs from the triage jobs."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from soporte.search import semantic
from soporte.triage.services import EMBED_CHUNK, embed_missing


class Command(BaseCommand):
    help = "Store sentence vectors for tickets that have none (needs soporte[semantic])."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="at most this many")
        parser.add_argument("--chunk", type=int, default=EMBED_CHUNK, help="tickets per step")

    def handle(self, *args, limit: int | None, chunk: int, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        if chunk < 1:
            raise CommandError("--chunk must be at least 1.")
        if not semantic.available():
            raise CommandError(
                "The semantic extra is not installed (pip install 'soporte[semantic]')."
            )
        started = time.perf_counter()
        written = embed_missing(limit=limit, chunk=chunk)
        seconds = time.perf_counter() - started
        self.stdout.write(f"{written:,} ticket vectors stored in {seconds:.1f} s.")
